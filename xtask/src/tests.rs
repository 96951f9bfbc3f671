//! Tests of the extraction, of `regen` (from files and from a local HTTP
//! server) and of build.rs's generator on evolved and broken specs, all
//! derived from the vendored fragment so they need nothing else.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::source::Source;
use crate::{Outcome, RegenArgs, extract, generate, regen_in, repo_root};

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

/// Adds a `SchemaRegistry` kind to the StreamsConnection union of `doc`.
fn add_schema_registry_kind(doc: &mut Value) {
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
}

#[test]
fn a_new_kind_in_the_spec_becomes_a_new_variant() {
    let mut doc = fragment();
    add_schema_registry_kind(&mut doc);
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
    // Its tag on the wire (`kind()`, `KNOWN_KINDS`) is the schema's name.
    assert!(code.contains("=> \"StreamsHttpsConnection\""), "{code}");
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
    // progenitor meets `exclusiveMinimum` without `minimum` (in a schema
    // without `type`) with `todo!()`.
    doc["components"]["schemas"]["FieldViolation"]["properties"]["count"] =
        json!({ "exclusiveMinimum": true });
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

fn schema_names(fragment: &Value) -> Vec<&String> {
    fragment["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .collect()
}

#[test]
fn extraction_keeps_the_operation_and_its_closure_verbatim() {
    let doc = upstream_like();
    let fragment = extract::extract(&doc, &["createA".into()]).unwrap();
    let schemas = schema_names(&fragment);
    assert_eq!(schemas, ["B", "C"]);
    assert!(fragment["paths"]["/a"].get("get").is_none());
    assert_eq!(fragment["paths"]["/a"]["post"], doc["paths"]["/a"]["post"]);
}

#[test]
fn extraction_follows_discriminator_mappings_and_ignores_refs_in_examples() {
    let mut doc = upstream_like();
    doc["components"]["schemas"]["B"] = json!({
        "type": "object",
        "discriminator": { "propertyName": "kind",
            "mapping": { "x": "#/components/schemas/OnlyMapped", "y": "BareName" } },
        "example": { "$ref": "#/components/schemas/Unused" }
    });
    doc["components"]["schemas"]["OnlyMapped"] = json!({ "type": "object" });
    doc["components"]["schemas"]["BareName"] = json!({ "type": "object" });
    let fragment = extract::extract(&doc, &["createA".into()]).unwrap();
    let schemas = schema_names(&fragment);
    assert_eq!(schemas, ["B", "OnlyMapped", "BareName"]);
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
    let err = extract::parse_document(b"{ unbalanced: [").unwrap_err();
    assert!(err.starts_with("neither JSON nor YAML: as JSON: "), "{err}");
    let err = extract::parse_document(b"- just\n- a list\n").unwrap_err();
    assert_eq!(
        err,
        "not an OpenAPI document: the document is a list, not a mapping"
    );
}

#[test]
fn an_unknown_operation_gets_close_matches_suggested() {
    let err = extract::extract(&upstream_like(), &["creatA".into()]).unwrap_err();
    assert!(err.ends_with("; did you mean `createA`?"), "{err}");
    let err = extract::extract(&upstream_like(), &["somethingElse".into()]).unwrap_err();
    assert!(!err.contains("did you mean"), "{err}");
}

// ------------------------------------------------------------ regen

const OP: &str = "createStreamConnection";

/// The operations of spec/operations, whose extraction is spec/openapi.json.
const OPS: &[&str] = &[
    "createStreamConnection",
    "listStreamConnections",
    "getStreamConnection",
    "updateStreamConnection",
    "deleteStreamConnection",
];

/// A directory under the system's temp dir, unique to this test, removed on
/// drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-test-{}-{}-{name}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An upstream-like source built from the vendored fragment, with an
/// operation and a schema that the selection does not reach.
fn upstream_source() -> Value {
    let mut doc = fragment();
    doc["paths"]["/api/atlas/v2/groups/{groupId}/streams"] = json!({
        "get": { "operationId": "listGroupStreamWorkspaces", "tags": ["Streams"],
            "responses": { "200": { "description": "ok", "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/Unrelated" } } } } } }
    });
    doc["components"]["schemas"]["Unrelated"] = json!({ "type": "object" });
    doc
}

fn args(from: &str, ops: &[&str], check: bool) -> RegenArgs {
    RegenArgs {
        from: Source::parse(from).unwrap(),
        ops: Some(ops.iter().map(|s| s.to_string()).collect()),
        check,
        spec_dir: None,
    }
}

fn regen_file(dir: &Path, doc: &Value, ops: &[&str], check: bool) -> Result<Outcome, String> {
    let source = dir.join("upstream.json");
    std::fs::write(&source, extract::to_pretty_json(doc)).unwrap();
    regen_in(
        &dir.join("spec"),
        &args(source.to_str().unwrap(), ops, check),
    )
}

/// Every file under `dir` with its bytes, to show that nothing changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_default();
            (p.file_name().unwrap().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    out.sort();
    out
}

/// Serves one canned HTTP response on 127.0.0.1 and hands back the request.
fn serve_once(status: &str, body: Vec<u8>) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/yaml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    (base, handle)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn regen_writes_the_fragment_and_check_then_passes() {
    let tmp = TempDir::new("roundtrip");
    let outcome = regen_file(&tmp.0, &upstream_source(), OPS, false).unwrap();
    assert_eq!(
        outcome,
        Outcome::Wrote {
            operations: 5,
            schemas: 19
        }
    );
    let spec = tmp.0.join("spec");
    assert_eq!(
        read(&spec, "openapi.json"),
        extract::to_pretty_json(&fragment())
    );
    assert_eq!(
        regen_file(&tmp.0, &upstream_source(), OPS, true).unwrap(),
        Outcome::UpToDate
    );
    // Another source file with the same content: only the file name differs.
    let before = snapshot(&spec);
    let other = tmp.write("other.json", extract::to_pretty_json(&upstream_source()));
    assert_eq!(
        regen_in(&spec, &args(other.to_str().unwrap(), OPS, true)).unwrap(),
        Outcome::Stale(vec![
            "  only spec/provenance.json differs (spec/openapi.json and spec/operations are identical): source.file upstream.json -> other.json".into()
        ])
    );
    // A different file with the same fragment: only the sha256 differs.
    let mut doc = upstream_source();
    doc["components"]["schemas"]["Unrelated"]["description"] = json!("new upstream text");
    let lines = match regen_file(&tmp.0, &doc, OPS, true).unwrap() {
        Outcome::Stale(lines) => lines,
        other => panic!("{other:?}"),
    };
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("  only spec/provenance.json differs (spec/openapi.json and spec/operations are identical): source.sha256 "),
        "{lines:?}"
    );
    assert_eq!(snapshot(&spec), before, "--check wrote something");
}

#[test]
fn extraction_from_a_url_gives_the_same_bytes_as_from_the_file() {
    let tmp = TempDir::new("url");
    let text = serde_yaml_ng::to_string(&upstream_source()).unwrap();
    let file = tmp.write("upstream.yaml", &text);
    let by_file = tmp.0.join("by-file");
    let by_url = tmp.0.join("by-url");
    regen_in(&by_file, &args(file.to_str().unwrap(), OPS, false)).unwrap();

    let (base, server) = serve_once("200 OK", text.into_bytes());
    let url = format!("{base}/openapi/v2.yaml");
    regen_in(&by_url, &args(&url, OPS, false)).unwrap();
    let request = server.join().unwrap();
    assert!(
        request.starts_with("GET /openapi/v2.yaml HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("user-agent: atlas-stream-connections-xtask/"),
        "{request}"
    );

    for name in ["openapi.json", "operations"] {
        assert_eq!(read(&by_file, name), read(&by_url, name), "{name}");
    }
    let provenance =
        |dir: &Path| -> Value { serde_json::from_str(&read(dir, "provenance.json")).unwrap() };
    let (f, u) = (provenance(&by_file), provenance(&by_url));
    assert_eq!(f["source"]["sha256"], u["source"]["sha256"]);
    assert_eq!(f["source"]["file"], "upstream.yaml");
    assert_eq!(u["source"]["url"], url.as_str());
    assert!(u["source"].get("file").is_none());
}

/// Regenerates from `upstream_source()`, then checks against `evolved`.
fn check_summary(evolved: Value, ops: &[&str]) -> Vec<String> {
    let tmp = TempDir::new("check");
    regen_file(&tmp.0, &upstream_source(), OPS, false).unwrap();
    let before = snapshot(&tmp.0.join("spec"));
    let outcome = regen_file(&tmp.0, &evolved, ops, true).unwrap();
    assert_eq!(
        snapshot(&tmp.0.join("spec")),
        before,
        "--check wrote something"
    );
    match outcome {
        Outcome::Stale(lines) => lines,
        other => panic!("expected a stale spec, got {other:?}"),
    }
}

#[test]
fn check_names_an_added_kind() {
    let mut doc = upstream_source();
    add_schema_registry_kind(&mut doc);
    let lines = check_summary(doc, OPS);
    assert_eq!(lines[0], "  spec/openapi.json:");
    assert_eq!(
        lines[1],
        "    schemas added (1): StreamsSchemaRegistryConnection"
    );
    assert_eq!(
        lines[2],
        "    StreamsConnection: kinds added: SchemaRegistry"
    );
    assert!(
        lines[3].starts_with("  spec/provenance.json: source.sha256 "),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 4, "{lines:?}");
}

#[test]
fn check_names_a_removed_schema() {
    let mut doc = upstream_source();
    let union = &mut doc["components"]["schemas"]["StreamsConnection"];
    union["oneOf"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["$ref"] != "#/components/schemas/StreamsS3Connection");
    union["discriminator"]["mapping"]
        .as_object_mut()
        .unwrap()
        .shift_remove("S3");
    doc["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .shift_remove("StreamsS3Connection");
    let lines = check_summary(doc, OPS);
    assert_eq!(lines[1], "    schemas removed (1): StreamsS3Connection");
    assert_eq!(lines[2], "    StreamsConnection: kinds removed: S3");
}

#[test]
fn check_names_an_added_property() {
    let mut doc = upstream_source();
    doc["components"]["schemas"]["StreamsKafkaConnection"]["allOf"][1]["properties"]["schemaRegistry"] =
        json!({ "type": "string" });
    let lines = check_summary(doc, OPS);
    assert_eq!(
        lines[1],
        "    StreamsKafkaConnection: properties added: schemaRegistry"
    );
}

#[test]
fn check_names_an_added_operation_and_the_fix_keeps_ops() {
    let ops = [OPS, &["listGroupStreamWorkspaces"]].concat();
    let lines = check_summary(upstream_source(), &ops);
    assert_eq!(
        lines[1],
        "    operations added (1): GET /api/atlas/v2/groups/{groupId}/streams (listGroupStreamWorkspaces)"
    );
    assert_eq!(lines[2], "    schemas added (1): Unrelated");
    assert!(
        lines.contains(
            &"  spec/operations: operations added: listGroupStreamWorkspaces".to_string()
        ),
        "{lines:?}"
    );
    let a = args("/up stream.yaml", &ops, true);
    assert_eq!(
        a.fix(),
        "cargo xtask regen --from '/up stream.yaml' --ops createStreamConnection,listStreamConnections,\
         getStreamConnection,updateStreamConnection,deleteStreamConnection,listGroupStreamWorkspaces"
    );
}

/// Runs regen on a spec dir holding a previous extraction and expects the
/// one-line error `expected`, with nothing under spec/ changed.
fn expect_regen_error(from: &str, ops: &[&str], expected: &str) {
    let tmp = TempDir::new("bad");
    regen_file(&tmp.0, &upstream_source(), OPS, false).unwrap();
    let spec = tmp.0.join("spec");
    let before = snapshot(&spec);
    for check in [false, true] {
        let err = regen_in(&spec, &args(from, ops, check)).unwrap_err();
        assert!(!err.contains('\n'), "not one line: {err}");
        assert!(
            err.starts_with(expected),
            "expected `{expected}...`, got `{err}`"
        );
    }
    assert_eq!(snapshot(&spec), before, "a failed regen changed spec/");
}

#[test]
fn a_missing_file_is_one_line() {
    let missing = std::env::temp_dir().join("xtask-test-no-such-file.yaml");
    let missing = missing.to_str().unwrap();
    expect_regen_error(missing, OPS, &format!("{missing}: no such file"));
}

#[test]
fn an_unreachable_url_is_one_line() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v2.yaml");
    expect_regen_error(&url, OPS, &format!("{url}: cannot connect: "));
}

#[test]
fn an_http_error_status_is_one_line() {
    let tmp = TempDir::new("status");
    regen_file(&tmp.0, &upstream_source(), OPS, false).unwrap();
    let spec = tmp.0.join("spec");
    let before = snapshot(&spec);
    let (base, server) = serve_once("404 Not Found", b"<html>no</html>".to_vec());
    let url = format!("{base}/v2.yaml");
    let err = regen_in(&spec, &args(&url, OPS, false)).unwrap_err();
    server.join().unwrap();
    assert_eq!(err, format!("{url}: HTTP 404 Not Found"));
    assert_eq!(snapshot(&spec), before);
}

#[test]
fn a_file_that_is_neither_yaml_nor_json_is_one_line() {
    let tmp = TempDir::new("garbage");
    let text = tmp.write("broken.yaml", "openapi: 3.0.1\npaths: [unclosed\n  - : :\n");
    let text = text.to_str().unwrap();
    expect_regen_error(
        text,
        OPS,
        &format!("{text}: neither JSON nor YAML: as YAML: "),
    );
    let binary = tmp.write("binary.yaml", [0x89, b'P', b'N', b'G', 0xff, 0xfe, 0]);
    let binary = binary.to_str().unwrap();
    expect_regen_error(
        binary,
        OPS,
        &format!("{binary}: neither JSON nor YAML: not UTF-8 text (invalid byte at offset 0)"),
    );
}

#[test]
fn a_document_that_is_not_openapi_3_0_is_one_line() {
    let tmp = TempDir::new("version");
    let mut doc = upstream_source();
    doc["openapi"] = json!("3.1.0");
    let v31 = tmp.write("v31.json", extract::to_pretty_json(&doc));
    let v31 = v31.to_str().unwrap();
    expect_regen_error(
        v31,
        OPS,
        &format!("{v31}: not an OpenAPI 3.0.x document: /openapi is `3.1.0`"),
    );
    let swagger = tmp.write(
        "swagger.yaml",
        "swagger: \"2.0\"\ninfo: { title: t, version: \"1\" }\npaths: {}\n",
    );
    let swagger = swagger.to_str().unwrap();
    expect_regen_error(
        swagger,
        OPS,
        &format!("{swagger}: not an OpenAPI 3.0.x document: it is Swagger `2.0` (/swagger)"),
    );
}

#[test]
fn an_unknown_operation_is_named_with_a_suggestion() {
    let tmp = TempDir::new("unknown-op");
    let file = tmp.write("up.json", extract::to_pretty_json(&upstream_source()));
    let file = file.to_str().unwrap();
    expect_regen_error(
        file,
        &["createStreamConection"],
        &format!(
            "{file}: unknown operation `createStreamConection`: no operationId or x-xgen-operation-id-override has that name; did you mean `createStreamConnection`?"
        ),
    );
}

#[test]
fn a_dangling_ref_gives_its_location_and_target() {
    let tmp = TempDir::new("dangling");
    let mut doc = upstream_source();
    doc["components"]["schemas"]["StreamsKafkaConnection"]["allOf"][1]["properties"]["networking"] =
        json!({ "$ref": "#/components/schemas/Gone" });
    let file = tmp.write("up.json", extract::to_pretty_json(&doc));
    let file = file.to_str().unwrap();
    expect_regen_error(
        file,
        OPS,
        &format!(
            "{file}: dangling $ref at /components/schemas/StreamsKafkaConnection/allOf/1/properties/networking/$ref: `#/components/schemas/Gone` does not exist"
        ),
    );
}

/// A spec dir holding an extraction of the vendored fragment, and a source
/// that gives something else (so every file would change).
fn stale_spec_dir(name: &str) -> (TempDir, PathBuf, String) {
    let tmp = TempDir::new(name);
    regen_file(&tmp.0, &upstream_source(), OPS, false).unwrap();
    let mut doc = upstream_source();
    doc["components"]["schemas"]["StreamsKafkaConnection"]["description"] = json!("changed");
    let file = tmp.write("new.json", extract::to_pretty_json(&doc));
    let spec = tmp.0.join("spec");
    (tmp, spec, file.to_str().unwrap().to_string())
}

#[test]
fn a_failed_rename_restores_the_files_already_moved() {
    let (_tmp, spec, file) = stale_spec_dir("rename-fails");
    // provenance.json (moved second) cannot be replaced: it is a directory.
    std::fs::remove_file(spec.join("provenance.json")).unwrap();
    std::fs::create_dir(spec.join("provenance.json")).unwrap();
    std::fs::write(spec.join("provenance.json/keep"), "x").unwrap();
    let before = snapshot(&spec);
    let err = regen_in(&spec, &args(&file, OPS, false)).unwrap_err();
    assert!(err.contains("provenance.json"), "{err}");
    assert_eq!(
        snapshot(&spec),
        before,
        "spec/ changed or kept temporary files"
    );
}

#[test]
fn a_failed_staging_write_leaves_spec_untouched() {
    let (_tmp, spec, file) = stale_spec_dir("write-fails");
    std::fs::create_dir(spec.join(".operations.tmp")).unwrap();
    let before = snapshot(&spec);
    let err = regen_in(&spec, &args(&file, OPS, false)).unwrap_err();
    assert!(err.starts_with("cannot write "), "{err}");
    assert_eq!(snapshot(&spec), before);
}

#[test]
fn the_same_extraction_keeps_its_date() {
    let tmp = TempDir::new("same-date");
    regen_file(&tmp.0, &upstream_source(), OPS, false).unwrap();
    let spec = tmp.0.join("spec");
    let mut provenance: Value = serde_json::from_str(&read(&spec, "provenance.json")).unwrap();
    provenance["extracted_on"] = json!("2001-01-01");
    std::fs::write(
        spec.join("provenance.json"),
        extract::to_pretty_json(&provenance),
    )
    .unwrap();
    assert_eq!(
        regen_file(&tmp.0, &upstream_source(), OPS, false).unwrap(),
        Outcome::AlreadyCurrent
    );
    assert!(read(&spec, "provenance.json").contains("\"2001-01-01\""));
}

#[test]
fn the_help_documents_urls_and_check() {
    for needle in [
        "--from <https://url>",
        "https://",
        "--check",
        "discriminator kinds",
        "command that fixes it",
    ] {
        assert!(crate::HELP.contains(needle), "help lacks `{needle}`");
    }
}

#[test]
fn a_stale_outcome_fails_and_names_the_fix() {
    let a = args("up.yaml", &[OP], true);
    let err = Outcome::Stale(vec!["  spec/openapi.json:".into()])
        .print(&a)
        .unwrap_err();
    assert_eq!(
        err,
        "spec/ is stale; run `cargo xtask regen --from up.yaml --ops createStreamConnection`"
    );
    assert!(Outcome::UpToDate.print(&a).is_ok());
}

// ------------------------------------------------ nullable, versions, unions

/// `doc` with every `nullable` key removed, wherever it is.
fn without_nullable(doc: &Value) -> Value {
    match doc {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "nullable")
                .map(|(k, v)| (k.clone(), without_nullable(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nullable).collect()),
        other => other.clone(),
    }
}

#[test]
fn a_real_release_with_schema_level_nullable_generates_the_same_code_as_without() {
    // The 2026-07-14 release marked `BadRequestDetail` and `DBRoleToExecute`
    // nullable; both are used by optional properties only.
    let path = repo_root().join("tests/corpus/2026-07-14-6a0c103d/openapi.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        doc.pointer("/components/schemas/BadRequestDetail/nullable"),
        Some(&json!(true))
    );
    let with = generate_value(&doc).unwrap();
    assert!(with.contains("pub struct BadRequestDetail {"), "a newtype");
    assert_eq!(with, generate_value(&without_nullable(&doc)).unwrap());
}

/// A fragment whose Kafka kind uses a nullable object, array, string and
/// string enum, each from an optional and from a required property.
fn with_nullable_components(nullable: bool) -> Value {
    let mut doc = fragment();
    let schemas = doc.pointer_mut("/components/schemas").unwrap();
    schemas["NObject"] = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    schemas["NArray"] = json!({"type": "array", "items": {"type": "string"}});
    schemas["NString"] = json!({"type": "string", "pattern": "^x"});
    schemas["NEnum"] = json!({"type": "string", "enum": ["ONE", "TWO"]});
    if nullable {
        for name in ["NObject", "NArray", "NString", "NEnum"] {
            schemas[name]["nullable"] = json!(true);
        }
        schemas["NEnum"]["enum"]
            .as_array_mut()
            .unwrap()
            .push(Value::Null);
    }
    let kafka = doc
        .pointer_mut("/components/schemas/StreamsKafkaConnection/allOf/1")
        .unwrap();
    let mut required = Vec::new();
    for name in ["NObject", "NArray", "NString", "NEnum"] {
        let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
        kafka["properties"][format!("opt{name}")] = reference.clone();
        kafka["properties"][format!("req{name}")] = reference;
        required.push(json!(format!("req{name}")));
    }
    kafka["required"] = Value::Array(required);
    doc
}

/// The text of one item of the generated `types` module, from its first
/// line to the next line at its indentation that closes it.
fn item<'a>(code: &'a str, header: &str) -> &'a str {
    let start = code.find(header).unwrap_or_else(|| panic!("no `{header}`"));
    let end = code[start..]
        .find("\n    }\n")
        .unwrap_or_else(|| panic!("`{header}` has no end"));
    &code[start..start + end]
}

#[test]
fn schema_level_nullable_changes_no_type_and_makes_required_uses_nullable() {
    let plain = generate_value(&with_nullable_components(false)).unwrap();
    let nullable = generate_value(&with_nullable_components(true)).unwrap();
    for header in [
        "pub struct NObject {",
        "pub struct NArray(",
        "pub struct NString(",
        "pub enum NEnum {",
    ] {
        assert_eq!(item(&plain, header), item(&nullable, header), "{header}");
    }
    let kafka_plain = item(&plain, "pub struct StreamsKafkaConnection {");
    let kafka = item(&nullable, "pub struct StreamsKafkaConnection {");
    for (name, snake) in [
        ("NObject", "n_object"),
        ("NArray", "n_array"),
        ("NString", "n_string"),
        ("NEnum", "n_enum"),
    ] {
        let opt = format!("pub opt_{}: ::std::option::Option<types::{name}>", snake);
        let opt_alt = format!("pub opt_{}: ::std::option::Option<{name}>", snake);
        let has = |code: &str, a: &str, b: &str| code.contains(a) || code.contains(b);
        assert!(
            has(kafka, &opt, &opt_alt),
            "optional use of {name}:\n{kafka}"
        );
        assert!(has(kafka_plain, &opt, &opt_alt), "{kafka_plain}");
        // Required: the plain type without the mark, an Option with it
        // (null accepted, absence still refused: no serde default).
        let req = format!("pub req_{}: ", snake);
        let line = |code: &str| {
            code.lines()
                .find(|l| l.contains(&req))
                .unwrap_or_else(|| panic!("no {req} in\n{code}"))
                .to_owned()
        };
        assert!(
            !line(kafka_plain).contains("Option"),
            "{}",
            line(kafka_plain)
        );
        assert!(line(kafka).contains("Option"), "{}", line(kafka));
    }
}

#[test]
fn a_version_with_its_own_schema_gets_its_own_method_and_table_entry() {
    let path = repo_root().join("tests/corpus/2026-01-08-b682b6df/openapi.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let code = generate_value(&doc).unwrap();
    // The generated method, on the generated client...
    assert!(code.contains("pub async fn create_stream_connection_preview<'a>("));
    assert!(code.contains("body: &'a types::StreamsConnectionPrivatePreview,"));
    // ...the public one on the crate's client, through the handwritten layer...
    assert!(code.contains("impl ::atlas_stream_connections::Client {"));
    assert!(code.contains("self.call_version("));
    assert!(code.contains(
        "::atlas_stream_connections::ApiResponse<types::StreamsConnectionPrivatePreview>"
    ));
    // ...and the table says which method sends which version.
    assert!(code.contains("method: \"create_stream_connection_preview\""));
    assert!(code.contains("method: \"create_stream_connection\""));
    // Two levels of kinds, each its own enum; the leaf has neither tag.
    assert!(code.contains("SchemaRegistry(StreamsSchemaRegistryConnectionPrivatePreview)"));
    assert!(code.contains("Confluent(ConfluentSchemaRegistryConnectionPrivatePreview)"));
    let leaf = item(
        &code,
        "pub struct ConfluentSchemaRegistryConnectionPrivatePreview {",
    );
    assert!(!leaf.contains("rename = \"type\""), "{leaf}");
    assert!(!leaf.contains("provider"), "{leaf}");
}

#[test]
fn a_version_with_the_same_schema_needs_no_method_of_its_own() {
    let code = generate_value(&fragment()).unwrap();
    assert!(!code.contains("call_version"));
    assert!(!code.contains("impl ::atlas_stream_connections::Client"));
}

#[test]
fn a_kind_that_only_refers_to_its_middle_union_still_loses_the_outer_tag() {
    // The leaf inherits the middle union alone; the middle union declares
    // the outer tag among its properties (as upstream's does).
    let mut doc = fragment();
    let schemas = doc.pointer_mut("/components/schemas").unwrap();
    schemas["Middle"] = json!({
        "type": "object",
        "discriminator": {"propertyName": "provider", "mapping": {"P": "#/components/schemas/Leaf"}},
        "oneOf": [{"$ref": "#/components/schemas/Leaf"}],
        "properties": {
            "type": {"type": "string", "enum": ["Kafka"]},
            "provider": {"type": "string"},
            "name": {"type": "string"}
        }
    });
    schemas["Leaf"] = json!({"allOf": [
        {"$ref": "#/components/schemas/Middle"},
        {"type": "object", "properties": {"url": {"type": "string"}}}
    ]});
    schemas["StreamsConnection"]["oneOf"]
        .as_array_mut()
        .unwrap()
        .push(json!({"$ref": "#/components/schemas/Middle"}));
    schemas["StreamsConnection"]["discriminator"]["mapping"]["Middle"] =
        json!("#/components/schemas/Middle");
    let code = generate_value(&doc).unwrap();
    assert!(
        code.contains("Middle(Middle)"),
        "the middle union is a variant"
    );
    let leaf = item(&code, "pub struct Leaf {");
    assert!(
        leaf.contains("pub url:") && leaf.contains("pub name:"),
        "{leaf}"
    );
    assert!(
        !leaf.contains("rename = \"type\"") && !leaf.contains("provider"),
        "{leaf}"
    );
}

/// The vendored fragment with a preview media type beside the dated one in
/// the request body and the 200 response, bound to `schema`; the dated one
/// rebound to `dated` when given.
fn with_preview(schema: Value, dated: Option<Value>) -> Value {
    let mut doc = fragment();
    let op = doc
        .pointer_mut(
            "/paths/~1api~1atlas~1v2~1groups~1{groupId}~1streams~1{tenantName}~1connections/post",
        )
        .unwrap();
    for holder in ["/requestBody/content", "/responses/200/content"] {
        let content = op.pointer_mut(holder).unwrap();
        if let Some(dated) = &dated {
            content["application/vnd.atlas.2023-02-01+json"]["schema"] = dated.clone();
        }
        content["application/vnd.atlas.preview+json"] = json!({ "schema": schema.clone() });
    }
    doc
}

#[test]
fn an_inline_body_of_a_version_of_its_own_is_generated_for_its_method() {
    let code = generate_value(&with_preview(
        json!({"type": "object", "properties": {"draft": {"type": "boolean"}}}),
        None,
    ))
    .unwrap();
    assert!(code.contains("pub async fn create_stream_connection_preview<'a>("));
    // The inline schema's type exists exactly once, in `types`.
    let method = item(&code, "pub async fn create_stream_connection_preview<'a>(");
    let body_type = method
        .lines()
        .find_map(|l| l.trim().strip_prefix("body: &'a types::"))
        .expect("a typed body")
        .trim_end_matches(',');
    assert_eq!(
        code.matches(&format!("pub struct {body_type} {{")).count(),
        1,
        "{body_type}"
    );
}

#[test]
fn a_version_whose_type_clashes_with_another_versions_type_of_that_name_gets_its_own() {
    // Both versions inline, differently: typify names both bodies alike.
    let code = generate_value(&with_preview(
        json!({"type": "object", "properties": {"draft": {"type": "boolean"}}}),
        Some(json!({"type": "object", "properties": {"name": {"type": "string"}}})),
    ))
    .unwrap();
    let main = item(&code, "pub async fn create_stream_connection<'a>(");
    let preview = item(&code, "pub async fn create_stream_connection_preview<'a>(");
    let body_of = |method: &str| {
        method
            .lines()
            .find_map(|l| l.trim().strip_prefix("body: &'a types::"))
            .expect("a typed body")
            .trim_end_matches(',')
            .to_owned()
    };
    let (main_body, preview_body) = (body_of(main), body_of(preview));
    assert_eq!(preview_body, format!("{main_body}Preview"));
    assert!(item(&code, &format!("pub struct {main_body} {{")).contains("pub name:"));
    assert!(item(&code, &format!("pub struct {preview_body} {{")).contains("pub draft:"));
}

#[test]
fn an_enum_of_the_union_itself_is_one_type_shared_by_every_kind() {
    let mut doc = fragment();
    doc.pointer_mut(&format!("{UNION}/properties"))
        .unwrap()
        .as_object_mut()
        .unwrap()
        .insert(
            "state".into(),
            json!({"type": "string", "enum": ["PENDING", "READY"], "readOnly": true}),
        );
    let code = generate_value(&doc).unwrap();
    assert_eq!(code.matches("pub enum StreamsConnectionState {").count(), 1);
    assert!(
        !code.contains("StreamsKafkaConnectionState"),
        "a copy per kind"
    );
    for kind in ["StreamsKafkaConnection", "StreamsSampleConnection"] {
        let fields = item(&code, &format!("pub struct {kind} {{"));
        assert!(
            fields.contains("pub state: ::std::option::Option<types::StreamsConnectionState>"),
            "{fields}"
        );
    }
}

/// The fragment with an enum titled `Mode` (`A`, `B`) on the Kafka kind and
/// `https_mode` on the Https kind.
fn with_two_modes(https_mode: Value) -> Value {
    let mut doc = fragment();
    let kafka = doc
        .pointer_mut("/components/schemas/StreamsKafkaConnection/allOf/1/properties")
        .unwrap();
    kafka["mode"] = json!({"type": "string", "title": "Mode", "enum": ["A", "B"]});
    let https = doc
        .pointer_mut("/components/schemas/StreamsHttpsConnection/allOf/1/properties")
        .unwrap();
    https["mode"] = https_mode;
    doc
}

#[test]
fn a_title_taken_by_another_enum_gives_way_to_the_name_of_the_place() {
    let code = generate_value(&with_two_modes(json!(
        {"type": "string", "title": "Mode", "enum": ["C"]}
    )))
    .unwrap();
    assert!(
        code.contains("pub enum Mode {"),
        "the first keeps its title"
    );
    assert!(!code.contains("Mode2"), "no number");
    let other = if code.contains("pub enum StreamsKafkaConnectionMode {") {
        "StreamsKafkaConnectionMode"
    } else {
        "StreamsHttpsConnectionMode"
    };
    assert!(code.contains(&format!("pub enum {other} {{")), "{other}");
}

#[test]
fn a_required_write_only_property_is_optional_in_the_type_that_also_decodes_answers() {
    let mut doc = fragment();
    let schemas = doc.pointer_mut("/components/schemas").unwrap();
    // Required in the object itself, and required by the outer schema of an
    // `allOf` whose part declares it.
    schemas["Plain"] = json!({
        "type": "object", "required": ["secret", "user"],
        "properties": {
            "secret": {"type": "string", "writeOnly": true},
            "user": {"type": "string"}
        }
    });
    schemas["Composed"] = json!({
        "type": "object", "required": ["token", "kept"],
        "allOf": [{"type": "object", "properties": {
            "token": {"type": "string", "writeOnly": true},
            "kept": {"type": "string"}
        }}]
    });
    let code = generate_value(&doc).unwrap();
    let plain = item(&code, "pub struct Plain {");
    assert!(
        plain.contains(
            "pub secret: ::std::option::Option<::atlas_stream_connections::SecretString>"
        ),
        "{plain}"
    );
    assert!(plain.contains("pub user: ::std::string::String"), "{plain}");
    let composed = item(&code, "pub struct Composed {");
    assert!(
        composed
            .contains("pub token: ::std::option::Option<::atlas_stream_connections::SecretString>"),
        "{composed}"
    );
    assert!(
        composed.contains("pub kept: ::std::string::String"),
        "{composed}"
    );
}

// ------------------------------------------- formats, bodies, repaired schemas

/// A document with one operation `doIt` (`POST /things`) whose responses are
/// `responses`, and the component schemas `schemas`.
fn one_operation(responses: Value, schemas: Value) -> Value {
    json!({
        "openapi": "3.0.1",
        "info": { "title": "t", "version": "1" },
        "paths": { "/things": { "post": {
            "operationId": "doIt",
            "description": "Does it.",
            "requestBody": { "content": { "application/vnd.atlas.2024-01-01+json": {
                "schema": { "$ref": "#/components/schemas/Thing" }
            } } },
            "responses": responses
        } } },
        "components": { "schemas": schemas }
    })
}

fn typed_ok() -> Value {
    json!({ "200": { "description": "OK", "content": {
        "application/vnd.atlas.2024-01-01+json": { "schema": { "$ref": "#/components/schemas/Thing" } }
    } } })
}

/// The text of `pub struct <name>` in `code`.
fn struct_text<'a>(code: &'a str, name: &str) -> &'a str {
    item(code, &format!("pub struct {name} "))
}

/// The signature of the generated method `name`, up to its body.
fn method_text<'a>(code: &'a str, name: &str) -> &'a str {
    let start = code
        .find(&format!("pub async fn {name}"))
        .unwrap_or_else(|| panic!("no method {name}"));
    let text = &code[start..];
    &text[..text.find('{').unwrap()]
}

/// The documentation just above the generated method `name`.
fn method_docs<'a>(code: &'a str, name: &str) -> &'a str {
    let end = code.find(&format!("pub async fn {name}")).unwrap();
    let start = code[..end].rfind("    }\n").unwrap_or(0);
    &code[start..end]
}

/// One operation whose `Thing` has a property of every string format (and
/// the numeric ones), and a `Child` that extends an open base.
fn formats_spec() -> Value {
    one_operation(
        typed_ok(),
        json!({
            "Base": { "type": "object", "properties": { "kind": { "type": "string" } } },
            "Thing": { "type": "object", "required": ["due"], "properties": {
                "created": { "type": "string", "format": "date-time", "description": "When it was made." },
                "due": { "type": "string", "format": "date", "nullable": true },
                "ids": { "type": "array", "items": { "type": "string", "format": "uuid" } },
                "mail": { "type": "string", "format": "email" },
                "home": { "type": "string", "format": "uri" },
                "address": { "type": "string", "format": "ipv4" },
                "count": { "type": "integer", "format": "int32" },
                "total": { "type": "integer", "format": "int64" },
                "ratio": { "type": "number", "format": "float" },
                "mean": { "type": "number", "format": "double" },
                "state": { "type": "string", "format": "date", "enum": ["2024-01-01", "2025-01-01"] },
                "token": { "type": "string", "format": "uuid", "writeOnly": true },
                "pin": { "type": "string", "format": "password" }
            } },
            // A kind extending an open base: typify merges the two, which
            // dropped `x-rust-type` before the types went through references.
            "Child": { "allOf": [
                { "$ref": "#/components/schemas/Base" },
                { "type": "object", "properties": {
                    "at": { "type": "string", "format": "date-time" },
                    "secret": { "type": "string", "writeOnly": true }
                } }
            ] }
        }),
    )
}

#[test]
fn string_formats_become_the_crates_verbatim_types() {
    let code = generate_value(&formats_spec()).unwrap();
    assert!(!code.contains("::chrono::") && !code.contains("::uuid::"));
    let thing = struct_text(&code, "Thing");
    for field in [
        "pub created: ::std::option::Option<::atlas_stream_connections::DateTime>",
        // Required and nullable: present, maybe null.
        "pub due: ::std::option::Option<::atlas_stream_connections::Date>",
        "pub ids: ::std::vec::Vec<::atlas_stream_connections::Uuid>",
        "pub mail: ::std::option::Option<::std::string::String>",
        "pub home: ::std::option::Option<::std::string::String>",
        "pub address: ::std::option::Option<::std::string::String>",
        "pub count: ::std::option::Option<i32>",
        "pub total: ::std::option::Option<i64>",
        "pub ratio: ::std::option::Option<f32>",
        "pub mean: ::std::option::Option<f64>",
        "pub state: ::std::option::Option<types::ThingState>",
        // Secrets keep priority over formats.
        "pub token: ::std::option::Option<::atlas_stream_connections::SecretString>",
        "pub pin: ::std::option::Option<::atlas_stream_connections::SecretString>",
    ] {
        assert!(thing.contains(field), "missing `{field}` in:\n{thing}");
    }
    assert!(thing.contains("When it was made."), "{thing}");
    let child = struct_text(&code, "Child");
    assert!(
        child.contains("pub at: ::std::option::Option<::atlas_stream_connections::DateTime>"),
        "{child}"
    );
    assert!(
        child.contains(
            "pub secret: ::std::option::Option<::atlas_stream_connections::SecretString>"
        ),
        "{child}"
    );
    // The synthetic components are replaced, not wrapped.
    assert!(!code.contains("XRustType"), "{code}");
}

#[test]
fn a_schema_name_that_is_the_generators_own_is_refused() {
    let doc = one_operation(
        typed_ok(),
        json!({
            "Thing": { "type": "object", "properties": {
                "at": { "type": "string", "format": "date-time" }
            } },
            "XRustTypeDateTime": { "type": "object" }
        }),
    );
    expect_error(
        &doc,
        "/components/schemas/XRustTypeDateTime",
        "the generator's own",
    );
}

fn thing() -> Value {
    json!({ "Thing": { "type": "object", "properties": { "name": { "type": "string" } } } })
}

#[test]
fn a_media_type_without_schema_is_no_body_where_http_says_so_and_bytes_elsewhere() {
    let doc = one_operation(
        json!({ "204": { "description": "No body.", "content": {
            "application/vnd.atlas.2023-01-01+json": {},
            "application/vnd.atlas.2024-01-01+json": {}
        } } }),
        thing(),
    );
    let code = generate_value(&doc).unwrap();
    assert!(
        method_text(&code, "do_it").contains("ResponseValue<()>"),
        "{}",
        method_text(&code, "do_it")
    );
    // The versions are still recorded, and sent.
    assert!(code.contains("\"application/vnd.atlas.2023-01-01+json\""));
    assert!(code.contains("version: \"2024-01-01\""));

    let doc = one_operation(
        json!({ "200": { "description": "OK", "content": {
            "application/vnd.atlas.2024-01-01+json": {}
        } } }),
        thing(),
    );
    let code = generate_value(&doc).unwrap();
    assert!(method_text(&code, "do_it").contains("ResponseValue<ByteStream>"));
    assert!(
        method_docs(&code, "do_it").contains("without a schema"),
        "{}",
        method_docs(&code, "do_it")
    );
}

#[test]
fn success_responses_of_different_types_are_kept_as_bytes_and_documented() {
    let mut responses = typed_ok();
    responses["204"] = json!({ "description": "Nothing.", "content": {
        "application/vnd.atlas.2024-01-01+json": {}
    } });
    let code = generate_value(&one_operation(responses, thing())).unwrap();
    assert!(method_text(&code, "do_it").contains("ResponseValue<ByteStream>"));
    let docs = method_docs(&code, "do_it");
    assert!(
        docs.contains("`200`: `Thing`") && docs.contains("`204`: no body"),
        "{docs}"
    );
}

#[test]
fn error_responses_of_different_types_are_kept_as_bytes_and_documented() {
    let mut responses = typed_ok();
    let error = |schema: &str| {
        json!({ "description": "Bad.", "content": { "application/json": {
            "schema": { "$ref": format!("#/components/schemas/{schema}") }
        } } })
    };
    responses["400"] = error("Invalid");
    responses["404"] = error("ApiError");
    let mut schemas = thing();
    schemas["Invalid"] = json!({ "type": "object", "properties": { "why": { "type": "string" } } });
    schemas["ApiError"] =
        json!({ "type": "object", "properties": { "code": { "type": "string" } } });
    let code = generate_value(&one_operation(responses, schemas)).unwrap();
    let signature = method_text(&code, "do_it");
    assert!(
        signature.contains("ResponseValue<types::Thing>, Error<ByteStream>"),
        "{signature}"
    );
    assert!(method_docs(&code, "do_it").contains("`400`: `Invalid`"));
}

#[test]
fn a_request_body_without_schema_is_any_json_value() {
    let mut doc = one_operation(typed_ok(), thing());
    doc["paths"]["/things"]["post"]["requestBody"] =
        json!({ "content": { "application/vnd.atlas.2024-01-01+json": {} } });
    let code = generate_value(&doc).unwrap();
    assert!(
        method_text(&code, "do_it").contains("body: &'a ::serde_json::Value"),
        "{}",
        method_text(&code, "do_it")
    );
}

#[test]
fn an_enum_on_an_array_constrains_its_items() {
    let doc = one_operation(
        typed_ok(),
        json!({ "Thing": { "type": "object", "properties": {
            "roles": { "type": "array", "uniqueItems": true, "items": { "type": "string" },
                       "enum": ["OWNER", "READER"] },
            "level": { "type": "integer", "enum": [1, "two"], "default": "one" }
        } } }),
    );
    let code = generate_value(&doc).unwrap();
    let thing = struct_text(&code, "Thing");
    assert!(
        thing.contains("pub roles: ::std::option::Option<::std::vec::Vec<types::ThingRolesItem>>"),
        "{thing}"
    );
    assert!(code.contains("pub enum ThingRolesItem"), "{code}");
}

#[test]
fn a_member_that_inherits_from_its_union_is_not_a_cycle() {
    let doc = one_operation(
        typed_ok(),
        json!({
            "Thing": { "type": "object", "description": "A thing.", "oneOf": [
                { "$ref": "#/components/schemas/Aws" },
                { "$ref": "#/components/schemas/Azure" }
            ] },
            "Aws": { "type": "object", "required": ["id"], "allOf": [
                { "$ref": "#/components/schemas/Thing" },
                { "type": "object", "properties": { "id": { "type": "string" } } }
            ] },
            "Azure": { "type": "object", "required": ["id", "ip"], "allOf": [
                { "$ref": "#/components/schemas/Thing" },
                { "type": "object", "properties": {
                    "id": { "type": "string" }, "ip": { "type": "string" }
                } }
            ] }
        }),
    );
    let code = generate_value(&doc).unwrap();
    assert!(code.contains("pub enum Thing"), "{code}");
    assert!(code.contains("pub struct Aws "), "{code}");
}

#[test]
fn a_nullable_schema_is_nullable_wherever_and_however_it_is_referred_to() {
    let mut doc = fragment();
    let schemas = doc.pointer_mut("/components/schemas").unwrap();
    schemas["NObject"] = json!({"type": "object", "nullable": true,
        "properties": {"a": {"type": "string"}}});
    schemas["Alias"] = json!({"$ref": "#/components/schemas/NObject"});
    // Required on the outer schema, declared in its `allOf` part (Atlas's
    // usual layout); through an annotated one-member `allOf`; through an
    // alias component.
    schemas["Holder"] = json!({
        "type": "object", "required": ["inPart", "wrapped", "aliased"],
        "allOf": [{"type": "object", "properties": {
            "inPart": {"$ref": "#/components/schemas/NObject"},
            "wrapped": {"description": "d", "allOf": [{"$ref": "#/components/schemas/NObject"}]},
            "aliased": {"$ref": "#/components/schemas/Alias"}
        }}]
    });
    let code = generate_value(&doc).unwrap();
    let holder = item(&code, "pub struct Holder {");
    for field in ["in_part", "wrapped", "aliased"] {
        let line = holder
            .lines()
            .find(|l| l.contains(&format!("pub {field}: ")))
            .unwrap_or_else(|| panic!("no {field} in {holder}"));
        assert!(line.contains("::std::option::Option<"), "{line}");
    }
    assert!(
        code.contains("pub struct NObject {"),
        "NObject is not a newtype"
    );
}

#[test]
fn a_read_only_copy_of_a_titled_enum_is_the_same_type() {
    let code = generate_value(&with_two_modes(json!(
        {"type": "string", "title": "Mode", "enum": ["A", "B"], "readOnly": true}
    )))
    .unwrap();
    assert_eq!(code.matches("pub enum Mode {").count(), 1);
    assert!(
        !code.contains("ConnectionMode"),
        "a second type for the same enum"
    );
}

#[test]
fn the_parent_unions_tag_declared_by_a_middle_union_is_no_type() {
    let path = repo_root().join("tests/corpus/2026-01-08-b682b6df/openapi.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let code = generate_value(&doc).unwrap();
    // The middle union lists the outer kinds in its `type` property.
    assert!(!code.contains("StreamsSchemaRegistryConnectionPrivatePreviewType"));
}

#[test]
fn a_member_of_an_untagged_one_of_is_never_named_after_the_one_of() {
    // Two inline member enums with one title (as upstream's event types):
    // the second cannot take the title, and the place of a `oneOf` member is
    // the `oneOf`'s own name, which would put a type inside itself.
    let mut doc = fragment();
    let kafka = doc
        .pointer_mut("/components/schemas/StreamsKafkaConnection/allOf/1/properties")
        .unwrap();
    kafka["event"] = json!({"oneOf": [
        {"type": "string", "title": "Event Types", "enum": ["A"]},
        {"type": "string", "title": "Event Types", "enum": ["B"]}
    ]});
    let code = generate_value(&doc).unwrap();
    assert!(code.contains("pub enum EventTypes {"), "{code}");
    assert!(
        !code.contains("StreamsKafkaConnectionEvent(types::StreamsKafkaConnectionEvent"),
        "a type inside itself"
    );
    assert!(!code.contains("pub enum StreamsKafkaConnectionEvent2"));
}
