//! Constructs the upstream spec writes that typify refuses or recurses on,
//! rewritten to what they evidently mean. Each rewrite is driven by the
//! shape of the schemas, never by a name:
//!
//! - **Values that do not conform to their own schema.** typify checks
//!   `enum` values and `default` against the schema and refuses the whole
//!   spec otherwise ("value does not conform to the given schema"). An
//!   `enum` of scalars on an array whose `items` have none and accept every
//!   value (`roleNames: {type: array, enum: [GROUP_OWNER, ...], items:
//!   {type: string}}`) says which values the items may take: it moves to
//!   the items (where it becomes an open enum). Any other `enum` value or
//!   `default` of the wrong JSON type (or outside the `enum`) is dropped: no
//!   value could satisfy it, so it said nothing a client could rely on.
//! - **A member that inherits from its own union.** A `oneOf`/`anyOf`
//!   without discriminator whose member lists the union in its `allOf`
//!   (`CreateAWSEndpointRequest: allOf: [CreateEndpointRequest, {...}]`, with
//!   `CreateEndpointRequest: oneOf: [CreateAWSEndpointRequest, ...]`)
//!   inherits the union's own keywords, not the choice among its members (a
//!   member cannot be one of the members, itself included): the `allOf` entry
//!   becomes the union's schema without `oneOf`/`anyOf`. Left alone it is a
//!   composition cycle that would overflow typify's stack. Discriminated
//!   unions get the same treatment from preprocessing's union flattening.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Error;
use super::pointer;
use super::schema_walk::{for_each_schema_mut, reference};

pub fn apply(doc: &mut Value) -> Result<(), Error> {
    conform_values(doc)?;
    inherited_unions(doc)
}

// ------------------------------------------------------ non-conforming values

/// Whether `value` has a JSON type the schema's `type` (and `nullable`)
/// admits; a schema without `type` admits every value.
fn has_type(schema: &Map<String, Value>, value: &Value) -> bool {
    let Some(kind) = schema.get("type").and_then(Value::as_str) else {
        return true;
    };
    match value {
        Value::Null => schema.get("nullable").and_then(Value::as_bool) == Some(true),
        Value::Bool(_) => kind == "boolean",
        Value::Number(n) => kind == "number" || (kind == "integer" && (n.is_i64() || n.is_u64())),
        Value::String(_) => kind == "string",
        Value::Array(_) => kind == "array",
        Value::Object(_) => kind == "object",
    }
}

fn conform_values(doc: &mut Value) -> Result<(), Error> {
    for_each_schema_mut(doc, &mut |_, schema| {
        if let Some(Value::Array(values)) = schema.get("enum").cloned()
            && !values.iter().all(|v| has_type(schema, v))
        {
            let items_take_them = schema.get("type").and_then(Value::as_str) == Some("array")
                && match schema.get("items") {
                    Some(Value::Object(items)) => {
                        !items.contains_key("enum")
                            && !items.contains_key("$ref")
                            && values.iter().all(|v| !v.is_array() && has_type(items, v))
                    }
                    _ => false,
                };
            let values = if items_take_them {
                schema.remove("enum");
                if let Some(Value::Object(items)) = schema.get_mut("items") {
                    items.insert("enum".into(), Value::Array(values));
                }
                None
            } else {
                Some(
                    values
                        .into_iter()
                        .filter(|v| has_type(schema, v))
                        .collect::<Vec<_>>(),
                )
            };
            match values {
                Some(kept) if kept.is_empty() => {
                    schema.remove("enum");
                }
                Some(kept) => {
                    schema.insert("enum".into(), Value::Array(kept));
                }
                None => {}
            }
        }
        if let Some(default) = schema.get("default")
            && (!has_type(schema, default)
                || schema
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|values| !values.contains(default)))
        {
            schema.remove("default");
        }
        Ok(())
    })
}

// ---------------------------------------------------------- inherited unions

fn inherited_unions(doc: &mut Value) -> Result<(), Error> {
    let Some(schemas) = doc
        .pointer(pointer::SCHEMAS)
        .and_then(Value::as_object)
        .cloned()
    else {
        return Ok(());
    };
    // Each union without discriminator: its members, and its own schema.
    let mut unions: Vec<(String, BTreeSet<String>, Map<String, Value>)> = Vec::new();
    for (name, schema) in &schemas {
        let Value::Object(map) = schema else { continue };
        if map.contains_key("discriminator") {
            continue;
        }
        let members: BTreeSet<String> = ["oneOf", "anyOf"]
            .iter()
            .filter_map(|k| map.get(*k).and_then(Value::as_array))
            .flatten()
            .filter_map(reference)
            .filter_map(pointer::schema_name)
            .collect();
        if members.is_empty() {
            continue;
        }
        let mut base = map.clone();
        base.remove("oneOf");
        base.remove("anyOf");
        unions.push((name.clone(), members, base));
    }
    for (union, members, base) in &unions {
        let union_ref = pointer::schema_ref(union);
        for member in members {
            let pointer = format!("{}/allOf", pointer::schema(member));
            let Some(Value::Array(parts)) = doc.pointer_mut(&pointer) else {
                continue;
            };
            for part in parts.iter_mut() {
                if reference(part) == Some(union_ref.as_str()) {
                    *part = Value::Object(base.clone());
                }
            }
        }
    }
    Ok(())
}
