//! The Rust API report as the commands print it: `cargo xtask api-diff`, and
//! `regen` and `regen --check` after their spec-level summary.

// A test crate: an unwrap that fails is a failed test (Cargo.toml).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Output;

use serde_json::{Value, json};
use support::xtask;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A directory of its own under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("xtask-api-report-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, doc: &Value) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
        path.to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn vendored() -> Value {
    support::vendored_spec()
}

/// The vendored spec with a new property of the Kafka kind.
fn with_new_field() -> Value {
    let mut doc = vendored();
    doc["components"]["schemas"]["StreamsKafkaConnection"]["allOf"][1]["properties"]["schemaRegistry"] =
        json!({ "type": "string" });
    doc
}

const FIELD_LINE: &str = "types::StreamsKafkaConnection: field `schema_registry: Option<String>` added (struct literal; has Default)";

#[test]
fn api_diff_prints_the_report() {
    let tmp = TempDir::new("api-diff");
    let (old, new) = (
        tmp.write("old.json", &vendored()),
        tmp.write("new.json", &with_new_field()),
    );
    let out = xtask(["api-diff", "--old", &old, "--new", &old]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Rust public API: unchanged\n");

    let out = xtask(["api-diff", "--new", &new, "--old", &old]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "Rust public API (generated code), old -> new:");
    assert_eq!(lines[1], "  breaking (1):");
    assert_eq!(lines[2], format!("    - {FIELD_LINE}"));
    assert!(lines[3].starts_with("  verdict: breaking"), "{stdout}");
}

#[test]
fn api_diff_refuses_bad_arguments_and_names_a_spec_it_cannot_generate() {
    let tmp = TempDir::new("api-diff-bad");
    let old = tmp.write("old.json", &vendored());
    let out = xtask(["api-diff", "--old", &old]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        "error: usage: cargo xtask api-diff --old <openapi.json> --new <openapi.json>\n"
    );
    let broken = tmp.write("broken.json", &json!({ "openapi": "3.0.1" }));
    let out = xtask(["api-diff", "--old", &old, "--new", &broken]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: cannot generate the Rust code for {broken}: "
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// `regen --check` of a stale spec/ fails and prints, on stderr, the
/// spec-level summary, then the Rust API report, then the error.
fn check_reports_after_the_summary(out: &Output) {
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let at = |line: &str| {
        lines
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("no `{line}` in:\n{stderr}"))
    };
    let summary = at("    StreamsKafkaConnection: properties added: schemaRegistry");
    let report = at("  Rust public API (generated code), old -> new:");
    let field = at(&format!("      - {FIELD_LINE}"));
    assert!(summary < report && report < field, "{stderr}");
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("error: spec/ is stale; run `"),
        "{stderr}"
    );
}

#[test]
fn regen_and_check_print_the_report_after_the_spec_summary() {
    let tmp = TempDir::new("regen");
    let spec = tmp.0.join("spec");
    let spec = spec.to_str().unwrap();
    let (v1, v2) = (
        tmp.write("v1.json", &vendored()),
        tmp.write("v2.json", &with_new_field()),
    );
    let regen = |from: &str, check: bool| {
        let mut args = vec![
            "regen",
            "--from",
            from,
            "--ops",
            "createStreamConnection",
            "--spec-dir",
            spec,
        ];
        if check {
            args.push("--check");
        }
        xtask(&args)
    };

    // A new spec directory: nothing to compare with.
    let out = regen(&v1, false);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("Rust public API"));

    check_reports_after_the_summary(&regen(&v2, true));

    let out = regen(&v2, false);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("wrote spec/openapi.json"), "{stdout}");
    assert_eq!(lines[1], "  Rust public API (generated code), old -> new:");
    assert!(
        lines.contains(&format!("      - {FIELD_LINE}").as_str()),
        "{stdout}"
    );

    // Current: no report.
    let out = regen(&v2, true);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("Rust public API"));
}
