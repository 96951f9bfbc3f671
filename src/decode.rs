//! Reading answers leniently, sending strictly; and the decoding the
//! generated types share.
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
//!
//! The generated structs decode in one pass over the input, through any
//! serde `Deserializer` (codegen/codec.rs writes their impls, on what is
//! here): each reads its known fields straight into their types and keeps
//! every other property in its `extra` map ([`Object`], [`FieldKeys`],
//! [`required`]); a property given twice keeps its last value, as
//! `serde_json::Value` does. (The unions' part is in `unknown.rs`.)

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use progenitor_client::{Error as GeneratedError, ResponseValue};
use reqwest::StatusCode;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, forward_to_deserialize_any};
use serde_json::{Map, Value};

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
    let inner = match leniently(|| serde_json::from_slice(&body)) {
        Ok(inner) => inner,
        // No body at all to an answer that says it has none to give (`202
        // Accepted`, `204 No Content`) where the spec declares an object
        // that may be empty (releases of the spec give a delete's `202` the
        // schema `NoBody`, "Endpoint does not return a response body"): the
        // empty object. Any other type or status keeps the error of the
        // empty body (an empty page of a list is no page).
        Err(error)
            if body.trim_ascii().is_empty()
                && matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) =>
        {
            leniently(|| serde_json::from_slice(b"{}"))
                .map_err(|_| GeneratedError::InvalidResponsePayload(body, error))?
        }
        Err(error) => return Err(GeneratedError::InvalidResponsePayload(body, error)),
    };
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
/// (codegen/codec.rs writes the same reading inline into the impls it
/// writes; this serves the structs it leaves to serde's derive.)
#[allow(
    dead_code,
    reason = "used by the structs serde's derive reads, if a spec has any"
)]
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

// ---------------------------------------------------------------- structs

/// A property name: the index of one a generated type knows, or the name.
pub(crate) enum Key<'de> {
    Known(usize),
    Other(Cow<'de, str>),
}

impl<'de> Key<'de> {
    /// The name, read with a matcher that knows no name.
    pub(crate) fn into_name(self) -> Cow<'de, str> {
        match self {
            Key::Known(_) => Cow::Borrowed(""),
            Key::Other(name) => name,
        }
    }
}

/// Reads a property name and gives it to `F`, which says which of the
/// fields of a generated type it names (a `match` on string constants, as
/// serde's derive writes); borrowed from the input where the deserializer
/// allows, so a known name costs no allocation.
#[derive(Clone, Copy)]
pub(crate) struct FieldKeys<F>(pub F);

/// What the generated structs give [`FieldKeys`]: a function, not each its
/// own closure type, so that the name reading (serde_json's string parsing
/// inlined, and the union's `Rest` around it) is compiled once per input
/// rather than once per struct. With a closure each, the typed decoding's
/// code outgrew the instruction cache: ~750 misses per pass over the seven
/// seed responses against ~15 for `Value` (cachegrind, 64 KiB L1i).
pub(crate) type Names = fn(&str) -> Option<usize>;

impl<F: Fn(&str) -> Option<usize>> FieldKeys<F> {
    fn key<'de>(&self, name: Cow<'de, str>) -> Key<'de> {
        match (self.0)(&name) {
            Some(index) => Key::Known(index),
            None => Key::Other(name),
        }
    }
}

impl<'de, F: Fn(&str) -> Option<usize>> DeserializeSeed<'de> for FieldKeys<F> {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'de>, D::Error> {
        // As serde's derive reads a field's name.
        deserializer.deserialize_identifier(self)
    }
}

impl<'de, F: Fn(&str) -> Option<usize>> Visitor<'de> for FieldKeys<F> {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property name")
    }

    fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Key<'de>, E> {
        Ok(self.key(Cow::Borrowed(name)))
    }

    fn visit_str<E>(self, name: &str) -> Result<Key<'de>, E> {
        Ok(match self.key(Cow::Borrowed(name)) {
            Key::Known(index) => Key::Known(index),
            Key::Other(_) => Key::Other(Cow::Owned(name.to_owned())),
        })
    }

    fn visit_string<E>(self, name: String) -> Result<Key<'de>, E> {
        Ok(match self.key(Cow::Borrowed(&name)) {
            Key::Known(index) => Key::Known(index),
            Key::Other(_) => Key::Other(Cow::Owned(name)),
        })
    }

    fn visit_borrowed_bytes<E: de::Error>(self, name: &'de [u8]) -> Result<Key<'de>, E> {
        match std::str::from_utf8(name) {
            Ok(name) => self.visit_borrowed_str(name),
            Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(name), &self)),
        }
    }

    fn visit_bytes<E: de::Error>(self, name: &[u8]) -> Result<Key<'de>, E> {
        match std::str::from_utf8(name) {
            Ok(name) => self.visit_str(name),
            Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(name), &self)),
        }
    }
}

/// A struct the generator wrote the reading of (codegen/codec.rs): its
/// properties, read from a map.
pub(crate) trait Object: Sized {
    /// What the input should have been, for error messages.
    const EXPECTING: &'static str;
    /// Reads the object's properties.
    fn visit_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// Reads an [`Object`] from a map, as serde's derive reads a struct with a
/// flattened field.
pub(crate) fn object<'de, T: Object, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_map(ObjectVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Object> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::visit_map(map)
    }
}

/// A property no field of an [`Object`] takes: kept in its `extra` map
/// (a name given twice keeps its last value).
pub(crate) fn keep<'de, A: MapAccess<'de>>(
    map: &mut A,
    key: Key<'de>,
    extra: &mut Map<String, Value>,
) -> Result<(), A::Error> {
    match key {
        Key::Other(name) => {
            extra.insert(name.into_owned(), map.next_value()?);
        }
        // Not a name the object gave `FieldKeys`; nothing to keep it in.
        Key::Known(_) => {
            map.next_value::<de::IgnoredAny>()?;
        }
    }
    Ok(())
}

/// The next value of `map`, `null` as the type's default: what
/// [`null_as_default`] reads, for the impls codegen/codec.rs writes.
pub(crate) fn next_or_default<'de, A, T>(map: &mut A) -> Result<T, A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(map.next_value::<Option<T>>()?.unwrap_or_default())
}

/// The value of a field the input did not give, as serde's derive makes it:
/// `None` for an `Option` (and for any type that reads a missing value as
/// `None`), else a `missing field` error.
pub(crate) fn required<'de, T: Deserialize<'de>, E: de::Error>(
    value: Option<T>,
    name: &'static str,
) -> Result<T, E> {
    match value {
        Some(value) => Ok(value),
        None => T::deserialize(Missing(name, PhantomData)),
    }
}

/// A field that is absent: nothing to read but `None`.
struct Missing<E>(&'static str, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for Missing<E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, E> {
        Err(E::missing_field(self.0))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_none()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::{is_lenient, leniently, response};
    use progenitor_client::Error as GeneratedError;
    use serde_json::{Map, Value};

    use crate::types::StreamsConnection;

    fn answer(body: &'static str) -> reqwest::Response {
        answer_with(202, body)
    }

    fn answer_with(status: u16, body: &'static str) -> reqwest::Response {
        reqwest::Response::from(http::Response::builder().status(status).body(body).unwrap())
    }

    #[tokio::test]
    async fn no_body_reads_as_the_empty_object_where_the_type_takes_one() {
        for body in ["", " \r\n"] {
            let read = response::<Map<String, Value>, ()>(answer(body))
                .await
                .unwrap();
            assert!(read.into_inner().is_empty());
        }
        // A type that cannot be empty keeps the empty body's own error.
        let Err(GeneratedError::InvalidResponsePayload(body, error)) =
            response::<StreamsConnection, ()>(answer("")).await
        else {
            panic!("an empty connection was read")
        };
        assert!(body.is_empty());
        assert!(error.is_eof(), "{error}");
        // A 200 says it has a body: an empty one is an error.
        let Err(GeneratedError::InvalidResponsePayload(_, error)) =
            response::<Map<String, Value>, ()>(answer_with(200, "")).await
        else {
            panic!("an empty 200 was read")
        };
        assert!(error.is_eof(), "{error}");
        assert!(
            response::<Map<String, Value>, ()>(answer_with(204, ""))
                .await
                .is_ok()
        );
        // A body that is not JSON is no empty body.
        let Err(GeneratedError::InvalidResponsePayload(_, error)) =
            response::<Map<String, Value>, ()>(answer("x")).await
        else {
            panic!("`x` was read")
        };
        assert!(error.is_syntax(), "{error}");
    }

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
