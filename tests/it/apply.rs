//! `apply` end to end against the local Atlas on 127.0.0.1: run twice it
//! changes nothing the second time; a changed field is updated, and only
//! it; a dry run changes nothing; write-only fields are sent on create and
//! on update only when asked; connections that deploy asynchronously are
//! waited for, a failed deployment is reported; a rate limit is absorbed.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{INSTANCE, PROJECT, local_key_client};
use atlas_stream_connections::apply::{Action, ApplyOptions, ApplyOutcome, Change};
use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::{Client, ConnectionState, Error, Wait, types};

fn connection(value: Value) -> types::StreamsConnection {
    serde_json::from_value(value).unwrap()
}

/// A Sample, a Kafka with a password and a webhook with a header.
fn three(kafka_servers: &str, password: &str) -> Vec<types::StreamsConnection> {
    vec![
        connection(json!({"type": "Sample", "name": "sample_stream_solar"})),
        connection(json!({
            "type": "Kafka", "name": "events", "bootstrapServers": kafka_servers,
            "authentication": {"mechanism": "PLAIN", "username": "u", "password": password},
            "security": {"protocol": "SASL_SSL"},
        })),
        connection(json!({
            "type": "Https", "name": "hook", "url": "https://example.com/hook",
            "headers": {"X-Team": "streams"},
        })),
    ]
}

/// Waits without delay between reads (the local Atlas's states change by
/// the clock, which the reads follow).
fn options() -> ApplyOptions {
    ApplyOptions::new().wait(Some(
        Wait::new()
            .interval(Duration::from_millis(10))
            .timeout(Duration::from_secs(60)),
    ))
}

/// The outcomes of applying `connections`, sorted by name.
async fn apply(
    client: &Client,
    connections: Vec<types::StreamsConnection>,
    options: &ApplyOptions,
) -> Vec<ApplyOutcome> {
    let mut outcomes = client
        .apply_stream_connections(PROJECT, INSTANCE, connections, options)
        .unwrap()
        .collect()
        .await;
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    outcomes
}

fn actions(outcomes: &[ApplyOutcome]) -> Vec<(&str, Action)> {
    outcomes
        .iter()
        .map(|o| match &o.result {
            Ok(applied) => (o.name.as_str(), applied.action),
            Err(error) => panic!("{}: {}", o.name, error.with_causes()),
        })
        .collect()
}

/// The methods of the calls the local Atlas got (authenticated requests
/// that reached an operation), from `from` on.
fn methods(atlas: &LocalAtlas, from: usize) -> Vec<String> {
    atlas.calls()[from..]
        .iter()
        .map(|c| c.method.clone())
        .collect()
}

async fn started() -> LocalAtlas {
    LocalAtlas::builder()
        .record_secrets(true)
        .instance(PROJECT, INSTANCE)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn applied_twice_the_second_apply_changes_nothing() {
    let atlas = started().await;
    let client = local_key_client(&atlas);
    let first = apply(&client, three("broker:9092", "pw"), &options()).await;
    assert_eq!(
        actions(&first),
        [
            ("events", Action::Created),
            ("hook", Action::Created),
            ("sample_stream_solar", Action::Created)
        ]
    );
    for outcome in &first {
        let applied = outcome.result.as_ref().unwrap();
        assert_eq!(applied.state(), Some(ConnectionState::Ready));
        assert!(!applied.dry_run);
        // The password: sent, never compared (a map's values, the
        // webhook's header, are compared: Atlas returns them).
        assert_eq!(applied.secrets_sent, outcome.name == "events");
    }
    assert_eq!(atlas.connections().len(), 3);
    let calls = atlas.calls().len();

    let second = apply(&client, three("broker:9092", "pw"), &options()).await;
    assert_eq!(
        actions(&second),
        [
            ("events", Action::Unchanged),
            ("hook", Action::Unchanged),
            ("sample_stream_solar", Action::Unchanged)
        ]
    );
    for outcome in &second {
        let applied = outcome.result.as_ref().unwrap();
        assert_eq!(applied.changes, [], "{}", outcome.name);
        assert!(!applied.secrets_sent);
    }
    // Only reads: one per connection, nothing written.
    assert_eq!(methods(&atlas, calls), ["GET", "GET", "GET"]);
}

#[tokio::test]
async fn a_changed_field_is_updated_alone_with_the_whole_connection_sent() {
    let atlas = started().await;
    let client = local_key_client(&atlas);
    apply(&client, three("broker:9092", "pw"), &options()).await;
    let calls = atlas.calls().len();

    let outcomes = apply(&client, three("broker-2:9092", "pw"), &options()).await;
    assert_eq!(
        actions(&outcomes),
        [
            ("events", Action::Updated),
            ("hook", Action::Unchanged),
            ("sample_stream_solar", Action::Unchanged)
        ]
    );
    let updated = outcomes[0].result.as_ref().unwrap();
    assert_eq!(
        updated.changes,
        [Change {
            field: "bootstrapServers".into(),
            stored: Some(json!("broker:9092")),
            wanted: json!("broker-2:9092"),
        }]
    );
    assert!(updated.secrets_sent, "an update sends the whole connection");
    let writes: Vec<_> = atlas.calls()[calls..]
        .iter()
        .filter(|c| c.method != "GET")
        .cloned()
        .collect();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].method, "PATCH");
    assert!(
        writes[0].path.ends_with("/connections/events"),
        "{}",
        writes[0].path
    );
    let sent = writes[0].sent_connection().unwrap();
    let sent = serde_json::to_value(&sent).unwrap();
    assert_eq!(sent["authentication"]["password"], "pw");
    assert_eq!(sent["bootstrapServers"], "broker-2:9092");
    let stored = client
        .get_stream_connection(PROJECT, INSTANCE, "events")
        .await
        .unwrap();
    let stored = serde_json::to_value(&stored).unwrap();
    assert_eq!(stored["bootstrapServers"], "broker-2:9092");
    assert!(stored["authentication"].get("password").is_none());
}

#[tokio::test]
async fn a_dry_run_says_what_would_change_and_changes_nothing() {
    let atlas = started().await;
    let client = local_key_client(&atlas);
    let dry = options().dry_run(true);

    let planned = apply(&client, three("broker:9092", "pw"), &dry).await;
    assert!(actions(&planned).iter().all(|(_, a)| *a == Action::Created));
    let events = planned[0].result.as_ref().unwrap();
    assert!(events.dry_run);
    assert!(events.connection.is_none());
    assert!(events.changes.iter().any(|c| c.field == "bootstrapServers"));
    assert!(
        !events.changes.iter().any(|c| c.field.contains("password")),
        "a secret is never listed: {:?}",
        events.changes
    );
    assert!(atlas.connections().is_empty());
    assert!(methods(&atlas, 0).iter().all(|m| m == "GET"));

    apply(&client, three("broker:9092", "pw"), &options()).await;
    let calls = atlas.calls().len();
    let planned = apply(&client, three("broker-2:9092", "pw"), &dry).await;
    assert_eq!(planned[0].result.as_ref().unwrap().action, Action::Updated);
    assert_eq!(methods(&atlas, calls), ["GET", "GET", "GET"]);
    let stored = client
        .get_stream_connection(PROJECT, INSTANCE, "events")
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&stored).unwrap()["bootstrapServers"],
        "broker:9092"
    );
}

#[tokio::test]
async fn a_changed_password_alone_is_sent_only_when_asked() {
    let atlas = started().await;
    let client = local_key_client(&atlas);
    apply(&client, three("broker:9092", "old"), &options()).await;

    let calls = atlas.calls().len();
    let unchanged = apply(&client, three("broker:9092", "new"), &options()).await;
    assert_eq!(
        unchanged[0].result.as_ref().unwrap().action,
        Action::Unchanged
    );
    assert_eq!(methods(&atlas, calls), ["GET", "GET", "GET"]);

    let calls = atlas.calls().len();
    let asked = options().update_secrets(true);
    let outcomes = apply(&client, three("broker:9092", "new"), &asked).await;
    assert_eq!(
        actions(&outcomes),
        [
            ("events", Action::Updated),
            ("hook", Action::Unchanged),
            ("sample_stream_solar", Action::Unchanged)
        ]
    );
    let events = outcomes[0].result.as_ref().unwrap();
    assert!(events.secrets_sent);
    assert_eq!(events.changes, []);
    let patch = atlas.calls()[calls..]
        .iter()
        .find(|c| c.method == "PATCH")
        .cloned()
        .unwrap();
    let sent = serde_json::to_value(patch.sent_connection().unwrap()).unwrap();
    assert_eq!(sent["authentication"]["password"], "new");
}

fn private_kafka(name: &str) -> types::StreamsConnection {
    connection(json!({
        "type": "Kafka", "name": name, "bootstrapServers": "broker:9092",
        "authentication": {"mechanism": "PLAIN", "username": "u", "password": "p"},
        "security": {"protocol": "SASL_SSL"},
        "networking": {"access": {"type": "PRIVATE_LINK", "connectionId": "64b6e34b3d91647abb20e7b9"}},
    }))
}

#[tokio::test]
async fn a_connection_that_deploys_is_waited_for_and_a_failed_deployment_is_reported() {
    let atlas = LocalAtlas::builder()
        .instance(PROJECT, INSTANCE)
        .deployment_time(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let client = local_key_client(&atlas);
    let outcomes = apply(&client, vec![private_kafka("private")], &options()).await;
    let applied = outcomes[0].result.as_ref().unwrap();
    assert_eq!(applied.action, Action::Created);
    assert_eq!(applied.state(), Some(ConnectionState::Ready));
    let reads = methods(&atlas, 0).iter().filter(|m| *m == "GET").count();
    assert!(reads >= 2, "read while PENDING, then READY: {reads}");

    // Without waiting, the outcome says it is still deploying.
    let mut changed = serde_json::to_value(private_kafka("private")).unwrap();
    changed["bootstrapServers"] = json!("broker-2:9092");
    let no_wait = options().wait(None);
    let outcomes = apply(&client, vec![connection(changed.clone())], &no_wait).await;
    let applied = outcomes[0].result.as_ref().unwrap();
    assert_eq!(applied.action, Action::Updated);
    assert_eq!(applied.state(), Some(ConnectionState::Pending));

    atlas.fail_next_deployment();
    changed["bootstrapServers"] = json!("broker-3:9092");
    let outcomes = apply(&client, vec![connection(changed)], &options()).await;
    let Err(Error::State(failed)) = &outcomes[0].result else {
        panic!("{:?}", outcomes[0].result)
    };
    assert_eq!(failed.state(), Some("FAILED"));
    assert!(!failed.timed_out());
    assert_eq!(failed.name(), "private");
    // The update came while the previous one was still deploying: Atlas
    // refused it (409), and apply sent it again until Atlas took it.
    let patches: Vec<u16> = atlas
        .calls()
        .iter()
        .filter(|c| c.method == "PATCH")
        .map(|c| c.status)
        .collect();
    assert_eq!(patches.first(), Some(&200), "{patches:?}");
    assert!(patches[1..].contains(&409), "{patches:?}");
    assert_eq!(patches.last(), Some(&200), "{patches:?}");
}

#[tokio::test]
async fn a_kind_that_changed_is_refused_for_that_connection_alone() {
    let atlas = started().await;
    let client = local_key_client(&atlas);
    apply(&client, three("broker:9092", "pw"), &options()).await;
    let mut wanted = three("broker:9092", "pw");
    wanted[0] =
        connection(json!({"type": "Https", "name": "sample_stream_solar", "url": "https://e"}));
    let calls = atlas.calls().len();
    let outcomes = apply(&client, wanted, &options()).await;
    let refused = &outcomes[2];
    assert_eq!(refused.name, "sample_stream_solar");
    let Err(Error::InvalidInput { parameter, message }) = &refused.result else {
        panic!("{:?}", refused.result)
    };
    assert_eq!(*parameter, "type");
    assert!(
        message.contains("of kind Sample in Atlas, which cannot become Https"),
        "{message}"
    );
    assert!(outcomes[..2].iter().all(|o| o.result.is_ok()));
    assert_eq!(methods(&atlas, calls), ["GET", "GET", "GET"]);
}

#[tokio::test]
async fn nameless_or_twice_named_connections_are_refused_before_any_io() {
    let atlas = started().await;
    let client = local_key_client(&atlas);
    let twice = vec![
        connection(json!({"type": "Sample", "name": "a"})),
        connection(json!({"type": "Sample", "name": "a"})),
    ];
    let nameless = vec![connection(json!({"type": "Sample"}))];
    for (connections, expected) in [
        (twice, "two connections are named `a`"),
        (nameless, "connection 0 (from 0) has no name"),
    ] {
        let refused = client.apply_stream_connections(PROJECT, INSTANCE, connections, &options());
        let Err(Error::InvalidInput { message, .. }) = refused else {
            panic!("{refused:?}")
        };
        assert_eq!(message, expected);
    }
    assert!(atlas.requests().is_empty());
}

#[tokio::test]
async fn many_connections_under_a_rate_limit_all_apply_and_the_429s_are_counted() {
    let atlas = LocalAtlas::builder()
        .instance(PROJECT, INSTANCE)
        .rate_limit(20, 20, Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let client = local_key_client(&atlas);
    let many: Vec<_> = (0..40)
        .map(|n| connection(json!({"type": "Sample", "name": format!("s{n}")})))
        .collect();
    let mut applying = client
        .apply_stream_connections(PROJECT, INSTANCE, many, &options().concurrency(16))
        .unwrap();
    assert_eq!(applying.total(), 40);
    let mut outcomes = Vec::new();
    while let Some(outcome) = applying.next().await {
        outcomes.push(outcome);
    }
    assert_eq!(outcomes.len(), 40);
    assert!(
        actions(&outcomes)
            .iter()
            .all(|(_, a)| *a == Action::Created)
    );
    let absorbed: u64 = outcomes.iter().map(|o| u64::from(o.throttled)).sum();
    assert!(absorbed > 0, "80 calls at 20 a second are throttled");
    assert_eq!(
        absorbed,
        atlas.throttled(),
        "every 429 sent was absorbed and counted"
    );
    assert_eq!(atlas.connections().len(), 40);
}

#[tokio::test]
async fn a_header_added_to_a_webhook_is_an_update_and_a_redacted_copy_is_refused() {
    let atlas = started().await;
    let client = local_key_client(&atlas);
    apply(&client, three("broker:9092", "pw"), &options()).await;
    let mut wanted = three("broker:9092", "pw");
    wanted[2] = connection(json!({
        "type": "Https", "name": "hook", "url": "https://example.com/hook",
        "headers": {"X-Team": "streams", "X-Env": "prod"},
    }));
    let outcomes = apply(&client, wanted, &options()).await;
    let hook = outcomes[1].result.as_ref().unwrap();
    assert_eq!(hook.action, Action::Updated);
    let fields: Vec<_> = hook.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["headers.X-Env"]);
    let stored = client
        .get_stream_connection(PROJECT, INSTANCE, "hook")
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&stored).unwrap()["headers"],
        json!({"X-Team": "streams", "X-Env": "prod"})
    );

    // What `streams get --json` prints, applied back: refused, not stored.
    let shown = atlas_stream_connections::redacted_json(&stored).unwrap();
    let calls = atlas.calls().len();
    let outcomes = apply(&client, vec![connection(shown)], &options()).await;
    let Err(Error::InvalidInput { message, .. }) = &outcomes[0].result else {
        panic!("{:?}", outcomes[0].result)
    };
    assert!(
        message.contains("headers.X-Env, headers.X-Team"),
        "{message}"
    );
    assert_eq!(atlas.calls().len(), calls, "nothing sent");
}

#[tokio::test]
async fn a_connection_being_deleted_is_waited_for_then_created_again() {
    let atlas = LocalAtlas::builder()
        .instance(PROJECT, INSTANCE)
        .deployment_time(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let client = local_key_client(&atlas);
    apply(&client, vec![private_kafka("private")], &options()).await;
    atlas.set_deployment_time(Duration::from_millis(200));
    client
        .delete_stream_connection(PROJECT, INSTANCE, "private")
        .await
        .unwrap();
    assert_eq!(
        atlas.connection_state(PROJECT, INSTANCE, "private"),
        Some(ConnectionState::Deleting)
    );
    let outcomes = apply(&client, vec![private_kafka("private")], &options()).await;
    let applied = outcomes[0].result.as_ref().unwrap();
    assert_eq!(applied.action, Action::Created);
    assert_eq!(applied.state(), Some(ConnectionState::Ready));
    assert_eq!(atlas.connections().len(), 1);
}

#[tokio::test]
async fn a_deployment_that_never_ends_is_no_panic_of_the_local_atlas() {
    let atlas = LocalAtlas::builder()
        .instance(PROJECT, INSTANCE)
        .deployment_time(Duration::MAX)
        .start()
        .await
        .unwrap();
    let client = local_key_client(&atlas);
    let outcomes = apply(&client, vec![private_kafka("never")], &options().wait(None)).await;
    let applied = outcomes[0].result.as_ref().unwrap();
    assert_eq!(applied.state(), Some(ConnectionState::Pending));
    let refused = client
        .delete_stream_connection(PROJECT, INSTANCE, "never")
        .await
        .unwrap_err();
    assert_eq!(
        refused.error_code(),
        Some(atlas_stream_connections::DEPLOYING_ERROR_CODE)
    );
}

/// Answers in turn, with a sample connection named `s` where a `200` is
/// wanted.
fn sample_answers(statuses: &[(u16, &str)]) -> Vec<crate::support::Reply> {
    statuses
        .iter()
        .map(|(status, code)| match status {
            // `code`: the connection's state.
            200 => crate::support::Reply::json(
                200,
                crate::support::versioned(),
                &json!({"type": "Sample", "name": "s", "extra": "stored", "state": match *code {
                    "" => "READY",
                    state => state,
                }})
                .to_string(),
            ),
            _ => crate::support::Reply::json(
                *status,
                "application/json",
                &json!({"error": status, "errorCode": code}).to_string(),
            ),
        })
        .collect()
}

async fn apply_to_server(answers: &[(u16, &str)]) -> (crate::support::Server, ApplyOutcome) {
    let server =
        crate::support::Server::serve(crate::support::in_turn(sample_answers(answers))).await;
    let client = crate::support::bearer_builder(&server.base_url)
        .max_retries(0)
        .build()
        .unwrap();
    let outcome = client
        .apply_stream_connection(
            PROJECT,
            INSTANCE,
            connection(json!({"type": "Sample", "name": "s"})),
            &options(),
        )
        .await
        .unwrap();
    (server, outcome)
}

fn methods_sent(server: &crate::support::Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| r.method().to_owned())
        .collect()
}

#[tokio::test]
async fn a_read_that_fails_otherwise_than_404_creates_nothing() {
    let (server, outcome) = apply_to_server(&[(403, "FORBIDDEN")]).await;
    assert_eq!(
        outcome.result.unwrap_err().status().map(|s| s.as_u16()),
        Some(403)
    );
    assert_eq!(methods_sent(&server), ["GET"]);
}

#[tokio::test]
async fn a_create_refused_as_existing_compares_with_what_exists_and_another_refusal_is_the_outcome()
{
    let (server, outcome) = apply_to_server(&[
        (404, "STREAM_CONNECTION_NOT_FOUND_FOR_NAME"),
        (409, "DUPLICATE_STREAM_CONNECTION"),
        (200, ""),
    ])
    .await;
    assert_eq!(outcome.result.unwrap().action, Action::Unchanged);
    assert_eq!(methods_sent(&server), ["GET", "POST", "GET"]);

    let (server, outcome) = apply_to_server(&[
        (404, "STREAM_CONNECTION_NOT_FOUND_FOR_NAME"),
        (400, "INVALID_ATTRIBUTE"),
        (200, ""),
    ])
    .await;
    assert_eq!(
        outcome.result.unwrap_err().error_code(),
        Some("INVALID_ATTRIBUTE")
    );
    assert_eq!(methods_sent(&server), ["GET", "POST"]);
}

#[tokio::test]
async fn a_throttled_apply_pauses_as_a_whole_rather_than_hammering_atlas() {
    // The client retries nothing itself: every 429 is the apply's to wait
    // out. Without the shared pause, each connection would send again at
    // once, hundreds of times a second, until the bucket refills.
    let atlas = LocalAtlas::builder()
        .instance(PROJECT, INSTANCE)
        .rate_limit(8, 8, Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let client = crate::support::local_key_builder(&atlas, atlas.api_key().1.clone())
        .max_retries(0)
        .build()
        .unwrap();
    let many: Vec<_> = (0..12)
        .map(|n| connection(json!({"type": "Sample", "name": format!("s{n}")})))
        .collect();
    let applying = client
        .apply_stream_connections(PROJECT, INSTANCE, many, &options().concurrency(12))
        .unwrap();
    assert_eq!(format!("{applying:?}"), "Applying { total: 12, .. }");
    // Consumed as a `Stream`, through the combinators of futures.
    let outcomes: Vec<ApplyOutcome> = futures_util::StreamExt::collect(applying).await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let absorbed: u64 = outcomes.iter().map(|o| u64::from(o.throttled)).sum();
    assert_eq!(absorbed, atlas.throttled());
    assert!(
        (1..=48).contains(&absorbed),
        "24 requests against 8 a second, 12 at a time: {absorbed} 429s"
    );
}

#[tokio::test]
async fn a_429_waited_out_before_a_call_timed_out_is_still_counted() {
    let throttled = crate::support::Reply::json(
        429,
        "application/json",
        r#"{"error":429,"errorCode":"RATE_LIMITED_TOKEN_BUCKET"}"#,
    )
    .header("Retry-After", "0");
    let server = crate::support::Server::serve(crate::support::in_turn(vec![
        throttled,
        crate::support::Reply::hang(),
    ]))
    .await;
    let client = crate::support::bearer_builder(&server.base_url)
        .retry_backoff(Duration::ZERO, Duration::from_secs(1))
        .call_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let outcome = client
        .apply_stream_connection(
            PROJECT,
            INSTANCE,
            connection(json!({"type": "Sample", "name": "s"})),
            &options(),
        )
        .await
        .unwrap();
    let Err(error @ Error::Timeout(_)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert_eq!(error.throttled(), 1);
    assert_eq!(outcome.throttled, 1);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_failed_deployment_answered_at_once_is_reported_without_reading_again() {
    let (server, outcome) = apply_to_server(&[
        (404, "STREAM_CONNECTION_NOT_FOUND_FOR_NAME"),
        (200, "FAILED"),
    ])
    .await;
    let Err(Error::State(failed)) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert_eq!(failed.state(), Some("FAILED"));
    assert_eq!(methods_sent(&server), ["GET", "POST"]);
}

#[tokio::test]
async fn an_update_refused_otherwise_than_while_deploying_is_not_sent_again() {
    // Atlas holds `extra: "stored"`, which the connection given sets
    // otherwise: an update is due, and Atlas refuses it.
    let answers = sample_answers(&[(200, ""), (400, "INVALID_ATTRIBUTE"), (200, "")]);
    let server = crate::support::Server::serve(crate::support::in_turn(answers)).await;
    let client = crate::support::bearer_builder(&server.base_url)
        .max_retries(0)
        .build()
        .unwrap();
    let outcome = client
        .apply_stream_connection(
            PROJECT,
            INSTANCE,
            connection(json!({"type": "Sample", "name": "s", "extra": "wanted"})),
            &options(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.result.unwrap_err().error_code(),
        Some("INVALID_ATTRIBUTE")
    );
    assert_eq!(methods_sent(&server), ["GET", "PATCH"]);
}
