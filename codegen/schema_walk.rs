//! Visiting every schema of an OpenAPI 3.0 document, and only schemas: example
//! values that happen to look like schemas are never touched.

use serde_json::{Map, Value, json};

use super::Error;
use super::pointer::{self, METHODS, escape};

/// Called with a schema object and its JSON pointer.
pub type Visitor<'a> = dyn FnMut(&str, &mut Map<String, Value>) -> Result<(), Error> + 'a;

/// Every operation of `doc`: `(path, method, JSON pointer)`.
pub fn operations(doc: &Value) -> Vec<(String, &'static str, String)> {
    let mut out = Vec::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for method in METHODS {
            if item.get(method).is_some() {
                out.push((path.clone(), method, pointer::operation(path, method)));
            }
        }
    }
    out
}

/// The named schemas of `doc` (`/components/schemas`), by name.
pub fn named_schemas(doc: &Value) -> impl Iterator<Item = (&String, &Value)> {
    doc.pointer(pointer::SCHEMAS)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// The target of a reference object (`{"$ref": "..."}`); `None` for a
/// schema written in place.
pub fn reference(schema: &Value) -> Option<&str> {
    schema.get("$ref").and_then(Value::as_str)
}

/// Turns a reference into a one-member `allOf` of it, which typify reads
/// as the referenced type: in OpenAPI 3.0 a `$ref` ignores its siblings,
/// so a site that adds `description`, `deprecated` or `nullable` to one
/// needs this form.
pub fn reference_as_all_of(schema: &mut Map<String, Value>) {
    if let Some(reference) = schema.remove("$ref") {
        schema.insert("allOf".into(), json!([{ "$ref": reference }]));
    }
}

/// Pointers of every place where the document holds a schema directly.
fn schema_roots(doc: &Value) -> Vec<String> {
    let mut roots = Vec::new();
    component_roots(doc.get("components"), &mut roots);
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        path_roots(path, item, &mut roots);
    }
    roots
}

/// The keys of an object (none for anything else).
fn keys(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The schemas of the components: named schemas, parameters, headers, and
/// the contents of responses and request bodies.
fn component_roots(components: Option<&Value>, roots: &mut Vec<String>) {
    for name in keys(components.and_then(|c| c.get("schemas"))) {
        roots.push(pointer::schema(&name));
    }
    for name in keys(components.and_then(|c| c.get("parameters"))) {
        roots.push(format!("/components/parameters/{}/schema", escape(&name)));
    }
    for name in keys(components.and_then(|c| c.get("headers"))) {
        roots.push(format!("/components/headers/{}/schema", escape(&name)));
    }
    for section in ["responses", "requestBodies"] {
        if let Some(entries) = components
            .and_then(|c| c.get(section))
            .and_then(Value::as_object)
        {
            for (name, entry) in entries {
                content_roots(
                    &format!("/components/{section}/{}", escape(name)),
                    entry,
                    roots,
                );
            }
        }
    }
}

/// The schemas of one path item: its parameters', and its operations'
/// parameters, request body and responses.
fn path_roots(path: &str, item: &Value, roots: &mut Vec<String>) {
    let item_ptr = pointer::path_item(path);
    parameter_roots(&item_ptr, item.get("parameters"), roots);
    for method in METHODS {
        let Some(op) = item.get(method) else { continue };
        let op_ptr = pointer::operation(path, method);
        parameter_roots(&op_ptr, op.get("parameters"), roots);
        if let Some(body) = op.get("requestBody") {
            content_roots(&format!("{op_ptr}/requestBody"), body, roots);
        }
        for (status, response) in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            content_roots(
                &format!("{op_ptr}/responses/{}", escape(status)),
                response,
                roots,
            );
        }
    }
}

/// The schemas of a request body or response at `base`: one per media type
/// and one per header.
fn content_roots(base: &str, holder: &Value, roots: &mut Vec<String>) {
    for media in keys(holder.get("content")) {
        roots.push(format!("{base}/content/{}/schema", escape(&media)));
    }
    for header in keys(holder.get("headers")) {
        roots.push(format!("{base}/headers/{}/schema", escape(&header)));
    }
}

/// The schemas of the parameter list `parameters` of the item at `base`.
fn parameter_roots(base: &str, parameters: Option<&Value>, roots: &mut Vec<String>) {
    let count = parameters.and_then(Value::as_array).map_or(0, Vec::len);
    for i in 0..count {
        roots.push(format!("{base}/parameters/{i}/schema"));
    }
}

/// Calls `visit` on every schema object of `doc` (pre-order), with its pointer.
pub fn for_each_schema_mut(doc: &mut Value, visit: &mut Visitor<'_>) -> Result<(), Error> {
    for root in schema_roots(doc) {
        if let Some(schema) = doc.pointer_mut(&root) {
            walk(schema, &root, visit)?;
        }
    }
    Ok(())
}

fn walk(schema: &mut Value, pointer: &str, visit: &mut Visitor<'_>) -> Result<(), Error> {
    let Value::Object(map) = schema else {
        return Ok(());
    };
    visit(pointer, map)?;
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (name, child) in properties.iter_mut() {
            walk(
                child,
                &format!("{pointer}/properties/{}", escape(name)),
                visit,
            )?;
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            walk(child, &format!("{pointer}/{key}"), visit)?;
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            for (i, child) in children.iter_mut().enumerate() {
                walk(child, &format!("{pointer}/{key}/{i}"), visit)?;
            }
        }
    }
    Ok(())
}
