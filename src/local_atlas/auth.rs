//! The server side of Atlas authentication: HTTP Digest with API keys
//! (MD5, `qop=auth`, expiring nonces, one use per nonce count) and
//! service-account bearer tokens issued and revoked by the local token
//! endpoint.
//!
//! Lifetimes are counted from issue, but the first use of a nonce or a token
//! is always accepted, so that a zero lifetime deterministically gives
//! single-use nonces and tokens (tests need no sleeping).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::SecretString;
use crate::auth::digest::{self, Algorithm};

/// The realm Atlas challenges with.
pub(crate) const REALM: &str = "MMS Public API";

/// At most this many nonces or tokens are remembered; the oldest go first.
const CAPACITY: usize = 10_000;

/// Why a request was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No usable credentials, or wrong ones.
    Unauthorized,
    /// A right Digest answer to a nonce that expired (or that this server
    /// never issued): challenge again with `stale=true`.
    Stale,
}

/// How nonce counts are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonceCountCheck {
    /// Each count is accepted once per nonce, in any order: only a replay is
    /// refused (RFC 7616 asks no more).
    #[default]
    Unique,
    /// Each count must be above the last one accepted for its nonce:
    /// concurrent requests sharing a nonce are refused when they arrive out
    /// of order. A simpler form of Apache httpd's `AuthDigestNcCheck On`,
    /// which wants exactly the next count per client `opaque`, counts
    /// refused requests too, and starts again after every `401` (measured:
    /// `tests/it/apache_digest.rs`, which tests the client against Apache
    /// itself).
    Increasing,
}

struct Nonce {
    issued: Instant,
    /// Nonce counts accepted so far.
    seen: HashSet<u32>,
    /// The highest count accepted so far (0: none).
    highest: u32,
}

struct Token {
    issued: Instant,
    used: bool,
}

/// The parts of a Digest answer the server checks.
struct Answer<'a> {
    username: &'a str,
    realm: &'a str,
    nonce: &'a str,
    uri: &'a str,
    response: &'a str,
    /// The nonce count as sent (hashed as sent), and its value.
    nc_text: &'a str,
    nc: u32,
    cnonce: &'a str,
}

impl<'a> Answer<'a> {
    /// The answer in `params` (names in any case), if it has every part,
    /// MD5 (or no algorithm), qop `auth` and a nonzero nonce count.
    fn read(params: &'a [(&'a str, String)]) -> Option<Self> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let algorithm_ok = get("algorithm").is_none_or(|a| a.eq_ignore_ascii_case("MD5"));
        let qop_ok = get("qop").is_some_and(|q| q.eq_ignore_ascii_case("auth"));
        let nc_text = get("nc")?;
        let nc = u32::from_str_radix(nc_text, 16).ok()?;
        if !algorithm_ok || !qop_ok || nc == 0 {
            return None;
        }
        Some(Self {
            username: get("username")?,
            realm: get("realm")?,
            nonce: get("nonce")?,
            uri: get("uri")?,
            response: get("response")?,
            nc_text,
            nc,
            cnonce: get("cnonce")?,
        })
    }
}

/// Nonces and tokens issued so far.
pub(crate) struct Authenticator {
    pub public_key: String,
    pub private_key: SecretString,
    pub client_id: String,
    pub client_secret: SecretString,
    pub nonce_lifetime: Duration,
    pub token_lifetime: Duration,
    nonce_count_check: NonceCountCheck,
    nonces: HashMap<String, Nonce>,
    tokens: HashMap<String, Token>,
}

impl Authenticator {
    pub fn new(
        (public_key, private_key): (String, SecretString),
        (client_id, client_secret): (String, SecretString),
        nonce_lifetime: Duration,
        token_lifetime: Duration,
    ) -> Self {
        Self {
            public_key,
            private_key,
            client_id,
            client_secret,
            nonce_lifetime,
            token_lifetime,
            nonce_count_check: NonceCountCheck::default(),
            nonces: HashMap::new(),
            tokens: HashMap::new(),
        }
    }

    /// The same, checking nonce counts as `check` says.
    pub fn with_nonce_count_check(mut self, check: NonceCountCheck) -> Self {
        self.nonce_count_check = check;
        self
    }

    /// A `WWW-Authenticate` value with a new nonce.
    pub fn challenge(&mut self, stale: bool) -> String {
        if self.nonces.len() >= CAPACITY {
            evict_oldest(&mut self.nonces, |n| n.issued);
        }
        let nonce = digest::random_hex(24);
        self.nonces.insert(
            nonce.clone(),
            Nonce {
                issued: Instant::now(),
                seen: HashSet::new(),
                highest: 0,
            },
        );
        format!(
            "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{nonce}\", algorithm=MD5, \
             qop=\"auth\", stale={stale}"
        )
    }

    /// Checks a Digest `Authorization` value (without its scheme) for a
    /// request with this method and request target (`path?query`).
    pub fn check_digest(
        &mut self,
        params: &str,
        method: &str,
        target: &str,
    ) -> Result<(), Refusal> {
        let params = digest::parse_params(params).ok_or(Refusal::Unauthorized)?;
        let answer = Answer::read(&params).ok_or(Refusal::Unauthorized)?;
        if answer.realm != REALM || answer.uri != target || !self.is_right(&answer, method) {
            return Err(Refusal::Unauthorized);
        }
        self.count(answer.nonce, answer.nc)
    }

    /// Whether `answer` names the API key and hashes its private key right.
    fn is_right(&self, answer: &Answer<'_>, method: &str) -> bool {
        let (username, nonce, uri) = (answer.username, answer.nonce, answer.uri);
        if !ct_eq(username.as_bytes(), self.public_key.as_bytes()) {
            return false;
        }
        let md5 = |parts: &[&str]| digest::hash(Algorithm::Md5, parts);
        let ha1 = md5(&[username, REALM, self.private_key.expose_secret()]);
        let ha2 = md5(&[method, uri]);
        let expected = md5(&[&ha1, nonce, answer.nc_text, answer.cnonce, "auth", &ha2]);
        let response = answer.response.to_ascii_lowercase();
        ct_eq(expected.as_bytes(), response.as_bytes())
    }

    /// Accepts nonce count `nc` of `nonce` once, as the nonce count check
    /// says, while the nonce lives (an unknown or expired nonce is stale).
    fn count(&mut self, nonce: &str, nc: u32) -> Result<(), Refusal> {
        let lifetime = self.nonce_lifetime;
        let Some(state) = self.nonces.get_mut(nonce) else {
            return Err(Refusal::Stale);
        };
        if state.highest > 0 && state.issued.elapsed() >= lifetime {
            self.nonces.remove(nonce);
            return Err(Refusal::Stale);
        }
        let accepted = match self.nonce_count_check {
            // A nonce count answers one request only: a replay is refused.
            NonceCountCheck::Unique => state.seen.insert(nc),
            NonceCountCheck::Increasing => nc > state.highest,
        };
        if !accepted {
            return Err(Refusal::Unauthorized);
        }
        state.highest = state.highest.max(nc);
        Ok(())
    }

    /// Checks an HTTP Basic value (without its scheme) against the service
    /// account, whose id and secret are form-encoded before Basic.
    pub fn check_basic(&self, value: &str) -> bool {
        let Some(decoded) = base64_decode(value.trim()) else {
            return false;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((id, secret)) = decoded.split_once(':') else {
            return false;
        };
        let (id, secret) = (form_decode(id), form_decode(secret));
        ct_eq(id.as_bytes(), self.client_id.as_bytes())
            & ct_eq(
                secret.as_bytes(),
                self.client_secret.expose_secret().as_bytes(),
            )
    }

    /// A new access token, and its lifetime in whole seconds.
    pub fn issue_token(&mut self) -> (String, u64) {
        if self.tokens.len() >= CAPACITY {
            evict_oldest(&mut self.tokens, |t| t.issued);
        }
        let token = digest::random_hex(32);
        self.tokens.insert(
            token.clone(),
            Token {
                issued: Instant::now(),
                used: false,
            },
        );
        (token, self.token_lifetime.as_secs())
    }

    /// Forgets `token`; `true` if it was known.
    pub fn revoke(&mut self, token: &str) -> bool {
        self.tokens.remove(token).is_some()
    }

    /// Whether `token` is a live token this server issued.
    pub fn check_bearer(&mut self, token: &str) -> bool {
        let lifetime = self.token_lifetime;
        let Some(state) = self.tokens.get_mut(token.trim()) else {
            return false;
        };
        if state.used && state.issued.elapsed() >= lifetime {
            return false;
        }
        state.used = true;
        true
    }
}

fn evict_oldest<T>(map: &mut HashMap<String, T>, issued: impl Fn(&T) -> Instant) {
    let oldest = map
        .iter()
        .min_by_key(|(_, v)| issued(v))
        .map(|(k, _)| k.clone());
    if let Some(key) = oldest {
        map.remove(&key);
    }
}

/// Compares without stopping at the first difference.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
fn form_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Standard base64 with padding optional; `None` on any other character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes() {
        assert_eq!(
            base64_decode("YWJjOmRlZg==").as_deref(),
            Some(&b"abc:def"[..])
        );
        assert_eq!(base64_decode("a b"), None);
    }

    const TARGET: &str = "/api/atlas/v2/groups/g/streams/t/connections";

    /// A server checking counts as `check`, and the client's answer (its
    /// parameters) to its challenge with nonce count `nc`.
    fn server(check: NonceCountCheck) -> (Authenticator, impl Fn(u32) -> String) {
        let key = SecretString::new("private");
        let mut server = Authenticator::new(
            ("public".into(), key.clone()),
            ("id".into(), SecretString::new("secret")),
            Duration::from_secs(60),
            Duration::from_secs(60),
        )
        .with_nonce_count_check(check);
        let header = http::HeaderValue::from_str(&server.challenge(false)).unwrap();
        let challenge = digest::parse_challenges([&header]).unwrap();
        let answer = move |nc| {
            let value = digest::authorization(&challenge, "public", &key, "POST", TARGET, nc, "c");
            let value = value.to_str().unwrap();
            value.strip_prefix("Digest ").unwrap().to_owned()
        };
        (server, answer)
    }

    /// What the server answers to counts 2, 1, 2, 5 on one nonce.
    fn answers(check: NonceCountCheck) -> Vec<Result<(), Refusal>> {
        let (mut server, answer) = server(check);
        [2, 1, 2, 5]
            .into_iter()
            .map(|nc| server.check_digest(&answer(nc), "POST", TARGET))
            .collect()
    }

    #[test]
    fn malformed_answers_are_refused() {
        let (mut server, answer) = server(NonceCountCheck::Unique);
        let right = answer(1);
        for wrong in [
            format!("{right}, garbage"),
            format!("{right}, x=a b"),
            format!("{right}, nc=00000009"),
            right.replace(", ", " "),
            right.replace("qop=auth", "qop=auth-int"),
            right.replace("algorithm=MD5", "algorithm=SHA-256"),
            right.replace("nc=00000001", "nc=00000000"),
            right.replace("realm=", "x="),
        ] {
            let refused = server.check_digest(&wrong, "POST", TARGET);
            assert_eq!(refused, Err(Refusal::Unauthorized), "{wrong}");
        }
        assert_eq!(server.check_digest(&right, "POST", TARGET), Ok(()));
    }

    #[test]
    fn nonce_counts_are_unique_or_increasing_as_configured() {
        let refused = Err(Refusal::Unauthorized);
        assert_eq!(
            answers(NonceCountCheck::Unique),
            [Ok(()), Ok(()), refused, Ok(())],
            "only the replay is refused"
        );
        assert_eq!(
            answers(NonceCountCheck::Increasing),
            [Ok(()), refused, refused, Ok(())],
            "counts at or below the highest accepted are refused"
        );
    }
}
