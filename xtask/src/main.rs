//! Repository automation, run as `cargo xtask <command>` (the alias lives in
//! `.cargo/config.toml`).
//!
//! Every command that writes has a `--check` mode that writes nothing and fails
//! when the tree is not what the command would make, naming the command that
//! fixes it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod api_diff;
#[path = "../../codegen/mod.rs"]
mod codegen;
mod diff;
mod extract;
mod fetch;
mod provenance;
mod source;
#[cfg(test)]
mod tests;

use source::Source;

const HELP: &str = "\
cargo xtask <command> [options]

Commands:
  regen --from <file|https://url> [--ops a,b,c] [--check] [--spec-dir <dir>]
        Extract the operations listed in spec/operations (or given by --ops,
        which then replaces that list) and every component they reach by $ref,
        verbatim, from a full upstream Atlas Admin API v2 spec (OpenAPI 3.0.x,
        YAML or JSON) into spec/openapi.json, with provenance (source file
        name or URL, sha256, upstream version) in spec/provenance.json. All
        three files are written, or none.
        --from <file>        a local copy, e.g.
                             ../shared/upstream/atlas-admin-v2-2025-10-22.yaml
        --from <https://url> download it first, e.g. https://raw.githubusercontent.com/
                             mongodb/openapi/<commit>/openapi/v2.yaml (connect
                             timeout 10 s, total 120 s, at most 64 MiB, non-2xx
                             refused; plain http:// only to 127.0.0.1/localhost)
        --check  write nothing; when spec/ differs from what the source gives,
                 print what differs (operations and schemas added or removed;
                 per schema, properties and discriminator kinds added or
                 removed; a count of other changed schemas; or, when only
                 spec/provenance.json differs, which of its fields did) and the
                 command that fixes it, and exit 1. The extraction date is not
                 compared.
        --spec-dir <dir>  work on <dir> instead of the repository's spec/
                 (a new directory needs --ops).
        When spec/openapi.json was there and changes, regen and --check also
        print what the change does to the Rust API of the generated code,
        as api-diff does.
  api-diff --old <openapi.json> --new <openapi.json>
        Run the generator on both specs and print what changes in the public
        Rust API of the generated code (types::*, the client's methods; the
        OPERATION_VERSIONS table as data): each change marked breaking or
        additive by Cargo's SemVer rules (a removed or changed item, a new
        variant in an exhaustive enum, a new field in a struct whose fields
        are all pub: breaking; a new item, a new variant in a
        #[non_exhaustive] enum: additive), and the release it needs.
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
        Some("regen") => RegenArgs::parse(&args[1..]).and_then(|a| {
            let spec_dir = a
                .spec_dir
                .clone()
                .unwrap_or_else(|| repo_root().join("spec"));
            let (outcome, specs) = regen_compared(&spec_dir, &a)?;
            let printed = outcome.print(&a);
            // After the spec-level summary: to stdout after what was
            // written, to stderr with the summary of a stale spec/.
            for line in specs.map_or_else(Vec::new, |(old, new)| api_diff::report_specs(&old, &new))
            {
                if printed.is_ok() {
                    println!("  {line}");
                } else {
                    eprintln!("  {line}");
                }
            }
            printed
        }),
        Some("codegen") => codegen_command(&args[1..]),
        Some("api-diff") => api_diff::command(&args[1..]),
        Some(other) => Err(format!("unknown command `{other}`; run `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // One line, whatever a library put into the message.
            eprintln!("error: {}", one_line(&message));
            ExitCode::FAILURE
        }
    }
}

/// `text` on one line: every run of whitespace, line breaks included, as
/// one space (errors from libraries may span lines; ours are one line).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The crate name build.rs generates for; `x-rust-type` paths use it.
const CRATE_NAME: &str = "atlas-stream-connections";

fn generate(spec_text: &str) -> Result<String, codegen::Error> {
    codegen::generate(
        spec_text,
        &codegen::Config {
            crate_name: CRATE_NAME,
            inner_type: codegen::INNER_TYPE,
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
    from: Source,
    ops: Option<Vec<String>>,
    check: bool,
    /// Where the fragment goes instead of the repository's `spec/`.
    spec_dir: Option<PathBuf>,
}

impl RegenArgs {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut from = None;
        let mut ops = None;
        let mut check = false;
        let mut spec_dir = None;
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--from" => {
                    let value = it
                        .next()
                        .ok_or("--from needs a file path or an https:// URL")?;
                    from = Some(Source::parse(value)?);
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
                "--spec-dir" => {
                    let dir = it.next().ok_or("--spec-dir needs a directory")?;
                    spec_dir = Some(PathBuf::from(dir));
                }
                other => {
                    return Err(format!(
                        "regen: unknown option `{other}`; run `cargo xtask help`"
                    ));
                }
            }
        }
        let from = from.ok_or("regen needs --from <file|https://url>; run `cargo xtask help`")?;
        Ok(Self {
            from,
            ops,
            check,
            spec_dir,
        })
    }

    /// The command that brings `spec/` in line with the source.
    fn fix(&self) -> String {
        format!(
            "cargo xtask regen --from {}{}{}",
            self.from.as_argument(),
            self.ops
                .as_ref()
                .map(|o| format!(" --ops {}", o.join(",")))
                .unwrap_or_default(),
            self.spec_dir
                .as_ref()
                .map(|d| format!(" --spec-dir {}", d.display()))
                .unwrap_or_default()
        )
    }
}

/// The repository root: xtask lives one level below it.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// What `regen` did or found.
#[derive(Debug, PartialEq)]
enum Outcome {
    Wrote {
        operations: usize,
        schemas: usize,
    },
    /// Not `--check`, but nothing to write (the extraction date is kept).
    AlreadyCurrent,
    /// `--check` and nothing differs.
    UpToDate,
    /// `--check` and something differs: the summary's lines.
    Stale(Vec<String>),
}

impl Outcome {
    fn print(&self, args: &RegenArgs) -> Result<(), String> {
        match self {
            Self::Wrote {
                operations,
                schemas,
            } => println!(
                "wrote spec/openapi.json ({operations} operation(s), {schemas} schema(s)) and spec/provenance.json from {}",
                args.from
            ),
            Self::AlreadyCurrent => println!("spec/ is already what {} gives", args.from),
            Self::UpToDate => println!("spec/ is up to date with {}", args.from),
            Self::Stale(lines) => {
                eprintln!("spec/ differs from what {} gives:", args.from);
                for line in lines {
                    eprintln!("{line}");
                }
                return Err(format!("spec/ is stale; run `{}`", args.fix()));
            }
        }
        Ok(())
    }
}

const FILE_NAMES: [&str; 3] = ["openapi.json", "provenance.json", "operations"];

/// What [`regen_compared`] did or found, without the specs it compared.
#[cfg(test)]
fn regen_in(spec_dir: &Path, args: &RegenArgs) -> Result<Outcome, String> {
    regen_compared(spec_dir, args).map(|(outcome, _)| outcome)
}

/// `regen` with `spec_dir` in place of `spec/`. Errors are one line and
/// start with the source when they are about it. With the outcome, the text
/// of the vendored spec/openapi.json and of the new one when both exist and
/// differ, for the Rust API report.
fn regen_compared(
    spec_dir: &Path,
    args: &RegenArgs,
) -> Result<(Outcome, Option<(String, String)>), String> {
    let operations = selected_operations(spec_dir, args)?;
    let (fragment, mut files) = extracted_files(&args.from, &operations)?;
    let current = FILE_NAMES.map(|name| std::fs::read_to_string(spec_dir.join(name)).ok());
    // The same extraction on another day keeps its date.
    if let Some(old) = &current[1]
        && provenance::same_ignoring_date(old, &files[1])
    {
        files[1] = old.clone();
    }

    let summary = diff::report(
        &spec_files(current.each_ref().map(Option::as_deref)),
        &spec_files(files.each_ref().map(|f| Some(f.as_str()))),
    );
    let specs = current[0]
        .as_ref()
        .filter(|old| **old != files[0])
        .map(|old| (old.clone(), files[0].clone()));
    if args.check {
        return Ok((summary.map_or(Outcome::UpToDate, Outcome::Stale), specs));
    }
    if summary.is_none()
        && current
            .iter()
            .zip(&files)
            .all(|(c, f)| c.as_ref() == Some(f))
    {
        return Ok((Outcome::AlreadyCurrent, None));
    }

    let named: Vec<(&str, &str)> = FILE_NAMES
        .iter()
        .copied()
        .zip(files.iter().map(String::as_str))
        .collect();
    write_all_or_nothing(spec_dir, &named)?;
    let schemas = fragment
        .pointer(codegen::pointer::SCHEMAS)
        .and_then(|v| v.as_object())
        .map_or(0, |m| m.len());
    Ok((
        Outcome::Wrote {
            operations: operations.len(),
            schemas,
        },
        specs,
    ))
}

/// The operations `--ops` names, or else those `spec_dir/operations` lists;
/// none is an error.
fn selected_operations(spec_dir: &Path, args: &RegenArgs) -> Result<Vec<String>, String> {
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
    Ok(operations)
}

/// The fragment of `operations` that `source` gives, and the text of the
/// files it makes, in the order of [`FILE_NAMES`].
fn extracted_files(
    source: &Source,
    operations: &[String],
) -> Result<(serde_json::Value, [String; 3]), String> {
    let bytes = source.load()?;
    let document = extract::parse_document(&bytes).map_err(|e| format!("{source}: {e}"))?;
    let fragment = extract::extract(&document, operations).map_err(|e| format!("{source}: {e}"))?;
    let provenance = provenance::Provenance::describe(source, &bytes, &document, operations);
    let files = [
        extract::to_pretty_json(&fragment),
        extract::to_pretty_json(&provenance.to_json()),
        extract::selection_text(operations),
    ];
    Ok((fragment, files))
}

/// The files of `spec/`, given in the order of [`FILE_NAMES`].
fn spec_files([openapi, provenance, operations]: [Option<&str>; 3]) -> diff::Files<'_> {
    diff::Files {
        openapi,
        provenance,
        operations,
    }
}

/// Writes every file to a temporary sibling first, then moves them into
/// place; if any step fails, the files already replaced are restored from
/// backups, so a failure leaves `dir` as it was.
fn write_all_or_nothing(dir: &Path, files: &[(&str, &str)]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let staged = stage(dir, files)?;
    // (destination, its backup if it existed) for every file moved so far.
    let mut done: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    for (tmp, dest) in &staged {
        match move_into_place(tmp, dest) {
            Ok(backup) => done.push((dest.clone(), backup)),
            Err(error) => {
                for (dest, backup) in done.iter().rev() {
                    let _ = match backup {
                        Some(b) => std::fs::rename(b, dest),
                        None => std::fs::remove_file(dest),
                    };
                }
                for (tmp, _) in &staged {
                    let _ = std::fs::remove_file(tmp);
                }
                return Err(error);
            }
        }
    }
    for (_, backup) in done {
        if let Some(b) = backup {
            let _ = std::fs::remove_file(b);
        }
    }
    Ok(())
}

/// Writes each file to `.<name>.tmp` in `dir`: `(temporary, destination)`
/// pairs, or, when one cannot be written, none left behind.
fn stage(dir: &Path, files: &[(&str, &str)]) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
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
    Ok(staged)
}

/// Moves `tmp` to `dest`, first copying an existing `dest` to
/// `.<name>.bak`: the backup's path, if there was one to make.
fn move_into_place(tmp: &Path, dest: &Path) -> Result<Option<PathBuf>, String> {
    let backup = dest.with_file_name(format!(
        ".{}.bak",
        dest.file_name().unwrap_or_default().to_string_lossy()
    ));
    let had = if dest.exists() {
        std::fs::copy(dest, &backup)
            .map_err(|e| format!("cannot back up {}: {e}", dest.display()))?;
        Some(backup)
    } else {
        None
    };
    std::fs::rename(tmp, dest).map_err(|e| {
        if let Some(b) = &had {
            let _ = std::fs::remove_file(b);
        }
        format!("cannot move {} to {}: {e}", tmp.display(), dest.display())
    })?;
    Ok(had)
}
