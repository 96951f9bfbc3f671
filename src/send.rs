//! [`Sender`]: one HTTP exchange, the way every request of this crate is
//! sent (API, token and revoke alike): same `User-Agent`, same timeout, the
//! same retry rule for throttling, and a `tracing` event per exchange that
//! names method, path and status and never a header or body.
//!
//! An exchange that asked for `envelope=true` is unwrapped here, at the
//! bottom, so that authentication and retries see the real status.

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Request, Response, StatusCode};
use serde_json::Value;

use crate::error::Error;
use crate::retry::RetryPolicy;

/// Sends requests; shared by every clone of a client.
#[derive(Debug)]
pub(crate) struct Sender {
    pub http: reqwest::Client,
    pub user_agent: HeaderValue,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl Sender {
    /// One exchange. A request without an answer is an [`Error::Transport`]
    /// or [`Error::Timeout`] naming its method and path.
    pub async fn send(&self, mut request: Request) -> Result<Response, Error> {
        request
            .headers_mut()
            .insert(USER_AGENT, self.user_agent.clone());
        *request.timeout_mut() = Some(self.timeout);
        let method = request.method().to_string();
        let path = request.url().path().to_owned();
        let enveloped = request
            .url()
            .query_pairs()
            .any(|(name, value)| name == "envelope" && value == "true");
        let started = Instant::now();
        match self.http.execute(request).await {
            Ok(response) => {
                tracing::debug!(
                    %method,
                    %path,
                    status = response.status().as_u16(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "atlas exchange"
                );
                if !enveloped {
                    return Ok(response);
                }
                let (status, headers) = (response.status(), response.headers().clone());
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| Error::transport(&method, &path, e))?;
                Ok(unwrap_envelope(status, headers, body))
            }
            Err(error) => {
                tracing::debug!(%method, %path, timeout = error.is_timeout(), "atlas exchange failed");
                Err(Error::transport(&method, &path, error))
            }
        }
    }

    /// Runs `attempt` until its answer is not one to retry
    /// ([`RetryPolicy::delay`]), waiting between attempts.
    ///
    /// (`FnMut` returning a future rather than an async closure: the futures
    /// of async closures are not provably `Send` today, and callers spawn
    /// calls on multi-threaded runtimes.)
    pub async fn retrying<F, Fut>(&self, mut attempt: F) -> Result<Response, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Response, Error>>,
    {
        let mut retries_done = 0;
        loop {
            let response = attempt().await?;
            let Some(delay) = self
                .retry
                .delay(response.status(), response.headers(), retries_done)
            else {
                return Ok(response);
            };
            retries_done += 1;
            tracing::info!(
                status = response.status().as_u16(),
                delay_ms = delay.as_millis() as u64,
                retry = retries_done,
                "throttled by Atlas; retrying"
            );
            discard(response).await;
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
/// request instead of being closed.
pub(crate) async fn discard(response: Response) {
    let _ = response.bytes().await;
}

/// A response built from parts, read like one from the network.
pub(crate) fn rebuild(status: StatusCode, mut headers: HeaderMap, body: Bytes) -> Response {
    headers.remove(CONTENT_LENGTH);
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Response::from(response)
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
            return rebuild(inner_status, headers, content.into());
        }
    }
    rebuild(status, headers, body)
}
