#![allow(dead_code, unused)]
use crate::SecretString;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm { Md5, Md5Sess, Sha256, Sha256Sess }
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge { pub realm: String, pub nonce: String, pub opaque: Option<String>, pub algorithm: Algorithm, pub qop_auth: bool, pub stale: bool, pub userhash: bool }
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChallengeError { NoDigestChallenge, Malformed(String), Unsupported(String) }
impl std::fmt::Display for ChallengeError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") } }
pub(crate) fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a http::HeaderValue>) -> Result<Challenge, ChallengeError> { Err(ChallengeError::NoDigestChallenge) }
pub(crate) fn authorization(challenge: &Challenge, username: &str, password: &SecretString, method: &str, uri: &str, nc: u32, cnonce: &str) -> http::HeaderValue { http::HeaderValue::from_static("x") }
pub(crate) fn cnonce() -> String { String::new() }
