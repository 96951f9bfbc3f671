//! The one command: every figure of issue 13 against its baseline, side by
//! side in interleaved rounds, printed as a Markdown table ready for the
//! README (README.md of this package says how each is measured).
//!
//! ```sh
//! cargo bench -p atlas-bench --bench table             # seconds, after the release build
//! cargo bench -p atlas-bench --bench table -- --build  # + clean builds, 5 to 10 minutes on 2 cores
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use atlas_bench::BenchError;
use atlas_bench::call::{CrateCall, RawCall, request_differences, time_crate, time_raw};
use atlas_bench::clean_build::Builds;
use atlas_bench::codec::{self, Decoded};
use atlas_bench::counted::{self, Counted};
use atlas_bench::fixtures::{KAFKA_RESPONSE, default_version, responses_len};
use atlas_bench::report::{self, Row};
use atlas_bench::rounds::{Paired, interleave};
use atlas_bench::server::LoopbackServer;
use atlas_stream_connections::types::StreamsConnection;
use serde_json::Value;

const HELP: &str = "\
The benchmark table of atlas-stream-connections (bench/README.md).

usage: cargo bench -p atlas-bench --bench table [-- OPTIONS]

  --build        also time clean debug builds (two of each, 5 to 10 minutes on 2 cores)
  --rounds N     interleaved rounds of each timed figure (default 21)
  --calls N      sequential calls per side per round (default 1000)
  --burst N      concurrent calls of each cold service-account burst (default 64)
  --help         this text
";

/// What the command line asked for.
struct Options {
    build: bool,
    rounds: usize,
    calls: usize,
    burst: usize,
}

/// Calls of each side before the first round: connections opened, caches
/// filled.
const WARM_UP_CALLS: usize = 200;
/// How long each side's share of a codec round lasts, about.
const CODEC_ROUND: Duration = Duration::from_millis(60);
/// Digest calls per worker: sequential calls of each warm-up phase (the
/// client's nonce pool grows to the concurrency), then counted calls.
const DIGEST_CALLS: (usize, usize) = (5, 50);
/// Cold service-account clients, one burst each.
const TOKEN_BURSTS: usize = 5;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Measures every figure, prints the table and its notes; whether every
/// figure could be measured.
fn run() -> Result<bool, BenchError> {
    let Some(options) = parse_options(std::env::args().skip(1))? else {
        print!("{HELP}");
        return Ok(true);
    };
    let started = Instant::now();
    let mut notes = Vec::new();
    let mut rows = Vec::new();
    rows.push(or_failed(
        call_row(&options, &mut notes),
        "one create call",
        "<= 1.05x",
    ));
    match codec_rows(&options, &mut notes) {
        Ok(codec) => rows.extend(codec),
        Err(error) => rows.push(Row::failed(
            "decoding and encoding",
            ">= 1.5x",
            &error.to_string(),
        )),
    }
    rows.extend(counted_rows(&options, &mut notes)?);
    if options.build {
        rows.push(or_failed(
            build_row(&mut notes),
            "clean debug build",
            "<= 1.3x",
        ));
    }
    println!("{}", provenance(&options));
    println!();
    print!("{}", report::markdown(&rows));
    println!();
    for note in &notes {
        println!("- {note}");
    }
    println!(
        "- the suite took {}",
        report::seconds(started.elapsed().as_secs_f64())
    );
    Ok(rows.iter().all(|row| row.met.is_some()))
}

/// The options, or `None` for `--help`. Cargo passes `--bench` to every
/// bench target; it means nothing here.
fn parse_options(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, BenchError> {
    let mut options = Options {
        build: false,
        rounds: 21,
        calls: 1000,
        burst: 64,
    };
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, BenchError> {
            let value = args.next().ok_or(format!("{name} needs a number"))?;
            match value.parse() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{name}: `{value}` is not a positive number").into()),
            }
        };
        match arg.as_str() {
            "--bench" => {}
            "--build" => options.build = true,
            "--rounds" => options.rounds = number("--rounds")?,
            "--calls" => options.calls = number("--calls")?,
            "--burst" => options.burst = number("--burst")?,
            "--help" | "-h" => return Ok(None),
            other => return Err(format!("unknown option `{other}` (--help)").into()),
        }
    }
    Ok(Some(options))
}

/// `row`, or a row saying why the figure could not be measured.
fn or_failed(row: Result<Row, BenchError>, figure: &str, goal: &str) -> Row {
    row.unwrap_or_else(|error| Row::failed(figure, goal, &error.to_string()))
}

/// Progress, on standard error (the table goes to standard output).
fn progress(what: &str) {
    eprintln!("atlas-bench: {what}");
}

/// One create call: the crate with an access token against raw reqwest,
/// both against one loopback server answering the seed's Kafka `200`.
fn call_row(options: &Options, notes: &mut Vec<String>) -> Result<Row, BenchError> {
    let (rounds, calls) = (options.rounds, options.calls);
    let (paired, differences) = time_calls(rounds, calls)?;
    if !differences.is_empty() {
        notes.push(format!(
            "**the two sides of the call do not send the same request**: {}",
            differences.join("; ")
        ));
    }
    notes.push(format!(
        "call: {calls} sequential calls a side per round, {rounds} rounds (the side going \
         first alternates), after {WARM_UP_CALLS} warm-up calls each; µs per call are medians \
         over rounds, the ratio the median of the rounds' ratios (their quartiles in \
         brackets). One keep-alive connection per side to a hyper HTTP/1.1 server on \
         127.0.0.1; server and calls on one Tokio current-thread runtime, so that a call costs \
         no cross-thread wake-up (which on a loaded machine adds the same to both sides). The \
         baseline is a plain `reqwest::Client` (no timeout)."
    ));
    let per_call = |d: Duration| report::micros(d.as_secs_f64() / calls as f64);
    let ratio = paired.median_ratio();
    Ok(Row {
        figure: format!(
            "one create call, bearer token, release build, loopback hyper server answering the \
             seed's Kafka `200` ({calls} sequential calls × {rounds} interleaved rounds, medians)"
        ),
        ours: format!("{} per call", per_call(paired.ours_median())),
        baseline: format!(
            "raw reqwest POST, same headers and body, answer into `Value`: {}",
            per_call(paired.baseline_median())
        ),
        ratio: report::ratio_spread(ratio, paired.ratio_quartiles()),
        goal: "<= 1.05x".into(),
        met: Some(ratio <= 1.05),
    })
}

/// Times `rounds` rounds of `calls` calls a side, after checking that both
/// sides send the same request (the differences, if any) and warming both
/// up.
fn time_calls(rounds: usize, calls: usize) -> Result<(Paired, Vec<String>), BenchError> {
    let version = default_version().ok_or("the operation declares no default version")?;
    let media_type = version
        .accept()
        .ok_or("the default version has no media type")?;
    // The server and the calls on this thread (`server.rs` says why).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = runtime.block_on(LoopbackServer::start(KAFKA_RESPONSE, media_type))?;
    let ours = CrateCall::new(server.base_url())?;
    let raw = RawCall::new(server.base_url())?;
    let differences = runtime.block_on(request_differences(&server, &ours, &raw))?;
    progress("call: warm-up");
    runtime.block_on(time_crate(&ours, WARM_UP_CALLS))?;
    runtime.block_on(time_raw(&raw, WARM_UP_CALLS))?;
    progress(&format!("call: {rounds} rounds of {calls} calls a side"));
    let paired = interleave(
        rounds,
        || runtime.block_on(time_crate(&ours, calls)),
        || runtime.block_on(time_raw(&raw, calls)),
    )?;
    Ok((paired, differences))
}

/// Decoding and encoding the seven seed responses, typed against `Value`.
fn codec_rows(options: &Options, notes: &mut Vec<String>) -> Result<Vec<Row>, BenchError> {
    let decoded = Decoded::new()?;
    let lossy = decoded.lossy_kinds()?;
    if !lossy.is_empty() {
        notes.push(format!(
            "**typed encoding is not the response it decoded** for: {}",
            lossy.join(", ")
        ));
    }
    let rounds = options.rounds;
    progress(&format!("decoding: {rounds} rounds"));
    let passes = codec::passes_for(CODEC_ROUND, codec::decode::<Value>)?;
    let decoding = interleave(
        rounds,
        || codec::decode::<StreamsConnection>(passes),
        || codec::decode::<Value>(passes),
    )?;
    progress(&format!("encoding: {rounds} rounds"));
    let encode_passes = codec::passes_for(CODEC_ROUND, |n| codec::encode(&decoded.values, n))?;
    let encoding = interleave(
        rounds,
        || codec::encode(&decoded.typed, encode_passes),
        || codec::encode(&decoded.values, encode_passes),
    )?;
    let encoded_len = decoded.encoded_len()?;
    notes.push(codec_note(rounds, (passes, encode_passes), encoded_len));
    Ok(vec![
        speed_row(
            "decoding the seven seed responses",
            (
                "into `types::StreamsConnection`",
                "into `serde_json::Value`",
            ),
            &decoding,
            responses_len() * passes,
        ),
        speed_row(
            "encoding them",
            ("typed -> JSON bytes", "`Value` -> JSON bytes"),
            &encoding,
            encoded_len * encode_passes,
        ),
    ])
}

/// How the codec figures were measured.
fn codec_note(rounds: usize, (passes, encode_passes): (usize, usize), encoded: usize) -> String {
    let maps = if codec::value_preserves_order() {
        "`IndexMap`s (serde_json's `preserve_order` is on)"
    } else {
        "`BTreeMap`s (serde_json without `preserve_order`, as the library builds it)"
    };
    format!(
        "decoding and encoding: MB/s (10^6 bytes) of the seven seed responses, {} bytes as the \
         files hold them (decoding) and {encoded} bytes as compact JSON (encoding, both sides \
         counted alike), medians over {rounds} interleaved rounds of {passes} and \
         {encode_passes} passes a side; the ratio is the typed side's speed over the `Value` \
         side's, the median of the rounds' ratios (their quartiles in brackets). \
         `serde_json::Value` maps are {maps}.",
        responses_len(),
    )
}

/// A throughput row: `bytes` per round, the goal a speed-up of 1.5.
fn speed_row(figure: &str, (ours, baseline): (&str, &str), paired: &Paired, bytes: usize) -> Row {
    let speedup = 1.0 / paired.median_ratio();
    // Speeds: a time ratio's reciprocal, so the quartiles swap.
    let (low, high) = paired.ratio_quartiles();
    let speed = |d: Duration| report::megabytes_per_second(bytes, d.as_secs_f64());
    Row {
        figure: figure.into(),
        ours: format!("{ours}: {}", speed(paired.ours_median())),
        baseline: format!("{baseline}: {}", speed(paired.baseline_median())),
        ratio: format!(
            "{} faster",
            report::ratio_spread(speedup, (1.0 / high, 1.0 / low))
        ),
        goal: ">= 1.5x faster".into(),
        met: Some(speedup >= 1.5),
    }
}

/// Digest exchanges per call at concurrency 1, 8 and 32, and token
/// requests per cold burst, counted by the local Atlas on a two-worker
/// runtime (the calls of a burst really run at once).
fn counted_rows(options: &Options, notes: &mut Vec<String>) -> Result<Vec<Row>, BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for concurrency in [1, 8, 32] {
        progress(&format!("Digest: concurrency {concurrency}"));
        let figure = format!(
            "Digest exchanges per call, API key, `local_atlas`, steady state after warm-up, \
             concurrency {concurrency}"
        );
        rows.push(
            match runtime.block_on(counted::digest_steady_state(concurrency, DIGEST_CALLS)) {
                Ok((counted, phases)) => digest_row(figure, &counted, phases),
                Err(error) => Row::failed(figure, "1.00", &error.to_string()),
            },
        );
    }
    let burst = options.burst;
    progress(&format!("tokens: {TOKEN_BURSTS} bursts of {burst} calls"));
    let figure = format!(
        "token requests per burst: a cold service-account client, {burst} concurrent calls, \
         `local_atlas` ({TOKEN_BURSTS} bursts)"
    );
    rows.push(
        match runtime.block_on(counted::token_bursts(burst, TOKEN_BURSTS)) {
            Ok(bursts) => token_row(figure, &bursts),
            Err(error) => Row::failed(figure, "1", &error.to_string()),
        },
    );
    notes.push(format!(
        "counts: requests the crate's `local_atlas` recorded. Digest: a fresh local Atlas and \
         API-key client per concurrency, warmed up by phases of {} sequential calls per worker \
         until one makes no probe (at most {}: the pool of nonces has grown to the calls under \
         way at once), then {} calls per worker counted: exchanges, probes (requests without \
         credentials) and refusals (`401` to an answered nonce); met when the exchanges per \
         call round to 1.00. Tokens: {TOKEN_BURSTS} new service-account clients in turn, each \
         making {burst} calls at once, requests to `/api/oauth/token` counted per burst.",
        DIGEST_CALLS.0,
        counted::MAX_WARM_UP_PHASES,
        DIGEST_CALLS.1
    ));
    Ok(rows)
}

/// The Digest row of one concurrency, counted after `phases` warm-up
/// phases: met at one exchange per call (to two decimals, the goal's) and
/// no failure.
fn digest_row(figure: String, counted: &Counted, phases: usize) -> Row {
    let mut ours = format!(
        "{:.3} ({} exchanges / {} calls; {} probes, {} refused; after {phases} warm-up phase{})",
        counted.per_call(),
        counted.requests,
        counted.calls,
        counted.probes,
        counted.refused,
        if phases == 1 { "" } else { "s" },
    );
    if let Some(error) = &counted.first_error {
        ours.push_str(&format!(", {} failed: {error}", counted.failures));
    }
    Row {
        figure,
        ours,
        baseline: "-".into(),
        ratio: "-".into(),
        goal: "1.00".into(),
        met: Some(counted.failures == 0 && counted.per_call() < 1.005),
    }
}

/// The token row: met when every burst made one token request and no call
/// failed.
fn token_row(figure: String, bursts: &[Counted]) -> Row {
    let counts: Vec<String> = bursts.iter().map(|b| b.requests.to_string()).collect();
    let most = bursts.iter().map(|b| b.requests).max().unwrap_or_default();
    let mut ours = format!("{most} at most (bursts: {})", counts.join(", "));
    let failures: usize = bursts.iter().map(|b| b.failures).sum();
    if let Some(error) = bursts.iter().find_map(|b| b.first_error.as_ref()) {
        ours.push_str(&format!(", {failures} calls failed: {error}"));
    }
    Row {
        figure,
        ours,
        baseline: "-".into(),
        ratio: "-".into(),
        goal: "1".into(),
        met: Some(failures == 0 && bursts.iter().all(|b| b.requests == 1)),
    }
}

/// Two clean debug builds of the library and two of the baseline crate, in
/// the order library, baseline, baseline, library (a drift in the
/// machine's load weighs on both sides alike).
fn build_row(notes: &mut Vec<String>) -> Result<Row, BenchError> {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let scratch = std::env::temp_dir().join(format!("atlas-bench-build-{}", std::process::id()));
    let builds = Builds::new(cargo.into(), workspace, scratch)?;
    let round = std::cell::Cell::new(0);
    let n = || {
        round.set(round.get() + 1);
        progress(&format!("build: clean build {} of 4", round.get()));
        round.get()
    };
    let paired = interleave(2, || builds.library(n()), || builds.baseline_crate(n()))?;
    let ratio = paired.median_ratio();
    let pairs: Vec<String> = paired.ratios().into_iter().map(report::ratio).collect();
    let dependencies: Vec<String> = builds
        .baseline_manifest()?
        .lines()
        .skip_while(|line| *line != "[dependencies]")
        .skip(1)
        .map(|line| format!("`{line}`"))
        .collect();
    notes.push(format!(
        "build: clean `cargo build` (debug, fresh target directory each, no compiler wrapper) \
         of the library (`-p atlas-stream-connections --lib`) and of a crate with only its \
         dependencies {} and the workspace's `Cargo.lock`; two builds each, in the order \
         library, baseline, baseline, library; medians, the ratio the mean of the two pairs' \
         ratios (each in brackets).",
        dependencies.join(", ")
    ));
    Ok(Row {
        figure: "clean debug build of the library".into(),
        ours: report::seconds(paired.ours_median().as_secs_f64()),
        baseline: format!(
            "a crate with the same reqwest/serde/serde_json/tokio dependencies only: {}",
            report::seconds(paired.baseline_median().as_secs_f64())
        ),
        ratio: format!("{} ({})", report::ratio(ratio), pairs.join(", ")),
        goal: "<= 1.3x".into(),
        met: Some(ratio <= 1.3),
    })
}

/// What the figures were measured on: the commit, the compiler, the cores.
fn provenance(options: &Options) -> String {
    let output = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let commit = output("git", &["describe", "--always", "--dirty"]);
    let rustc = output("rustc", &["--version"]);
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "`cargo bench -p atlas-bench --bench table{}` at {}, {}, {cores} cores:",
        if options.build { " -- --build" } else { "" },
        commit.as_deref().unwrap_or("an unknown commit"),
        rustc.as_deref().unwrap_or("an unknown rustc"),
    )
}
