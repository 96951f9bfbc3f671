//! Times the fuzz entry points on an uninstrumented build (stable, release):
//! the "no input slower than 10 ms" check of fuzz/README.md.
//!
//! ```text
//! cargo run --release --no-default-features --bin replay -- \
//!     [--limit-ms 10] [--repeat 5] [--stress BYTES] TARGET PATH...
//! ```
//!
//! Every file under each PATH (a corpus directory, or single inputs) goes
//! through TARGET's entry point `--repeat` times; an input's time is the
//! least of those runs (its own cost, not the machine's noise). With
//! `--stress BYTES`, inputs of that size built to be slow (deep nesting,
//! many keys or parameters, long escaped strings) are timed too. Prints one
//! `replay` line per target and exits 1 when an input took `--limit-ms` or
//! more, or panicked.

#![forbid(unsafe_code)]

use std::io::Write;
use std::panic::catch_unwind;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use atlas_stream_connections::fuzzing::{TARGETS, Target};

fn main() -> ExitCode {
    let args = Args::parse();
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for path in &args.paths {
        collect(path, &mut inputs);
    }
    if let Some(size) = args.stress {
        inputs.extend(stress_inputs(&args.name, size));
    }
    let mut times = Vec::with_capacity(inputs.len());
    for (label, data) in &inputs {
        match time(args.run, data, args.repeat) {
            Some(t) => times.push((t, label.as_str(), data.len())),
            None => {
                eprintln!("replay {}: PANIC on {label}", args.name);
                return ExitCode::FAILURE;
            }
        }
    }
    times.sort_by_key(|&(t, ..)| t);
    report(&args.name, &times, args.limit_ms)
}

/// The command line.
struct Args {
    limit_ms: f64,
    repeat: u32,
    stress: Option<usize>,
    /// The target's name, and its entry point.
    name: String,
    run: Target,
    paths: Vec<PathBuf>,
}

impl Args {
    /// Reads the command line; exits with the usage on a mistake.
    fn parse() -> Self {
        let mut args = std::env::args().skip(1);
        let (mut limit_ms, mut repeat, mut stress) = (10.0_f64, 5_u32, None::<usize>);
        let mut target = None;
        let mut paths = Vec::new();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or_else(|| usage(&format!("{name} takes a number")))
            };
            match arg.as_str() {
                "--limit-ms" => limit_ms = value("--limit-ms"),
                "--repeat" => repeat = value("--repeat").max(1.0) as u32,
                "--stress" => stress = Some(value("--stress") as usize),
                "-h" | "--help" => usage(""),
                _ if target.is_none() => target = Some(arg),
                _ => paths.push(PathBuf::from(arg)),
            }
        }
        let name = target.unwrap_or_else(|| usage("no target"));
        let Some(&(_, run)) = TARGETS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
            usage(&format!(
                "unknown target {name}; targets: {}",
                names.join(" ")
            ))
        };
        Self {
            limit_ms,
            repeat,
            stress,
            name,
            run,
            paths,
        }
    }
}

/// Prints the `replay` lines of `times` (fastest first: time, label, size)
/// and fails when the slowest took `limit_ms` or more.
fn report(name: &str, times: &[(Duration, &str, usize)], limit_ms: f64) -> ExitCode {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let p50 = times.get(times.len() / 2).map_or(0.0, |&(t, ..)| us(t));
    let (max, slowest, size) = times
        .last()
        .map_or((0.0, "-", 0), |&(t, label, size)| (us(t), label, size));
    // A closed pipe (`| head`) is no reason to panic.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "replay {name} inputs={} p50_us={p50:.1} max_us={max:.1} slowest={slowest} slowest_bytes={size}",
        times.len()
    );
    for &(t, label, size) in times.iter().rev().skip(1).take(4) {
        let _ = writeln!(
            out,
            "replay {name}   next: {:.1} us {label} ({size} bytes)",
            us(t)
        );
    }
    if max >= limit_ms * 1000.0 {
        eprintln!("replay {name}: {slowest} took {max:.0} us, over {limit_ms} ms");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("replay: {problem}");
    }
    eprintln!("usage: replay [--limit-ms MS] [--repeat N] [--stress BYTES] TARGET PATH...");
    std::process::exit(2)
}

/// Every file under `path`, read.
fn collect(path: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        entries.sort();
        for entry in entries {
            collect(&entry, out);
        }
    } else if let Ok(data) = std::fs::read(path) {
        out.push((path.display().to_string(), data));
    }
}

/// The least time of `repeat` runs, or `None` if one panicked.
fn time(run: Target, data: &[u8], repeat: u32) -> Option<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..repeat {
        let start = Instant::now();
        catch_unwind(|| run(data)).ok()?;
        best = best.min(start.elapsed());
    }
    Some(best)
}

/// `unit` repeated (its `{i}` numbered) up to `size` bytes between `head`
/// and `tail`.
fn fill(head: &str, unit: &str, tail: &str, size: usize) -> Vec<u8> {
    let mut out = String::with_capacity(size);
    out.push_str(head);
    for i in 0.. {
        let unit = unit.replace("{i}", &i.to_string());
        if unit.is_empty() || out.len() + unit.len() + tail.len() > size {
            break;
        }
        out.push_str(&unit);
    }
    out.push_str(tail);
    out.into_bytes()
}

/// `n` members made by `member` (numbered from 0), comma-separated, between
/// `head` and `tail`.
fn members(head: &str, n: usize, member: impl Fn(usize) -> String, tail: &str) -> Vec<u8> {
    let members: Vec<String> = (0..n).map(member).collect();
    format!("{head}{}{tail}", members.join(",")).into_bytes()
}

/// A labelled input.
type Input = (&'static str, Vec<u8>);

/// Inputs of about `size` bytes shaped to cost the parsers of `target` the
/// most: nesting, many members, escapes, many parameters.
fn stress_inputs(target: &str, size: usize) -> Vec<(String, Vec<u8>)> {
    let shaped = match target {
        "www_authenticate" => www_authenticate_inputs(size),
        "retry_after" => retry_after_inputs(size),
        "rate_limit" => vec![
            ("digits", fill("", "9", "", size)),
            ("many-values", fill("", "12345\n", "", size)),
        ],
        _ => json_inputs(size),
    };
    shaped
        .into_iter()
        .map(|(label, data)| (format!("stress:{label}:{}", data.len()), data))
        .collect()
}

/// JSON bodies of every kind the JSON targets read: connections, API errors,
/// envelopes, token answers.
fn json_inputs(size: usize) -> Vec<Input> {
    vec![
        (
            "nested-arrays",
            fill(r#"{"type":"Kafka","x":"#, "[", "", size),
        ),
        (
            "unknown-kind-nested",
            fill(r#"{"type":"New","x":"#, "[{\"a\":", "", size),
        ),
        (
            "many-config-keys",
            members(
                r#"{"type":"Kafka","config":{"#,
                size / 16,
                |i| format!("\"k{i}\":\"v\""),
                "}}",
            ),
        ),
        (
            "many-extra-keys",
            members(
                r#"{"type":"Https","errorCode":"X","error":400,"#,
                size / 14,
                |i| format!("\"e{i}\":1.5"),
                "}",
            ),
        ),
        (
            "many-links",
            fill(
                r#"{"type":"S3","links":["#,
                r#"{"href":"h","rel":"r"},"#,
                r#"{}]}"#,
                size,
            ),
        ),
        (
            "escaped-string",
            fill(
                r#"{"type":"Cluster","name":""#,
                r"\u00e9\n\\",
                r#""}"#,
                size,
            ),
        ),
        (
            "numbers",
            fill(
                r#"{"type":"Q","n":["#,
                "1.7976931348623157e308,",
                "0]}",
                size,
            ),
        ),
    ]
    .into_iter()
    .chain(error_envelope_and_token_inputs(size))
    .collect()
}

/// The JSON of API errors, envelopes and token answers.
fn error_envelope_and_token_inputs(size: usize) -> Vec<Input> {
    vec![
        (
            "many-fields",
            fill(
                r#"{"errorCode":"E","error":400,"badRequestDetail":{"fields":["#,
                r#"{"field":"f","description":"d"},"#,
                r#"{"field":"f","description":"d"}]}}"#,
                size,
            ),
        ),
        (
            "envelope-nested",
            fill(r#"{"status":400,"content":"#, "[", "", size),
        ),
        (
            "token",
            fill(
                r#"{"expires_in":3600,"access_token":""#,
                "abcdefgh",
                r#""}"#,
                size,
            ),
        ),
    ]
}

/// `WWW-Authenticate` values: many parameters or challenges, escapes,
/// stray separators.
fn www_authenticate_inputs(size: usize) -> Vec<Input> {
    vec![
        (
            "many-params",
            fill(r#"Digest realm="r", nonce="n""#, ", a{i}=b", "", size),
        ),
        (
            "repeated-params",
            fill(r#"Digest realm="r", nonce="n""#, ", a=b", "", size),
        ),
        (
            "many-challenges",
            fill(
                "",
                r#"Digest realm="r", nonce="n", algorithm=SHA-256, "#,
                "",
                size,
            ),
        ),
        (
            "quoted-escapes",
            fill(r#"Digest realm="r", nonce=""#, "\\\\\\\"", "\"", size),
        ),
        (
            "many-values",
            fill("", "Digest realm=r, nonce=n\n", "", size),
        ),
        ("broken-commas", fill("Digest ", ",=\",", "", size)),
    ]
}

/// `Retry-After` values: long numbers and dates.
fn retry_after_inputs(size: usize) -> Vec<Input> {
    vec![
        ("digits", fill("", "9", "", size)),
        (
            "date-like",
            fill("Sun, 06 Nov 1994 08:49:37 GMT", " GMT", "", size),
        ),
        (
            "many-values",
            fill("", "Sun, 06 Nov 2994 08:49:37 GMT\n", "", size),
        ),
    ]
}
