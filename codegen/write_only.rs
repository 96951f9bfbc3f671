//! Write-only properties are never required of a decoded value.
//!
//! OpenAPI 3.0: a property that is `writeOnly` and `required` is required in
//! requests only; a response never carries it (Atlas does not send a
//! password back). The generated types serve both directions, so a required
//! write-only property would make every response that omits it, as every
//! correct response does, fail to decode. It is taken out of `required`,
//! which makes the field an `Option`: sent when set, absent when read.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Error;
use super::schema_walk::for_each_schema_mut;

pub fn optional_when_write_only(doc: &mut Value) -> Result<(), Error> {
    for_each_schema_mut(doc, &mut |_, schema| {
        let mut write_only = write_only_properties(schema);
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
        {
            write_only.extend(write_only_properties(part));
        }
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.retain(|r| r.as_str().is_none_or(|name| !write_only.contains(name)));
        }
        Ok(())
    })
}

fn write_only_properties(schema: &Map<String, Value>) -> BTreeSet<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, p)| p.get("writeOnly") == Some(&Value::Bool(true)))
        .map(|(name, _)| name.clone())
        .collect()
}
