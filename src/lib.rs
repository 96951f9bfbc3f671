//! A typed client for the MongoDB Atlas Administration API v2 operation
//! **Create One Stream Connection**
//! (`POST /api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections`).
//!
//! The client and its types are generated at build time from a verbatim
//! fragment of the upstream OpenAPI spec (`spec/openapi.json`). A connection
//! is a [`types::StreamsConnection`]: an enum with one variant per kind the
//! spec declares (Kafka, Cluster, Https, AWS Lambda, S3, Kinesis, Sample) and
//! an `Unknown` variant that keeps, whole, a kind a newer server sends.
//! Write-only fields (passwords, client secrets, private keys) are
//! [`SecretString`]s, which never show in `Debug`. Timestamps, dates and
//! UUIDs are [`DateTime`], [`Date`] and [`Uuid`]: the text Atlas sent, kept
//! verbatim so that it goes back unchanged.
//!
//! The docs use one word for each of the path's two parameters: a
//! **project** is what the API calls a group (`groupId`; in Atlas the two
//! are one thing), and an **instance** is the stream processing instance
//! the path calls `tenantName` (the spec says "stream instance"; newer Atlas
//! docs call it a workspace). Parameters keep the API's names, `group_id`
//! and `tenant_name`.
//!
//! A [`Client`] authenticates with one credential (service account, API key
//! or access token; see [`ClientBuilder`]), sends each call in the API
//! version the spec declares or one the caller pins, retries throttled calls,
//! and reports every failure as one [`Error`]. Calls need a Tokio runtime
//! with its I/O and time drivers (`#[tokio::main]`, or
//! `Builder::enable_all()`), as reqwest does.
//!
//! Each exchange is bounded by [`ClientBuilder::timeout`], each call as a
//! whole (token request, Digest challenge, retries and waits) by
//! [`ClientBuilder::call_timeout`] or [`CallOptions::call_timeout`]; both
//! end in [`Error::Timeout`], told apart by
//! [`TransportError::call_timeout`].
//!
//! Each call is a `tracing` span, `atlas.call` (INFO; fields `operation`,
//! `method`, `path`, `api_version`, and at its end `status` or `error`),
//! and each HTTP exchange it makes a span under it, `atlas.exchange`
//! (DEBUG; `kind`: `call`, `retry`, `token`, `digest_probe` or `revoke`;
//! `attempt`, `status`, `elapsed_ms`), so that concurrent calls are told
//! apart. No span or event holds a header, a body or a secret.
//!
//! ```no_run
//! use atlas_stream_connections::{Client, types};
//!
//! # async fn run() -> Result<(), atlas_stream_connections::Error> {
//! // Reads MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET (or an API
//! // key, or an access token) like the Atlas CLI does.
//! let client = Client::from_env()?;
//! let kafka = types::StreamsKafkaConnection {
//!     name: Some("events".into()),
//!     bootstrap_servers: Some("broker-1:9092,broker-2:9092".into()),
//!     ..Default::default()
//! };
//! let created = client
//!     .create_stream_connection("32b6e34b3d91647abb20e7b8", "my-instance", &kafka.into())
//!     .await?;
//! println!("created a {} connection", created.kind());
//! # Ok(())
//! # }
//! ```

// `unsafe` is forbidden, and `unwrap` denied, for every member of the
// workspace (Cargo.toml's [workspace.lints]).
#![warn(missing_docs)]
// docs.rs (Cargo.toml's [package.metadata.docs.rs]) marks feature-gated items.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Generated code names this crate by its absolute path (typify's
// `x-rust-type`), which needs the crate to know itself by that name.
extern crate self as atlas_stream_connections;

pub mod apply;
pub mod atlas_cli;
mod auth;
mod call;
mod client;
mod config;
mod connections;
mod decode;
mod error;
mod formats;
mod generated;
mod path;
mod pattern;
#[cfg(test)]
mod pattern_tests;
mod redact;
mod response;
mod retry;
mod secret;
mod send;
mod state;
mod unknown;
mod versions;
mod wait;

#[cfg(feature = "local-atlas")]
#[cfg_attr(docsrs, doc(cfg(feature = "local-atlas")))]
pub mod local_atlas;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use client::{CallOptions, Client};
pub use config::{
    ALLOW_INSECURE_HTTP_VARIABLE, BASE_URL_VARIABLES, CREDENTIAL_VARIABLES, ClientBuilder,
    Credentials, DEFAULT_BASE_URL, DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, DEFAULT_TOKEN_REFRESH_MARGIN, user_agent,
};
pub use connections::{ConnectionStream, MAX_ITEMS_PER_PAGE, Page};
pub use error::{
    ApiErrorResponse, DecodeError, Error, OAuthError, RateLimit, StateError, TooLargeError,
    TransportError,
};
pub use formats::{Date, DateTime, FormatError, Uuid};
pub use redact::{REDACTED, redacted_json};
pub use response::ApiResponse;
pub use retry::{DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_DELAY, DEFAULT_RETRY_BASE_DELAY};
pub use secret::SecretString;
pub use unknown::UnknownKind;
pub use versions::{ApiVersion, OperationVersions, operation_versions, versions_of};
pub use wait::{ConnectionState, DEPLOYING_ERROR_CODE, Wait};

// The README's Rust examples, compiled and run as doctests (`cargo test
// --doc`) so that they cannot drift from the API; as a struct's docs seen
// only by `cargo test`, since the README's links and its tour of the
// repository are not the crate's docs. xtask/tests/readme.rs also pastes
// them into a new crate, with the README's `Cargo.toml` lines, and runs them.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Request and response types, generated from the spec.
pub mod types {
    pub use crate::generated::types::*;
}
