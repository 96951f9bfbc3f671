//! The crate built with serde_json's `arbitrary_precision` feature on.
//!
//! The crate does not turn the feature on, but a user's build may: another
//! crate of it asks for the feature, and Cargo unifies features, so the
//! crate's serde_json has it too. serde_json then gives every number that
//! is not a 64-bit integer to a `Deserializer`'s reader as a map with one
//! property (`$serde_json::private::Number`, its text), which
//! `serde_json::Value` reads back as the number, every digit kept. The
//! buffer a union keeps the properties before its tag in (src/unknown.rs)
//! must read it the same way.
//!
//! A dev-dependency of the crate cannot turn the feature on for this test
//! alone (it would unify into every test's build), so this builds a copy of
//! the crate (`target/arbitrary-precision/crate`, sharing
//! `target/crate-copies` with the other copies) whose manifest asks for the
//! feature, and runs there the buffer's unit tests (`unknown::`, told to
//! expect the feature on) and `tests/arbitrary_precision/behaviour.rs`.
//!
//! Slow (a build of the crate), so ignored by default:
//! `cargo test -p xtask --test arbitrary_precision -- --ignored`.

// A test crate: an unwrap that fails is a failed test (Cargo.toml).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::CrateCopy;

/// The library's serde_json, as the root manifest names it.
const SERDE_JSON: &str = r#"serde_json = { workspace = true, features = ["float_roundtrip"] }"#;

#[test]
#[ignore = "slow: builds a copy of the crate; `-- --ignored` runs it"]
fn numbers_keep_every_digit_before_the_tag_and_in_unknown_kinds_with_arbitrary_precision_on() {
    let copy = CrateCopy::new("arbitrary-precision", false);
    copy.add(Path::new("spec/openapi.json"), "spec/openapi.json");
    copy.add(
        Path::new("xtask/tests/arbitrary_precision/behaviour.rs"),
        "tests/arbitrary_precision.rs",
    );
    let manifest = copy.dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        text.contains(SERDE_JSON),
        "the root manifest's serde_json changed shape"
    );
    let with_feature = SERDE_JSON.replace(
        r#"["float_roundtrip"]"#,
        r#"["float_roundtrip", "arbitrary_precision"]"#,
    );
    std::fs::write(&manifest, text.replace(SERDE_JSON, &with_feature)).unwrap();

    let expect = [("ATLAS_EXPECT_ARBITRARY_PRECISION", "1")];
    let (ok, out) = copy.cargo_with_env(&["test", "--lib", "unknown::"], &expect);
    assert!(ok, "the buffer's unit tests, with the feature on:\n{out}");
    for test in [
        "a_number_in_the_shape_arbitrary_precision_gives_reads_as_a_json_value_reads_it",
        "arbitrary_precision_is_told_by_whether_a_number_beyond_f64_parses",
    ] {
        assert!(
            out.contains(&format!("unknown::tests::{test} ... ok")),
            "{test}:
{out}"
        );
    }
    let (ok, out) = copy.cargo(&["test", "--test", "arbitrary_precision"]);
    assert!(ok, "tests/arbitrary_precision/behaviour.rs:\n{out}");
}
