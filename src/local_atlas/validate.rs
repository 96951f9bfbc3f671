//! Checking a request body against the spec, and removing what a response
//! must not carry, by walking the spec's schemas generically: `$ref`,
//! `allOf`, `oneOf` (by its discriminator mapping, or else by exactly one
//! match), `type`, `nullable`, `enum`, `pattern`, `properties`,
//! `additionalProperties` and `items`.
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

/// Adds a violation of the value at `path` (`body` for the whole body).
fn push(out: &mut Vec<Violation>, path: &str, description: String) {
    out.push(Violation {
        field: if path.is_empty() {
            "body".into()
        } else {
            path.into()
        },
        description,
    });
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

impl<'a> Schemas<'a> {
    /// A walker over `root`, an OpenAPI document.
    pub fn new(root: &'a Value) -> Self {
        Self { root }
    }

    /// The request body schema of the operation at `path` and `method`, with
    /// the media types its successful response is served in.
    pub fn operation(&self, path: &str, method: &str) -> Option<(&'a Value, Vec<String>)> {
        let op = self.root.get("paths")?.get(path)?.get(method)?;
        let content = op.get("requestBody")?.get("content")?.as_object()?;
        let schema = content.values().find_map(|c| c.get("schema"))?;
        let served = op
            .get("responses")
            .and_then(|r| r.get("200").or_else(|| r.get("201")))
            .and_then(|r| r.get("content"))
            .and_then(Value::as_object)
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default();
        Some((schema, served))
    }

    /// Follows `$ref`s to a schema.
    fn resolve(&self, mut schema: &'a Value) -> Option<&'a Value> {
        for _ in 0..MAX_DEPTH {
            match schema.get("$ref").and_then(Value::as_str) {
                None => return Some(schema),
                Some(reference) => {
                    schema = self.root.pointer(reference.strip_prefix('#')?)?;
                }
            }
        }
        None
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
        if ctx.depth > MAX_DEPTH {
            return push(out, path, "is nested too deeply".into());
        }
        let Some(schema) = self.resolve(schema) else {
            return push(out, path, "has a schema this server cannot resolve".into());
        };
        if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        // A union: pick the variant.
        if let Some(one_of) = schema.get("oneOf").and_then(Value::as_array)
            && !ctx.dispatching.iter().any(|s| std::ptr::eq(*s, schema))
        {
            let mut next = ctx.deeper();
            next.dispatching.push(schema);
            if let Some(discriminator) = schema.get("discriminator") {
                let property = discriminator
                    .get("propertyName")
                    .and_then(Value::as_str)
                    .unwrap_or("type");
                let field = join(path, property);
                let Some(object) = value.as_object() else {
                    return push(
                        out,
                        path,
                        format!("must be an object, not {}", type_name(value)),
                    );
                };
                let mapping = discriminator.get("mapping").and_then(Value::as_object);
                let kinds = || {
                    mapping
                        .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default()
                };
                let tag = match object.get(property) {
                    Some(Value::String(tag)) => tag,
                    None => {
                        out.push(Violation {
                            field,
                            description: format!("is required; one of {}", kinds()),
                        });
                        return;
                    }
                    Some(other) => {
                        out.push(Violation {
                            field,
                            description: format!("must be a string, not {}", type_name(other)),
                        });
                        return;
                    }
                };
                let target = mapping.and_then(|m| m.get(tag)).and_then(Value::as_str);
                let target = target.and_then(|r| self.root.pointer(r.strip_prefix('#')?));
                let Some(target) = target else {
                    out.push(Violation {
                        field,
                        description: format!("unknown kind `{tag}`; expected one of {}", kinds()),
                    });
                    return;
                };
                next.decided.push(field);
                self.check_at(target, value, path, &next, out);
                return;
            }
            let matching: Vec<Vec<Violation>> = one_of
                .iter()
                .map(|variant| {
                    let mut v = Vec::new();
                    self.check_at(variant, value, path, &next, &mut v);
                    v
                })
                .collect();
            match matching.iter().filter(|v| v.is_empty()).count() {
                1 => {}
                0 => out.extend(matching.into_iter().next().unwrap_or_default()),
                _ => push(
                    out,
                    path,
                    "matches more than one of its alternatives".into(),
                ),
            }
            return;
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.check_at(part, value, path, &ctx.deeper(), out);
        }
        if let Some(expected) = schema.get("type").and_then(Value::as_str) {
            let ok = match expected {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "boolean" => value.is_boolean(),
                "number" => value.is_number(),
                "integer" => {
                    value.is_i64()
                        || value.is_u64()
                        || value.as_f64().is_some_and(|f| f.fract() == 0.0)
                }
                _ => true,
            };
            if !ok {
                let article = if expected.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                return push(
                    out,
                    path,
                    format!("must be {article} {expected}, not {}", type_name(value)),
                );
            }
        }
        let decided = ctx.decided.iter().any(|d| d == path);
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !decided
            && !allowed.contains(value)
        {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            return push(out, path, format!("must be one of {}", list.join(", ")));
        }
        if let (Some(pattern), Some(text)) = (
            schema.get("pattern").and_then(Value::as_str),
            value.as_str(),
        ) {
            match regress::Regex::new(pattern) {
                Ok(regex) if regex.find(text).is_none() => {
                    return push(out, path, format!("must match `{pattern}`"));
                }
                _ => {}
            }
        }
        if let Some(items) = schema.get("items")
            && let Some(array) = value.as_array()
        {
            for (i, item) in array.iter().enumerate() {
                self.check_at(items, item, &format!("{path}[{i}]"), &ctx.deeper(), out);
            }
        }
        let Some(object) = value.as_object() else {
            return;
        };
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, property) in properties.into_iter().flatten() {
            let field = join(path, name);
            let Some(member) = object.get(name) else {
                continue;
            };
            if ctx.decided.contains(&field) || self.flag(property, "readOnly") {
                continue;
            }
            self.check_at(property, member, &field, &ctx.deeper(), out);
        }
        let listed = |name: &str| properties.is_some_and(|p| p.contains_key(name));
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => {
                for name in object.keys().filter(|n| !listed(n)) {
                    out.push(Violation {
                        field: join(path, name),
                        description: "is not an attribute of this object".into(),
                    });
                }
            }
            Some(extra @ Value::Object(_)) => {
                for (name, member) in object.iter().filter(|(n, _)| !listed(n)) {
                    self.check_at(extra, member, &join(path, name), &ctx.deeper(), out);
                }
            }
            _ => {}
        }
    }

    /// Whether `schema`, or the schema it refers to, sets `flag: true`.
    fn flag(&self, schema: &'a Value, flag: &str) -> bool {
        let set = |s: &Value| s.get(flag) == Some(&Value::Bool(true));
        set(schema) || self.resolve(schema).is_some_and(set)
    }

    /// Removes the `readOnly` properties of a (valid) request body.
    pub fn strip_read_only(&self, schema: &'a Value, value: &mut Value) {
        self.strip(schema, value, Mode::StripReadOnly, &Context::default());
    }

    /// Removes the `writeOnly` properties of a response body.
    pub fn strip_write_only(&self, schema: &'a Value, value: &mut Value) {
        self.strip(schema, value, Mode::StripWriteOnly, &Context::default());
    }

    fn strip(&self, schema: &'a Value, value: &mut Value, mode: Mode, ctx: &Context<'a>) {
        if ctx.depth > MAX_DEPTH {
            return;
        }
        let Some(schema) = self.resolve(schema) else {
            return;
        };
        if let Some(one_of) = schema.get("oneOf").and_then(Value::as_array)
            && !ctx.dispatching.iter().any(|s| std::ptr::eq(*s, schema))
        {
            let mut next = ctx.deeper();
            next.dispatching.push(schema);
            let variant = match schema.get("discriminator") {
                Some(discriminator) => {
                    let property = discriminator
                        .get("propertyName")
                        .and_then(Value::as_str)
                        .unwrap_or("type");
                    let tag = value.get(property).and_then(Value::as_str);
                    let mapping = discriminator.get("mapping");
                    tag.and_then(|t| mapping?.get(t)?.as_str())
                        .and_then(|r| self.root.pointer(r.strip_prefix('#')?))
                }
                None => one_of.iter().find(|v| self.check(v, value).is_empty()),
            };
            if let Some(variant) = variant {
                self.strip(variant, value, mode, &next);
            }
            return;
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.strip(part, value, mode, &ctx.deeper());
        }
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array_mut()) {
            for item in array {
                self.strip(items, item, mode, &ctx.deeper());
            }
        }
        let Some(object) = value.as_object_mut() else {
            return;
        };
        let properties = schema.get("properties").and_then(Value::as_object);
        let flag = match mode {
            Mode::StripReadOnly => "readOnly",
            Mode::StripWriteOnly => "writeOnly",
        };
        for (name, property) in properties.into_iter().flatten() {
            if self.flag(property, flag) {
                object.remove(name);
            } else if let Some(member) = object.get_mut(name) {
                self.strip(property, member, mode, &ctx.deeper());
            }
        }
        if let Some(extra @ Value::Object(_)) = schema.get("additionalProperties") {
            let listed = |name: &str| properties.is_some_and(|p| p.contains_key(name));
            let names: Vec<String> = object.keys().filter(|n| !listed(n)).cloned().collect();
            for name in names {
                if let Some(member) = object.get_mut(&name) {
                    self.strip(extra, member, mode, &ctx.deeper());
                }
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
