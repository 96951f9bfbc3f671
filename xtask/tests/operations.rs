//! Every operation of the upstream spec generates, and all of them together
//! build without a warning.
//!
//! 1. `every_operation_generates_alone`: each operation of the upstream
//!    file is extracted alone (`cargo xtask regen --ops <op> --spec-dir`)
//!    and run through the generator (`cargo xtask codegen --spec`), which
//!    must succeed, and use none of the crates the crate does not depend on
//!    (`chrono`, `uuid`).
//! 2. `all_operations_build_without_warnings`: all operations are extracted
//!    into one fragment and a copy of the crate (build.rs, codegen/, src/
//!    without src/bin, the manifest without xtask and the `streams` binary,
//!    Cargo.lock) is built against it in `target/operations/`, into
//!    `target/crate-copies`; the build must succeed and print no warning. The
//!    generated file is some 290,000 lines.
//!
//! Measured on the 2-core machine with the 2025-10-22 spec (462
//! operations): the first test alone takes 1 minute; the second, 3.5
//! minutes when only the crate is rebuilt (the target directory is kept
//! between runs) and about 5 from a cold target directory; both together
//! (cargo runs them side by side), cold, 9 minutes. The 2026-08-21 release
//! (540 operations) took 4 and 7.5 minutes side by side with warm
//! dependencies.
//!
//! The upstream file is `../shared/upstream/atlas-admin-v2-2025-10-22.yaml`
//! beside the repository (as in CI), or the file named by the environment
//! variable `ATLAS_UPSTREAM_SPEC` (to try another release by hand). Without
//! it the tests are skipped with a note, except under CI (`CI` set), where
//! they fail.
//!
//! Slow, so ignored by default:
//! `cargo test -p xtask --test operations -- --ignored` (CI runs it).

// A test crate: an unwrap that fails is a failed test (Cargo.toml).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use support::pointer::METHODS;
use support::{CrateCopy, repo_root};

/// The upstream spec as JSON (parsed once per test; YAML takes a while) in
/// `work`, and its operations, or `None` (after a note) when there is no
/// upstream file outside CI.
fn upstream(work: &Path) -> Option<(PathBuf, Vec<String>)> {
    let path = match std::env::var_os("ATLAS_UPSTREAM_SPEC") {
        Some(path) => PathBuf::from(path),
        None => repo_root().join(support::UPSTREAM),
    };
    let path = support::required_in_ci(path, "skipped (set ATLAS_UPSTREAM_SPEC to another file)")?;
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&text).expect("the upstream file is YAML or JSON");
    let mut operations = Vec::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for method in METHODS {
            if let Some(id) = item.get(method).and_then(|op| op["operationId"].as_str()) {
                operations.push(id.to_owned());
            }
        }
    }
    assert!(
        !operations.is_empty(),
        "{} has no operations",
        path.display()
    );
    if std::fs::exists(work).unwrap() {
        std::fs::remove_dir_all(work).unwrap();
    }
    std::fs::create_dir_all(work).unwrap();
    let json = work.join("upstream.json");
    std::fs::write(&json, serde_json::to_string(&doc).unwrap()).unwrap();
    Some((json, operations))
}

/// Runs the xtask binary; `Err(stderr)` when it fails.
fn xtask(args: &[&str]) -> Result<Vec<u8>, String> {
    let output = support::xtask(args);
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// `cargo xtask regen` of `operations` from `spec` into `dir`.
fn extract(spec: &Path, operations: &[String], dir: &Path) -> Result<(), String> {
    xtask(&[
        "regen",
        "--from",
        spec.to_str().unwrap(),
        "--ops",
        &operations.join(","),
        "--spec-dir",
        dir.to_str().unwrap(),
    ])
    .map(drop)
}

/// Extracts `op` alone and generates its client: the first error, if any.
fn generate_alone(spec: &Path, op: &str, work: &Path) -> Result<(), String> {
    let dir = work.join("ops").join(op);
    extract(spec, &[op.to_owned()], &dir).map_err(|e| format!("regen: {e}"))?;
    let code = xtask(&[
        "codegen",
        "--spec",
        dir.join("openapi.json").to_str().unwrap(),
    ])?;
    let code = String::from_utf8(code).map_err(|e| format!("generated non-UTF-8: {e}"))?;
    for foreign in ["::chrono::", "::uuid::"] {
        if code.contains(foreign) {
            return Err(format!(
                "the generated code uses `{foreign}`, which the crate does not depend on"
            ));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    Ok(())
}

#[test]
#[ignore = "slow: generates every upstream operation alone; run with --ignored"]
fn every_operation_generates_alone() {
    let work = repo_root().join("target/operations/alone");
    let Some((spec, operations)) = upstream(&work) else {
        return;
    };
    let started = Instant::now();
    // Two workers: the machines this runs on have two cores.
    let halves: Vec<Vec<String>> = [0, 1]
        .iter()
        .map(|parity| {
            operations
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == *parity)
                .map(|(_, op)| op.clone())
                .collect()
        })
        .collect();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = halves
            .iter()
            .map(|ops| {
                let (spec, work) = (&spec, &work);
                scope.spawn(move || {
                    ops.iter()
                        .filter_map(|op| {
                            generate_alone(spec, op, work)
                                .err()
                                .map(|e| format!("{op}: {e}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    eprintln!(
        "generated {} operations alone in {:.0?}",
        operations.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} operations do not generate alone:\n{}",
        failures.len(),
        operations.len(),
        failures.join("\n")
    );
}

#[test]
#[ignore = "slow: builds the crate against every upstream operation; run with --ignored"]
fn all_operations_build_without_warnings() {
    let root = repo_root();
    let work = root.join("target/operations/all");
    let Some((spec, operations)) = upstream(&work) else {
        return;
    };
    // The `streams` command is an application of the library, not under test.
    let copy = CrateCopy::new("operations", false);
    if let Err(e) = extract(&spec, &operations, &copy.dir.join("spec")) {
        panic!("regen refuses the {} operations: {e}", operations.len());
    }
    let started = Instant::now();
    copy.build_warning_free(
        &["build", "--lib"],
        &format!("all {} operations", operations.len()),
    );
    eprintln!(
        "built the crate for {} operations in {:.0?}",
        operations.len(),
        started.elapsed()
    );
}
