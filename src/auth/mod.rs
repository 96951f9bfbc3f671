//! Authenticating requests, one way per kind of credential: service-account
//! tokens ([`oauth`]), API-key Digest ([`api_key`], over the arithmetic in
//! [`digest`]), or a bearer token given as is.
//!
//! Each sends one request authenticated and handles the `401` it may earn:
//! a cached token or Digest nonce that the server no longer accepts is
//! replaced and the request sent once more (the server processed nothing);
//! a `401` to fresh credentials is final.

pub(crate) mod api_key;
pub(crate) mod digest;
pub(crate) mod flight;
pub(crate) mod oauth;

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Request, Response, StatusCode};

use crate::SecretString;
use crate::config::Credentials;
use crate::error::Error;
use crate::send::{Exchange, Sender, discard, replay};

/// The credential of one client, with its cached token or challenge.
#[derive(Debug)]
pub(crate) enum Auth {
    ServiceAccount(Box<oauth::ServiceAccount>),
    ApiKey(api_key::ApiKey),
    AccessToken(Bearer),
}

impl Auth {
    /// The client's credential, for the normalised `base_url` (a service
    /// account's token URLs derive from it; its tokens are replaced
    /// `token_refresh_margin` before they expire).
    pub fn new(
        credentials: Credentials,
        token_refresh_margin: Duration,
        base_url: &str,
    ) -> Result<Self, Error> {
        Ok(match credentials {
            Credentials::ServiceAccount {
                client_id,
                client_secret,
            } => Auth::ServiceAccount(Box::new(oauth::ServiceAccount::new(
                client_id,
                client_secret,
                base_url,
                token_refresh_margin,
            )?)),
            Credentials::ApiKey {
                public_key,
                private_key,
            } => Auth::ApiKey(api_key::ApiKey::new(public_key, private_key)),
            Credentials::AccessToken(token) => {
                // Not echoed, even in part.
                let unusable = || {
                    Error::configuration("the access token holds characters a header cannot carry")
                };
                if !token.expose_secret().bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(unusable());
                }
                Auth::AccessToken(Bearer::new(&token).ok_or_else(unusable)?)
            }
        })
    }

    /// The credential's kind, for messages and `Debug`.
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::ServiceAccount(_) => "service account",
            Auth::ApiKey(_) => "API key",
            Auth::AccessToken(_) => "access token",
        }
    }

    /// Sends a copy of `request`, the call's attempt `attempt`,
    /// authenticated (and, after a `401` to a cached token or nonce,
    /// another).
    ///
    /// The futures of Digest and of a token request are kilobytes each, and
    /// a call's future holds this one whole, to be moved at each await
    /// around it: they are boxed, so that a call with a bearer token (given
    /// or cached) neither carries nor copies them.
    pub async fn send(
        &self,
        sender: &Sender,
        request: &Request,
        attempt: u32,
    ) -> Result<Response, Error> {
        let (method, path) = (request.method().as_str(), request.url().path());
        let exchange = Exchange::call(attempt);
        match self {
            Auth::AccessToken(bearer) => {
                let authorized = bearer.authorize(replay(request)?);
                sender.send_as(exchange, authorized, method, path).await
            }
            Auth::ApiKey(key) => Box::pin(key.send(sender, replay(request)?, attempt)).await,
            Auth::ServiceAccount(account) => {
                let lease = match account.cached() {
                    Some(lease) => lease,
                    None => Box::pin(account.token(sender)).await?,
                };
                let authorized = lease.bearer.authorize(replay(request)?);
                let response = sender.send_as(exchange, authorized, method, path).await?;
                if response.status() != StatusCode::UNAUTHORIZED || lease.fresh {
                    return Ok(response);
                }
                let refused = refused_token(account, sender, request, exchange, response, lease);
                Box::pin(refused).await
            }
        }
    }

    /// Revokes a service account's cached token; other credentials have
    /// nothing this client can revoke.
    pub async fn revoke(&self, sender: &Sender) -> Result<(), Error> {
        match self {
            Auth::ServiceAccount(account) => account.revoke(sender).await,
            other => Err(Error::configuration(format!(
                "revoke() applies to service-account clients; this one uses an {}",
                other.kind()
            ))),
        }
    }
}

/// After the API refused the cached token of `lease` with `response`: the
/// token is forgotten, and `request` sent once more with a new one.
async fn refused_token(
    account: &oauth::ServiceAccount,
    sender: &Sender,
    request: &Request,
    exchange: Exchange,
    response: Response,
    lease: oauth::Lease,
) -> Result<Response, Error> {
    tracing::debug!("cached token refused; fetching a new one");
    discard(response).await;
    account.invalidate(lease.generation);
    let lease = account.token(sender).await?;
    let (method, path) = (request.method().as_str(), request.url().path());
    let authorized = lease.bearer.authorize(replay(request)?);
    sender.send_as(exchange, authorized, method, path).await
}

/// `Authorization: Bearer <token>`, made once per token: each request gets
/// a clone (a reference count), not a copy of the token, and the bytes are
/// zeroed when the last clone is dropped. `Debug` shows none of it.
#[derive(Clone)]
pub(crate) struct Bearer(HeaderValue);

impl Bearer {
    /// The header for `token`; `None` if a header cannot carry it.
    pub fn new(token: &SecretString) -> Option<Self> {
        let token = token.expose_secret().as_bytes();
        let mut text = Zeroizing(Vec::with_capacity(BEARER.len() + token.len()));
        text.0.extend_from_slice(BEARER);
        text.0.extend_from_slice(token);
        let mut value = HeaderValue::from_maybe_shared(Bytes::from_owner(text)).ok()?;
        value.set_sensitive(true);
        Some(Self(value))
    }

    /// `request` with this `Authorization`.
    pub fn authorize(&self, mut request: Request) -> Request {
        request.headers_mut().insert(AUTHORIZATION, self.0.clone());
        request
    }
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer([REDACTED])")
    }
}

const BEARER: &[u8] = b"Bearer ";

/// Bytes zeroed when dropped: the owner of a [`Bearer`]'s header value.
struct Zeroizing(Vec<u8>);

impl AsRef<[u8]> for Zeroizing {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Zeroizing {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::{Bearer, SecretString};
    use reqwest::header::AUTHORIZATION;

    #[test]
    fn a_bearer_header_is_sensitive_shared_and_never_shown() {
        let bearer = Bearer::new(&SecretString::new("t0ken")).unwrap();
        let request = || reqwest::Request::new(reqwest::Method::POST, "http://x/".parse().unwrap());
        let (first, second) = (
            bearer.authorize(request()),
            bearer.clone().authorize(request()),
        );
        for request in [&first, &second] {
            let value = request.headers().get(AUTHORIZATION).unwrap();
            assert_eq!(value.as_bytes(), b"Bearer t0ken");
            assert!(value.is_sensitive());
            assert!(!format!("{value:?}").contains("t0ken"));
        }
        assert_eq!(format!("{bearer:?}"), "Bearer([REDACTED])");
        assert!(Bearer::new(&SecretString::new("a\nb")).is_none());
    }
}
