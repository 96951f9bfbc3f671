//! Every JSON example of the endpoint's reference page (tests/fixtures/seed,
//! copied unchanged from the page) decodes and round-trips as the spec says.

use atlas_stream_connections::types::{self, StreamsConnection};
use serde_json::Value;

use crate::support::seed;

/// An example's file name, and its text.
macro_rules! fixture {
    ($name:literal) => {
        ($name, seed!($name))
    };
}

const REQUESTS: [(&str, &str); 7] = [
    fixture!("request-AWSKinesisDataStreams.json"),
    fixture!("request-AWSLambda.json"),
    fixture!("request-Cluster.json"),
    fixture!("request-Https.json"),
    fixture!("request-Kafka.json"),
    fixture!("request-S3.json"),
    fixture!("request-Sample.json"),
];

const RESPONSES: [(&str, &str); 7] = [
    fixture!("response-200-AWSKinesisDataStreams.json"),
    fixture!("response-200-AWSLambda.json"),
    fixture!("response-200-Cluster.json"),
    fixture!("response-200-Https.json"),
    fixture!("response-200-Kafka.json"),
    fixture!("response-200-S3.json"),
    fixture!("response-200-Sample.json"),
];

fn tag_of(json: &Value) -> &str {
    json["type"]
        .as_str()
        .expect("examples carry a string `type`")
}

#[test]
fn every_request_example_decodes_to_its_kind_and_round_trips() {
    for (name, text) in REQUESTS {
        let original: Value = serde_json::from_str(text).unwrap();
        let connection: StreamsConnection =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !matches!(connection, StreamsConnection::Unknown(_)),
            "{name} decoded as an unknown kind"
        );
        assert_eq!(connection.kind(), tag_of(&original), "{name}");
        let back = serde_json::to_value(&connection).unwrap();
        assert_eq!(back, original, "{name} changed on the way back");
    }
}

#[test]
fn every_response_example_decodes_and_round_trips() {
    for (name, text) in RESPONSES {
        let original: Value = serde_json::from_str(text).unwrap();
        let connection: StreamsConnection =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(connection.kind(), tag_of(&original), "{name}");
        assert_eq!(
            serde_json::to_value(&connection).unwrap(),
            original,
            "{name}"
        );
    }
}

#[test]
fn each_kind_decodes_into_its_own_variant() {
    let kind = |name: &str| -> StreamsConnection {
        let (_, text) = REQUESTS.iter().find(|(n, _)| *n == name).unwrap();
        serde_json::from_str(text).unwrap()
    };
    assert!(matches!(
        kind("request-Sample.json"),
        StreamsConnection::Sample(_)
    ));
    assert!(matches!(
        kind("request-Cluster.json"),
        StreamsConnection::Cluster(_)
    ));
    assert!(matches!(
        kind("request-Https.json"),
        StreamsConnection::Https(_)
    ));
    assert!(matches!(
        kind("request-AWSLambda.json"),
        StreamsConnection::AwsLambda(_)
    ));
    assert!(matches!(kind("request-S3.json"), StreamsConnection::S3(_)));
    assert!(matches!(
        kind("request-AWSKinesisDataStreams.json"),
        StreamsConnection::AwsKinesisDataStreams(_)
    ));
    let StreamsConnection::Kafka(kafka) = kind("request-Kafka.json") else {
        panic!("not Kafka")
    };
    // Free maps stay maps; secrets are secrets.
    assert_eq!(
        kafka.config.get("group.protocol.type").map(String::as_str),
        Some("consumer")
    );
    let auth = kafka.authentication.expect("authentication");
    assert_eq!(
        auth.password.as_ref().map(|p| p.expose_secret()),
        Some("string")
    );
    assert_eq!(auth.username.as_deref(), Some("string"));
    assert_eq!(
        StreamsConnection::KNOWN_KINDS,
        [
            "Sample",
            "Cluster",
            "Kafka",
            "Https",
            "AWSLambda",
            "S3",
            "AWSKinesisDataStreams"
        ]
    );
}

#[test]
fn the_s3_example_with_type_string_is_kept_whole_as_an_unknown_kind() {
    let (_, text) = RESPONSES.iter().find(|(n, _)| n.contains("S3")).unwrap();
    let original: Value = serde_json::from_str(text).unwrap();
    let connection: StreamsConnection = serde_json::from_str(text).unwrap();
    let StreamsConnection::Unknown(unknown) = &connection else {
        panic!("expected Unknown, got {connection:?}")
    };
    assert_eq!(unknown.kind(), "string");
    assert_eq!(Value::Object(unknown.as_json().clone()), original);
}

#[test]
fn an_unknown_kind_keeps_every_property_and_serialises_back_unchanged() {
    let text = r#"{"type":"SchemaRegistry","name":"reg","schemaRegistryUrls":["https://r"],
                   "authentication":{"type":"USER_INFO","password":"p"},"links":[]}"#;
    let original: Value = serde_json::from_str(text).unwrap();
    let connection: StreamsConnection = serde_json::from_str(text).unwrap();
    assert_eq!(connection.kind(), "SchemaRegistry");
    assert!(matches!(connection, StreamsConnection::Unknown(_)));
    assert_eq!(serde_json::to_value(&connection).unwrap(), original);
}

#[test]
fn a_known_kind_with_the_wrong_shape_is_an_error_not_unknown() {
    for text in [
        r#"{"type":"Kafka","bootstrapServers":42}"#,
        r#"{"type":"Cluster","dbRoleToExecute":"readWrite"}"#,
        r#"{"type":"Https","headers":{"a":1}}"#,
        r#"{"type":"Cluster","dbRoleToExecute":{"type":7}}"#,
    ] {
        let err = serde_json::from_str::<StreamsConnection>(text).unwrap_err();
        assert!(
            err.to_string().contains("StreamsConnection of kind"),
            "{text}: {err}"
        );
    }
}

#[test]
fn a_string_enum_value_a_newer_server_sends_is_kept_and_sent_back() {
    use atlas_stream_connections::types::DbRoleType;
    let text = r#"{"type":"Cluster","dbRoleToExecute":{"role":"r","type":"FUTURE_ROLE_TYPE"}}"#;
    let connection: StreamsConnection = serde_json::from_str(text).unwrap();
    let StreamsConnection::Cluster(cluster) = &connection else {
        panic!("{connection:?}");
    };
    let role_type = cluster.db_role_to_execute.as_ref().unwrap().type_.clone();
    assert_eq!(
        role_type,
        Some(DbRoleType::Unknown("FUTURE_ROLE_TYPE".into()))
    );
    assert_eq!(
        serde_json::to_value(&connection).unwrap(),
        serde_json::from_str::<Value>(text).unwrap()
    );
    // Known values are variants, and the wire names are there to compare.
    assert_eq!(DbRoleType::from("CUSTOM"), DbRoleType::Custom);
    assert_eq!(DbRoleType::BuiltIn.to_string(), "BUILT_IN");
    assert_eq!(DbRoleType::KNOWN_VALUES, ["BUILT_IN", "CUSTOM"]);
    assert_eq!(
        serde_json::to_string(&DbRoleType::Custom).unwrap(),
        r#""CUSTOM""#
    );
}

#[test]
fn a_missing_or_non_string_tag_is_an_error() {
    let missing = serde_json::from_str::<StreamsConnection>(r#"{"name":"x"}"#).unwrap_err();
    assert!(
        missing.to_string().contains("missing the `type` property"),
        "{missing}"
    );
    let number = serde_json::from_str::<StreamsConnection>(r#"{"type":7}"#).unwrap_err();
    assert!(number.to_string().contains("must be a string"), "{number}");
}

#[test]
fn properties_the_spec_does_not_declare_are_kept_not_dropped() {
    let text = r#"{"type":"Kafka","bootstrapServers":"b:9092","region":"eu-west-1",
                   "security":{"protocol":"SSL","newThing":{"a":[1,2]}}}"#;
    let original: Value = serde_json::from_str(text).unwrap();
    let connection: StreamsConnection = serde_json::from_str(text).unwrap();
    let StreamsConnection::Kafka(kafka) = &connection else {
        panic!("not Kafka")
    };
    assert_eq!(kafka.extra["region"], "eu-west-1");
    assert_eq!(serde_json::to_value(&connection).unwrap(), original);
}

#[test]
fn write_only_and_password_fields_are_secrets_absent_from_debug() {
    let text = r#"{"type":"Kafka","authentication":{"username":"alice",
        "password":"pw-hunter2","clientSecret":"cs-hunter2","sslKey":"key-hunter2",
        "sslKeyPassword":"kp-hunter2"}}"#;
    let connection: StreamsConnection = serde_json::from_str(text).unwrap();
    let StreamsConnection::Kafka(kafka) = &connection else {
        panic!("not Kafka")
    };
    let auth: &types::StreamsKafkaAuthentication = kafka.authentication.as_ref().unwrap();
    for debug in [
        format!("{connection:?}"),
        format!("{connection:#?}"),
        format!("{kafka:?}"),
        format!("{auth:?}"),
        format!("{:?}", auth.password),
        format!("{:?}", auth.ssl_key),
    ] {
        assert!(
            !debug.contains("hunter2"),
            "a secret leaked into Debug: {debug}"
        );
        assert!(debug.contains("REDACTED"), "{debug}");
    }
    // The username is no secret and stays visible.
    assert!(format!("{auth:?}").contains("alice"));
    // On the wire the secrets are sent as they are.
    let wire = serde_json::to_string(&connection).unwrap();
    for secret in ["pw-hunter2", "cs-hunter2", "key-hunter2", "kp-hunter2"] {
        assert!(wire.contains(secret), "{secret} missing from {wire}");
    }
}

#[test]
fn an_unknown_kind_shows_no_values_in_debug() {
    let text = r#"{"type":"FutureKind","apiKey":"ak-hunter2"}"#;
    let connection: StreamsConnection = serde_json::from_str(text).unwrap();
    let debug = format!("{connection:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(
        debug.contains("FutureKind") && debug.contains("apiKey"),
        "{debug}"
    );
}

#[test]
fn the_version_table_knows_the_operation() {
    let op = atlas_stream_connections::versions_of("createStreamConnection").unwrap();
    assert_eq!(op.operation_id, "create_stream_connection");
    assert_eq!(op.method, "POST");
    assert_eq!(
        op.path,
        "/api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections"
    );
    let versions: Vec<_> = op.versions.iter().map(|v| v.version).collect();
    assert_eq!(versions, ["2023-02-01"]);
    let default = op.default_version().unwrap();
    assert_eq!(
        default.accept(),
        Some("application/vnd.atlas.2023-02-01+json")
    );
    assert_eq!(
        default.request_media_type,
        Some("application/vnd.atlas.2023-02-01+json")
    );
    assert!(default.typed);
}
