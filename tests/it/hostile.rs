//! Hostile and broken input, against real sockets on 127.0.0.1: names that
//! try to leave the endpoint, answers a little off the spec, and values
//! that may be secrets.

use crate::support::{
    INSTANCE, PROJECT, Reply, Server, assert_no_secret, bearer_client, connections_path,
    create_answered, local_key_client, versioned,
};
use atlas_stream_connections::types::{
    StreamsConnection, StreamsHttpsConnection, StreamsKafkaAuthentication, StreamsKafkaConnection,
};
use atlas_stream_connections::{Client, Error, SecretString, UnknownKind, redacted_json};

fn sample(name: &str) -> StreamsConnection {
    serde_json::from_value(serde_json::json!({"type": "Sample", "name": name})).unwrap()
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The instance segment of `path`, if `path` is the create operation's
/// path with exactly one segment in the instance's place.
fn instance_segment(path: &str) -> Option<&str> {
    let template = connections_path(PROJECT, "{instance}");
    let (prefix, suffix) = template.split_once("{instance}")?;
    path.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .filter(|segment| !segment.contains('/'))
}

/// Names an attacker (or a careless config file) would try. Each either
/// arrives as exactly one segment of the operation's path, decoding back to
/// itself, or is refused before any I/O.
#[tokio::test]
async fn no_tenant_name_leaves_the_endpoint() {
    let answer = r#"{"type":"Sample","name":"s"}"#;
    let server = Server::start(Reply::json(200, versioned(), answer)).await;
    let client = bearer_client(&server.base_url);
    let hostile = [
        "a\\b",
        "..\\..\\..\\..\\orgs\\X",
        "..\\",
        "x\\..",
        "a/b",
        "../../orgs/X",
        "%2e%2e",
        "%2E%2E%5corgs",
        ".%2e",
        "?admin=1",
        "#frag",
        "a b\tc",
        "line\r\nX-Injected: 1",
        "\u{0}\u{1b}[31m",
        "名前/∕／",
        "@evil.example.com",
    ];
    let mut left = 0;
    for (i, instance) in hostile.iter().enumerate() {
        client
            .create_stream_connection(PROJECT, instance, &sample("s"))
            .await
            .unwrap_or_else(|e| panic!("{instance:?}: {e}"));
        let requests = server.requests();
        let line = requests[i].request_line().to_owned();
        let Some(segment) = instance_segment(requests[i].target()) else {
            left += 1;
            eprintln!("{instance:?} left the endpoint: {line}");
            continue;
        };
        assert_eq!(percent_decode(segment), instance.as_bytes(), "{line}");
    }
    assert_eq!(left, 0, "hostile names that left the endpoint");

    // `.` and `..` are dot segments in any encoding URL parsing knows: refused.
    for instance in [".", ".."] {
        let err = client
            .create_stream_connection(PROJECT, instance, &sample("s"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    parameter: "tenantName",
                    ..
                }
            ),
            "{instance}: {err:?}"
        );
    }
    assert_eq!(
        server.requests().len(),
        hostile.len(),
        "a refused call was sent"
    );
}

fn webhook() -> StreamsHttpsConnection {
    StreamsHttpsConnection {
        name: Some("hook".into()),
        url: Some("https://example.com/hook".into()),
        headers: [(
            "Authorization".to_owned(),
            "Bearer webhook-s3cr3t".to_owned(),
        )]
        .into(),
        ..Default::default()
    }
}

/// A Kafka connection with a secret in each place one can hide.
fn kafka_with_secrets() -> StreamsKafkaConnection {
    let mut extra = serde_json::Map::new();
    extra.insert("clientSecret".into(), "extra-s3cr3t".into());
    StreamsKafkaConnection {
        name: Some("k".into()),
        config: [(
            "sasl.jaas.config".to_owned(),
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             username=\"u\" password=\"jaas-s3cr3t\";"
                .to_owned(),
        )]
        .into(),
        authentication: Some(StreamsKafkaAuthentication {
            password: Some(SecretString::new("sasl-s3cr3t")),
            ..Default::default()
        }),
        extra,
        ..Default::default()
    }
}

const SECRETS: [&str; 4] = [
    "webhook-s3cr3t",
    "jaas-s3cr3t",
    "extra-s3cr3t",
    "sasl-s3cr3t",
];

#[test]
fn free_form_maps_show_their_keys_never_their_values() {
    let (webhook, kafka) = (webhook(), kafka_with_secrets());
    let unknown: StreamsConnection = serde_json::from_value(serde_json::json!({
        "type": "FutureKind", "name": "f", "token": "extra-s3cr3t"
    }))
    .unwrap();
    for shown in [
        format!("{webhook:?}"),
        format!("{kafka:?}"),
        format!("{:#?}", StreamsConnection::from(kafka.clone())),
        format!("{unknown:?}"),
    ] {
        assert_no_secret(&shown, &SECRETS, "shown");
    }
    let shown = format!("{webhook:?} {kafka:?}");
    for key in ["Authorization", "sasl.jaas.config", "clientSecret"] {
        assert!(shown.contains(key), "{key} missing from {shown}");
    }
    assert!(shown.contains("https://example.com/hook"), "{shown}");

    // The printable form: the same keys, values `[redacted]`.
    let json = redacted_json(&StreamsConnection::from(kafka.clone())).unwrap();
    assert_no_secret(&json.to_string(), &SECRETS, "shown");
    assert_eq!(json["config"]["sasl.jaas.config"], "[redacted]");
    assert_eq!(json["clientSecret"], "[redacted]");
    assert_eq!(json["authentication"]["password"], "[redacted]");
    assert_eq!(json["name"], "k");
    assert_eq!(
        redacted_json(&webhook).unwrap()["headers"]["Authorization"],
        "[redacted]"
    );
    let json = redacted_json(&unknown).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"type": "FutureKind", "name": "[redacted]", "token": "[redacted]"})
    );

    // The wire form is untouched, before and after.
    let wire = serde_json::to_string(&StreamsConnection::from(kafka)).unwrap();
    for secret in ["jaas-s3cr3t", "extra-s3cr3t", "sasl-s3cr3t"] {
        assert!(wire.contains(secret), "{secret} not sent: {wire}");
    }
    assert!(
        serde_json::to_string(&webhook)
            .unwrap()
            .contains("webhook-s3cr3t")
    );
    let kept = UnknownKind::new(
        "type",
        serde_json::from_str(r#"{"type":"X","k":"v"}"#).unwrap(),
    );
    assert_eq!(
        serde_json::to_value(&kept).unwrap(),
        serde_json::json!({"type": "X", "k": "v"})
    );
}

/// Sends `answer` as the `200` of a create call.
async fn created_with(answer: &str) -> Result<StreamsConnection, Error> {
    create_answered(Reply::json(200, versioned(), answer)).await
}

#[tokio::test]
async fn an_answer_a_little_off_the_spec_still_gives_the_created_connection() {
    // `null` for lists and maps, at every depth.
    let created = created_with(
        r#"{"type":"Kafka","name":"k","links":null,"config":null,
            "authentication":{"mechanism":"PLAIN","links":null}}"#,
    )
    .await
    .unwrap();
    let StreamsConnection::Kafka(kafka) = created else {
        panic!("{created:?}")
    };
    assert!(kafka.links.is_empty() && kafka.config.is_empty());
    assert_eq!(
        kafka.authentication.unwrap().mechanism.as_deref(),
        Some("PLAIN")
    );

    // A response-only value the spec's request pattern would refuse (a real
    // AWS transit gateway route id where the spec says 24 hex digits): kept
    // as sent.
    let answer = r#"{"type":"Kafka","name":"k","networking":{"access":
        {"type":"TRANSIT_GATEWAY","tgwRouteId":"tgw-rtb-0a1b2c3d4e5f67890","connectionId":"vpc-1"}}}"#;
    let created = created_with(answer).await.unwrap();
    let wire = serde_json::to_value(&created).unwrap();
    assert_eq!(
        wire["networking"]["access"]["tgwRouteId"],
        "tgw-rtb-0a1b2c3d4e5f67890"
    );
    assert_eq!(wire["networking"]["access"]["connectionId"], "vpc-1");

    // What a user writes is still checked in full.
    let err = serde_json::from_str::<StreamsConnection>(answer).unwrap_err();
    assert!(err.to_string().contains("pattern"), "{err}");
}

#[tokio::test]
async fn an_unusable_success_answer_says_the_connection_was_created() {
    for answer in [
        r#"{"type":"Kafka","name":42}"#,
        "{\"type\":\"Kafka\",\"na",
        "",
    ] {
        let err = created_with(answer).await.unwrap_err();
        assert_eq!(
            err.server_succeeded().map(|s| s.as_u16()),
            Some(200),
            "{err:?}"
        );
        assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
        assert!(!err.is_retryable());
        let shown = err.to_string();
        assert!(shown.contains("took effect"), "{shown}");
    }
    // An error status is no success.
    let err = create_answered(Reply::json(
        409,
        versioned(),
        "{\"errorCode\":\"DUPLICATE\"}",
    ))
    .await
    .unwrap_err();
    assert_eq!(err.server_succeeded(), None);
}

#[tokio::test]
async fn an_error_body_missing_members_still_gives_its_error_code() {
    for body in [
        r#"{"errorCode":"DUPLICATE_NAME","detail":"taken","reason":"Conflict"}"#,
        r#"{"errorCode":"DUPLICATE_NAME","error":409,"parameters":null,"detail":"taken"}"#,
        r#"{"errorCode":"DUPLICATE_NAME","error":null,"parameters":null,"badRequestDetail":null}"#,
    ] {
        let err = create_answered(Reply::json(409, versioned(), body))
            .await
            .unwrap_err();
        assert_eq!(err.error_code(), Some("DUPLICATE_NAME"), "{body}: {err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    }
}

#[tokio::test]
async fn an_undecodable_answer_never_shows_its_values() {
    let err = created_with(r#"{"type":"Https","name":"h","headers":"Bearer webhook-s3cr3t"}"#)
        .await
        .unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("{err:?}")
    };
    assert!(
        decode.body().windows(14).any(|w| w == b"webhook-s3cr3t"),
        "the bytes are kept"
    );
    for shown in [format!("{err}"), format!("{err:?}"), format!("{err:#?}")] {
        assert_no_secret(&shown, &SECRETS, "shown");
        assert!(shown.contains("invalid type: string"), "{shown}");
    }
}

#[tokio::test]
async fn the_local_atlas_shows_no_secret_of_what_it_stored() {
    use atlas_stream_connections::local_atlas::LocalAtlas;
    let atlas = LocalAtlas::builder().start().await.unwrap();
    let client = local_key_client(&atlas);
    for connection in [
        StreamsConnection::from(webhook()),
        StreamsConnection::from(kafka_with_secrets()),
    ] {
        client
            .create_stream_connection(PROJECT, INSTANCE, &connection)
            .await
            .unwrap();
    }
    let stored = atlas.connections();
    assert_eq!(stored.len(), 2);
    let shown = format!("{stored:?} {:?}", atlas.requests());
    assert_no_secret(&shown, &SECRETS, "shown");
    assert!(
        shown.contains("Authorization") && shown.contains("sasl.jaas.config"),
        "{shown}"
    );
}

/// A captive portal or broken proxy answering `200` where the token or the
/// Digest challenge should come: the operation was never sent, so no
/// connection was created, whatever the status says.
#[tokio::test]
async fn a_success_before_the_operation_is_not_a_created_connection() {
    let portal = "<html>sign in to the hotel wifi</html>";
    let server = Server::start(Reply::json(200, "text/html", portal)).await;
    let service_account = Client::builder()
        .base_url(&server.base_url)
        .service_account("mdb_sa_id_x", "mdb_sa_sk_y")
        .build()
        .unwrap();
    let api_key = Client::builder()
        .base_url(&server.base_url)
        .api_key("public", "private")
        .build()
        .unwrap();
    for client in [service_account, api_key] {
        let err = client
            .create_stream_connection(PROJECT, INSTANCE, &sample("s"))
            .await
            .unwrap_err();
        assert_eq!(err.server_succeeded(), None, "{err}");
        assert!(!err.to_string().contains("took effect"), "{err}");
    }
    // A token request and a bodiless Digest probe; no connection went out.
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].request_line().contains("/api/oauth/token"));
    assert!(
        requests[1]
            .request_line()
            .ends_with("/connections HTTP/1.1")
    );
    assert!(
        requests[1].body.is_empty(),
        "the probe carried the connection"
    );
}

#[tokio::test]
async fn a_response_shows_its_header_names_not_their_values() {
    let server = Server::start(
        Reply::json(200, versioned(), r#"{"type":"Sample","name":"s"}"#)
            .header("Set-Cookie", "session=cookie-s3cr3t"),
    )
    .await;
    let response = bearer_client(&server.base_url)
        .create_stream_connection_with(PROJECT, INSTANCE, &sample("s"), &Default::default())
        .await
        .unwrap();
    let shown = format!("{response:?}");
    assert!(
        shown.contains("set-cookie") && !shown.contains("cookie-s3cr3t"),
        "{shown}"
    );
    assert_eq!(response.headers()["set-cookie"], "session=cookie-s3cr3t");
}
