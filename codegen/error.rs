//! The one error type of the generator: what went wrong and where, as a JSON
//! pointer into the spec.

use std::fmt;

/// A spec the generator cannot turn into a client.
#[derive(Debug)]
pub struct Error {
    /// JSON pointer (RFC 6901) of the offending value; empty for the whole
    /// document.
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

impl Error {
    pub fn at(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    /// The same error, said to have happened while doing `what`.
    pub fn context(self, what: &str) -> Self {
        Self {
            message: format!("{what}: {}", self.message),
            ..self
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "at JSON pointer {pointer}: {}", self.message)
    }
}

impl std::error::Error for Error {}
