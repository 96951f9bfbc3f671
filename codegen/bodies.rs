//! Bodies progenitor cannot express as the spec writes them, after
//! preprocessing kept one media type per body (renamed `application/json`).
//!
//! - **A response media type without a schema.** progenitor panics on it.
//!   Where HTTP says the response has no content (`1xx`, `204`, `205`,
//!   `304`: RFC 9110), it becomes a response without a body; the media type
//!   (the API version) was recorded before, so the version table still
//!   sends it in `Accept`. Any other status promises a body the spec does
//!   not describe: it is returned as raw bytes (progenitor's `ByteStream`),
//!   never dropped.
//! - **A request media type without a schema**: any JSON value
//!   (`serde_json::Value`), which is what the spec allows.
//! - **Responses of one class with different types.** progenitor gives a
//!   method one success type and one error type, and panics when the
//!   success responses (`2xx`, `default`) or the error responses (`4xx`,
//!   `5xx`, `default`) have different types (a typed `200` and a bodiless
//!   `204`; a `400` with its own schema beside the shared `ApiError`). Every
//!   response of such a class is returned as raw bytes, and the method's
//!   documentation says which status carries which schema, so the caller
//!   can decode it. (The crate's own error handling reads error bodies from
//!   the bytes in any case.)
//!
//! Each fallback is written into the operation's `description`, which
//! progenitor puts into the method's documentation.

use serde_json::{Map, Value, json};

use super::Error;
use super::pointer::{self, escape};
use super::preprocess::resolve_clone;
use super::schema_walk::reference;

/// What progenitor makes of a response: nothing, bytes, or a type.
#[derive(Clone, PartialEq)]
enum Kind {
    None,
    Raw,
    /// A JSON media type without a schema.
    Unschemed,
    Typed(Value),
}

/// The raw-bytes stand-in: any media type but `application/json` is raw to
/// progenitor.
const RAW_MEDIA_TYPE: &str = "application/octet-stream";

pub fn settle(doc: &mut Value) -> Result<(), Error> {
    for (_, _, pointer) in super::schema_walk::operations(doc) {
        let mut op = doc
            .pointer(&pointer)
            .cloned()
            .ok_or_else(|| Error::at(&pointer, "operation vanished"))?;
        let mut notes = Vec::new();
        request_body(doc, &mut op, &pointer)?;
        responses(doc, &mut op, &pointer, &mut notes)?;
        if !notes.is_empty() {
            let description = op
                .get("description")
                .and_then(Value::as_str)
                .map(|d| format!("{d}\n\n"))
                .unwrap_or_default();
            op["description"] = Value::String(format!("{description}{}", notes.join("\n\n")));
        }
        if let Some(slot) = doc.pointer_mut(&pointer) {
            *slot = op;
        }
    }
    Ok(())
}

fn json_media(content: &Map<String, Value>) -> Option<&String> {
    content
        .keys()
        .find(|m| *m == "application/json" || m.starts_with("application/json;"))
}

fn request_body(doc: &Value, op: &mut Value, pointer: &str) -> Result<(), Error> {
    let Some(body) = op.get("requestBody") else {
        return Ok(());
    };
    let mut body = resolve_clone(doc, body, &format!("{pointer}/requestBody"))?;
    let Some(Value::Object(content)) = body.get_mut("content") else {
        return Ok(());
    };
    let Some(media) = json_media(content).cloned() else {
        return Ok(());
    };
    let Some(Value::Object(media_object)) = content.get_mut(&media) else {
        return Ok(());
    };
    if media_object.contains_key("schema") {
        return Ok(());
    }
    media_object.insert(
        "schema".into(),
        json!({ "description": "The spec declares this body without a schema: any JSON value." }),
    );
    op["requestBody"] = body;
    Ok(())
}

fn no_content(status: &str) -> bool {
    status.starts_with('1') || matches!(status, "204" | "205" | "304")
}

fn is_success(status: &str) -> bool {
    status.starts_with('2') || status == "101" || status == "default"
}

fn is_error(status: &str) -> bool {
    status.starts_with('4') || status.starts_with('5') || status == "default"
}

fn responses(
    doc: &Value,
    op: &mut Value,
    pointer: &str,
    notes: &mut Vec<String>,
) -> Result<(), Error> {
    let Some(Value::Object(responses)) = op.get("responses").cloned() else {
        return Ok(());
    };
    let mut resolved = Vec::new();
    let mut unschemed = Vec::new();
    for (status, response) in responses {
        let at = format!("{pointer}/responses/{}", escape(&status));
        let mut response = resolve_clone(doc, &response, &at)?;
        let mut kind = kind_of(&response);
        if kind == Kind::Unschemed {
            kind = settle_unschemed(&status, &mut response);
            if kind == Kind::Raw {
                unschemed.push(status.clone());
            }
            op["responses"][&status] = response.clone();
        }
        resolved.push((status, response, kind));
    }
    if !unschemed.is_empty() {
        notes.push(format!(
            "The spec declares the body of the {} response(s) without a schema: \
             the body is returned as raw bytes.",
            statuses(&unschemed)
        ));
    }
    for (class, member) in [
        ("success", is_success as fn(&str) -> bool),
        ("error", is_error),
    ] {
        raw_when_bodies_differ(op, &mut resolved, class, member, notes);
    }
    Ok(())
}

/// A JSON response without a schema: no body where HTTP says there is
/// none, raw bytes otherwise. Returns its kind now.
fn settle_unschemed(status: &str, response: &mut Value) -> Kind {
    if no_content(status) {
        if let Value::Object(map) = response {
            map.remove("content");
        }
        Kind::None
    } else {
        make_raw(response);
        Kind::Raw
    }
}

/// When the responses of one class (`member` says which statuses) have
/// different kinds, makes every one of them raw and says so in `notes`.
fn raw_when_bodies_differ(
    op: &mut Value,
    resolved: &mut [(String, Value, Kind)],
    class: &str,
    member: fn(&str) -> bool,
    notes: &mut Vec<String>,
) {
    let members: Vec<&(String, Value, Kind)> =
        resolved.iter().filter(|(s, _, _)| member(s)).collect();
    let first = members.first().map(|(_, _, k)| k);
    if members.iter().all(|(_, _, k)| Some(k) == first) {
        return;
    }
    let described: Vec<String> = members
        .iter()
        .map(|(status, _, kind)| format!("`{status}`: {}", describe(kind)))
        .collect();
    notes.push(format!(
        "The {class} responses have different bodies ({}); the generated method has one \
         {class} type, so every {class} body is returned as raw bytes.",
        described.join("; ")
    ));
    let raw: Vec<String> = members.iter().map(|(s, _, _)| s.clone()).collect();
    for status in raw {
        if let Some(entry) = resolved.iter_mut().find(|(s, _, _)| *s == status) {
            make_raw(&mut entry.1);
            entry.2 = Kind::Raw;
            op["responses"][&status] = entry.1.clone();
        }
    }
}

fn kind_of(response: &Value) -> Kind {
    let Some(content) = response
        .get("content")
        .and_then(Value::as_object)
        .filter(|c| !c.is_empty())
    else {
        return Kind::None;
    };
    match json_media(content) {
        Some(media) => match content[media].get("schema") {
            Some(schema) => Kind::Typed(schema.clone()),
            None => Kind::Unschemed,
        },
        None => Kind::Raw,
    }
}

/// Gives `response` one non-JSON media type, which progenitor returns as
/// bytes; its schema (if any) stays for the reader of the spec.
fn make_raw(response: &mut Value) {
    let schema = response
        .get("content")
        .and_then(Value::as_object)
        .and_then(|c| json_media(c).and_then(|m| c[m].get("schema")))
        .cloned();
    let mut media = Map::new();
    if let Some(schema) = schema {
        media.insert("schema".into(), schema);
    }
    if let Value::Object(map) = response {
        map.insert(
            "content".into(),
            json!({ RAW_MEDIA_TYPE: Value::Object(media) }),
        );
    }
}

fn describe(kind: &Kind) -> String {
    match kind {
        Kind::None => "no body".into(),
        Kind::Raw => "raw bytes".into(),
        Kind::Unschemed => "a body without a schema".into(),
        Kind::Typed(schema) => match reference(schema) {
            Some(reference) => format!(
                "`{}`",
                pointer::schema_name(reference).unwrap_or_else(|| reference
                    .rsplit('/')
                    .next()
                    .unwrap_or(reference)
                    .into())
            ),
            None => "an inline schema".into(),
        },
    }
}

fn statuses(list: &[String]) -> String {
    list.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
