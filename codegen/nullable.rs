//! Schema-level `nullable: true` moved to the places that use the schema.
//!
//! typify turns a component schema marked `nullable` into a newtype around an
//! `Option` (`struct X(Option<XInner>)`), so a release of the spec that marks
//! `BadRequestDetail` nullable would rename every field of it out of reach.
//! For a client `null` means "absent" where the value is used, and the
//! properties that use such a schema are `Option` already. So the mark is
//! taken off the component (and `null` out of its `enum`), and put back on
//! every property that refers to it, as a nullable one-member `allOf`.
//! typify gives such a property `Option<X>`: an optional one was that
//! already (`null` decodes to `None`); a required one accepts `null` and
//! still demands presence, as a required nullable property does. The
//! component's own Rust shape is therefore the same with and without the
//! mark.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Error;
use super::pointer;
use super::schema_walk::{for_each_schema_mut, named_schemas, reference, reference_as_all_of};

/// Applies the rewrite to `doc`; returns the names of the schemas it unmarked.
pub fn move_to_use_sites(doc: &mut Value) -> Result<BTreeSet<String>, Error> {
    let mut nullable = BTreeSet::new();
    if let Some(Value::Object(schemas)) = doc.pointer_mut(pointer::SCHEMAS) {
        for (name, schema) in schemas.iter_mut() {
            let Value::Object(map) = schema else { continue };
            if map.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::Array(values)) = map.get_mut("enum") {
                    values.retain(|v| !v.is_null());
                }
                nullable.insert(pointer::schema_ref(name));
            }
        }
    }
    if nullable.is_empty() {
        return Ok(nullable);
    }
    // A component that is only a reference to a nullable one (an alias)
    // admits `null` as well.
    loop {
        let aliases: Vec<String> = named_schemas(doc)
            .filter(|(_, schema)| target(schema).is_some_and(|t| nullable.contains(t)))
            .map(|(name, _)| pointer::schema_ref(name))
            .filter(|pointer| !nullable.contains(pointer))
            .collect();
        if aliases.is_empty() {
            break;
        }
        nullable.extend(aliases);
    }
    for_each_schema_mut(doc, &mut |_, schema| {
        mark_uses(schema, &nullable);
        Ok(())
    })?;
    Ok(nullable)
}

fn mark_uses(schema: &mut Map<String, Value>, nullable: &BTreeSet<String>) {
    let Some(Value::Object(properties)) = schema.get_mut("properties") else {
        return;
    };
    for property in properties.values_mut() {
        if !target(property).is_some_and(|r| nullable.contains(r)) {
            continue;
        }
        let Value::Object(map) = property else {
            continue;
        };
        reference_as_all_of(map);
        map.insert("nullable".into(), Value::Bool(true));
    }
}

/// The schema `schema` stands for when it is only a reference: a `$ref`, or
/// a one-member `allOf` of one (how a site keeps its own annotations).
fn target(schema: &Value) -> Option<&str> {
    if schema.get("$ref").is_some() {
        return reference(schema);
    }
    match schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([only]) if only.as_object().is_some_and(|o| o.len() == 1) => reference(only),
        _ => None,
    }
}
