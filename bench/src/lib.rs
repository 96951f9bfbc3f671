//! The benchmark suite of `atlas-stream-connections` (issue 13): each figure
//! the crate promises measured against its baseline **in the same run**,
//! round by round, so that the ratio survives a shared, noisy machine where
//! absolute times do not. `benches/table.rs` prints the table (README.md);
//! `benches/detail.rs` (feature `detail`) shows each side alone with divan.
//!
//! The workloads and how they are measured live here, one module each, so
//! that both bench targets run exactly the same code:
//!
//! - [`fixtures`]: the seed's request and seven `200` responses;
//! - [`server`]: a loopback hyper server answering the seed's Kafka `200`;
//! - [`call`]: one create call through the crate and through raw reqwest;
//! - [`codec`]: decoding and encoding the seven responses, typed and as a
//!   `serde_json::Value`;
//! - [`counted`]: Digest exchanges per call and token requests per burst,
//!   counted by the crate's `local_atlas`;
//! - [`clean_build`]: clean debug builds of the library and of a crate with
//!   its HTTP and serde dependencies only;
//! - [`rounds`]: interleaved rounds and their medians;
//! - [`report`]: the Markdown table.
//!
//! Only the crate's public API is used, and every server binds `127.0.0.1`.

pub mod call;
pub mod clean_build;
pub mod codec;
pub mod counted;
pub mod fixtures;
pub mod report;
pub mod rounds;
pub mod server;

/// The error of a benchmark's setup or run: a message saying what failed.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;
