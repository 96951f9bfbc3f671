//! What the integration tests share, one copy each: the HTTP server and
//! trace capture of `tests/support/mod.rs`, an HTTP Digest oracle
//! ([`digest`]), and the values, fixtures, clients and calls every area
//! sets up.
//!
//! Words: the path's `groupId` is the **project** (Atlas calls a project a
//! group there) and its `tenantName` the stream processing **instance**.

// The server sits outside `tests/it/` because xtask's crate copies (its
// evolution and corpus tests) copy that one file and build it alone.
#[path = "../../support/mod.rs"]
mod server;

mod digest;

pub use digest::*;
pub use server::*;

use std::process::{Command, Output};

use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::types::StreamsConnection;
use atlas_stream_connections::{Client, ClientBuilder, Error, SecretString};
use serde_json::{Value, json};

/// The project the tests create in (`groupId` in the path).
pub const PROJECT: &str = "32b6e34b3d91647abb20e7b8";
/// The instance the tests create in (`tenantName` in the path).
pub const INSTANCE: &str = "instance-1";
/// The public part of the API key that Digest servers of these tests check.
pub const PUBLIC_KEY: &str = "abcdefgh";
/// The private part of [`PUBLIC_KEY`]'s key: must never show.
pub const PRIVATE_KEY: &str = "6f1c0a0e-private-key-never-shown";
/// The realm Atlas names in its Digest challenges.
pub const REALM: &str = "MMS Public API";
/// Where a service account gets its token.
pub const TOKEN_PATH: &str = "/api/oauth/token";

/// `tests/fixtures/seed/<name>`, a JSON example of the endpoint's reference
/// page (copied unchanged from the page), compiled in.
macro_rules! seed {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/seed/",
            $name
        ))
    };
}
pub(crate) use seed;

/// The page's Kafka request example: every write-only field set.
pub const KAFKA_REQUEST: &str = seed!("request-Kafka.json");
/// The page's Kafka `200` example: what Atlas answers a create with.
pub const KAFKA_CREATED: &str = seed!("response-200-Kafka.json");
/// The page's `200` examples, one per connection kind, by kind.
pub const SEED_RESPONSES: [(&str, &str); 7] = [
    (
        "AWSKinesisDataStreams",
        seed!("response-200-AWSKinesisDataStreams.json"),
    ),
    ("AWSLambda", seed!("response-200-AWSLambda.json")),
    ("Cluster", seed!("response-200-Cluster.json")),
    ("Https", seed!("response-200-Https.json")),
    ("Kafka", KAFKA_CREATED),
    ("S3", seed!("response-200-S3.json")),
    ("Sample", seed!("response-200-Sample.json")),
];

/// The media type of the version a call sends by default (`Accept` and
/// `Content-Type`), read from the crate's version table so that it follows
/// the spec at the next regen.
pub fn versioned() -> &'static str {
    atlas_stream_connections::versions_of("create_stream_connection")
        .and_then(|operation| operation.default_version())
        .and_then(|version| version.accept())
        .expect("the operation has a default version with a media type")
}

/// The path of the create operation in `project` and `instance`.
pub fn connections_path(project: &str, instance: &str) -> String {
    format!("/api/atlas/v2/groups/{project}/streams/{instance}/connections")
}

/// The path of the create operation in [`PROJECT`] and [`INSTANCE`].
pub fn api_path() -> String {
    connections_path(PROJECT, INSTANCE)
}

/// [`KAFKA_REQUEST`], typed.
pub fn kafka() -> StreamsConnection {
    serde_json::from_str(KAFKA_REQUEST).expect("the Kafka request example decodes")
}

/// [`KAFKA_REQUEST`] named `name` (Atlas requires a name; the example's is
/// a placeholder).
pub fn kafka_named(name: &str) -> StreamsConnection {
    let mut value: Value = serde_json::from_str(KAFKA_REQUEST).expect("the example is JSON");
    value["name"] = json!(name);
    serde_json::from_value(value).expect("the renamed example decodes")
}

/// The smallest Kafka connection the spec accepts, named `name`, as JSON.
pub fn minimal_kafka_json(name: &str) -> Value {
    json!({"type": "Kafka", "name": name, "bootstrapServers": "broker-1:9092"})
}

/// Atlas's `200` to a create: [`KAFKA_CREATED`] in the default version.
pub fn created() -> Reply {
    Reply::json(200, versioned(), KAFKA_CREATED)
}

/// A token endpoint's answer: a bearer `access_token` that lives
/// `expires_in` seconds.
pub fn token_reply(access_token: &str, expires_in: u64) -> Reply {
    let body = format!(
        r#"{{"access_token":"{access_token}","expires_in":{expires_in},"token_type":"Bearer"}}"#
    );
    Reply::json(200, "application/json", &body)
}

/// Answers `replies` in turn, the last one for every request after.
pub fn in_turn(replies: Vec<Reply>) -> impl Fn(&RawRequest) -> Reply + Send + Sync + 'static {
    let answered = std::sync::atomic::AtomicUsize::new(0);
    move |_| {
        let n = answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        replies[n.min(replies.len() - 1)].clone()
    }
}

/// A builder for `base_url` with a bearer token, for tests about anything
/// but authentication.
pub fn bearer_builder(base_url: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base_url)
        .access_token("test-token")
}

/// A client of `base_url` with a bearer token (see [`bearer_builder`]).
pub fn bearer_client(base_url: &str) -> Client {
    bearer_builder(base_url)
        .build()
        .expect("a bearer client builds")
}

/// A builder for `base_url` with the API key [`PUBLIC_KEY`] and
/// `private_key` (the right one is [`PRIVATE_KEY`]).
pub fn key_builder(base_url: &str, private_key: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base_url)
        .api_key(PUBLIC_KEY, private_key)
}

/// A client of `base_url` with the API key [`PUBLIC_KEY`], [`PRIVATE_KEY`].
pub fn key_client(base_url: &str) -> Client {
    key_builder(base_url, PRIVATE_KEY)
        .build()
        .expect("an API key client builds")
}

/// A builder for `atlas` with its API key's public part and `private_key`
/// (its own is `atlas.api_key().1`).
pub fn local_key_builder(
    atlas: &LocalAtlas,
    private_key: impl Into<SecretString>,
) -> ClientBuilder {
    Client::builder()
        .base_url(atlas.base_url())
        .api_key(atlas.api_key().0, private_key)
}

/// A client of `atlas` with its own API key.
pub fn local_key_client(atlas: &LocalAtlas) -> Client {
    local_key_builder(atlas, atlas.api_key().1.clone())
        .build()
        .expect("an API key client builds")
}

/// A client of `atlas` with its own service account.
pub fn local_service_account_client(atlas: &LocalAtlas) -> Client {
    let (id, secret) = atlas.service_account();
    Client::builder()
        .base_url(atlas.base_url())
        .service_account(id, secret.clone())
        .build()
        .expect("a service-account client builds")
}

/// Creates [`kafka`] in [`PROJECT`] and [`INSTANCE`].
pub async fn create(client: &Client) -> Result<StreamsConnection, Error> {
    client
        .create_stream_connection(PROJECT, INSTANCE, &kafka())
        .await
}

/// Creates [`kafka_named`]`(name)` in [`PROJECT`] and [`INSTANCE`].
pub async fn create_named(client: &Client, name: &str) -> Result<StreamsConnection, Error> {
    client
        .create_stream_connection(PROJECT, INSTANCE, &kafka_named(name))
        .await
}

/// The error of a [`create`] that must fail.
pub async fn create_error(client: &Client) -> Error {
    create(client).await.expect_err("the call fails")
}

/// A create of [`kafka`] in [`PROJECT`] and `instance`, on a task of its
/// own (which the test may abort).
pub fn spawn_create(
    client: &Client,
    instance: &str,
) -> tokio::task::JoinHandle<Result<StreamsConnection, Error>> {
    let (client, instance) = (client.clone(), instance.to_owned());
    tokio::spawn(async move {
        client
            .create_stream_connection(PROJECT, &instance, &kafka())
            .await
    })
}

/// `workers` tasks sharing `client`, `each` sequential creates apiece: call
/// `call` of `worker` creates the connection `what(worker, call)` gives in
/// the instance it names. The results, worker by worker.
pub async fn run_workers(
    client: &Client,
    (workers, each): (usize, usize),
    what: impl Fn(usize, usize) -> (String, StreamsConnection) + Clone + Send + 'static,
) -> Vec<Result<StreamsConnection, Error>> {
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let (client, what) = (client.clone(), what.clone());
            tokio::spawn(async move {
                let mut results = Vec::with_capacity(each);
                for call in 0..each {
                    let (instance, connection) = what(worker, call);
                    results.push(
                        client
                            .create_stream_connection(PROJECT, &instance, &connection)
                            .await,
                    );
                }
                results
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.extend(task.await.expect("a worker panicked"));
    }
    results
}

/// Starts a server that answers `reply` and makes one [`create`] against it
/// with a [`bearer_client`].
pub async fn create_answered(reply: Reply) -> Result<StreamsConnection, Error> {
    let server = Server::start(reply).await;
    create(&bearer_client(&server.base_url)).await
}

/// `pairs` (headers, environment variables), owned.
pub fn owned_pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// Panics if `text` holds any of `secrets`; `context` says what `text` is.
pub fn assert_no_secret(text: &str, secrets: &[&str], context: &str) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{context}: a secret ({secret}) is shown: {text}"
        );
    }
}

/// Runs the ignored test `name` of the module whose `module_path!()` is
/// `module` in a child process of this test binary, with `configure`
/// applied to its command, so that it has a process (an environment, a
/// peak memory) of its own.
pub fn run_child_test(module: &str, name: &str, configure: impl FnOnce(&mut Command)) -> Output {
    // Test names leave out the crate: `configuration::from_env_child`.
    let module = module.split_once("::").map_or("", |(_, module)| module);
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command.args([
        "--exact",
        &format!("{module}::{name}"),
        "--ignored",
        "--nocapture",
    ]);
    configure(&mut command);
    command.output().expect("the test binary runs")
}

/// What a child test printed after `CHILD ` (its result line).
pub fn child_line(stdout: &str) -> Option<&str> {
    stdout.lines().find_map(|line| line.strip_prefix("CHILD "))
}

/// A bearer token of `atlas`'s service account, fetched with reqwest alone
/// (for tests that send their own requests).
pub async fn raw_token(atlas: &LocalAtlas) -> String {
    let (id, secret) = atlas.service_account();
    let response = reqwest::Client::new()
        .post(format!("{}{TOKEN_PATH}", atlas.base_url()))
        .basic_auth(id, Some(secret.expose_secret()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// A raw answer's status, headers and body (`null` when empty, else JSON).
pub async fn read_answer(response: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, headers, body)
}
