//! HTTP Digest (RFC 7616, `qop=auth`) computed independently of the crate:
//! an oracle for the servers that check the client's answers and for the
//! requests the tests answer challenges with by hand.

use std::collections::HashMap;

use md5::Digest as _;

use super::REALM;

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 of `text`, in hex.
pub fn hex_md5(text: &str) -> String {
    hex(&md5::Md5::digest(text.as_bytes()))
}

/// The SHA-256 of `text`, in hex.
pub fn hex_sha256(text: &str) -> String {
    hex(&sha2::Sha256::digest(text.as_bytes()))
}

/// The `name=value` pairs of a Digest header (a challenge or an answer).
pub fn digest_params(header: &str) -> HashMap<String, String> {
    let rest = header.strip_prefix("Digest ").expect("a Digest header");
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || *c == ' ') {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            return params;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.insert(name.trim().to_string(), value);
    }
}

/// The first `nonce="..."` value in `text` (a challenge, or the head of an
/// answer that carries one).
pub fn nonce_of(text: &str) -> String {
    text.split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no nonce in {text}"))
        .to_owned()
}

/// One answer to a Digest challenge of realm [`REALM`], `qop=auth`.
pub struct DigestAnswer<'a> {
    pub username: &'a str,
    pub private_key: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub nonce: &'a str,
    /// The nonce count as sent: eight hex digits.
    pub nc: &'a str,
    pub cnonce: &'a str,
}

impl DigestAnswer<'_> {
    /// The `response` hash, with `hash` ([`hex_md5`] or [`hex_sha256`]).
    pub fn response(&self, hash: fn(&str) -> String) -> String {
        let ha1 = hash(&format!("{}:{REALM}:{}", self.username, self.private_key));
        let ha2 = hash(&format!("{}:{}", self.method, self.uri));
        hash(&format!(
            "{ha1}:{}:{}:{}:auth:{ha2}",
            self.nonce, self.nc, self.cnonce
        ))
    }

    /// The `Authorization` value of this answer with MD5.
    pub fn header(&self) -> String {
        format!(
            "Digest username=\"{}\", realm=\"{REALM}\", nonce=\"{}\", uri=\"{}\", \
             algorithm=MD5, qop=auth, nc={}, cnonce=\"{}\", response=\"{}\"",
            self.username,
            self.nonce,
            self.uri,
            self.nc,
            self.cnonce,
            self.response(hex_md5)
        )
    }
}
