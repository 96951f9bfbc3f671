//! `spec/provenance.json`: where the vendored fragment came from.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::source::Source;

pub struct Provenance {
    /// `("file", file name)` or `("url", URL without credentials)`.
    origin: (&'static str, String),
    sha256: String,
    xgen_sha: Value,
    openapi: Value,
    info_version: Value,
    license: Value,
    extracted_on: String,
    operations: Vec<String>,
}

impl Provenance {
    pub fn describe(source: &Source, bytes: &[u8], doc: &Value, operations: &[String]) -> Self {
        let info = doc.get("info").cloned().unwrap_or(Value::Null);
        let origin = match source {
            Source::File(path) => (
                "file",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            Source::Url(_) => ("url", source.to_string()),
        };
        Self {
            origin,
            sha256: Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            xgen_sha: info.get("x-xgen-sha").cloned().unwrap_or(Value::Null),
            openapi: doc.get("openapi").cloned().unwrap_or(Value::Null),
            info_version: info.get("version").cloned().unwrap_or(Value::Null),
            license: info.get("license").cloned().unwrap_or(Value::Null),
            extracted_on: today(),
            operations: operations.to_vec(),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut source = serde_json::Map::new();
        source.insert(self.origin.0.into(), json!(self.origin.1));
        source.insert("sha256".into(), json!(self.sha256));
        source.insert("x-xgen-sha".into(), self.xgen_sha.clone());
        source.insert("openapi".into(), self.openapi.clone());
        source.insert("info.version".into(), self.info_version.clone());
        source.insert("license".into(), self.license.clone());
        json!({
            "source": source,
            "extracted_on": self.extracted_on,
            "operations": self.operations,
            "generated_by": "cargo xtask regen",
            "note": "spec/openapi.json is a verbatim extract of the source; do not edit it by hand",
        })
    }
}

/// Compares two provenance files, ignoring the extraction date, so that
/// `--check` on another day does not report a difference.
pub fn same_ignoring_date(a: &str, b: &str) -> bool {
    let strip = |text: &str| {
        serde_json::from_str::<Value>(text).ok().map(|mut v| {
            if let Some(map) = v.as_object_mut() {
                map.remove("extracted_on");
            }
            v
        })
    };
    matches!((strip(a), strip(b)), (Some(x), Some(y)) if x == y)
}

/// Today's UTC date as `YYYY-MM-DD` (civil-from-days, Howard Hinnant).
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
