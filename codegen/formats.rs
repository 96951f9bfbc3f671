//! The Rust type of every `format` the upstream spec uses.
//!
//! typify maps `date-time` and `date` to `chrono` types and `uuid` to
//! `uuid::Uuid`; the crate depends on neither, and a parsed value would not
//! round-trip (chrono re-writes fractional seconds and converts offsets to
//! UTC, so a timestamp read from Atlas and sent back would change). Those
//! formats become the crate's verbatim string newtypes instead, through
//! typify's `x-rust-type` extension, the mechanism preprocessing uses for
//! `SecretString`:
//!
//! | `type`    | `format`    | Rust type                  | why |
//! |-----------|-------------|----------------------------|-----|
//! | `string`  | `date-time` | `crate::DateTime`          | RFC 3339 text as Atlas sent it, sent back unchanged |
//! | `string`  | `date`      | `crate::Date`              | `YYYY-MM-DD` text, likewise |
//! | `string`  | `uuid`      | `crate::Uuid`              | the text in the case Atlas sent it, likewise |
//! | `string`  | `password`  | `crate::SecretString`      | a secret (set by preprocessing, which also covers `writeOnly`; it has priority over every row here) |
//! | `string`  | `email`     | `String`                   | typify's default; nothing to gain from a type that would only wrap it |
//! | `string`  | `uri`       | `String`                   | likewise (`url::Url` would normalise the text and add a dependency) |
//! | `string`  | `binary`    | `String` in a JSON schema  | upstream uses it only for `+gzip` response bodies, which progenitor returns as raw bytes (`ByteStream`) whatever the schema says |
//! | `string`  | `ipv4`, `ipv6`, `ip` | `String`          | not used upstream; typify's `std::net` types would refuse a value a server writes differently, so the format is dropped to keep decoding lenient |
//! | `string`  | any other   | `String`                   | typify's default for a format it does not know |
//! | `integer` | `int32`     | `i32`                      | typify |
//! | `integer` | `int64`     | `i64`                      | typify |
//! | `integer` | none        | `i64`                      | typify |
//! | `number`  | `double`    | `f64`                      | typify |
//! | `number`  | `float`     | `f32`                      | typify |
//! | `number`  | none        | `f64`                      | typify |
//!
//! A string `enum` keeps its open enum (the format of a closed set of values
//! adds nothing).
//!
//! **How.** typify drops `x-rust-type` when it merges schemas: the
//! properties of an `allOf` part are merged with the other parts'
//! `additionalProperties` (which preprocessing gives every open object), so
//! a timestamp (or a secret!) in a kind that extends an open base would come
//! out as typify's own type. So every string schema given one of the crate's
//! types (the secrets too) is replaced by a reference to one synthetic
//! component per type (`x-rust-type-DateTime`, ...), which typify keeps
//! through merges, with the schema's annotations (`description`,
//! `deprecated`, ...) and `nullable` beside it; the generator tells
//! progenitor to use the crate's type for each synthetic component
//! ([`replacements`]), so no wrapper type is generated. A nullable one
//! becomes an `Option` of the type, as a required nullable property must.
//! Validation keywords of such a string (`pattern`, lengths) are not kept:
//! the crate's types take any text.

use std::collections::BTreeMap;

use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

use super::Error;
use super::pointer;
use super::schema_walk::{for_each_schema_mut, named_schemas};

/// `format` → the crate's type for it.
const NEWTYPES: [(&str, &str); 3] = [
    ("date-time", "DateTime"),
    ("date", "Date"),
    ("uuid", "Uuid"),
];

/// Formats typify would decode strictly, dropped so that decoding stays
/// lenient.
const STRICT_IN_TYPIFY: [&str; 3] = ["ip", "ipv4", "ipv6"];

/// The name of the synthetic component that stands for the crate's type
/// `rust` (the last segment of its path).
const SYNTHETIC_PREFIX: &str = "x-rust-type-";

/// Keywords kept beside the reference: they describe the use site.
const ANNOTATIONS: [&str; 9] = [
    "description",
    "title",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
    "example",
    "externalDocs",
    "x-xgen-IPA-exception",
];

/// Gives every string schema with a format of [`NEWTYPES`] the crate's type
/// unless preprocessing made it a secret, drops the formats of
/// [`STRICT_IN_TYPIFY`], and routes every schema with one of the crate's
/// types through its synthetic component.
pub fn apply(doc: &mut Value, crate_name: &str) -> Result<(), Error> {
    let own_prefix = format!("{}::", crate_ident(crate_name));
    let synthetic_prefix = pointer::schema(SYNTHETIC_PREFIX);
    // synthetic component name -> its schema
    let mut synthetic: BTreeMap<String, Value> = BTreeMap::new();
    for_each_schema_mut(doc, &mut |pointer, schema| {
        if pointer.starts_with(&synthetic_prefix)
            || schema.get("type").and_then(Value::as_str) != Some("string")
            || schema.contains_key("enum")
        {
            return Ok(());
        }
        let format = schema
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        type_format(schema, &format, crate_name);
        route_through_synthetic(schema, format, &own_prefix, &mut synthetic);
        Ok(())
    })?;
    add_synthetic(doc, synthetic)
}

/// The Rust name of the crate `crate_name` (`-` becomes `_`).
pub fn crate_ident(crate_name: &str) -> String {
    crate_name.replace('-', "_")
}

/// typify's `x-rust-type` for the crate's own type `rust` (a name at the
/// crate's root).
pub fn crate_type(crate_name: &str, rust: &str) -> Value {
    json!({
        "crate": crate_name,
        "version": "*",
        "path": format!("{}::{rust}", crate_ident(crate_name)),
    })
}

/// Whether a string schema says it holds a secret: `writeOnly` (sent, never
/// read back) or `format: password`. Preprocessing makes such a string the
/// crate's `SecretString`.
pub fn declares_secret(schema: &Map<String, Value>) -> bool {
    schema.get("writeOnly").and_then(Value::as_bool) == Some(true)
        || schema.get("format").and_then(Value::as_str) == Some("password")
}

/// Gives a string schema with `format` the crate's type for it, unless it
/// is a secret (which has its type already, or gets it from
/// preprocessing); drops a format typify would decode strictly.
fn type_format(schema: &mut Map<String, Value>, format: &str, crate_name: &str) {
    if schema.contains_key("x-rust-type") || declares_secret(schema) {
        return;
    }
    if let Some((_, rust)) = NEWTYPES.iter().find(|(f, _)| *f == format) {
        schema.insert("x-rust-type".into(), crate_type(crate_name, rust));
    } else if STRICT_IN_TYPIFY.contains(&format) {
        schema.remove("format");
    }
}

/// Replaces a schema that has one of the crate's types by a reference to
/// the type's synthetic component (added to `synthetic`), with its
/// annotations beside it.
fn route_through_synthetic(
    schema: &mut Map<String, Value>,
    format: String,
    own_prefix: &str,
    synthetic: &mut BTreeMap<String, Value>,
) {
    let Some(path) = schema
        .get("x-rust-type")
        .and_then(|x| x.get("path"))
        .and_then(Value::as_str)
        .filter(|p| p.starts_with(own_prefix))
    else {
        return;
    };
    let rust = path.rsplit("::").next().unwrap_or(path).to_owned();
    let name = format!("{SYNTHETIC_PREFIX}{rust}");
    let mut inner = json!({ "type": "string", "x-rust-type": schema["x-rust-type"].clone() });
    if !format.is_empty() {
        inner["format"] = Value::String(format);
    }
    synthetic.entry(name.clone()).or_insert(inner);
    let mut outer = Map::new();
    for key in ANNOTATIONS {
        if let Some(value) = schema.remove(key) {
            outer.insert(key.into(), value);
        }
    }
    outer.insert(
        "allOf".into(),
        json!([{ "$ref": pointer::schema_ref(&name) }]),
    );
    *schema = outer;
}

/// Adds the synthetic components, refusing a spec that has one of their
/// names (or a name typify would give the same Rust name).
fn add_synthetic(doc: &mut Value, synthetic: BTreeMap<String, Value>) -> Result<(), Error> {
    if synthetic.is_empty() {
        return Ok(());
    }
    let schemas = doc
        .pointer_mut(pointer::SCHEMAS)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| Error::at(pointer::SCHEMAS, "missing"))?;
    for (name, schema) in synthetic {
        let rust_name = name.to_upper_camel_case();
        if let Some(taken) = schemas
            .keys()
            .find(|k| **k == name || k.to_upper_camel_case() == rust_name)
        {
            return Err(Error::at(
                pointer::schema(taken),
                format!(
                    "the schema name `{taken}` is the generator's own (`{name}`, the crate's \
                     type for a string format); rename it in the spec"
                ),
            ));
        }
        schemas.insert(name, schema);
    }
    Ok(())
}

/// `(typify's name of a synthetic component, the crate's type, whether the
/// type has Display and FromStr)` for every synthetic component of `doc`,
/// for progenitor's replacements.
pub fn replacements(doc: &Value) -> Vec<(String, String, bool)> {
    named_schemas(doc)
        .filter(|(name, _)| name.starts_with(SYNTHETIC_PREFIX))
        .filter_map(|(name, schema)| {
            let path = schema.pointer("/x-rust-type/path")?.as_str()?;
            let rust = path.rsplit("::").next()?;
            Some((
                name.to_upper_camel_case(),
                format!("::{path}"),
                NEWTYPES.iter().any(|(_, r)| *r == rust),
            ))
        })
        .collect()
}
