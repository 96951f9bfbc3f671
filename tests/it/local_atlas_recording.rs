//! Testing your own code against the local Atlas, as a user of the crate
//! would: what the code sent, write-only members included (an opt-in, held
//! as secrets), the calls it made without the authentication traffic, and
//! the connections Atlas stored, typed.

use std::time::Duration;

use atlas_stream_connections::local_atlas::{Failure, LocalAtlas, RecordedRequest};
use atlas_stream_connections::types::{
    StreamsConnection, StreamsHttpsConnection, StreamsKafkaAuthentication, StreamsKafkaConnection,
    StreamsKafkaSecurity,
};
use atlas_stream_connections::{Client, Error, SecretString, redacted_json};
use serde_json::json;

use crate::support::{
    INSTANCE, PROJECT, TOKEN_PATH, api_path, create_named, local_key_client,
    local_service_account_client,
};

/// The password the code under test sends: must never show.
const KAFKA_PASSWORD: &str = "kafka-password-never-shown-4f1c";
/// The webhook's secret header value: must never show.
const WEBHOOK_TOKEN: &str = "Bearer webhook-token-never-shown-77ab";

/// The code under test: creates the `events` Kafka connection of a
/// SASL_SSL cluster, with SCRAM credentials.
async fn connect_events(
    client: &Client,
    username: &str,
    password: SecretString,
) -> Result<StreamsConnection, Error> {
    let kafka = StreamsKafkaConnection {
        name: Some("events".into()),
        bootstrap_servers: Some("broker-1:9093,broker-2:9093".into()),
        authentication: Some(StreamsKafkaAuthentication {
            mechanism: Some("SCRAM-256".into()),
            username: Some(username.into()),
            password: Some(password),
            ..Default::default()
        }),
        security: Some(StreamsKafkaSecurity {
            protocol: Some("SASL_SSL".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    client
        .create_stream_connection(PROJECT, INSTANCE, &kafka.into())
        .await
}

/// The Kafka connection `connection` is, or a failed test.
fn kafka(connection: StreamsConnection) -> StreamsKafkaConnection {
    match connection {
        StreamsConnection::Kafka(kafka) => kafka,
        other => panic!("not a Kafka connection: {other:?}"),
    }
}

#[tokio::test]
async fn my_code_creates_a_kafka_connection_with_sasl_credentials() {
    let atlas = LocalAtlas::builder()
        .record_secrets(true)
        .start()
        .await
        .unwrap();
    let client = local_key_client(&atlas);
    connect_events(&client, "app", SecretString::new(KAFKA_PASSWORD))
        .await
        .unwrap();

    // The one call the code made, with what it sent.
    let calls = atlas.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", api_path().as_str())
    );
    assert_eq!(call.status, 200);
    let sent = kafka(call.sent_connection().expect("secrets were recorded"));
    let authentication = sent.authentication.expect("authentication sent");
    assert_eq!(authentication.mechanism.as_deref(), Some("SCRAM-256"));
    assert_eq!(authentication.username.as_deref(), Some("app"));
    assert_eq!(
        authentication
            .password
            .as_ref()
            .map(SecretString::expose_secret),
        Some(KAFKA_PASSWORD)
    );
    assert_eq!(
        sent.security.and_then(|s| s.protocol).as_deref(),
        Some("SASL_SSL")
    );
    // The raw body as sent has it too; the body safe to print does not.
    let raw: serde_json::Value =
        serde_json::from_str(call.sent_body().unwrap().expose_secret()).unwrap();
    assert_eq!(raw["authentication"]["password"], KAFKA_PASSWORD);
    let safe = call.json().unwrap();
    assert_eq!(safe["authentication"]["username"], "app");
    assert!(safe["authentication"].get("password").is_none(), "{safe}");

    // What Atlas stored, typed: the connection without its password.
    let stored = atlas.connections();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].group_id.as_str(), stored[0].tenant_name.as_str()),
        (PROJECT, INSTANCE)
    );
    let kept = kafka(stored[0].connection.clone());
    assert_eq!(kept.name.as_deref(), Some("events"));
    assert_eq!(
        kept.bootstrap_servers.as_deref(),
        Some("broker-1:9093,broker-2:9093")
    );
    let authentication = kept.authentication.expect("authentication stored");
    assert_eq!(authentication.username.as_deref(), Some("app"));
    assert_eq!(authentication.password, None);
    assert_eq!(kept.links.len(), 1, "Atlas adds the self link");
}

#[tokio::test]
async fn debug_of_what_was_recorded_never_shows_a_sent_secret() {
    let atlas = LocalAtlas::builder()
        .record_secrets(true)
        .start()
        .await
        .unwrap();
    let client = local_service_account_client(&atlas);
    connect_events(&client, "app", SecretString::new(KAFKA_PASSWORD))
        .await
        .unwrap();
    let webhook = StreamsHttpsConnection {
        name: Some("hook".into()),
        url: Some("https://example.com/hook".into()),
        headers: [("Authorization".to_owned(), WEBHOOK_TOKEN.to_owned())].into(),
        ..Default::default()
    };
    client
        .create_stream_connection(PROJECT, INSTANCE, &webhook.into())
        .await
        .unwrap();
    // A revoke request carries the token in its body.
    client.revoke().await.unwrap();

    let requests = atlas.requests();
    let revoke = requests
        .iter()
        .find(|r| r.path == "/api/oauth/revoke")
        .expect("a revoke request");
    let token = revoke.sent_body().unwrap().expose_secret();
    assert!(token.starts_with("token="), "kept as sent");
    let token = token
        .trim_start_matches("token=")
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    assert!(token.len() >= 16);

    let shown = format!(
        "{requests:?} {:?} {:?} {:?}",
        atlas.calls(),
        atlas.connections(),
        requests
            .iter()
            .map(RecordedRequest::sent_connection)
            .collect::<Vec<_>>()
    );
    for secret in [KAFKA_PASSWORD, WEBHOOK_TOKEN, token.as_str()] {
        assert!(!shown.contains(secret), "{secret} shown in {shown}");
    }
    // What is shown: that a body as sent is held, as a secret; the headers'
    // names.
    assert!(
        shown.contains("sent_body: Some(SecretString(\"[REDACTED]\"))"),
        "{shown}"
    );
    assert!(shown.contains("Authorization"), "{shown}");
    // The webhook header's value is a free-form map's: kept as sent, and
    // shown by neither the stored connection's `Debug` nor `redacted_json`.
    let hook = atlas
        .connections()
        .into_iter()
        .find(|c| c.json()["name"] == "hook")
        .unwrap();
    assert_eq!(hook.json()["headers"]["Authorization"], WEBHOOK_TOKEN);
    let printable = redacted_json(&hook.connection).unwrap().to_string();
    assert!(!printable.contains(WEBHOOK_TOKEN), "{printable}");
}

#[tokio::test]
async fn without_the_opt_in_no_sent_secret_is_kept() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_client(&atlas);
    connect_events(&client, "app", SecretString::new(KAFKA_PASSWORD))
        .await
        .unwrap();
    let requests = atlas.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.sent_body(), None);
        assert_eq!(request.sent_connection(), None);
        let body = String::from_utf8_lossy(&request.body);
        assert!(!body.contains(KAFKA_PASSWORD), "{body}");
        for (_, value) in &request.headers {
            assert!(!value.contains(KAFKA_PASSWORD), "{value}");
        }
    }
    assert!(!format!("{:?}", LocalAtlas::builder()).contains("record_secrets: true"));
    assert!(
        format!("{:?}", LocalAtlas::builder().record_secrets(true))
            .contains("record_secrets: true")
    );
}

#[tokio::test]
async fn calls_leave_out_digest_probes_and_stale_nonces() {
    // Each nonce is good for one answer: every create after the first is
    // a refused answer (stale) and a call.
    let atlas = LocalAtlas::builder()
        .nonce_lifetime(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let client = local_key_client(&atlas);
    for name in ["one", "two", "three"] {
        create_named(&client, name).await.unwrap();
    }
    let statuses = |requests: Vec<RecordedRequest>| -> Vec<u16> {
        requests.into_iter().map(|r| r.status).collect()
    };
    assert_eq!(statuses(atlas.requests()), [401, 200, 401, 200, 401, 200]);
    let calls = atlas.calls();
    assert_eq!(statuses(calls.clone()), [200, 200, 200]);
    let names: Vec<_> = calls
        .iter()
        .map(|c| c.json().unwrap()["name"].clone())
        .collect();
    assert_eq!(names, [json!("one"), json!("two"), json!("three")]);
    assert!(calls.iter().all(RecordedRequest::is_call));
    assert!(
        atlas
            .requests()
            .iter()
            .filter(|r| r.status == 401)
            .all(|r| !r.is_call())
    );
}

#[tokio::test]
async fn calls_leave_out_token_requests_and_keep_refused_calls() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_service_account_client(&atlas);
    create_named(&client, "events").await.unwrap();
    // Refused by the operation, after authentication: still a call.
    let conflict = create_named(&client, "events").await.unwrap_err();
    assert_eq!(
        conflict.status().map(|s| s.as_u16()),
        Some(409),
        "{conflict}"
    );
    // Answered by an injected failure, before authentication: not a call.
    atlas.respond_next(1, Failure::Status(500));
    let failed = create_named(&client, "later").await;
    assert!(failed.is_err(), "{failed:?}");
    // Wrong credentials: never reach the operation.
    let (public, _) = atlas.api_key();
    let stranger = Client::builder()
        .base_url(atlas.base_url())
        .api_key(public, "not-the-private-key")
        .build()
        .unwrap();
    assert!(create_named(&stranger, "stranger").await.is_err());

    let requests = atlas.requests();
    assert!(requests.iter().any(|r| r.path == TOKEN_PATH));
    assert!(requests.iter().any(|r| r.status == 500));
    assert!(requests.iter().any(|r| r.status == 401));
    let calls: Vec<(u16, String)> = atlas
        .calls()
        .into_iter()
        .map(|c| (c.status, c.path))
        .collect();
    assert_eq!(calls, [(200, api_path()), (409, api_path())]);
}

#[tokio::test]
async fn stored_connections_are_typed_and_their_json_is_what_was_answered() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_client(&atlas);
    let answered = connect_events(&client, "app", SecretString::new(KAFKA_PASSWORD))
        .await
        .unwrap();
    let sample: StreamsConnection =
        serde_json::from_value(json!({"type": "Sample", "name": "solar"})).unwrap();
    let sample_answer = client
        .create_stream_connection(PROJECT, "other-instance", &sample)
        .await
        .unwrap();

    let stored = atlas.connections();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[0].connection, answered,
        "typed, as the client read the answer"
    );
    assert_eq!(stored[1].connection, sample_answer);
    assert_eq!(stored[1].tenant_name, "other-instance");
    assert!(matches!(stored[1].connection, StreamsConnection::Sample(_)));
    for connection in &stored {
        // The JSON, as answered, is the typed connection's wire form.
        assert_eq!(
            serde_json::to_value(&connection.connection).unwrap(),
            *connection.json()
        );
        assert!(connection.json()["links"][0]["href"].is_string());
    }
    assert_eq!(stored[1].json()["name"], "solar");
}

#[tokio::test]
async fn a_connection_sent_to_a_wrong_path_or_cut_short_keeps_no_secret() {
    let atlas = LocalAtlas::start().await.unwrap();
    // A wrong base path: the create reaches a path the local Atlas does not
    // serve (404), with the connection and its password in the body.
    let misdirected = Client::builder()
        .base_url(format!("{}/prefix", atlas.base_url()))
        .access_token("a-token")
        .build()
        .unwrap();
    let error = connect_events(&misdirected, "app", SecretString::new(KAFKA_PASSWORD))
        .await
        .unwrap_err();
    assert!(error.as_api_error().is_some(), "{error:?}");
    // A body that is not JSON (here a connection cut short) cannot be
    // searched for secrets.
    let cut = format!(r#"{{"type":"Kafka","authentication":{{"password":"{KAFKA_PASSWORD}"#);
    reqwest::Client::new()
        .post(format!("{}{}", atlas.base_url(), api_path()))
        .header("content-type", "application/json")
        .body(cut)
        .send()
        .await
        .unwrap();
    let requests = atlas.requests();
    assert!(requests.iter().any(|r| r.path.starts_with("/prefix/")));
    assert!(
        requests
            .iter()
            .any(|r| r.path == api_path() && r.body.is_empty())
    );
    for request in &requests {
        let body = String::from_utf8_lossy(&request.body);
        assert!(!body.contains(KAFKA_PASSWORD), "{}: {body}", request.path);
    }
}
