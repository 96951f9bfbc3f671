//! What the integration tests share: the HTTP server and trace capture of
//! `tests/support/mod.rs`, and the values, fixtures and setup every area
//! uses.

#[path = "../../support/mod.rs"]
mod server;

pub use server::*;
