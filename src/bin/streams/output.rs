//! What the commands print: summaries or connections as JSON, with text
//! from the server made safe for a terminal.

use std::io::Write;

use atlas_stream_connections::ApiResponse;
use atlas_stream_connections::types::StreamsConnection;

/// Prints the connection Atlas answered with after `verb` (`created`,
/// `updated`) in `project` and `instance`: as JSON with `json`, else a
/// summary. The change is made from here on: a closed standard output
/// (`| head`) must not turn that into a panic or a failure, so write
/// errors are ignored.
pub fn print_answer(
    verb: &str,
    json: bool,
    project: &str,
    instance: &str,
    answer: &ApiResponse<StreamsConnection>,
) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{}", pretty_json(answer)?);
        return Ok(());
    }
    let _ = writeln!(
        out,
        "{verb} {} connection `{}` in project {project}, instance {instance}",
        printable(answer.kind()),
        printable(answer.name().as_deref().unwrap_or("(unnamed)"))
    );
    let _ = writeln!(out, "  API version: {}", answer.api_version());
    if let Some(sunset) = answer.sunset() {
        let _ = writeln!(
            out,
            "  note: Atlas retires this API version on {}",
            printable(sunset)
        );
    }
    Ok(())
}

/// `connection` as pretty JSON, its secrets redacted, safe for a terminal.
pub fn pretty_json(connection: &StreamsConnection) -> Result<String, String> {
    let json = serde_json::to_string_pretty(&shown(connection)?)
        .map_err(|e| format!("cannot print the connection: {e}"))?;
    Ok(json_printable(&json))
}

/// `connection` as it may be shown: the names of free-form maps' members,
/// not their values (a webhook's `Authorization`, a JAAS config's
/// password), and its state.
fn shown(connection: &StreamsConnection) -> Result<serde_json::Value, String> {
    let mut shown = atlas_stream_connections::redacted_json(connection)
        .map_err(|e| format!("cannot print the connection: {e}"))?;
    // The vendored spec has no `state`: a server's is kept among the
    // properties it does not declare, whose values are redacted, as any
    // unknown property's must be. The state is no secret.
    if let (Some(state), serde_json::Value::Object(members)) = (connection.state(), &mut shown) {
        members.insert("state".into(), state.as_str().into());
    }
    Ok(shown)
}

/// `value` as one line of JSON, safe for a terminal.
pub fn json_line(value: &serde_json::Value) -> String {
    json_printable(&value.to_string())
}

/// `streams get`: the connection as JSON with `json`, else its kind and
/// name, then each field it has (secrets redacted) as `path: value`.
pub fn print_connection(
    json: bool,
    project: &str,
    instance: &str,
    connection: &StreamsConnection,
) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{}", pretty_json(connection)?);
        return Ok(());
    }
    let shown = shown(connection)?;
    let _ = writeln!(
        out,
        "{} connection `{}` in project {project}, instance {instance}",
        printable(connection.kind()),
        printable(connection.name().as_deref().unwrap_or("(unnamed)"))
    );
    let mut fields = Vec::new();
    if let serde_json::Value::Object(members) = &shown {
        for (key, value) in members {
            // Said in the first line, or links to the API's own pages.
            if !matches!(key.as_str(), "name" | "type" | "links") {
                flatten(key, value, &mut fields);
            }
        }
    }
    for (path, value) in fields {
        let _ = writeln!(out, "  {}: {}", printable(&path), json_line(value));
    }
    Ok(())
}

/// The leaves of `value` under the dotted `path`: objects are entered,
/// anything else (arrays too) is one value.
fn flatten<'a>(
    path: &str,
    value: &'a serde_json::Value,
    into: &mut Vec<(String, &'a serde_json::Value)>,
) {
    match value {
        serde_json::Value::Object(members) if !members.is_empty() => {
            for (key, member) in members {
                flatten(&format!("{path}.{key}"), member, into);
            }
        }
        _ => into.push((path.to_owned(), value)),
    }
}

/// One line of `streams list`: name, kind and state (if Atlas reports
/// one).
pub fn list_line(connection: &StreamsConnection) -> String {
    let name = connection.name().unwrap_or_else(|| "(unnamed)".into());
    let mut line = format!("{}  {}", printable(&name), printable(connection.kind()));
    if let Some(state) = connection.state() {
        line.push_str("  ");
        line.push_str(&printable(state.as_str()));
    }
    line
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
