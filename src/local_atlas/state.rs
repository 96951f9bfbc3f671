//! What the local Atlas remembers between requests: stored connections,
//! declared stream instances, injected failures, extra headers and the
//! requests it saw.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use serde_json::Value;

/// A failure the local Atlas answers with instead of serving a request; see
/// [`LocalAtlas::respond_next`](super::LocalAtlas::respond_next).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// `429 Too Many Requests` with `Retry-After` in whole seconds (rounded
    /// up) and an Atlas `RATE_LIMITED` error body.
    TooManyRequests {
        /// The delay sent in `Retry-After`.
        retry_after: Duration,
    },
    /// This status (a `500`, `503`...) with an Atlas error body. A number that
    /// is not an HTTP status is answered as `500`.
    Status(u16),
}

/// One request as the local Atlas received it. `Debug` shows the body's
/// length, not the body, which may hold write-only secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method (`POST`).
    pub method: String,
    /// The path, as sent (still percent-encoded).
    pub path: String,
    /// The query string without `?`, if there was one.
    pub query: Option<String>,
    /// Header names (lower case) and values in arrival order. The value of
    /// `Authorization` keeps only its scheme: `Digest [REDACTED]`.
    pub headers: Vec<(String, String)>,
    /// The body as received, except that the `token` a revoke request
    /// carries is replaced by `[REDACTED]`. A connection's body is kept as
    /// sent, write-only fields included.
    pub body: Vec<u8>,
    /// The status the local Atlas answered with (inside the envelope, when
    /// one was asked for).
    pub status: u16,
}

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &self.headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("status", &self.status)
            .finish()
    }
}

impl RecordedRequest {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A connection the local Atlas created, as it answers it (write-only
/// fields removed, `links` added).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConnection {
    /// The project (`groupId`).
    pub group_id: String,
    /// The stream instance (`tenantName`).
    pub tenant_name: String,
    /// The connection.
    pub connection: Value,
}

/// The mutable state, behind one lock.
#[derive(Default)]
pub(crate) struct State {
    /// Declared `(groupId, tenantName)` pairs; empty means "any instance".
    pub instances: HashSet<(String, String)>,
    /// Connections in creation order.
    pub connections: Vec<StoredConnection>,
    /// Failures to answer the next requests with, first first, as
    /// `(failure, how many more times)` runs.
    pub failures: VecDeque<(Failure, usize)>,
    /// `Sunset` header value added to every response.
    pub sunset: Option<String>,
    /// `Deprecation` header value added to every response.
    pub deprecation: Option<String>,
    /// The latest [`MAX_RECORDED`] requests, in arrival order.
    pub requests: VecDeque<RecordedRequest>,
    /// Names per instance, for duplicate detection.
    pub names: HashMap<(String, String), HashSet<String>>,
}

/// How many requests are remembered; older ones are forgotten first, so a
/// long-running double does not grow without bound.
pub const MAX_RECORDED: usize = 10_000;

impl State {
    /// The failure to answer the next request with, if one is queued.
    pub fn next_failure(&mut self) -> Option<Failure> {
        let (failure, remaining) = self.failures.front_mut()?;
        let failure = *failure;
        *remaining -= 1;
        if *remaining == 0 {
            self.failures.pop_front();
        }
        Some(failure)
    }

    /// Remembers `request`, forgetting the oldest beyond [`MAX_RECORDED`].
    pub fn record(&mut self, request: RecordedRequest) {
        if self.requests.len() == MAX_RECORDED {
            self.requests.pop_front();
        }
        self.requests.push_back(request);
    }

    /// Whether `(group, tenant)` may hold connections.
    pub fn knows_instance(&self, group: &str, tenant: &str) -> bool {
        self.instances.is_empty()
            || self
                .instances
                .contains(&(group.to_owned(), tenant.to_owned()))
    }
}
