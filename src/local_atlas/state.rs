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
    /// The bytes this record holds, as counted against
    /// [`MAX_RECORDED_BYTES`]: body, header names and values, method, path
    /// and query.
    pub(crate) fn size(&self) -> usize {
        let headers: usize = self.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        self.body.len()
            + headers
            + self.method.len()
            + self.path.len()
            + self.query.as_ref().map_or(0, String::len)
    }

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
/// fields removed, `links` added). `Debug` shows it as the typed connection
/// does: the keys of its free-form maps (webhook headers, Kafka config),
/// never their values.
#[derive(Clone, PartialEq)]
pub struct StoredConnection {
    /// The project (`groupId`).
    pub group_id: String,
    /// The stream instance (`tenantName`).
    pub tenant_name: String,
    /// The connection.
    pub connection: Value,
}

impl std::fmt::Debug for StoredConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = f.debug_struct("StoredConnection");
        shown
            .field("group_id", &self.group_id)
            .field("tenant_name", &self.tenant_name);
        // Stored connections passed validation, so they decode; should one
        // not, its member names alone.
        match serde_json::from_value::<crate::types::StreamsConnection>(self.connection.clone()) {
            Ok(connection) => shown.field("connection", &connection),
            Err(_) => shown.field(
                "connection",
                &self
                    .connection
                    .as_object()
                    .map(|o| o.keys().collect::<Vec<_>>()),
            ),
        };
        shown.finish()
    }
}

/// The mutable state, behind one lock.
#[derive(Default)]
pub(crate) struct State {
    /// Declared instances as `(groupId, tenantName)`: project and instance
    /// name; empty means "any instance".
    pub instances: HashSet<(String, String)>,
    /// Connections in creation order.
    pub connections: Vec<StoredConnection>,
    /// Failures to answer the next requests with, first first, as
    /// `(failure, how many more times)` runs.
    pub failures: VecDeque<(Failure, usize)>,
    /// A failure answered to every `period`-th request: `(failure, period,
    /// requests counted since it was set)`.
    pub every: Option<(Failure, usize, usize)>,
    /// `Sunset` header value added to every response.
    pub sunset: Option<String>,
    /// `Deprecation` header value added to every response.
    pub deprecation: Option<String>,
    /// The latest requests, in arrival order: at most [`MAX_RECORDED`] of
    /// them, of at most [`MAX_RECORDED_BYTES`] together.
    pub requests: VecDeque<RecordedRequest>,
    /// The size of `requests`, as [`RecordedRequest::size`] counts it.
    pub recorded_bytes: usize,
    /// Names per instance, for duplicate detection.
    pub names: HashMap<(String, String), HashSet<String>>,
}

/// How many requests are remembered; older ones are forgotten first, so a
/// long-running double does not grow without bound.
pub const MAX_RECORDED: usize = 10_000;

/// How many bytes of requests (bodies, headers, paths: see
/// [`RecordedRequest::size`]) are remembered, 64 MiB; older requests are
/// forgotten first. With bodies of at most 1 MiB (larger ones are refused
/// with `413` and recorded without their body) the latest 64 requests at
/// least are always kept, and 10 000 typical ones (a few kilobytes each).
pub const MAX_RECORDED_BYTES: usize = 64 * 1024 * 1024;

impl State {
    /// The failure to answer the next request with, if one is queued or
    /// this request is the period's.
    pub fn next_failure(&mut self) -> Option<Failure> {
        let periodic = self.every.as_mut().and_then(|(failure, period, counted)| {
            *counted += 1;
            (*counted % *period == 0).then_some(*failure)
        });
        let Some((failure, remaining)) = self.failures.front_mut() else {
            return periodic;
        };
        let failure = *failure;
        *remaining -= 1;
        if *remaining == 0 {
            self.failures.pop_front();
        }
        Some(failure)
    }

    /// Remembers `request`, forgetting the oldest beyond [`MAX_RECORDED`]
    /// requests or [`MAX_RECORDED_BYTES`].
    pub fn record(&mut self, request: RecordedRequest) {
        let size = request.size();
        while !self.requests.is_empty()
            && (self.requests.len() >= MAX_RECORDED
                || self.recorded_bytes.saturating_add(size) > MAX_RECORDED_BYTES)
        {
            if let Some(oldest) = self.requests.pop_front() {
                self.recorded_bytes = self.recorded_bytes.saturating_sub(oldest.size());
            }
        }
        self.recorded_bytes = self.recorded_bytes.saturating_add(size);
        self.requests.push_back(request);
    }

    /// Whether `instance` of `project` may hold
    /// connections.
    pub fn knows_instance(&self, project: &str, instance: &str) -> bool {
        self.instances.is_empty()
            || self
                .instances
                .contains(&(project.to_owned(), instance.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: usize) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/p".into(),
            query: Some("q".into()),
            headers: vec![("a".into(), "bc".into())],
            body: vec![b'x'; body],
            status: 200,
        }
    }

    #[test]
    fn a_request_counts_its_body_headers_method_path_and_query() {
        assert_eq!(request(10).size(), 10 + 3 + 4 + 2 + 1);
        let bare = RecordedRequest {
            query: None,
            headers: Vec::new(),
            ..request(0)
        };
        assert_eq!(bare.size(), 4 + 2);
    }

    #[test]
    fn requests_filling_the_log_exactly_are_all_kept() {
        let mut state = State::default();
        let quarter = request(MAX_RECORDED_BYTES / 4 - request(0).size());
        for _ in 0..4 {
            state.record(quarter.clone());
        }
        assert_eq!(state.recorded_bytes, MAX_RECORDED_BYTES);
        assert_eq!(state.requests.len(), 4);
        state.record(request(0));
        assert_eq!(state.requests.len(), 4, "the oldest made room");
    }

    #[test]
    fn the_log_keeps_the_latest_requests_within_its_bytes() {
        let mut state = State::default();
        let big = 1 << 20;
        let size = request(big).size();
        for status in 0..100 {
            state.record(RecordedRequest {
                status,
                ..request(big)
            });
            assert!(state.recorded_bytes <= MAX_RECORDED_BYTES);
        }
        let kept = MAX_RECORDED_BYTES / size;
        assert_eq!(kept, 63, "64 MiB of 1 MiB bodies and a few bytes more");
        assert_eq!(state.requests.len(), kept);
        assert_eq!(state.recorded_bytes, kept * size);
        assert_eq!(
            state.requests.front().map(|r| r.status),
            Some(100 - kept as u16)
        );
        assert_eq!(state.requests.back().map(|r| r.status), Some(99));
        // Small requests push the big ones out, then count as themselves.
        for _ in 0..MAX_RECORDED {
            state.record(request(0));
        }
        assert_eq!(state.requests.len(), MAX_RECORDED);
        assert_eq!(state.recorded_bytes, MAX_RECORDED * request(0).size());
    }
}
