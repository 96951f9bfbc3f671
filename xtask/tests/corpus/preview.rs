//! Run inside the copy of the crate built from a release whose operation
//! declares `application/vnd.atlas.preview+json` bound to its own schema
//! (2026-01-08: a union on `type` whose one kind is a union on `provider`,
//! whose leaf inherits from both). xtask/tests/corpus.rs adds it for the
//! releases whose generated client has `create_stream_connection_preview`.

mod support;

use atlas_stream_connections::types::{
    ConfluentSchemaRegistryAuthentication, ConfluentSchemaRegistryConnectionPrivatePreview,
    StreamsConnection, StreamsConnectionPrivatePreview,
    StreamsSchemaRegistryConnectionPrivatePreview,
};
use atlas_stream_connections::{CallOptions, Client, Error, versions_of};
use serde_json::{Value, json};
use support::{Reply, Server};

const GROUP: &str = "32b6e34b3d91647abb20e7b8";
const PREVIEW: &str = "application/vnd.atlas.preview+json";

fn registry() -> Value {
    json!({
        "type": "SchemaRegistry",
        "provider": "CONFLUENT",
        "name": "registry",
        "schemaRegistryUrls": ["https://registry.example.com"],
        "schemaRegistryAuthentication": {
            "type": "USER_INFO", "username": "u", "password": "registry-password"
        }
    })
}

#[test]
fn two_levels_of_kinds_decode_and_encode_with_each_tag_once() {
    let wire = registry();
    let connection: StreamsConnectionPrivatePreview = serde_json::from_value(wire.clone()).unwrap();
    let StreamsConnectionPrivatePreview::SchemaRegistry(
        StreamsSchemaRegistryConnectionPrivatePreview::Confluent(leaf),
    ) = &connection
    else {
        panic!("not a Confluent schema registry: {connection:?}");
    };
    assert_eq!(
        leaf.schema_registry_urls.as_deref(),
        Some(&["https://registry.example.com".to_string()][..])
    );
    // Neither tag is a field of the leaf, nor kept as an unknown property.
    assert!(!leaf.extra.contains_key("type") && !leaf.extra.contains_key("provider"));
    let Some(ConfluentSchemaRegistryAuthentication::UserInfo(auth)) =
        &leaf.schema_registry_authentication
    else {
        panic!("not USER_INFO: {:?}", leaf.schema_registry_authentication);
    };
    assert_eq!(
        auth.password.as_ref().map(|p| p.expose_secret()),
        Some("registry-password")
    );
    assert!(!format!("{connection:?}").contains("registry-password"));
    let text = serde_json::to_string(&connection).unwrap();
    assert_eq!(text.matches("\"type\":\"SchemaRegistry\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"provider\"").count(), 1, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), wire);

    // A provider this crate does not know is kept inside the known kind.
    let newer = json!({"type": "SchemaRegistry", "provider": "AWS_GLUE", "region": "r"});
    let decoded: StreamsConnectionPrivatePreview = serde_json::from_value(newer.clone()).unwrap();
    assert!(matches!(
        decoded,
        StreamsConnectionPrivatePreview::SchemaRegistry(
            StreamsSchemaRegistryConnectionPrivatePreview::Unknown(_)
        )
    ));
    assert_eq!(serde_json::to_value(&decoded).unwrap(), newer);
}

#[test]
fn the_preview_version_is_listed_with_its_own_method() {
    let operation = versions_of("createStreamConnection").unwrap();
    let preview = operation
        .versions
        .iter()
        .find(|v| v.version == "preview")
        .expect("the preview version is listed");
    assert!(!preview.typed);
    assert_eq!(preview.method, "create_stream_connection_preview");
    assert_eq!(preview.request_media_type, Some(PREVIEW));
    assert_eq!(preview.response_media_type, Some(PREVIEW));
}

#[tokio::test]
async fn the_preview_method_sends_and_reads_the_preview_schema() {
    let answer = {
        let mut a = registry();
        a["schemaRegistryAuthentication"] = json!({"type": "USER_INFO", "username": "u"});
        a["links"] = json!([{"href": "https://cloud.mongodb.com/x", "rel": "self"}]);
        a.to_string()
    };
    let server = Server::start(Reply::json(200, PREVIEW, &answer)).await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .access_token("token")
        .build()
        .unwrap();
    let body: StreamsConnectionPrivatePreview = serde_json::from_value(registry()).unwrap();
    let group = GROUP.parse().unwrap();
    let created = client
        .create_stream_connection_preview(&group, "my-instance", &body, &CallOptions::new().pretty(true))
        .await
        .unwrap();
    assert_eq!(created.api_version(), "preview");
    assert!(matches!(
        created.into_inner(),
        StreamsConnectionPrivatePreview::SchemaRegistry(
            StreamsSchemaRegistryConnectionPrivatePreview::Confluent(
                ConfluentSchemaRegistryConnectionPrivatePreview { .. }
            )
        )
    ));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(
        sent.request_line(),
        "POST /api/atlas/v2/groups/32b6e34b3d91647abb20e7b8/streams/my-instance/connections?pretty=true HTTP/1.1"
    );
    assert_eq!(sent.header("accept").as_deref(), Some(PREVIEW));
    assert_eq!(sent.header("content-type").as_deref(), Some(PREVIEW));
    let sent_body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(sent_body, registry());
}

#[tokio::test]
async fn a_pin_picks_the_method_whose_schema_it_names() {
    let server = Server::start(Reply::status(500)).await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .access_token("token")
        .build()
        .unwrap();
    // The main method cannot send the preview: its types are another
    // version's. The error names the method that can.
    let sample: StreamsConnection =
        serde_json::from_value(json!({"type": "Sample", "name": "s"})).unwrap();
    let refused = client
        .create_stream_connection_with(GROUP, "i", &sample, &CallOptions::new().api_version("preview"))
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::InvalidInput { .. }), "{refused:?}");
    assert!(refused.to_string().contains("create_stream_connection_preview"), "{refused}");

    // And the preview method refuses a pin to a dated version.
    let body: StreamsConnectionPrivatePreview = serde_json::from_value(registry()).unwrap();
    let refused = client
        .create_stream_connection_preview(
            &GROUP.parse().unwrap(),
            "i",
            &body,
            &CallOptions::new().api_version("2024-01-01"),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::InvalidInput { .. }), "{refused:?}");

    // The generated method has the same guards as the main one: an instance
    // name that URL parsing would turn into another path never goes out,
    // and every other one is sent percent-encoded, as one segment.
    for instance in ["..", ".", ""] {
        let refused = client
            .create_stream_connection_preview(
                &GROUP.parse().unwrap(),
                instance,
                &body,
                &CallOptions::new(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(refused, Error::InvalidInput { parameter: "path", .. }),
            "{instance}: {refused:?}"
        );
    }
    assert!(server.requests().is_empty(), "a refused call went out");
    let _ = client
        .create_stream_connection_preview(
            &GROUP.parse().unwrap(),
            "a\\b/../x",
            &body,
            &CallOptions::new(),
        )
        .await;
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0]
            .request_line()
            .contains("/streams/a%5Cb%2F..%2Fx/connections "),
        "{}",
        requests[0].request_line()
    );
}
