//! Generates the Atlas API client from the vendored spec fragment.
//!
//! Input: `spec/openapi.json` (written by `cargo xtask regen`, never by hand).
//! Output: `$OUT_DIR/atlas_client.rs`, included by `src/generated.rs`.
//! The generator itself lives in `codegen/` so that `xtask` can test it.

use std::process::ExitCode;

#[path = "codegen/mod.rs"]
mod codegen;

const SPEC: &str = "spec/openapi.json";
const OUTPUT: &str = "atlas_client.rs";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=codegen");
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let spec = std::fs::read_to_string(SPEC).map_err(|e| {
        format!(
            "cannot read {SPEC}: {e}; run `cargo xtask regen --from <upstream spec>` to create it"
        )
    })?;
    let crate_name = std::env::var("CARGO_PKG_NAME").map_err(|e| format!("CARGO_PKG_NAME: {e}"))?;
    let config = codegen::Config {
        crate_name: &crate_name,
        inner_type: codegen::INNER_TYPE,
    };
    let code = codegen::generate(&spec, &config).map_err(|e| format!("{SPEC} {e}"))?;
    let out_dir = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set (run through cargo)")?;
    let out = std::path::Path::new(&out_dir).join(OUTPUT);
    std::fs::write(&out, code).map_err(|e| format!("cannot write {}: {e}", out.display()))
}
