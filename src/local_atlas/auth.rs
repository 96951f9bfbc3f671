//! The server side of Atlas authentication: HTTP Digest with API keys
//! (MD5, `qop=auth`, expiring nonces, one use per nonce count) and
//! service-account bearer tokens issued and revoked by the local token
//! endpoint.
//!
//! Lifetimes are counted from issue, but the first use of a nonce or a token
//! is always accepted, so that a zero lifetime deterministically gives
//! single-use nonces and tokens (tests need no sleeping).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};

use crate::SecretString;

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
    /// `tests/apache_digest.rs`, which tests the client against Apache
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
        let nonce = random_hex(24);
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
        let params = parse_params(params).ok_or(Refusal::Unauthorized)?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let (Some(username), Some(realm), Some(nonce), Some(uri), Some(response)) = (
            get("username"),
            get("realm"),
            get("nonce"),
            get("uri"),
            get("response"),
        ) else {
            return Err(Refusal::Unauthorized);
        };
        let algorithm_ok = get("algorithm").is_none_or(|a| a.eq_ignore_ascii_case("MD5"));
        let qop_ok = get("qop").is_some_and(|q| q.eq_ignore_ascii_case("auth"));
        let (Some(nc_text), Some(cnonce)) = (get("nc"), get("cnonce")) else {
            return Err(Refusal::Unauthorized);
        };
        let nc = u32::from_str_radix(nc_text, 16).map_err(|_| Refusal::Unauthorized)?;
        if !algorithm_ok || !qop_ok || realm != REALM || uri != target || nc == 0 {
            return Err(Refusal::Unauthorized);
        }
        if !ct_eq(username.as_bytes(), self.public_key.as_bytes()) {
            return Err(Refusal::Unauthorized);
        }
        let ha1 = md5_hex(&[username, REALM, self.private_key.expose_secret()]);
        let ha2 = md5_hex(&[method, uri]);
        let expected = md5_hex(&[&ha1, nonce, nc_text, cnonce, "auth", &ha2]);
        if !ct_eq(
            expected.as_bytes(),
            response.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(Refusal::Unauthorized);
        }
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
        let token = random_hex(32);
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

/// `name=value` pairs of a Digest header, values unquoted; `None` when it
/// cannot be parsed or repeats a name. Linear in the length of `s` (the
/// server also refuses an `Authorization` over 16 KiB before this).
fn parse_params(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| matches!(c, ',' | ' ' | '\t')) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut name = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            name.push(c);
        }
        let name = name.trim().to_owned();
        if name.is_empty() {
            return None;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return None;
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_owned();
        }
        if !names.insert(name.to_ascii_lowercase()) {
            return None;
        }
        out.push((name, value));
    }
}

/// Lowercase hex MD5 of the parts joined by `:`.
fn md5_hex(parts: &[&str]) -> String {
    let mut hasher = Md5::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `len` random bytes from the OS as hex (should the OS fail, a hash of
/// time, process id and a counter: unique, if not secret).
pub(crate) fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut seed = Vec::new();
        for chunk in 0..len.div_ceil(16) {
            let mut hasher = Md5::new();
            hasher.update(now.to_le_bytes());
            hasher.update(std::process::id().to_le_bytes());
            hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
            hasher.update(chunk.to_le_bytes());
            seed.extend_from_slice(&hasher.finalize());
        }
        bytes.iter_mut().zip(seed).for_each(|(b, s)| *b = s);
    }
    hex(&bytes)
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
    fn base64_and_params_decode() {
        assert_eq!(
            base64_decode("YWJjOmRlZg==").as_deref(),
            Some(&b"abc:def"[..])
        );
        assert_eq!(base64_decode("a b"), None);
        let params = parse_params(r#"username="a\"b", nc=00000001, qop=auth"#);
        assert_eq!(
            params,
            Some(vec![
                ("username".into(), "a\"b".into()),
                ("nc".into(), "00000001".into()),
                ("qop".into(), "auth".into()),
            ])
        );
        assert_eq!(parse_params(r#"a="open"#), None);
        assert_eq!(parse_params("nc=1, NC=2"), None, "a repeated name");
        assert_eq!(parse_params("a=1, b=2").map(|p| p.len()), Some(2));
    }

    /// What the server answers to counts 2, 1, 2, 5 on one nonce.
    fn answers(check: NonceCountCheck) -> Vec<Result<(), Refusal>> {
        use crate::auth::digest;
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
        let target = "/api/atlas/v2/groups/g/streams/t/connections";
        [2, 1, 2, 5]
            .into_iter()
            .map(|nc| {
                let value =
                    digest::authorization(&challenge, "public", &key, "POST", target, nc, "c");
                let params = value.to_str().unwrap().strip_prefix("Digest ").unwrap();
                server.check_digest(params, "POST", target)
            })
            .collect()
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
