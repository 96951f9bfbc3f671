//! API keys: HTTP Digest with one round trip per request in steady state.
//!
//! A Digest nonce is answered with a nonce count (`nc`) that must not
//! repeat, and servers that check it strictly (Apache httpd with
//! `AuthDigestNcCheck On`) also refuse a count that is not above the last
//! one they accepted for that nonce. Concurrent requests sharing a nonce
//! reach the server in any order, so here a nonce is **leased** to one
//! request at a time: a call takes an idle nonce from the client's pool,
//! answers it with its next count and a fresh `cnonce`, and gives it back
//! when the answer comes (or when the call is dropped). A call that finds no
//! idle nonce learns one of its own from a request that carries neither body
//! (a Kafka password must not travel on a request bound to be refused) nor
//! credentials: a *probe*, which Atlas answers `401` with a challenge. The
//! pool so grows to the client's peak concurrency (at most [`MAX_IDLE`]
//! nonces), and then every call is one exchange.
//!
//! The client's first probe is shared: calls that arrive while it runs wait
//! for its outcome, success or failure, instead of probing in turn (against
//! a server that does not answer, they all fail after one timeout). It runs
//! detached from them ([`SingleFlight`]).
//!
//! A `401` to a nonce already used (expired, with `stale=true` or not, or
//! refused for its count) brings a new challenge, and the request is sent
//! once more answering it, with the new nonce leased to it alone. A `401`
//! without `stale=true` to a nonce never used before means the key is
//! wrong: no race can explain it, since no other request held that nonce,
//! and the call ends with it.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use reqwest::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, WWW_AUTHENTICATE,
};
use reqwest::{Request, Response, StatusCode};

use super::digest::{self, Challenge, ChallengeError};
use super::flight::SingleFlight;
use crate::SecretString;
use crate::error::ApiErrorResponse;
use crate::error::Error;
use crate::send::{Read, Sender, buffered, discard, read_body, rebuild, replay};

/// The most idle nonces one client keeps: beyond its peak concurrency a
/// nonce is not worth keeping, and a server that tracks nonce counts keeps
/// state for each one it issued.
pub(crate) const MAX_IDLE: usize = 256;

/// How many times one call answers a new challenge after a `401`: once for
/// a nonce the server no longer takes, and once more should the new one be
/// declared stale before it was used.
const MAX_CHALLENGE_RETRIES: u32 = 2;

/// A challenge and the nonce count last sent with it (0: never used).
struct Nonce {
    challenge: Challenge,
    nc: u32,
}

/// The nonces of one API key that no request holds right now.
#[derive(Default)]
struct Pool {
    idle: Mutex<Idle>,
}

#[derive(Default)]
struct Idle {
    nonces: Vec<Nonce>,
    /// A challenge was learned once: a call without an idle nonce probes
    /// for one of its own rather than waiting on the shared first probe.
    learned: bool,
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The nonce returned last (the one least likely to have expired).
    fn take(&self) -> Option<Nonce> {
        self.lock().nonces.pop()
    }

    fn put(&self, nonce: Nonce) {
        let mut idle = self.lock();
        idle.learned = true;
        if idle.nonces.len() < MAX_IDLE {
            idle.nonces.push(nonce);
        }
    }

    fn learned(&self) -> bool {
        self.lock().learned
    }
}

/// A nonce held by one request; back to the pool when dropped, unless
/// [`Lease::forget`] said it is of no more use.
struct Lease<'a> {
    pool: &'a Pool,
    nonce: Option<Nonce>,
}

impl<'a> Lease<'a> {
    fn new(pool: &'a Pool, challenge: Challenge) -> Self {
        Self {
            pool,
            nonce: Some(Nonce { challenge, nc: 0 }),
        }
    }

    /// Never used: a refusal cannot come from another request's count.
    fn is_fresh(&self) -> bool {
        self.nonce.as_ref().is_none_or(|n| n.nc == 0)
    }

    /// Answers `challenge` from now on, in place of the refused nonce.
    fn renew(&mut self, challenge: Challenge) {
        self.nonce = Some(Nonce { challenge, nc: 0 });
    }

    fn forget(mut self) {
        self.nonce = None;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(nonce) = self.nonce.take() {
            self.pool.put(nonce);
        }
    }
}

/// An API key and the nonces it answers.
pub(crate) struct ApiKey {
    public_key: String,
    private_key: SecretString,
    pool: Arc<Pool>,
    first_probe: SingleFlight<Probed>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("public_key", &self.public_key)
            .field("idle_nonces", &self.pool.lock().nonces.len())
            .finish_non_exhaustive()
    }
}

/// What a probe gave.
enum Probe {
    /// A challenge to answer.
    Challenge(Challenge),
    /// Throttling or a server error (`429`, `5xx`): the call's answer, which
    /// the retry rule then judges.
    Answer(Response),
}

/// The outcome of the shared first probe, for every call that waited on it.
#[derive(Clone)]
enum Probed {
    /// Its challenge is in the pool.
    Learned,
    /// Throttling or a server error, read whole, for each call to judge.
    Answer {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
}

/// How a call starts: with a nonce, or with the answer to its probe.
enum Start<'a> {
    Nonce(Lease<'a>),
    Answer(Response),
}

impl ApiKey {
    pub fn new(public_key: String, private_key: SecretString) -> Self {
        Self {
            public_key,
            private_key,
            pool: Arc::default(),
            first_probe: SingleFlight::default(),
        }
    }

    /// Sends `request` with Digest authentication.
    pub async fn send(&self, sender: &Sender, request: Request) -> Result<Response, Error> {
        let mut lease = match self.start(sender, &request).await? {
            Start::Nonce(lease) => lease,
            Start::Answer(response) => return Ok(response),
        };
        let mut request = request;
        let mut retries = 0;
        loop {
            let again = replay(&request)?;
            let fresh = lease.is_fresh();
            let response = sender.send(self.authorize(request, &mut lease)).await?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            let challenge =
                match digest::parse_challenges(response.headers().get_all(WWW_AUTHENTICATE)) {
                    Ok(challenge) => challenge,
                    Err(ChallengeError::TooLarge) => {
                        lease.forget();
                        return Err(challenge_too_large(&again));
                    }
                    // The refusal goes back as it came.
                    Err(_) => {
                        lease.forget();
                        return Ok(response);
                    }
                };
            // A nonce nobody had used, refused without `stale`: the key is
            // wrong, and asking again would only repeat the answer.
            if (fresh && !challenge.stale) || retries == MAX_CHALLENGE_RETRIES {
                lease.forget();
                return Ok(response);
            }
            retries += 1;
            discard(response).await;
            tracing::debug!(
                stale = challenge.stale,
                "Digest nonce refused; answering the new challenge"
            );
            lease.renew(challenge);
            request = again;
        }
    }

    /// An idle nonce, else the shared first probe's (while no challenge was
    /// ever learned), else one from a probe of this call's own.
    async fn start(&self, sender: &Sender, request: &Request) -> Result<Start<'_>, Error> {
        // Twice: a call that waited on the first probe may find its nonce
        // taken by another, and then probes alone.
        for _ in 0..2 {
            if let Some(nonce) = self.pool.take() {
                return Ok(Start::Nonce(Lease {
                    pool: &self.pool,
                    nonce: Some(nonce),
                }));
            }
            if self.pool.learned() {
                break;
            }
            let probed = self
                .first_probe
                .join(
                    || self.pool.learned().then_some(Probed::Learned),
                    || {
                        let (pool, sender) = (self.pool.clone(), sender.clone());
                        let bodiless = bodiless(request);
                        async move { first_probe(&pool, &sender, bodiless).await }
                    },
                )
                .await?;
            if let Probed::Answer {
                status,
                headers,
                body,
            } = probed
            {
                return Ok(Start::Answer(rebuild(status, headers, body)));
            }
        }
        Ok(match probe(sender, bodiless(request)).await? {
            Probe::Challenge(challenge) => Start::Nonce(Lease::new(&self.pool, challenge)),
            Probe::Answer(response) => Start::Answer(response),
        })
    }

    /// `request` with an `Authorization` answering the leased nonce with its
    /// next count.
    fn authorize(&self, mut request: Request, lease: &mut Lease<'_>) -> Request {
        let Some(nonce) = lease.nonce.as_mut() else {
            return request;
        };
        nonce.nc = nonce.nc.saturating_add(1);
        let url = request.url();
        let uri = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let header = digest::authorization(
            &nonce.challenge,
            &self.public_key,
            &self.private_key,
            request.method().as_str(),
            &uri,
            nonce.nc,
            &digest::cnonce(),
        );
        request.headers_mut().insert(AUTHORIZATION, header);
        request
    }
}

/// The first probe of a client, run for every call waiting on it: its
/// challenge goes to the pool, and a throttling or error answer is read
/// whole so that each waiting call can judge it.
async fn first_probe(pool: &Pool, sender: &Sender, bodiless: Request) -> Result<Probed, Error> {
    let (method, path) = (
        bodiless.method().to_string(),
        bodiless.url().path().to_owned(),
    );
    match probe(sender, bodiless).await? {
        Probe::Challenge(challenge) => {
            pool.put(Nonce { challenge, nc: 0 });
            Ok(Probed::Learned)
        }
        Probe::Answer(response) => {
            let (status, headers) = (response.status(), response.headers().clone());
            let read = Read {
                method: &method,
                path: &path,
                what: "response body",
                status_known: true,
            };
            // The probe carried no body: nothing was created.
            let body = read_body(response, sender.retry.max_response_bytes, read)
                .await
                .map_err(Error::before_operation)?;
            Ok(Probed::Answer {
                status,
                headers,
                body,
            })
        }
    }
}

/// A copy of `request` without its body, for a probe.
fn bodiless(request: &Request) -> Request {
    let mut bodiless = Request::new(request.method().clone(), request.url().clone());
    *bodiless.headers_mut() = request.headers().clone();
    bodiless.headers_mut().remove(CONTENT_TYPE);
    // An explicit zero: some servers and proxies refuse a POST that declares
    // no length.
    bodiless
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    bodiless
}

/// Learns a challenge with `bodiless`, a request with neither body nor
/// credentials.
async fn probe(sender: &Sender, bodiless: Request) -> Result<Probe, Error> {
    let again = replay(&bodiless)?;
    let response = sender.send(bodiless).await?;
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Ok(Probe::Answer(response));
    }
    let challenge = match status {
        StatusCode::UNAUTHORIZED => {
            match digest::parse_challenges(response.headers().get_all(WWW_AUTHENTICATE)) {
                Err(ChallengeError::TooLarge) => return Err(challenge_too_large(&again)),
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
            Ok(Probe::Challenge(challenge))
        }
        // Without a challenge the key cannot be used, and the body must not
        // go out unauthenticated: the call ends here.
        Err(why) => Err(no_challenge(sender, &again, response, why).await),
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
