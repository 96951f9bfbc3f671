//! Spec-evolution test: the crate, built against a spec that has changed in
//! every way the upstream spec has changed before, compiles without warnings,
//! keeps its existing API, and behaves.
//!
//! The evolution is applied to the shared upstream file
//! (`../shared/upstream/atlas-admin-v2-2025-10-22.yaml`, when it is beside
//! the repository, as in CI), and `cargo xtask regen` extracts the fragment
//! from the result, so extraction and generation are both exercised; without
//! the upstream file it is applied to spec/openapi.json, which `regen --check`
//! proves to be that file's extraction. It adds, in one document: a new
//! connection kind, an inline
//! discriminated `oneOf` in a variant (with `$ref` members and one inline
//! member), `nullable`, `required` inside an `allOf` member, a deprecated
//! property, a new value of a string enum, `format: uri`,
//! `uniqueItems`/`maxItems`, response headers and a
//! `429` by `$ref`, a removed field, a newer dated media type with the same
//! schema and a `preview` one with another. The whole crate (build.rs, the
//! generator, the handwritten layer) is copied beside it into
//! `target/evolution/` and built with cargo; `tests/evolution/behaviour.rs`
//! then runs inside it.
//!
//! Slow (a build of the crate), so ignored by default:
//! `cargo test -p xtask --test evolution -- --ignored` (CI runs it).

// A test crate: an unwrap that fails is a failed test (Cargo.toml).
#![allow(clippy::unwrap_used)]

mod support;

use std::ffi::OsStr;
use std::path::Path;

use serde_json::{Value, json};
use support::CrateCopy;
use support::pointer::{SCHEMAS, escape, schema, schema_ref};

fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("the vendored spec has no {pointer}"))
}

/// The pointer of the operation the crate serves.
fn operation() -> String {
    let path = "/api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections";
    format!("/paths/{}/post", escape(path))
}

/// The kinds' own properties (their second `allOf` member).
fn kafka() -> String {
    format!("{}/allOf/1", schema("StreamsKafkaConnection"))
}

fn https() -> String {
    format!("{}/allOf/1", schema("StreamsHttpsConnection"))
}

/// `doc` (the upstream spec or the vendored fragment) with every kind of
/// change applied.
fn evolve(mut doc: Value) -> Value {
    add_kind(&mut doc);
    add_nested_union(&mut doc);
    change_properties(&mut doc);
    add_rate_limit_answers(&mut doc);
    add_media_types(&mut doc);
    doc
}

/// A new kind.
fn add_kind(doc: &mut Value) {
    at(doc, SCHEMAS)["StreamsSchemaRegistryConnection"] = json!({
        "allOf": [
            {"$ref": schema_ref("StreamsConnection")},
            {"type": "object", "required": ["authType"], "properties": {
                "schemaRegistryUrls": {"type": "array", "items": {"type": "string"}},
                "authType": {"type": "string", "nullable": true}
            }}
        ],
        "type": "object"
    });
    let union = schema("StreamsConnection");
    at(doc, &format!("{union}/oneOf"))
        .as_array_mut()
        .unwrap()
        .push(json!({"$ref": schema_ref("StreamsSchemaRegistryConnection")}));
    at(doc, &format!("{union}/discriminator/mapping"))["SchemaRegistry"] =
        json!(schema_ref("StreamsSchemaRegistryConnection"));
}

/// A nested discriminated oneOf, inline in a variant's property.
fn add_nested_union(doc: &mut Value) {
    at(doc, SCHEMAS)["StreamsKafkaAuthPlain"] = json!({"type": "object", "properties": {
        "mechanism": {"type": "string"}, "username": {"type": "string"},
        "password": {"type": "string", "writeOnly": true}
    }});
    at(doc, SCHEMAS)["StreamsKafkaAuthOidc"] = json!({"type": "object", "properties": {
        "mechanism": {"type": "string"}, "clientId": {"type": "string"},
        "clientSecret": {"type": "string", "writeOnly": true}
    }});
    at(doc, &format!("{}/properties", kafka()))["authentication"] = json!({
        "description": "How to authenticate to the brokers.",
        "type": "object",
        "oneOf": [
            {"$ref": schema_ref("StreamsKafkaAuthPlain")},
            {"$ref": schema_ref("StreamsKafkaAuthOidc")},
            {"type": "object", "properties": {
                "mechanism": {"type": "string", "enum": ["SCRAM"]}, "user": {"type": "string"}
            }}
        ],
        "discriminator": {"propertyName": "mechanism", "mapping": {
            "PLAIN": schema_ref("StreamsKafkaAuthPlain"),
            "OAUTHBEARER": schema_ref("StreamsKafkaAuthOidc")
        }}
    });
}

/// nullable, a deprecated reference, formats and array constraints, a
/// removed field, a new value of an existing string enum, and `required`
/// inside an `allOf` member.
fn change_properties(doc: &mut Value) {
    let properties = at(doc, &format!("{}/properties", kafka()));
    properties["bootstrapServers"]["nullable"] = json!(true);
    properties["networking"]["deprecated"] = json!(true);
    properties["tags"] = json!({
        "type": "array", "items": {"type": "string"}, "uniqueItems": true, "maxItems": 5
    });
    properties.as_object_mut().unwrap().shift_remove("security");
    at(doc, &format!("{}/properties/url", https()))["format"] = json!("uri");
    at(
        doc,
        &format!(
            "{}/properties/type/enum",
            schema("StreamsKafkaNetworkingAccess")
        ),
    )
    .as_array_mut()
    .unwrap()
    .push(json!("PRIVATE_ENDPOINT"));
    at(doc, &https())["required"] = json!(["url"]);
}

/// Response headers and a 429, by $ref (added to what is there).
fn add_rate_limit_answers(doc: &mut Value) {
    at(doc, "/components")["headers"]["RateLimitLimit"] =
        json!({"description": "Requests allowed.", "schema": {"type": "integer"}});
    at(doc, "/components")["responses"]["tooManyRequests"] = json!({
        "description": "Too Many Requests.",
        "headers": {"Retry-After": {"$ref": "#/components/headers/RateLimitLimit"}},
        "content": {"application/json": {"schema": {"$ref": schema_ref("ApiError")}}}
    });
    let responses = at(doc, &format!("{}/responses", operation()));
    responses["429"] = json!({"$ref": "#/components/responses/tooManyRequests"});
    responses["200"]["headers"] = json!({
        "RateLimit-Limit": {"$ref": "#/components/headers/RateLimitLimit"}
    });
}

/// A newer dated version with the same schema, and a preview with another.
fn add_media_types(doc: &mut Value) {
    at(doc, SCHEMAS)["StreamsConnectionPreview"] =
        json!({"type": "object", "properties": {"name": {"type": "string"}}});
    for holder in ["requestBody", "responses/200"] {
        let content = at(doc, &format!("{}/{holder}/content", operation()));
        let current = content["application/vnd.atlas.2023-02-01+json"].clone();
        let mut newer = current.clone();
        newer["x-xgen-version"] = json!("2025-01-01");
        content["application/vnd.atlas.2025-01-01+json"] = newer;
        content["application/vnd.atlas.preview+json"] = json!({
            "schema": {"$ref": schema_ref("StreamsConnectionPreview")},
            "x-xgen-version": "preview"
        });
    }
}

/// Writes the evolved fragment into `spec_dir`: extracted by `cargo xtask
/// regen` from the evolved upstream file when there is one.
fn write_evolved_spec(root: &Path, spec_dir: &Path) {
    std::fs::create_dir_all(spec_dir).unwrap();
    // CI has the upstream file beside the repository: there, extraction
    // must be part of the test, not silently skipped.
    let Some(upstream) =
        support::required_in_ci(root.join(support::UPSTREAM), "evolving spec/openapi.json")
    else {
        let doc = evolve(support::vendored_spec());
        std::fs::write(
            spec_dir.join("openapi.json"),
            serde_json::to_string_pretty(&doc).unwrap(),
        )
        .unwrap();
        return;
    };
    let text = std::fs::read_to_string(&upstream).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&text).expect("the upstream file is YAML");
    let evolved = spec_dir.join("../../upstream-evolved.json");
    std::fs::write(&evolved, serde_json::to_string(&evolve(doc)).unwrap()).unwrap();
    let mut args = vec![
        OsStr::new("regen"),
        OsStr::new("--from"),
        evolved.as_os_str(),
    ];
    // The crate's operations, all of them: its handwritten layer calls each.
    let operations = support::crate_operations(root).join(",");
    args.push(OsStr::new("--ops"));
    args.push(OsStr::new(&operations));
    args.push(OsStr::new("--spec-dir"));
    args.push(spec_dir.as_os_str());
    let output = support::xtask(args);
    assert!(
        output.status.success(),
        "regen refuses the evolved upstream file: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A copy of the crate with the evolved spec, the behaviour tests and the
/// deprecation example. The library is under test; the `streams` command is
/// an application of it, written against today's types, which the evolved
/// spec changes on purpose (a removed field, an inline union).
fn evolved_crate() -> CrateCopy {
    let copy = CrateCopy::new("evolution", false);
    write_evolved_spec(&copy.root, &copy.dir.join("spec"));
    copy.add(
        Path::new("xtask/tests/evolution/behaviour.rs"),
        "tests/evolution.rs",
    );
    copy.add(
        Path::new("xtask/tests/evolution/uses_deprecated.rs"),
        "examples/uses_deprecated.rs",
    );
    copy
}

#[test]
#[ignore = "slow: builds the crate against an evolved spec; run with --ignored"]
fn the_crate_builds_and_behaves_against_an_evolved_spec() {
    let copy = evolved_crate();
    copy.build_warning_free(&["build", "--lib"], "the evolved spec");

    let (ok, out) = copy.cargo(&["test", "--test", "evolution"]);
    assert!(
        ok,
        "the behaviour tests fail against the evolved spec:\n{out}"
    );
    assert!(
        out.contains("test result: ok. 9 passed"),
        "not every behaviour test ran:\n{out}"
    );

    let (ok, out) = copy.cargo(&[
        "build",
        "--example",
        "uses_deprecated",
        "--message-format=short",
    ]);
    assert!(ok, "{out}");
    let warnings: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("use of deprecated field"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "exactly the deprecated field warns, once:\n{out}"
    );
    assert!(warnings[0].contains("networking"), "{out}");
}
