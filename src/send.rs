//! [`Sender`]: one HTTP exchange, the way every request of this crate is
//! sent (API, token and revoke alike): same `User-Agent`, same timeout, the
//! same retry rule for throttling, and a `tracing` event per exchange that
//! names method, path and status and never a header or body.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, USER_AGENT};
use reqwest::{Request, Response};

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
                Ok(response)
            }
            Err(error) => {
                tracing::debug!(%method, %path, timeout = error.is_timeout(), "atlas exchange failed");
                Err(Error::transport(&method, &path, error.without_url()))
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
            drop(response);
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
