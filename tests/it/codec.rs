//! The generated types' one-pass decoding and direct encoding
//! (codegen/codec.rs, codegen/unions.rs): wherever the tag sits, whatever
//! comes twice, through any serde `Deserializer` and `Serializer`, and with
//! errors that say where.

use atlas_stream_connections::redacted_json;
use atlas_stream_connections::types::{
    ApiError, NetworkingAccessType, StreamsConnection, StreamsKafkaConnection,
};
use serde::de::IntoDeserializer;
use serde::de::value::{Error as ValueError, MapDeserializer};
use serde_json::{Value, json};

use crate::support::SEED_RESPONSES;

fn decode(text: &str) -> StreamsConnection {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn decode_err(text: &str) -> String {
    match serde_json::from_str::<StreamsConnection>(text) {
        Ok(decoded) => panic!("{text} decoded: {decoded:?}"),
        Err(e) => e.to_string(),
    }
}

fn kafka(connection: StreamsConnection) -> StreamsKafkaConnection {
    match connection {
        StreamsConnection::Kafka(kafka) => kafka,
        other => panic!("not Kafka: {other:?}"),
    }
}

/// `text` decoded, and as JSON again.
fn round_trip(text: &str) -> Value {
    serde_json::to_value(decode(text)).unwrap()
}

#[test]
fn the_tag_may_come_first_in_between_or_last() {
    let first = r#"{"type":"Kafka","name":"n","links":[{"rel":"self","href":"h"}],"x":1}"#;
    let between = r#"{"name":"n","links":[{"rel":"self","href":"h"}],"type":"Kafka","x":1}"#;
    let last = r#"{"name":"n","links":[{"rel":"self","href":"h"}],"x":1,"type":"Kafka"}"#;
    let expected = kafka(decode(first));
    assert_eq!(expected.name.as_deref(), Some("n"));
    assert_eq!(expected.links[0].href.as_deref(), Some("h"));
    assert_eq!(expected.extra["x"], 1);
    for text in [between, last] {
        assert_eq!(kafka(decode(text)), expected, "{text}");
        assert_eq!(
            round_trip(text),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }
}

#[test]
fn every_seed_response_decodes_the_same_with_its_tag_moved_first() {
    for (kind, text) in SEED_RESPONSES {
        let Value::Object(object) = serde_json::from_str::<Value>(text).unwrap() else {
            panic!("{kind}: not an object")
        };
        let others = object
            .iter()
            .filter(|(name, _)| *name != "type")
            .map(|(name, value)| format!("{}:{value}", Value::from(name.as_str())));
        let moved = format!(
            "{{\"type\":{},{}}}",
            object["type"],
            others.collect::<Vec<_>>().join(",")
        );
        assert!(moved.starts_with("{\"type\":"), "{moved}");
        assert_eq!(decode(text), decode(&moved), "{kind}");
        assert_eq!(round_trip(text), Value::Object(object), "{kind}");
    }
}

#[test]
fn a_tag_given_twice_must_name_the_same_kind() {
    let same = decode(r#"{"type":"Kafka","name":"n","type":"Kafka"}"#);
    assert_eq!(kafka(same.clone()).name.as_deref(), Some("n"));
    assert_eq!(
        serde_json::to_value(&same).unwrap(),
        json!({"type": "Kafka", "name": "n"})
    );
    for text in [
        r#"{"type":"Kafka","type":"Cluster"}"#,
        r#"{"type":"Kafka","name":"n","type":7}"#,
    ] {
        let err = decode_err(text);
        assert!(
            err.contains("StreamsConnection of kind `Kafka`: the `type` property is given twice"),
            "{text}: {err}"
        );
    }
    // An unknown kind may not become a known one either.
    let err = decode_err(r#"{"type":"Future","a":1,"type":"Kafka"}"#);
    assert!(
        err.starts_with("StreamsConnection: the `type` property is given twice"),
        "{err}"
    );
    let again = decode(r#"{"type":"Future","a":1,"type":"Future"}"#);
    assert_eq!(
        serde_json::to_value(again).unwrap(),
        json!({"type": "Future", "a": 1})
    );
}

#[test]
fn a_property_given_twice_keeps_its_last_value_as_a_json_value_does() {
    for text in [
        r#"{"type":"Kafka","name":"a","name":"b","x":1,"x":2}"#,
        r#"{"name":"a","x":1,"type":"Kafka","name":"b","x":2}"#,
        r#"{"name":"a","x":1,"name":"b","x":2,"type":"Kafka"}"#,
    ] {
        let decoded = kafka(decode(text));
        assert_eq!(decoded.name.as_deref(), Some("b"), "{text}");
        assert_eq!(decoded.extra["x"], 2, "{text}");
    }
    let nested = r#"{"type":"Kafka","authentication":{"username":"u","username":"v"}}"#;
    let auth = kafka(decode(nested)).authentication.unwrap();
    assert_eq!(auth.username.as_deref(), Some("v"));
    let error: ApiError =
        serde_json::from_str(r#"{"error":400,"errorCode":"A","errorCode":"B"}"#).unwrap();
    assert_eq!(error.error_code, "B");
}

#[test]
fn unknown_properties_before_and_after_the_tag_are_kept_whole_and_written_after_the_fields() {
    let text = r#"{"zeta":{"deep":[1,-2,3.5,true,null,{"a":"b"}]},"name":"n",
        "type":"Kafka","bootstrapServers":"b:9092","alpha":"x\"y","f":7.417737816949367e-172}"#;
    let decoded = kafka(decode(text));
    assert_eq!(
        decoded.extra["zeta"],
        json!({"deep": [1, -2, 3.5, true, null, {"a": "b"}]})
    );
    assert_eq!(decoded.extra["alpha"], "x\"y");
    assert_eq!(
        decoded.extra["f"].as_f64(),
        Some(7.417737816949367e-172),
        "a float kept exactly"
    );
    let written = serde_json::to_string(&StreamsConnection::Kafka(decoded)).unwrap();
    // The tag, the known fields in their order, then `extra`.
    let expected_start = r#"{"type":"Kafka","bootstrapServers":"b:9092","name":"n","#;
    assert!(written.starts_with(expected_start), "{written}");
    assert_eq!(
        serde_json::from_str::<Value>(&written).unwrap(),
        serde_json::from_str::<Value>(text).unwrap()
    );
}

#[test]
fn an_unknown_kind_keeps_what_came_before_and_after_its_tag() {
    let text = r#"{"links":[{"href":"h"}],"n":-1,"big":18446744073709551615,
        "type":"SchemaRegistry","urls":["https://r"],"nested":{"type":"Kafka"}}"#;
    let StreamsConnection::Unknown(unknown) = decode(text) else {
        panic!("not unknown")
    };
    assert_eq!(unknown.kind(), "SchemaRegistry");
    let original: Value = serde_json::from_str(text).unwrap();
    assert_eq!(Value::Object(unknown.as_json().clone()), original);
    assert_eq!(Value::Object(unknown.into_json()), original);
}

#[test]
fn null_where_a_list_or_map_is_expected_reads_as_empty_before_and_after_the_tag() {
    for text in [
        r#"{"type":"Kafka","links":null,"config":null,"name":null}"#,
        r#"{"links":null,"config":null,"name":null,"type":"Kafka"}"#,
    ] {
        let decoded = kafka(decode(text));
        assert!(decoded.links.is_empty() && decoded.config.is_empty());
        assert_eq!(decoded.name, None);
        assert_eq!(round_trip(text), json!({"type": "Kafka"}));
    }
    let error: ApiError =
        serde_json::from_str(r#"{"error":400,"errorCode":"X","parameters":null}"#).unwrap();
    assert!(error.parameters.is_empty());
}

#[test]
fn a_wrong_type_names_the_kind_and_where_it_is_before_or_after_the_tag() {
    let after = decode_err("{\"type\":\"Kafka\",\n\"security\":{\"protocol\":[]}\n}");
    assert_eq!(
        after,
        "StreamsConnection of kind `Kafka`: invalid type: sequence, expected a string at line 2 column 23"
    );
    let before = decode_err(r#"{"bootstrapServers":42,"type":"Kafka"}"#);
    assert!(
        before.starts_with(
            "StreamsConnection of kind `Kafka`: invalid type: integer `42`, expected a string"
        ),
        "{before}"
    );
    let nested = decode_err(r#"{"links":[{"href":1}],"type":"Sample"}"#);
    assert!(
        nested.contains("of kind `Sample`: invalid type: integer `1`"),
        "{nested}"
    );
    // The tag missing, or not a string, wherever the object ends.
    let missing = decode_err(r#"{"name":"x","links":[]}"#);
    assert!(
        missing.starts_with("StreamsConnection: missing the `type` property that tells its kind"),
        "{missing}"
    );
    let number = decode_err(r#"{"name":"x","type":{"a":1}}"#);
    assert!(
        number.starts_with("StreamsConnection: the `type` property must be a string"),
        "{number}"
    );
    assert_eq!(
        decode_err(r#""Kafka""#),
        "invalid type: string \"Kafka\", expected a map at line 1 column 7"
    );
}

#[test]
fn missing_required_fields_and_wrong_shapes_of_plain_structs_are_errors_as_before() {
    let cases = [
        (
            r#"{"errorCode":"X"}"#,
            "missing field `error` at line 1 column 17",
        ),
        (
            r#"{"error":"400","errorCode":"X"}"#,
            "invalid type: string \"400\", expected i32",
        ),
        (
            r#"{"error":null,"errorCode":"X"}"#,
            "invalid type: null, expected i32",
        ),
        (
            r#"{"error":400,"errorCode":"X","badRequestDetail":{"fields":[{"field":"a"}]}}"#,
            "missing field `description`",
        ),
        (
            r#"[400,"X"]"#,
            "invalid type: sequence, expected struct ApiError",
        ),
    ];
    for (text, expected) in cases {
        let err = serde_json::from_str::<ApiError>(text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(expected), "{text}: {err}");
    }
}

#[test]
fn values_and_other_deserializers_read_the_same_as_bytes() {
    for (kind, text) in SEED_RESPONSES {
        let value: Value = serde_json::from_str(text).unwrap();
        let from_value: StreamsConnection = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(from_value, decode(text), "{kind}");
        assert_eq!(serde_json::to_value(&from_value).unwrap(), value, "{kind}");
    }
    // serde's own map deserializer: names and values as borrowed `&str`s
    // it does not lend for longer, the tag last.
    let entries = [
        ("name", "n"),
        ("bootstrapServers", "b"),
        ("new", "x"),
        ("type", "Kafka"),
    ];
    let deserializer: MapDeserializer<'_, _, ValueError> =
        MapDeserializer::new(entries.into_iter());
    let decoded = kafka(serde::Deserialize::deserialize(deserializer).unwrap());
    assert_eq!(decoded.bootstrap_servers.as_deref(), Some("b"));
    assert_eq!(decoded.extra["new"], "x");
    let unknown: Result<StreamsConnection, ValueError> = serde::Deserialize::deserialize(
        MapDeserializer::new([("type", "Future"), ("a", "b")].into_iter()),
    );
    assert_eq!(
        serde_json::to_value(unknown.unwrap()).unwrap(),
        json!({"type": "Future", "a": "b"})
    );
    let not_a_map: Result<StreamsConnection, ValueError> =
        serde::Deserialize::deserialize("Kafka".into_deserializer());
    assert!(not_a_map.is_err());
}

#[test]
fn what_json_cannot_hold_is_refused_with_what_was_expected() {
    let numbered: Result<StreamsKafkaConnection, ValueError> =
        serde::Deserialize::deserialize(MapDeserializer::new([(1_u32, "x")].into_iter()));
    assert_eq!(
        numbered.unwrap_err().to_string(),
        "invalid type: integer `1`, expected a property name"
    );
    let bytes: &[u8] = b"x";
    let before_the_tag: Result<StreamsConnection, ValueError> = serde::Deserialize::deserialize(
        MapDeserializer::new([("name", bytes), ("type", b"Kafka")].into_iter()),
    );
    assert_eq!(
        before_the_tag.unwrap_err().to_string(),
        "invalid type: byte array, expected any valid JSON value"
    );
}

#[test]
fn a_struct_decoded_alone_keeps_a_tag_it_does_not_know_in_extra() {
    let alone: StreamsKafkaConnection =
        serde_json::from_str(r#"{"type":"Kafka","networking":{"access":{"type":"VPC"}}}"#).unwrap();
    assert_eq!(alone.extra["type"], "Kafka");
    let access = alone.networking.unwrap().access.unwrap();
    assert_eq!(access.type_, Some(NetworkingAccessType::Vpc));
}

#[test]
fn a_union_nested_before_the_tag_as_deep_as_json_allows_still_decodes() {
    let depth = 120;
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let text = format!(r#"{{"deep":{deep},"type":"Kafka"}}"#);
    let decoded = kafka(decode(&text));
    assert_eq!(
        decoded.extra["deep"],
        serde_json::from_str::<Value>(&deep).unwrap()
    );
}

#[test]
fn secrets_and_free_form_values_stay_redacted_and_the_wire_form_stays_whole() {
    let text = r#"{"config":{"sasl.jaas.config":"pw-hunter2"},"type":"Kafka",
        "authentication":{"password":"pw-hunter2","mechanism":"PLAIN"},"token":"tk-hunter2"}"#;
    let connection = decode(text);
    let shown = redacted_json(&connection).unwrap();
    assert_eq!(shown["config"]["sasl.jaas.config"], "[redacted]");
    assert_eq!(shown["token"], "[redacted]");
    assert_eq!(shown["authentication"]["mechanism"], "PLAIN");
    assert!(!shown.to_string().contains("hunter2"), "{shown}");
    assert!(!format!("{connection:?}").contains("hunter2"));
    let wire = serde_json::to_value(&connection).unwrap();
    assert_eq!(wire, serde_json::from_str::<Value>(text).unwrap());
}

#[test]
fn a_tag_in_extra_is_written_once_when_it_names_the_kind_and_refused_when_not() {
    let mut open = kafka(decode(r#"{"type":"Kafka","name":"n"}"#));
    open.extra.insert("type".into(), json!("Kafka"));
    let connection = StreamsConnection::Kafka(open.clone());
    let written = serde_json::to_string(&connection).unwrap();
    assert_eq!(written, r#"{"type":"Kafka","name":"n"}"#);
    // As decoding reads the tag given twice with the same kind.
    let again = kafka(decode(r#"{"type":"Kafka","name":"n","type":"Kafka"}"#));
    assert_eq!(decode(&written), StreamsConnection::Kafka(again));
    assert_eq!(
        redacted_json(&connection).unwrap(),
        json!({"type": "Kafka", "name": "n"})
    );
    // The struct written alone is no kind of a union: its `extra` is whole.
    assert_eq!(
        serde_json::to_value(&open).unwrap(),
        json!({"name": "n", "type": "Kafka"})
    );
    // Another value: what decoding refuses, encoding refuses, naming the
    // property, never the value (which may be anything the user put there),
    // and before it writes anything.
    for other in [json!("Cluster"), json!(7), json!(null), json!("pw-hunter2")] {
        open.extra.insert("type".into(), other.clone());
        let connection = StreamsConnection::Kafka(open.clone());
        let mut out = Vec::new();
        let err = serde_json::to_writer(&mut out, &connection)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the `type` property is given twice, with different values"),
            "{other}: {err}"
        );
        assert!(
            !err.contains("hunter2") && !err.contains("Cluster"),
            "{err}"
        );
        assert!(out.is_empty(), "{other}: {}", String::from_utf8_lossy(&out));
        let redacted = redacted_json(&connection).unwrap_err().to_string();
        assert_eq!(redacted, err);
        let text = format!(r#"{{"type":"Kafka","name":"n","type":{other}}}"#);
        assert!(decode_err(&text).contains("is given twice"), "{text}");
    }
}

#[test]
fn every_kind_writes_its_tag_once_with_the_tag_in_extra_too() {
    // The kind with `type` put into its `extra` as well, naming the kind.
    fn tagged_twice(connection: StreamsConnection, kind: &str) -> StreamsConnection {
        macro_rules! with_tag_in_extra {
            ($($variant:ident),*) => {
                match connection {
                    $(StreamsConnection::$variant(mut known) => {
                        known.extra.insert("type".into(), json!(kind));
                        StreamsConnection::$variant(known)
                    })*
                    other => panic!("a kind this test does not list: {other:?}"),
                }
            };
        }
        with_tag_in_extra!(
            Sample,
            Cluster,
            Kafka,
            Https,
            AwsLambda,
            S3,
            AwsKinesisDataStreams
        )
    }
    // Every kind the spec declares is listed above (a new one fails here).
    for kind in StreamsConnection::KNOWN_KINDS {
        let connection = decode(&format!(r#"{{"type":"{kind}","name":"n"}}"#));
        let written = serde_json::to_string(&tagged_twice(connection, kind)).unwrap();
        assert_eq!(
            written,
            format!(r#"{{"type":"{kind}","name":"n"}}"#),
            "{kind}"
        );
    }
}
