//! Run inside a copy of the crate built from an evolved spec (see
//! xtask/tests/evolution.rs): the generated client compiles, keeps the
//! existing API, and behaves for each kind of upstream change.

mod support;

use atlas_stream_connections::types::{
    StreamsConnection, StreamsHttpsConnection, StreamsKafkaConnection,
    StreamsKafkaConnectionAuthentication,
};
use atlas_stream_connections::{Client, versions_of};
use serde_json::{Value, json};
use support::{Reply, Server};

fn decode(value: Value) -> StreamsConnection {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn kafka(value: Value) -> StreamsKafkaConnection {
    match decode(value) {
        StreamsConnection::Kafka(kafka) => kafka,
        other => panic!("not Kafka: {other:?}"),
    }
}

#[test]
fn a_new_kind_is_a_new_variant_and_the_old_ones_keep_their_api() {
    assert!(StreamsConnection::KNOWN_KINDS.contains(&"SchemaRegistry"));
    let wire = json!({
        "type": "SchemaRegistry", "name": "registry",
        "schemaRegistryUrls": ["https://r"], "authType": "basic"
    });
    let StreamsConnection::SchemaRegistry(registry) = decode(wire.clone()) else {
        panic!("SchemaRegistry did not get its own variant");
    };
    assert_eq!(registry.schema_registry_urls, vec!["https://r".to_string()]);
    assert_eq!(
        serde_json::to_value(StreamsConnection::SchemaRegistry(registry)).unwrap(),
        wire
    );
    // Code written against the old spec still compiles and works.
    let old: StreamsConnection = StreamsKafkaConnection {
        name: Some("events".into()),
        ..Default::default()
    }
    .into();
    assert_eq!(old.kind(), "Kafka");
}

#[test]
fn a_nested_discriminated_one_of_is_its_own_tagged_enum() {
    let plain = kafka(json!({
        "type": "Kafka",
        "authentication": {"mechanism": "PLAIN", "username": "u", "password": "hunter2"}
    }));
    let Some(StreamsKafkaConnectionAuthentication::Plain(auth)) = &plain.authentication else {
        panic!("not PLAIN: {:?}", plain.authentication);
    };
    assert_eq!(
        auth.password.as_ref().map(|p| p.expose_secret()),
        Some("hunter2")
    );
    assert!(
        !format!("{plain:?}").contains("hunter2"),
        "a nested secret shows in Debug"
    );

    let scram =
        kafka(json!({"type": "Kafka", "authentication": {"mechanism": "SCRAM", "user": "u"}}));
    assert!(matches!(
        scram.authentication,
        Some(StreamsKafkaConnectionAuthentication::Scram(_))
    ));

    let unknown = json!({"type": "Kafka", "authentication": {"mechanism": "GSSAPI", "realm": "r"}});
    let newer = kafka(unknown.clone());
    let Some(StreamsKafkaConnectionAuthentication::Unknown(kept)) = &newer.authentication else {
        panic!(
            "an unknown mechanism is not Unknown: {:?}",
            newer.authentication
        );
    };
    assert_eq!(kept.kind(), "GSSAPI");
    assert_eq!(
        serde_json::to_value(StreamsConnection::Kafka(newer)).unwrap(),
        unknown
    );
}

#[test]
fn nullable_and_required_fields_follow_the_spec() {
    let kafka = kafka(json!({"type": "Kafka", "bootstrapServers": null}));
    assert_eq!(
        kafka.bootstrap_servers, None,
        "null is accepted where nullable"
    );
    // Required and nullable: null is a value, absence is an error.
    let StreamsConnection::SchemaRegistry(registry) =
        decode(json!({"type": "SchemaRegistry", "authType": null}))
    else {
        panic!("not SchemaRegistry");
    };
    assert_eq!(registry.auth_type, None);
    assert!(
        serde_json::from_value::<StreamsConnection>(json!({"type": "SchemaRegistry"})).is_err(),
        "a required nullable field may not be missing"
    );
    // `required` inside an allOf member makes the field plain.
    let https: StreamsHttpsConnection =
        serde_json::from_value(json!({"url": "https://example.com/hook"})).unwrap();
    let url: String = https.url;
    assert_eq!(url, "https://example.com/hook");
    assert!(
        serde_json::from_value::<StreamsHttpsConnection>(json!({})).is_err(),
        "a required field may not be missing"
    );
}

#[test]
fn a_new_enum_value_is_a_new_variant_and_the_old_ones_stay() {
    use atlas_stream_connections::types::NetworkingAccessType;
    assert_eq!(
        NetworkingAccessType::from("PRIVATE_ENDPOINT"),
        NetworkingAccessType::PrivateEndpoint
    );
    assert_eq!(NetworkingAccessType::Public.as_str(), "PUBLIC");
    assert_eq!(
        NetworkingAccessType::from("NEWER_STILL"),
        NetworkingAccessType::Unknown("NEWER_STILL".into())
    );
}

#[test]
fn formats_and_array_constraints_compile_to_plain_types() {
    let kafka = kafka(json!({"type": "Kafka", "tags": ["a", "b"]}));
    assert_eq!(kafka.tags, Some(vec!["a".to_string(), "b".to_string()]));
}

#[test]
fn a_removed_field_is_kept_in_extra_not_dropped() {
    let kafka = kafka(json!({"type": "Kafka", "security": {"protocol": "SSL"}}));
    assert_eq!(
        kafka.extra.get("security"),
        Some(&json!({"protocol": "SSL"}))
    );
}

#[test]
fn every_media_type_is_in_the_version_table() {
    let op = versions_of("createStreamConnection").expect("the operation");
    let declared: Vec<&str> = op.versions.iter().map(|v| v.version).collect();
    assert_eq!(declared, ["2023-02-01", "2025-01-01", "preview"]);
    assert_eq!(
        op.resolve(None).unwrap().version,
        "2025-01-01",
        "newest dated"
    );
    assert_eq!(
        op.resolve(Some("2024-05-30")).unwrap().version,
        "2023-02-01"
    );
    let preview = op.resolve(Some("preview")).unwrap_err();
    assert!(
        preview.contains("Client::create_stream_connection_preview"),
        "{preview}"
    );
    let entry = op.versions.iter().find(|v| v.version == "preview").unwrap();
    assert!(!entry.typed);
    assert_eq!(entry.method, "create_stream_connection_preview");
}

#[tokio::test]
async fn a_version_with_its_own_schema_is_sent_by_its_own_typed_method() {
    let server = Server::start(Reply::json(
        200,
        "application/vnd.atlas.preview+json",
        r#"{"name":"p","new":1}"#,
    ))
    .await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .access_token("token")
        .build()
        .unwrap();
    let body = atlas_stream_connections::types::StreamsConnectionPreview {
        name: Some("p".into()),
        ..Default::default()
    };
    let created = client
        .create_stream_connection_preview(
            &"32b6e34b3d91647abb20e7b8".parse().unwrap(),
            "instance",
            &body,
            &atlas_stream_connections::CallOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(created.api_version(), "preview");
    assert_eq!(created.name.as_deref(), Some("p"));
    assert_eq!(created.extra.get("new"), Some(&json!(1)));
    let sent = &server.requests()[0];
    assert_eq!(
        sent.header("content-type").as_deref(),
        Some("application/vnd.atlas.preview+json")
    );
    assert_eq!(sent.body, br#"{"name":"p"}"#);
}

#[tokio::test]
async fn the_client_calls_the_evolved_api_and_retries_its_declared_429() {
    let created = json!({"type": "SchemaRegistry", "name": "registry", "authType": null});
    let created = created.to_string();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let server =
        Server::serve(
            move |_| match seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Reply::json(
                    429,
                    "application/json",
                    r#"{"error":429,"errorCode":"RATE_LIMITED"}"#,
                )
                .header("retry-after", "0"),
                _ => Reply::json(200, "application/vnd.atlas.2025-01-01+json", &created),
            },
        )
        .await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .access_token("token")
        .retry_backoff(std::time::Duration::ZERO, std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    let connection =
        decode(json!({"type": "SchemaRegistry", "name": "registry", "authType": null}));
    let response = client
        .create_stream_connection("32b6e34b3d91647abb20e7b8", "instance", &connection)
        .await
        .expect("created after one 429");
    assert_eq!(response.kind(), "SchemaRegistry");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].header("accept").as_deref(),
        Some("application/vnd.atlas.2025-01-01+json")
    );
}
