//! JSON pointers (RFC 6901) into an OpenAPI document, and the names they are
//! built from: written once here for the generator and for `xtask`.

/// The HTTP methods a path item may hold operations for (OpenAPI 3.0).
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The pointer of the named schemas' object; a schema's pointer is this,
/// `/`, and its escaped name ([`schema`]).
pub const SCHEMAS: &str = "/components/schemas";

/// Escapes one JSON pointer token (RFC 6901).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Undoes [`escape`].
pub fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The pointer a local `$ref` (`#/...`) designates.
pub fn ref_pointer(reference: &str) -> Option<&str> {
    reference.strip_prefix('#')
}

/// The pointer of the schema named `name` under `/components/schemas`.
pub fn schema(name: &str) -> String {
    format!("{SCHEMAS}/{}", escape(name))
}

/// A local `$ref` to the schema named `name`.
pub fn schema_ref(name: &str) -> String {
    format!("#{}", schema(name))
}

/// The name of the schema a local `$ref` designates, unescaped; `None` for
/// a reference to anything but a named schema.
pub fn schema_name(reference: &str) -> Option<String> {
    named_schema(ref_pointer(reference)?)
}

/// The name of the schema `pointer` designates, unescaped, when it is a
/// named schema itself (not a part of one).
pub fn named_schema(pointer: &str) -> Option<String> {
    let token = pointer.strip_prefix(SCHEMAS)?.strip_prefix('/')?;
    (!token.contains('/')).then(|| unescape(token))
}

/// The pointer of the path item for the API path `path`.
pub fn path_item(path: &str) -> String {
    format!("/paths/{}", escape(path))
}

/// The pointer of the operation `method` (one of [`METHODS`]) of `path`.
pub fn operation(path: &str, method: &str) -> String {
    format!("{}/{}", path_item(path), escape(method))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_pointers_escape_and_round_trip() {
        assert_eq!(escape("a/b~c"), "a~1b~0c");
        assert_eq!(unescape("a~1b~0c"), "a/b~c");
        // `~01` is `~1` escaped, not `/`.
        assert_eq!(unescape("~01"), "~1");
        assert_eq!(schema("a/b"), "/components/schemas/a~1b");
        assert_eq!(schema_ref("X"), "#/components/schemas/X");
        assert_eq!(
            schema_name("#/components/schemas/a~1b").as_deref(),
            Some("a/b")
        );
        assert_eq!(schema_name("#/components/schemas/A/properties/x"), None);
        assert_eq!(schema_name("#/components/responses/A"), None);
        assert_eq!(schema_name("/components/schemas/A"), None);
        assert_eq!(ref_pointer("other.json#/x"), None);
        assert_eq!(
            named_schema("/components/schemas/a~1b").as_deref(),
            Some("a/b")
        );
        assert_eq!(named_schema("/components/schemas/A/oneOf/0"), None);
        assert_eq!(operation("/a/{b}", "post"), "/paths/~1a~1{b}/post");
    }
}
