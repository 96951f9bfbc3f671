//! Real upstream history: the crate, unchanged, against every release of the
//! upstream spec in which our fragment changed.
//!
//! `tests/corpus/<date>-<commit>/` holds the fragment (the operations of
//! `spec/operations`) that `cargo xtask regen` extracted from each copy of
//! the upstream spec that the Atlas CLI vendored
//! (`tools/internal/specs/spec.yaml` of mongodb/mongodb-atlas-cli, at the
//! commit its `provenance.json` names), one per change of the fragment,
//! 2025-03 onwards; `scripts/corpus.sh` makes it. For each release, oldest
//! first, this test:
//!
//! 1. re-extracts the fragment with `cargo xtask regen` (it must be a fixed
//!    point: extraction of an extraction changes nothing);
//! 2. generates the client with build.rs's generator;
//! 3. builds a copy of the whole crate with it (library and the `streams`
//!    command, with the `cli` feature) with zero warnings;
//! 4. runs `tests/corpus/behaviour.rs` inside the copy (and `preview.rs`
//!    where the release has a preview version with its own schema).
//!
//! Releases whose generated code differs from an earlier one's only in doc
//! comments are not built again (a doc comment cannot change what compiles
//! or how it behaves); steps 1 and 2 still run for them.
//!
//! Slow (builds of the crate), so ignored by default:
//! `cargo test -p xtask --test corpus -- --ignored` (CI runs it).

// A test crate: an unwrap that fails is a failed test (Cargo.toml).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::CrateCopy;

fn releases(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("tests/corpus"))
        .expect("tests/corpus exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("openapi.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// The standard output of the xtask binary run with `args`, which must
/// succeed.
fn xtask(args: &[&str]) -> String {
    let output = support::xtask(args);
    assert!(
        output.status.success(),
        "xtask {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The operations a release's `provenance.json` says were extracted.
fn release_operations(provenance: &Path) -> Vec<String> {
    read_json(provenance)["operations"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no operations", provenance.display()))
        .iter()
        .map(|op| op.as_str().unwrap().to_owned())
        .collect()
}

/// The generated code without its doc comments.
fn shape(code: &str) -> String {
    code.lines()
        .filter(|l| {
            let t = l.trim_start();
            !t.starts_with("///") && !t.starts_with("//!") && !t.starts_with("#[doc")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_corpus_covers_the_vendored_spec_and_records_where_each_release_came_from() {
    let root = support::repo_root();
    let all = releases(&root);
    assert!(all.len() >= 20, "the corpus lost releases: {}", all.len());
    let operations = support::crate_operations(&root);
    for dir in &all {
        // Every release tried on the operations the crate serves: a new one
        // in spec/operations needs the corpus extracted again.
        assert_eq!(
            release_operations(&dir.join("provenance.json")),
            operations,
            "{dir:?} was not extracted with spec/operations; run \
             `bash scripts/corpus.sh <git dir of mongodb/mongodb-atlas-cli>`"
        );
        let provenance = read_json(&dir.join("provenance.json"));
        let source = &provenance["source"];
        assert_eq!(source["repository"], "mongodb/mongodb-atlas-cli", "{dir:?}");
        assert_eq!(source["file"], "tools/internal/specs/spec.yaml", "{dir:?}");
        let commit = source["commit"].as_str().unwrap_or_default();
        assert_eq!(commit.len(), 40, "{dir:?}");
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert!(
            name.ends_with(&commit[..8]),
            "{name} is not named for {commit}"
        );
        assert!(name.starts_with(source["commit_date"].as_str().unwrap()));
    }
    // The vendored fragment is one of them, the release of our period, but
    // for `info` (the corpus keeps the first release of each fragment; a
    // later one with the same fragment differs in `info.x-xgen-sha`).
    let without_info = |mut doc: Value| {
        doc.as_object_mut().unwrap().remove("info");
        doc
    };
    let ours = without_info(read_json(&root.join("spec/openapi.json")));
    assert!(
        all.iter()
            .any(|d| without_info(read_json(&d.join("openapi.json"))) == ours),
        "spec/openapi.json is not in the corpus"
    );
}

#[test]
#[ignore = "slow: builds the crate against every release of the corpus; run with --ignored"]
fn every_release_regenerates_builds_warning_free_and_behaves() {
    let copy = corpus_crate();
    let scratch = copy.root.join("target/corpus/regen");
    let mut built: BTreeMap<String, String> = BTreeMap::new();
    let mut report = Vec::new();
    for dir in releases(&copy.root) {
        let name = dir.file_name().unwrap().to_str().unwrap().to_owned();
        let fragment = dir.join("openapi.json");
        check_fixed_point(&fragment, &scratch.join(&name), &name);

        let code = xtask(&["codegen", "--spec", fragment.to_str().unwrap()]);
        if let Some(same) = built.get(&shape(&code)) {
            report.push(format!("{name}: same code as {same} but for docs"));
            continue;
        }
        built.insert(shape(&code), name.clone());
        let preview = code.contains("pub async fn create_stream_connection_preview");
        build_and_test(&copy, &fragment, preview, &name);
        report.push(format!(
            "{name}: built warning-free; behaviour tests passed{}",
            if preview { " (with preview)" } else { "" }
        ));
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        report.iter().any(|r| r.contains("(with preview)")),
        "no release exercised a version with its own schema"
    );
}

/// A copy of the crate, with the `streams` command, the behaviour tests and
/// the seed fixtures they read.
fn corpus_crate() -> CrateCopy {
    let copy = CrateCopy::new("corpus", true);
    copy.add(
        Path::new("xtask/tests/corpus/behaviour.rs"),
        "tests/corpus.rs",
    );
    for entry in std::fs::read_dir(copy.root.join("tests/fixtures/seed")).unwrap() {
        let name = entry.unwrap().file_name();
        let name = name.to_str().unwrap();
        copy.add(
            &Path::new("tests/fixtures/seed").join(name),
            &format!("tests/fixtures/seed/{name}"),
        );
    }
    copy
}

/// Step 1: `cargo xtask regen` of the release's `fragment` into `out` gives
/// the fragment again.
fn check_fixed_point(fragment: &Path, out: &Path, name: &str) {
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).unwrap();
    // The operations the release was extracted with (the first test checks
    // they are the crate's).
    let ops = release_operations(&fragment.with_file_name("provenance.json")).join(",");
    xtask(&[
        "regen",
        "--from",
        fragment.to_str().unwrap(),
        "--ops",
        &ops,
        "--spec-dir",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        read_json(&out.join("openapi.json")),
        read_json(fragment),
        "{name}: extracting the fragment again changes it"
    );
}

/// Steps 3 and 4: the copy with the release's `fragment` builds without a
/// warning, and its behaviour tests (with `preview.rs` when the release
/// has a `preview` version of its own) all pass.
fn build_and_test(copy: &CrateCopy, fragment: &Path, preview: bool, name: &str) {
    std::fs::copy(fragment, copy.dir.join("spec/openapi.json")).unwrap();
    let preview_test = copy.dir.join("tests/preview.rs");
    if preview {
        copy.add(
            Path::new("xtask/tests/corpus/preview.rs"),
            "tests/preview.rs",
        );
    } else if preview_test.exists() {
        std::fs::remove_file(&preview_test).unwrap();
    }
    copy.build_warning_free(&["build", "--features", "cli", "--lib", "--bins"], name);
    let mut args = vec!["test", "--features", "local-atlas", "--test", "corpus"];
    if preview {
        args.extend(["--test", "preview"]);
    }
    let (ok, out) = copy.cargo(&args);
    assert!(ok, "{name}: the behaviour tests fail:\n{out}");
    let passed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("test result: ok."))
        .collect();
    let expected = if preview { 2 } else { 1 };
    assert_eq!(
        passed.len(),
        expected,
        "{name}: a test binary did not run:\n{out}"
    );
    assert!(
        passed[0].contains("ok. 6 passed") && (!preview || passed[1].contains("ok. 4 passed")),
        "{name}: not every behaviour test ran:\n{out}"
    );
}
