//! Service accounts: OAuth 2.0 client credentials (RFC 6749 §4.4) against
//! `{base}/api/oauth/token`, with one cached token per client.
//!
//! Atlas allows about 100 live tokens per service account and 10 token
//! requests a minute, so the cache is single-flight: however many calls find
//! the token missing or expiring at once, one token request is made and they
//! all wait for its answer (success or failure) instead of asking again. The
//! request runs detached from the calls ([`SingleFlight`]): a caller that
//! gives up (its own timeout) does not abandon it, and the calls after it
//! find the token it brought. A token request is safe to repeat, so a `5xx`,
//! a `429` or a connection failure is retried with the client's backoff
//! ([`Sender::retrying_idempotent`]) before its failure is shared.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Request};
use serde_json::Value;

use super::Bearer;
use super::flight::SingleFlight;
use crate::SecretString;
use crate::error::{ApiErrorResponse, Error};
use crate::send::{Exchange, Read, Sender, TOKEN_ANSWER_LIMIT, read_body, read_error_response};

const FORM: &str = "application/x-www-form-urlencoded";

/// A service account's credentials and its token cache.
pub(crate) struct ServiceAccount {
    source: Arc<TokenSource>,
    /// The token request under way, if any.
    flight: SingleFlight<Token>,
}

/// What a token request needs, shared with the task that makes it.
struct TokenSource {
    client_id: String,
    client_secret: SecretString,
    token_url: reqwest::Url,
    revoke_url: reqwest::Url,
    margin: Duration,
    cached: Mutex<Option<Token>>,
    generations: AtomicU64,
}

#[derive(Clone)]
struct Token {
    value: SecretString,
    /// Its `Authorization` header, made once for every call that uses it.
    bearer: Bearer,
    refresh_at: Instant,
    generation: u64,
}

/// A token handed to one call.
pub(crate) struct Lease {
    pub bearer: Bearer,
    pub generation: u64,
    /// Fetched while this call waited: a `401` with it is final.
    pub fresh: bool,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("token_url", &self.source.token_url.as_str())
            .field("has_token", &self.source.current().is_some())
            .field("flight", &self.flight)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    pub fn new(
        client_id: String,
        client_secret: SecretString,
        base_url: &str,
        margin: Duration,
    ) -> Result<Self, Error> {
        let url = |path: &str| {
            reqwest::Url::parse(&format!("{base_url}{path}"))
                .map_err(|e| Error::invalid("base_url", format!("{path}: {e}")))
        };
        Ok(Self {
            source: Arc::new(TokenSource {
                client_id,
                client_secret,
                token_url: url("/api/oauth/token")?,
                revoke_url: url("/api/oauth/revoke")?,
                margin,
                cached: Mutex::new(None),
                generations: AtomicU64::new(0),
            }),
            flight: SingleFlight::default(),
        })
    }

    /// A token that is not about to expire, fetching one if needed.
    ///
    /// Every call waiting while a token request runs gets its outcome, even
    /// a token already inside its refresh margin (a short-lived one), so
    /// that a queue never turns into a series of token requests.
    pub async fn token(&self, sender: &Sender) -> Result<Lease, Error> {
        if let Some(lease) = self.cached() {
            return Ok(lease);
        }
        let mut cached = false;
        let token = self
            .flight
            .join(
                || {
                    let token = self.source.current();
                    cached = token.is_some();
                    token
                },
                || {
                    let (source, sender) = (self.source.clone(), sender.clone());
                    async move {
                        let token = source.fetch(&sender).await?;
                        source.store(Some(token.clone()));
                        Ok(token)
                    }
                },
            )
            .await?;
        Ok(lease(token, !cached))
    }

    /// The cached token, if it is not about to expire: what most calls
    /// take, without a copy of the token.
    pub fn cached(&self) -> Option<Lease> {
        self.source
            .lock()
            .as_ref()
            .filter(|t| t.usable())
            .map(|t| Lease {
                bearer: t.bearer.clone(),
                generation: t.generation,
                fresh: false,
            })
    }

    /// Forgets the token of `generation` after the API refused it, unless a
    /// newer one already replaced it.
    pub fn invalidate(&self, generation: u64) {
        let mut cached = self.source.lock();
        if cached.as_ref().is_some_and(|t| t.generation == generation) {
            *cached = None;
        }
    }

    /// Revokes the cached token, if there is one, and forgets it.
    pub async fn revoke(&self, sender: &Sender) -> Result<(), Error> {
        self.source.revoke(sender).await
    }
}

fn lease(token: Token, fresh: bool) -> Lease {
    Lease {
        bearer: token.bearer,
        generation: token.generation,
        fresh,
    }
}

impl Token {
    /// Not yet in its refresh margin.
    fn usable(&self) -> bool {
        Instant::now() < self.refresh_at
    }
}

impl TokenSource {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Token>> {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn current(&self) -> Option<Token> {
        self.lock().as_ref().filter(|t| t.usable()).cloned()
    }

    fn store(&self, token: Option<Token>) {
        *self.lock() = token;
    }

    /// A form POST authenticated with the client id and secret.
    fn form_request(&self, sender: &Sender, url: &reqwest::Url, body: String) -> Request {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        // RFC 6749 §2.3.1: id and secret are form-encoded before Basic.
        let mut secret = encode(self.client_secret.expose_secret());
        let request = sender
            .http
            .post(url.clone())
            .basic_auth(encode(&self.client_id), Some(&secret))
            .header(CONTENT_TYPE, HeaderValue::from_static(FORM))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .body(body)
            .build();
        zeroize::Zeroize::zeroize(&mut secret);
        // Building from a parsed URL and static headers cannot fail; should
        // it, the request goes out empty and the server's answer says so.
        request.unwrap_or_else(|_| Request::new(Method::POST, url.clone()))
    }

    async fn fetch(&self, sender: &Sender) -> Result<Token, Error> {
        let started = Instant::now();
        let response = sender
            .retrying_idempotent(|attempt| {
                let body = "grant_type=client_credentials".to_owned();
                let request = self.form_request(sender, &self.token_url, body);
                sender.send(Exchange::token(attempt), request)
            })
            .await?;
        let status = response.status();
        let headers = response.headers().clone();
        let path = self.token_url.path().to_owned();
        let read = Read {
            method: "POST",
            path: &path,
            what: "token answer",
            status_known: true,
        };
        // A token answer that cannot be read is no created connection.
        let body = read_body(response, TOKEN_ANSWER_LIMIT, read)
            .await
            .map_err(Error::before_operation)?;
        if !status.is_success() {
            return Err(token_endpoint_error(ApiErrorResponse::new(
                "POST", &path, status, headers, body,
            )));
        }
        let (value, expires_in) = parse_token(&body).map_err(|message| {
            // The body may hold a token: it is not kept.
            let body = bytes::Bytes::new();
            Error::decode(
                "POST".into(),
                path.clone(),
                Some(status),
                &headers,
                body,
                message,
            )
            .before_operation()
        })?;
        // `parse_token` let through only characters a header can carry.
        let bearer = Bearer::new(&value).ok_or_else(|| {
            let message = "the `access_token` holds characters a header cannot carry";
            Error::decode(
                "POST".into(),
                path.clone(),
                Some(status),
                &headers,
                bytes::Bytes::new(),
                message.into(),
            )
            .before_operation()
        })?;
        tracing::debug!(expires_in, "service-account token obtained");
        Ok(Token {
            value,
            bearer,
            refresh_at: started + usable_for(expires_in, self.margin),
            generation: self.generations.fetch_add(1, Ordering::Relaxed) + 1,
        })
    }

    async fn revoke(&self, sender: &Sender) -> Result<(), Error> {
        let Some(token) = self.lock().take() else {
            return Ok(());
        };
        // RFC 7009: revoking is idempotent.
        let response = sender
            .retrying_idempotent(|attempt| {
                let body = form_urlencoded::Serializer::new(String::new())
                    .append_pair("token", token.value.expose_secret())
                    .append_pair("token_type_hint", "access_token")
                    .finish();
                let request = self.form_request(sender, &self.revoke_url, body);
                sender.send(Exchange::revoke(attempt), request)
            })
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let path = self.revoke_url.path();
        let read = Read {
            method: "POST",
            path,
            what: "revoke answer",
            status_known: true,
        };
        let refused = read_error_response(response, TOKEN_ANSWER_LIMIT, read).await?;
        Err(token_endpoint_error(
            refused.with_note("the token was not revoked"),
        ))
    }
}

/// A refusal from the token or revoke endpoint: throttling and outages are
/// what they are (retryable), anything else is about the credentials.
fn token_endpoint_error(response: ApiErrorResponse) -> Error {
    let status = response.status();
    let response = Box::new(response);
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        Error::RateLimited(response)
    } else if status.is_server_error() {
        Error::Api(response)
    } else {
        Error::Authentication(response)
    }
}

/// How long a token that lives `expires_in` seconds is used: its lifetime
/// less the margin, or half its lifetime when the margin is longer than that
/// (so a short-lived token is not thrown away the moment it arrives).
fn usable_for(expires_in: u64, margin: Duration) -> Duration {
    // A week bounds what a server could claim, so `Instant + this` cannot
    // overflow.
    let lifetime = Duration::from_secs(expires_in.min(7 * 24 * 3600));
    lifetime - margin.min(lifetime / 2)
}

/// `access_token` and `expires_in` from a token response. Messages name the
/// field at fault, never a value.
pub(crate) fn parse_token(body: &[u8]) -> Result<(SecretString, u64), String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| "the token response is not JSON".to_owned())?;
    let token = value
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("the token response has no `access_token` string")?;
    let expires_in = value
        .get("expires_in")
        .and_then(Value::as_u64)
        .ok_or("the token response has no `expires_in` number of seconds")?;
    if value
        .get("token_type")
        .and_then(Value::as_str)
        .is_some_and(|kind| !kind.eq_ignore_ascii_case("bearer"))
    {
        return Err("the token response's `token_type` is not `Bearer`".to_owned());
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the `access_token` holds characters a header cannot carry".to_owned());
    }
    Ok((SecretString::new(token), expires_in))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_used_for_its_lifetime_less_the_margin_or_half_of_it() {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(usable_for(3600, minutes(5)), minutes(55));
        assert_eq!(usable_for(3600, Duration::ZERO), minutes(60));
        assert_eq!(usable_for(600, minutes(5)), minutes(5));
        assert_eq!(usable_for(120, minutes(5)), minutes(1), "half of 2 min");
        assert_eq!(usable_for(0, minutes(5)), Duration::ZERO);
        assert_eq!(usable_for(u64::MAX, minutes(5)), minutes(7 * 24 * 60 - 5));
    }
}
