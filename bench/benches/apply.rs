//! `apply` of many connections against the local Atlas with a rate limit:
//! the time it takes, and the `429`s absorbed (counted by the client and
//! by the server, which must agree), for a first run that creates every
//! connection and a second that finds them all unchanged.
//!
//! ```sh
//! cargo bench -p atlas-bench --bench apply   # 200 connections; a bucket of 100, 10 back a second
//! cargo bench -p atlas-bench --bench apply -- --help
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use atlas_stream_connections::apply::{Action, ApplyOptions};
use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::{Client, Wait, types};
use serde_json::json;

const HELP: &str = "\
apply of many connections against the local Atlas with a rate limit (bench/README.md).

usage: cargo bench -p atlas-bench --bench apply [-- OPTIONS]

  --connections N   connections applied (default 200): a tenth Kafka over private
                    networking (deployed asynchronously, 1 s), the rest Sample, Kafka
                    and Https in turn
  --capacity N      the rate limit's token bucket: its capacity, per project (default 100)
  --refill N        tokens put back every interval (default 10)
  --every S         the refill interval in seconds (default 1)
  --concurrency N   connections applied at a time (default 8, apply's default)
  --help            this text
";

const PROJECT: &str = "32b6e34b3d91647abb20e7b8";
const INSTANCE: &str = "bench";

struct Options {
    connections: usize,
    capacity: u32,
    refill: u32,
    every: u64,
    concurrency: usize,
}

fn options() -> Result<Option<Options>, String> {
    let mut options = Options {
        connections: 200,
        capacity: 100,
        refill: 10,
        every: 1,
        concurrency: ApplyOptions::DEFAULT_CONCURRENCY,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|v| *v > 0)
                .ok_or_else(|| format!("{name} needs a positive number"))
        };
        match arg.as_str() {
            "--connections" => options.connections = value("--connections")? as usize,
            "--capacity" => {
                options.capacity = u32::try_from(value("--capacity")?).map_err(|e| e.to_string())?
            }
            "--refill" => {
                options.refill = u32::try_from(value("--refill")?).map_err(|e| e.to_string())?
            }
            "--every" => options.every = value("--every")?,
            "--concurrency" => options.concurrency = value("--concurrency")? as usize,
            "--help" | "-h" => {
                print!("{HELP}");
                return Ok(None);
            }
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            other => return Err(format!("unknown option `{other}`\n{HELP}")),
        }
    }
    Ok(Some(options))
}

fn connection(n: usize) -> types::StreamsConnection {
    let name = format!("c{n:04}");
    let value = match n % 10 {
        9 => json!({
            "type": "Kafka", "name": name, "bootstrapServers": "broker:9092",
            "authentication": {"mechanism": "PLAIN", "username": "u", "password": "p"},
            "security": {"protocol": "SASL_SSL"},
            "networking": {"access": {"type": "PRIVATE_LINK", "connectionId": "64b6e34b3d91647abb20e7b9"}},
        }),
        n if n % 3 == 0 => json!({"type": "Sample", "name": name}),
        n if n % 3 == 1 => json!({
            "type": "Kafka", "name": name, "bootstrapServers": "broker:9092",
            "authentication": {"mechanism": "PLAIN", "username": "u", "password": "p"},
            "security": {"protocol": "SASL_SSL"},
        }),
        _ => json!({"type": "Https", "name": name, "url": "https://example.com/hook"}),
    };
    serde_json::from_value(value).expect("the bench's connections decode")
}

/// One apply's figures.
struct Run {
    elapsed: Duration,
    created: usize,
    updated: usize,
    unchanged: usize,
    failed: Vec<String>,
    absorbed: u64,
    sent_429: u64,
    requests: usize,
}

async fn run(client: &Client, atlas: &LocalAtlas, options: &Options) -> Result<Run, String> {
    let wanted: Vec<_> = (0..options.connections).map(connection).collect();
    let apply = ApplyOptions::new()
        .concurrency(options.concurrency)
        .wait(Some(Wait::new().interval(Duration::from_millis(250))));
    let (sent_before, requests_before) = (atlas.throttled(), atlas.requests().len());
    let started = Instant::now();
    let mut outcomes = client
        .apply_stream_connections(PROJECT, INSTANCE, wanted, &apply)
        .map_err(|e| e.to_string())?;
    let mut figures = Run {
        elapsed: Duration::ZERO,
        created: 0,
        updated: 0,
        unchanged: 0,
        failed: Vec::new(),
        absorbed: 0,
        sent_429: 0,
        requests: 0,
    };
    while let Some(outcome) = outcomes.next().await {
        figures.absorbed += u64::from(outcome.throttled);
        match outcome.result {
            Ok(applied) => match applied.action {
                Action::Created => figures.created += 1,
                Action::Updated => figures.updated += 1,
                _ => figures.unchanged += 1,
            },
            Err(error) => figures
                .failed
                .push(format!("{}: {}", outcome.name, error.with_causes())),
        }
    }
    figures.elapsed = started.elapsed();
    figures.sent_429 = atlas.throttled() - sent_before;
    figures.requests = atlas.requests().len() - requests_before;
    Ok(figures)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(Some(options)) => options,
        Ok(None) => return ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench(&options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(options: &Options) -> Result<bool, String> {
    let atlas = LocalAtlas::builder()
        .instance(PROJECT, INSTANCE)
        .rate_limit(
            options.capacity,
            options.refill,
            Duration::from_secs(options.every),
        )
        .deployment_time(Duration::from_secs(1))
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let (public, private) = atlas.api_key();
    let client = Client::builder()
        .base_url(atlas.base_url())
        .api_key(public, private.clone())
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "apply of {} connections, local Atlas's token bucket: capacity {}, refill {} every {} s; \
         concurrency {}\n",
        options.connections, options.capacity, options.refill, options.every, options.concurrency
    );
    println!(
        "| run | time | created | updated | unchanged | failed | 429s absorbed (client) | 429s sent (server) | requests |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut ok = true;
    for name in ["first", "second"] {
        let run = run(&client, &atlas, options).await?;
        println!(
            "| {name} | {:.1} s | {} | {} | {} | {} | {} | {} | {} |",
            run.elapsed.as_secs_f64(),
            run.created,
            run.updated,
            run.unchanged,
            run.failed.len(),
            run.absorbed,
            run.sent_429,
            run.requests
        );
        for failure in &run.failed {
            eprintln!("failed: {failure}");
        }
        ok &= run.failed.is_empty() && run.absorbed == run.sent_429;
    }
    Ok(ok)
}
