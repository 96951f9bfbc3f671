//! Snapshot of the generated code: `cargo xtask codegen` on spec/openapi.json
//! must print `xtask/snapshots/atlas_client.rs` exactly, so that every change
//! to the generator or to the spec shows up in review as a diff of the Rust it
//! generates.
//!
//! When the change is intended, accept the new output with
//! `SNAPSHOTS=overwrite cargo test -p xtask --test snapshot` and commit the
//! file. (The snapshot is not compiled: cargo builds no `.rs` file outside
//! `src/`, `tests/`, `examples/` and `benches/`.)

// A test crate: an unwrap that fails is a failed test (Cargo.toml).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use support::repo_root;

/// The command that accepts the generator's current output.
const ACCEPT: &str = "SNAPSHOTS=overwrite cargo test -p xtask --test snapshot";
/// Lines of unchanged context around the first difference.
const CONTEXT: usize = 3;
/// Most lines shown of each side of the first difference.
const MAX_SIDE: usize = 30;

fn snapshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/atlas_client.rs")
}

/// Whether `SNAPSHOTS=overwrite` is set; any other value is a mistake.
fn overwrite() -> bool {
    match std::env::var("SNAPSHOTS") {
        Ok(v) if v == "overwrite" => true,
        Ok(v) => panic!("SNAPSHOTS={v:?}: the only value is `overwrite` (`{ACCEPT}`)"),
        Err(_) => false,
    }
}

#[test]
fn generated_code_matches_the_snapshot() {
    let spec = repo_root().join("spec/openapi.json");
    let output = support::xtask([
        std::ffi::OsStr::new("codegen"),
        "--spec".as_ref(),
        spec.as_os_str(),
    ]);
    assert!(
        output.status.success(),
        "`cargo xtask codegen --spec {}` failed: {}",
        spec.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let actual = String::from_utf8(output.stdout).expect("the generated code is not UTF-8");
    let path = snapshot_path();

    if overwrite() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e}; create it with `{ACCEPT}`",
                path.display()
            )
        })
        // A checkout that turned line endings into CRLF changed nothing.
        .replace("\r\n", "\n");
    if let Some(diff) = first_difference(&expected, &actual) {
        panic!(
            "the generated code differs from the snapshot {}:\n{diff}\n\
             If the change is intended, accept it with `{ACCEPT}` and commit the file.",
            path.display()
        );
    }
}

/// A unified-style hunk for the first place where `old` and `new` differ
/// (at most [`MAX_SIDE`] lines of each side), or `None` when they are equal.
fn first_difference(old: &str, new: &str) -> Option<String> {
    if old == new {
        return None;
    }
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let p = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if p == a.len() && p == b.len() {
        return Some(format!(
            "same lines, but the snapshot {} a final newline and the output {}",
            if old.ends_with('\n') { "has" } else { "lacks" },
            if new.ends_with('\n') { "has" } else { "lacks" },
        ));
    }
    let (i, j) = resync(&a, &b, p);
    let start = p.saturating_sub(CONTEXT);
    let after = CONTEXT.min(a.len() - i).min(b.len() - j);
    let mut out = vec![
        "--- snapshot".to_string(),
        "+++ generated".to_string(),
        format!(
            "@@ -{},{} +{},{} @@",
            start + 1,
            i + after - start,
            start + 1,
            j + after - start
        ),
    ];
    out.extend(a[start..p].iter().map(|l| format!(" {l}")));
    for (sign, side) in [('-', &a[p..i]), ('+', &b[p..j])] {
        out.extend(side.iter().take(MAX_SIDE).map(|l| format!("{sign}{l}")));
        if side.len() > MAX_SIDE {
            out.push(format!(
                "{sign}... and {} more lines",
                side.len() - MAX_SIDE
            ));
        }
    }
    out.extend(a[i..i + after].iter().map(|l| format!(" {l}")));
    if a[i..] != b[j..] {
        out.push(format!(
            "(more differences after line {} of the snapshot)",
            i + after
        ));
    }
    Some(out.join("\n"))
}

/// The nearest lines `(i, j)` after the first difference at `p` where the
/// two sides agree again for [`CONTEXT`] lines (or both end).
fn resync(a: &[&str], b: &[&str], p: usize) -> (usize, usize) {
    let agree = |i: usize, j: usize| (0..CONTEXT).all(|t| a.get(i + t) == b.get(j + t));
    let most = (a.len() - p) + (b.len() - p);
    for d in 1..=most {
        for x in 0..=d {
            let (i, j) = (p + x, p + d - x);
            if i <= a.len() && j <= b.len() && agree(i, j) {
                return (i, j);
            }
        }
    }
    (a.len(), b.len())
}

#[test]
fn the_first_difference_is_shown_with_context_and_the_rest_is_mentioned() {
    let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n";
    let new = "a\nb\nc\nd\nE\nE2\nf\ng\nh\ni\nj\nK\nl\nm\n";
    assert_eq!(
        first_difference(old, new).unwrap(),
        "--- snapshot\n+++ generated\n@@ -2,7 +2,8 @@\n b\n c\n d\n-e\n+E\n+E2\n f\n g\n h\n\
         (more differences after line 8 of the snapshot)"
    );
    assert_eq!(first_difference(old, old), None);
}

#[test]
fn additions_at_the_end_and_a_missing_final_newline_are_shown() {
    assert_eq!(
        first_difference("a\nb\n", "a\nb\nc\n").unwrap(),
        "--- snapshot\n+++ generated\n@@ -1,2 +1,3 @@\n a\n b\n+c"
    );
    assert_eq!(
        first_difference("a\nb", "a\nb\n").unwrap(),
        "same lines, but the snapshot lacks a final newline and the output has"
    );
}

#[test]
fn long_changes_are_cut() {
    let old: String = (0..100).map(|i| format!("{i}\n")).collect();
    let new: String = (0..100).map(|i| format!("x{i}\n")).collect();
    let diff = first_difference(&old, &new).unwrap();
    assert!(
        diff.contains("\n-29\n-... and 70 more lines\n+x0\n"),
        "{diff}"
    );
    assert!(diff.ends_with("+... and 70 more lines"), "{diff}");
}
