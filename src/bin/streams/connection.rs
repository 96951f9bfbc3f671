//! The connection `create` and `update` send, read from a JSON file or
//! built from the flags of one kind, and the connections `apply` reads. Errors never quote a value from the file: it may be a
//! password.

use std::io::Read;

use atlas_stream_connections::SecretString;
use atlas_stream_connections::types::{
    StreamsClusterConnection, StreamsConnection, StreamsHttpsConnection,
    StreamsKafkaAuthentication, StreamsKafkaConnection, StreamsKafkaSecurity,
    StreamsSampleConnection,
};

use crate::args::{CreateArgs, KafkaArgs, Kind};

/// The connection to create, from the file or the flags.
pub fn connection(args: &CreateArgs) -> Result<StreamsConnection, String> {
    match (&args.file, args.kind) {
        (Some(file), _) => from_file(file),
        (None, Some(kind)) => from_flags(args, kind),
        // clap's group requires one of the two.
        (None, None) => Err("give --file or --kind".into()),
    }
}

/// The text of `path`, or of standard input for `-`.
fn read_text(path: &str) -> Result<String, String> {
    if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
}

/// The connection in `file` (`-`: standard input), as JSON.
fn from_file(file: &str) -> Result<StreamsConnection, String> {
    let text = read_text(file)?;
    check_syntax(file, &text)?;
    parse_one(&text).map_err(|wrong| format!("{file}: not a stream connection: {}", wrong.at("")))
}

/// The connections in `file` (`-`: standard input) for `apply`: one
/// connection object, or an array of them.
pub fn many_from_file(file: &str) -> Result<Vec<StreamsConnection>, String> {
    let text = read_text(file)?;
    check_syntax(file, &text)?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{file}: {}", without_values(&e.to_string())))?;
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                parse_one(&item.to_string()).map_err(|wrong| {
                    format!(
                        "{file}: connection {index} (from 0) is not a stream connection: {}",
                        wrong.at(&format!("[{index}]"))
                    )
                })
            })
            .collect(),
        serde_json::Value::Object(_) => {
            Ok(vec![parse_one(&text).map_err(|wrong| {
                format!("{file}: not a stream connection: {}", wrong.at(""))
            })?])
        }
        _ => Err(format!(
            "{file}: expected a connection (a JSON object) or an array of them"
        )),
    }
}

/// Syntax is checked on its own first: the connection's decoder reads a
/// kind's fields only once it has its tag, and reports a truncated or
/// broken document as a shape problem without a position.
fn check_syntax(file: &str, text: &str) -> Result<(), String> {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "{file}: not valid JSON at line {}, column {}",
            e.line(),
            e.column()
        )),
    }
}

/// Where a connection's JSON is wrong, and how.
struct Wrong {
    /// A JSON path (`authentication.password`), `.` for the top level.
    path: String,
    /// What is wrong, without the value.
    what: String,
}

impl Wrong {
    /// Said with the path under `prefix` (`[2]` for an array's element).
    fn at(&self, prefix: &str) -> String {
        let path = match (prefix, self.path.as_str()) {
            ("", ".") => return format!("{} (at the top level)", self.what),
            (prefix, ".") => prefix.to_owned(),
            ("", path) => path.to_owned(),
            (prefix, path) => format!("{prefix}.{path}"),
        };
        format!("field `{path}`: {}", self.what)
    }
}

/// The connection in `text`, which is valid JSON.
fn parse_one(text: &str) -> Result<StreamsConnection, Wrong> {
    let mut reader = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut reader).map_err(|e| wrong_field(text, &e))
}

/// Where the file is wrong, as a JSON path (`authentication.password`),
/// and what kind of problem, never the value: serde's message quotes the
/// offending value, which may be a password.
fn wrong_field(text: &str, error: &serde_path_to_error::Error<serde_json::Error>) -> Wrong {
    let path = match error.path().to_string() {
        // A union may read members that come before `type` before it knows
        // the kind, and decode them later without their path: decoding
        // again with `type` first finds it.
        root if root == "." => tag_first(text)
            .and_then(|text| {
                let mut reader = serde_json::Deserializer::from_str(&text);
                serde_path_to_error::deserialize::<_, StreamsConnection>(&mut reader).err()
            })
            .map(|e| e.path().to_string())
            .unwrap_or(root),
        path => path,
    };
    Wrong {
        path,
        what: without_values(&error.inner().to_string()),
    }
}

/// The object in `text` written again with its `type` member first; none
/// when it is not an object with a `type`.
fn tag_first(text: &str) -> Option<String> {
    let serde_json::Value::Object(members) = serde_json::from_str(text).ok()? else {
        return None;
    };
    let tag = members.get("type")?;
    let mut out = format!("{{\"type\":{tag}");
    for (name, value) in members.iter().filter(|(name, _)| *name != "type") {
        out.push(',');
        out.push_str(&serde_json::Value::String(name.clone()).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    Some(out)
}

/// serde's message without what it quotes of the value (`invalid type:
/// string "hunter2", expected a string` becomes `invalid type: string,
/// expected a string`) and without the position (the path says where).
fn without_values(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    let Some(start) = ["invalid type: ", "invalid value: "]
        .iter()
        .filter_map(|marker| message.find(marker).map(|at| at + marker.len()))
        .min()
    else {
        // Other messages (a missing field, an unknown variant) name the
        // field or the expected values, not the value given.
        return message.to_owned();
    };
    let (prefix, rest) = message.split_at(start);
    // The first word says what was found (`string`, `integer`); what
    // follows it up to `, expected` is the value.
    let found = rest.split([' ', ',']).next().unwrap_or_default();
    match rest.rfind(", expected ") {
        Some(expected) => format!("{prefix}{found}{}", &rest[expected..]),
        None => format!("{prefix}{found}"),
    }
}

/// The connection `--kind` and the flags of that kind describe.
fn from_flags(args: &CreateArgs, kind: Kind) -> Result<StreamsConnection, String> {
    let name = args.name.clone();
    let needs = |value: &Option<String>, flag: &str| {
        value
            .clone()
            .ok_or_else(|| format!("--kind {} needs {flag}", kind.name()))
    };
    Ok(match kind {
        Kind::Sample => StreamsSampleConnection {
            name,
            ..Default::default()
        }
        .into(),
        Kind::Cluster => StreamsClusterConnection {
            name,
            cluster_name: Some(needs(&args.cluster, "--cluster")?),
            ..Default::default()
        }
        .into(),
        Kind::Https => StreamsHttpsConnection {
            name,
            url: Some(needs(&args.url, "--url")?),
            ..Default::default()
        }
        .into(),
        Kind::Kafka => {
            // A password that cannot be read is reported before a missing flag.
            let authentication = kafka_authentication(&args.kafka)?;
            StreamsKafkaConnection {
                name,
                bootstrap_servers: Some(needs(
                    &args.kafka.bootstrap_servers,
                    "--bootstrap-servers",
                )?),
                authentication,
                security: kafka_security(&args.kafka)?,
                ..Default::default()
            }
            .into()
        }
    })
}

/// The Kafka SASL settings given, the password read from the variable
/// `--password-env` names or the file `--password-file` names; none when
/// no flag of them is given.
fn kafka_authentication(kafka: &KafkaArgs) -> Result<Option<StreamsKafkaAuthentication>, String> {
    let password = match (&kafka.password_env, &kafka.password_file) {
        (Some(var), _) => Some(std::env::var(var).map_err(|_| {
            format!("--password-env {var}: the variable is not set (or not UTF-8)")
        })?),
        (None, Some(path)) => Some(password_from_file(path)?),
        (None, None) => None,
    };
    let any = kafka.mechanism.is_some() || kafka.username.is_some() || password.is_some();
    Ok(any.then(|| StreamsKafkaAuthentication {
        mechanism: kafka.mechanism.clone(),
        username: kafka.username.clone(),
        password: password.map(SecretString::new),
        ..Default::default()
    }))
}

/// The password in the file `path` (`-`: standard input), without one
/// trailing newline. The error names the file, not what it holds.
fn password_from_file(path: &str) -> Result<String, String> {
    let text = read_text(path).map_err(|e| format!("--password-file: {e}"))?;
    let password = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if password.is_empty() {
        return Err(format!("--password-file {path}: the file is empty"));
    }
    Ok(password.to_owned())
}

/// The Kafka transport settings given; none when no flag of them is.
fn kafka_security(kafka: &KafkaArgs) -> Result<Option<StreamsKafkaSecurity>, String> {
    let certificate = match &kafka.broker_certificate {
        Some(path) => Some(read_text(path).map_err(|e| format!("--broker-certificate: {e}"))?),
        None => None,
    };
    if kafka.protocol.is_none() && certificate.is_none() {
        return Ok(None);
    }
    Ok(Some(StreamsKafkaSecurity {
        protocol: kafka.protocol.clone(),
        broker_public_certificate: certificate,
        ..Default::default()
    }))
}
