//! Figures that are counts, not times, read from the requests the crate's
//! `local_atlas` records ([`LocalAtlas::requests`]): how many HTTP
//! exchanges a Digest-authenticated call takes once the client is warm, and
//! how many token requests a burst of calls from a cold service-account
//! client makes.

use atlas_stream_connections::Client;
use atlas_stream_connections::local_atlas::{LocalAtlas, RecordedRequest};
use atlas_stream_connections::types::{StreamsConnection, StreamsKafkaConnection};

use crate::BenchError;
use crate::fixtures::{INSTANCE, PROJECT};

/// Where a service account asks for its token.
pub const TOKEN_PATH: &str = "/api/oauth/token";

/// What a phase of calls gave: calls made, calls failed (with the first
/// error), and exchanges (requests the local Atlas received).
#[derive(Debug, Default, Clone)]
pub struct Counted {
    /// Calls made.
    pub calls: usize,
    /// Calls that failed.
    pub failures: usize,
    /// The first failure, shown.
    pub first_error: Option<String>,
    /// Requests the local Atlas received during the phase (or, for a burst,
    /// token requests).
    pub requests: usize,
    /// Of those, the ones without credentials: Digest probes, each learning
    /// a nonce.
    pub probes: usize,
    /// Of those, the ones answered `401` with credentials: refused nonces.
    pub refused: usize,
}

impl Counted {
    /// Requests per call.
    pub fn per_call(&self) -> f64 {
        self.requests as f64 / self.calls.max(1) as f64
    }
}

/// The smallest Kafka connection the local Atlas accepts, named `name`
/// (names must differ within an instance).
fn kafka(name: String) -> StreamsConnection {
    StreamsKafkaConnection {
        name: Some(name),
        bootstrap_servers: Some("broker-1:9092".into()),
        ..Default::default()
    }
    .into()
}

/// `workers` tasks sharing `client`, `each` sequential creates apiece,
/// named after `tag`, the worker and the call. Failures, shown, worker by
/// worker.
async fn run_workers(client: &Client, workers: usize, each: usize, tag: &str) -> Vec<String> {
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let (client, tag) = (client.clone(), tag.to_owned());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for call in 0..each {
                    let connection = kafka(format!("{tag}-{worker}-{call}"));
                    if let Err(error) = client
                        .create_stream_connection(PROJECT, INSTANCE, &connection)
                        .await
                    {
                        failures.push(error.to_string());
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for task in tasks {
        match task.await {
            Ok(errors) => failures.extend(errors),
            Err(error) => failures.push(format!("a worker task failed: {error}")),
        }
    }
    failures
}

/// Runs a phase of calls and counts it: `requests` counts the requests
/// (that count) the local Atlas has received so far.
async fn phase(
    (client, workers, each, tag): (&Client, usize, usize, &str),
    requests: impl Fn() -> Tally,
) -> Counted {
    let before = requests();
    let failures = run_workers(client, workers, each, tag).await;
    let after = requests();
    Counted {
        calls: workers * each,
        failures: failures.len(),
        first_error: failures.into_iter().next(),
        requests: after.all - before.all,
        probes: after.probes - before.probes,
        refused: after.refused - before.refused,
    }
}

/// Requests counted: all of them, those without credentials (probes), and
/// `401`s to those with (refusals).
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    all: usize,
    probes: usize,
    refused: usize,
}

/// Counts `requests`.
fn count<'a>(requests: impl Iterator<Item = &'a RecordedRequest>) -> Tally {
    requests.fold(Tally::default(), |mut tally, request| {
        tally.all += 1;
        match request.header("authorization") {
            None => tally.probes += 1,
            Some(_) if request.status == 401 => tally.refused += 1,
            Some(_) => {}
        }
        tally
    })
}

/// Most warm-up phases before the Digest count starts regardless.
pub const MAX_WARM_UP_PHASES: usize = 10;

/// Digest exchanges per call at `concurrency`: a fresh local Atlas and API
/// key client, warmed up by phases of `warm_up` sequential calls per worker
/// until one makes no probe (the client's nonce pool has grown to the
/// calls under way at once: on a loaded machine a phase's calls may not
/// overlap, and the pool stays smaller), then `each` calls per worker,
/// counted. In steady state the client answers a nonce pre-emptively: one
/// exchange per call. Also the number of warm-up phases.
pub async fn digest_steady_state(
    concurrency: usize,
    (warm_up, each): (usize, usize),
) -> Result<(Counted, usize), BenchError> {
    let atlas = LocalAtlas::start().await?;
    let (public, private) = atlas.api_key();
    let client = Client::builder()
        .base_url(atlas.base_url())
        .api_key(public, private.clone())
        .build()?;
    let requests = || count(atlas.requests().iter());
    for phases in 1..=MAX_WARM_UP_PHASES {
        let tag = format!("warm{phases}");
        let warm = phase((&client, concurrency, warm_up, &tag), requests).await;
        if warm.failures > 0 {
            return Ok((warm, phases));
        }
        if warm.probes == 0 || phases == MAX_WARM_UP_PHASES {
            let steady = phase((&client, concurrency, each, "steady"), requests).await;
            return Ok((steady, phases));
        }
    }
    Err("no warm-up phase ran".into())
}

/// Token requests of each of `bursts` cold service-account clients making
/// `calls` concurrent calls at once, against one local Atlas. The crate
/// promises one token request per burst, however many calls wait for it.
pub async fn token_bursts(calls: usize, bursts: usize) -> Result<Vec<Counted>, BenchError> {
    let atlas = LocalAtlas::start().await?;
    let (id, secret) = atlas.service_account();
    let token_requests = || {
        let requests = atlas.requests();
        count(requests.iter().filter(|r| r.path == TOKEN_PATH))
    };
    let mut counted = Vec::with_capacity(bursts);
    for burst in 0..bursts {
        let client = Client::builder()
            .base_url(atlas.base_url())
            .service_account(id, secret.clone())
            .build()?;
        let tag = format!("burst{burst}");
        counted.push(phase((&client, calls, 1, &tag), token_requests).await);
    }
    Ok(counted)
}
