//! Extraction of a verbatim fragment from a full upstream OpenAPI document:
//! the selected operations and the transitive closure of their `$ref`s.
//!
//! Nothing is rewritten: every value in the fragment is the value of the
//! source. Key order follows the source, so regenerating from the same input
//! gives the same bytes.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};

use crate::codegen::pointer::{METHODS, escape, ref_pointer, schema};

/// Reads the selection file: one operation per line, `#` starts a comment.
pub fn read_selection(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(parse_selection(&text))
}

/// The operations a selection file's text lists, in order.
pub fn parse_selection(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// The selection file as `regen` writes it back (so `--ops` persists).
pub fn selection_text(operations: &[String]) -> String {
    let mut text = String::from(
        "# Operations this crate serves, one per line, by upstream `operationId` or by\n\
         # `x-xgen-operation-id-override`. `cargo xtask regen` extracts exactly these, and\n\
         # every component they reach by `$ref`, into spec/openapi.json.\n",
    );
    for op in operations {
        text.push_str(op);
        text.push('\n');
    }
    text
}

/// Parses JSON or YAML (JSON first: it is a subset and much faster). The
/// error is one line, without the source (the caller puts it in front).
pub fn parse_document(bytes: &[u8]) -> Result<Value, String> {
    let value = match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => v,
        Err(json_err) => {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                format!(
                    "neither JSON nor YAML: not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                )
            })?;
            serde_yaml_ng::from_str::<Value>(text).map_err(|yaml_err| {
                // Report the parser the text was meant for.
                let looks_like_json = text.trim_start().starts_with('{');
                let detail = if looks_like_json {
                    format!("as JSON: {json_err}")
                } else {
                    format!("as YAML: {yaml_err}")
                };
                format!("neither JSON nor YAML: {}", crate::one_line(&detail))
            })?
        }
    };
    if !value.is_object() {
        let kind = match value {
            Value::Null => "empty",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => unreachable!(),
        };
        return Err(format!(
            "not an OpenAPI document: the document is {kind}, not a mapping"
        ));
    }
    Ok(value)
}

/// Refuses anything but OpenAPI 3.0.x (Swagger 2.0, OpenAPI 3.1, ...).
pub fn check_version(doc: &Value) -> Result<(), String> {
    let shown = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match (doc.get("openapi"), doc.get("swagger")) {
        (Some(Value::String(v)), _) if v.starts_with("3.0.") => Ok(()),
        (Some(v), _) => Err(format!(
            "not an OpenAPI 3.0.x document: /openapi is `{}`",
            shown(v)
        )),
        (None, Some(v)) => Err(format!(
            "not an OpenAPI 3.0.x document: it is Swagger `{}` (/swagger)",
            shown(v)
        )),
        (None, None) => Err("not an OpenAPI 3.0.x document: /openapi is missing".into()),
    }
}

pub fn to_pretty_json(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value always serialises");
    text.push('\n');
    text
}

/// The keys an operation is named by in a selection.
const NAME_KEYS: [&str; 2] = ["operationId", "x-xgen-operation-id-override"];

/// Every operation under `paths`, in the source's order: `(path, method,
/// operation)`.
pub fn operations(
    paths: &Map<String, Value>,
) -> impl Iterator<Item = (&String, &'static str, &Value)> {
    paths.iter().flat_map(|(path, item)| {
        METHODS
            .into_iter()
            .filter_map(move |method| Some((path, method, item.get(method)?)))
    })
}

/// The names a selection may call `op` by.
fn names(op: &Value) -> impl Iterator<Item = &str> {
    NAME_KEYS
        .into_iter()
        .filter_map(|key| op.get(key).and_then(Value::as_str))
}

/// `(path, method)` of an operation the selection names.
type Selected = (String, String);

/// Builds the fragment for `operations` out of `doc`.
pub fn extract(doc: &Value, operations: &[String]) -> Result<Value, String> {
    check_version(doc)?;
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("/paths: missing or not an object")?;
    let selected = operations
        .iter()
        .map(|wanted| find_operation(paths, wanted))
        .collect::<Result<Vec<_>, _>>()?;
    let kept_paths = kept_paths(paths, &selected)?;
    let mut reached = referenced(doc, &kept_paths)?;
    reached.extend(security_schemes(doc, paths, &selected)?);
    let components = kept_components(doc, &reached);
    check_whole_components(&reached)?;
    let tags = tags_used(paths, &selected);
    Ok(fragment(doc, kept_paths, components, &tags))
}

/// The one operation named `wanted`; an error names the close matches when
/// there is none, and every match when there are several.
fn find_operation(paths: &Map<String, Value>, wanted: &str) -> Result<Selected, String> {
    let found: Vec<Selected> = self::operations(paths)
        .filter(|(_, _, op)| names(op).any(|name| name == wanted))
        .map(|(path, method, _)| (path.clone(), method.to_string()))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => {
            let close = close_matches(wanted, paths);
            let hint = match close.as_slice() {
                [] => String::new(),
                [one] => format!("; did you mean `{one}`?"),
                many => format!("; did you mean one of `{}`?", many.join("`, `")),
            };
            Err(format!(
                "unknown operation `{wanted}`: no operationId or x-xgen-operation-id-override has that name{hint}"
            ))
        }
        _ => {
            let at: Vec<String> = found
                .iter()
                .map(|(p, m)| format!("{} {p}", m.to_uppercase()))
                .collect();
            Err(format!(
                "operation `{wanted}` is ambiguous: {} operations carry that name ({})",
                found.len(),
                at.join(", ")
            ))
        }
    }
}

/// The path items that hold a selected operation, with only the selected
/// operations and every key that is not an operation.
fn kept_paths(
    paths: &Map<String, Value>,
    selected: &[Selected],
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (path, item) in paths {
        let methods: Vec<&str> = selected
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, m)| m.as_str())
            .collect();
        if methods.is_empty() {
            continue;
        }
        let item = item
            .as_object()
            .ok_or_else(|| format!("/paths/{}: not an object", escape(path)))?;
        let kept: Map<String, Value> = item
            .iter()
            .filter(|(k, _)| !METHODS.contains(&k.as_str()) || methods.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.insert(path.clone(), Value::Object(kept));
    }
    Ok(out)
}

/// The pointers of everything `kept_paths` reaches by local references,
/// transitively.
fn referenced(doc: &Value, kept_paths: &Map<String, Value>) -> Result<BTreeSet<String>, String> {
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut pending: Vec<(String, String)> = Vec::new();
    collect_refs(&Value::Object(kept_paths.clone()), "/paths", &mut pending)?;
    while let Some((target, at)) = pending.pop() {
        if !reached.insert(target.clone()) {
            continue;
        }
        let value = doc
            .pointer(&target)
            .ok_or_else(|| format!("dangling $ref at {at}: `#{target}` does not exist"))?;
        collect_refs(value, &target, &mut pending)?;
    }
    Ok(reached)
}

/// The pointers of the security schemes that the document's and the selected
/// operations' requirements name (they are named, not referenced).
fn security_schemes(
    doc: &Value,
    paths: &Map<String, Value>,
    selected: &[Selected],
) -> Result<BTreeSet<String>, String> {
    let mut scheme_names: BTreeSet<String> = BTreeSet::new();
    let mut requirement_lists = vec![doc.get("security")];
    for (path, method) in selected {
        requirement_lists.push(paths[path][method].get("security"));
    }
    for list in requirement_lists.into_iter().flatten() {
        for requirement in list.as_array().into_iter().flatten() {
            for name in requirement
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                scheme_names.insert(name.clone());
            }
        }
    }
    let mut pointers = BTreeSet::new();
    for name in &scheme_names {
        let pointer = format!("/components/securitySchemes/{}", escape(name));
        if doc.pointer(&pointer).is_none() {
            return Err(format!(
                "security requirement names `{name}`, but #{pointer} does not exist"
            ));
        }
        pointers.insert(pointer);
    }
    Ok(pointers)
}

/// The components of `doc` whose pointers are in `reached`, by section, in
/// the source's order.
fn kept_components(doc: &Value, reached: &BTreeSet<String>) -> Map<String, Value> {
    let mut components = Map::new();
    if let Some(source) = doc.get("components").and_then(Value::as_object) {
        for (section, entries) in source {
            let Some(entries) = entries.as_object() else {
                continue;
            };
            let kept: Map<String, Value> = entries
                .iter()
                .filter(|(name, _)| {
                    reached.contains(&format!("/components/{}/{}", escape(section), escape(name)))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !kept.is_empty() {
                components.insert(section.clone(), Value::Object(kept));
            }
        }
    }
    components
}

/// Refuses a reference into something other than a whole component: it
/// would be lost.
fn check_whole_components(reached: &BTreeSet<String>) -> Result<(), String> {
    for target in reached {
        let depth = target.split('/').count();
        if !target.starts_with("/components/") || depth != 4 {
            return Err(format!(
                "$ref `#{target}` does not name a whole component; only `#/components/<section>/<name>` references can be extracted"
            ));
        }
    }
    Ok(())
}

/// The tags the selected operations carry.
fn tags_used<'a>(paths: &'a Map<String, Value>, selected: &[Selected]) -> BTreeSet<&'a str> {
    let mut tags_used: BTreeSet<&str> = BTreeSet::new();
    for (path, method) in selected {
        for tag in paths[path][method]
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = tag.as_str() {
                tags_used.insert(t);
            }
        }
    }
    tags_used
}

/// The fragment: the top-level keys of `doc` it keeps, in the source's
/// order, with the kept paths, components and tags.
fn fragment(
    doc: &Value,
    mut kept_paths: Map<String, Value>,
    mut components: Map<String, Value>,
    tags_used: &BTreeSet<&str>,
) -> Value {
    let mut out = Map::new();
    for (key, value) in doc.as_object().into_iter().flatten() {
        match key.as_str() {
            "openapi" | "info" | "servers" | "security" => {
                out.insert(key.clone(), value.clone());
            }
            "tags" => {
                let kept: Vec<Value> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|t| {
                        t.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| tags_used.contains(n))
                    })
                    .cloned()
                    .collect();
                out.insert(key.clone(), Value::Array(kept));
            }
            "paths" => {
                out.insert(key.clone(), Value::Object(std::mem::take(&mut kept_paths)));
            }
            "components" => {
                out.insert(key.clone(), Value::Object(std::mem::take(&mut components)));
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// Up to three operation names within a small edit distance of `wanted`.
fn close_matches(wanted: &str, paths: &Map<String, Value>) -> Vec<String> {
    let wanted_lower = wanted.to_ascii_lowercase();
    let limit = (wanted.len() / 7).max(2);
    let known: BTreeSet<&str> = operations(paths).flat_map(|(_, _, op)| names(op)).collect();
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .map(|n| (edit_distance(&wanted_lower, &n.to_ascii_lowercase()), n))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// Levenshtein distance over bytes (operation names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 8 {
        return a.len().abs_diff(b.len());
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            row[j + 1] = substitute.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
}

/// Pushes `(target, where_found)` for every `$ref` below `value`.
fn collect_refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}/{}", escape(key));
                if key == "$ref"
                    && let Value::String(reference) = child
                {
                    let target = ref_pointer(reference).ok_or_else(|| {
                        format!("{here}: external $ref `{reference}` is not supported; only local `#/...` references")
                    })?;
                    out.push((target.to_string(), here));
                    continue;
                }
                // Examples are data: a `$ref` key inside one is not a reference.
                if key == "example" || key == "examples" {
                    continue;
                }
                // A discriminator's mapping names schemas too, as references
                // or as bare component names.
                if key == "mapping"
                    && map.contains_key("propertyName")
                    && let Value::Object(mapping) = child
                {
                    for (tag, target) in mapping {
                        let Value::String(target) = target else {
                            continue;
                        };
                        let target = match ref_pointer(target) {
                            Some(pointer) => pointer.to_owned(),
                            None => schema(target),
                        };
                        out.push((target, format!("{here}/{}", escape(tag))));
                    }
                    continue;
                }
                collect_refs(child, &here, out)?;
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_refs(child, &format!("{at}/{i}"), out)?;
            }
        }
        _ => {}
    }
    Ok(())
}
