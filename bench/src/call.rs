//! One create call, two ways: through the crate with an access token, and
//! as raw reqwest code would make it with the same headers and body, its
//! answer decoded into a `serde_json::Value`. Both pay for encoding the
//! request and decoding the answer on every call.

use std::time::{Duration, Instant};

use atlas_stream_connections::types::StreamsConnection;
use atlas_stream_connections::{Client, user_agent};
use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use serde_json::Value;

use crate::BenchError;
use crate::fixtures::{INSTANCE, PROJECT, default_version, kafka_request};

/// The bearer token both sides send (the loopback server checks nothing).
pub const TOKEN: &str = "bench-access-token";

/// The crate's side: a client with an access token, and the connection.
pub struct CrateCall {
    client: Client,
    connection: StreamsConnection,
}

impl CrateCall {
    /// A client of `base_url` sending the seed's Kafka request.
    pub fn new(base_url: &str) -> Result<Self, BenchError> {
        let client = Client::builder()
            .base_url(base_url)
            .access_token(TOKEN)
            .build()?;
        Ok(Self {
            client,
            connection: kafka_request()?,
        })
    }

    /// One create, its answer typed.
    pub async fn call(&self) -> Result<StreamsConnection, BenchError> {
        Ok(self
            .client
            .create_stream_connection(PROJECT, INSTANCE, &self.connection)
            .await?)
    }
}

/// The baseline: what a caller writes with reqwest alone. The same headers
/// the crate sends (`Authorization: Bearer`, `Accept` and `Content-Type` of
/// the default version, and its `User-Agent`) and the same JSON body (the
/// typed request as a `Value`); the URL is formatted and the body encoded
/// on every call, as the crate does.
pub struct RawCall {
    http: reqwest::Client,
    base_url: String,
    accept: &'static str,
    content_type: &'static str,
    user_agent: String,
    body: Value,
}

impl RawCall {
    /// A plain reqwest client of `base_url` (no proxy, so that the
    /// environment cannot route loopback elsewhere; no timeout or other
    /// setting of the crate's own client).
    pub fn new(base_url: &str) -> Result<Self, BenchError> {
        let version = default_version().ok_or("the operation declares no default version")?;
        Ok(Self {
            http: reqwest::Client::builder().no_proxy().build()?,
            base_url: base_url.to_owned(),
            accept: version
                .accept()
                .ok_or("the default version has no media type")?,
            content_type: version
                .request_media_type
                .ok_or("the default version has no request media type")?,
            user_agent: user_agent(),
            body: serde_json::to_value(kafka_request()?)?,
        })
    }

    /// One create, its answer a `Value`.
    pub async fn call(&self) -> Result<Value, BenchError> {
        let url = format!(
            "{}/api/atlas/v2/groups/{PROJECT}/streams/{INSTANCE}/connections",
            self.base_url
        );
        let response = self
            .http
            .post(url)
            .bearer_auth(TOKEN)
            .header(ACCEPT, self.accept)
            .header(CONTENT_TYPE, self.content_type)
            .header(USER_AGENT, &self.user_agent)
            .json(&self.body)
            .send()
            .await?
            .error_for_status()?;
        let bytes = response.bytes().await?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// How long `calls` sequential crate calls take.
pub async fn time_crate(side: &CrateCall, calls: usize) -> Result<Duration, BenchError> {
    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(side.call().await?);
    }
    Ok(start.elapsed())
}

/// How long `calls` sequential raw calls take.
pub async fn time_raw(side: &RawCall, calls: usize) -> Result<Duration, BenchError> {
    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(side.call().await?);
    }
    Ok(start.elapsed())
}

/// What differs between the requests the two sides send, header by header
/// and the body as JSON: empty when the comparison is fair. One call of
/// each side, kept by `server`.
pub async fn request_differences(
    server: &crate::server::LoopbackServer,
    crate_side: &CrateCall,
    raw_side: &RawCall,
) -> Result<Vec<String>, BenchError> {
    server.take_seen();
    server.record(true);
    let calls = async {
        crate_side.call().await?;
        raw_side.call().await?;
        Ok::<_, BenchError>(())
    }
    .await;
    server.record(false);
    calls?;
    let [ours, theirs]: [crate::server::Seen; 2] = server
        .take_seen()
        .try_into()
        .map_err(|seen: Vec<_>| format!("expected 2 requests, the server saw {}", seen.len()))?;
    let mut differences = Vec::new();
    let names = ours.headers.keys().chain(theirs.headers.keys());
    let mut names: Vec<_> = names.map(|name| name.as_str().to_owned()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (a, b) = (ours.headers.get(&name), theirs.headers.get(&name));
        if a != b {
            differences.push(format!("header {name}: crate {a:?}, raw {b:?}"));
        }
    }
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&ours.body)?,
        serde_json::from_slice(&theirs.body)?,
    );
    if a != b {
        differences.push("the JSON bodies differ".to_owned());
    }
    Ok(differences)
}
