//! Repository automation, run as `cargo xtask <command>` (the alias lives in
//! `.cargo/config.toml`).
//!
//! Every command that writes has a `--check` mode that writes nothing and fails
//! when the tree is not what the command would make, naming the command that
//! fixes it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[path = "../../build/codegen/mod.rs"]
mod codegen;
mod extract;
mod provenance;
#[cfg(test)]
mod tests;

const HELP: &str = "\
cargo xtask <command> [options]

Commands:
  regen --from <spec.yaml|spec.json> [--ops a,b,c] [--check]
        Extract the operations listed in spec/operations (or given by --ops)
        and every component they reach by $ref, verbatim, from a full upstream
        Atlas Admin API v2 spec into spec/openapi.json, with provenance in
        spec/provenance.json. --check writes nothing and fails when spec/
        differs from what the source gives.
  codegen [--spec <openapi.json>]
        Run build.rs's generator on a spec fragment (default spec/openapi.json)
        and print the Rust it generates, or the error the build would give.
  help  Print this text.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(())
        }
        Some("regen") => RegenArgs::parse(&args[1..]).and_then(|a| regen(&a)),
        Some("codegen") => codegen_command(&args[1..]),
        Some(other) => Err(format!("unknown command `{other}`; run `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The crate name build.rs generates for; `x-rust-type` paths use it.
const CRATE_NAME: &str = "atlas-stream-connections";
const INNER_TYPE: &str = "crate::hooks::ClientState";

fn generate(spec_text: &str) -> Result<String, codegen::Error> {
    codegen::generate(
        spec_text,
        &codegen::Config {
            crate_name: CRATE_NAME,
            inner_type: INNER_TYPE,
        },
    )
}

fn codegen_command(args: &[String]) -> Result<(), String> {
    let spec = match args {
        [] => repo_root().join("spec/openapi.json"),
        [flag, path] if flag == "--spec" => PathBuf::from(path),
        _ => return Err("usage: cargo xtask codegen [--spec <openapi.json>]".into()),
    };
    let text = std::fs::read_to_string(&spec)
        .map_err(|e| format!("cannot read {}: {e}", spec.display()))?;
    let code = generate(&text).map_err(|e| format!("{} {e}", spec.display()))?;
    print!("{code}");
    Ok(())
}

struct RegenArgs {
    from: PathBuf,
    ops: Option<Vec<String>>,
    check: bool,
}

impl RegenArgs {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut from = None;
        let mut ops = None;
        let mut check = false;
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--from" => {
                    from = Some(PathBuf::from(it.next().ok_or("--from needs a path")?));
                }
                "--ops" => {
                    let list = it.next().ok_or("--ops needs a comma-separated list")?;
                    ops = Some(
                        list.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect(),
                    );
                }
                "--check" => check = true,
                other => {
                    return Err(format!(
                        "regen: unknown option `{other}`; run `cargo xtask help`"
                    ));
                }
            }
        }
        let from = from.ok_or("regen needs --from <upstream spec>; run `cargo xtask help`")?;
        Ok(Self { from, ops, check })
    }
}

/// The repository root: xtask lives one level below it.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn regen(args: &RegenArgs) -> Result<(), String> {
    let spec_dir = repo_root().join("spec");
    let selection_file = spec_dir.join("operations");
    let operations = match &args.ops {
        Some(ops) => ops.clone(),
        None => extract::read_selection(&selection_file)?,
    };
    if operations.is_empty() {
        return Err(format!(
            "no operations selected: {} lists none",
            selection_file.display()
        ));
    }

    let bytes = std::fs::read(&args.from)
        .map_err(|e| format!("cannot read {}: {e}", args.from.display()))?;
    let source = extract::parse_document(&bytes, &args.from)?;
    let fragment = extract::extract(&source, &operations)
        .map_err(|e| format!("{}: {e}", args.from.display()))?;
    let provenance = provenance::Provenance::describe(&args.from, &bytes, &source, &operations);

    let files = [
        ("openapi.json", extract::to_pretty_json(&fragment)),
        (
            "provenance.json",
            extract::to_pretty_json(&provenance.to_json()),
        ),
        ("operations", extract::selection_text(&operations)),
    ];

    let fix = format!(
        "cargo xtask regen --from {}{}",
        args.from.display(),
        args.ops
            .as_ref()
            .map(|o| format!(" --ops {}", o.join(",")))
            .unwrap_or_default()
    );
    if args.check {
        let mut stale = Vec::new();
        for (name, text) in &files {
            let path = spec_dir.join(name);
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            let same = if *name == "provenance.json" {
                provenance::same_ignoring_date(&current, text)
            } else {
                current == *text
            };
            if !same {
                stale.push(format!("spec/{name}"));
            }
        }
        if stale.is_empty() {
            println!("spec/ is up to date with {}", args.from.display());
            return Ok(());
        }
        return Err(format!(
            "{} differ from what {} gives; run `{fix}`",
            stale.join(", "),
            args.from.display()
        ));
    }

    write_all_or_nothing(&spec_dir, &files)?;
    let schemas = fragment
        .pointer("/components/schemas")
        .and_then(|v| v.as_object())
        .map_or(0, |m| m.len());
    println!(
        "wrote spec/openapi.json ({} operation(s), {schemas} schema(s)) and spec/provenance.json",
        operations.len()
    );
    Ok(())
}

/// Writes every file to a temporary sibling first and renames only when all
/// of them were written, so a failure leaves `spec/` as it was.
fn write_all_or_nothing(dir: &Path, files: &[(&str, String)]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut staged = Vec::new();
    for (name, text) in files {
        let tmp = dir.join(format!(".{name}.tmp"));
        if let Err(e) = std::fs::write(&tmp, text) {
            for (t, _) in &staged {
                let _ = std::fs::remove_file(t);
            }
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("cannot write {}: {e}", tmp.display()));
        }
        staged.push((tmp, dir.join(name)));
    }
    for (tmp, dest) in &staged {
        std::fs::rename(tmp, dest)
            .map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), dest.display()))?;
    }
    Ok(())
}
