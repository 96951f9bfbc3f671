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
//! detached from them ([`SingleFlight`]). A probe creates nothing, so like
//! a token request it is retried after throttling, a `5xx` or no answer
//! before its failure is shared: one fault costs no call.
//!
//! An answer may name the nonce to use next (`Authentication-Info:
//! nextnonce`, which Apache sends as a nonce nears its end): the lease
//! answers that one from then on, its count starting again at 1.
//!
//! A `401` to a nonce already used (expired, with `stale=true` or not, or
//! refused for its count) brings a new challenge, and the request is sent
//! once more answering it, with the new nonce leased to it alone. A `401`
//! without `stale=true` to a nonce never used before means the key is
//! wrong: no race can explain it, since no other request held that nonce,
//! and the call ends with it.

use std::sync::{Arc, Mutex};

use reqwest::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, WWW_AUTHENTICATE,
};
use reqwest::{Request, Response, StatusCode};

use super::digest::{self, Challenge, ChallengeError};
use super::flight::SingleFlight;
use crate::SecretString;
use crate::error::ApiErrorResponse;
use crate::error::Error;
use crate::send::{Read, Sender, buffered, discard, replay};

/// An answer's `Authentication-Info` header (RFC 7616 section 3.5).
const AUTHENTICATION_INFO: HeaderName = HeaderName::from_static("authentication-info");

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

    /// Answers `nonce`, which the server asked for in place of the
    /// current one (`Authentication-Info: nextnonce`), counting from 1.
    fn advance(&mut self, nonce: String) {
        if let Some(current) = self.nonce.as_mut() {
            current.challenge.nonce = nonce;
            current.nc = 0;
        }
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
    first_probe: SingleFlight<()>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("public_key", &self.public_key)
            .field("idle_nonces", &self.pool.lock().nonces.len())
            .finish_non_exhaustive()
    }
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
        let mut lease = self.lease(sender, &request).await?;
        let mut request = request;
        let mut retries = 0;
        loop {
            let again = replay(&request)?;
            let fresh = lease.is_fresh();
            let response = sender.send(self.authorize(request, &mut lease)).await?;
            if response.status() != StatusCode::UNAUTHORIZED {
                let info = response.headers().get_all(&AUTHENTICATION_INFO);
                if let Some(next) = digest::next_nonce(info) {
                    lease.advance(next);
                }
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
    async fn lease(&self, sender: &Sender, request: &Request) -> Result<Lease<'_>, Error> {
        // Twice: a call that waited on the first probe may find its nonce
        // taken by another, and then probes alone.
        for _ in 0..2 {
            if let Some(nonce) = self.pool.take() {
                return Ok(Lease {
                    pool: &self.pool,
                    nonce: Some(nonce),
                });
            }
            if self.pool.learned() {
                break;
            }
            self.first_probe
                .join(
                    || self.pool.learned().then_some(()),
                    || {
                        let (pool, sender) = (self.pool.clone(), sender.clone());
                        let bodiless = bodiless(request);
                        async move {
                            let challenge = probe(&sender, bodiless).await?;
                            pool.put(Nonce { challenge, nc: 0 });
                            Ok(())
                        }
                    },
                )
                .await?;
        }
        let challenge = probe(sender, bodiless(request)).await?;
        Ok(Lease::new(&self.pool, challenge))
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
/// credentials. It creates nothing, so it is retried like a token request
/// (after throttling, a `5xx` or no answer); an answer still refused after
/// that is the call's error.
async fn probe(sender: &Sender, bodiless: Request) -> Result<Challenge, Error> {
    let response = sender
        .retrying_idempotent(|| {
            let again = replay(&bodiless);
            async move { sender.send(again?).await }
        })
        .await?;
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        // Throttling or an outage, after the retries: the call's error.
        return Err(refusal(sender, &bodiless, response, None).await);
    }
    let challenge = match status {
        StatusCode::UNAUTHORIZED => {
            match digest::parse_challenges(response.headers().get_all(WWW_AUTHENTICATE)) {
                Err(ChallengeError::TooLarge) => return Err(challenge_too_large(&bodiless)),
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
            Ok(challenge)
        }
        // Without a challenge the key cannot be used, and the body must not
        // go out unauthenticated: the call ends here.
        Err(why) => Err(refusal(sender, &bodiless, response, Some(why)).await),
    }
}

/// The error for a probe's answer, its body read up to the client's limit:
/// an authentication error when it brought no usable challenge (`why`),
/// else the error its status says (throttling, an outage).
async fn refusal(
    sender: &Sender,
    request: &Request,
    response: Response,
    why: Option<String>,
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
    match (refused, why) {
        (Ok(refused), Some(why)) => Error::Authentication(Box::new(
            refused.with_note(format!("no usable Digest challenge: {why}")),
        )),
        (Ok(refused), None) => Error::from_response(refused),
        // The probe carried no body: a `200` to it created nothing.
        (Err(error), _) => error.before_operation(),
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
