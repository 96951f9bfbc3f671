//! Discriminated unions on the wire: reading one in a single pass, and
//! [`UnknownKind`], what one decodes into when the server sends a kind this
//! version of the crate does not know.
//!
//! A union (codegen/unions.rs implements [`Union`] for it) reads its object
//! through [`union`]: the properties that come before the tag are kept in a
//! small buffer ([`Content`]: strings borrowed from the input where the
//! deserializer allows), then the kind the tag names reads that buffer and
//! the rest of the object as the input gives it, through any serde
//! `Deserializer`. The tag given again must name the same kind (the first
//! chose it). An unknown kind keeps every property, the tag included.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use crate::decode::{FieldKeys, Key};

/// An object of a kind this crate does not know (a newer server added it),
/// kept whole: serialising it gives back every property received.
#[derive(Clone, PartialEq)]
pub struct UnknownKind {
    tag_property: &'static str,
    object: Map<String, Value>,
}

impl UnknownKind {
    /// Wraps `object`, whose `tag_property` names its kind. Used by the
    /// generated unions; callers rarely need it.
    pub fn new(tag_property: &'static str, object: Map<String, Value>) -> Self {
        Self {
            tag_property,
            object,
        }
    }

    /// The kind, as the server sent it.
    pub fn kind(&self) -> &str {
        self.object
            .get(self.tag_property)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Every property received, the tag included.
    pub fn as_json(&self) -> &Map<String, Value> {
        &self.object
    }

    /// Takes the properties out.
    pub fn into_json(self) -> Map<String, Value> {
        self.object
    }
}

impl fmt::Debug for UnknownKind {
    /// Shows the kind and the property names only: an unknown kind may carry
    /// secrets this crate cannot recognise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnknownKind")
            .field("kind", &self.kind())
            .field("properties", &self.object.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Serialize for UnknownKind {
    /// Every property as received; inside
    /// [`redacted_json`](crate::redacted_json), the kind and the other
    /// properties' names only.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if crate::redact::is_redacting() {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(Some(self.object.len()))?;
            for (key, value) in &self.object {
                match key == self.tag_property && value.is_string() {
                    true => map.serialize_entry(key, value)?,
                    false => map.serialize_entry(key, crate::redact::REDACTED)?,
                }
            }
            return map.end();
        }
        self.object.serialize(serializer)
    }
}

// ---------------------------------------------------------------- writing

/// `extra` (a kind's unknown properties) as the kind writes it after its
/// union's tag (`property`, naming `kind`), which is written once: a copy
/// of the tag in `extra` that names the same kind is left out, one that
/// names another (or is not a string) is an error, as decoding reads the
/// tag given twice. The error names the property, never the value, which
/// may be anything a user put there. Without a copy (the normal case: one
/// lookup), `extra` itself.
pub(crate) fn extra_without_tag<'a, E: serde::ser::Error>(
    extra: &'a Map<String, Value>,
    property: &str,
    kind: &str,
) -> Result<Cow<'a, Map<String, Value>>, E> {
    match extra.get(property) {
        None => Ok(Cow::Borrowed(extra)),
        Some(Value::String(again)) if again == kind => Ok(Cow::Owned(
            extra
                .iter()
                .filter(|(name, _)| *name != property)
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        )),
        Some(_) => Err(E::custom(format_args!(
            "a `{kind}`: the `{property}` property is given twice, with different values \
             (the kind, and another in `extra`)"
        ))),
    }
}

// ---------------------------------------------------------------- reading

/// A discriminated union the generator wrote (codegen/unions.rs): the
/// kinds it knows, and how to read each.
pub(crate) trait Union: Sized {
    /// The union's name in the spec, for error messages.
    const NAME: &'static str;
    /// The property whose value tells the kinds apart.
    const TAG: &'static str;
    /// The kinds, as on the wire.
    const KINDS: &'static [&'static str];
    /// Reads the kind `KINDS[index]` (the tag left out) from `deserializer`.
    fn known<'de, D: Deserializer<'de>>(index: usize, deserializer: D) -> Result<Self, D::Error>;
    /// A kind this crate does not know, kept whole.
    fn unknown(kind: UnknownKind) -> Self;
}

/// Reads a [`Union`] from an object in one pass.
pub(crate) fn union<'de, U: Union, D: Deserializer<'de>>(deserializer: D) -> Result<U, D::Error> {
    deserializer.deserialize_map(UnionVisitor(PhantomData))
}

/// The properties before the tag, in the order they came.
type Buffered<'de> = Vec<(Cow<'de, str>, Content<'de>)>;

struct UnionVisitor<U>(PhantomData<U>);

impl<'de, U: Union> Visitor<'de> for UnionVisitor<U> {
    type Value = U;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<U, A::Error> {
        let mut before = Buffered::new();
        let kind = loop {
            match map.next_key_seed(Names(Some(U::TAG)))? {
                Some(Key::Known(_)) => break tag_value::<U, A::Error>(map.next_value()?)?,
                Some(Key::Other(name)) => before.push((name, map.next_value()?)),
                None => {
                    return Err(de::Error::custom(format_args!(
                        "{}: missing the `{}` property that tells its kind",
                        U::NAME,
                        U::TAG
                    )));
                }
            }
        };
        let Some(index) = U::KINDS.iter().position(|known| *known == kind) else {
            return unknown_kind::<U, A>(before, kind, map).map(U::unknown);
        };
        let rest = Rest {
            before: before.into_iter(),
            value: None,
            map,
            tag: U::TAG,
            kind: &kind,
        };
        U::known(index, MapAccessDeserializer::new(rest)).map_err(|e| {
            // serde_json keeps the position its message ends with.
            de::Error::custom(format_args!(
                "{} of kind `{}`: {e}",
                U::NAME,
                U::KINDS[index]
            ))
        })
    }
}

/// Property names, read as strings (as a map's keys are), the tag (if
/// `Some`) told apart.
#[derive(Clone, Copy)]
struct Names(Option<&'static str>);

impl<'de> DeserializeSeed<'de> for Names {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'de>, D::Error> {
        let tag = self.0;
        deserializer.deserialize_str(FieldKeys(|name: &str| (Some(name) == tag).then_some(0)))
    }
}

/// The tag's value, which must be a string.
fn tag_value<'de, U: Union, E: de::Error>(value: Content<'de>) -> Result<Cow<'de, str>, E> {
    match value {
        Content::Str(kind) => Ok(kind),
        _ => Err(E::custom(format_args!(
            "{}: the `{}` property must be a string",
            U::NAME,
            U::TAG
        ))),
    }
}

/// The tag given again: the same kind is no news; another one cannot be
/// honoured, since the first chose the kind.
fn repeated_tag<E: de::Error>(tag: &str, kind: &str, value: &Content<'_>) -> Result<(), E> {
    match value {
        Content::Str(again) if again == kind => Ok(()),
        _ => Err(E::custom(format_args!(
            "the `{tag}` property is given twice, with different values"
        ))),
    }
}

/// An unknown kind: every property, the tag included, in the order they
/// came (a property given twice keeps its last value).
fn unknown_kind<'de, U: Union, A: MapAccess<'de>>(
    before: Buffered<'de>,
    kind: Cow<'de, str>,
    mut map: A,
) -> Result<UnknownKind, A::Error> {
    let mut object = Map::new();
    for (name, value) in before {
        object.insert(name.into_owned(), value.into_value());
    }
    object.insert(U::TAG.to_owned(), Value::String(kind.to_string()));
    while let Some(key) = map.next_key_seed(Names(Some(U::TAG)))? {
        match key {
            Key::Known(_) => repeated_tag(U::TAG, &kind, &map.next_value()?)
                .map_err(|e: A::Error| de::Error::custom(format_args!("{}: {e}", U::NAME)))?,
            Key::Other(name) => {
                object.insert(name.into_owned(), map.next_value()?);
            }
        }
    }
    Ok(UnknownKind::new(U::TAG, object))
}

/// The object of a known kind without its tag: the buffered properties,
/// then the rest as the input gives them.
struct Rest<'a, 'de, A> {
    before: std::vec::IntoIter<(Cow<'de, str>, Content<'de>)>,
    /// The value of the buffered property whose name was just read.
    value: Option<Content<'de>>,
    map: A,
    tag: &'static str,
    kind: &'a str,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Rest<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if let Some((name, value)) = self.before.next() {
            self.value = Some(value);
            return name_into(seed, name).map(Some);
        }
        loop {
            match self.map.next_key_seed(Names(Some(self.tag)))? {
                Some(Key::Known(_)) => repeated_tag(self.tag, self.kind, &self.map.next_value()?)?,
                Some(Key::Other(name)) => return name_into(seed, name).map(Some),
                None => return Ok(None),
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(value.into_deserializer()),
            None => self.map.next_value_seed(seed),
        }
    }
}

/// Gives a property name to the kind's reader.
fn name_into<'de, K: DeserializeSeed<'de>, E: de::Error>(
    seed: K,
    name: Cow<'de, str>,
) -> Result<K::Value, E> {
    match name {
        Cow::Borrowed(name) => seed.deserialize(BorrowedStrDeserializer::new(name)),
        Cow::Owned(name) => seed.deserialize(StringDeserializer::new(name)),
    }
}

// ---------------------------------------------------------------- buffer

/// A value read before its union's kind was known, to be read again by the
/// kind: what a `serde_json::Value` holds (and read back as one is), with
/// strings borrowed from the input where the deserializer allows and an
/// object's properties in a list (read back in order; a name given twice is
/// given twice, and the reader keeps the last, as from the input itself).
enum Content<'de> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    /// A number as serde_json's `arbitrary_precision` feature gives it (see
    /// [`NUMBER_TOKEN`]): its text, kept exactly.
    Number(Number),
    Str(Cow<'de, str>),
    Seq(Vec<Content<'de>>),
    Map(Vec<(Cow<'de, str>, Content<'de>)>),
}

impl Content<'_> {
    /// As a `serde_json::Value` (an unknown kind's properties).
    fn into_value(self) -> Value {
        match self {
            Content::Null => Value::Null,
            Content::Bool(b) => Value::Bool(b),
            Content::U64(n) => Value::Number(n.into()),
            Content::I64(n) => Value::Number(n.into()),
            Content::F64(n) => Number::from_f64(n).map_or(Value::Null, Value::Number),
            Content::Number(n) => Value::Number(n),
            Content::Str(s) => Value::String(s.into_owned()),
            Content::Seq(items) => {
                Value::Array(items.into_iter().map(Content::into_value).collect())
            }
            Content::Map(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_value()))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Content<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ContentVisitor {
            numbers_as_maps: arbitrary_precision,
        })
    }
}

/// The one property of the map that serde_json's deserializers give a
/// number as, with its text, when its `arbitrary_precision` feature is on
/// (every number that is not an integer of 64 bits: the feature keeps them
/// exactly). The crate does not turn the feature on, but another crate of a
/// build may, and features unify: `Value` then reads such a map as a number,
/// and so must the buffer.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Whether serde_json's `arbitrary_precision` feature is on in this build:
/// only then does a number beyond `f64`'s range parse. Without it, a map
/// with [`NUMBER_TOKEN`] is an object like any other, for `Value` too.
fn arbitrary_precision() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| "1e400".parse::<Number>().is_ok())
}

/// Reads what `serde_json::Value` reads, the same way.
struct ContentVisitor {
    /// Whether a map whose first property is [`NUMBER_TOKEN`] is a number
    /// ([`arbitrary_precision`]; asked only when one comes).
    numbers_as_maps: fn() -> bool,
}

impl<'de> Visitor<'de> for ContentVisitor {
    type Value = Content<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Content<'de>, E> {
        Ok(Content::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Content<'de>, E> {
        // As `serde_json::Number` keeps it: non-negative is unsigned.
        Ok(u64::try_from(n).map_or(Content::I64(n), Content::U64))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Content<'de>, E> {
        Ok(Content::U64(n))
    }

    fn visit_i128<E: de::Error>(self, n: i128) -> Result<Content<'de>, E> {
        match (u64::try_from(n), i64::try_from(n)) {
            (Ok(n), _) => Ok(Content::U64(n)),
            (_, Ok(n)) => Ok(Content::I64(n)),
            _ => Err(E::custom("JSON number out of range")),
        }
    }

    fn visit_u128<E: de::Error>(self, n: u128) -> Result<Content<'de>, E> {
        u64::try_from(n)
            .map(Content::U64)
            .map_err(|_| E::custom("JSON number out of range"))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Content<'de>, E> {
        // `Value` keeps a number it cannot hold (NaN, infinite) as null.
        Ok(match n.is_finite() {
            true => Content::F64(n),
            false => Content::Null,
        })
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Content<'de>, E> {
        Ok(Content::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Content<'de>, E> {
        Ok(Content::Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Content<'de>, E> {
        Ok(Content::Str(Cow::Owned(s)))
    }

    fn visit_none<E>(self) -> Result<Content<'de>, E> {
        Ok(Content::Null)
    }

    fn visit_unit<E>(self) -> Result<Content<'de>, E> {
        Ok(Content::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Content<'de>, D::Error> {
        Content::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Content::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Content<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(Names(None))? {
            let name = key.into_name();
            if entries.is_empty() && name == NUMBER_TOKEN && (self.numbers_as_maps)() {
                // A number, as `Value` reads it: the text, parsed by serde_json.
                let text: String = map.next_value()?;
                return text.parse().map(Content::Number).map_err(de::Error::custom);
            }
            entries.push((name, map.next_value()?));
        }
        Ok(Content::Map(entries))
    }
}

impl<'de, E: de::Error> IntoDeserializer<'de, E> for Content<'de> {
    type Deserializer = ContentDeserializer<'de, E>;

    fn into_deserializer(self) -> Self::Deserializer {
        ContentDeserializer(self, PhantomData)
    }
}

/// The hints of [`ContentDeserializer`] that serde's `forward_to_deserialize_any`
/// would forward. Everything is read as any value, but a number while
/// serde_json's `arbitrary_precision` is on: `Value` then reads its numbers
/// from their text, as the type asked for (`1.50` as an `f64`, which its
/// `deserialize_any` gives as text), with its own errors (`invalid number`,
/// `invalid type: number`), so the buffer hands a number to `Value` itself.
/// Without the feature, `Value` reads a number as any value reads it.
macro_rules! hints {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, E> {
            match self.0 {
                number @ (Content::U64(_) | Content::I64(_) | Content::F64(_) | Content::Number(_))
                    if arbitrary_precision() =>
                {
                    number.into_value().$method($($arg,)* visitor).map_err(E::custom)
                }
                other => ContentDeserializer(other, PhantomData).deserialize_any(visitor),
            }
        }
    )*};
}

/// Reads a [`Content`] back, as a `serde_json::Value` is read.
struct ContentDeserializer<'de, E>(Content<'de>, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for ContentDeserializer<'de, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Content::Null => visitor.visit_unit(),
            Content::Bool(b) => visitor.visit_bool(b),
            Content::U64(n) => visitor.visit_u64(n),
            Content::I64(n) => visitor.visit_i64(n),
            Content::F64(n) => visitor.visit_f64(n),
            Content::Number(n) => n.deserialize_any(visitor).map_err(E::custom),
            Content::Str(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Content::Str(Cow::Owned(s)) => visitor.visit_string(s),
            Content::Seq(items) => {
                let (len, mut items) = (items.len(), Items(items.into_iter(), PhantomData));
                let value = visitor.visit_seq(&mut items)?;
                match items.0.len() {
                    0 => Ok(value),
                    _ => Err(E::invalid_length(len, &"fewer elements in array")),
                }
            }
            Content::Map(entries) => {
                let len = entries.len();
                let mut entries = Entries(entries.into_iter(), None, PhantomData);
                let value = visitor.visit_map(&mut entries)?;
                match entries.0.len() {
                    0 => Ok(value),
                    _ => Err(E::invalid_length(len, &"fewer elements in map")),
                }
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Content::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        // Rare in a buffer: read as `Value` reads an enum.
        self.0
            .into_value()
            .deserialize_enum(name, variants, visitor)
            .map_err(E::custom)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_unit()
    }

    hints! {
        deserialize_bool() deserialize_char() deserialize_str() deserialize_string()
        deserialize_bytes() deserialize_byte_buf() deserialize_unit() deserialize_seq()
        deserialize_map() deserialize_identifier()
        deserialize_i8() deserialize_i16() deserialize_i32() deserialize_i64() deserialize_i128()
        deserialize_u8() deserialize_u16() deserialize_u32() deserialize_u64() deserialize_u128()
        deserialize_f32() deserialize_f64()
        deserialize_unit_struct(name: &'static str)
        deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_struct(name: &'static str, fields: &'static [&'static str])
    }
}

/// A buffered array's items, read back.
struct Items<'de, E>(std::vec::IntoIter<Content<'de>>, PhantomData<E>);

impl<'de, E: de::Error> SeqAccess<'de> for Items<'de, E> {
    type Error = E;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, E> {
        self.0
            .next()
            .map(|item| seed.deserialize(item.into_deserializer()))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// A buffered object's properties, read back; the value of the one whose
/// name was just read.
struct Entries<'de, E>(
    std::vec::IntoIter<(Cow<'de, str>, Content<'de>)>,
    Option<Content<'de>>,
    PhantomData<E>,
);

impl<'de, E: de::Error> MapAccess<'de> for Entries<'de, E> {
    type Error = E;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
        let Some((name, value)) = self.0.next() else {
            return Ok(None);
        };
        self.1 = Some(value);
        name_into(seed, name).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, E> {
        // A reader asks for a value after its name; out of turn, it gets null.
        seed.deserialize(self.1.take().unwrap_or(Content::Null).into_deserializer())
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt::Debug;

    use serde::Deserialize;
    use serde::de::{DeserializeOwned, IntoDeserializer};
    use serde_json::Value;

    use super::Content;

    #[derive(Debug, PartialEq, Deserialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(u8, u8),
        Struct { a: u8 },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Plain {
        a: Option<u8>,
        #[serde(default)]
        b: Vec<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Wrapped(String);

    /// `content` read back as `T`, and `value` read as `T`: the same value,
    /// or the same error (`what` names the input).
    fn reads_as_value<T: DeserializeOwned + PartialEq + Debug>(
        content: Content<'_>,
        value: Value,
        what: &str,
    ) {
        let expected = serde_json::from_value::<T>(value).map_err(|e| e.to_string());
        let got = T::deserialize(IntoDeserializer::<serde_json::Error>::into_deserializer(
            content,
        ))
        .map_err(|e| e.to_string());
        assert_eq!(got, expected, "{what} as {}", std::any::type_name::<T>());
    }

    /// `text` read as `T` through a buffered [`Content`] and through a
    /// `serde_json::Value`: the same value, or the same error.
    fn same_as_value<T: DeserializeOwned + PartialEq + Debug>(text: &str) {
        let content: Content<'_> = serde_json::from_str(text).unwrap();
        reads_as_value::<T>(content, serde_json::from_str(text).unwrap(), text);
    }

    #[test]
    fn a_buffered_value_reads_back_as_a_json_value_would() {
        for text in [
            r#"[1, -2, 3.5, true, null, "s", {"a": [{}]}]"#,
            "1e300",
            r#""\u00e9\n""#,
        ] {
            same_as_value::<Value>(text);
        }
        for text in ["[1, 2]", "[]", "null", "[1, 300]", "[-1]", r#"["1"]"#, "{}"] {
            same_as_value::<Vec<u8>>(text);
        }
        for text in [r#""Unit""#, r#"{"Newtype": 7}"#, r#"{"Tuple": [1, 2]}"#] {
            same_as_value::<Shape>(text);
        }
        for text in [
            r#"{"Struct": {"a": 1}}"#,
            r#""Nope""#,
            "7",
            r#"{"Unit": 1, "b": 2}"#,
        ] {
            same_as_value::<Shape>(text);
        }
        for text in [
            r#"{"a": 1, "b": ["x"]}"#,
            r#"{"a": null}"#,
            "[1, []]",
            r#"{"b": 1}"#,
        ] {
            same_as_value::<Plain>(text);
        }
        for text in ["null", r#""x""#, "1", "[]"] {
            same_as_value::<Option<String>>(text);
            same_as_value::<Wrapped>(text);
            same_as_value::<String>(text);
        }
        for text in [
            "1.5",
            "-0.0",
            "18446744073709551615",
            "-9223372036854775808",
            "true",
        ] {
            same_as_value::<f64>(text);
            same_as_value::<i64>(text);
            same_as_value::<u64>(text);
            same_as_value::<bool>(text);
        }
        for text in [r#""c""#, r#""cd""#, "null", "[1]", "[1, 2]"] {
            same_as_value::<char>(text);
            same_as_value::<()>(text);
            same_as_value::<(u8,)>(text);
        }
        same_as_value::<BTreeMap<String, Vec<Option<bool>>>>(r#"{"k": [true, null], "j": []}"#);
    }

    #[test]
    fn wide_integers_are_buffered_as_json_holds_them_or_refused() {
        use serde::de::value::{Error, I128Deserializer, U128Deserializer};
        let read = |n: i128| Content::deserialize(I128Deserializer::<Error>::new(n)).ok();
        assert!(matches!(read(5), Some(Content::U64(5))));
        assert!(matches!(read(-5), Some(Content::I64(-5))));
        assert!(read(i128::MAX).is_none());
        let read = |n: u128| Content::deserialize(U128Deserializer::<Error>::new(n)).ok();
        assert!(matches!(read(5), Some(Content::U64(5))));
        assert!(read(u128::MAX).is_none());
    }

    /// A map as serde_json's `arbitrary_precision` feature gives a number
    /// (its one property [`super::NUMBER_TOKEN`], the text), buffered and
    /// read back as `Value` reads it (as a `Value`, and as each type): with
    /// the feature on, a number (the copy of the crate in
    /// xtask/tests/arbitrary_precision.rs runs this), off, a map like any
    /// other.
    #[test]
    fn a_number_in_the_shape_arbitrary_precision_gives_reads_as_a_json_value_reads_it() {
        use serde::de::value::MapDeserializer;
        for text in [
            "12345678901234567890123",
            "-12345678901234567890123",
            "1.50",
            "1e400",
            "7",
            "not a number",
        ] {
            let entries = || {
                MapDeserializer::<_, serde_json::Error>::new(
                    [(super::NUMBER_TOKEN, text)].into_iter(),
                )
            };
            let value = || Value::deserialize(entries());
            let content = || Content::deserialize(entries());
            // Not a number: the same error (with the feature) or a map.
            assert_eq!(
                content()
                    .map(Content::into_value)
                    .map_err(|e| e.to_string()),
                value().map_err(|e| e.to_string()),
                "{text}"
            );
            let (Ok(_), Ok(_)) = (content(), value()) else {
                continue;
            };
            let value = || value().unwrap();
            let content = || content().unwrap();
            reads_as_value::<Value>(content(), value(), text);
            reads_as_value::<f64>(content(), value(), text);
            reads_as_value::<u64>(content(), value(), text);
            reads_as_value::<i32>(content(), value(), text);
            reads_as_value::<u128>(content(), value(), text);
            reads_as_value::<Option<f32>>(content(), value(), text);
            reads_as_value::<BTreeMap<String, String>>(content(), value(), text);
        }
    }

    #[test]
    fn only_a_map_whose_first_property_is_the_number_token_is_a_number() {
        use serde::de::Deserializer as _;
        use serde::de::value::{Error, MapDeserializer};
        use serde_json::json;
        let read = |on: fn() -> bool, entries: &[(&'static str, &'static str)]| {
            MapDeserializer::<_, Error>::new(entries.iter().copied())
                .deserialize_any(super::ContentVisitor {
                    numbers_as_maps: on,
                })
                .map(Content::into_value)
                .unwrap()
        };
        let token = super::NUMBER_TOKEN;
        assert_eq!(read(|| true, &[(token, "7")]), json!(7));
        assert_eq!(read(|| false, &[(token, "7")]), json!({ token: "7" }));
        assert_eq!(
            read(|| true, &[("a", "1"), (token, "7")]),
            json!({"a": "1", token: "7"})
        );
        assert_eq!(read(|| true, &[("a", "7")]), json!({"a": "7"}));
    }

    #[test]
    fn arbitrary_precision_is_told_by_whether_a_number_beyond_f64_parses() {
        // The crate's own build leaves the feature off; the copy in
        // xtask/tests/arbitrary_precision.rs turns it on and sets this.
        let expected = std::env::var_os("ATLAS_EXPECT_ARBITRARY_PRECISION").is_some();
        assert_eq!(super::arbitrary_precision(), expected);
    }

    #[test]
    fn a_buffered_string_is_borrowed_from_the_input_where_it_can_be() {
        let content: Content<'_> = serde_json::from_str(r#"["plain", "esc\"aped"]"#).unwrap();
        let Content::Seq(items) = content else {
            panic!("not a sequence")
        };
        assert!(matches!(
            &items[0],
            Content::Str(std::borrow::Cow::Borrowed("plain"))
        ));
        assert!(matches!(&items[1], Content::Str(std::borrow::Cow::Owned(s)) if s == "esc\"aped"));
    }
}
