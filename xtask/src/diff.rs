//! What `regen --check` prints when `spec/` is stale: a summary of the
//! difference between the vendored files and the ones the source gives, short
//! enough to read at a glance (every list is capped).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::codegen::pointer::METHODS;
use crate::{extract, provenance};

/// Longest list of names shown in one line.
const MAX_NAMES: usize = 6;
/// Most schemas given a line of their own for added/removed properties or kinds.
const MAX_SCHEMA_LINES: usize = 8;

/// The text of the three files under `spec/`; `None` for a missing file.
pub struct Files<'a> {
    pub openapi: Option<&'a str>,
    pub provenance: Option<&'a str>,
    pub operations: Option<&'a str>,
}

/// The summary lines (indented by two spaces), or `None` when `current` is
/// what `wanted` is (the provenance's extraction date aside).
pub fn report(current: &Files<'_>, wanted: &Files<'_>) -> Option<Vec<String>> {
    let openapi_same = current.openapi == wanted.openapi;
    let operations_same = current.operations == wanted.operations;
    let provenance_same = match (current.provenance, wanted.provenance) {
        (Some(a), Some(b)) => provenance::same_ignoring_date(a, b),
        (a, b) => a == b,
    };
    if openapi_same && operations_same && provenance_same {
        return None;
    }
    let mut lines = Vec::new();
    if openapi_same && operations_same {
        lines.push(format!(
            "  only spec/provenance.json differs (spec/openapi.json and spec/operations are identical): {}",
            provenance_change(current.provenance, wanted.provenance)
        ));
        return Some(lines);
    }
    if !openapi_same {
        lines.push("  spec/openapi.json:".into());
        lines.extend(
            openapi_change(current.openapi, wanted.openapi.unwrap_or(""))
                .into_iter()
                .map(|l| format!("    {l}")),
        );
    }
    if !operations_same {
        lines.push(format!(
            "  spec/operations: {}",
            selection_change(current.operations, wanted.operations.unwrap_or(""))
        ));
    }
    if !provenance_same {
        lines.push(format!(
            "  spec/provenance.json: {}",
            provenance_change(current.provenance, wanted.provenance)
        ));
    }
    Some(lines)
}

/// "a, b, c ... and 4 more".
fn capped(names: &[String], cap: usize) -> String {
    let mut text = names
        .iter()
        .take(cap)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > cap {
        text.push_str(&format!(" ... and {} more", names.len() - cap));
    }
    text
}

fn parse(text: Option<&str>) -> Result<Value, &'static str> {
    match text {
        None => Err("missing"),
        Some(t) => serde_json::from_str(t).map_err(|_| "not valid JSON"),
    }
}

// ------------------------------------------------------------ openapi.json

/// Lines (not indented) describing how `wanted` differs from `current`.
pub fn openapi_change(current: Option<&str>, wanted: &str) -> Vec<String> {
    let old = match parse(current) {
        Ok(v) => v,
        Err(why) => return vec![format!("the current file is {why}")],
    };
    let Ok(new) = serde_json::from_str::<Value>(wanted) else {
        return vec!["the new file is not valid JSON".into()];
    };
    let mut lines = summarize(&old, &new);
    if lines.is_empty() {
        lines.push("same content, different formatting or key order".into());
    }
    lines
}

/// The summary of the differences between two OpenAPI documents.
pub fn summarize(old: &Value, new: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    operations_change(&mut lines, old, new);
    schemas_change(&mut lines, old, new);
    other_components_change(&mut lines, old, new);
    elsewhere_change(&mut lines, old, new);
    lines
}

/// Operations added, removed and changed, by method and path.
fn operations_change(lines: &mut Vec<String>, old: &Value, new: &Value) {
    let (old_ops, new_ops) = (operations(old), operations(new));
    let shown = |(k, (label, _)): (&String, &(String, &Value))| format!("{k}{label}");
    let added: Vec<String> = new_ops
        .iter()
        .filter(|(k, _)| !old_ops.contains_key(*k))
        .map(shown)
        .collect();
    let removed: Vec<String> = old_ops
        .iter()
        .filter(|(k, _)| !new_ops.contains_key(*k))
        .map(shown)
        .collect();
    let changed: Vec<String> = old_ops
        .iter()
        .filter(|(k, (_, v))| new_ops.get(*k).is_some_and(|(_, w)| w != v))
        .map(shown)
        .collect();
    push_list(lines, "operations added", &added);
    push_list(lines, "operations removed", &removed);
    push_list(lines, "operations changed", &changed);
}

/// The names of `a` that `b` lacks, in `a`'s order.
fn only_in(a: &Map<String, Value>, b: &Map<String, Value>) -> Vec<String> {
    a.keys().filter(|k| !b.contains_key(*k)).cloned().collect()
}

/// Schemas added and removed; for each changed one, the properties and
/// kinds added or removed (at most [`MAX_SCHEMA_LINES`] lines), and a count
/// of the others.
fn schemas_change(lines: &mut Vec<String>, old: &Value, new: &Value) {
    let empty = Map::new();
    let old_schemas = section(old, "schemas").unwrap_or(&empty);
    let new_schemas = section(new, "schemas").unwrap_or(&empty);
    push_list(lines, "schemas added", &only_in(new_schemas, old_schemas));
    push_list(lines, "schemas removed", &only_in(old_schemas, new_schemas));

    let mut detailed = Vec::new();
    let mut other = Vec::new();
    for (name, old_schema) in old_schemas {
        let Some(new_schema) = new_schemas.get(name) else {
            continue;
        };
        if old_schema == new_schema {
            continue;
        }
        let mut parts = Vec::new();
        let (p_old, p_new) = (properties(old_schema), properties(new_schema));
        set_change(&mut parts, "properties", &p_old, &p_new);
        let (k_old, k_new) = (kinds(old_schema), kinds(new_schema));
        set_change(&mut parts, "kinds", &k_old, &k_new);
        if parts.is_empty() {
            other.push(name.clone());
        } else {
            detailed.push(format!("{name}: {}", parts.join("; ")));
        }
    }
    let shown = detailed.len().min(MAX_SCHEMA_LINES);
    lines.extend(detailed.iter().take(shown).cloned());
    if detailed.len() > shown {
        lines.push(format!(
            "... and {} more schemas with properties or kinds added or removed",
            detailed.len() - shown
        ));
    }
    if !other.is_empty() {
        lines.push(format!(
            "{} other schema(s) changed (no property or kind added or removed): {}",
            other.len(),
            capped(&other, MAX_NAMES)
        ));
    }
}

/// Components other than schemas, counted per section.
fn other_components_change(lines: &mut Vec<String>, old: &Value, new: &Value) {
    let empty = Map::new();
    let mut sections: Vec<&String> = components(old).keys().collect();
    sections.extend(
        components(new)
            .keys()
            .filter(|k| !components(old).contains_key(*k)),
    );
    for name in sections.into_iter().filter(|s| *s != "schemas") {
        let a = section(old, name).unwrap_or(&empty);
        let b = section(new, name).unwrap_or(&empty);
        let added = b.keys().filter(|k| !a.contains_key(*k)).count();
        let removed = a.keys().filter(|k| !b.contains_key(*k)).count();
        let changed = a
            .iter()
            .filter(|(k, v)| b.get(*k).is_some_and(|w| w != *v))
            .count();
        if added + removed + changed > 0 {
            lines.push(format!(
                "components/{name}: {added} added, {removed} removed, {changed} changed"
            ));
        }
    }
}

/// Everything else at the top level, and path-level keys.
fn elsewhere_change(lines: &mut Vec<String>, old: &Value, new: &Value) {
    let mut elsewhere: Vec<String> = Vec::new();
    let keys: BTreeSet<&String> = old
        .as_object()
        .into_iter()
        .chain(new.as_object())
        .flat_map(|m| m.keys())
        .collect();
    for key in keys {
        if key == "components" || key == "paths" {
            continue;
        }
        if old.get(key) != new.get(key) {
            elsewhere.push(key.clone());
        }
    }
    if strip_methods(old.get("paths")) != strip_methods(new.get("paths")) {
        elsewhere.push("path-level keys (parameters, summaries)".into());
    }
    if !elsewhere.is_empty() {
        lines.push(format!("also changed: {}", capped(&elsewhere, MAX_NAMES)));
    }
}

fn push_list(lines: &mut Vec<String>, what: &str, names: &[String]) {
    if !names.is_empty() {
        lines.push(format!(
            "{what} ({}): {}",
            names.len(),
            capped(names, MAX_NAMES)
        ));
    }
}

fn set_change(parts: &mut Vec<String>, what: &str, old: &BTreeSet<String>, new: &BTreeSet<String>) {
    let added: Vec<String> = new.difference(old).cloned().collect();
    let removed: Vec<String> = old.difference(new).cloned().collect();
    if !added.is_empty() {
        parts.push(format!("{what} added: {}", capped(&added, MAX_NAMES)));
    }
    if !removed.is_empty() {
        parts.push(format!("{what} removed: {}", capped(&removed, MAX_NAMES)));
    }
}

/// `"POST /path"` -> (`" (operationId)"`, the operation).
fn operations(doc: &Value) -> BTreeMap<String, (String, &Value)> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    extract::operations(paths)
        .map(|(path, method, op)| {
            let label = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(|id| format!(" ({id})"))
                .unwrap_or_default();
            (format!("{} {path}", method.to_uppercase()), (label, op))
        })
        .collect()
}

fn strip_methods(paths: Option<&Value>) -> Option<Value> {
    let mut paths = paths?.clone();
    let map = paths.as_object_mut()?;
    for item in map.values_mut() {
        if let Some(item) = item.as_object_mut() {
            item.retain(|k, _| !METHODS.contains(&k.as_str()));
        }
    }
    // A path that holds only operations is told by them.
    map.retain(|_, item| item.as_object().is_none_or(|m| !m.is_empty()));
    Some(paths)
}

fn components(doc: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    doc.get("components")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

fn section<'a>(doc: &'a Value, name: &str) -> Option<&'a Map<String, Value>> {
    components(doc).get(name).and_then(Value::as_object)
}

/// The property names of a schema: its own `properties` and those of its
/// inline `allOf` members, with inline object properties below them as
/// dotted names (`networking.access.type`). `$ref`s are not followed: the
/// schemas they name have their own line.
pub fn properties(schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_properties(schema, "", 0, &mut out);
    out
}

fn collect_properties(schema: &Value, prefix: &str, depth: usize, out: &mut BTreeSet<String>) {
    if depth > 4 || schema.get("$ref").is_some() {
        return;
    }
    for (name, child) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let full = format!("{prefix}{name}");
        collect_properties(child, &format!("{full}."), depth + 1, out);
        out.insert(full);
    }
    for member in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collect_properties(member, prefix, depth + 1, out);
    }
}

/// The discriminator mapping's keys: the connection kinds.
pub fn kinds(schema: &Value) -> BTreeSet<String> {
    schema
        .pointer("/discriminator/mapping")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect()
}

// ------------------------------------------------------------ the others

/// `source.sha256: ec442be4c413... -> 9f86d081884c...; source.file: ...`.
fn provenance_change(current: Option<&str>, wanted: Option<&str>) -> String {
    let old = match parse(current) {
        Ok(v) => v,
        Err(why) => return format!("the current file is {why}"),
    };
    let Ok(new) = parse(wanted) else {
        return "the new file is not valid JSON".into();
    };
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten(&old, "", &mut a);
    flatten(&new, "", &mut b);
    a.remove("extracted_on");
    b.remove("extracted_on");
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let changes: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let show = |v: Option<&String>| v.map_or("(none)".to_string(), |v| short(v));
            format!("{k} {} -> {}", show(a.get(k)), show(b.get(k)))
        })
        .collect();
    if changes.is_empty() {
        return "same content, different formatting".into();
    }
    let mut text = changes
        .iter()
        .take(4)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if changes.len() > 4 {
        text.push_str(&format!("; ... and {} more", changes.len() - 4));
    }
    text
}

fn flatten(value: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, &key, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Hashes to their first 12 digits, anything long to 60 characters.
fn short(value: &str) -> String {
    let is_hash = value.len() >= 40 && value.chars().all(|c| c.is_ascii_hexdigit());
    let keep = if is_hash { 12 } else { 60 };
    if value.chars().count() > keep {
        format!("{}...", value.chars().take(keep).collect::<String>())
    } else {
        value.to_string()
    }
}

/// `+ createA; - createB` (or what else differs).
fn selection_change(current: Option<&str>, wanted: &str) -> String {
    let Some(current) = current else {
        return "missing".into();
    };
    let (old, new) = (
        extract::parse_selection(current),
        extract::parse_selection(wanted),
    );
    let added: Vec<String> = new.iter().filter(|o| !old.contains(o)).cloned().collect();
    let removed: Vec<String> = old.iter().filter(|o| !new.contains(o)).cloned().collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("operations added: {}", capped(&added, MAX_NAMES)));
    }
    if !removed.is_empty() {
        parts.push(format!(
            "operations removed: {}",
            capped(&removed, MAX_NAMES)
        ));
    }
    if parts.is_empty() {
        if old == new {
            "same operations, different comments or layout".into()
        } else {
            "same operations, different order".into()
        }
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "openapi": "3.0.1",
            "info": { "title": "t", "version": "2.0" },
            "paths": { "/c": { "post": { "operationId": "createC", "responses": {} } } },
            "components": {
                "schemas": {
                    "Conn": {
                        "oneOf": [ { "$ref": "#/components/schemas/Kafka" } ],
                        "discriminator": { "propertyName": "type",
                            "mapping": { "Kafka": "#/components/schemas/Kafka" } },
                        "properties": { "name": { "type": "string" } }
                    },
                    "Kafka": { "allOf": [
                        { "$ref": "#/components/schemas/Conn" },
                        { "properties": { "bootstrapServers": { "type": "string" },
                            "networking": { "type": "object",
                                "properties": { "access": { "type": "object",
                                    "properties": { "type": { "type": "string" } } } } } } }
                    ] },
                    "Link": { "type": "object" },
                    "Error": { "type": "object", "description": "old" }
                },
                "responses": { "notFound": { "description": "nf" } }
            }
        })
    }

    fn schemas(doc: &mut Value) -> &mut Map<String, Value> {
        doc["components"]["schemas"].as_object_mut().unwrap()
    }

    #[test]
    fn identical_documents_give_no_line() {
        assert!(summarize(&base(), &base()).is_empty());
    }

    #[test]
    fn an_added_kind_is_named_with_its_schema() {
        let mut new = base();
        new["components"]["schemas"]["Conn"]["discriminator"]["mapping"]["Https"] =
            json!("#/components/schemas/Https");
        schemas(&mut new).insert("Https".into(), json!({ "type": "object" }));
        let lines = summarize(&base(), &new);
        assert_eq!(
            lines,
            ["schemas added (1): Https", "Conn: kinds added: Https"]
        );
    }

    #[test]
    fn a_removed_kind_and_a_removed_schema() {
        let mut new = base();
        new["components"]["schemas"]["Conn"]["discriminator"]["mapping"]
            .as_object_mut()
            .unwrap()
            .shift_remove("Kafka");
        schemas(&mut new).shift_remove("Link");
        let lines = summarize(&base(), &new);
        assert_eq!(
            lines,
            ["schemas removed (1): Link", "Conn: kinds removed: Kafka"]
        );
    }

    #[test]
    fn properties_inside_all_of_and_nested_inline_objects_are_named() {
        let mut new = base();
        let own = &mut new["components"]["schemas"]["Kafka"]["allOf"][1]["properties"];
        own["config"] = json!({ "type": "object" });
        own["networking"]["properties"]["access"]["properties"]["tgwRouteId"] =
            json!({ "type": "string" });
        own.as_object_mut()
            .unwrap()
            .shift_remove("bootstrapServers");
        let lines = summarize(&base(), &new);
        assert_eq!(
            lines,
            [
                "Kafka: properties added: config, networking.access.tgwRouteId; properties removed: bootstrapServers"
            ]
        );
    }

    #[test]
    fn a_top_level_property_is_named() {
        let mut new = base();
        new["components"]["schemas"]["Conn"]["properties"]["region"] = json!({ "type": "string" });
        assert_eq!(summarize(&base(), &new), ["Conn: properties added: region"]);
    }

    #[test]
    fn other_changes_are_counted_not_listed_in_detail() {
        let mut new = base();
        new["components"]["schemas"]["Error"]["description"] = json!("new");
        new["components"]["schemas"]["Link"]["description"] = json!("new");
        new["components"]["responses"]["notFound"]["description"] = json!("gone");
        new["info"]["version"] = json!("2.1");
        assert_eq!(
            summarize(&base(), &new),
            [
                "2 other schema(s) changed (no property or kind added or removed): Link, Error",
                "components/responses: 0 added, 0 removed, 1 changed",
                "also changed: info",
            ]
        );
    }

    #[test]
    fn operations_are_named_by_method_path_and_id() {
        let mut new = base();
        new["paths"]["/c"]["get"] = json!({ "operationId": "listC", "responses": {} });
        new["paths"]["/d"] = json!({ "delete": { "operationId": "deleteD", "responses": {} } });
        new["paths"]["/c"]["post"]["summary"] = json!("Create C");
        assert_eq!(
            summarize(&base(), &new),
            [
                "operations added (2): DELETE /d (deleteD), GET /c (listC)",
                "operations changed (1): POST /c (createC)",
            ]
        );
        assert_eq!(
            summarize(&new, &base())[0],
            "operations removed (2): DELETE /d (deleteD), GET /c (listC)"
        );
    }

    #[test]
    fn long_lists_are_capped() {
        let mut new = base();
        for i in 0..20 {
            schemas(&mut new).insert(format!("S{i:02}"), json!({}));
        }
        assert_eq!(
            summarize(&base(), &new),
            ["schemas added (20): S00, S01, S02, S03, S04, S05 ... and 14 more"]
        );
    }

    fn provenance(sha: &str, date: &str) -> String {
        serde_json::to_string_pretty(&json!({
            "source": { "file": "a.yaml", "sha256": sha },
            "extracted_on": date,
            "operations": ["createC"]
        }))
        .unwrap()
    }

    #[test]
    fn a_provenance_only_difference_says_so_and_the_date_is_ignored() {
        let spec = crate::extract::to_pretty_json(&base());
        let ops = "createC\n";
        let (old_p, new_p) = (
            provenance(&"a".repeat(64), "2025-01-01"),
            provenance(&"b".repeat(64), "2026-01-01"),
        );
        let current = Files {
            openapi: Some(&spec),
            provenance: Some(&old_p),
            operations: Some(ops),
        };
        let wanted = Files {
            openapi: Some(&spec),
            provenance: Some(&new_p),
            operations: Some(ops),
        };
        assert_eq!(
            report(&current, &wanted).unwrap(),
            [
                "  only spec/provenance.json differs (spec/openapi.json and spec/operations are identical): source.sha256 aaaaaaaaaaaa... -> bbbbbbbbbbbb..."
            ]
        );
        let same_day_later = provenance(&"a".repeat(64), "2030-12-31");
        let wanted = Files {
            openapi: Some(&spec),
            provenance: Some(&same_day_later),
            operations: Some(ops),
        };
        assert!(report(&current, &wanted).is_none());
    }

    #[test]
    fn a_missing_file_and_a_new_selection_are_reported() {
        let spec = crate::extract::to_pretty_json(&base());
        let p = provenance("x", "d");
        let current = Files {
            openapi: None,
            provenance: Some(&p),
            operations: Some("# c\ncreateC\n"),
        };
        let wanted = Files {
            openapi: Some(&spec),
            provenance: Some(&p),
            operations: Some("# c\ncreateC\nlistC\n"),
        };
        assert_eq!(
            report(&current, &wanted).unwrap(),
            [
                "  spec/openapi.json:",
                "    the current file is missing",
                "  spec/operations: operations added: listC",
            ]
        );
    }
}
