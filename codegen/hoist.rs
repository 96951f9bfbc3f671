//! Names for the discriminated unions and string enums the spec writes
//! inline.
//!
//! A discriminated `oneOf` or a string `enum` may sit anywhere: as a
//! component schema, or inline in a property (an authentication block that
//! is one of two kinds, a networking type), an array item, a request body.
//! Only named ones can become this crate's open enums, so every inline one is
//! moved to `components/schemas` under the name typify would give it in place
//! (its `title`, else `StreamsKafkaConnection` + `authentication` →
//! `StreamsKafkaConnectionAuthentication`), and referenced from where it was;
//! the same enum written out in several places becomes one schema.
//! Likewise an inline member of a union whose tag property is a one-value
//! `enum` is named `<Union><Tag>` and added to the mapping.

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

use super::Error;
use super::discriminator::{self, is_union};
use super::pointer::{self, escape, unescape};
use super::schema_walk::{for_each_schema_mut, named_schemas, reference};

/// Hoists every inline discriminated `oneOf`, and every inline member of one
/// that declares its tag, into named component schemas.
pub fn hoist_unions(doc: &mut Value) -> Result<(), Error> {
    hoist_where(doc, |schema, _| is_union(schema))?;
    name_inline_members(doc)
}

/// Hoists the inline string `enum`s of the unions' own properties (not the
/// tag), before the unions are flattened: every kind inherits the property,
/// and so shares one type (`StreamsConnectionState`), instead of a copy per
/// kind named after it.
pub fn hoist_union_base_enums(doc: &mut Value) -> Result<(), Error> {
    let (bases, _) = union_properties(doc)?;
    hoist_where(doc, |schema, pointer| {
        is_string_enum(schema) && bases.contains(pointer)
    })
}

/// The pointers of the unions' own properties, split into `(the others,
/// the tags)`. A union's tags are its own and, for a union that is a kind of
/// another, those of the unions above it, which it may declare too (with an
/// `enum` of the kinds above it).
fn union_properties(doc: &mut Value) -> Result<(BTreeSet<String>, BTreeSet<String>), Error> {
    let unions = unions_anywhere(doc)?;
    let (mut others, mut tag_sites) = (BTreeSet::new(), BTreeSet::new());
    for union in &unions {
        let above = discriminator::ancestors(
            &unions,
            &union.pointer,
            |u| u.pointer.as_str(),
            |u, member| u.members.iter().any(|m| m == member),
        );
        let tags: Vec<&str> = std::iter::once(union.tag.as_str())
            .chain(above.iter().map(|u| u.tag.as_str()))
            .collect();
        for tag in &tags {
            tag_sites.insert(format!("{}/properties/{}", union.pointer, escape(tag)));
        }
        for name in union
            .properties
            .iter()
            .filter(|n| !tags.contains(&n.as_str()))
        {
            others.insert(format!("{}/properties/{}", union.pointer, escape(name)));
        }
    }
    Ok((others, tag_sites))
}

/// A discriminated union wherever it is written, as [`union_properties`]
/// needs it.
struct UnionSite {
    pointer: String,
    tag: String,
    /// The names of its own properties.
    properties: Vec<String>,
    /// The pointers its `oneOf` members refer to.
    members: Vec<String>,
}

/// Every discriminated union of `doc`, inline ones too.
fn unions_anywhere(doc: &mut Value) -> Result<Vec<UnionSite>, Error> {
    let mut unions = Vec::new();
    for_each_schema_mut(doc, &mut |pointer, schema| {
        if is_union(schema)
            && let Some(tag) = discriminator::tag_property(schema)
        {
            let properties = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            let members = schema
                .get("oneOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(reference)
                .filter_map(pointer::ref_pointer)
                .map(str::to_owned)
                .collect();
            unions.push(UnionSite {
                pointer: pointer.to_owned(),
                tag: tag.to_owned(),
                properties,
                members,
            });
        }
        Ok(())
    })?;
    Ok(unions)
}

/// Hoists every inline string `enum` into a named component schema. Run
/// after the unions are flattened, which removes the kinds' own tag
/// properties; a union's tag property is the union's business (its kinds
/// are the variants), so its enum is not a type of its own.
pub fn hoist_enums(doc: &mut Value) -> Result<(), Error> {
    let (_, mut tags) = union_properties(doc)?;
    // A discriminator without `oneOf` (a parent whose kinds name it) has a
    // tag too.
    for_each_schema_mut(doc, &mut |pointer, schema| {
        if let Some(tag) = discriminator::tag_property(schema) {
            tags.insert(format!("{pointer}/properties/{}", escape(tag)));
        }
        Ok(())
    })?;
    hoist_where(doc, |schema, pointer| {
        is_string_enum(schema) && !tags.contains(pointer)
    })
}

/// Moves every schema that is not a component and satisfies `wanted` to a
/// component, named by its `title` or its place.
fn hoist_where(
    doc: &mut Value,
    wanted: impl Fn(&Map<String, Value>, &str) -> bool,
) -> Result<(), Error> {
    // A hoisted schema may hold another inline one: repeat until none is
    // left (each round empties at least one place, so this ends).
    loop {
        let mut found: Vec<(String, Map<String, Value>)> = Vec::new();
        for_each_schema_mut(doc, &mut |pointer, schema| {
            if !is_component(pointer) && wanted(schema, pointer) {
                found.push((pointer.to_owned(), std::mem::take(schema)));
            }
            Ok(())
        })?;
        if found.is_empty() {
            return Ok(());
        }
        for (pointer, schema) in found {
            // A title that another schema has taken gives way to the name of
            // the place: a number would depend on which came first, and
            // shift when a later release adds a namesake before it.
            let by_place = name_for(doc, &pointer);
            // Compared as `place` will store it: without what stays at the
            // site (a `readOnly` here and not there is the same type).
            let mut stored = schema.clone();
            for key in SITE_KEYWORDS.into_iter().filter(|k| *k != "description") {
                stored.remove(key);
            }
            // A member of a `oneOf`/`anyOf`/`allOf` has no place of its own:
            // its place name is the composition's, which typify gives the
            // composition itself (a type inside itself).
            let own_place = !matches!(
                pointer.rsplit('/').nth(1),
                Some("oneOf" | "anyOf" | "allOf")
            );
            let preferred = match schema.get("title").and_then(Value::as_str) {
                Some(title) if fits(doc, &title.to_upper_camel_case(), &stored) => {
                    title.to_upper_camel_case()
                }
                Some(title) if !own_place || !fits(doc, &by_place, &stored) => {
                    title.to_upper_camel_case()
                }
                _ => by_place,
            };
            place(doc, &pointer, &preferred, schema, true)?;
        }
    }
}

/// `type: string` with an `enum` of strings only.
pub fn is_string_enum(schema: &Map<String, Value>) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("string")
        && schema
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|values| !values.is_empty() && values.iter().all(Value::is_string))
}

/// A top-level component schema (`/components/schemas/<name>`).
fn is_component(pointer: &str) -> bool {
    pointer::named_schema(pointer).is_some()
}

/// Keywords that describe the place where a schema is used: they stay there
/// when the schema moves (the description is also kept on the schema).
const SITE_KEYWORDS: [&str; 4] = ["description", "deprecated", "nullable", "readOnly"];

/// Puts `schema` under `components/schemas/<preferred>` (or the first free
/// variation of that name, unless an identical schema already has it) and a
/// reference to it at `pointer`, and returns the name. With `keep_site`, the
/// site keeps its own annotations around
/// the reference (a one-member `allOf`, which typify reads as the referenced
/// type), so a field stays documented, deprecated or nullable.
fn place(
    doc: &mut Value,
    pointer: &str,
    preferred: &str,
    mut schema: Map<String, Value>,
    keep_site: bool,
) -> Result<String, Error> {
    let mut site = Map::new();
    for key in SITE_KEYWORDS.into_iter().filter(|_| keep_site) {
        let value = if key == "description" {
            schema.get(key).cloned()
        } else {
            schema.remove(key)
        };
        if let Some(value) = value {
            site.insert(key.to_owned(), value);
        }
    }
    let name = if is_same(doc, preferred, &schema) {
        preferred.to_owned()
    } else {
        free_name(doc, preferred)
    };
    let reference = json!({ "$ref": pointer::schema_ref(&name) });
    let components = doc
        .as_object_mut()
        .ok_or_else(|| Error::at("", "the document is not an object"))?
        .entry("components")
        .or_insert_with(|| json!({}));
    let schemas = components
        .as_object_mut()
        .ok_or_else(|| Error::at("/components", "must be an object"))?
        .entry("schemas")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| Error::at(pointer::SCHEMAS, "must be an object"))?;
    schemas.insert(name.clone(), Value::Object(schema));
    let slot = doc
        .pointer_mut(pointer)
        .ok_or_else(|| Error::at(pointer, "vanished while being named"))?;
    *slot = if site.is_empty() {
        reference
    } else {
        site.insert("allOf".to_owned(), json!([reference]));
        Value::Object(site)
    };
    Ok(name)
}

/// Whether the component `name` is `schema` (its description aside).
fn is_same(doc: &Value, name: &str, schema: &Map<String, Value>) -> bool {
    let without_description = |s: &Map<String, Value>| {
        let mut s = s.clone();
        s.remove("description");
        s
    };
    matches!(
        doc.pointer(&pointer::schema(name)),
        Some(Value::Object(same)) if without_description(same) == without_description(schema)
    )
}

/// Whether `schema` may be named `name`: it is free, or `schema` has it.
fn fits(doc: &Value, name: &str, schema: &Map<String, Value>) -> bool {
    is_same(doc, name, schema) || free_name(doc, name) == name
}

/// `name`, or `name2`, `name3`... if a schema has it already, or has a name
/// typify would turn into the same Rust name.
fn free_name(doc: &Value, name: &str) -> String {
    let existing: Vec<String> = named_schemas(doc)
        .map(|(key, _)| key.to_upper_camel_case())
        .collect();
    let taken = |n: &str| existing.contains(&n.to_upper_camel_case());
    if !taken(name) {
        return name.to_owned();
    }
    (2..)
        .map(|i| format!("{name}{i}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| name.to_owned())
}

/// The name typify would give the schema at `pointer`: its owner's name
/// followed by the property names on the way (`items` → `Item`,
/// `additionalProperties` → `Value`); `allOf`/`oneOf`/`anyOf` positions add
/// nothing.
fn name_for(doc: &Value, pointer: &str) -> String {
    let tokens: Vec<String> = pointer.split('/').skip(1).map(unescape).collect();
    let (mut name, rest) = match tokens.as_slice() {
        [c, s, schema, rest @ ..] if c == "components" && s == "schemas" => {
            (schema.to_upper_camel_case(), rest)
        }
        [p, path, method, rest @ ..] if p == "paths" => {
            let op = doc
                .pointer(&pointer::operation(path, method))
                .and_then(|op| {
                    op.get("operationId")
                        .or_else(|| op.get("x-xgen-operation-id-override"))
                })
                .and_then(Value::as_str)
                .unwrap_or(method);
            let role = match rest.first().map(String::as_str) {
                Some("requestBody") => "Body",
                Some("responses") => "Response",
                _ => "Parameter",
            };
            (format!("{}{role}", op.to_upper_camel_case()), rest)
        }
        _ => ("Inline".to_owned(), &tokens[..0]),
    };
    let mut it = rest.iter();
    while let Some(token) = it.next() {
        match token.as_str() {
            "properties" => {
                if let Some(property) = it.next() {
                    name.push_str(&property.to_upper_camel_case());
                }
            }
            "items" => name.push_str("Item"),
            "additionalProperties" => name.push_str("Value"),
            _ => {}
        }
    }
    name
}

/// Names the inline members of component unions that say their tag with a
/// one-value `enum` on the tag property, and maps the tag to them.
fn name_inline_members(doc: &mut Value) -> Result<(), Error> {
    let unions: Vec<String> = named_schemas(doc)
        .filter(|(_, s)| s.as_object().is_some_and(is_union))
        .map(|(name, _)| name.clone())
        .collect();
    for union in unions {
        let union_ptr = pointer::schema(&union);
        let Some(schema) = doc.pointer(&union_ptr).and_then(Value::as_object) else {
            continue;
        };
        let tag_property = discriminator::tag_property(schema)
            .unwrap_or_default()
            .to_owned();
        let members = schema
            .get("oneOf")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, member) in members.iter().enumerate() {
            let Some(member) = member.as_object() else {
                continue;
            };
            if member.contains_key("$ref") {
                continue;
            }
            // Without a declared tag the member stays inline, and the union
            // generator reports it with its pointer.
            if let Some(tag) = declared_tag(member, &tag_property) {
                name_member(doc, &union, i, member, tag)?;
            }
        }
    }
    Ok(())
}

/// Names the inline member `i` of the named union `union`, which declares
/// `tag`, `<Union><Tag>`, and maps `tag` to it.
fn name_member(
    doc: &mut Value,
    union: &str,
    i: usize,
    member: &Map<String, Value>,
    tag: String,
) -> Result<(), Error> {
    let union_ptr = pointer::schema(union);
    let member_ptr = format!("{union_ptr}/oneOf/{i}");
    let mapped = format!("{union_ptr}/discriminator/mapping/{}", escape(&tag));
    if doc.pointer(&mapped).is_some() {
        return Err(Error::at(
            member_ptr,
            format!("declares the tag `{tag}`, which the mapping gives to another member"),
        ));
    }
    let preferred = format!(
        "{}{}",
        union.to_upper_camel_case(),
        tag.to_upper_camel_case()
    );
    let name = place(doc, &member_ptr, &preferred, member.clone(), false)?;
    let mapping = doc
        .pointer_mut(&format!("{union_ptr}/discriminator"))
        .and_then(Value::as_object_mut)
        .map(|d| d.entry("mapping").or_insert_with(|| json!({})));
    if let Some(Value::Object(mapping)) = mapping {
        mapping.insert(tag, json!(pointer::schema_ref(&name)));
    }
    Ok(())
}

/// The tag a member declares: `properties.<tag>.enum == [one value]`.
fn declared_tag(member: &Map<String, Value>, tag_property: &str) -> Option<String> {
    let values = member
        .get("properties")?
        .get(tag_property)?
        .get("enum")?
        .as_array()?;
    match values.as_slice() {
        [Value::String(tag)] => Some(tag.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A document whose only schemas are `A` (an object) and `extra`.
    fn with_schemas(extra: Value) -> Value {
        let mut schemas = json!({"A": {"type": "object"}});
        for (name, schema) in extra.as_object().into_iter().flatten() {
            schemas[name] = schema.clone();
        }
        json!({"openapi": "3.0.1", "paths": {}, "components": {"schemas": schemas}})
    }

    fn union(members: Value) -> Value {
        json!({
            "type": "object",
            "oneOf": members,
            "discriminator": {"propertyName": "kind", "mapping": {"A": "#/components/schemas/A"}}
        })
    }

    #[test]
    fn an_inline_union_is_named_after_where_it_was_and_referenced_from_there() {
        let mut doc = json!({
            "openapi": "3.0.1",
            "paths": {"/x": {"post": {
                "operationId": "createThing",
                "requestBody": {"content": {"application/json": {"schema":
                    union(json!([{"$ref": "#/components/schemas/A"}]))}}}
            }}},
            "components": {"schemas": {
                "A": {"type": "object", "properties": {"kind": {"type": "string"}}},
                "Owner": {"allOf": [{"type": "object", "properties": {
                    "auth": union(json!([{"$ref": "#/components/schemas/A"}])),
                    "list": {"type": "array", "items":
                        union(json!([{"$ref": "#/components/schemas/A"}]))}
                }}]},
                "OwnerAuth": {"description": "already taken"}
            }}
        });
        hoist_unions(&mut doc).unwrap();
        let at = |p: &str| doc.pointer(p).cloned().unwrap_or(Value::Null);
        assert_eq!(
            at("/components/schemas/Owner/allOf/0/properties/auth/$ref"),
            json!("#/components/schemas/OwnerAuth2"),
            "a taken name gets a number"
        );
        assert_eq!(
            at("/components/schemas/Owner/allOf/0/properties/list/items/$ref"),
            json!("#/components/schemas/OwnerListItem")
        );
        assert_eq!(
            at("/paths/~1x/post/requestBody/content/application~1json/schema/$ref"),
            json!("#/components/schemas/CreateThingBody")
        );
        for name in ["OwnerAuth2", "OwnerListItem", "CreateThingBody"] {
            let hoisted = at(&format!("/components/schemas/{name}"));
            assert!(hoisted.get("discriminator").is_some(), "{name}: {hoisted}");
        }
        assert_eq!(
            at("/components/schemas/OwnerAuth"),
            json!({"description": "already taken"})
        );
    }

    #[test]
    fn an_inline_member_with_a_declared_tag_is_named_and_mapped() {
        let mut doc = with_schemas(json!({"U": union(json!([
            {"$ref": "#/components/schemas/A"},
            {"type": "object", "properties": {"kind": {"type": "string", "enum": ["b-side"]}}},
            {"type": "object", "properties": {"kind": {"type": "string"}}}
        ]))}));
        hoist_unions(&mut doc).unwrap();
        assert_eq!(
            doc.pointer("/components/schemas/U/oneOf/1/$ref"),
            Some(&json!("#/components/schemas/UBSide"))
        );
        assert_eq!(
            doc.pointer("/components/schemas/U/discriminator/mapping/b-side"),
            Some(&json!("#/components/schemas/UBSide"))
        );
        assert!(
            doc.pointer("/components/schemas/U/oneOf/2/$ref").is_none(),
            "a member without a declared tag stays inline (and is reported later)"
        );
    }

    #[test]
    fn the_site_keeps_its_annotations_and_a_taken_tag_is_an_error() {
        let mut inline = union(json!([{"$ref": "#/components/schemas/A"}]));
        inline["description"] = json!("How.");
        inline["deprecated"] = json!(true);
        inline["nullable"] = json!(true);
        let mut doc =
            with_schemas(json!({"Owner": {"type": "object", "properties": {"auth": inline}}}));
        hoist_unions(&mut doc).unwrap();
        assert_eq!(
            doc.pointer("/components/schemas/Owner/properties/auth"),
            Some(&json!({
                "description": "How.", "deprecated": true, "nullable": true,
                "allOf": [{"$ref": "#/components/schemas/OwnerAuth"}]
            }))
        );
        let hoisted = &doc["components"]["schemas"]["OwnerAuth"];
        assert!(hoisted.get("deprecated").is_none() && hoisted.get("nullable").is_none());

        let mut doc = with_schemas(json!({"U": union(json!([
            {"$ref": "#/components/schemas/A"},
            {"type": "object", "properties": {"kind": {"type": "string", "enum": ["A"]}}}
        ]))}));
        let err = hoist_unions(&mut doc).unwrap_err().to_string();
        assert!(
            err.contains("/components/schemas/U/oneOf/1") && err.contains("`A`"),
            "{err}"
        );
    }

    #[test]
    fn inline_string_enums_are_named_by_title_once_and_tags_stay_inline() {
        let kind = json!({"type": "string", "title": "Access Kind", "enum": ["A", "B"]});
        let mut doc = with_schemas(json!({
            "One": {"type": "object", "properties": {"access": kind.clone()}},
            "Two": {"type": "object", "properties": {"access": kind, "mode":
                {"type": "string", "enum": ["x"]}}},
            "U": {"type": "object", "properties": {"kind": {"type": "string", "enum": ["A"]}},
                  "oneOf": [{"$ref": "#/components/schemas/A"}],
                  "discriminator": {"propertyName": "kind"}}
        }));
        hoist_enums(&mut doc).unwrap();
        let at = |p: &str| doc.pointer(p).cloned().unwrap_or(Value::Null);
        let access = json!({"$ref": "#/components/schemas/AccessKind"});
        assert_eq!(at("/components/schemas/One/properties/access"), access);
        assert_eq!(
            at("/components/schemas/Two/properties/access"),
            access,
            "one schema for both"
        );
        assert_eq!(
            at("/components/schemas/Two/properties/mode"),
            json!({"$ref": "#/components/schemas/TwoMode"})
        );
        assert!(at("/components/schemas/AccessKind2").is_null());
        assert_eq!(
            at("/components/schemas/U/properties/kind"),
            json!({"type": "string", "enum": ["A"]}),
            "a union's tag property is not a type of its own"
        );
    }
}
