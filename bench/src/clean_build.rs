//! Clean debug builds, timed: the library alone (`cargo build -p
//! atlas-stream-connections --lib`, what a user's first build of it costs)
//! against a crate that has only the library's reqwest, serde, serde_json
//! and tokio dependencies, with the same versions (the workspace's
//! `Cargo.lock`) and the same features (read from `cargo metadata`, so the
//! baseline follows the library's manifest). Each build gets a fresh target
//! directory, removed afterwards; a compiler wrapper (sccache) is turned
//! off, since a cache would make a clean build nothing of the kind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::BenchError;

/// The library's dependencies the baseline crate has, and nothing else.
pub const BASELINE_DEPENDENCIES: [&str; 4] = ["reqwest", "serde", "serde_json", "tokio"];

/// The library's package name.
const LIBRARY: &str = "atlas-stream-connections";

/// Where the builds happen: the workspace, cargo, and a scratch directory
/// for the baseline crate and the target directories.
pub struct Builds {
    cargo: PathBuf,
    workspace: PathBuf,
    scratch: PathBuf,
}

impl Builds {
    /// Sets up the baseline crate in `scratch` (created; removed on drop)
    /// for the workspace at `workspace`, built with `cargo`.
    pub fn new(cargo: PathBuf, workspace: PathBuf, scratch: PathBuf) -> Result<Self, BenchError> {
        std::fs::create_dir_all(scratch.join("baseline/src"))?;
        let builds = Self {
            cargo,
            workspace,
            scratch,
        };
        let manifest = baseline_manifest(&builds.library_dependencies()?);
        std::fs::write(builds.baseline().join("Cargo.toml"), manifest)?;
        std::fs::write(
            builds.baseline().join("src/lib.rs"),
            "//! The library's HTTP and serde dependencies, and nothing else.\n\
             pub use reqwest;\npub use serde;\npub use serde_json;\npub use tokio;\n",
        )?;
        std::fs::copy(
            builds.workspace.join("Cargo.lock"),
            builds.baseline().join("Cargo.lock"),
        )?;
        // Trims the copied lock file to the baseline's packages now, so that
        // its first timed build resolves nothing.
        builds.run(
            builds
                .cargo()
                .args(["metadata", "--offline", "--format-version", "1"]),
        )?;
        Ok(builds)
    }

    /// The baseline crate's directory.
    pub fn baseline(&self) -> PathBuf {
        self.scratch.join("baseline")
    }

    /// The baseline crate's manifest, as generated.
    pub fn baseline_manifest(&self) -> Result<String, BenchError> {
        Ok(std::fs::read_to_string(self.baseline().join("Cargo.toml"))?)
    }

    /// A clean debug build of the library, timed.
    pub fn library(&self, n: usize) -> Result<Duration, BenchError> {
        let mut command = self.cargo();
        command.current_dir(&self.workspace).args([
            "build",
            "--offline",
            "--package",
            LIBRARY,
            "--lib",
        ]);
        self.clean_build(command, &format!("target-library-{n}"))
    }

    /// A clean debug build of the baseline crate, timed.
    pub fn baseline_crate(&self, n: usize) -> Result<Duration, BenchError> {
        let mut command = self.cargo();
        command
            .current_dir(self.baseline())
            .args(["build", "--offline"]);
        self.clean_build(command, &format!("target-baseline-{n}"))
    }

    /// Runs `command` with a fresh target directory `name`, timed, and
    /// removes the directory.
    fn clean_build(&self, mut command: Command, name: &str) -> Result<Duration, BenchError> {
        let target = self.scratch.join(name);
        remove_dir(&target)?;
        command.env("CARGO_TARGET_DIR", &target);
        let start = Instant::now();
        let ran = self.run(&mut command);
        let took = start.elapsed();
        remove_dir(&target)?;
        ran.map(|_| took)
    }

    /// Cargo, with no compiler wrapper and no inherited target directory.
    fn cargo(&self) -> Command {
        let mut command = Command::new(&self.cargo);
        command
            .current_dir(self.baseline())
            .env("RUSTC_WRAPPER", "")
            .env("CARGO_BUILD_RUSTC_WRAPPER", "")
            .env_remove("CARGO_TARGET_DIR");
        command
    }

    /// Runs `command`; its standard output, or an error with the end of
    /// its standard error.
    fn run(&self, command: &mut Command) -> Result<Vec<u8>, BenchError> {
        let output = command.output()?;
        if output.status.success() {
            return Ok(output.stdout);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!(
            "{command:?} failed ({}):\n{}",
            output.status,
            tail.join("\n")
        )
        .into())
    }

    /// The library's normal dependencies named in
    /// [`BASELINE_DEPENDENCIES`], as `cargo metadata` resolves them
    /// (workspace versions and features merged with the library's own).
    fn library_dependencies(&self) -> Result<Vec<Value>, BenchError> {
        let mut command = self.cargo();
        command.current_dir(&self.workspace).args([
            "metadata",
            "--offline",
            "--no-deps",
            "--format-version",
            "1",
        ]);
        let metadata: Value = serde_json::from_slice(&self.run(&mut command)?)?;
        let library = metadata["packages"]
            .as_array()
            .and_then(|packages| packages.iter().find(|p| p["name"] == LIBRARY))
            .ok_or("cargo metadata does not list the library")?;
        let dependencies: Vec<Value> = library["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null())
            .filter(|d| BASELINE_DEPENDENCIES.iter().any(|name| d["name"] == *name))
            .cloned()
            .collect();
        if dependencies.len() != BASELINE_DEPENDENCIES.len() {
            return Err(format!(
                "the library's normal dependencies should include each of {BASELINE_DEPENDENCIES:?} once"
            )
            .into());
        }
        Ok(dependencies)
    }
}

impl Drop for Builds {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// The baseline crate's manifest: a workspace of its own, and the
/// `dependencies` (entries of `cargo metadata`) with their requirements,
/// default features and features.
fn baseline_manifest(dependencies: &[Value]) -> String {
    let mut manifest = String::from(
        "[package]\nname = \"baseline-dependencies\"\nversion = \"0.0.0\"\n\
         edition = \"2024\"\npublish = false\n\n\
         # Not a member of any workspace above it.\n[workspace]\n\n[dependencies]\n",
    );
    for dependency in dependencies {
        let features: Vec<String> = dependency["features"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|feature| format!("{feature:?}"))
            .collect();
        manifest.push_str(&format!(
            "{} = {{ version = {:?}, default-features = {}, features = [{}] }}\n",
            dependency["name"].as_str().unwrap_or_default(),
            dependency["req"].as_str().unwrap_or("*"),
            dependency["uses_default_features"]
                .as_bool()
                .unwrap_or(true),
            features.join(", "),
        ));
    }
    manifest
}

/// Removes `dir` and everything in it, if it exists.
fn remove_dir(dir: &Path) -> Result<(), BenchError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
