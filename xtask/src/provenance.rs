//! `spec/provenance.json`: where the vendored fragment came from.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub struct Provenance {
    file_name: String,
    sha256: String,
    xgen_sha: Value,
    openapi: Value,
    info_version: Value,
    license: Value,
    extracted_on: String,
    operations: Vec<String>,
}

impl Provenance {
    pub fn describe(path: &Path, bytes: &[u8], doc: &Value, operations: &[String]) -> Self {
        let info = doc.get("info").cloned().unwrap_or(Value::Null);
        Self {
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
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
        json!({
            "source": {
                "file": self.file_name,
                "sha256": self.sha256,
                "x-xgen-sha": self.xgen_sha,
                "openapi": self.openapi,
                "info.version": self.info_version,
                "license": self.license,
            },
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
