//! The README's promise to a new user, kept: its first screen gives the two
//! commands for a fresh machine, and its example pastes into a new crate
//! and runs.
//!
//! The README's Rust blocks are also doctests of the crate (`src/lib.rs`,
//! `ReadmeDoctests`), which proves they compile against the API; they do
//! not prove that the `[dependencies]` lines the README gives are enough,
//! since doctests build with the workspace's dev-dependencies. So the slow
//! test here makes a new crate per Rust block in a temporary directory
//! outside the workspace: its `Cargo.toml` is the README's ```` ```toml````
//! block under a `[package]` of its own, the dependency's `path` pointed at
//! this repository, and its `src/main.rs` the block verbatim. The block that
//! doctests run (the embedded local Atlas) must `cargo run` and succeed; the
//! `no_run` one (real Atlas) must build and, with no credential anywhere,
//! fail saying which variables it read.
//!
//! The new crates take the repository's `Cargo.lock` (the versions the
//! workspace is built and tested with, so nothing is fetched: cargo runs
//! `--offline`) and build into one target directory of their own,
//! `<target>/readme-crates`, kept between runs: the first run builds the
//! library and its dependencies once (a few minutes on a 2-core machine),
//! later runs only the examples.
//!
//! Slow, so ignored by default: `cargo test -p xtask --test readme --
//! --ignored` (CI runs it).

// A test crate: an unwrap that fails is a failed test (Cargo.toml).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The commands the README's first screen gives a fresh machine, in order.
const FRESH_MACHINE_COMMANDS: [&str; 2] = [
    "cargo run --features cli --bin streams -- create --kind sample --name sample_stream_solar",
    "cargo test --workspace",
];

/// A fenced block of the README: its info string (`rust,no_run`) and text.
struct Block {
    info: String,
    text: String,
}

/// Every fenced (```` ``` ````) block of `markdown`, in order.
fn fenced_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in markdown.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_owned(),
                    text: String::new(),
                });
            }
            (Some(_), Some(rest)) if rest.trim().is_empty() => {
                blocks.push(open.take().unwrap());
            }
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md has an unclosed fenced block");
    blocks
}

fn readme() -> String {
    std::fs::read_to_string(support::repo_root().join("README.md")).unwrap()
}

/// The README's Rust blocks, with whether rustdoc runs them (not
/// `no_run`).
fn rust_blocks(blocks: &[Block]) -> Vec<(&Block, bool)> {
    blocks
        .iter()
        .filter(|b| b.info.split(',').next() == Some("rust"))
        .map(|b| (b, !b.info.split(',').any(|attr| attr == "no_run")))
        .collect()
}

/// The README's one `toml` block: the `[dependencies]` a new crate adds.
fn dependencies(blocks: &[Block]) -> &str {
    let tomls: Vec<&Block> = blocks.iter().filter(|b| b.info == "toml").collect();
    assert_eq!(tomls.len(), 1, "README.md should have one ```toml block");
    &tomls[0].text
}

#[test]
fn the_first_screen_gives_the_two_commands_for_a_fresh_machine() {
    let readme = readme();
    let blocks = fenced_blocks(&readme);
    let first = blocks.first().expect("README.md has a fenced block");
    assert_eq!(
        first.info, "sh",
        "the README's first block is not the commands"
    );
    let commands: Vec<&str> = first
        .text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .collect();
    assert_eq!(commands, FRESH_MACHINE_COMMANDS);
    // The first screen: no heading before the commands.
    let before = &readme[..readme.find("```sh").unwrap()];
    assert_eq!(
        before.matches("\n#").count(),
        0,
        "a section before the commands"
    );
}

#[test]
fn the_example_is_complete_and_names_what_it_needs() {
    let readme = readme();
    let blocks = fenced_blocks(&readme);
    let rust = rust_blocks(&blocks);
    assert_eq!(
        rust.iter().map(|(_, runs)| *runs).collect::<Vec<_>>(),
        [true, false],
        "README.md should have a Rust example that runs (the local Atlas), then a no_run one"
    );
    for (block, _) in &rust {
        // rustdoc hides `# ` lines, which then would not paste.
        assert!(
            !block.text.lines().any(|l| l == "#" || l.starts_with("# ")),
            "a hidden line in README's {}:\n{}",
            block.info,
            block.text
        );
        assert!(block.text.contains("#[tokio::main]\nasync fn main()"));
    }
    let toml = dependencies(&blocks);
    assert!(toml.starts_with("[dependencies]\n"), "{toml}");
    let tokio = toml
        .lines()
        .find(|l| l.starts_with("tokio "))
        .expect("the README names tokio");
    for feature in ["\"macros\"", "\"rt-multi-thread\""] {
        assert!(tokio.contains(feature), "tokio needs {feature}: {tokio}");
    }
    let local = toml
        .lines()
        .find(|l| l.starts_with("atlas-stream-connections "))
        .expect("the README names the crate");
    assert!(local.contains("\"local-atlas\""), "{local}");
}

/// A new crate named `name`, in a directory of its own under `base`: the
/// README's dependencies (the crate's `path` pointed at this repository)
/// and `main` as `src/main.rs`.
fn new_crate(base: &Path, name: &str, dependencies: &str, main: &str) -> PathBuf {
    let root = support::repo_root();
    let dir = base.join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let path_value = dependencies
        .split("path = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the README's dependency on the crate has a `path`");
    let dependencies = dependencies.replace(
        &format!("path = \"{path_value}\""),
        &format!("path = {:?}", root.display().to_string()),
    );
    // `[workspace]`: a workspace of its own, wherever the temporary
    // directory is.
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
         publish = false\n\n{dependencies}\n[workspace]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), main).unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    dir
}

/// Runs `cargo <args> --offline` in `dir`, building into `target`.
fn cargo(dir: &Path, target: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(args)
        .args(["--offline", "--quiet", "--message-format=short"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Fails on a warning in `output` (of a quiet build: only diagnostics).
fn assert_no_warning(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert!(warnings.is_empty(), "{what} warns:\n{stderr}");
}

/// A directory removed when the test ends, passed or failed.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
#[ignore = "slow: builds the README's examples as new crates; run with --ignored"]
fn the_example_pastes_into_a_new_crate_and_runs() {
    let repo = support::repo_root();
    let temp = TempDir(std::env::temp_dir().join(format!("readme-crates-{}", std::process::id())));
    assert!(
        !temp.0.starts_with(&repo),
        "the new crates must be outside the repository"
    );
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("readme-crates");
    let readme = readme();
    let blocks = fenced_blocks(&readme);
    let dependencies = dependencies(&blocks);
    let rust = rust_blocks(&blocks);
    let [(local, true), (atlas, false)] = rust[..] else {
        panic!("README.md should have a Rust example that runs, then a no_run one");
    };

    // Without an Atlas account: the embedded local Atlas, end to end.
    let dir = new_crate(&temp.0, "readme-local-atlas", dependencies, &local.text);
    let run = cargo(&dir, &target, &["run"]);
    let out = text(&run);
    assert!(
        run.status.success(),
        "the local Atlas example fails:\n{out}"
    );
    assert_no_warning(&run, "the local Atlas example");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("created a Sample connection\n")
            && stdout.contains("stored `sample_stream_solar` in instance my-instance")
            && stdout.contains("first apply: created events\n")
            && stdout.contains("first apply: unchanged sample_stream_solar\n")
            && stdout.contains("second apply: unchanged events\n")
            && stdout.contains("events is Some(Ready)\n")
            && stdout.contains("listed events\n")
            && stdout.contains("deleted events\n"),
        "the local Atlas example printed:\n{out}"
    );

    // Against Atlas: it builds, and with no credential in the environment
    // nor an Atlas CLI profile, says what it looked for.
    let dir = new_crate(&temp.0, "readme-atlas", dependencies, &atlas.text);
    let build = cargo(&dir, &target, &["build"]);
    assert!(
        build.status.success(),
        "the Atlas example does not build:\n{}",
        text(&build)
    );
    assert_no_warning(&build, "the Atlas example");
    let home = temp.0.join("empty-home");
    std::fs::create_dir_all(&home).unwrap();
    // The binary itself, not `cargo run`: cargo and rustup find their own
    // homes through `HOME`, which here points to an empty directory so that
    // no Atlas CLI profile is found.
    let run = Command::new(target.join("debug/readme-atlas"))
        .env_clear()
        .env("HOME", &home)
        .output()
        .expect("the Atlas example's binary runs");
    let out = text(&run);
    assert!(
        !run.status.success(),
        "it succeeded without credentials:\n{out}"
    );
    for expected in [
        "no credentials in the environment",
        "MONGODB_ATLAS_CLIENT_ID",
        "atlas auth login",
    ] {
        assert!(out.contains(expected), "no `{expected}` in:\n{out}");
    }
}
