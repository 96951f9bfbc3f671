//! What the local Atlas remembers between requests: stored connections,
//! declared stream instances, injected failures, extra headers and the
//! requests it saw.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::SecretString;
use crate::types::StreamsConnection;
use crate::wait::ConnectionState;

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
/// length, not the body, and never the body as sent
/// ([`sent_body`](Self::sent_body)).
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
    /// The body without its secrets: a JSON body, whatever its path, loses
    /// a connection's write-only members (passwords, keys, client secrets:
    /// what the spec marks `writeOnly`); the OAuth endpoints' form bodies
    /// have their `token` and `client_secret` replaced by `[REDACTED]`; any
    /// other body (not JSON, so not searchable) is empty. Safe to print. The
    /// body as sent, secrets included, is [`sent_body`](Self::sent_body),
    /// when the local Atlas was told to keep it.
    pub body: Vec<u8>,
    /// The status the local Atlas answered with (inside the envelope, when
    /// one was asked for).
    pub status: u16,
    /// The body as received, secrets included, under
    /// [`LocalAtlasBuilder::record_secrets`](super::LocalAtlasBuilder::record_secrets).
    pub(crate) sent: Option<SecretString>,
    /// Whether the request was authenticated and reached the operation.
    pub(crate) call: bool,
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
            // `SecretString`'s `Debug`: neither the body nor its length.
            .field("sent_body", &self.sent)
            .field("call", &self.call)
            .finish()
    }
}

impl RecordedRequest {
    /// The bytes this record holds, as counted against
    /// [`MAX_RECORDED_BYTES`]: body (and body as sent), header names and
    /// values, method, path and query.
    pub(crate) fn size(&self) -> usize {
        let headers: usize = self.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        let sent = self.sent.as_ref().map_or(0, |s| s.expose_secret().len());
        self.body.len()
            + sent
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

    /// The body as JSON, if it is JSON: [`body`](Self::body), without
    /// secrets.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body exactly as sent, write-only members and revoke tokens
    /// included, as text (bytes that are not UTF-8 replaced by `U+FFFD`); a
    /// request without a body gives the empty text, and so does one whose
    /// body was not read (over 1 MiB: `413`). `None` unless the local
    /// Atlas was built with
    /// [`record_secrets(true)`](super::LocalAtlasBuilder::record_secrets).
    /// A [`SecretString`]: `Debug` never shows it;
    /// [`expose_secret`](SecretString::expose_secret) does.
    pub fn sent_body(&self) -> Option<&SecretString> {
        self.sent.as_ref()
    }

    /// The body as sent, decoded as a connection: its write-only members
    /// are there, as [`SecretString`]s, so the connection can be printed.
    /// `None` unless secrets were recorded (see
    /// [`sent_body`](Self::sent_body)), or when the body is no connection.
    /// Decoded as the client decodes answers: a `pattern` or length the
    /// spec sets is not applied, so a body the local Atlas refused can be
    /// looked at too.
    pub fn sent_connection(&self) -> Option<StreamsConnection> {
        let sent = self.sent.as_ref()?;
        crate::decode::leniently(|| serde_json::from_str(sent.expose_secret()).ok())
    }

    /// Whether this request was a call: it was authenticated (a right
    /// Digest answer, a live bearer token) and so reached the operation,
    /// whatever the answer (`200`, `202`, or a `400`, `404`, `406`, `409` of the
    /// operation). Token and revoke requests, Digest probes and other `401`s
    /// are not; nor are requests answered by an injected failure
    /// ([`LocalAtlas::respond_next`](super::LocalAtlas::respond_next)),
    /// which are answered before authentication, nor those the rate limiter
    /// refused
    /// ([`LocalAtlasBuilder::rate_limit`](super::LocalAtlasBuilder::rate_limit)),
    /// which did not reach the operation.
    pub fn is_call(&self) -> bool {
        self.call
    }
}

/// A connection the local Atlas created, as it answers it (write-only
/// members removed, `links` added). `Debug` shows it as the typed connection
/// does: the keys of its free-form maps (webhook headers, Kafka config),
/// never their values.
#[derive(Clone, PartialEq)]
pub struct StoredConnection {
    /// The project (`groupId`).
    pub group_id: String,
    /// The stream instance (`tenantName`).
    pub tenant_name: String,
    /// The connection, typed: match on its kind
    /// (`StreamsConnection::Kafka(kafka)`) to read its fields. A kind or a
    /// member this crate does not know is kept whole (in `Unknown`, or the
    /// `extra` maps).
    pub connection: StreamsConnection,
    /// The same as JSON, as answered.
    pub(crate) json: Value,
    /// Its deployment state when this copy was taken.
    pub(crate) state: ConnectionState,
    /// The connection as last sent (read-only members removed), write-only
    /// members included, as JSON text.
    pub(crate) sent: SecretString,
}

impl StoredConnection {
    /// Its deployment state when [`LocalAtlas::connections`](super::LocalAtlas::connections)
    /// took this copy, as its `state` member says.
    pub fn state(&self) -> ConnectionState {
        self.state.clone()
    }

    /// The connection as stored with its write-only members (passwords,
    /// keys), which Atlas keeps and never answers: as last sent by a create
    /// or an update, with the members an update omitted kept from before.
    /// Their values are [`SecretString`]s, so it can be printed. Decoded as
    /// [`RecordedRequest::sent_connection`] decodes.
    pub fn sent_connection(&self) -> Option<StreamsConnection> {
        crate::decode::leniently(|| serde_json::from_str(self.sent.expose_secret()).ok())
    }

    /// The connection as the JSON the local Atlas answered (write-only
    /// members removed, `links` added). Its `Debug` shows every value:
    /// prefer [`connection`](Self::connection), or
    /// [`redacted_json`](crate::redacted_json) of it, to print.
    pub fn json(&self) -> &Value {
        &self.json
    }
}

impl std::fmt::Debug for StoredConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not `json`: a `Value` shows the values of free-form maps.
        f.debug_struct("StoredConnection")
            .field("group_id", &self.group_id)
            .field("tenant_name", &self.tenant_name)
            .field("connection", &self.connection)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The instant `time` after `now`: a time too long for the clock (a
/// deployment time of `Duration::MAX`, meaning never) ends a century on.
pub(crate) fn after(now: Instant, time: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(time)
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
}

/// Where a stored connection is, with the instant its current step ends:
/// states are computed from these when read ([`State::settle`]), so no task
/// runs in the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Deploying until `until`; then `FAILED` when `fails`, else `READY`.
    Deploying {
        until: Instant,
        fails: bool,
    },
    Ready,
    Failed,
    /// Being deleted until `until`; then gone.
    Deleting {
        until: Instant,
    },
}

impl Phase {
    pub fn state(self) -> ConnectionState {
        match self {
            Self::Deploying { .. } => ConnectionState::Pending,
            Self::Ready => ConnectionState::Ready,
            Self::Failed => ConnectionState::Failed,
            Self::Deleting { .. } => ConnectionState::Deleting,
        }
    }
}

/// One stored connection.
pub(crate) struct Entry {
    /// The project (`groupId`), decoded.
    pub group_id: String,
    /// The instance (`tenantName`), decoded.
    pub tenant_name: String,
    /// The connection's `name`.
    pub name: String,
    /// As answered, without `state`: write-only members removed, `links`
    /// added.
    pub answered: Value,
    /// As last sent (read-only members removed), write-only members
    /// included: what a PATCH that omits them keeps.
    pub sent: Value,
    /// The typed connection of `answered`, should `answered` with its
    /// `state` not decode.
    pub typed: StreamsConnection,
    pub phase: Phase,
}

impl Entry {
    /// The connection as answered now: `answered` with its `state`.
    pub fn answer(&self) -> Value {
        let mut answer = self.answered.clone();
        if let Some(map) = answer.as_object_mut() {
            map.insert("state".into(), Value::from(self.phase.state().as_str()));
        }
        answer
    }

    /// A copy for [`LocalAtlas::connections`](super::LocalAtlas::connections):
    /// as answered now, typed as the client types answers.
    pub fn snapshot(&self) -> StoredConnection {
        let json = self.answer();
        let connection = crate::decode::leniently(|| {
            <StreamsConnection as serde::Deserialize>::deserialize(&json).ok()
        })
        .unwrap_or_else(|| self.typed.clone());
        StoredConnection {
            group_id: self.group_id.clone(),
            tenant_name: self.tenant_name.clone(),
            connection,
            json,
            state: self.phase.state(),
            sent: SecretString::new(self.sent.to_string()),
        }
    }

    /// Whether it is `project`'s, in `instance`, named `name`.
    pub fn is(&self, project: &str, instance: &str, name: &str) -> bool {
        self.group_id == project && self.tenant_name == instance && self.name == name
    }
}

/// The mutable state, behind one lock.
#[derive(Default)]
pub(crate) struct State {
    /// Declared instances as `(groupId, tenantName)`: project and instance
    /// name; empty means "any instance".
    pub instances: HashSet<(String, String)>,
    /// Connections in creation order (what lists answer in); an update
    /// keeps a connection's place.
    pub connections: Vec<Entry>,
    /// Whether the next deployment ends `FAILED`.
    pub fail_next_deployment: bool,
    /// How long an asynchronous deployment (or teardown) takes.
    pub deployment_time: Duration,
    /// The rate limiter, when one is set.
    pub limiter: Option<super::limit::RateLimiter>,
    /// `429`s sent: by the rate limiter and injected.
    pub throttled: u64,
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
}

/// How many requests are remembered; older ones are forgotten first, so a
/// long-running double does not grow without bound.
pub const MAX_RECORDED: usize = 10_000;

/// How many bytes of requests (bodies, headers, paths: see
/// [`RecordedRequest::size`]) are remembered, 64 MiB; older requests are
/// forgotten first. With bodies of at most 1 MiB (larger ones are refused
/// with `413` and recorded without their body) the latest 64 requests at
/// least are always kept (32 when secrets are recorded too, as a body is
/// then held twice), and 10 000 typical ones (a few kilobytes each).
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

    /// Moves every connection whose step has ended at `now` on: a
    /// deployment to `READY` (or `FAILED`), a deletion to gone.
    pub fn settle(&mut self, now: Instant) {
        for entry in &mut self.connections {
            if let Phase::Deploying { until, fails } = entry.phase
                && until <= now
            {
                entry.phase = if fails { Phase::Failed } else { Phase::Ready };
            }
        }
        self.connections
            .retain(|entry| !matches!(entry.phase, Phase::Deleting { until } if until <= now));
    }

    /// The index of `project`'s connection `name` in `instance`, once
    /// settled.
    pub fn find(&self, project: &str, instance: &str, name: &str) -> Option<usize> {
        self.connections
            .iter()
            .position(|entry| entry.is(project, instance, name))
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
            sent: None,
            call: false,
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
        let with_secrets = RecordedRequest {
            sent: Some(SecretString::new("0123456789")),
            ..request(10)
        };
        assert_eq!(with_secrets.size(), request(10).size() + 10);
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
