//! An Atlas double in-process on `127.0.0.1`, for tests and examples: a real
//! HTTP/1.1 server (hyper) that serves the stream connections of the
//! embedded spec (create, list, get, update, delete) as the spec describes
//! them, authenticates like Atlas, limits the rate of requests when told,
//! deploys private Kafka connections asynchronously, and can be told to
//! fail.
//!
//! A test of your own code: it creates a Kafka connection with SASL
//! credentials; the test looks at the call it made, password included
//! ([`LocalAtlasBuilder::record_secrets`]), and at what Atlas stored.
//!
//! ```
//! use atlas_stream_connections::local_atlas::LocalAtlas;
//! use atlas_stream_connections::types::{
//!     StreamsConnection, StreamsKafkaAuthentication, StreamsKafkaConnection,
//! };
//! use atlas_stream_connections::{Client, SecretString};
//!
//! /// The code under test.
//! async fn connect_events(client: &Client, password: &str) -> Result<(), atlas_stream_connections::Error> {
//!     let kafka = StreamsKafkaConnection {
//!         name: Some("events".into()),
//!         bootstrap_servers: Some("broker-1:9092".into()),
//!         authentication: Some(StreamsKafkaAuthentication {
//!             mechanism: Some("SCRAM-256".into()),
//!             username: Some("app".into()),
//!             password: Some(SecretString::new(password)),
//!             ..Default::default()
//!         }),
//!         ..Default::default()
//!     };
//!     client
//!         .create_stream_connection("32b6e34b3d91647abb20e7b8", "my-instance", &kafka.into())
//!         .await?;
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let atlas = LocalAtlas::builder().record_secrets(true).start().await?;
//! let (public, private) = atlas.api_key();
//! let client = Client::builder()
//!     .base_url(atlas.base_url())
//!     .api_key(public, private.clone())
//!     .build()?;
//! connect_events(&client, "hunter2").await?;
//!
//! // One call (the Digest probe before it is authentication traffic).
//! let calls = atlas.calls();
//! assert_eq!(calls.len(), 1);
//! let Some(StreamsConnection::Kafka(sent)) = calls[0].sent_connection() else {
//!     panic!("not a Kafka connection: {calls:?}");
//! };
//! let password = sent.authentication.and_then(|a| a.password);
//! assert_eq!(password.as_ref().map(SecretString::expose_secret), Some("hunter2"));
//!
//! // Atlas stores (and answers) it without the password.
//! let StreamsConnection::Kafka(stored) = &atlas.connections()[0].connection else {
//!     panic!("not a Kafka connection");
//! };
//! assert_eq!(stored.bootstrap_servers.as_deref(), Some("broker-1:9092"));
//! assert!(stored.authentication.as_ref().is_some_and(|a| a.password.is_none()));
//! # Ok(()) }
//! ```
//!
//! What it does, in the order it does it, for each request:
//!
//! 1. records it ([`LocalAtlas::requests`]; `Authorization` values keep only
//!    their scheme, bodies lose their write-only members unless
//!    [`LocalAtlasBuilder::record_secrets`] keeps them too, as secrets;
//!    [`LocalAtlas::calls`] gives those that reached the operation);
//! 2. answers an injected failure if one is queued
//!    ([`LocalAtlas::respond_next`]) or the request is the period's
//!    ([`LocalAtlas::respond_every`]), whatever the path (the token endpoint
//!    included) and before authentication;
//! 3. routes: `POST /api/oauth/token`, `POST /api/oauth/revoke`, and the
//!    operations of the spec's `paths` (a route table read from the embedded
//!    spec: `POST` and `GET` on
//!    `/api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections`,
//!    `GET`, `PATCH` and `DELETE` on `…/connections/{connectionName}`);
//!    another path is `404 RESOURCE_NOT_FOUND`, another method on a known
//!    path `405 METHOD_NOT_ALLOWED` with `Allow` naming the path's methods;
//! 4. authenticates: HTTP Digest with the API key (`realm="MMS Public API"`,
//!    MD5, `qop="auth"`; nonces expire after the nonce lifetime, and a right
//!    answer to an expired nonce earns a new challenge with `stale=true`; a
//!    nonce count is accepted once per nonce, or, with
//!    [`NonceCountCheck::Increasing`], only above the last one accepted for
//!    its nonce; a count refused earns a new challenge without `stale`), or a
//!    bearer token from the
//!    token endpoint (expiring after the token lifetime, refused once
//!    revoked). The first use of a nonce or token is always accepted, so a
//!    zero lifetime makes them single-use. Otherwise `401` with an Atlas
//!    error body and a Digest challenge;
//! 5. limits the rate, when told ([`LocalAtlasBuilder::rate_limit`]): an
//!    authenticated request over its project's limit is `429 RATE_LIMITED`
//!    with `Retry-After` (counted by [`LocalAtlas::throttled`]);
//! 6. resolves the API version of the operation, as Atlas does: `Accept` of
//!    `application/vnd.atlas.<YYYY-MM-DD>+json` is served by the newest of
//!    the operation's versions (as the version table
//!    [`versions_of`](crate::versions_of) lists them) not after that date,
//!    the rule the client applies to pins
//!    ([`OperationVersions::resolve_any`](crate::OperationVersions::resolve_any)),
//!    so `2025-03-12` gets `2023-02-01` while that is the newest; absent,
//!    `*/*`, `application/*` or `application/json` gets the oldest version.
//!    A date before every version, a day that does not exist, a version
//!    that is no date nor `preview` (or a preview the operation lacks), a
//!    form other than `+json`, or no acceptable media type at all is `406
//!    INVALID_VERSION_DATE`. A `Content-Type` naming a version resolves the
//!    same way and chooses the schema the body is checked against
//!    (otherwise the version answered in does); a version it names that
//!    does not resolve is `415 INVALID_VERSION_DATE`. Operations without a
//!    body (list, get, delete) do not look at `Content-Type`;
//! 7. checks the project id (`groupId`) against the spec's pattern (`400
//!    INVALID_GROUP_ID`),
//!    and, once instances are declared ([`LocalAtlasBuilder::instance`]),
//!    that the instance exists (`404 STREAM_TENANT_NOT_FOUND_FOR_NAME`);
//! 8. for create and update, checks the body against the spec's request
//!    schema, walked generically
//!    (`$ref`, `allOf`, the discriminated `oneOf` by its mapping, `type`,
//!    `enum`, `pattern`, `properties`, `additionalProperties`, `items`;
//!    `readOnly` members are ignored): not JSON is `400 MALFORMED_JSON`; an
//!    unknown kind, a wrong type, a value outside an `enum` or `pattern` is
//!    `400 INVALID_ATTRIBUTE` with `badRequestDetail.fields` naming each
//!    field by its dotted path (`authentication.password`); a connection
//!    without a `name` is `400 MISSING_ATTRIBUTE` (Atlas needs one, though
//!    the spec does not say so). A `Content-Type` that names no Atlas
//!    version (`application/json`, or none) is not checked. A `state`
//!    member sent is dropped, as read-only;
//! 9. serves the operation:
//!    - **create** refuses a `name` the instance already has, one being
//!      deleted included (`409 DUPLICATE_STREAM_CONNECTION`), stores the
//!      connection without its `readOnly` and `writeOnly` members and with
//!      `links` added, typed ([`StoredConnection`]; should the typed
//!      connection not read it, `400 INVALID_ATTRIBUTE`), and answers `200`
//!      with it;
//!    - **get** answers `200` with the stored connection;
//!    - **list** answers `200` with a page of the instance's connections in
//!      creation order: `itemsPerPage` (default 100, 1 to 500) and
//!      `pageNum` (default 1, from 1) as the spec bounds them, a value
//!      outside those or not an integer being `400 VALIDATION_ERROR` (no
//!      public evidence shows Atlas's code; it is the `400` code the spec
//!      documents); `{"links", "results", "totalCount"}`, the links `self`,
//!      and `previous` and `next` when those pages exist, each with
//!      `pageNum` and `itemsPerPage` (Atlas's Go client reads the page from
//!      `self` and stops where `next` is missing); a page past the end is
//!      empty;
//!    - **update** (`PATCH`) takes the whole connection, checked as a
//!      create's; then `404` when missing, `409
//!      STREAM_KAFKA_CONNECTION_IS_DEPLOYING` while it is `PENDING` or
//!      `DELETING` (Atlas refuses a delete so, the Terraform provider's
//!      logs show; that it refuses an update so too is the double's
//!      assumption), and `400 INVALID_ATTRIBUTE` (field `name` or `type`)
//!      for a body naming another connection or another kind, choices of
//!      the double (Atlas's answers are not public). **Write-only members
//!      the body omits keep their stored values** (a password sent once is
//!      not lost by an update that leaves it out; one sent replaces it; an
//!      object left out, `authentication` say, takes its members with it):
//!      Atlas does not document this, and it is the double's assumption.
//!      Answers `200` with the connection as stored;
//!    - **delete** answers `202` without a body (nor `Content-Type`; the
//!      spec declares the media type without a schema); `409
//!      STREAM_KAFKA_CONNECTION_IS_DEPLOYING` while `PENDING` or `DELETING`;
//!
//!    the get, update and delete of a connection the instance lacks are
//!    `404 STREAM_CONNECTION_NOT_FOUND_FOR_NAME`, "Stream connection with
//!    name {connectionName} for project {groupId} and name {tenantName} not
//!    found.", as Atlas answers. Answers are in the media type of the
//!    version resolved at step 6 (the answer's `Content-Type` names the
//!    version served: `application/vnd.atlas.2023-02-01+json` to a request
//!    that asked for `2025-03-12`); `pretty=true` indents them, and
//!    `envelope=true` wraps any answer of the API path in `{"status",
//!    "content"}` with HTTP `200`, but for a list's page, which gets its
//!    `status` member instead (as Atlas's lists do).
//!
//! Every connection answered carries a read-only `state` (newer Atlas
//! releases add it): `PENDING`, `READY`, `DELETING` or `FAILED`
//! ([`ConnectionState`]). A Kafka connection whose `networking.access.type`
//! is not `PUBLIC` (`VPC`, `PRIVATE_LINK`…) deploys asynchronously: after a
//! create or an update it is `PENDING` for the deployment time
//! ([`LocalAtlasBuilder::deployment_time`], default
//! [`DEFAULT_DEPLOYMENT_TIME`]), then `READY` (or `FAILED`, once
//! [`LocalAtlas::fail_next_deployment`] asked); after a delete it is
//! `DELETING` for that time, then gone. Every other connection is `READY`
//! at once and deleted at once. States are computed from the time when
//! read: no task runs in the background.
//!
//! Every response carries the `Sunset` and `Deprecation` headers set with
//! [`LocalAtlas::set_sunset`] and [`LocalAtlas::set_deprecation`]. The server
//! stops when the [`LocalAtlas`] is dropped.

mod auth;
mod limit;
mod media;
mod routes;
mod server;
mod state;
mod validate;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::SecretString;
use crate::auth::digest::random_hex;

pub use auth::NonceCountCheck;
pub use state::{Failure, RecordedRequest, StoredConnection};
// The client's type: the states the local Atlas answers are those it reads.
pub use crate::wait::ConnectionState;

/// How long a Digest nonce lives unless told otherwise.
pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// How long an access token lives unless told otherwise (Atlas: one hour).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// How long an asynchronous deployment or teardown takes unless told
/// otherwise ([`LocalAtlasBuilder::deployment_time`]): one second, long
/// enough for a test to see `PENDING`, short enough to wait for.
pub const DEFAULT_DEPLOYMENT_TIME: Duration = Duration::from_secs(1);

/// A running local Atlas. Stops when dropped. `Debug` shows the public key
/// and client id, never the private key or the client secret.
pub struct LocalAtlas {
    base_url: String,
    shared: Arc<server::Shared>,
    api_key: (String, SecretString),
    service_account: (String, SecretString),
    task: JoinHandle<()>,
}

/// Settings for a [`LocalAtlas`]; see [`LocalAtlas::builder`].
#[derive(Clone, Default)]
pub struct LocalAtlasBuilder {
    api_key: Option<(String, SecretString)>,
    service_account: Option<(String, SecretString)>,
    nonce_lifetime: Option<Duration>,
    nonce_count_check: NonceCountCheck,
    token_lifetime: Option<Duration>,
    instances: Vec<(String, String)>,
    record_secrets: bool,
    port: u16,
    deployment_time: Option<Duration>,
    rate_limit: Option<(u32, u32, Duration)>,
}

impl fmt::Debug for LocalAtlasBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalAtlasBuilder")
            .field("public_key", &self.api_key.as_ref().map(|k| &k.0))
            .field("client_id", &self.service_account.as_ref().map(|s| &s.0))
            .field("nonce_lifetime", &self.nonce_lifetime)
            .field("nonce_count_check", &self.nonce_count_check)
            .field("token_lifetime", &self.token_lifetime)
            .field("instances", &self.instances)
            .field("record_secrets", &self.record_secrets)
            .field("port", &self.port)
            .field("deployment_time", &self.deployment_time)
            .field("rate_limit", &self.rate_limit)
            .finish_non_exhaustive()
    }
}

impl LocalAtlasBuilder {
    /// The API key Digest requests must answer with. By default a random
    /// pair (see [`LocalAtlas::api_key`]).
    pub fn api_key(
        mut self,
        public_key: impl Into<String>,
        private_key: impl Into<SecretString>,
    ) -> Self {
        self.api_key = Some((public_key.into(), private_key.into()));
        self
    }

    /// The service account the token endpoint accepts. By default a random
    /// one (see [`LocalAtlas::service_account`]).
    pub fn service_account(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        self.service_account = Some((client_id.into(), client_secret.into()));
        self
    }

    /// How long a Digest nonce is accepted after it was issued (default
    /// [`DEFAULT_NONCE_LIFETIME`]). Its first use is always accepted, so
    /// `Duration::ZERO` makes every nonce stale at its second use.
    pub fn nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = Some(lifetime);
        self
    }

    /// How Digest nonce counts are checked (default
    /// [`NonceCountCheck::Unique`]); [`NonceCountCheck::Increasing`] refuses
    /// counts that arrive out of order, as strict servers do (Apache
    /// httpd's `AuthDigestNcCheck On`, more strictly still).
    pub fn nonce_count_check(mut self, check: NonceCountCheck) -> Self {
        self.nonce_count_check = check;
        self
    }

    /// How long an access token is accepted after it was issued (default
    /// [`DEFAULT_TOKEN_LIFETIME`]); `expires_in` says it in whole seconds.
    /// Its first use is always accepted, so `Duration::ZERO` makes tokens
    /// single-use.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = Some(lifetime);
        self
    }

    /// Declares a stream instance: `tenant_name` in the project `group_id`.
    /// Once one is declared, connections to an undeclared instance are
    /// `404`; with none, every instance exists.
    pub fn instance(mut self, group_id: impl Into<String>, tenant_name: impl Into<String>) -> Self {
        self.instances.push((group_id.into(), tenant_name.into()));
        self
    }

    /// Whether to keep each request body as sent, write-only members
    /// (passwords, keys) and revoke tokens included, for tests that assert
    /// on what their code sent: see [`RecordedRequest::sent_body`] and
    /// [`RecordedRequest::sent_connection`]. Off by default: only the body
    /// without secrets is kept ([`RecordedRequest::body`]). Kept bodies are
    /// [`SecretString`]s, which `Debug` never shows; credentials in headers
    /// (`Authorization`) are never kept, whatever this says.
    pub fn record_secrets(mut self, record: bool) -> Self {
        self.record_secrets = record;
        self
    }

    /// How long a Kafka connection with private networking (its
    /// `networking.access.type` other than `PUBLIC`: `VPC`,
    /// `PRIVATE_LINK`...) stays `PENDING` after a create or an update
    /// before it is `READY` (or `FAILED`:
    /// [`LocalAtlas::fail_next_deployment`]), and `DELETING` after a delete
    /// before it is gone (default [`DEFAULT_DEPLOYMENT_TIME`]). Every other
    /// connection is `READY` at once and deleted at once. States are
    /// computed from the time when read; `Duration::ZERO` makes every
    /// deployment end at once.
    pub fn deployment_time(mut self, time: Duration) -> Self {
        self.deployment_time = Some(time);
        self
    }

    /// Limits requests as Atlas does ("Atlas Administration API Rate
    /// Limits"): a token bucket per project (`groupId`), for all connection
    /// operations together, that holds at most `capacity` tokens, starts
    /// full, loses one per request admitted and gets `refill_rate` back
    /// every `refill_every`. A request that finds it empty is answered
    /// `429` with Atlas's `RATE_LIMITED_TOKEN_BUCKET` body (its `detail` and
    /// `parameters` give the wait, the capacity and the refill rate) and
    /// the `Retry-After` (whole seconds, rounded up, never 0),
    /// `RateLimit-Limit` and `RateLimit-Remaining` headers, and is counted
    /// by [`LocalAtlas::throttled`]. Off by default.
    ///
    /// Only authenticated requests take a token (a Digest probe costs
    /// nothing); a refused one takes none, and is not a call
    /// ([`RecordedRequest::is_call`]): it did not reach the operation.
    pub fn rate_limit(mut self, capacity: u32, refill_rate: u32, refill_every: Duration) -> Self {
        self.rate_limit = Some((capacity, refill_rate, refill_every));
        self
    }

    /// The port to listen on, on `127.0.0.1` (never another address).
    /// Default 0: a free port, which tests want; a fixed one is for a
    /// standalone server other tools are pointed at (`streams local-atlas
    /// --port`), and [`start`](Self::start) fails if it is taken.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds `127.0.0.1` on the port (by default a free one) and starts
    /// serving on the current Tokio runtime, which needs its I/O and time
    /// drivers, as the `Client` does (`#[tokio::main]`, or
    /// `Builder::enable_all()`). The server runs on that runtime's tasks
    /// until the [`LocalAtlas`] is dropped.
    ///
    /// # Errors
    ///
    /// Called outside a Tokio runtime (an error rather than a panic), or
    /// when `127.0.0.1` cannot be bound on the port: a fixed
    /// [`port`](Self::port) another process holds is
    /// [`AddrInUse`](std::io::ErrorKind::AddrInUse). An error of kind
    /// [`InvalidData`](std::io::ErrorKind::InvalidData) says the spec built
    /// into the crate lacks the operation, a defect of the build.
    ///
    /// # Examples
    ///
    /// A project with one declared instance: a connection to another
    /// instance is `404`, as on Atlas.
    ///
    /// ```
    /// use atlas_stream_connections::local_atlas::LocalAtlas;
    /// use atlas_stream_connections::{Client, types};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let project = "32b6e34b3d91647abb20e7b8";
    /// let atlas = LocalAtlas::builder().instance(project, "solar").start().await?;
    /// let (client_id, client_secret) = atlas.service_account();
    /// let client = Client::builder()
    ///     .base_url(atlas.base_url())
    ///     .service_account(client_id, client_secret.clone())
    ///     .build()?;
    /// let sample: types::StreamsConnection = types::StreamsSampleConnection {
    ///     name: Some("sample_stream_solar".into()),
    ///     ..Default::default()
    /// }
    /// .into();
    ///
    /// client.create_stream_connection(project, "solar", &sample).await?;
    /// let error = client
    ///     .create_stream_connection(project, "lunar", &sample)
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
    /// assert_eq!(error.error_code(), Some("STREAM_TENANT_NOT_FOUND_FOR_NAME"));
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> std::io::Result<LocalAtlas> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| std::io::Error::other(format!("LocalAtlas needs a Tokio runtime: {e}")))?;
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let api_key = self
            .api_key
            .unwrap_or_else(|| (random_public_key(), SecretString::new(random_hex(18))));
        let service_account = self.service_account.unwrap_or_else(|| {
            (
                format!("mdb_sa_id_{}", random_hex(12)),
                SecretString::new(format!("mdb_sa_sk_{}", random_hex(20))),
            )
        });
        let authenticator = auth::Authenticator::new(
            api_key.clone(),
            service_account.clone(),
            self.nonce_lifetime.unwrap_or(DEFAULT_NONCE_LIFETIME),
            self.token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME),
        )
        .with_nonce_count_check(self.nonce_count_check);
        let mut state = state::State::default();
        state.instances.extend(self.instances);
        state.deployment_time = self.deployment_time.unwrap_or(DEFAULT_DEPLOYMENT_TIME);
        state.limiter = self
            .rate_limit
            .map(|(capacity, rate, every)| limit::RateLimiter::new(capacity, rate, every));
        let shared = Arc::new(server::Shared::new(
            base_url.clone(),
            authenticator,
            state,
            self.record_secrets,
        )?);
        let task = runtime.spawn(server::serve(listener, shared.clone()));
        Ok(LocalAtlas {
            base_url,
            shared,
            api_key,
            service_account,
            task,
        })
    }
}

/// Eight lowercase letters, like an Atlas public key.
fn random_public_key() -> String {
    random_hex(8)
        .bytes()
        .take(8)
        .map(|b| char::from(b'a' + b % 26))
        .collect()
}

impl LocalAtlas {
    /// Settings for a local Atlas.
    pub fn builder() -> LocalAtlasBuilder {
        LocalAtlasBuilder::default()
    }

    /// A local Atlas with the defaults: on a free port, random
    /// credentials, every instance existing. The same as
    /// `LocalAtlas::builder().start()`.
    ///
    /// # Errors
    ///
    /// As [`LocalAtlasBuilder::start`]: outside a Tokio runtime, or when
    /// `127.0.0.1` cannot be bound.
    ///
    /// # Examples
    ///
    /// A client for it, authenticating with the API key it made up; the
    /// connection created is the one it stores.
    ///
    /// ```
    /// use atlas_stream_connections::local_atlas::LocalAtlas;
    /// use atlas_stream_connections::{Client, types};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let atlas = LocalAtlas::start().await?;
    /// let (public_key, private_key) = atlas.api_key();
    /// let client = Client::builder()
    ///     .base_url(atlas.base_url())
    ///     .api_key(public_key, private_key.clone())
    ///     .build()?;
    ///
    /// let sample = types::StreamsSampleConnection {
    ///     name: Some("sample_stream_solar".into()),
    ///     ..Default::default()
    /// };
    /// let created = client
    ///     .create_stream_connection("32b6e34b3d91647abb20e7b8", "my-instance", &sample.into())
    ///     .await?;
    /// assert_eq!(created.kind(), "Sample");
    /// assert_eq!(atlas.connections()[0].connection, created);
    /// # Ok(()) }
    /// ```
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:<port>`, for `ClientBuilder::base_url`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The API key it accepts: public key and private key.
    pub fn api_key(&self) -> (&str, &SecretString) {
        (&self.api_key.0, &self.api_key.1)
    }

    /// The service account it accepts: client id and client secret.
    pub fn service_account(&self) -> (&str, &SecretString) {
        (&self.service_account.0, &self.service_account.1)
    }

    /// Every request received so far, in arrival order (the latest 10 000,
    /// and no more than 64 MiB of them): the authentication traffic too
    /// (token requests, Digest probes and the other `401`s), and requests
    /// answered with an injected failure; [`calls`](Self::calls) leaves
    /// those out. Create and update bodies are recorded without their write-only
    /// members (passwords, keys), and credentials in headers and revoke
    /// bodies are redacted; [`LocalAtlasBuilder::record_secrets`] keeps the
    /// bodies as sent too, as secrets.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.iter().cloned().collect()
    }

    /// The calls your code made, in arrival order: the recorded requests
    /// that were authenticated and so reached the operation, whatever it
    /// answered ([`RecordedRequest::is_call`]). A Digest create is recorded
    /// as two requests, the unauthenticated probe (`401`) and the call; a
    /// service account's as a token request and the call; here, only the
    /// call. Requests answered by an injected failure
    /// ([`respond_next`](Self::respond_next)) are answered before
    /// authentication and are not calls: [`requests`](Self::requests) has
    /// them.
    pub fn calls(&self) -> Vec<RecordedRequest> {
        let state = self.shared.state();
        state
            .requests
            .iter()
            .filter(|r| r.is_call())
            .cloned()
            .collect()
    }

    /// The connections stored now, in creation order (an update keeps a
    /// connection's place; a deleted one is here while `DELETING`, and left
    /// out once gone), as a GET answers them now: typed
    /// ([`StoredConnection::connection`]), as JSON
    /// ([`StoredConnection::json`]), and with their state
    /// ([`StoredConnection::state`]).
    pub fn connections(&self) -> Vec<StoredConnection> {
        let mut state = self.shared.state();
        state.settle(Instant::now());
        state.connections.iter().map(|e| e.snapshot()).collect()
    }

    /// The state of `project`'s connection `name` in `instance` now, as a
    /// GET would answer it; `None` when there is no such connection (or no
    /// longer: a deletion that has ended).
    pub fn connection_state(
        &self,
        project: &str,
        instance: &str,
        name: &str,
    ) -> Option<ConnectionState> {
        let mut state = self.shared.state();
        state.settle(Instant::now());
        let index = state.find(project, instance, name)?;
        state.connections.get(index).map(|e| e.phase.state())
    }

    /// Changes the deployment time
    /// ([`LocalAtlasBuilder::deployment_time`]) for the deployments and
    /// deletions that start from now on (those under way end when they were
    /// due to): a test can create a connection that is `READY` at once,
    /// then watch its deletion at leisure.
    pub fn set_deployment_time(&self, time: Duration) {
        self.shared.state().deployment_time = time;
    }

    /// Makes the next deployment (the next create or update, of any
    /// connection) end `FAILED`: after the deployment time for a connection
    /// that deploys asynchronously (`PENDING` until then), at once for any
    /// other. Asking twice before a deployment fails it once.
    pub fn fail_next_deployment(&self) {
        self.shared.state().fail_next_deployment = true;
    }

    /// How many `429`s were answered: by the rate limiter
    /// ([`LocalAtlasBuilder::rate_limit`]) and by injected
    /// [`Failure::TooManyRequests`].
    pub fn throttled(&self) -> u64 {
        self.shared.state().throttled
    }

    /// Answers the next `count` requests (to any path) with `failure`,
    /// after those already queued.
    ///
    /// # Examples
    ///
    /// Two `429`s: the client waits as `Retry-After` says (here no time),
    /// retries, and its third attempt creates the connection.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use atlas_stream_connections::local_atlas::{Failure, LocalAtlas};
    /// use atlas_stream_connections::{Client, types};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let atlas = LocalAtlas::start().await?;
    /// let (public_key, private_key) = atlas.api_key();
    /// let client = Client::builder()
    ///     .base_url(atlas.base_url())
    ///     .api_key(public_key, private_key.clone())
    ///     .retry_backoff(Duration::from_millis(1), Duration::from_secs(1))
    ///     .build()?;
    /// let sample = types::StreamsSampleConnection {
    ///     name: Some("sample_stream_solar".into()),
    ///     ..Default::default()
    /// };
    ///
    /// let throttled = Failure::TooManyRequests { retry_after: Duration::ZERO };
    /// atlas.respond_next(2, throttled);
    /// client
    ///     .create_stream_connection("32b6e34b3d91647abb20e7b8", "my-instance", &sample.into())
    ///     .await?;
    ///
    /// let statuses: Vec<u16> = atlas.requests().iter().map(|r| r.status).collect();
    /// assert_eq!(statuses[..2], [429, 429]);
    /// assert_eq!(statuses.last(), Some(&200));
    /// # Ok(()) }
    /// ```
    pub fn respond_next(&self, count: usize, failure: Failure) {
        let mut state = self.shared.state();
        if count > 0 {
            state.failures.push_back((failure, count));
        }
    }

    /// Answers every `period`-th request from now on (to any path, counted
    /// from this call; the first failure goes to the `period`-th request)
    /// with `failure`, for soak tests of retries; `period` 0 stops. Requests
    /// queued by [`respond_next`](Self::respond_next) are counted too, and
    /// answered with the queued failure.
    pub fn respond_every(&self, period: usize, failure: Failure) {
        self.shared.state().every = (period > 0).then_some((failure, period, 0));
    }

    /// Adds `Sunset: <value>` to every response from now on (`None` stops).
    pub fn set_sunset(&self, sunset: Option<String>) {
        self.shared.state().sunset = sunset;
    }

    /// Adds `Deprecation: <value>` to every response from now on (`None`
    /// stops).
    pub fn set_deprecation(&self, deprecation: Option<String>) {
        self.shared.state().deprecation = deprecation;
    }
}

impl fmt::Debug for LocalAtlas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalAtlas")
            .field("base_url", &self.base_url)
            .field("public_key", &self.api_key.0)
            .field("private_key", &self.api_key.1)
            .field("client_id", &self.service_account.0)
            .field("client_secret", &self.service_account.1)
            .finish_non_exhaustive()
    }
}

impl Drop for LocalAtlas {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The lock, recovered if a handler panicked while holding it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
