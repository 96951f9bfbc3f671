//! [`SecretString`]: the type of every credential and every field the spec
//! marks `writeOnly` or `format: password` (Kafka passwords, OIDC client
//! secrets, TLS private keys).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// A string that must not leak: its `Debug` shows no part of it, it has no
/// `Display`, and its memory is zeroed when it is dropped. It serialises to
/// the real value, because the API needs it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself. Every use is a place to review.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not even the length: it narrows a guess.
        f.write_str("SecretString(\"[REDACTED]\")")
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Serialize for SecretString {
    /// The secret itself (it is sent on the wire), except inside
    /// [`redacted_json`](crate::redacted_json).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if crate::redact::hides_write_only() {
            return serializer.serialize_str(crate::redact::REDACTED);
        }
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}
