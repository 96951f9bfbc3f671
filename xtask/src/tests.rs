//! Tests of the extraction and of build.rs's generator on evolved and broken
//! specs, all derived from the vendored fragment so they need nothing else.

use serde_json::{Value, json};

use crate::{extract, generate, repo_root};

fn fragment() -> Value {
    let text = std::fs::read_to_string(repo_root().join("spec/openapi.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn generate_value(doc: &Value) -> Result<String, crate::codegen::Error> {
    generate(&serde_json::to_string(doc).unwrap())
}

fn expect_error(doc: &Value, pointer: &str, needle: &str) {
    let err = generate_value(doc).expect_err("the generator accepted a broken spec");
    assert_eq!(err.pointer, pointer, "{err}");
    assert!(err.message.contains(needle), "`{needle}` not in: {err}");
}

const UNION: &str = "/components/schemas/StreamsConnection";

#[test]
fn the_vendored_fragment_generates_the_expected_items() {
    let code = generate_value(&fragment()).unwrap();
    assert!(code.starts_with("// @generated"));
    for needle in [
        "pub enum StreamsConnection",
        "AwsLambda(StreamsAwsLambdaConnection)",
        "AwsKinesisDataStreams(StreamsAwsKinesisDataStreamsConnection)",
        "S3(StreamsS3Connection)",
        "Unknown(::atlas_stream_connections::UnknownKind)",
        "pub password: ::std::option::Option<::atlas_stream_connections::SecretString>",
        "pub async fn create_stream_connection",
        "version: \"2023-02-01\"",
    ] {
        assert!(code.contains(needle), "missing `{needle}`");
    }
    // The tag lives in the enum, not in the kinds' structs.
    let kafka = &code[code.find("pub struct StreamsKafkaConnection").unwrap()..];
    let kafka = &kafka[..kafka.find("\n    }\n").unwrap()];
    assert!(!kafka.contains("rename = \"type\""), "{kafka}");
}

#[test]
fn a_new_kind_in_the_spec_becomes_a_new_variant() {
    let mut doc = fragment();
    doc["components"]["schemas"]["StreamsSchemaRegistryConnection"] = json!({
        "allOf": [
            { "$ref": "#/components/schemas/StreamsConnection" },
            { "properties": { "schemaRegistryUrls": { "type": "array", "items": { "type": "string" } } },
              "type": "object" }
        ],
        "type": "object"
    });
    let union = &mut doc["components"]["schemas"]["StreamsConnection"];
    union["oneOf"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "$ref": "#/components/schemas/StreamsSchemaRegistryConnection" }));
    union["discriminator"]["mapping"]["SchemaRegistry"] =
        json!("#/components/schemas/StreamsSchemaRegistryConnection");
    let code = generate_value(&doc).unwrap();
    assert!(code.contains("SchemaRegistry(StreamsSchemaRegistryConnection)"));
    assert!(code.contains("pub schema_registry_urls"));
    assert!(
        code.contains("Kafka(StreamsKafkaConnection)"),
        "existing kinds stay"
    );
}

#[test]
fn a_kind_without_a_mapping_entry_is_tagged_by_its_schema_name() {
    let mut doc = fragment();
    doc["components"]["schemas"]["StreamsConnection"]["discriminator"]["mapping"]
        .as_object_mut()
        .unwrap()
        .shift_remove("Https");
    let code = generate_value(&doc).unwrap();
    assert!(code.contains("StreamsHttpsConnection(StreamsHttpsConnection)"));
    assert!(code.contains("\"StreamsHttpsConnection\" =>"));
}

#[test]
fn malformed_json_names_line_and_column() {
    let err = generate("{\"openapi\": \"3.0.1\",\n  \"paths\": {").unwrap_err();
    assert!(err.message.contains("line 2"), "{err}");
}

#[test]
fn a_spec_that_is_not_openapi_3_0_is_refused() {
    let mut doc = fragment();
    doc["openapi"] = json!("3.1.0");
    expect_error(&doc, "/openapi", "expected OpenAPI 3.0.x");
}

#[test]
fn a_structurally_invalid_spec_names_the_pointer() {
    let mut doc = fragment();
    doc["paths"]["/api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections"]["post"]["responses"] =
        json!(5);
    let err = generate_value(&doc).unwrap_err();
    assert!(err.pointer.starts_with("/paths/"), "{err}");
    assert!(err.pointer.contains("/post/responses"), "{err}");
}

#[test]
fn a_discriminator_without_property_name_is_refused() {
    let mut doc = fragment();
    doc["components"]["schemas"]["StreamsConnection"]["discriminator"]
        .as_object_mut()
        .unwrap()
        .shift_remove("propertyName");
    expect_error(
        &doc,
        &format!("{UNION}/discriminator/propertyName"),
        "propertyName",
    );
}

#[test]
fn an_inline_member_of_a_discriminated_union_is_refused_with_its_pointer() {
    let mut doc = fragment();
    doc["components"]["schemas"]["StreamsConnection"]["oneOf"][0] = json!({ "type": "object" });
    expect_error(&doc, &format!("{UNION}/oneOf/0"), "inline member");
}

#[test]
fn a_mapping_to_a_schema_outside_the_union_is_refused() {
    let mut doc = fragment();
    doc["components"]["schemas"]["StreamsConnection"]["discriminator"]["mapping"]["Link"] =
        json!("#/components/schemas/Link");
    expect_error(
        &doc,
        &format!("{UNION}/discriminator/mapping/Link"),
        "not one of the oneOf members",
    );
}

#[test]
fn a_dangling_member_reference_is_refused() {
    let mut doc = fragment();
    doc["components"]["schemas"]["StreamsConnection"]["oneOf"][1] =
        json!({ "$ref": "#/components/schemas/Nowhere" });
    expect_error(&doc, &format!("{UNION}/oneOf/1/$ref"), "dangling");
}

#[test]
fn a_composition_cycle_is_an_error_not_a_stack_overflow() {
    let mut doc = fragment();
    let schemas = &mut doc["components"]["schemas"];
    schemas["Loop1"] = json!({ "allOf": [{ "$ref": "#/components/schemas/Loop2" }] });
    schemas["Loop2"] = json!({ "allOf": [{ "$ref": "#/components/schemas/Loop1" }] });
    let err = generate_value(&doc).unwrap_err();
    assert!(err.message.contains("cycle"), "{err}");
    assert!(err.pointer.starts_with("/components/schemas/Loop"), "{err}");
}

#[test]
fn a_panic_inside_progenitor_becomes_an_error() {
    let mut doc = fragment();
    // progenitor meets a JSON response without a schema with `todo!()`.
    doc["paths"]["/api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections"]["post"]["responses"]["200"]["content"]
        ["application/vnd.atlas.2023-02-01+json"]
        .as_object_mut()
        .unwrap()
        .shift_remove("schema");
    let err = generate_value(&doc).unwrap_err();
    assert!(err.message.contains("progenitor"), "{err}");
}

#[test]
fn several_dated_versions_default_to_the_newest() {
    let mut doc = fragment();
    let op = &mut doc["paths"]["/api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections"]["post"];
    let body = op["requestBody"]["content"]["application/vnd.atlas.2023-02-01+json"].clone();
    op["requestBody"]["content"]["application/vnd.atlas.2025-03-12+json"] = body;
    let ok = op["responses"]["200"]["content"]["application/vnd.atlas.2023-02-01+json"].clone();
    op["responses"]["200"]["content"]["application/vnd.atlas.2025-03-12+json"] = ok;
    let code = generate_value(&doc).unwrap();
    assert!(
        code.contains("generated: ::std::option::Option::Some(\"2025-03-12\")"),
        "{code}"
    );
    assert!(code.contains("version: \"2023-02-01\""));
}

// ------------------------------------------------------------ extraction

fn upstream_like() -> Value {
    json!({
        "openapi": "3.0.1",
        "info": { "title": "t", "version": "2.0" },
        "paths": {
            "/a": {
                "get": { "operationId": "listA", "responses": { "200": { "description": "ok",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/A" } } } } } },
                "post": { "operationId": "createAInternal", "x-xgen-operation-id-override": "createA",
                    "responses": { "200": { "description": "ok",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/B" } } } } } }
            }
        },
        "components": { "schemas": {
            "A": { "type": "object" },
            "B": { "type": "object", "properties": { "c": { "$ref": "#/components/schemas/C" } } },
            "C": { "type": "string" },
            "Unused": { "type": "string" }
        } }
    })
}

#[test]
fn extraction_keeps_the_operation_and_its_closure_verbatim() {
    let doc = upstream_like();
    let fragment = extract::extract(&doc, &["createA".into()]).unwrap();
    let schemas: Vec<&String> = fragment["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(schemas, ["B", "C"]);
    assert!(fragment["paths"]["/a"].get("get").is_none());
    assert_eq!(fragment["paths"]["/a"]["post"], doc["paths"]["/a"]["post"]);
}

#[test]
fn extraction_refuses_an_unknown_operation() {
    let err = extract::extract(&upstream_like(), &["deleteEverything".into()]).unwrap_err();
    assert!(
        err.contains("unknown operation `deleteEverything`"),
        "{err}"
    );
}

#[test]
fn extraction_refuses_a_dangling_ref_with_its_pointer() {
    let mut doc = upstream_like();
    doc["components"]["schemas"]["B"]["properties"]["c"]["$ref"] =
        json!("#/components/schemas/Gone");
    let err = extract::extract(&doc, &["createA".into()]).unwrap_err();
    assert!(
        err.contains("/components/schemas/B/properties/c/$ref"),
        "{err}"
    );
    assert!(err.contains("dangling"), "{err}");
}

#[test]
fn extraction_refuses_what_is_not_openapi_3_0() {
    let mut doc = upstream_like();
    doc["openapi"] = json!("3.1.0");
    assert!(
        extract::extract(&doc, &["createA".into()])
            .unwrap_err()
            .contains("OpenAPI 3.0.x")
    );
}

#[test]
fn documents_that_are_neither_json_nor_yaml_are_refused() {
    let err =
        extract::parse_document(b"{ unbalanced: [", std::path::Path::new("x.yaml")).unwrap_err();
    assert!(err.contains("neither JSON"), "{err}");
    let err =
        extract::parse_document(b"- just\n- a list\n", std::path::Path::new("x.yaml")).unwrap_err();
    assert!(err.contains("not an object"), "{err}");
}
