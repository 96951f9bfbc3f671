//! What may be a secret is never shown.
//!
//! The rule, for every type of this crate: a write-only field is a
//! [`SecretString`](crate::SecretString), and a free-form map (the spec's
//! `additionalProperties`: a webhook's `headers`, a Kafka `config` with its
//! `sasl.jaas.config`, and the `extra` map of properties a newer server
//! sent) shows its **keys, never its values**: in `Debug`, and in
//! [`redacted_json`], the form to print or log. An [`UnknownKind`]
//! (crate::UnknownKind) shows its kind and keys the same way.
//!
//! The build gives every generated struct with such a field a `Debug` that
//! goes through [`Keys`] and a `serialize_with` of [`serialize`], which
//! only changes anything inside [`redacted_json`].

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// What a redacted value is shown as.
pub const REDACTED: &str = "[redacted]";

thread_local! {
    static REDACTING: Cell<bool> = const { Cell::new(false) };
    static MARKING_WRITE_ONLY: Cell<bool> = const { Cell::new(false) };
}

/// `value` as JSON with every secret replaced by `"[redacted]"`: write-only
/// fields, the values (not the keys) of free-form maps, and every property
/// of an unknown kind but its tag. For printing and logging; the wire form
/// is `serde_json::to_value`.
///
/// # Errors
///
/// When `serde_json::to_value` would fail: a `Serialize` implementation
/// that fails, or a map whose keys are not strings. Never for this crate's
/// types, whose maps are keyed by strings.
///
/// # Examples
///
/// ```
/// use atlas_stream_connections::{redacted_json, types};
///
/// let webhook = types::StreamsHttpsConnection {
///     url: Some("https://example.com/hook".into()),
///     headers: [("Authorization".to_owned(), "Bearer s3cr3t".to_owned())].into(),
///     ..Default::default()
/// };
/// let shown = redacted_json(&webhook).unwrap();
/// assert_eq!(shown["headers"]["Authorization"], "[redacted]");
/// assert_eq!(shown["url"], "https://example.com/hook");
/// ```
pub fn redacted_json<T: Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
    // Serialising is synchronous, so the flag stays on this thread's call.
    crate::decode::while_set(&REDACTING, || serde_json::to_value(value))
}

/// Whether [`redacted_json`] is serialising.
pub(crate) fn is_redacting() -> bool {
    REDACTING.with(Cell::get)
}

/// `value` as JSON with its write-only fields (the spec's `writeOnly`,
/// which are [`SecretString`](crate::SecretString)s, never returned by
/// Atlas) as `"[redacted]"`, and nothing else changed: what tells them
/// from the values of free-form maps, which [`redacted_json`] hides too.
pub(crate) fn write_only_marked_json<T: Serialize + ?Sized>(
    value: &T,
) -> Result<Value, serde_json::Error> {
    crate::decode::while_set(&MARKING_WRITE_ONLY, || serde_json::to_value(value))
}

/// Whether a write-only field is to be written as `"[redacted]"`.
pub(crate) fn hides_write_only() -> bool {
    is_redacting() || MARKING_WRITE_ONLY.with(Cell::get)
}

/// Something whose values may be secrets: it can show its shape without
/// them.
pub(crate) trait MayHoldSecrets {
    /// Writes the keys (of a map), the elements' shapes (of a list), or
    /// `[redacted]`.
    fn fmt_redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    /// Serialises the same shape: keys kept, values `"[redacted]"`.
    fn serialize_redacted<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
}

/// A value shown as `[redacted]`.
struct Hidden;

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

fn fmt_keys<'a, K: fmt::Debug + 'a>(
    keys: impl Iterator<Item = &'a K>,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    f.debug_map().entries(keys.map(|k| (k, Hidden))).finish()
}

fn serialize_keys<'a, K: Serialize + 'a, S: Serializer>(
    keys: impl ExactSizeIterator<Item = &'a K>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(keys.len()))?;
    for key in keys {
        map.serialize_entry(key, REDACTED)?;
    }
    map.end()
}

impl<K: fmt::Debug + Serialize, V> MayHoldSecrets for BTreeMap<K, V> {
    fn fmt_redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_keys(self.keys(), f)
    }
    fn serialize_redacted<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_keys(self.keys(), serializer)
    }
}

impl<K: fmt::Debug + Serialize, V, H> MayHoldSecrets for HashMap<K, V, H> {
    fn fmt_redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_keys(self.keys(), f)
    }
    fn serialize_redacted<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_keys(self.keys(), serializer)
    }
}

impl MayHoldSecrets for Map<String, Value> {
    fn fmt_redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_keys(self.keys(), f)
    }
    fn serialize_redacted<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_keys(self.keys(), serializer)
    }
}

impl MayHoldSecrets for Value {
    fn fmt_redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Object(map) => map.fmt_redacted(f),
            Value::Array(items) => items.fmt_redacted(f),
            _ => f.write_str(REDACTED),
        }
    }
    fn serialize_redacted<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Object(map) => map.serialize_redacted(serializer),
            Value::Array(items) => items.serialize_redacted(serializer),
            _ => serializer.serialize_str(REDACTED),
        }
    }
}

impl<T: MayHoldSecrets> MayHoldSecrets for Option<T> {
    fn fmt_redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Some(value) => {
                f.write_str("Some(")?;
                value.fmt_redacted(f)?;
                f.write_str(")")
            }
            None => f.write_str("None"),
        }
    }
    fn serialize_redacted<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(value) => value.serialize_redacted(serializer),
            None => serializer.serialize_none(),
        }
    }
}

impl<T: MayHoldSecrets> MayHoldSecrets for Vec<T> {
    fn fmt_redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(Keys)).finish()
    }
    fn serialize_redacted<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for item in self {
            seq.serialize_element(&Redacted(item))?;
        }
        seq.end()
    }
}

impl<T: MayHoldSecrets> MayHoldSecrets for Box<T> {
    fn fmt_redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt_redacted(f)
    }
    fn serialize_redacted<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize_redacted(serializer)
    }
}

/// `Debug` of a field that may hold secrets: its keys, not its values.
pub(crate) struct Keys<'a, T: ?Sized>(pub &'a T);

impl<T: MayHoldSecrets + ?Sized> fmt::Debug for Keys<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_redacted(f)
    }
}

struct Redacted<'a, T>(&'a T);

impl<T: MayHoldSecrets> Serialize for Redacted<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_redacted(serializer)
    }
}

/// `serialize_with` of a field that may hold secrets: the wire form, except
/// inside [`redacted_json`].
pub(crate) fn serialize<T, S>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    T: MayHoldSecrets + Serialize,
    S: Serializer,
{
    if is_redacting() {
        value.serialize_redacted(serializer)
    } else {
        value.serialize(serializer)
    }
}

/// A field that may hold secrets, serialised by [`serialize`] (the
/// generated impls' `serialize_with`, as a value to write).
pub(crate) struct Redactable<'a, T>(pub &'a T);

impl<T: MayHoldSecrets + Serialize> Serialize for Redactable<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(self.0, serializer)
    }
}

/// Writes the properties of a generated struct's `extra` map into the map
/// being serialised (they go after its fields, as a flattened map would):
/// as they are, or inside [`redacted_json`] with `"[redacted]"` values.
pub(crate) fn serialize_entries<M: SerializeMap>(
    extra: &Map<String, Value>,
    map: &mut M,
) -> Result<(), M::Error> {
    if extra.is_empty() {
        return Ok(());
    }
    let redacting = is_redacting();
    for (key, value) in extra {
        match redacting {
            true => map.serialize_entry(key, REDACTED)?,
            false => map.serialize_entry(key, value)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde_json::{Value, json};

    use super::{Keys, MayHoldSecrets, Redacted, redacted_json};

    fn shown<T: MayHoldSecrets>(value: &T) -> String {
        format!("{:?}", Keys(value))
    }

    fn serialized<T: MayHoldSecrets>(value: &T) -> Value {
        serde_json::to_value(Redacted(value)).unwrap()
    }

    #[test]
    fn every_map_shows_its_keys_and_hides_its_values() {
        let btree: BTreeMap<String, String> = [("k".into(), "secret".into())].into();
        let hash: HashMap<String, String> = [("k".into(), "secret".into())].into();
        let object = json!({"k": "secret"});
        let map = object.as_object().unwrap().clone();
        for text in [shown(&btree), shown(&hash), shown(&map), shown(&object)] {
            assert_eq!(text, r#"{"k": [redacted]}"#);
        }
        for value in [
            serialized(&btree),
            serialized(&hash),
            serialized(&map),
            serialized(&object),
        ] {
            assert_eq!(value, json!({"k": "[redacted]"}));
        }
    }

    #[test]
    fn lists_options_boxes_and_scalars_keep_their_shape_without_values() {
        let list = json!([{"a": 1}, "secret", 2]);
        assert_eq!(
            shown(&list),
            r#"[{"a": [redacted]}, [redacted], [redacted]]"#
        );
        assert_eq!(
            serialized(&list),
            json!([{"a": "[redacted]"}, "[redacted]", "[redacted]"])
        );
        assert_eq!(shown(&json!("secret")), "[redacted]");
        assert_eq!(serialized(&json!(42)), json!("[redacted]"));

        let maps: Vec<BTreeMap<String, u8>> = vec![[("a".into(), 1)].into(), BTreeMap::new()];
        assert_eq!(shown(&maps), r#"[{"a": [redacted]}, {}]"#);
        assert_eq!(serialized(&maps), json!([{"a": "[redacted]"}, {}]));

        let some: Option<Box<Value>> = Some(Box::new(json!({"b": true})));
        assert_eq!(shown(&some), r#"Some({"b": [redacted]})"#);
        assert_eq!(serialized(&some), json!({"b": "[redacted]"}));
        let none: Option<Value> = None;
        assert_eq!(shown(&none), "None");
        assert_eq!(serialized(&none), Value::Null);
    }

    #[test]
    fn only_redacted_json_redacts_and_it_restores_the_wire_form() {
        #[derive(serde::Serialize)]
        struct Holder {
            #[serde(serialize_with = "super::serialize")]
            map: BTreeMap<String, String>,
        }
        let holder = Holder {
            map: [("k".into(), "v".into())].into(),
        };
        assert_eq!(
            serde_json::to_value(&holder).unwrap(),
            json!({"map": {"k": "v"}})
        );
        assert_eq!(
            redacted_json(&holder).unwrap(),
            json!({"map": {"k": "[redacted]"}})
        );
        assert_eq!(
            serde_json::to_value(&holder).unwrap(),
            json!({"map": {"k": "v"}})
        );
    }
}
