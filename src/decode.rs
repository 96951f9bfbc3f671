//! Reading answers leniently, sending strictly.
//!
//! A connection that was created must never look like a failure because its
//! answer is a little off the spec. So, for response bodies only:
//! - a constraint the spec puts on a request (a `pattern`, a length) is not
//!   applied: typify's constrained strings accept any text while
//!   [`is_lenient`] says a response is being decoded (the build makes their
//!   `Deserialize` ask);
//! - `null` where the spec has a list or a map reads as empty
//!   ([`null_as_default`], on every such field, in requests too: it is what
//!   `null` means there).
//!
//! Values built in code (`FromStr`, `TryFrom`) or decoded from anything
//! else (a file the user wrote, say) are still checked in full.

use std::cell::Cell;

use progenitor_client::{Error as GeneratedError, ResponseValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

thread_local! {
    static LENIENT: Cell<bool> = const { Cell::new(false) };
}

/// Whether the decoding under way is of a response body.
pub(crate) fn is_lenient() -> bool {
    LENIENT.with(Cell::get)
}

/// Decodes a response body as `T`, leniently. The generated client calls
/// this where progenitor would call `ResponseValue::from_response` (the
/// build rewrites those calls); otherwise the same.
pub(crate) async fn response<T: DeserializeOwned, E>(
    response: reqwest::Response,
) -> Result<ResponseValue<T>, GeneratedError<E>> {
    let status = response.status();
    let headers = response.headers().clone();
    // `call::exec` has read the body already, within its limit; this only
    // takes the bytes it handed on.
    let body = response
        .bytes()
        .await
        .map_err(GeneratedError::ResponseBodyError)?;
    let inner = leniently(|| serde_json::from_slice(&body))
        .map_err(|e| GeneratedError::InvalidResponsePayload(body, e))?;
    Ok(ResponseValue::new(inner, status, headers))
}

/// Runs `decode` (synchronous, so the flag cannot leak to another task)
/// with leniency on.
pub(crate) fn leniently<R>(decode: impl FnOnce() -> R) -> R {
    while_set(&LENIENT, decode)
}

/// Runs `run` with the thread-local `flag` on, and restores its previous
/// setting afterwards, even if `run` panics. (Also `redact::redacted_json`'s
/// switch.)
pub(crate) fn while_set<R>(
    flag: &'static std::thread::LocalKey<Cell<bool>>,
    run: impl FnOnce() -> R,
) -> R {
    struct Restore(&'static std::thread::LocalKey<Cell<bool>>, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            self.0.with(|f| f.set(self.1));
        }
    }
    let _restore = Restore(flag, flag.with(|f| f.replace(true)));
    run()
}

/// `null` as the type's default (an empty list or map); anything else as
/// the type reads it. For fields that are absent-means-empty already.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::{is_lenient, leniently};

    #[test]
    fn leniency_is_scoped_and_restored_after_a_panic() {
        assert!(!is_lenient());
        assert!(leniently(is_lenient));
        assert!(!is_lenient());
        let nested = leniently(|| {
            leniently(|| ());
            is_lenient()
        });
        assert!(nested);
        let _ = std::panic::catch_unwind(|| leniently(|| panic!("decoder bug")));
        assert!(!is_lenient());
    }
}
