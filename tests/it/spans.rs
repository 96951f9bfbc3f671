//! The `tracing` spans of a call: one `atlas.call` per call (operation,
//! method, path, API version, status), and under it one `atlas.exchange`
//! per HTTP exchange (kind, attempt, status, elapsed time), never a secret.
//! Captured by the tests' subscriber on a current-thread runtime, against
//! the local Atlas.

use std::time::Duration;

use atlas_stream_connections::local_atlas::{Failure, LocalAtlas};
use atlas_stream_connections::types::{
    StreamsConnection, StreamsKafkaAuthentication, StreamsKafkaConnection,
};
use atlas_stream_connections::{Client, Error};

use crate::support::{
    Captured, CapturedSpan, INSTANCE, PROJECT, Reply, Server, assert_no_secret, connections_path,
    local_key_builder, local_service_account_client, versioned,
};

/// The Kafka password the calls send: it must show in no span.
const KAFKA_PASSWORD: &str = "kafka-password-never-in-a-span";

fn kafka_with_password(name: &str) -> StreamsConnection {
    StreamsKafkaConnection {
        name: Some(name.into()),
        bootstrap_servers: Some("broker-1:9092".into()),
        authentication: Some(StreamsKafkaAuthentication {
            mechanism: Some("PLAIN".into()),
            username: Some("kafka-user".into()),
            password: Some(KAFKA_PASSWORD.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
    .into()
}

/// `(kind, attempt, status)` of each exchange under `call`, in order.
fn exchanges(captured: &Captured, call: &CapturedSpan) -> Vec<(String, String, String)> {
    captured
        .children(call)
        .iter()
        .filter(|s| s.name == "atlas.exchange")
        .map(|s| {
            let field = |name| s.field(name).unwrap_or("-").to_string();
            (field("kind"), field("attempt"), field("status"))
        })
        .collect()
}

fn triple(kind: &str, attempt: u32, status: u16) -> (String, String, String) {
    (kind.into(), attempt.to_string(), status.to_string())
}

/// The spans of a create with `client` that must fail, and its error.
async fn failed_call_captured(client: &Client) -> (Captured, Error) {
    let captured = Captured::default();
    let guard = captured.install();
    let error = client
        .create_stream_connection(PROJECT, INSTANCE, &kafka_with_password("failing"))
        .await
        .unwrap_err();
    drop(guard);
    (captured, error)
}

/// The one call span captured.
fn only_call(captured: &Captured) -> CapturedSpan {
    let calls = captured.spans_named("atlas.call");
    assert_eq!(calls.len(), 1, "one call span:\n{}", captured.tree());
    calls.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_digest_call_with_a_throttled_retry_has_a_span_per_exchange_under_its_call() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_builder(&atlas, atlas.api_key().1.clone())
        .retry_backoff(Duration::from_millis(1), Duration::from_secs(5))
        .build()
        .unwrap();
    // The probe is the first request, the call the second (throttled), its
    // retry the third.
    atlas.respond_every(
        2,
        Failure::TooManyRequests {
            retry_after: Duration::ZERO,
        },
    );
    let captured = Captured::default();
    let guard = captured.install();
    client
        .create_stream_connection(PROJECT, INSTANCE, &kafka_with_password("spans"))
        .await
        .expect("created after one retry");
    drop(guard);
    atlas.respond_every(0, Failure::Status(500));
    println!("{}", captured.tree());

    let call = only_call(&captured);
    assert_eq!(call.parent, None);
    assert_eq!(call.level, tracing::Level::INFO);
    assert_eq!(call.field("operation"), Some("createStreamConnection"));
    assert_eq!(call.field("method"), Some("POST"));
    assert_eq!(
        call.field("path"),
        Some(connections_path(PROJECT, INSTANCE).as_str())
    );
    let version = versioned()
        .split('.')
        .nth(2)
        .and_then(|v| v.strip_suffix("+json"))
        .unwrap();
    assert_eq!(call.field("api_version"), Some(version));
    assert_eq!(call.field("status"), Some("200"));
    assert_eq!(call.field("error"), None);
    assert_eq!(
        exchanges(&captured, &call),
        [
            triple("digest_probe", 1, 401),
            triple("call", 1, 429),
            triple("retry", 2, 200),
        ],
        "{}",
        captured.tree()
    );
    for exchange in captured.children(&call) {
        assert_eq!(exchange.level, tracing::Level::DEBUG);
        assert_eq!(exchange.field("method"), Some("POST"));
        assert_eq!(exchange.field("path"), call.field("path"));
        let elapsed: u64 = exchange.field("elapsed_ms").unwrap().parse().unwrap();
        assert!(elapsed < 60_000, "{elapsed}");
    }
    let (_, private_key) = atlas.api_key();
    let private_key = private_key.expose_secret().to_owned();
    assert_no_secret(
        &format!("{}\n{}", captured.tree(), captured.text()),
        &[KAFKA_PASSWORD, &private_key],
        "the spans and events",
    );
}

#[tokio::test]
async fn a_service_accounts_token_request_is_an_exchange_of_the_call_that_needed_it() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_service_account_client(&atlas);
    let captured = Captured::default();
    let guard = captured.install();
    for name in ["first", "second"] {
        client
            .create_stream_connection(PROJECT, INSTANCE, &kafka_with_password(name))
            .await
            .unwrap();
    }
    drop(guard);
    let calls = captured.spans_named("atlas.call");
    assert_eq!(calls.len(), 2, "{}", captured.tree());
    assert_eq!(
        exchanges(&captured, &calls[0]),
        [triple("token", 1, 200), triple("call", 1, 200)]
    );
    // The token is cached: the second call is one exchange.
    assert_eq!(exchanges(&captured, &calls[1]), [triple("call", 1, 200)]);
    let token_exchange = &captured.children(&calls[0])[0];
    assert_eq!(token_exchange.field("path"), Some("/api/oauth/token"));
    let (_, secret) = atlas.service_account();
    assert_no_secret(
        &format!("{}\n{}", captured.tree(), captured.text()),
        &[KAFKA_PASSWORD, secret.expose_secret()],
        "the spans and events",
    );
}

#[tokio::test]
async fn concurrent_calls_are_told_apart_by_their_spans() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client: Client = local_key_builder(&atlas, atlas.api_key().1.clone())
        .build()
        .unwrap();
    let captured = Captured::default();
    let guard = captured.install();
    let (a, b) = (kafka_with_password("a"), kafka_with_password("b"));
    let (a, b) = tokio::join!(
        client.create_stream_connection(PROJECT, "instance-a", &a),
        client.create_stream_connection(PROJECT, "instance-b", &b),
    );
    drop(guard);
    a.unwrap();
    b.unwrap();
    let calls = captured.spans_named("atlas.call");
    assert_eq!(calls.len(), 2, "{}", captured.tree());
    let mut paths: Vec<&str> = calls.iter().filter_map(|c| c.field("path")).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            connections_path(PROJECT, "instance-a"),
            connections_path(PROJECT, "instance-b")
        ]
    );
    // Each call's exchanges went to its own path, and every exchange has a
    // call (none was made outside, none is counted twice).
    let mut under_calls = 0;
    for call in &calls {
        let children = captured.children(call);
        assert!(!children.is_empty(), "{}", captured.tree());
        for exchange in &children {
            assert_eq!(exchange.field("path"), call.field("path"));
            assert_eq!(exchange.field("status").map(|s| s != "429"), Some(true));
        }
        under_calls += children.len();
    }
    assert_eq!(
        under_calls,
        captured.spans_named("atlas.exchange").len(),
        "{}",
        captured.tree()
    );
}

#[tokio::test]
async fn a_failed_call_records_its_status_and_error_in_its_span() {
    let server = Server::start(Reply::json(
        404,
        "application/json",
        r#"{"error":404,"errorCode":"RESOURCE_NOT_FOUND","detail":"no such instance"}"#,
    ))
    .await;
    let client = crate::support::bearer_client(&server.base_url);
    let (captured, error) = failed_call_captured(&client).await;
    assert!(matches!(error, Error::Api(_)), "{error:?}");
    let call = only_call(&captured);
    assert_eq!(call.field("status"), Some("404"));
    assert_eq!(call.field("error"), Some(error.to_string().as_str()));
    assert_eq!(exchanges(&captured, &call), [triple("call", 1, 404)]);
}

#[tokio::test]
async fn a_call_cut_short_by_its_timeout_says_so_in_its_span() {
    let server = Server::start(Reply::hang()).await;
    let client = crate::support::bearer_builder(&server.base_url)
        .call_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let (captured, error) = failed_call_captured(&client).await;
    assert!(matches!(error, Error::Timeout(_)), "{error:?}");
    let call = only_call(&captured);
    assert_eq!(call.field("error"), Some(error.to_string().as_str()));
    assert_eq!(call.field("status"), None);
    // The exchange was dropped unanswered: no status, no time.
    assert_eq!(
        exchanges(&captured, &call),
        [("call".into(), "1".into(), "-".into())]
    );
}

#[tokio::test]
async fn a_token_refused_before_the_request_left_is_no_status_of_the_call() {
    let refused = Reply::json(401, "application/json", r#"{"error":"invalid_client"}"#);
    let server = Server::serve(move |request| match request.target() {
        crate::support::TOKEN_PATH => refused.clone(),
        _ => crate::support::created(),
    })
    .await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .service_account("mdb_sa_id_test", "mdb_sa_sk_test")
        .build()
        .unwrap();
    let (captured, error) = failed_call_captured(&client).await;
    assert!(matches!(error, Error::Authentication(_)), "{error:?}");
    let call = only_call(&captured);
    // The 401 was the token endpoint's: the call's own request never left.
    assert_eq!(call.field("status"), None, "{}", captured.tree());
    assert_eq!(call.field("error"), Some(error.to_string().as_str()));
    assert_eq!(exchanges(&captured, &call), [triple("token", 1, 401)]);
}

#[tokio::test]
async fn a_read_retried_after_a_5xx_is_one_call_of_its_operation_with_two_exchanges() {
    let body = r#"{"type":"Sample","name":"solar","state":"READY"}"#;
    let server = Server::serve(crate::support::in_turn(vec![
        Reply::status(502),
        Reply::json(200, versioned(), body),
    ]))
    .await;
    let client = crate::support::bearer_builder(&server.base_url)
        .retry_backoff(Duration::ZERO, Duration::from_secs(1))
        .build()
        .unwrap();
    let captured = Captured::default();
    let guard = captured.install();
    client
        .get_stream_connection(PROJECT, INSTANCE, "solar")
        .await
        .unwrap();
    drop(guard);
    let call = only_call(&captured);
    assert_eq!(call.field("operation"), Some("getStreamConnection"));
    assert_eq!(call.field("method"), Some("GET"));
    assert_eq!(
        call.field("path"),
        Some(format!("{}/solar", connections_path(PROJECT, INSTANCE)).as_str())
    );
    assert_eq!(call.field("status"), Some("200"));
    assert_eq!(
        exchanges(&captured, &call),
        [triple("call", 1, 502), triple("retry", 2, 200)]
    );
}
