//! HTTP Digest access authentication (RFC 7616, RFC 2617 and RFC 2069 legacy
//! mode), which Atlas API keys use: the public key is the username, the
//! private key the password, and Atlas challenges with
//! `Digest realm="MMS Public API", nonce="…", algorithm=MD5, qop="auth"`.
//!
//! The hashes come from RustCrypto's `md-5` and `sha2`; the protocol part is
//! written here rather than taken from the `digest_auth` crate, because that
//! crate keeps the nonce count inside a `&mut` header object (so concurrent
//! requests cannot share one counter), pulls in `rand` 0.8 and duplicate
//! `md-5`/`sha2` 0.10 builds, and is little maintained. Here the caller owns
//! the nonce count and passes it to [`authorization`].

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderValue;
use md5::Md5;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::SecretString;

/// A Digest hash algorithm this module can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    /// `MD5`, the default when a challenge names none.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    const ALL: [Self; 4] = [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess];

    /// The token as sent in the `algorithm` parameter.
    pub(crate) const fn name(&self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    const fn is_sess(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }
}

/// The usable parts of one `Digest` challenge from `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// The protection space; part of HA1.
    pub realm: String,
    /// The server nonce, echoed back and hashed into the response.
    pub nonce: String,
    /// Opaque server data, echoed back unchanged when present.
    pub opaque: Option<String>,
    /// The hash algorithm; [`Algorithm::Md5`] when the challenge names none.
    pub algorithm: Algorithm,
    /// The challenge offers qop `auth`; `false` means RFC 2069 mode (no qop).
    pub qop_auth: bool,
    /// `stale=true`: the credentials were right but the nonce had expired, so
    /// retry at once with this challenge and a nonce count restarted at 1.
    pub stale: bool,
    /// `userhash=true`: send H(username ":" realm) instead of the username.
    pub userhash: bool,
}

impl Challenge {
    /// SHA-256 beats MD5; then qop `auth` beats RFC 2069 mode, which has no
    /// client nonce; then plain beats `-sess`, which only helps servers that
    /// hand HA1 to a third party and costs us an extra hash.
    fn rank(&self) -> (bool, bool, bool) {
        let sha = matches!(self.algorithm, Algorithm::Sha256 | Algorithm::Sha256Sess);
        (sha, self.qop_auth, !self.algorithm.is_sess())
    }
}

/// The most `WWW-Authenticate` text read, all values together: Atlas's
/// challenge is under 200 bytes, and a server offering every scheme there is
/// stays under a few kilobytes. More is refused unread
/// ([`ChallengeError::TooLarge`]).
pub(crate) const MAX_CHALLENGE_BYTES: usize = 16 * 1024;

/// Why no Digest challenge could be used. Messages are built from the
/// challenge headers alone, so they can never hold a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChallengeError {
    /// No `WWW-Authenticate` value holds a `Digest` challenge.
    NoDigestChallenge,
    /// A `Digest` challenge is unparsable or lacks `realm` or `nonce`.
    Malformed(String),
    /// A `Digest` challenge needs an algorithm or qop this module lacks.
    Unsupported(String),
    /// The `WWW-Authenticate` values add up to more than
    /// [`MAX_CHALLENGE_BYTES`]; none was parsed.
    TooLarge,
}

impl fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDigestChallenge => f.write_str("no Digest challenge in WWW-Authenticate"),
            Self::Malformed(why) => write!(f, "malformed Digest challenge: {why}"),
            Self::Unsupported(why) => write!(f, "unsupported Digest challenge: {why}"),
            Self::TooLarge => write!(
                f,
                "WWW-Authenticate is larger than the client reads ({MAX_CHALLENGE_BYTES} bytes)"
            ),
        }
    }
}

impl std::error::Error for ChallengeError {}

/// Picks the best usable `Digest` challenge from every `WWW-Authenticate`
/// value; one value may hold several challenges of any scheme.
///
/// Preference is SHA-256, then qop `auth`, then non-`-sess` (see
/// `Challenge::rank`); among equals the first offered wins, as servers list
/// their favourite first. Unusable Digest challenges (unknown algorithm, qop
/// without `auth`, missing `realm`/`nonce`) are skipped, and so are values
/// that are not visible ASCII. If nothing is usable, the error is that of the
/// first Digest challenge, else [`ChallengeError::NoDigestChallenge`].
///
/// Values adding up to more than [`MAX_CHALLENGE_BYTES`] are refused before
/// any is parsed ([`ChallengeError::TooLarge`]); parsing is linear in the
/// length of the values.
pub(crate) fn parse_challenges<'a>(
    values: impl IntoIterator<Item = &'a HeaderValue>,
) -> Result<Challenge, ChallengeError> {
    let mut total = 0usize;
    let mut headers = Vec::new();
    for value in values {
        total = total.saturating_add(value.len());
        if total > MAX_CHALLENGE_BYTES {
            return Err(ChallengeError::TooLarge);
        }
        headers.extend(value.to_str().ok());
    }
    let mut best: Option<Challenge> = None;
    let mut first_error = None;
    for raw in headers.into_iter().flat_map(parse_header) {
        if !raw.scheme.eq_ignore_ascii_case("digest") {
            continue;
        }
        match digest_challenge(&raw) {
            Ok(c) if best.as_ref().is_none_or(|b| c.rank() > b.rank()) => best = Some(c),
            Ok(_) => {}
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    best.ok_or_else(|| first_error.unwrap_or(ChallengeError::NoDigestChallenge))
}

/// The `nextnonce` of the `Authentication-Info` values of an answer
/// (RFC 7616 section 3.5): the nonce the server wants the next request to
/// answer, counting from 1 again. Apache httpd sends one in the last 30
/// seconds of a nonce's life, and from then on refuses the next count of
/// the old one. `None` when there is none, when the values do not parse, or
/// when they add up to more than [`MAX_CHALLENGE_BYTES`].
pub(crate) fn next_nonce<'a>(values: impl IntoIterator<Item = &'a HeaderValue>) -> Option<String> {
    let mut total = 0usize;
    let mut next = None;
    for value in values {
        total = total.saturating_add(value.len());
        if total > MAX_CHALLENGE_BYTES {
            return None;
        }
        let Ok(text) = value.to_str() else {
            continue;
        };
        // Parameters without a scheme: parsed as a challenge's.
        let info = format!("Info {text}");
        let raws = parse_header(&info);
        let [raw] = raws.as_slice() else {
            continue;
        };
        if raw.broken {
            continue;
        }
        let found = raw
            .params
            .iter()
            .find(|(name, value)| name.eq_ignore_ascii_case("nextnonce") && !value.is_empty());
        next = next.or(found.map(|(_, value)| value.clone()));
    }
    next
}

/// The `Authorization` header value for one request, marked sensitive.
///
/// `method` and `uri` must be exactly what goes on the request line: the
/// method in upper case and the request target (path plus `?query`, e.g.
/// `/api/atlas/v2/groups?pageNum=1`), not the absolute URL. `nc` counts the
/// requests sent with this nonce, from 1 up, and must not repeat for one
/// nonce; `cnonce` should come from [`cnonce()`]. A header cannot carry ASCII
/// control characters, so they are dropped from quoted values while the
/// response is computed over the original strings: such a username gets a
/// 401 rather than a panic.
pub(crate) fn authorization(
    challenge: &Challenge,
    username: &str,
    password: &SecretString,
    method: &str,
    uri: &str,
    nc: u32,
    cnonce: &str,
) -> HeaderValue {
    let (alg, realm, nonce) = (challenge.algorithm, &*challenge.realm, &*challenge.nonce);
    let mut ha1 = hash(alg, &[username, realm, password.expose_secret()]);
    if alg.is_sess() {
        ha1 = hash(alg, &[&ha1, nonce, cnonce]);
    }
    let ha2 = hash(alg, &[method, uri]);
    let nc = format!("{nc:08x}");
    let response = if challenge.qop_auth {
        hash(alg, &[&ha1, nonce, &nc, cnonce, "auth", &ha2])
    } else {
        hash(alg, &[&ha1, nonce, &ha2])
    };
    let user = if challenge.userhash {
        hash(alg, &[username, realm])
    } else {
        Zeroizing::new(username.to_owned())
    };

    let (user, realm, nonce, uri) = (quote(&user), quote(realm), quote(nonce), quote(uri));
    let mut out = format!("Digest username={user}, realm={realm}, nonce={nonce}, uri={uri}");
    out += &format!(", algorithm={}", alg.name());
    if challenge.qop_auth {
        out += &format!(", qop=auth, nc={nc}, cnonce={}", quote(cnonce));
    }
    out += &format!(", response=\"{}\"", response.as_str());
    if let Some(opaque) = &challenge.opaque {
        out += &format!(", opaque={}", quote(opaque));
    }
    if challenge.userhash {
        out += ", userhash=true";
    }
    // Cannot fail, as quote() dropped control characters and the rest is
    // ours; should it ever, an empty value earns a 401, which beats a panic.
    let mut value = HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static(""));
    value.set_sensitive(true);
    value
}

/// A fresh client nonce: 16 random bytes from the OS, as 32 lowercase hex
/// digits (see [`random_hex`]).
pub(crate) fn cnonce() -> String {
    random_hex(16)
}

/// `len` random bytes from the OS as lowercase hex; should the OS fail,
/// hashes of time, process id and a counter.
pub(crate) fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        // A nonce must be unique more than secret (a client nonce stops the
        // server from choosing all the hashed input), so where the OS RNG
        // fails, hashing time, process and a counter beats a panic.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now().duration_since(UNIX_EPOCH);
        let now = now.map_or(0, |d| d.as_nanos());
        for (block, chunk) in bytes.chunks_mut(32).enumerate() {
            let seed = Sha256::new()
                .chain_update(now.to_le_bytes())
                .chain_update(std::process::id().to_le_bytes())
                .chain_update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes())
                .chain_update(block.to_le_bytes())
                .finalize();
            chunk.iter_mut().zip(seed).for_each(|(b, s)| *b = s);
        }
    }
    hex(&bytes).to_string()
}

/// Lowercase hex of H(parts joined by ":"), zeroized on drop because HA1 is
/// a password equivalent. The local Atlas checks answers with it too.
pub(crate) fn hash(alg: Algorithm, parts: &[&str]) -> Zeroizing<String> {
    fn run<D: Digest>(parts: &[&str]) -> Zeroizing<String> {
        let mut hasher = D::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                hasher.update(":");
            }
            hasher.update(part);
        }
        let mut digest = hasher.finalize();
        let hex = hex(&digest);
        digest.as_mut_slice().zeroize();
        hex
    }
    match alg {
        Algorithm::Md5 | Algorithm::Md5Sess => run::<Md5>(parts),
        Algorithm::Sha256 | Algorithm::Sha256Sess => run::<Sha256>(parts),
    }
}

fn hex(bytes: &[u8]) -> Zeroizing<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Zeroizing::new(String::with_capacity(bytes.len() * 2));
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// A quoted-string: `"` and `\` escaped, ASCII controls other than tab dropped.
fn quote(value: &str) -> String {
    let mut out = String::from('"');
    for c in value
        .chars()
        .filter(|&c| c == '\t' || !c.is_ascii_control())
    {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out + "\""
}

fn digest_challenge(raw: &Raw<'_>) -> Result<Challenge, ChallengeError> {
    use ChallengeError::{Malformed, Unsupported};
    if raw.broken {
        return Err(Malformed("syntax error".into()));
    }
    let get = |name: &str| {
        let mut params = raw.params.iter();
        params
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let flag = |name: &str| get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let realm = get("realm").ok_or_else(|| Malformed("no realm".into()))?;
    let nonce = get("nonce").filter(|n| !n.is_empty());
    let nonce = nonce.ok_or_else(|| Malformed("no nonce".into()))?;
    let algorithm = match get("algorithm") {
        None => Algorithm::Md5,
        Some(name) => Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| Unsupported(format!("algorithm {name:?}")))?,
    };
    let offers_auth = |qop: &str| {
        qop.split(',')
            .any(|q| q.trim().eq_ignore_ascii_case("auth"))
    };
    let qop_auth = match get("qop") {
        None => false,
        Some(qop) if offers_auth(qop) => true,
        Some(qop) => return Err(Unsupported(format!("qop {qop:?} lacks \"auth\""))),
    };
    Ok(Challenge {
        realm: realm.to_owned(),
        nonce: nonce.to_owned(),
        opaque: get("opaque").map(str::to_owned),
        algorithm,
        qop_auth,
        stale: flag("stale"),
        userhash: flag("userhash"),
    })
}

/// One challenge as written: its scheme and its parameters, values unquoted.
struct Raw<'a> {
    scheme: &'a str,
    params: Vec<(&'a str, String)>,
    /// The parameter names so far, in lower case: a repeat is found in
    /// constant time, not by a scan of `params` (which made a header of
    /// many parameters quadratic).
    names: HashSet<String>,
    /// A syntax error or a repeated parameter makes the challenge unusable.
    broken: bool,
}

impl<'a> Raw<'a> {
    fn new(scheme: &'a str) -> Self {
        Self {
            scheme,
            params: Vec::new(),
            names: HashSet::new(),
            broken: false,
        }
    }
}

/// Splits one header value into challenges (RFC 7235 section 4.1). A syntax
/// error marks the current challenge broken and skips to the next top-level
/// comma, so that one bad challenge does not hide a good one after it.
fn parse_header(s: &str) -> Vec<Raw<'_>> {
    let mut out: Vec<Raw<'_>> = Vec::new();
    let mut c = Cursor { s, pos: 0 };
    loop {
        let ok = match c.element() {
            Element::End => return out,
            Element::Param(name) => c.param(name, out.last_mut()),
            Element::Token { token, spaced } => {
                // A token not followed by `=` starts a challenge: a scheme.
                out.push(Raw::new(token));
                match c.peek() {
                    None | Some(b',') => true,
                    _ if spaced => match c.element() {
                        Element::Param(name) => c.param(name, out.last_mut()),
                        _ => {
                            c.skip_element(); // a token68, which Digest never uses
                            true
                        }
                    },
                    _ => false,
                }
            }
            Element::Bad => false,
        };
        if !ok {
            if let Some(raw) = out.last_mut() {
                raw.broken = true;
            }
            c.skip_element();
        }
    }
}

/// The auth-params of a credentials value after its scheme (RFC 7235
/// section 2.1: `name=value` pairs separated by commas, values unquoted), as
/// tolerant as a challenge's; `None` on a syntax error, a bare token or a
/// repeated name (in any case). Linear in the length of `s`.
#[cfg(feature = "local-atlas")]
pub(crate) fn parse_params(s: &str) -> Option<Vec<(&str, String)>> {
    let mut raw = Raw::new("");
    let mut c = Cursor { s, pos: 0 };
    loop {
        match c.element() {
            Element::End => return Some(raw.params),
            Element::Param(name) if c.param(name, Some(&mut raw)) => {}
            _ => return None,
        }
    }
}

/// What starts the next element of a comma-separated list.
enum Element<'a> {
    /// Nothing is left but separators.
    End,
    /// A parameter's name, the cursor at its `=`.
    Param(&'a str),
    /// A token not followed by `=` (a scheme, or a token68), and whether
    /// whitespace followed it.
    Token { token: &'a str, spaced: bool },
    /// Something that is no token.
    Bad,
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or_default()
    }

    fn skip_ws(&mut self) -> bool {
        !self.take_while(|b| b == b' ' || b == b'\t').is_empty()
    }

    fn token(&mut self) -> &'a str {
        self.take_while(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    }

    /// Skips separators and reads the token that starts the next element.
    fn element(&mut self) -> Element<'a> {
        self.take_while(|b| matches!(b, b' ' | b'\t' | b','));
        if self.peek().is_none() {
            return Element::End;
        }
        let token = self.token();
        let spaced = self.skip_ws();
        if token.is_empty() {
            Element::Bad
        } else if self.peek() == Some(b'=') {
            Element::Param(token)
        } else {
            Element::Token { token, spaced }
        }
    }

    /// Parses `= value` after `name` into `raw`; `false` on a syntax error or
    /// a repeated name.
    fn param(&mut self, name: &'a str, raw: Option<&mut Raw<'a>>) -> bool {
        self.pos += 1;
        self.skip_ws();
        let Some(value) = self.value() else {
            return false;
        };
        self.skip_ws();
        let at_end = matches!(self.peek(), None | Some(b','));
        let Some(raw) = raw.filter(|_| at_end) else {
            return false;
        };
        let first = raw.names.insert(name.to_ascii_lowercase());
        raw.params.push((name, value));
        first
    }

    /// A quoted string, unescaped, or else (tolerantly: base64 nonces are not
    /// tokens) any run of characters up to whitespace, comma or quote.
    fn value(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            let v = self.take_while(|b| !matches!(b, b',' | b'"' | b' ' | b'\t'));
            return (!v.is_empty()).then(|| v.to_owned());
        }
        self.pos += 1;
        // Bytes, so that text beyond ASCII stays whole: only ASCII quotes
        // and backslashes are taken out, which leaves UTF-8 valid.
        let mut out = Vec::new();
        loop {
            match self.bump()? {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => out.push(self.bump()?),
                b => out.push(b),
            }
        }
    }

    /// Skips past the next comma outside a quoted string.
    fn skip_element(&mut self) {
        let mut quoted = false;
        while let Some(b) = self.bump() {
            match b {
                b',' if !quoted => return,
                b'"' => quoted = !quoted,
                b'\\' if quoted => self.pos += 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC7616: &str = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    const SHA_RESPONSE: &str = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";

    fn parse(values: &[&str]) -> Result<Challenge, ChallengeError> {
        let values = values.iter().map(|v| HeaderValue::from_str(v).unwrap());
        parse_challenges(&values.collect::<Vec<_>>())
    }

    fn rfc7616(algorithm: &str) -> Challenge {
        parse(&[&RFC7616.replace("MD5", algorithm)]).unwrap()
    }

    /// The header for `GET /dir/index.html`, checked to be sensitive and free
    /// of the password.
    fn header(c: &Challenge, user: &str, password: &str, nc: u32, cnonce: &str) -> String {
        let v = authorization(
            c,
            user,
            &password.into(),
            "GET",
            "/dir/index.html",
            nc,
            cnonce,
        );
        assert!(v.is_sensitive());
        assert_eq!(format!("{v:?}"), "Sensitive");
        let v = v.to_str().unwrap().to_owned();
        assert!(!v.contains(password));
        v
    }

    fn mufasa(c: &Challenge, nc: u32) -> String {
        header(c, "Mufasa", "Circle of Life", nc, CNONCE)
    }

    #[test]
    fn rfc7616_and_rfc2617_examples() {
        for (alg, response) in [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            ("SHA-256", SHA_RESPONSE),
        ] {
            let expected = format!(
                r#"Digest username="Mufasa", realm="http-auth@example.org", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="/dir/index.html", algorithm={alg}, qop=auth, nc=00000001, cnonce="{CNONCE}", response="{response}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
            );
            assert_eq!(mufasa(&rfc7616(alg), 1), expected);
        }
        let c = parse(&[
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        ]);
        let v = header(&c.unwrap(), "Mufasa", "Circle Of Life", 1, "0a4f113b");
        assert!(v.contains(r#"response="6629fae49393a05397450978507c4ef1""#));
    }

    // Expected values computed with Python's hashlib.
    #[test]
    fn sess_no_qop_userhash_and_nc() {
        let sess = mufasa(&rfc7616("MD5-sess"), 1);
        assert!(sess.contains("algorithm=MD5-sess, qop=auth, nc=00000001"));
        assert!(sess.contains(r#"response="e783283f46242139c486a698fec7211d""#));
        let sess = mufasa(&rfc7616("SHA-256-sess"), 42);
        assert!(sess.contains("nc=0000002a"));
        assert!(sess.contains("85a0c5401bed8d177a007e23b4bee59d802c87ea0310314bae977c5c2ea7c40d"));

        let mut legacy = rfc7616("MD5");
        (legacy.qop_auth, legacy.opaque) = (false, None);
        let v = mufasa(&legacy, 1);
        assert!(v.ends_with(r#"algorithm=MD5, response="7b2cc3b30e75b4777ea31027084363fd""#));
        assert!(!v.contains("qop") && !v.contains("nc=") && !v.contains("cnonce"));

        let sha = RFC7616.replace("MD5", "SHA-256") + ", userhash=true";
        let hashed = mufasa(&parse(&[&sha]).unwrap(), 1);
        let user = "a947aad205e80e429958a387394944c6b496301e79f89d35a4cc23b6ee12b5b6";
        assert!(hashed.starts_with(&format!(r#"Digest username="{user}", "#)));
        assert!(hashed.contains(SHA_RESPONSE) && hashed.ends_with(", userhash=true"));
    }

    #[test]
    fn quoted_values_are_escaped_and_control_characters_dropped() {
        let c = parse(&[r#"Digest realm="a\"b\\c", nonce="n""#]).unwrap();
        assert_eq!(c.realm, r#"a"b\c"#);
        let v = header(&c, "we\"ird\\\r\n\u{7f}one", "pw", 1, "c");
        assert!(v.starts_with(r#"Digest username="we\"ird\\one", realm="a\"b\\c", nonce="n""#));
        assert!(!v.contains("qop"));
    }

    #[test]
    fn atlas_challenge() {
        let atlas = r#"Digest realm="MMS Public API", domain="", nonce="OUTTt6fRHTJkf/wn4OZjzXg5iNmnY3Hb", algorithm=MD5, qop="auth", stale=false"#;
        let expected = Challenge {
            realm: "MMS Public API".into(),
            nonce: "OUTTt6fRHTJkf/wn4OZjzXg5iNmnY3Hb".into(),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop_auth: true,
            stale: false,
            userhash: false,
        };
        assert_eq!(parse(&[atlas]), Ok(expected));
    }

    #[test]
    fn preference_across_headers_and_challenges() {
        let d = |n: &str, rest: &str| format!(r#"Digest realm="r", nonce="{n}", qop="auth"{rest}"#);
        let pick = |values: &[&str]| parse(values).unwrap().nonce;
        let basic = format!(r#"Basic realm="x", {}"#, d("md5", ""));
        let sha = format!(
            "Negotiate, {}, Bearer a/b==",
            d("sha", ", algorithm=SHA-256")
        );
        let sess = d("sess", ", algorithm=SHA-256-sess");
        let unknown = d("512", ", algorithm=SHA-512-256");
        let legacy = r#"Digest realm="r", nonce="legacy", algorithm=SHA-256"#;
        assert_eq!(pick(&[&basic, &sess, &sha, &unknown]), "sha");
        assert_eq!(pick(&[&unknown, &basic, &sess]), "sess");
        assert_eq!(pick(&[&basic, &unknown]), "md5");
        assert_eq!(pick(&[&format!("{basic}, {}", d("md5b", ""))]), "md5");
        assert_eq!(pick(&[legacy, &sess]), "sess");
        assert_eq!(pick(&[legacy, &basic]), "legacy");
        assert_eq!(pick(&["Basic dXNlcg==, Digest realm=r, nonce=n"]), "n");
        // Junk whose quoted part (with an escaped quote) hides a better challenge.
        let junk = r#"Basic a "x\", Digest realm=r, nonce=evil, algorithm=SHA-256, y""#;
        assert_eq!(pick(&[&format!("{junk}, Digest realm=r, nonce=n")]), "n");
    }

    #[test]
    fn tolerant_syntax() {
        let c = parse(&[concat!(
            r#"dIgEsT  REALM = r ,, NONCE=a/b+c= , QOP = "AUTH-INT, auth" ,"#,
            r#"ALGORITHM = sha-256 ,Stale = TRUE, opaque="x,y\"z", foo="bar""#
        )]);
        let c = c.unwrap();
        assert_eq!((c.realm.as_str(), c.nonce.as_str()), ("r", "a/b+c="));
        assert_eq!(
            (c.algorithm, c.qop_auth, c.stale),
            (Algorithm::Sha256, true, true)
        );
        assert_eq!(c.opaque.as_deref(), Some(r#"x,y"z"#));
        for (stale, want) in [
            ("true", true),
            ("\"TRUE\"", true),
            ("false", false),
            ("1", false),
        ] {
            let c = parse(&[&format!("Digest realm=r, nonce=n, stale={stale}")]).unwrap();
            assert_eq!(c.stale, want, "{stale}");
        }
    }

    #[test]
    fn errors() {
        use ChallengeError::*;
        assert_eq!(parse(&[]), Err(NoDigestChallenge));
        assert_eq!(
            parse(&[r#"Basic realm="Digest""#, "Negotiate"]),
            Err(NoDigestChallenge)
        );
        for (header, want) in [
            (r#"Digest realm="r""#, "malformed"),
            (r#"Digest nonce="n""#, "malformed"),
            (r#"Digest realm="r", nonce="""#, "malformed"),
            (r#"Digest realm="r", nonce="n"#, "malformed"),
            ("Digest realm=r, nonce=n, nonce=m", "malformed"),
            ("Digest realm=r nonce=n", "malformed"),
            (
                r#"Digest realm="r", nonce="n", qop="auth-int""#,
                "unsupported",
            ),
            (
                "Digest realm=r, nonce=n, algorithm=SHA-512-256",
                "unsupported",
            ),
        ] {
            let got = match parse(&[header]).unwrap_err() {
                NoDigestChallenge => "none",
                Malformed(_) => "malformed",
                Unsupported(_) => "unsupported",
                TooLarge => "too large",
            };
            assert_eq!(got, want, "{header}");
        }
        let first = parse(&["Digest realm=r", "Digest realm=r, nonce=n, qop=auth-int"]);
        assert_eq!(first, Err(Malformed("no nonce".into())));
        let e = parse(&["Digest realm=r, nonce=n, algorithm=SHA-512-256"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"unsupported Digest challenge: algorithm "SHA-512-256""#
        );
    }

    /// A valid challenge padded with an unknown parameter to `size` bytes.
    fn padded(size: usize) -> String {
        let mut value = "Digest realm=r, nonce=n, x=".to_owned();
        value.extend(std::iter::repeat_n('v', size - value.len()));
        value
    }

    #[test]
    fn challenge_headers_are_bounded_all_values_together() {
        assert_eq!(parse(&[&padded(MAX_CHALLENGE_BYTES)]).unwrap().nonce, "n");
        assert_eq!(
            parse(&[&padded(MAX_CHALLENGE_BYTES + 1)]),
            Err(ChallengeError::TooLarge)
        );
        let half = padded(MAX_CHALLENGE_BYTES / 2);
        assert_eq!(parse(&[&half, &half]).unwrap().nonce, "n");
        let over = padded(MAX_CHALLENGE_BYTES / 2 + 1);
        assert_eq!(parse(&[&half, &over]), Err(ChallengeError::TooLarge));
        // Values that are not ASCII count too.
        let bad = HeaderValue::from_bytes(&vec![0xff; MAX_CHALLENGE_BYTES]).unwrap();
        let good = HeaderValue::from_static("Digest realm=r, nonce=n");
        assert_eq!(
            parse_challenges([&bad, &good]),
            Err(ChallengeError::TooLarge)
        );
        assert_eq!(
            ChallengeError::TooLarge.to_string(),
            "WWW-Authenticate is larger than the client reads (16384 bytes)"
        );
    }

    #[test]
    fn many_parameters_parse_in_linear_time() {
        // 368 KB of distinct parameters took the old parser 1.6 s (release
        // build; it compared each name with every one before it). Run with
        // --nocapture for the figure; the cap keeps such a header from
        // being parsed at all.
        let mut value = RFC7616.to_owned();
        let mut count = 0;
        while value.len() < 368 * 1024 {
            value.push_str(&format!(", p{count}=v"));
            count += 1;
        }
        let started = std::time::Instant::now();
        let raws = parse_header(&value);
        println!(
            "{} bytes, {count} parameters: {:?}",
            value.len(),
            started.elapsed()
        );
        assert_eq!(raws.len(), 1);
        assert!(!raws[0].broken);
        assert_eq!(raws[0].params.len(), count + 5);
        assert_eq!(digest_challenge(&raws[0]).unwrap().nonce.len(), 44);
    }

    #[test]
    fn a_parameter_repeated_in_another_case_breaks_its_challenge() {
        assert_eq!(
            parse(&["Digest realm=r, nonce=n, NONCE=m"]),
            Err(ChallengeError::Malformed("syntax error".into()))
        );
        let (first, second) = (
            "Digest realm=r, nonce=n, Stale=x",
            "Digest realm=s, nonce=m",
        );
        assert_eq!(parse(&[&format!("{first}, {second}")]).unwrap().nonce, "n");
    }

    #[test]
    fn non_ascii_values_are_skipped() {
        let bad = HeaderValue::from_bytes(b"Digest realm=\"\xff\", nonce=\"n\"").unwrap();
        assert_eq!(
            parse_challenges([&bad]),
            Err(ChallengeError::NoDigestChallenge)
        );
        let good = HeaderValue::from_static("Digest realm=r, nonce=n");
        assert_eq!(parse_challenges([&bad, &good]).unwrap().nonce, "n");
    }

    #[cfg(feature = "local-atlas")]
    #[test]
    fn credentials_params_parse_strictly() {
        let params = parse_params(r#"username="a\"b", nc=00000001, qop=auth"#);
        assert_eq!(
            params,
            Some(vec![
                ("username", "a\"b".into()),
                ("nc", "00000001".into()),
                ("qop", "auth".into()),
            ])
        );
        assert_eq!(parse_params(r#"a="open"#), None);
        assert_eq!(parse_params("nc=1, NC=2"), None, "a repeated name");
        assert_eq!(parse_params("a=1, b=2").map(|p| p.len()), Some(2));
        assert_eq!(
            parse_params(" ,\ta = \"x\" ,, b=y,"),
            Some(vec![("a", "x".into()), ("b", "y".into())])
        );
        assert_eq!(parse_params(""), Some(vec![]));
        for bad in [
            "a",
            "a=1, b",
            "a=1 b=2",
            "a=x y",
            "a=\"x\"b=1",
            "a=, b=1",
            "=1",
            "a b=1",
            "Basic x, a=1",
        ] {
            assert_eq!(parse_params(bad), None, "{bad}");
        }
    }

    #[test]
    fn cnonce_is_random_hex() {
        let (a, b) = (cnonce(), cnonce());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        assert_ne!(a, b);
    }

    #[test]
    fn garbage_never_panics() {
        let pieces = r#"Digest Basic realm nonce qop auth algorithm MD5-sess SHA-256 stale true userhash opaque x / é , = " \ , = " \"#;
        let mut pieces: Vec<_> = pieces.split(' ').collect();
        pieces.extend([
            " ",
            "\t",
            "\tDigest realm=r, nonce=n,",
            r#"Digest realm=r, nonce="n" ,"#,
        ]);
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % below as u64).unwrap()
        };
        let mut parsed = 0;
        for _ in 0..1000 {
            let s: String = (0..next(24)).map(|_| pieces[next(pieces.len())]).collect();
            let Ok(c) = parse_challenges([&HeaderValue::from_str(&s).unwrap()]) else {
                continue;
            };
            authorization(&c, &s, &s.as_str().into(), &s, &s, 7, &s);
            parsed += 1;
        }
        assert!(parsed > 20, "{parsed}");
    }

    #[test]
    fn next_nonce_is_read_from_authentication_info() {
        let next = |values: &[&str]| {
            let values: Vec<HeaderValue> = values
                .iter()
                .map(|v| HeaderValue::from_str(v).unwrap())
                .collect();
            next_nonce(&values)
        };
        assert_eq!(
            next(&[r#"rspauth="abc", cnonce="c", nc=00000003, qop=auth, nextnonce="n/2+="#])
                .as_deref(),
            None,
            "unterminated quote"
        );
        assert_eq!(
            next(&[r#"rspauth="abc", cnonce="c", nc=00000003, qop=auth, NextNonce="n/2+=""#])
                .as_deref(),
            Some("n/2+=")
        );
        assert_eq!(next(&[r#"qop=auth, rspauth="abc""#]), None, "no nextnonce");
        assert_eq!(next(&[r#"nextnonce="""#]), None, "empty");
        assert_eq!(next(&["nextnonce=a, nextnonce=b"]), None, "repeated");
        assert_eq!(next(&["garbage", "nextnonce=m"]).as_deref(), Some("m"));
        assert_eq!(next(&[]), None);
        let long = format!("nextnonce=n, x={}", "v".repeat(MAX_CHALLENGE_BYTES));
        assert_eq!(next(&[&long]), None, "too large");
        let fits = format!("nextnonce=n, x={}", "v".repeat(MAX_CHALLENGE_BYTES - 16));
        assert_eq!(next(&[&fits]).as_deref(), Some("n"));
    }
}
