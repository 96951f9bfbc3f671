//! API keys: HTTP Digest with one round trip per request in steady state.
//!
//! The first call learns the server's challenge from a request that carries
//! no body (a Kafka password must not travel on a request that is bound to
//! be refused). Later calls answer that challenge pre-emptively, with the
//! next `nc` and a fresh `cnonce`. When the server refuses (its nonce
//! expired, `stale=true` or not), the new challenge in its `401` is taken
//! and the request is sent once more.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Request, Response, StatusCode};

use super::digest::{self, Challenge, ChallengeError};
use crate::SecretString;
use crate::error::ApiErrorResponse;
use crate::error::Error;
use crate::send::{Read, Sender, buffered, discard, replay};

/// A challenge and the nonce count used with it so far.
struct Cached {
    challenge: Challenge,
    nc: AtomicU32,
}

/// An API key and the challenge it last answered.
pub(crate) struct ApiKey {
    public_key: String,
    private_key: SecretString,
    cached: Mutex<Option<Arc<Cached>>>,
    /// Held while the first challenge is fetched, so concurrent cold calls
    /// share one bodiless request.
    probing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("public_key", &self.public_key)
            .field("has_challenge", &self.current().is_some())
            .finish_non_exhaustive()
    }
}

/// What the first exchange of a call gave.
enum Probe {
    /// A challenge to answer.
    Challenge(Arc<Cached>),
    /// Throttling or a server error (`429`, `5xx`): the call's answer, which
    /// the retry rule then judges.
    Answer(Response),
}

impl ApiKey {
    pub fn new(public_key: String, private_key: SecretString) -> Self {
        Self {
            public_key,
            private_key,
            cached: Mutex::new(None),
            probing: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> Option<Arc<Cached>> {
        self.cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn remember(&self, challenge: Challenge) -> Arc<Cached> {
        let cached = Arc::new(Cached {
            challenge,
            nc: AtomicU32::new(0),
        });
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(cached.clone());
        cached
    }

    /// Sends `request` with Digest authentication.
    pub async fn send(&self, sender: &Sender, request: Request) -> Result<Response, Error> {
        let (cached, fresh) = match self.current() {
            Some(cached) => (cached, false),
            None => match self.probe(sender, &request).await? {
                Probe::Challenge(cached) => (cached, true),
                Probe::Answer(response) => return Ok(response),
            },
        };
        let again = replay(&request)?;
        let response = sender.send(self.authorize(request, &cached)).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = match digest::parse_challenges(response.headers().get_all(WWW_AUTHENTICATE))
        {
            Ok(challenge) => challenge,
            Err(ChallengeError::TooLarge) => return Err(challenge_too_large(&again)),
            // The refusal goes back as it came.
            Err(_) => return Ok(response),
        };
        // A challenge we had just received, refused without `stale`, means
        // the key is wrong: asking again would only repeat the answer.
        let retry = !fresh || challenge.stale;
        let cached = self.remember(challenge);
        if !retry {
            return Ok(response);
        }
        discard(response).await;
        tracing::debug!(
            stale = cached.challenge.stale,
            "Digest nonce refused; answering the new challenge"
        );
        sender.send(self.authorize(again, &cached)).await
    }

    /// Learns the server's challenge with a copy of `request` that has no
    /// body, once for all the calls waiting on it.
    async fn probe(&self, sender: &Sender, request: &Request) -> Result<Probe, Error> {
        let _probing = self.probing.lock().await;
        if let Some(cached) = self.current() {
            return Ok(Probe::Challenge(cached));
        }
        let mut bodiless = Request::new(request.method().clone(), request.url().clone());
        *bodiless.headers_mut() = request.headers().clone();
        bodiless.headers_mut().remove(CONTENT_TYPE);
        // An explicit zero: some servers and proxies refuse a POST that
        // declares no length.
        bodiless.headers_mut().insert(
            CONTENT_LENGTH,
            reqwest::header::HeaderValue::from_static("0"),
        );
        let response = sender.send(bodiless).await?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Ok(Probe::Answer(response));
        }
        let challenge = match status {
            StatusCode::UNAUTHORIZED => {
                match digest::parse_challenges(response.headers().get_all(WWW_AUTHENTICATE)) {
                    Err(ChallengeError::TooLarge) => return Err(challenge_too_large(request)),
                    parsed => parsed.map_err(|why| why.to_string()),
                }
            }
            other => Err(format!(
                "the server answered HTTP {other} to a request without credentials, \
                 where Atlas challenges with 401"
            )),
        };
        match challenge {
            Ok(challenge) => {
                discard(response).await;
                Ok(Probe::Challenge(self.remember(challenge)))
            }
            // Without a challenge the key cannot be used, and the body must
            // not go out unauthenticated: the call ends here.
            Err(why) => Err(no_challenge(sender, request, response, why).await),
        }
    }

    fn authorize(&self, mut request: Request, cached: &Cached) -> Request {
        let nc = cached.nc.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let url = request.url();
        let uri = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let header = digest::authorization(
            &cached.challenge,
            &self.public_key,
            &self.private_key,
            request.method().as_str(),
            &uri,
            nc,
            &digest::cnonce(),
        );
        request.headers_mut().insert(AUTHORIZATION, header);
        request
    }
}

/// The authentication error for a probe that brought no usable challenge,
/// with the server's answer (its body read up to the client's limit).
async fn no_challenge(
    sender: &Sender,
    request: &Request,
    response: Response,
    why: String,
) -> Error {
    let (method, path) = (request.method().as_str(), request.url().path());
    let read = Read {
        method,
        path,
        what: "response body",
        status_known: true,
    };
    let refused = match buffered(response, sender.retry.max_response_bytes, read).await {
        Ok(response) => ApiErrorResponse::read(method, path, response).await,
        Err(error) => Err(error),
    };
    match refused {
        Ok(refused) => Error::Authentication(Box::new(
            refused.with_note(format!("no usable Digest challenge: {why}")),
        )),
        // The probe carried no body: a `200` to it created nothing.
        Err(error) => error.before_operation(),
    }
}

/// A `401` whose `WWW-Authenticate` values add up to more than
/// [`digest::MAX_CHALLENGE_BYTES`]: refused unparsed (a challenge header of
/// hundreds of kilobytes is no Atlas's).
fn challenge_too_large(request: &Request) -> Error {
    Error::too_large(
        request.method().as_str(),
        request.url().path(),
        Some(StatusCode::UNAUTHORIZED),
        "WWW-Authenticate header",
        digest::MAX_CHALLENGE_BYTES as u64,
    )
}
