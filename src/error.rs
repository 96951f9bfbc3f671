//! The crate's one error type, and the responses it carries.
//!
//! Every variant that involves a request names its method and URL path
//! (never a query string with secrets, never a header), so `Display` alone
//! says what failed and where.
//!
//! `Display` and `source()` follow the convention of Rust's error-handling
//! working group: an error either returns its cause from `source()` or
//! writes the cause's text in its `Display`, never both, so that a report
//! walking the chain (`anyhow`'s `{:#}`, a loop over `source()`) prints
//! each text once. [`Error::Transport`] and [`Error::Timeout`] return
//! theirs: their `Display` says which request failed and how, and *why*
//! (`connection refused`, a TLS failure) is the `source()`, down to the
//! `std::io::Error`; [`Error::with_causes`] writes the whole chain on one
//! line. Every other variant has no source: its `Display` is the whole
//! story.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value};

// The generated data types only: they refer to nothing that reaches back
// here (serde helpers, `SecretString`), so this module stays a leaf.
use crate::types::{ApiError, FieldViolation};

/// Everything that can go wrong with a call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before any I/O.
    InvalidInput {
        /// The parameter at fault.
        parameter: &'static str,
        /// Why it was rejected.
        message: String,
    },
    /// The client's configuration (builder or environment) was rejected
    /// before any I/O.
    Configuration {
        /// What is wrong, naming the settings or variables at fault.
        message: String,
    },
    /// The API answered with an error status not covered by a more specific
    /// variant.
    Api(Box<ApiErrorResponse>),
    /// The credentials were refused: the token endpoint answered with an
    /// error, or the API answered `401` even after a fresh token or Digest
    /// challenge.
    Authentication(Box<ApiErrorResponse>),
    /// `429 Too Many Requests`, after the retries the client is configured
    /// for. [`ApiErrorResponse::retry_after`] says when to come back.
    RateLimited(Box<ApiErrorResponse>),
    /// `410 Gone`: the API version the call asked for has been retired
    /// (`VERSION_GONE`). Pin a newer version, or none.
    VersionGone(Box<ApiErrorResponse>),
    /// A response whose body is not what the spec says (the bytes are kept).
    Decode(Box<DecodeError>),
    /// The request could not be sent, or the response not received. Why
    /// is [`source()`](std::error::Error::source)'s to say (walk the chain
    /// to show it): `Display` names the request only.
    Transport(Box<TransportError>),
    /// The request did not complete in time: one exchange within the
    /// per-exchange timeout ([`ClientBuilder::timeout`](crate::ClientBuilder::timeout);
    /// the cause, reqwest's, is the `source()`), or the whole call within
    /// its call timeout
    /// ([`ClientBuilder::call_timeout`](crate::ClientBuilder::call_timeout),
    /// [`TransportError::call_timeout`] says which; no `source()`). The
    /// server may or may not have acted on it.
    Timeout(Box<TransportError>),
    /// A response body, header or token answer larger than the client reads
    /// (see [`ClientBuilder::max_response_bytes`](crate::ClientBuilder)).
    /// Reading stopped at the limit; with a success status the server has
    /// acted on the request ([`Error::server_succeeded`]).
    TooLarge(Box<TooLargeError>),
    /// A connection did not reach the state waited for: Atlas reports it
    /// `FAILED`, or the wait's time passed first (see
    /// [`Client::wait_for_stream_connection`](crate::Client::wait_for_stream_connection)).
    State(Box<StateError>),
}

/// A connection that did not reach the state waited for.
#[derive(Debug, Clone)]
pub struct StateError {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) state: Option<String>,
    pub(crate) waited: Duration,
    pub(crate) timed_out: bool,
}

impl StateError {
    /// The connection's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The URL path of the connection.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The last state Atlas reported (`FAILED`, or the one it was still in
    /// when the wait's time passed), as on the wire.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }
    /// How long the wait lasted.
    pub fn waited(&self) -> Duration {
        self.waited
    }
    /// Whether the wait's time passed (else Atlas reported a failure).
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }
}

/// An error status from the API or its token endpoint, with the body as
/// received. `Debug` shows the body's length and the headers' names: a
/// proxy's page or an echo may carry what was sent.
#[derive(Clone)]
pub struct ApiErrorResponse {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) error: Option<ApiError>,
    /// What this crate itself reads of an Atlas error body.
    atlas: Option<AtlasErrorBody>,
    pub(crate) oauth: Option<OAuthError>,
    pub(crate) body: Bytes,
    pub(crate) note: Option<String>,
    /// The `429` answers the call got, this one included if it is one.
    pub(crate) throttled: u32,
}

/// The members of Atlas's error body that this crate reads itself, by their
/// wire names, each on its own: a member that is missing, `null` or of
/// another type is absent, and the others are still read.
///
/// The generated [`ApiError`] is the typed view for users; the accessors of
/// [`ApiErrorResponse`] do not go through it, so that a release of the spec
/// that reshapes `ApiError` (a member made optional or nullable, another
/// one required) neither breaks this file nor hides an `errorCode`.
#[derive(Debug, Clone, Default)]
struct AtlasErrorBody {
    error_code: String,
    detail: Option<String>,
    reason: Option<String>,
    /// The `parameters` that are objects (the body keeps every one).
    parameters: Vec<Map<String, Value>>,
    /// The `badRequestDetail.fields` that have the spec's shape.
    fields: Vec<FieldViolation>,
}

impl AtlasErrorBody {
    /// `None` unless `body` is an object with a string `errorCode`.
    fn read(body: &Map<String, Value>) -> Option<Self> {
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        let list =
            |value: Option<&Value>| value.and_then(Value::as_array).cloned().unwrap_or_default();
        Some(Self {
            error_code: text("errorCode")?,
            detail: text("detail"),
            reason: text("reason"),
            parameters: list(body.get("parameters"))
                .into_iter()
                .filter_map(|p| match p {
                    Value::Object(object) => Some(object),
                    _ => None,
                })
                .collect(),
            fields: list(body.get("badRequestDetail").and_then(|d| d.get("fields")))
                .into_iter()
                .filter_map(|f| serde_json::from_value(f).ok())
                .collect(),
        })
    }
}

/// An OAuth 2.0 error body (RFC 6749 §5.2) from the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// `error`: `invalid_client`, `invalid_grant`, ...
    pub error: String,
    /// `error_description`, when sent.
    pub error_description: Option<String>,
}

/// The rate-limit headers of a response (`RateLimit-Limit`,
/// `RateLimit-Remaining`, `RateLimit-Reset`), those that were present and
/// numeric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in the window.
    pub limit: Option<u64>,
    /// Requests left in the window.
    pub remaining: Option<u64>,
    /// Time until the window resets.
    pub reset: Option<Duration>,
}

impl RateLimit {
    /// Reads `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        RateLimit {
            limit: number("ratelimit-limit"),
            remaining: number("ratelimit-remaining"),
            reset: number("ratelimit-reset").map(Duration::from_secs),
        }
    }
}

impl ApiErrorResponse {
    /// Builds a response error from an HTTP answer, reading whichever error
    /// shape the body has (Atlas's `ApiError` or OAuth's `error`).
    pub(crate) fn new(
        method: impl Into<String>,
        path: impl Into<String>,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    ) -> Self {
        let content_type = content_type(&headers);
        // The body is parsed once; the typed view is read from the tree.
        let (error, atlas, oauth) = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(object)) => {
                let error = ApiError::deserialize(&object).ok();
                // OAuth's `error` is a string, Atlas's a number: a string
                // `error` is the token endpoint's shape, whatever else the
                // body holds.
                match object.get("error") {
                    Some(Value::String(_)) => (error, None, oauth_error(&object)),
                    _ => (error, AtlasErrorBody::read(&object), None),
                }
            }
            _ => (None, None, None),
        };
        Self {
            method: method.into(),
            path: path.into(),
            status,
            content_type,
            headers,
            error,
            atlas,
            oauth,
            body,
            note: None,
            throttled: 0,
        }
    }

    pub(crate) fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// The HTTP status (Atlas's own `error` field is sometimes wrong).
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The Atlas error body, when the response carried one.
    pub fn api_error(&self) -> Option<&ApiError> {
        self.error.as_ref()
    }
    /// The OAuth error body, when the token endpoint sent one.
    pub fn oauth_error(&self) -> Option<&OAuthError> {
        self.oauth.as_ref()
    }
    /// Atlas's `errorCode` (`RESOURCE_NOT_FOUND`, `RATE_LIMITED`, ...), or
    /// the OAuth `error` (`invalid_client`) from the token endpoint.
    pub fn error_code(&self) -> Option<&str> {
        match (&self.atlas, &self.oauth) {
            (Some(atlas), _) => Some(&atlas.error_code),
            (None, Some(oauth)) => Some(&oauth.error),
            (None, None) => None,
        }
    }
    /// Atlas's `detail`, or the OAuth `error_description`.
    pub fn detail(&self) -> Option<&str> {
        match (&self.atlas, &self.oauth) {
            (Some(atlas), _) => atlas.detail.as_deref(),
            (None, Some(oauth)) => oauth.error_description.as_deref(),
            (None, None) => None,
        }
    }
    /// Atlas's `reason`.
    pub fn reason(&self) -> Option<&str> {
        self.atlas.as_ref().and_then(|e| e.reason.as_deref())
    }
    /// Atlas's `parameters`.
    pub fn parameters(&self) -> &[Map<String, Value>] {
        self.atlas.as_ref().map_or(&[], |e| &e.parameters)
    }
    /// The fields Atlas rejected (`badRequestDetail.fields`).
    pub fn bad_request_fields(&self) -> &[FieldViolation] {
        self.atlas.as_ref().map_or(&[], |e| &e.fields)
    }
    /// The body exactly as received.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// The response's `Content-Type`.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
    /// The response's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The HTTP method and URL path of the request.
    pub fn request(&self) -> (&str, &str) {
        (&self.method, &self.path)
    }
    /// The `RateLimit-*` headers.
    pub fn rate_limit(&self) -> RateLimit {
        RateLimit::from_headers(&self.headers)
    }
    /// How many `429 Too Many Requests` answers the call got, this one
    /// included if it is one (those before it were waited out).
    pub fn throttled(&self) -> u32 {
        self.throttled
    }
    /// What the client adds to the server's answer (why a `401` was final,
    /// say), if anything.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// The `Content-Type` of an answer, when it is text.
fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn oauth_error(object: &Map<String, Value>) -> Option<OAuthError> {
    let error = object.get("error")?.as_str()?.to_owned();
    let error_description = object
        .get("error_description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some(OAuthError {
        error,
        error_description,
    })
}

/// A response body that does not match the spec. `Debug` shows the body's
/// length, not the body: a created connection's answer holds its webhook
/// headers and Kafka config. The message names what did not match, never
/// the value.
#[derive(Clone)]
pub struct DecodeError {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) status: Option<StatusCode>,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Bytes,
    pub(crate) message: String,
    /// Whether this is the answer to the operation's own request (not to a
    /// token request or an authentication probe before it).
    pub(crate) of_operation: bool,
    /// The `429` answers the call got before this one.
    pub(crate) throttled: u32,
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("message", &self.message)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

impl fmt::Debug for ApiErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiErrorResponse")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("error_code", &self.error_code())
            .field("detail", &self.detail())
            .field("error", &self.error)
            .field("oauth", &self.oauth)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("note", &self.note)
            .field("throttled", &self.throttled)
            .finish()
    }
}

/// A JSON decoding error's message without the value it quotes (`invalid
/// type: string "<the value>", expected ...` becomes `invalid type: string,
/// expected ...`): the value may be a secret of the connection.
pub(crate) fn without_values(message: &str) -> String {
    let mut out = message.to_owned();
    for marker in ["invalid type: ", "invalid value: "] {
        let Some(start) = out.find(marker).map(|i| i + marker.len()) else {
            continue;
        };
        let end = out[start..]
            .rfind(", expected")
            .map_or(out.len(), |i| start + i);
        let kind = out[start..end]
            .split([' ', '`', '"'])
            .next()
            .unwrap_or_default()
            .to_owned();
        out.replace_range(start..end, &kind);
    }
    out
}

impl DecodeError {
    /// The HTTP status of the response.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }
    /// The body exactly as received (empty for token-endpoint answers, whose
    /// bodies may hold a token).
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// The response's `Content-Type`.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
    /// What did not match.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The HTTP method and URL path of the request.
    pub fn request(&self) -> (&str, &str) {
        (&self.method, &self.path)
    }
}

/// A request that got no HTTP answer, or whose answer broke off after its
/// status line, or a call that ran out of time.
#[derive(Debug, Clone)]
pub struct TransportError {
    pub(crate) method: String,
    pub(crate) path: String,
    /// The status, when the failure came while reading the body.
    pub(crate) status: Option<StatusCode>,
    /// reqwest's error; `None` for a call whose own timeout passed.
    pub(crate) source: Option<Arc<reqwest::Error>>,
    /// The call's timeout, when it is what passed.
    pub(crate) call_timeout: Option<Duration>,
    /// Whether the call's timeout passed before its request was sent (while
    /// it waited for a token or a Digest challenge): nothing was acted on.
    pub(crate) never_sent: bool,
    /// Whether the response was the operation's own (see [`DecodeError`]).
    pub(crate) of_operation: bool,
    /// The `429` answers the call got before this failure.
    pub(crate) throttled: u32,
}

/// Something the server sent that is larger than the client reads.
#[derive(Debug, Clone)]
pub struct TooLargeError {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) status: Option<StatusCode>,
    pub(crate) what: &'static str,
    pub(crate) limit: u64,
    /// Whether the response was the operation's own (see [`DecodeError`]).
    pub(crate) of_operation: bool,
    /// The `429` answers the call got before this failure.
    pub(crate) throttled: u32,
}

impl TooLargeError {
    /// The HTTP method and URL path of the request.
    pub fn request(&self) -> (&str, &str) {
        (&self.method, &self.path)
    }
    /// The status of the response, when its status line had arrived.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }
    /// What was too large (`response body`, `token answer`, ...).
    pub fn what(&self) -> &'static str {
        self.what
    }
    /// The limit, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }
}

impl TransportError {
    /// The status of the response, when the failure came while reading its
    /// body (the status line had arrived).
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }
    /// The HTTP method and URL path of the request.
    pub fn request(&self) -> (&str, &str) {
        (&self.method, &self.path)
    }
    /// The underlying error: reqwest's, unless the call's own timeout
    /// passed ([`call_timeout`](Self::call_timeout)).
    pub fn source(&self) -> Option<&reqwest::Error> {
        self.source.as_deref()
    }
    /// The whole call's timeout, when the call failed because it passed
    /// (an [`Error::Timeout`] that no single exchange's timeout caused).
    pub fn call_timeout(&self) -> Option<Duration> {
        self.call_timeout
    }
    /// Whether the request never left: its connection could not be made.
    fn is_connect(&self) -> bool {
        self.source
            .as_deref()
            .is_some_and(reqwest::Error::is_connect)
    }
}

impl Error {
    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Decode(e) => e.status,
            Error::Transport(e) | Error::Timeout(e) => e.status,
            Error::TooLarge(e) => e.status,
            _ => self.response().map(|r| r.status),
        }
    }

    /// The success status Atlas answered with, when the call failed only
    /// in reading or decoding that answer: the server **acted on the
    /// request** (a connection was created), so making the same call again
    /// would be refused (`409`) or act twice. `None` for every other error.
    pub fn server_succeeded(&self) -> Option<StatusCode> {
        let of_operation = match self {
            Error::Decode(e) => e.of_operation,
            Error::Transport(e) | Error::Timeout(e) => e.of_operation,
            Error::TooLarge(e) => e.of_operation,
            _ => false,
        };
        self.status()
            .filter(|status| of_operation && status.is_success())
    }

    /// The same error, marked as coming from an exchange before the
    /// operation's own request (a token request, an authentication probe):
    /// whatever its status, [`Error::server_succeeded`] is `None`, since the
    /// operation was not sent.
    pub(crate) fn before_operation(mut self) -> Self {
        match &mut self {
            Error::Decode(e) => e.of_operation = false,
            Error::Transport(e) | Error::Timeout(e) => e.of_operation = false,
            Error::TooLarge(e) => e.of_operation = false,
            _ => {}
        }
        self
    }

    /// Atlas's `errorCode` (or the token endpoint's OAuth `error`), when
    /// the server sent one.
    pub fn error_code(&self) -> Option<&str> {
        self.response().and_then(ApiErrorResponse::error_code)
    }

    /// The error response, for every variant that has one.
    pub fn response(&self) -> Option<&ApiErrorResponse> {
        match self {
            Error::Api(e) | Error::Authentication(e) | Error::RateLimited(e) => Some(e),
            Error::VersionGone(e) => Some(e),
            _ => None,
        }
    }

    /// The API error response, if this is a plain [`Error::Api`].
    pub fn as_api_error(&self) -> Option<&ApiErrorResponse> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the same call may simply be made again later: the server said
    /// it did not act (`429`, or `503` with `Retry-After`), or the request
    /// never reached it (connection refused, connect timeout). A timeout
    /// after the request was sent is not retryable: the connection may have
    /// been created.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited(_) => true,
            Error::Api(e) => {
                e.status == StatusCode::SERVICE_UNAVAILABLE && e.retry_after().is_some()
            }
            // A connect timeout is both: the request never left. So is a
            // call timeout that passed before it was sent.
            Error::Transport(e) | Error::Timeout(e) => e.never_sent || e.is_connect(),
            _ => false,
        }
    }

    /// Whether the request got no answer because its connection failed
    /// (refused, reset, or closed before the answer came), so that a request
    /// safe to repeat may simply be sent again. A timeout is not such a
    /// failure (it has waited as long as a call may), nor is an answer that
    /// could not be parsed.
    pub(crate) fn is_connection_failure(&self) -> bool {
        use std::io::ErrorKind::{BrokenPipe, ConnectionReset};
        let Error::Transport(e) = self else {
            return false;
        };
        if e.is_connect() {
            return true;
        }
        let mut cause = e
            .source
            .as_deref()
            .and_then(|source| std::error::Error::source(source));
        while let Some(error) = cause {
            // Closed before the answer was complete (or at all).
            if error
                .downcast_ref::<hyper::Error>()
                .is_some_and(hyper::Error::is_incomplete_message)
            {
                return true;
            }
            // Reset by the peer, seen while reading or while writing.
            if let Some(io) = error.downcast_ref::<std::io::Error>()
                && matches!(io.kind(), ConnectionReset | BrokenPipe)
            {
                return true;
            }
            cause = error.source();
        }
        false
    }

    /// The HTTP method and URL path of the request that failed, for every
    /// variant that sent one.
    pub fn request(&self) -> Option<(&str, &str)> {
        match self {
            Error::Decode(e) => Some(e.request()),
            Error::Transport(e) | Error::Timeout(e) => Some(e.request()),
            Error::TooLarge(e) => Some(e.request()),
            Error::State(e) => Some(("GET", &e.path)),
            _ => self.response().map(ApiErrorResponse::request),
        }
    }

    /// This error's `Display`, then each cause's (its
    /// [`source()`](std::error::Error::source), in turn), separated by `: `: one line
    /// that says what failed and why, as `anyhow`'s `{:#}` writes it.
    ///
    /// ```
    /// # fn show(error: &atlas_stream_connections::Error) {
    /// eprintln!("error: {}", error.with_causes());
    /// // error: POST /api/atlas/v2/groups/…/connections: transport error:
    /// // could not connect: error sending request: client error (Connect):
    /// // tcp connect error: Connection refused (os error 111)
    /// # }
    /// ```
    pub fn with_causes(&self) -> impl fmt::Display + '_ {
        Causes(self)
    }

    pub(crate) fn invalid(parameter: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            parameter,
            message: message.into(),
        }
    }

    /// This error, saying that its call got `throttled` `429` answers.
    pub(crate) fn with_throttled(mut self, throttled: u32) -> Self {
        match &mut self {
            Error::Api(e) | Error::Authentication(e) | Error::RateLimited(e) => {
                e.throttled = throttled;
            }
            Error::VersionGone(e) => e.throttled = throttled,
            Error::Transport(e) | Error::Timeout(e) => e.throttled = throttled,
            Error::TooLarge(e) => e.throttled = throttled,
            Error::Decode(e) => e.throttled = throttled,
            Error::InvalidInput { .. } | Error::Configuration { .. } | Error::State(_) => {}
        }
        self
    }

    /// How many `429 Too Many Requests` answers the call got before it
    /// failed (the client waited them out), this one included for an
    /// [`Error::RateLimited`]; 0 for an error without a call.
    pub fn throttled(&self) -> u32 {
        match self {
            Error::Api(e) | Error::Authentication(e) | Error::RateLimited(e) => e.throttled,
            Error::VersionGone(e) => e.throttled,
            Error::Transport(e) | Error::Timeout(e) => e.throttled,
            Error::TooLarge(e) => e.throttled,
            Error::Decode(e) => e.throttled,
            Error::InvalidInput { .. } | Error::Configuration { .. } | Error::State(_) => 0,
        }
    }

    pub(crate) fn configuration(message: impl Into<String>) -> Self {
        Error::Configuration {
            message: message.into(),
        }
    }

    /// The variant an error status belongs to.
    pub(crate) fn from_response(response: ApiErrorResponse) -> Self {
        let response = Box::new(response);
        match response.status {
            StatusCode::UNAUTHORIZED => Error::Authentication(response),
            StatusCode::GONE => Error::VersionGone(response),
            StatusCode::TOO_MANY_REQUESTS => Error::RateLimited(response),
            _ => Error::Api(response),
        }
    }

    /// A request that got no answer, as [`Error::Timeout`] or
    /// [`Error::Transport`]. The source loses its URL, whose query is not
    /// ours to show; `Display` names the method and path instead.
    pub(crate) fn transport(method: &str, path: &str, source: reqwest::Error) -> Self {
        Self::transport_after(method, path, None, source)
    }

    /// [`Error::transport`] for a failure while reading the body of a
    /// response whose status had arrived.
    pub(crate) fn transport_after(
        method: &str,
        path: &str,
        status: Option<StatusCode>,
        source: reqwest::Error,
    ) -> Self {
        let error = Box::new(TransportError {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            source: Some(Arc::new(source.without_url())),
            call_timeout: None,
            never_sent: false,
            of_operation: true,
            throttled: 0,
        });
        if error
            .source
            .as_deref()
            .is_some_and(reqwest::Error::is_timeout)
        {
            Error::Timeout(error)
        } else {
            Error::Transport(error)
        }
    }

    /// The call to `method` `path` did not finish within `limit`, its own
    /// timeout; `status`, when the final answer's had arrived; `sent`,
    /// whether its request had gone out (not only a token request or a
    /// Digest probe before it).
    pub(crate) fn call_timed_out(
        method: String,
        path: String,
        status: Option<StatusCode>,
        limit: Duration,
        sent: bool,
    ) -> Self {
        Error::Timeout(Box::new(TransportError {
            method,
            path,
            status,
            source: None,
            call_timeout: Some(limit),
            never_sent: !sent && status.is_none(),
            of_operation: true,
            throttled: 0,
        }))
    }

    /// Something of `limit` bytes or more where the client reads less.
    pub(crate) fn too_large(
        method: &str,
        path: &str,
        status: Option<StatusCode>,
        what: &'static str,
        limit: u64,
    ) -> Self {
        Error::TooLarge(Box::new(TooLargeError {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            what,
            limit,
            of_operation: true,
            throttled: 0,
        }))
    }

    /// An answer to the operation whose body is not what the spec says:
    /// `message` names what did not match (never the value), `headers` give
    /// the `Content-Type`.
    pub(crate) fn decode(
        method: String,
        path: String,
        status: Option<StatusCode>,
        headers: &HeaderMap,
        body: Bytes,
        message: String,
    ) -> Self {
        Error::Decode(Box::new(DecodeError {
            method,
            path,
            status,
            content_type: content_type(headers),
            body,
            message,
            of_operation: true,
            throttled: 0,
        }))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput { parameter, message } => {
                write!(f, "invalid `{parameter}`: {message}")
            }
            Error::Configuration { message } => write!(f, "client configuration: {message}"),
            Error::Api(e) => e.fmt(f),
            Error::Authentication(e) => write!(f, "authentication failed: {e}"),
            Error::RateLimited(e) => {
                write!(f, "rate limited: {e}")?;
                match e.retry_after() {
                    Some(after) => write!(f, " (retry after {} s)", after.as_secs()),
                    None => Ok(()),
                }
            }
            Error::VersionGone(e) => write!(f, "API version retired: {e}"),
            Error::Decode(e) => {
                request_prefix(f, &e.method, &e.path, e.status, e.of_operation)?;
                write!(f, "response body does not match the spec: {}", e.message)
            }
            // The cause is `source()`'s, not repeated here (see the
            // module's doc).
            Error::Transport(e) => {
                request_prefix(f, &e.method, &e.path, e.status, e.of_operation)?;
                match e.is_connect() {
                    true => f.write_str("transport error: could not connect"),
                    false => f.write_str("transport error"),
                }
            }
            Error::Timeout(e) => {
                request_prefix(f, &e.method, &e.path, e.status, e.of_operation)?;
                match e.call_timeout {
                    Some(limit) => write!(f, "timed out: the call's timeout ({limit:?}) passed"),
                    None => f.write_str("timed out: the exchange's timeout passed"),
                }
            }
            Error::TooLarge(e) => {
                request_prefix(f, &e.method, &e.path, e.status, e.of_operation)?;
                write!(
                    f,
                    "the {} is larger than the client reads ({} bytes); reading stopped there",
                    e.what, e.limit
                )
            }
            Error::State(e) => {
                let state = e.state.as_deref().unwrap_or("(none)");
                match e.timed_out {
                    true => write!(
                        f,
                        "GET {}: connection `{}` still in state {state} after {:?}, the wait's \
                         timeout",
                        e.path, e.name, e.waited
                    ),
                    false => write!(
                        f,
                        "GET {}: Atlas reports connection `{}` in state {state} (after {:?})",
                        e.path, e.name, e.waited
                    ),
                }
            }
        }
    }
}

/// [`Error::with_causes`]: the error, then each of its sources.
struct Causes<'a>(&'a Error);

impl fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(self.0);
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

/// `<method> <path>: HTTP <status>, ` before what went wrong with a
/// request, saying so when a success status means the server acted on the
/// operation.
fn request_prefix(
    f: &mut fmt::Formatter<'_>,
    method: &str,
    path: &str,
    status: Option<StatusCode>,
    of_operation: bool,
) -> fmt::Result {
    write!(f, "{method} {path}: ")?;
    match status {
        Some(status) if of_operation && status.is_success() => write!(
            f,
            "HTTP {status}: the request took effect on the server, but its answer is unusable: "
        ),
        Some(status) => write!(f, "HTTP {status}, "),
        None => Ok(()),
    }
}

impl fmt::Display for ApiErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: HTTP {}", self.method, self.path, self.status)?;
        match (self.error_code(), self.detail()) {
            (Some(code), Some(detail)) => write!(f, " {code}: {detail}")?,
            (Some(code), None) => write!(f, " {code}")?,
            (None, _) if self.body.is_empty() => write!(f, " with an empty body")?,
            (None, _) => write!(
                f,
                " with a {}-byte {} body that is not an error document",
                self.body.len(),
                self.content_type.as_deref().unwrap_or("untyped")
            )?,
        }
        match &self.note {
            Some(note) => write!(f, " ({note})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) | Error::Timeout(e) => e
                .source
                .as_deref()
                .map(|source| source as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Error, without_values};

    #[test]
    fn decoding_messages_lose_the_values_they_quote() {
        let cases = [
            (
                r#"invalid type: string "Bearer s3cr3t", expected a map at line 1 column 9"#,
                "invalid type: string, expected a map at line 1 column 9",
            ),
            (
                "invalid value: integer `42`, expected a string",
                "invalid value: integer, expected a string",
            ),
            (
                r#"invalid type: string "a, expected b", expected u64"#,
                "invalid type: string, expected u64",
            ),
            ("missing field `name`", "missing field `name`"),
            ("invalid type: null", "invalid type: null"),
        ];
        for (message, shown) in cases {
            assert_eq!(without_values(message), shown);
        }
    }

    /// The error of a POST to a loopback server that does `serve` with the
    /// connection, as the client's `Sender` reports it.
    async fn sent_to(serve: &'static str) -> Error {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/oauth/token", listener.local_addr().unwrap());
        if serve == "refuse" {
            drop(listener);
        } else {
            tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                match serve {
                    // A zero linger makes closing a reset (and does not
                    // block, the deprecation's concern).
                    #[allow(deprecated)]
                    "reset" => socket.set_linger(Some(std::time::Duration::ZERO)).unwrap(),
                    "half a head" => socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-le")
                        .await
                        .unwrap(),
                    "a huge head" => {
                        let head = format!("HTTP/1.1 200 OK\r\nx: {}\r\n\r\n", "v".repeat(1 << 20));
                        let _ = socket.write_all(head.as_bytes()).await;
                    }
                    "silence" => {
                        let _ = socket.read(&mut request).await;
                    }
                    _ => {}
                }
            });
        }
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(200))
            .build()
            .unwrap();
        let error = client
            .post(url)
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap_err();
        Error::transport("POST", "/api/oauth/token", error)
    }

    #[tokio::test]
    async fn a_connection_that_failed_is_told_from_an_answer_that_did_not_parse() {
        for (serve, failed) in [
            ("refuse", true),
            ("close", true),
            ("half a head", true),
            ("reset", true),
            ("a huge head", false),
            ("silence", false),
        ] {
            let error = sent_to(serve).await;
            assert_eq!(error.is_connection_failure(), failed, "{serve}: {error:?}");
        }
        assert!(matches!(sent_to("silence").await, Error::Timeout(_)));
        assert!(!Error::configuration("x").is_connection_failure());
    }
}
