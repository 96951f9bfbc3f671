//! [`Sender`]: one HTTP exchange, the way every request of this crate is
//! sent (API, token and revoke alike): same `User-Agent`, same timeout, the
//! same retry rule for throttling, and a `tracing` event per exchange that
//! names method, path and status and never a header or body.
//!
//! An exchange that asked for `envelope=true` is unwrapped here, at the
//! bottom, so that authentication and retries see the real status.
//!
//! Every body this crate reads goes through [`read_body`], which stops at a
//! limit: a server (or whatever answers in its place) cannot make the client
//! buffer more than [`Policy::max_response_bytes`](crate::config::Policy) for an answer,
//! [`TOKEN_ANSWER_LIMIT`] for a token answer, or [`DISCARD_LIMIT`] for a body
//! read only to be dropped.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::Instrument;

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Request, Response, ResponseBuilderExt, StatusCode, Url};
use serde_json::Value;

use crate::config::Policy;
use crate::error::{ApiErrorResponse, Error};

/// Largest body read only to be dropped (a `401` answered again, a `429`
/// or `503` retried), so that its connection can serve the next request.
/// Beyond it, reading stops and the connection is closed instead: 64 KiB is
/// far more than any error body Atlas sends, and less than it costs to open
/// a new TLS connection.
pub(crate) const DISCARD_LIMIT: u64 = 64 * 1024;

/// Largest answer read from the token endpoint (a token or an OAuth error).
/// An Atlas access token is a JWT of about a kilobyte; 64 KiB is room for
/// any token a server could reasonably issue.
pub(crate) const TOKEN_ANSWER_LIMIT: u64 = 64 * 1024;

/// What one exchange is, for its span: `kind` (`call`, `retry`, `token`,
/// `revoke` or `digest_probe`) and the attempt of its retry loop, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exchange {
    pub kind: &'static str,
    pub attempt: u32,
}

impl Exchange {
    /// The operation's request: its first attempt is `call`, a later one
    /// (after throttling) `retry`. (An answer to a refused nonce or token
    /// within one attempt is that attempt's again.)
    pub fn call(attempt: u32) -> Self {
        let kind = if attempt > 1 { "retry" } else { "call" };
        Self { kind, attempt }
    }

    /// Whether this is the operation's own request (its first attempt or a
    /// retry), not one made to authenticate it.
    pub fn is_the_request(&self) -> bool {
        matches!(self.kind, "call" | "retry")
    }

    /// A request for a service-account token.
    pub fn token(attempt: u32) -> Self {
        Self {
            kind: "token",
            attempt,
        }
    }

    /// A request revoking a service-account token.
    pub fn revoke(attempt: u32) -> Self {
        Self {
            kind: "revoke",
            attempt,
        }
    }

    /// A request without credentials or body, sent to learn a Digest
    /// challenge.
    pub fn digest_probe(attempt: u32) -> Self {
        Self {
            kind: "digest_probe",
            attempt,
        }
    }
}

/// Sends requests; shared by every clone of a client (and cloned into the
/// detached tasks of [`SingleFlight`](crate::auth::flight::SingleFlight)).
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    pub http: reqwest::Client,
    pub user_agent: HeaderValue,
    pub timeout: Duration,
    /// Whether `http` applies `timeout` itself (a client this crate built
    /// does); else each request carries it, which costs an allocation.
    pub timeout_in_client: bool,
    /// The retry rule and the read limits.
    pub retry: Policy,
}

impl Sender {
    /// One exchange. A request without an answer is an [`Error::Transport`]
    /// or [`Error::Timeout`] naming its method and path.
    pub async fn send(&self, exchange: Exchange, request: Request) -> Result<Response, Error> {
        let method = request.method().clone();
        let path = request.url().path().to_owned();
        self.send_as(exchange, request, method.as_str(), &path)
            .await
    }

    /// [`send`](Self::send) for a request whose method and path the caller
    /// holds (a copy of it, say), so that they need not be copied for an
    /// error that is rarely made.
    ///
    /// The exchange runs in its own span, `atlas.exchange`, which records
    /// the status and the elapsed time when the answer comes.
    pub async fn send_as(
        &self,
        exchange: Exchange,
        request: Request,
        method: &str,
        path: &str,
    ) -> Result<Response, Error> {
        let span = tracing::debug_span!(
            "atlas.exchange",
            kind = exchange.kind,
            attempt = exchange.attempt,
            method,
            path,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        if exchange.is_the_request() {
            crate::call::sending();
        }
        // (Without a subscriber that wants it, the span is a `None`: the
        // clone and the records below cost nothing.)
        let recorded = span.clone();
        self.exchange(request, method, path, recorded)
            .instrument(span)
            .await
    }

    /// [`send_as`](Self::send_as) inside its span, `span`.
    async fn exchange(
        &self,
        mut request: Request,
        method: &str,
        path: &str,
        span: tracing::Span,
    ) -> Result<Response, Error> {
        request
            .headers_mut()
            .insert(USER_AGENT, self.user_agent.clone());
        if !self.timeout_in_client {
            *request.timeout_mut() = Some(self.timeout);
        }
        let enveloped = request.url().query().is_some_and(|query| {
            form_urlencoded::parse(query.as_bytes())
                .any(|(name, value)| name == "envelope" && value == "true")
        });
        let started = Instant::now();
        match self.http.execute(request).await {
            Ok(response) => {
                let (status, elapsed_ms) = (
                    response.status().as_u16(),
                    started.elapsed().as_millis() as u64,
                );
                span.record("status", status);
                span.record("elapsed_ms", elapsed_ms);
                tracing::debug!(%method, %path, status, elapsed_ms, "atlas exchange");
                if !enveloped {
                    return Ok(response);
                }
                // Boxed, like every path a call rarely takes: each future is
                // held whole in the call's, and moved with it.
                Box::pin(self.unwrap_envelope(response, method, path)).await
            }
            Err(error) => {
                span.record("elapsed_ms", started.elapsed().as_millis() as u64);
                tracing::debug!(%method, %path, timeout = error.is_timeout(), "atlas exchange failed");
                Err(Error::transport(method, path, error))
            }
        }
    }

    /// The answer inside an enveloped `response`.
    async fn unwrap_envelope(
        &self,
        response: Response,
        method: &str,
        path: &str,
    ) -> Result<Response, Error> {
        let (status, headers) = (response.status(), response.headers().clone());
        // The `200` of an envelope says nothing of the real status, so a
        // failure to read it keeps none: `server_succeeded()` must not claim
        // a connection was created.
        let read = Read {
            method,
            path,
            what: "enveloped response body",
            status_known: false,
        };
        let body = read_body(response, self.retry.max_response_bytes, read).await?;
        Ok(unwrap_envelope(status, headers, body))
    }

    /// Runs `attempt` (given its number, from 1) until its answer is not
    /// one to retry, waiting between attempts: [`RetryPolicy::delay`] for
    /// a request that must not be repeated once acted on (a create), and
    /// [`RetryPolicy::idempotent_delay`] for one that is `repeatable` (a
    /// read, a full update, a delete), which is also sent again after any
    /// `5xx` and after a connection failure. A wait that would end at or
    /// after `give_up_at` (the call's deadline) is not begun: the answer
    /// that asked for it is the outcome, which says more (a `429` and its
    /// `Retry-After`) than a timeout would.
    ///
    /// (`FnMut` returning a future rather than an async closure: the futures
    /// of async closures are not provably `Send` today, and callers spawn
    /// calls on multi-threaded runtimes.)
    pub async fn retrying<F, Fut>(
        &self,
        give_up_at: Option<tokio::time::Instant>,
        repeatable: bool,
        mut attempt: F,
    ) -> Result<Response, Error>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<Response, Error>>,
    {
        let policy = self.retry.retry;
        let mut retries_done = 0;
        loop {
            let outcome = attempt(retries_done + 1).await;
            let delay = match &outcome {
                Ok(response) if repeatable => policy
                    .idempotent_delay(Some((response.status(), response.headers())), retries_done),
                Ok(response) => policy.delay(response.status(), response.headers(), retries_done),
                Err(error) if repeatable && error.is_connection_failure() => {
                    policy.idempotent_delay(None, retries_done)
                }
                Err(_) => None,
            };
            let Some(delay) = delay else {
                return outcome;
            };
            let status = outcome.as_ref().ok().map(|r| r.status().as_u16());
            // (`checked_add`: a `Retry-After` of any size, with a longest
            // wait raised to match, is no panic: past the clock's end is
            // past the deadline.)
            let past = |end| {
                tokio::time::Instant::now()
                    .checked_add(delay)
                    .is_none_or(|resumed| resumed >= end)
            };
            if give_up_at.is_some_and(past) {
                tracing::info!(
                    status,
                    delay_ms = delay.as_millis() as u64,
                    "the wait before a retry would outlast the call's timeout"
                );
                return outcome;
            }
            retries_done += 1;
            tracing::info!(
                status,
                delay_ms = delay.as_millis() as u64,
                retry = retries_done,
                "retrying"
            );
            if let Ok(response) = outcome {
                Box::pin(discard(response)).await;
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// Runs `attempt` (given its number, from 1), a request safe to repeat, until its answer is not one
    /// to retry ([`RetryPolicy::idempotent_delay`]): throttling, any `5xx`,
    /// and a request that got no answer ([`Error::Transport`]; not a
    /// timeout, which has already waited as long as a call may).
    pub async fn retrying_idempotent<F, Fut>(&self, mut attempt: F) -> Result<Response, Error>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<Response, Error>>,
    {
        let policy = self.retry.retry;
        let mut retries_done = 0;
        loop {
            let delay = match attempt(retries_done + 1).await {
                Ok(response) => {
                    let answer = Some((response.status(), response.headers()));
                    let Some(delay) = policy.idempotent_delay(answer, retries_done) else {
                        return Ok(response);
                    };
                    tracing::info!(
                        status = response.status().as_u16(),
                        delay_ms = delay.as_millis() as u64,
                        retry = retries_done + 1,
                        "retrying a request that is safe to repeat"
                    );
                    discard(response).await;
                    delay
                }
                Err(error) if error.is_connection_failure() => {
                    let Some(delay) = policy.idempotent_delay(None, retries_done) else {
                        return Err(error);
                    };
                    tracing::info!(
                        delay_ms = delay.as_millis() as u64,
                        retry = retries_done + 1,
                        "no answer to a request that is safe to repeat; retrying"
                    );
                    delay
                }
                Err(error) => return Err(error),
            };
            retries_done += 1;
            tokio::time::sleep(delay).await;
        }
    }
}

/// A copy of `request` to send again; the generated client's bodies are
/// always in memory, so this only fails for a streaming body.
pub(crate) fn replay(request: &Request) -> Result<Request, Error> {
    request.try_clone().ok_or_else(|| {
        Error::invalid(
            "request",
            "the body is a stream, which cannot be sent twice (retry or authentication)",
        )
    })
}

/// Reads and drops a response's body, so its connection can serve the next
/// request; a body larger than [`DISCARD_LIMIT`] (announced or found so) is
/// not read on: dropping the response closes its connection instead.
pub(crate) async fn discard(mut response: Response) {
    if response.content_length().is_some_and(|n| n > DISCARD_LIMIT) {
        return;
    }
    let mut read = 0u64;
    while let Ok(Some(chunk)) = response.chunk().await {
        read = read.saturating_add(chunk.len() as u64);
        if read > DISCARD_LIMIT {
            return;
        }
    }
}

/// What a body is read for, to name in an error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Read<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// What the body is (`response body`, `token answer`...).
    pub what: &'static str,
    /// Whether the response's status is the real answer's (it is not for
    /// an envelope, always `200`), and so belongs in an error.
    pub status_known: bool,
}

/// Reads `response`'s body whole, up to `limit` bytes.
///
/// A body over the limit is [`Error::TooLarge`]: at once when
/// `Content-Length` announces it, else as soon as a chunk would pass it; the
/// rest is never read (dropping the response closes the connection). A body
/// that breaks off (reset, end of stream, timeout) is [`Error::Transport`]
/// or [`Error::Timeout`]. Both keep the response's status, so that
/// [`Error::server_succeeded`] tells a caller that a `2xx` took effect.
pub(crate) async fn read_body(
    mut response: Response,
    limit: u64,
    read: Read<'_>,
) -> Result<Bytes, Error> {
    let status = read.status_known.then(|| response.status());
    let too_large = || Error::too_large(read.method, read.path, status, read.what, limit);
    let announced = response.content_length();
    if announced.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    // What the server announced (no more than the limit), else nothing yet.
    let announced = announced.map_or(0, |n| usize::try_from(n).unwrap_or(cap).min(cap));
    // The first chunk is kept as it came: an answer in one chunk (most of
    // them) is handed on without a copy.
    let mut first: Option<Bytes> = None;
    let mut body: Vec<u8> = Vec::new();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) if body.is_empty() => return Ok(first.unwrap_or_default()),
            Ok(None) => return Ok(Bytes::from(body)),
            Err(error) => {
                return Err(Error::transport_after(
                    read.method,
                    read.path,
                    status,
                    error,
                ));
            }
        };
        let needed = first
            .as_ref()
            .map_or(body.len(), Bytes::len)
            .checked_add(chunk.len())
            .filter(|&n| n <= cap)
            .ok_or_else(too_large)?;
        if first.is_none() && body.is_empty() {
            first = Some(chunk);
            continue;
        }
        make_room(&mut body, needed, announced, cap);
        if let Some(first) = first.take() {
            body.extend_from_slice(&first);
        }
        body.extend_from_slice(&chunk);
    }
}

/// Makes room in `body` for `needed` bytes (`needed <= cap`): at least what
/// was `announced`, doubling beyond, never past `cap`. (Left to itself, a
/// `Vec` would double past the limit: up to twice it for a body near it.)
fn make_room(body: &mut Vec<u8>, needed: usize, announced: usize, cap: usize) {
    if needed > body.capacity() {
        let target = needed
            .max(announced)
            .max(body.capacity().saturating_mul(2))
            .min(cap);
        body.reserve_exact(target - body.len());
    }
}

/// A response built from parts, read like one from the network; from
/// `url` when given (without, reqwest parses a placeholder URL for it).
pub(crate) fn rebuild(
    status: StatusCode,
    mut headers: HeaderMap,
    body: Bytes,
    url: Option<Url>,
) -> Response {
    headers.remove(CONTENT_LENGTH);
    let mut response = http::Response::new(body);
    if let Some(url) = url {
        *response.extensions_mut() = with_url(url);
    }
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Response::from(response)
}

/// Extensions that give a response built from parts `url` (reqwest keeps
/// it in an extension of a private type, which only its builder can set).
fn with_url(url: Url) -> http::Extensions {
    http::Response::builder()
        .url(url)
        .body(())
        .map(|response| response.into_parts().0.extensions)
        .unwrap_or_default()
}

/// With `envelope=true`, Atlas answers `200` with `{"status": <the real
/// status>, "content": <the real body>}`; this restores the real answer so
/// the call authenticates, retries, decodes and fails exactly as without
/// envelope. A body of another shape is passed on as it is.
pub(crate) fn unwrap_envelope(status: StatusCode, headers: HeaderMap, body: Bytes) -> Response {
    if let Ok(Value::Object(mut envelope)) = serde_json::from_slice::<Value>(&body) {
        let inner_status = envelope
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .and_then(|s| StatusCode::from_u16(s).ok());
        if let (Some(inner_status), Some(content)) = (inner_status, envelope.remove("content")) {
            let content = serde_json::to_vec(&content).unwrap_or_default();
            return rebuild(inner_status, headers, content.into(), None);
        }
    }
    rebuild(status, headers, body, None)
}

/// Reads `response`'s body by [`read_body`] into an error response.
pub(crate) async fn read_error_response(
    response: Response,
    limit: u64,
    read: Read<'_>,
) -> Result<ApiErrorResponse, Error> {
    let (status, headers) = (response.status(), response.headers().clone());
    let body = read_body(response, limit, read).await?;
    Ok(ApiErrorResponse::new(
        read.method,
        read.path,
        status,
        headers,
        body,
    ))
}

#[cfg(test)]
mod tests {
    use super::make_room;

    /// The capacity `make_room` leaves for `needed` bytes in a body holding
    /// `len` bytes with room for `capacity`.
    fn room(len: usize, capacity: usize, needed: usize, announced: usize, cap: usize) -> usize {
        let mut body = Vec::with_capacity(capacity);
        body.resize(len, 0);
        assert_eq!(body.capacity(), capacity);
        make_room(&mut body, needed, announced, cap);
        body.capacity()
    }

    #[test]
    fn a_body_buffer_doubles_from_what_was_announced_and_never_past_the_limit() {
        assert_eq!(room(0, 0, 10, 0, 100), 10, "exactly the first chunk");
        assert_eq!(room(0, 0, 10, 50, 100), 50, "what was announced");
        assert_eq!(room(10, 10, 15, 0, 100), 20, "doubling");
        assert_eq!(room(10, 10, 35, 0, 100), 35, "a chunk larger than that");
        assert_eq!(room(20, 20, 20, 0, 100), 20, "full, not over");
        assert_eq!(room(10, 20, 15, 0, 100), 20, "room already");
        assert_eq!(room(60, 60, 70, 0, 100), 100, "the limit, not 120");
        assert_eq!(room(60, 60, 100, 0, 100), 100);
    }
}
