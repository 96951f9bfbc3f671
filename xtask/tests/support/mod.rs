//! What xtask's test binaries share: the repository, the xtask binary, the
//! vendored and the upstream spec, JSON pointers (the generator's own
//! helpers), and copies of the crate built against another spec (the slow
//! tests `evolution`, `corpus` and `operations`).

#![allow(dead_code, reason = "each test binary uses a part")]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The generator's JSON pointer helpers, the same code xtask and build.rs
/// compile.
#[path = "../../../codegen/pointer.rs"]
pub mod pointer;

/// The upstream spec, beside the repository (as in CI).
pub const UPSTREAM: &str = "../shared/upstream/atlas-admin-v2-2025-10-22.yaml";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the repository")
        .to_path_buf()
}

/// Runs the xtask binary with `args`.
pub fn xtask<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("cannot run the xtask binary")
}

/// The operations `spec/operations` lists: one a line, `#` comments.
pub fn crate_operations(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join("spec/operations"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// spec/openapi.json, parsed.
pub fn vendored_spec() -> Value {
    let text = std::fs::read_to_string(repo_root().join("spec/openapi.json")).unwrap();
    serde_json::from_str(&text).expect("spec/openapi.json is JSON")
}

/// `path`, when it exists. Without it: a failure under CI (`CI` set), where
/// a test must not silently do less; elsewhere `None`, after a note that
/// ends with `otherwise` (what the test does instead).
pub fn required_in_ci(path: PathBuf, otherwise: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing in CI",
        path.display()
    );
    eprintln!("note: {} not found; {otherwise}", path.display());
    None
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the crate (build.rs, the generator, the handwritten layer and
/// its lock file) in `target/<name>/crate`, in a workspace of its own. Every
/// copy builds into `target/crate-copies`: the copies share their compiled
/// dependencies (the slow tests run one after another), and the main
/// build's fingerprints stay untouched. Its `spec/` is empty until a test
/// writes one.
pub struct CrateCopy {
    pub root: PathBuf,
    pub dir: PathBuf,
    target: PathBuf,
}

impl CrateCopy {
    /// `with_bin`: keep the `streams` command (`src/bin`), which is written
    /// against the spec's real types; a spec evolved on purpose (a removed
    /// field) cannot build it.
    pub fn new(name: &str, with_bin: bool) -> Self {
        let root = repo_root();
        let base = root.join("target").join(name);
        let dir = base.join("crate");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        for sub in ["codegen", "src"] {
            copy_dir(&root.join(sub), &dir.join(sub));
        }
        for file in ["build.rs", "Cargo.lock"] {
            std::fs::copy(root.join(file), dir.join(file)).unwrap();
        }
        let mut manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("members = [\"xtask\", \"bench\"]"),
            "the root manifest changed shape"
        );
        if !with_bin {
            std::fs::remove_dir_all(dir.join("src/bin")).unwrap();
            let bin = manifest
                .find("[[bin]]")
                .expect("the root manifest declares the streams binary");
            let bin_end = manifest[bin..]
                .find("\n\n")
                .map_or(manifest.len(), |end| bin + end + 2);
            manifest = format!("{}{}", &manifest[..bin], &manifest[bin_end..]);
        }
        std::fs::write(
            dir.join("Cargo.toml"),
            manifest.replace("members = [\"xtask\", \"bench\"]", "members = []"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("spec")).unwrap();
        std::fs::create_dir_all(dir.join("tests/support")).unwrap();
        std::fs::copy(
            root.join("tests/support/mod.rs"),
            dir.join("tests/support/mod.rs"),
        )
        .unwrap();
        Self {
            target: root.join("target/crate-copies"),
            root,
            dir,
        }
    }

    /// Puts `file` (a path in the repository) into the copy at `to`.
    pub fn add(&self, file: &Path, to: &str) {
        let to = self.dir.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(self.root.join(file), to).unwrap();
    }

    /// Runs cargo on the copy: `(success, stdout and stderr)`.
    pub fn cargo(&self, args: &[&str]) -> (bool, String) {
        self.cargo_with_env(args, &[])
    }

    /// [`Self::cargo`], with `env` set for cargo and what it runs.
    pub fn cargo_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(cargo)
            .args(args)
            .envs(env.iter().copied())
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target)
            .env_remove("RUSTFLAGS")
            .output()
            .expect("cargo runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }

    /// Builds with `args` (`build ...`) and fails the test on an error or a
    /// warning, naming `what` was built.
    pub fn build_warning_free(&self, args: &[&str], what: &str) {
        let mut all = args.to_vec();
        all.push("--message-format=short");
        let (ok, out) = self.cargo(&all);
        assert!(ok, "{what}: the crate does not build:\n{out}");
        let warnings: Vec<&str> = out.lines().filter(|l| l.contains("warning")).collect();
        assert!(
            warnings.is_empty(),
            "{what}: the build warns:\n{}",
            warnings.join("\n")
        );
    }
}
