//! [`UnknownKind`]: what a discriminated union decodes into when the server
//! sends a kind this version of the crate does not know.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

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
