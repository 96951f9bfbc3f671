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

use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Request, Response, StatusCode};

use crate::SecretString;
use crate::config::Credentials;
use crate::error::Error;
use crate::send::{Sender, discard, replay};

/// The credential of one client, with its cached token or challenge.
#[derive(Debug)]
pub(crate) enum Auth {
    ServiceAccount(Box<oauth::ServiceAccount>),
    ApiKey(api_key::ApiKey),
    AccessToken(SecretString),
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
                if !token.expose_secret().bytes().all(|b| b.is_ascii_graphic()) {
                    // Not echoed, even in part.
                    return Err(Error::configuration(
                        "the access token holds characters a header cannot carry",
                    ));
                }
                Auth::AccessToken(token)
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

    /// Sends `request` authenticated.
    pub async fn send(&self, sender: &Sender, request: Request) -> Result<Response, Error> {
        match self {
            Auth::AccessToken(token) => sender.send(bearer(request, token)).await,
            Auth::ApiKey(key) => key.send(sender, request).await,
            Auth::ServiceAccount(account) => {
                let lease = account.token(sender).await?;
                let again = replay(&request)?;
                let response = sender.send(bearer(request, &lease.token)).await?;
                if response.status() != StatusCode::UNAUTHORIZED || lease.fresh {
                    return Ok(response);
                }
                tracing::debug!("cached token refused; fetching a new one");
                discard(response).await;
                account.invalidate(lease.generation);
                let lease = account.token(sender).await?;
                sender.send(bearer(again, &lease.token)).await
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

fn bearer(mut request: Request, token: &SecretString) -> Request {
    match HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())) {
        Ok(mut value) => {
            value.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        // A token with control characters cannot be sent; the request goes
        // without it and the server's 401 says so, without echoing it.
        Err(_) => tracing::warn!("the access token holds characters a header cannot carry"),
    }
    request
}
