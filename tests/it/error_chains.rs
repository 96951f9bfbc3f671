//! `Error`'s `Display` and its `source()` chain, for errors made over HTTP
//! on 127.0.0.1 (a refused connection, a timeout, a body that does not
//! decode, an Atlas error): walking the chain prints each text once (an
//! error does not repeat its source's text), and no secret of the request
//! shows anywhere in it.

use std::error::Error as _;
use std::time::Duration;

use crate::support::{INSTANCE, PROJECT, Reply, Server, assert_no_secret, versioned};
use atlas_stream_connections::types::StreamsConnection;
use atlas_stream_connections::{Client, Error};

const TOKEN: &str = "bearer-token-never-shown";
const PASSWORD: &str = "kafka-password-never-shown";

/// A Kafka connection with a password, which the call sends.
fn kafka_with_password() -> StreamsConnection {
    serde_json::from_value(serde_json::json!({
        "type": "Kafka",
        "name": "events",
        "bootstrapServers": "broker-1:9092",
        "authentication": {"mechanism": "PLAIN", "username": "alice", "password": PASSWORD},
    }))
    .unwrap()
}

/// The error of a create sent to `base_url` with a 300 ms timeout.
async fn create_error(base_url: &str) -> Error {
    let client = Client::builder()
        .base_url(base_url)
        .access_token(TOKEN)
        .timeout(Duration::from_millis(300))
        .max_retries(0)
        .build()
        .unwrap();
    client
        .create_stream_connection(PROJECT, INSTANCE, &kafka_with_password())
        .await
        .unwrap_err()
}

/// The `Display` of `error` and of each of its sources, in turn.
fn chain(error: &Error) -> Vec<String> {
    let mut texts = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(error) = cause {
        texts.push(error.to_string());
        cause = error.source();
    }
    texts
}

/// Checks that no text of `error`'s chain holds a later one, nor a secret,
/// and that [`Error::with_causes`] is the chain joined; returns the chain.
fn checked(error: &Error, what: &str) -> Vec<String> {
    let texts = chain(error);
    for (i, outer) in texts.iter().enumerate() {
        for inner in &texts[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "{what}: `{inner}` is shown twice, in `{outer}` and as its source"
            );
        }
    }
    let joined = texts.join(": ");
    assert_eq!(error.with_causes().to_string(), joined, "{what}");
    for shown in [joined, format!("{error:?}")] {
        assert_no_secret(&shown, &[TOKEN, PASSWORD], what);
    }
    texts
}

#[tokio::test]
async fn a_refused_connection_says_why_once_in_its_source() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = create_error(&base_url).await;
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    // The request never left: safe to send again.
    assert!(error.is_retryable());
    let texts = checked(&error, "refused");
    assert!(texts.len() > 1, "the cause is a source: {texts:?}");
    assert!(texts[0].contains("could not connect"), "{texts:?}");
    let last = texts.last().unwrap().to_lowercase();
    assert!(
        last.contains("refused"),
        "the io error ends the chain: {texts:?}"
    );
}

#[tokio::test]
async fn a_timeout_names_the_request_and_leaves_the_cause_to_its_source() {
    let server = Server::start(Reply::hang()).await;
    let error = create_error(&server.base_url).await;
    assert!(matches!(error, Error::Timeout(_)), "{error:?}");
    // Sent, and perhaps acted on: not to be sent again blindly.
    assert!(!error.is_retryable());
    let texts = checked(&error, "timeout");
    assert!(texts[0].contains("timed out"), "{texts:?}");
    assert!(texts[0].contains("POST /api/atlas/v2/groups/"), "{texts:?}");
    assert!(texts.len() > 1, "{texts:?}");
}

#[tokio::test]
async fn a_body_that_does_not_decode_and_an_api_error_have_no_source() {
    let not_a_connection = Reply::json(200, versioned(), r#"{"type":"Kafka","name":7}"#);
    let atlas_error = Reply::json(
        400,
        "application/json",
        r#"{"error":400,"errorCode":"INVALID_ATTRIBUTE","detail":"Invalid attribute name.","reason":"Bad Request"}"#,
    );
    for (reply, what) in [(not_a_connection, "decode"), (atlas_error, "API error")] {
        let server = Server::start(reply).await;
        let error = create_error(&server.base_url).await;
        match what {
            "decode" => assert!(matches!(error, Error::Decode(_)), "{error:?}"),
            _ => assert!(matches!(error, Error::Api(_)), "{error:?}"),
        }
        assert_eq!(checked(&error, what).len(), 1, "{what}: {error:?}");
    }
}
