//! Checking a request body against the spec, and removing what a response
//! must not carry, by walking the spec's schemas generically: `$ref`,
//! `allOf`, `oneOf` (by its discriminator mapping, or else by exactly one
//! match), `type`, `nullable`, `enum`, `pattern`, `properties`,
//! `additionalProperties` and `items`.
//!
//! One walker decides where a walk goes ([`Schemas::node`] follows `$ref`s
//! and picks a union's variant; [`Schemas::members`] lists the array items
//! and object members a schema has something to say about); checking and
//! stripping only say what they do at each place.
//!
//! A discriminated union's variants name the union itself in their `allOf`
//! (as `StreamsConnection`'s do); while a value is being checked as one
//! variant, the union contributes its properties but is not dispatched
//! again, and its discriminator property is not checked against the union's
//! `enum` (the mapping, which may list more kinds, already decided it).

use serde_json::{Map, Value};

/// Deepest `$ref`/schema nesting followed; deeper is reported, not walked.
const MAX_DEPTH: usize = 64;

/// One rejected field: its dotted path and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub field: String,
    pub description: String,
}

impl Violation {
    /// A violation of the value at `path` (`body` for the whole body).
    fn at(path: &str, description: String) -> Self {
        Self {
            field: if path.is_empty() {
                "body".into()
            } else {
                path.into()
            },
            description,
        }
    }
}

/// A walker over the spec document.
pub(crate) struct Schemas<'a> {
    root: &'a Value,
}

/// What the walk is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Remove `readOnly` properties (a request's).
    StripReadOnly,
    /// Remove `writeOnly` properties (a response's).
    StripWriteOnly,
}

impl Mode {
    /// The flag of the properties removed.
    fn flag(self) -> &'static str {
        match self {
            Self::StripReadOnly => "readOnly",
            Self::StripWriteOnly => "writeOnly",
        }
    }
}

/// The unions being dispatched and the discriminator fields already decided.
#[derive(Default, Clone)]
struct Context<'a> {
    dispatching: Vec<&'a Value>,
    decided: Vec<String>,
    depth: usize,
}

impl<'a> Context<'a> {
    fn deeper(&self) -> Self {
        let mut next = self.clone();
        next.depth += 1;
        next
    }
}

/// Where the walk goes from one schema and value, its `$ref`s followed.
enum Node<'a> {
    /// The walk stops here: checking reports why, stripping leaves the value.
    Stop(Violation),
    /// `null` where the schema allows it: nothing to walk.
    Null,
    /// The variant of a discriminated union the value names, to walk in the
    /// context given (the union being dispatched, its discriminator decided).
    Variant(&'a Value, Context<'a>),
    /// A union without discriminator: the value must match exactly one of
    /// these, walked in the context given.
    Alternatives(&'a [Value], Context<'a>),
    /// Any other schema: its own keywords, `allOf` parts and members.
    Schema(&'a Value),
}

/// A part of an array or object value that a schema has a sub-schema for.
enum Member<'a> {
    /// An item, by its index, and the `items` schema.
    Item(usize, &'a Value),
    /// A member listed in `properties`, with its schema.
    Property(&'a str, &'a Value),
    /// A member not listed, with the `additionalProperties` schema.
    Extra(String, &'a Value),
    /// A member not listed where `additionalProperties` is `false`.
    Unlisted(String),
}

impl<'a> Member<'a> {
    /// The dotted path of the member of the value at `path`.
    fn path(&self, path: &str) -> String {
        match self {
            Self::Item(i, _) => format!("{path}[{i}]"),
            Self::Property(name, _) => join(path, name),
            Self::Extra(name, _) | Self::Unlisted(name) => join(path, name),
        }
    }

    /// The schema to walk the member with (`None` for [`Member::Unlisted`]).
    fn schema(&self) -> Option<&'a Value> {
        match self {
            Self::Item(_, s) | Self::Property(_, s) | Self::Extra(_, s) => Some(s),
            Self::Unlisted(_) => None,
        }
    }

    /// The member in `value`, if it is still there.
    fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match self {
            Self::Item(i, _) => value.get(*i),
            Self::Property(name, _) => value.get(name),
            Self::Extra(name, _) | Self::Unlisted(name) => value.get(name),
        }
    }

    /// The same, to change it.
    fn get_mut<'v>(&self, value: &'v mut Value) -> Option<&'v mut Value> {
        match self {
            Self::Item(i, _) => value.get_mut(*i),
            Self::Property(name, _) => value.get_mut(name),
            Self::Extra(name, _) | Self::Unlisted(name) => value.get_mut(name),
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `allOf` parts of `schema`, each walked on the same value.
fn parts(schema: &Value) -> impl Iterator<Item = &Value> {
    schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Why `value` is not of the schema's `type`, if it is not.
fn check_type(schema: &Value, value: &Value) -> Option<String> {
    let expected = schema.get("type").and_then(Value::as_str)?;
    let ok = match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => true,
    };
    if ok {
        return None;
    }
    let article = if expected.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    Some(format!(
        "must be {article} {expected}, not {}",
        type_name(value)
    ))
}

/// Why `value` is outside the schema's `enum`, if it is.
fn check_enum(schema: &Value, value: &Value) -> Option<String> {
    let allowed = schema.get("enum").and_then(Value::as_array)?;
    if allowed.contains(value) {
        return None;
    }
    let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
    Some(format!("must be one of {}", list.join(", ")))
}

/// Why a string does not match the schema's `pattern`, if it does not (a
/// pattern that does not compile is not held against the value).
fn check_pattern(schema: &Value, value: &Value) -> Option<String> {
    let pattern = schema.get("pattern").and_then(Value::as_str)?;
    let text = value.as_str()?;
    let regex = regress::Regex::new(pattern).ok()?;
    regex
        .find(text)
        .is_none()
        .then(|| format!("must match `{pattern}`"))
}

impl<'a> Schemas<'a> {
    /// A walker over `root`, an OpenAPI document.
    pub fn new(root: &'a Value) -> Self {
        Self { root }
    }

    /// The request body schemas of the operation at `path` and `method`, one
    /// per media type (API version) it takes.
    pub fn request_schemas(&self, path: &str, method: &str) -> Vec<&'a Value> {
        self.request_content(path, method)
            .into_iter()
            .flat_map(|content| content.values())
            .filter_map(|media| media.get("schema"))
            .collect()
    }

    /// The request body schema of the operation at `path` and `method` in
    /// `media_type`.
    pub fn request_schema(&self, path: &str, method: &str, media_type: &str) -> Option<&'a Value> {
        self.request_content(path, method)?
            .get(media_type)?
            .get("schema")
    }

    /// The operation's `requestBody.content`: media types to their schemas.
    fn request_content(&self, path: &str, method: &str) -> Option<&'a Map<String, Value>> {
        let op = self.root.get("paths")?.get(path)?.get(method)?;
        op.get("requestBody")?.get("content")?.as_object()
    }

    /// Follows `$ref`s to a schema.
    fn resolve(&self, mut schema: &'a Value) -> Option<&'a Value> {
        for _ in 0..MAX_DEPTH {
            match schema.get("$ref").and_then(Value::as_str) {
                None => return Some(schema),
                Some(reference) => {
                    schema = self.pointer(reference)?;
                }
            }
        }
        None
    }

    /// The schema a local reference (`#/components/...`) points to.
    fn pointer(&self, reference: &str) -> Option<&'a Value> {
        self.root.pointer(reference.strip_prefix('#')?)
    }

    /// Whether `schema`, or the schema it refers to, sets `flag: true`.
    fn flag(&self, schema: &'a Value, flag: &str) -> bool {
        let set = |s: &Value| s.get(flag) == Some(&Value::Bool(true));
        set(schema) || self.resolve(schema).is_some_and(set)
    }

    /// Where the walk of `value` (at `path`) by `schema` goes: the one place
    /// that follows `$ref`s, bounds the depth and dispatches unions.
    fn node(&self, schema: &'a Value, value: &Value, path: &str, ctx: &Context<'a>) -> Node<'a> {
        if ctx.depth > MAX_DEPTH {
            return Node::Stop(Violation::at(path, "is nested too deeply".into()));
        }
        let Some(schema) = self.resolve(schema) else {
            let why = "has a schema this server cannot resolve";
            return Node::Stop(Violation::at(path, why.into()));
        };
        if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return Node::Null;
        }
        let Some(one_of) = schema.get("oneOf").and_then(Value::as_array) else {
            return Node::Schema(schema);
        };
        if ctx.dispatching.iter().any(|s| std::ptr::eq(*s, schema)) {
            return Node::Schema(schema);
        }
        let mut next = ctx.deeper();
        next.dispatching.push(schema);
        let Some(discriminator) = schema.get("discriminator") else {
            return Node::Alternatives(one_of, next);
        };
        match self.dispatch(discriminator, value, path) {
            Ok((variant, field)) => {
                next.decided.push(field);
                Node::Variant(variant, next)
            }
            Err(violation) => Node::Stop(violation),
        }
    }

    /// The variant `discriminator` maps `value` (at `path`) to, with the
    /// discriminator's field; or why there is none.
    fn dispatch(
        &self,
        discriminator: &'a Value,
        value: &Value,
        path: &str,
    ) -> Result<(&'a Value, String), Violation> {
        let property = discriminator
            .get("propertyName")
            .and_then(Value::as_str)
            .unwrap_or("type");
        let field = join(path, property);
        let Some(object) = value.as_object() else {
            let why = format!("must be an object, not {}", type_name(value));
            return Err(Violation::at(path, why));
        };
        let mapping = discriminator.get("mapping").and_then(Value::as_object);
        let kinds = || {
            mapping
                .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        };
        let refuse = |description| {
            Err(Violation {
                field: field.clone(),
                description,
            })
        };
        let tag = match object.get(property) {
            Some(Value::String(tag)) => tag,
            None => return refuse(format!("is required; one of {}", kinds())),
            Some(other) => return refuse(format!("must be a string, not {}", type_name(other))),
        };
        let target = mapping.and_then(|m| m.get(tag)).and_then(Value::as_str);
        match target.and_then(|r| self.pointer(r)) {
            Some(variant) => Ok((variant, field)),
            None => refuse(format!("unknown kind `{tag}`; expected one of {}", kinds())),
        }
    }

    /// The items and members of `value` that `schema` has a sub-schema for,
    /// or (with `additionalProperties: false`) forbids, in the order checked.
    fn members(&self, schema: &'a Value, value: &Value) -> Vec<Member<'a>> {
        let mut out = Vec::new();
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
            out.extend((0..array.len()).map(|i| Member::Item(i, items)));
        }
        let Some(object) = value.as_object() else {
            return out;
        };
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, property) in properties.into_iter().flatten() {
            if object.contains_key(name) {
                out.push(Member::Property(name, property));
            }
        }
        let listed = |name: &str| properties.is_some_and(|p| p.contains_key(name));
        let unlisted = object.keys().filter(|n| !listed(n)).cloned();
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => out.extend(unlisted.map(Member::Unlisted)),
            Some(extra @ Value::Object(_)) => out.extend(unlisted.map(|n| Member::Extra(n, extra))),
            _ => {}
        }
        out
    }

    /// Every violation of `schema` by `value`.
    pub fn check(&self, schema: &'a Value, value: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        self.check_at(schema, value, "", &Context::default(), &mut out);
        out
    }

    fn check_at(
        &self,
        schema: &'a Value,
        value: &Value,
        path: &str,
        ctx: &Context<'a>,
        out: &mut Vec<Violation>,
    ) {
        match self.node(schema, value, path, ctx) {
            Node::Stop(violation) => out.push(violation),
            Node::Null => {}
            Node::Variant(variant, next) => self.check_at(variant, value, path, &next, out),
            Node::Alternatives(one_of, next) => {
                self.check_alternatives(one_of, value, path, &next, out);
            }
            Node::Schema(schema) => self.check_schema(schema, value, path, ctx, out),
        }
    }

    /// A union without discriminator: the violations of the first
    /// alternative when none matches.
    fn check_alternatives(
        &self,
        one_of: &'a [Value],
        value: &Value,
        path: &str,
        ctx: &Context<'a>,
        out: &mut Vec<Violation>,
    ) {
        let matching: Vec<Vec<Violation>> = one_of
            .iter()
            .map(|variant| {
                let mut v = Vec::new();
                self.check_at(variant, value, path, ctx, &mut v);
                v
            })
            .collect();
        match matching.iter().filter(|v| v.is_empty()).count() {
            1 => {}
            0 => out.extend(matching.into_iter().next().unwrap_or_default()),
            _ => out.push(Violation::at(
                path,
                "matches more than one of its alternatives".into(),
            )),
        }
    }

    /// A resolved schema that is no union to dispatch: its `allOf` parts,
    /// then its own keywords, then (when those hold) its members.
    fn check_schema(
        &self,
        schema: &'a Value,
        value: &Value,
        path: &str,
        ctx: &Context<'a>,
        out: &mut Vec<Violation>,
    ) {
        for part in parts(schema) {
            self.check_at(part, value, path, &ctx.deeper(), out);
        }
        // The discriminator's value was checked by the mapping.
        let decided = ctx.decided.iter().any(|d| d == path);
        let refused = check_type(schema, value)
            .or_else(|| check_enum(schema, value).filter(|_| !decided))
            .or_else(|| check_pattern(schema, value));
        if let Some(why) = refused {
            return out.push(Violation::at(path, why));
        }
        for member in self.members(schema, value) {
            let field = member.path(path);
            let ignored = match member {
                Member::Unlisted(_) => {
                    let why = "is not an attribute of this object".into();
                    out.push(Violation {
                        field,
                        description: why,
                    });
                    continue;
                }
                // Read-only members are the server's to set: not checked.
                Member::Property(_, property) => {
                    ctx.decided.contains(&field) || self.flag(property, "readOnly")
                }
                Member::Item(..) | Member::Extra(..) => false,
            };
            if let (false, Some(schema), Some(member_value)) =
                (ignored, member.schema(), member.get(value))
            {
                self.check_at(schema, member_value, &field, &ctx.deeper(), out);
            }
        }
    }

    /// Removes the `readOnly` properties of a (valid) request body.
    pub fn strip_read_only(&self, schema: &'a Value, value: &mut Value) {
        self.strip(schema, value, "", Mode::StripReadOnly, &Context::default());
    }

    /// Removes the `writeOnly` properties of a response body.
    pub fn strip_write_only(&self, schema: &'a Value, value: &mut Value) {
        self.strip(schema, value, "", Mode::StripWriteOnly, &Context::default());
    }

    fn strip(
        &self,
        schema: &'a Value,
        value: &mut Value,
        path: &str,
        mode: Mode,
        ctx: &Context<'a>,
    ) {
        match self.node(schema, value, path, ctx) {
            Node::Stop(_) | Node::Null => {}
            Node::Variant(variant, next) => self.strip(variant, value, path, mode, &next),
            Node::Alternatives(one_of, next) => {
                // The first alternative the value matches (checked afresh).
                if let Some(variant) = one_of.iter().find(|v| self.check(v, value).is_empty()) {
                    self.strip(variant, value, path, mode, &next);
                }
            }
            Node::Schema(schema) => self.strip_schema(schema, value, path, mode, ctx),
        }
    }

    /// A resolved schema that is no union to dispatch: its `allOf` parts,
    /// then its members, flagged properties removed.
    fn strip_schema(
        &self,
        schema: &'a Value,
        value: &mut Value,
        path: &str,
        mode: Mode,
        ctx: &Context<'a>,
    ) {
        for part in parts(schema) {
            self.strip(part, value, path, mode, &ctx.deeper());
        }
        for member in self.members(schema, value) {
            if let Member::Property(name, property) = member
                && self.flag(property, mode.flag())
            {
                if let Some(object) = value.as_object_mut() {
                    object.remove(name);
                }
                continue;
            }
            let field = member.path(path);
            if let (Some(member_schema), Some(member_value)) =
                (member.schema(), member.get_mut(value))
            {
                self.strip(member_schema, member_value, &field, mode, &ctx.deeper());
            }
        }
    }
}

/// A JSON object from `(name, value)` pairs.
pub(crate) fn object(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<_, _>>(),
    )
}

/// Puts back into `into` the members of `full` that `kept` lacks (those a
/// strip removed from `full` to give `kept`: the write-only ones), wherever
/// `into` has the object that held them but not the member itself. So an
/// update that omits a password keeps the stored one, and one that sends a
/// new password, or drops the whole `authentication`, does not.
pub(crate) fn restore_removed(full: &Value, kept: &Value, into: &mut Value) {
    match (full, kept, into) {
        (Value::Object(full), Value::Object(kept), Value::Object(into)) => {
            for (name, value) in full {
                match kept.get(name) {
                    None => {
                        into.entry(name.clone()).or_insert_with(|| value.clone());
                    }
                    Some(kept) => {
                        if let Some(into) = into.get_mut(name) {
                            restore_removed(value, kept, into);
                        }
                    }
                }
            }
        }
        // Items are matched by position, only while the list is the same
        // length as stored.
        (Value::Array(full), Value::Array(kept), Value::Array(into))
            if full.len() == kept.len() && full.len() == into.len() =>
        {
            for ((full, kept), into) in full.iter().zip(kept).zip(into) {
                restore_removed(full, kept, into);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod restore_tests {
    use serde_json::json;

    use super::restore_removed;

    #[test]
    fn members_stripped_and_omitted_come_back_and_no_others() {
        let full = json!({"name": "k", "authentication": {"username": "u", "password": "p"},
            "security": {"protocol": "SSL", "sslKey": "s"}});
        let kept = json!({"name": "k", "authentication": {"username": "u"},
            "security": {"protocol": "SSL"}, "links": []});
        let mut into = json!({"name": "k", "authentication": {"username": "v"},
            "security": {"protocol": "SSL", "sslKey": "new"}});
        restore_removed(&full, &kept, &mut into);
        assert_eq!(
            into,
            json!({"name": "k", "authentication": {"username": "v", "password": "p"},
                "security": {"protocol": "SSL", "sslKey": "new"}})
        );
        let mut dropped = json!({"name": "k"});
        restore_removed(&full, &kept, &mut dropped);
        assert_eq!(
            dropped,
            json!({"name": "k"}),
            "no authentication, no password"
        );
    }
}
