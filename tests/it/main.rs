//! The crate's integration tests, built as one test binary: one module per
//! area, the setup they share in [`support`]. (One binary links reqwest,
//! hyper and tokio once, where a binary per file linked them eleven times.)

// A test crate: an unwrap that fails is a failed test (Cargo.toml).
#![allow(clippy::unwrap_used)]

mod support;

mod apache_digest;
mod api_key;
mod apply;
mod atlas_cli_profile;
mod call_path;
mod call_timeout;
mod calls;
mod codec;
mod configuration;
mod error_chains;
mod examples;
mod hostile;
mod http;
mod limits;
mod local_atlas;
mod local_atlas_ops;
mod local_atlas_recording;
mod local_atlas_versions;
mod resource;
mod retry_after;
mod service_account;
mod spans;
mod streams_cli;
mod streams_cli_flags;
mod streams_ops;
mod streams_serve;
