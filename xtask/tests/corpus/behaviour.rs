//! Run inside a copy of the crate built from one real upstream release of
//! the spec (see xtask/tests/corpus.rs), unchanged for every release: so it
//! names no kind or field that a release may lack, and reads the seed
//! examples, which every release must take whole (a kind or field a release
//! does not know is kept, not lost).

mod support;

use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::types::StreamsConnection;
use atlas_stream_connections::{CallOptions, Client, Error, operation_versions, versions_of};
use serde_json::{Value, json};

const GROUP: &str = "32b6e34b3d91647abb20e7b8";
const INSTANCE: &str = "my-instance";

/// The seed's request and response examples, by name.
const EXAMPLES: [(&str, &str); 14] = [
    ("request-AWSKinesisDataStreams", include_str!("fixtures/seed/request-AWSKinesisDataStreams.json")),
    ("request-AWSLambda", include_str!("fixtures/seed/request-AWSLambda.json")),
    ("request-Cluster", include_str!("fixtures/seed/request-Cluster.json")),
    ("request-Https", include_str!("fixtures/seed/request-Https.json")),
    ("request-Kafka", include_str!("fixtures/seed/request-Kafka.json")),
    ("request-S3", include_str!("fixtures/seed/request-S3.json")),
    ("request-Sample", include_str!("fixtures/seed/request-Sample.json")),
    ("response-200-AWSKinesisDataStreams", include_str!("fixtures/seed/response-200-AWSKinesisDataStreams.json")),
    ("response-200-AWSLambda", include_str!("fixtures/seed/response-200-AWSLambda.json")),
    ("response-200-Cluster", include_str!("fixtures/seed/response-200-Cluster.json")),
    ("response-200-Https", include_str!("fixtures/seed/response-200-Https.json")),
    ("response-200-Kafka", include_str!("fixtures/seed/response-200-Kafka.json")),
    ("response-200-S3", include_str!("fixtures/seed/response-200-S3.json")),
    ("response-200-Sample", include_str!("fixtures/seed/response-200-Sample.json")),
];

fn json_of(name: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

#[test]
fn every_seed_example_decodes_and_encodes_back_unchanged() {
    for (name, text) in EXAMPLES {
        let wire = json_of(name, text);
        let connection: StreamsConnection = serde_json::from_value(wire.clone())
            .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
        assert_eq!(
            connection.kind(),
            wire["type"].as_str().unwrap(),
            "{name}: the kind is not the wire's"
        );
        let back = serde_json::to_value(&connection).unwrap();
        assert_eq!(back, wire, "{name}: something was lost or changed");
    }
}

#[test]
fn a_kind_no_release_has_is_kept_whole() {
    let wire = json!({"type": "FutureKind", "name": "f", "nested": {"a": [1, 2]}});
    let connection: StreamsConnection = serde_json::from_value(wire.clone()).unwrap();
    assert!(!StreamsConnection::KNOWN_KINDS.contains(&"FutureKind"));
    assert_eq!(connection.kind(), "FutureKind");
    assert_eq!(serde_json::to_value(&connection).unwrap(), wire);
}

#[test]
fn the_kafka_password_never_shows_in_debug() {
    // Write-only in every release. (Secret fields a release does not know
    // yet, such as an older release's view of `clientSecret`, are kept as
    // unknown properties; how those show is a matter of the `extra` maps.)
    let mut wire = json_of("request-Kafka", EXAMPLES[4].1);
    wire["authentication"]["password"] = json!("kafka-password-7f3a");
    let connection: StreamsConnection = serde_json::from_value(wire).unwrap();
    let debug = format!("{connection:?}");
    assert!(debug.contains("authentication"), "{debug}");
    assert!(!debug.contains("kafka-password-7f3a"), "{debug}");
}

#[test]
fn the_version_table_names_a_method_for_every_version() {
    let operation = versions_of("createStreamConnection").expect("the operation is served");
    assert_eq!(operation.operation_id, "create_stream_connection");
    let default = operation.default_version().expect("a default version");
    assert!(default.typed);
    assert_eq!(default.method, "create_stream_connection");
    assert_eq!(operation.resolve(None).unwrap(), default);
    assert_eq!(operation.resolve(Some(default.version)).unwrap(), default);
    for op in operation_versions() {
        for version in op.versions {
            if version.typed {
                assert_eq!(version.method, op.operation_id, "{version:?}");
            } else {
                assert!(
                    version.method.starts_with(&format!("{}_", op.operation_id))
                        && version.method != op.operation_id,
                    "{version:?}"
                );
                let refused = op.resolve(Some(version.version)).unwrap_err();
                assert!(refused.contains(version.method), "{refused}");
            }
        }
    }
}

async fn create(client: &Client, wire: Value) -> Result<StreamsConnection, Error> {
    let connection: StreamsConnection = serde_json::from_value(wire).unwrap();
    client
        .create_stream_connection(GROUP, INSTANCE, &connection)
        .await
}

/// A local Atlas serving the release, with `INSTANCE` declared, and a
/// client of it with its API key.
async fn local_atlas() -> (LocalAtlas, Client) {
    let atlas = LocalAtlas::builder()
        .instance(GROUP, INSTANCE)
        .start()
        .await
        .unwrap();
    let (public, private) = atlas.api_key();
    let client = Client::builder()
        .base_url(atlas.base_url())
        .api_key(public, private.clone())
        .build()
        .unwrap();
    (atlas, client)
}

#[tokio::test]
async fn the_local_atlas_creates_what_the_release_describes_and_refuses_the_rest() {
    // (The local Atlas serves until dropped.)
    let (_atlas, client) = local_atlas().await;

    let sample = json!({"type": "Sample", "name": "sample_stream_solar"});
    let created = create(&client, sample.clone()).await.unwrap();
    assert_eq!(created.kind(), "Sample");
    assert_eq!(
        serde_json::to_value(&created).unwrap()["name"],
        "sample_stream_solar"
    );

    // The same name again: Atlas's conflict, with its code.
    let conflict = create(&client, sample).await.unwrap_err();
    assert_eq!(conflict.status().map(|s| s.as_u16()), Some(409), "{conflict}");
    assert!(conflict.error_code().is_some(), "{conflict}");

    // A value the release's enum does not allow: a 400 that names the
    // field (the error type reads the release's `BadRequestDetail`).
    let bad = json!({
        "type": "Kafka", "name": "k", "bootstrapServers": "b:9092",
        "networking": {"access": {"type": "NOT_A_TYPE"}}
    });
    let refused = create(&client, bad).await.unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(400), "{refused}");
    let fields: Vec<String> = refused
        .response()
        .expect("an API error response")
        .bad_request_fields()
        .iter()
        .map(|f| serde_json::to_value(f).unwrap()["field"].to_string())
        .collect();
    assert!(
        fields.iter().any(|f| f.contains("networking.access.type")),
        "{fields:?}"
    );

    // The default version is what went out.
    let options = CallOptions::new();
    let connection: StreamsConnection =
        serde_json::from_value(json!({"type": "Sample", "name": "other"})).unwrap();
    let answered = client
        .create_stream_connection_with(GROUP, INSTANCE, &connection, &options)
        .await
        .unwrap();
    let default = versions_of("createStreamConnection")
        .unwrap()
        .default_version()
        .unwrap();
    assert_eq!(answered.api_version(), default.version);
}

#[tokio::test]
async fn the_whole_resource_and_apply_work_against_the_release() {
    use atlas_stream_connections::Wait;
    use atlas_stream_connections::apply::{Action, ApplyOptions};

    // (The local Atlas serves until dropped.)
    let (_atlas, client) = local_atlas().await;
    let wanted: Vec<StreamsConnection> = ["request-Sample", "request-Kafka", "request-Https"]
        .iter()
        .map(|name| {
            let text = EXAMPLES.iter().find(|(n, _)| n == name).unwrap().1;
            let mut wire = json_of(name, text);
            wire["name"] = json!(name.trim_start_matches("request-").to_lowercase());
            serde_json::from_value(wire).unwrap()
        })
        .collect();
    let options = ApplyOptions::new().wait(Some(
        Wait::new().interval(std::time::Duration::from_millis(10)),
    ));
    for expected in [Action::Created, Action::Unchanged] {
        let outcomes = client
            .apply_stream_connections(GROUP, INSTANCE, wanted.clone(), &options)
            .unwrap()
            .collect()
            .await;
        assert_eq!(outcomes.len(), 3);
        for outcome in outcomes {
            let applied = outcome
                .result
                .unwrap_or_else(|e| panic!("{}: {}", outcome.name, e.with_causes()));
            assert_eq!(applied.action, expected, "{}", outcome.name);
        }
    }

    let listed = client
        .list_stream_connections(GROUP, INSTANCE)
        .try_collect()
        .await
        .unwrap();
    let mut names: Vec<String> = listed.iter().filter_map(StreamsConnection::name).collect();
    names.sort();
    assert_eq!(names, ["https", "kafka", "sample"]);

    let kafka = client
        .get_stream_connection(GROUP, INSTANCE, "kafka")
        .await
        .unwrap();
    assert_eq!(kafka.kind(), "Kafka");
    let mut changed = serde_json::to_value(&wanted[1]).unwrap();
    changed["bootstrapServers"] = json!("changed:9092");
    let changed: StreamsConnection = serde_json::from_value(changed).unwrap();
    let updated = client
        .update_stream_connection(GROUP, INSTANCE, "kafka", &changed)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&updated).unwrap()["bootstrapServers"],
        "changed:9092"
    );

    client
        .delete_stream_connection_and_wait(GROUP, INSTANCE, "kafka", &Wait::new())
        .await
        .unwrap();
    let gone = client
        .get_stream_connection(GROUP, INSTANCE, "kafka")
        .await
        .unwrap_err();
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404), "{gone}");
}
