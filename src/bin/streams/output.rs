//! What `create` prints: a summary or the connection as JSON, with text
//! from the server made safe for a terminal.

use std::io::Write;

use atlas_stream_connections::ApiResponse;
use atlas_stream_connections::types::StreamsConnection;

/// Prints the created connection in `project` and `instance`: as JSON with
/// `json`, else a summary. The connection exists from here on: a closed
/// standard output (`| head`) must not turn that into a panic or a
/// failure, so write errors are ignored.
pub fn print_created(
    json: bool,
    project: &str,
    instance: &str,
    created: &ApiResponse<StreamsConnection>,
) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    if json {
        // The names of free-form maps' members, not their values: a
        // webhook's `Authorization`, a JAAS config's password.
        let json = atlas_stream_connections::redacted_json(&**created)
            .and_then(|shown| serde_json::to_string_pretty(&shown))
            .map_err(|e| format!("cannot print the response: {e}"))?;
        let _ = writeln!(out, "{}", json_printable(&json));
        return Ok(());
    }
    let _ = writeln!(
        out,
        "created {} connection `{}` in project {project}, instance {instance}",
        printable(created.kind()),
        printable(connection_name(created).as_deref().unwrap_or("(unnamed)"))
    );
    let _ = writeln!(out, "  API version: {}", created.api_version());
    if let Some(sunset) = created.sunset() {
        let _ = writeln!(
            out,
            "  note: Atlas retires this API version on {}",
            printable(sunset)
        );
    }
    Ok(())
}

/// Every kind has a `name`; read it from the wire form, so the command
/// does not list the kinds (which change with the spec).
fn connection_name(connection: &StreamsConnection) -> Option<String> {
    match serde_json::to_value(connection).ok()?.get("name")? {
        serde_json::Value::String(name) => Some(name.clone()),
        _ => None,
    }
}

/// `json` with the characters [`printable`] escapes written as JSON
/// escapes (`\u007f`), so that it stays JSON: serde_json escapes the C0
/// controls itself, but not DEL, the C1 controls or the reordering marks.
fn json_printable(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c != '\n' && needs_escape(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Control characters (escape sequences start with one) and the invisible
/// characters that reorder or hide text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
}

/// `text` safe to print on a terminal: control characters (escape
/// sequences start with one) and the invisible characters that reorder text
/// are shown as `\u{..}` escapes, so a server's string cannot move the
/// cursor, change colours, retitle the window or disguise itself.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}
