//! API keys: HTTP Digest with one round trip per request in steady state.
//!
//! A Digest nonce is answered with a nonce count (`nc`) that must not
//! repeat, and servers that check it strictly refuse counts out of order
//! (Apache httpd with `AuthDigestNcCheck On` wants exactly the next one).
//! Concurrent requests sharing a nonce reach the server in any order, so
//! here a nonce is **leased** to one request at a time: a call takes an idle
//! nonce from the client's pool, answers it with its next count and a fresh
//! `cnonce`, and gives it back when the answer comes. A call dropped while
//! its request is under way drops the nonce instead (the request may still
//! arrive after the next one). A call that finds no idle nonce learns one of
//! its own from a request that carries neither body (a Kafka password must
//! not travel on a request bound to be refused) nor credentials: a *probe*,
//! which Atlas answers `401` with a challenge. The pool so grows to the
//! client's peak concurrency, and then every call is one exchange.
//!
//! A server keeps state for each nonce or client it issued, and may keep
//! only so many: Apache's default table holds six `opaque`s and forgets the
//! oldest when a seventh comes, answering their next use `stale=true` with a
//! new `opaque`. Such an answer halves the nonces the pool keeps (at most
//! [`MAX_NONCES`]); calls beyond them wait for one to come back, and after
//! 64 answers without another, one more is tried.
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
//! again answering it, with the new nonce leased to it alone (twice at
//! most; a call whose nonces keep going stale then waits for another from
//! the pool, twice). A `401` without `stale=true` to a nonce never used
//! before almost always means the key is wrong, since no other request held
//! that nonce; almost, because Apache, when its table is full, can evict the
//! client of a request under way and check that request against the entry
//! that took its place (`nonce-count check failed: 1 != 0`). So the first
//! such refusal in a call is answered once more with its new challenge, and
//! the second ends the call: a wrong key costs three exchanges, a probe and
//! two refused answers.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use reqwest::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, WWW_AUTHENTICATE,
};
use reqwest::{Request, Response, StatusCode};

use super::digest::{self, Challenge, ChallengeError};
use super::flight::SingleFlight;
use crate::SecretString;
use crate::error::Error;
use crate::send::{Exchange, Read, Sender, discard, read_error_response, replay};

/// An answer's `Authentication-Info` header (RFC 7616 section 3.5).
const AUTHENTICATION_INFO: HeaderName = HeaderName::from_static("authentication-info");

/// The most nonces one client keeps at once, idle or in use: one for each
/// concurrent call up to this many, and calls beyond it wait for one to come
/// back. Lowered when the server shows it cannot keep as many ([`Pool::shrink`]).
pub(crate) const MAX_NONCES: usize = 256;

/// How many times one call answers a new challenge after a `401`: once for
/// a nonce the server no longer takes, and once more should the new one be
/// declared stale before it was used.
const MAX_CHALLENGE_RETRIES: u32 = 2;

/// A challenge and the nonce count last sent with it (0: never used).
struct Nonce {
    challenge: Challenge,
    nc: u32,
    /// The pool's epoch when it was learned (see [`Pool::shrink`]).
    epoch: u64,
}

/// After this many answers without the server forgetting a nonce, a pool
/// that made calls wait may keep one nonce more.
const GROW_AFTER: u32 = 64;

/// Calls that find a nonce refused as stale after their challenge retries
/// go back to the pool for another this many times, rather than fail: the
/// key was right.
const MAX_RELEASES: u32 = 2;

/// The nonces of one API key: those no request holds, and how many exist.
struct Pool {
    state: Mutex<PoolState>,
    /// Told when a nonce comes back or is dropped, for the calls waiting
    /// because every nonce allowed is in use.
    returned: Notify,
}

struct PoolState {
    idle: Vec<Nonce>,
    /// Nonces in existence: idle, leased, or being learned by a probe.
    live: usize,
    /// The most nonces allowed to exist.
    cap: usize,
    /// A challenge was learned once: a call without an idle nonce probes
    /// for one of its own rather than waiting on the shared first probe.
    learned: bool,
    /// Counts the times the pool shrank; nonces learned before the last
    /// time do not make it shrink again.
    epoch: u64,
    /// Answers since the pool last shrank or grew.
    answers: u32,
    /// A call waited because every nonce allowed was in use.
    starved: bool,
}

impl Default for Pool {
    fn default() -> Self {
        Self {
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                live: 0,
                cap: MAX_NONCES,
                learned: false,
                epoch: 0,
                answers: 0,
                starved: false,
            }),
            returned: Notify::new(),
        }
    }
}

/// What [`Pool::take`] gave.
enum Taken {
    /// An idle nonce.
    Nonce(Nonce),
    /// None idle, but room for one more: learn it.
    Reserved,
    /// Every nonce allowed is in use: wait for one.
    Full,
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The nonce returned last (the one least likely to have expired), else
    /// room for a new one.
    fn take(&self) -> Taken {
        let mut state = self.lock();
        if let Some(nonce) = state.idle.pop() {
            Taken::Nonce(nonce)
        } else if state.live < state.cap {
            state.live += 1;
            Taken::Reserved
        } else {
            state.starved = true;
            Taken::Full
        }
    }

    /// A nonce for `challenge`, never used, of the current epoch.
    fn nonce(&self, challenge: Challenge) -> Nonce {
        Nonce {
            challenge,
            nc: 0,
            epoch: self.lock().epoch,
        }
    }

    /// `challenge`, learned by the shared first probe.
    fn add(&self, challenge: Challenge) {
        let nonce = self.nonce(challenge);
        let mut state = self.lock();
        state.learned = true;
        state.live += 1;
        state.idle.push(nonce);
        drop(state);
        self.returned.notify_one();
    }

    /// A leased nonce back, to wait idle (or to go, when the pool shrank).
    /// After [`GROW_AFTER`] answers without a nonce forgotten, a pool that
    /// made calls wait keeps one more.
    fn put(&self, nonce: Nonce) {
        let mut state = self.lock();
        state.learned = true;
        state.answers = state.answers.saturating_add(1);
        if state.starved && state.answers >= GROW_AFTER && state.cap < MAX_NONCES {
            state.cap += 1;
            state.answers = 0;
            state.starved = false;
        }
        if state.live > state.cap {
            state.live -= 1;
        } else {
            state.idle.push(nonce);
        }
        drop(state);
        self.returned.notify_one();
    }

    /// A nonce (or the room reserved for one) gone.
    fn release(&self) {
        let mut state = self.lock();
        state.live = state.live.saturating_sub(1);
        drop(state);
        self.returned.notify_one();
    }

    /// The server forgot a nonce of ours, learned in `epoch` (Apache
    /// evicts clients when its table is full: its `401` says `stale=true`
    /// with a new `opaque`): keep half as many nonces from now on, so that
    /// calls wait for a nonce rather than make the server forget more. Once
    /// per epoch, as the nonces of one burst are forgotten together.
    fn shrink(&self, epoch: u64) {
        let mut state = self.lock();
        if epoch < state.epoch {
            return;
        }
        state.cap = (state.cap.min(state.live) / 2).max(1);
        state.epoch += 1;
        state.answers = 0;
        tracing::debug!(
            nonces = state.cap,
            "the server forgets Digest nonces; keeping fewer"
        );
    }

    fn learned(&self) -> bool {
        self.lock().learned
    }
}

/// Room for a nonce a probe is learning; given back if the probe fails.
struct Reservation<'a> {
    pool: &'a Pool,
    /// Not yet turned into a lease.
    held: bool,
}

impl<'a> Reservation<'a> {
    fn lease(mut self, challenge: Challenge) -> Lease<'a> {
        self.held = false;
        Lease::of(self.pool, self.pool.nonce(challenge))
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.held {
            self.pool.release();
        }
    }
}

/// A nonce held by one request; back to the pool when dropped, unless
/// [`Lease::forget`] said it is of no more use or the request it answers
/// may still be under way (a call dropped while waiting for its answer):
/// the next count could then reach the server before it.
struct Lease<'a> {
    pool: &'a Pool,
    nonce: Option<Nonce>,
    /// A request answering it is on its way.
    sending: bool,
}

impl<'a> Lease<'a> {
    fn of(pool: &'a Pool, nonce: Nonce) -> Self {
        Self {
            pool,
            nonce: Some(nonce),
            sending: false,
        }
    }

    /// The epoch of its nonce when `refusal` says the server forgot it with
    /// its client: `stale=true` with another `opaque`.
    fn forgotten(&self, refusal: &Challenge) -> Option<u64> {
        let nonce = self.nonce.as_ref()?;
        let opaque = nonce.challenge.opaque.as_ref()?;
        (refusal.stale && refusal.opaque.as_ref() != Some(opaque)).then_some(nonce.epoch)
    }

    /// Never used: a refusal cannot come from another request's count.
    fn is_fresh(&self) -> bool {
        self.nonce.as_ref().is_none_or(|n| n.nc == 0)
    }

    /// Answers `challenge` from now on, in place of the refused nonce.
    fn renew(&mut self, challenge: Challenge) {
        self.nonce = Some(self.pool.nonce(challenge));
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
        match self.nonce.take() {
            Some(nonce) if !self.sending => self.pool.put(nonce),
            _ => self.pool.release(),
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
        let (idle, allowed) = {
            let pool = self.pool.lock();
            (pool.idle.len(), pool.cap)
        };
        f.debug_struct("ApiKey")
            .field("public_key", &self.public_key)
            .field("idle_nonces", &idle)
            .field("nonces_allowed", &allowed)
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

    /// Sends `request`, the call's attempt `attempt`, with Digest
    /// authentication.
    pub async fn send(
        &self,
        sender: &Sender,
        request: Request,
        attempt: u32,
    ) -> Result<Response, Error> {
        let mut lease = self.lease(sender, &request).await?;
        let mut request = request;
        let (mut retries, mut releases, mut fresh_refused) = (0, 0, false);
        loop {
            let again = replay(&request)?;
            let fresh = lease.is_fresh();
            let response = self
                .send_authorized(sender, request, attempt, &mut lease)
                .await?;
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
            // Forgotten with its client: the server holds fewer than we use.
            if let Some(epoch) = lease.forgotten(&challenge) {
                self.pool.shrink(epoch);
            }
            // A nonce nobody had used, refused without `stale` a second
            // time in this call: the key is wrong, and asking again would
            // only repeat the answer (the first time may be Apache's
            // eviction, see the module docs). Else a new challenge is
            // answered twice at most, then (right credentials, nonces
            // forgotten one after another) the call waits for a nonce the
            // server keeps, twice at most.
            let stale = challenge.stale;
            let doubted = fresh && !stale;
            let retry = retries < MAX_CHALLENGE_RETRIES;
            let release = !retry && stale && releases < MAX_RELEASES;
            if (doubted && fresh_refused) || !(retry || release) {
                lease.forget();
                return Ok(response);
            }
            fresh_refused |= doubted;
            discard(response).await;
            tracing::debug!(stale, "Digest nonce refused; answering the new challenge");
            if retry {
                retries += 1;
                lease.renew(challenge);
            } else {
                (retries, releases) = (0, releases + 1);
                lease.forget();
                lease = self.lease(sender, &again).await?;
            }
            request = again;
        }
    }

    /// Sends `request` answering the leased nonce, the lease marked as in
    /// flight meanwhile.
    async fn send_authorized(
        &self,
        sender: &Sender,
        request: Request,
        attempt: u32,
        lease: &mut Lease<'_>,
    ) -> Result<Response, Error> {
        let authorized = self.authorize(request, lease);
        lease.sending = true;
        let response = sender.send(Exchange::call(attempt), authorized).await;
        lease.sending = false;
        response
    }

    /// An idle nonce, else the shared first probe's (while no challenge was
    /// ever learned), else one from a probe of this call's own, else (when
    /// every nonce allowed is in use) the next one to come back.
    async fn lease(&self, sender: &Sender, request: &Request) -> Result<Lease<'_>, Error> {
        loop {
            if !self.pool.learned() {
                self.first_probe
                    .join(
                        || self.pool.learned().then_some(()),
                        || {
                            let (pool, sender) = (self.pool.clone(), sender.clone());
                            let bodiless = bodiless(request);
                            async move {
                                pool.add(probe(&sender, bodiless).await?);
                                Ok(())
                            }
                        },
                    )
                    .await?;
            }
            // Registered before looking, so that a nonce coming back in
            // between is not missed.
            let returned = self.pool.returned.notified();
            tokio::pin!(returned);
            returned.as_mut().enable();
            match self.pool.take() {
                Taken::Nonce(nonce) => return Ok(Lease::of(&self.pool, nonce)),
                Taken::Reserved => {
                    let reservation = Reservation {
                        pool: &self.pool,
                        held: true,
                    };
                    let challenge = probe(sender, bodiless(request)).await?;
                    return Ok(reservation.lease(challenge));
                }
                Taken::Full => returned.await,
            }
        }
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
        .retrying_idempotent(|attempt| {
            let again = replay(&bodiless);
            async move { sender.send(Exchange::digest_probe(attempt), again?).await }
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
    let refused = read_error_response(response, sender.retry.max_response_bytes, read).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::digest::Algorithm;

    fn nonce(name: &str, epoch: u64) -> Nonce {
        Nonce {
            challenge: Challenge {
                realm: "r".into(),
                nonce: name.into(),
                opaque: None,
                algorithm: Algorithm::Md5,
                qop_auth: true,
                stale: false,
                userhash: false,
            },
            nc: 0,
            epoch,
        }
    }

    /// `(idle, live, cap)`.
    fn counts(pool: &Pool) -> (usize, usize, usize) {
        let state = pool.lock();
        (state.idle.len(), state.live, state.cap)
    }

    fn is_reserved(taken: Taken) -> bool {
        matches!(taken, Taken::Reserved)
    }

    fn is_full(taken: Taken) -> bool {
        matches!(taken, Taken::Full)
    }

    #[test]
    fn room_is_reserved_up_to_the_cap_then_calls_wait() {
        let pool = Pool::default();
        pool.lock().cap = 2;
        assert!(is_reserved(pool.take()));
        assert!(is_reserved(pool.take()));
        assert!(is_full(pool.take()));
        assert!(pool.lock().starved);
        assert_eq!(counts(&pool), (0, 2, 2));
        pool.put(nonce("a", 0));
        assert_eq!(counts(&pool), (1, 2, 2));
        let Taken::Nonce(taken) = pool.take() else {
            panic!("the idle nonce");
        };
        assert_eq!(taken.challenge.nonce, "a");
        pool.release();
        assert_eq!(counts(&pool), (0, 1, 2));
        assert!(is_reserved(pool.take()));
    }

    #[test]
    fn the_first_probe_adds_a_nonce_that_counts() {
        let pool = Pool::default();
        assert!(!pool.learned());
        pool.add(nonce("first", 0).challenge);
        assert!(pool.learned());
        assert_eq!(counts(&pool), (1, 1, MAX_NONCES));
    }

    #[test]
    fn a_forgotten_nonce_halves_the_pool_once_per_epoch() {
        let pool = Pool::default();
        for _ in 0..10 {
            assert!(is_reserved(pool.take()));
        }
        pool.shrink(0);
        assert_eq!(counts(&pool), (0, 10, 5), "half of the 10 in use");
        pool.shrink(0);
        assert_eq!(counts(&pool).2, 5, "the same burst again: no change");
        // Back from their calls, nonces beyond the cap go.
        for i in 0..10 {
            pool.put(nonce(&i.to_string(), 0));
        }
        assert_eq!(counts(&pool), (5, 5, 5));
        pool.shrink(1);
        assert_eq!(counts(&pool).2, 2);
        pool.shrink(2);
        pool.shrink(3);
        assert_eq!(counts(&pool).2, 1, "never below one");
    }

    #[test]
    fn a_starved_pool_grows_by_one_after_enough_answers() {
        let pool = Pool::default();
        pool.lock().cap = 1;
        assert!(is_reserved(pool.take()));
        pool.put(nonce("n", 0));
        for _ in 1..GROW_AFTER {
            let Taken::Nonce(back) = pool.take() else {
                panic!("the nonce back");
            };
            pool.put(back);
        }
        assert_eq!(counts(&pool), (1, 1, 1), "no call waited: no growth");
        let Taken::Nonce(back) = pool.take() else {
            panic!("the nonce back");
        };
        assert!(is_full(pool.take()));
        pool.put(back);
        assert_eq!(counts(&pool), (1, 1, 2), "a call waited: one more allowed");
        assert!(!pool.lock().starved);

        // Starved at once, the next growth needs its own answers.
        let Taken::Nonce(back) = pool.take() else {
            panic!("the nonce back");
        };
        assert!(is_reserved(pool.take()));
        assert!(is_full(pool.take()));
        for _ in 1..GROW_AFTER {
            pool.put(nonce("n", 0));
            let Taken::Nonce(_) = pool.take() else {
                panic!("the nonce back");
            };
        }
        assert_eq!(counts(&pool).2, 2, "one answer short");
        pool.put(back);
        assert_eq!(counts(&pool), (1, 2, 3));

        // Never past the most.
        {
            let mut state = pool.lock();
            (state.cap, state.starved, state.answers) = (MAX_NONCES, true, GROW_AFTER);
        }
        let Taken::Nonce(back) = pool.take() else {
            panic!("the nonce back");
        };
        pool.put(back);
        assert_eq!(counts(&pool).2, MAX_NONCES);
    }
}
