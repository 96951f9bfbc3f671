//! The whole-call timeout (`ClientBuilder::call_timeout`, per call
//! `CallOptions::call_timeout`) beside the per-exchange one
//! (`ClientBuilder::timeout`): which passed is told by
//! `TransportError::call_timeout`, a call's token request counts against
//! it, and a retry's wait that would outlast it is not begun.

use std::time::Duration;

use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::{CallOptions, Client, Error, TransportError};
use tokio::io::AsyncWriteExt;

use crate::support::{
    INSTANCE, PROJECT, Reply, Server, TOKEN_PATH, api_path, bearer_builder, create, create_named,
    kafka, kafka_named, local_key_builder, read_request,
};

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(60);

/// The error's details, for an [`Error::Timeout`].
fn timed_out(error: &Error) -> &TransportError {
    match error {
        Error::Timeout(e) => e,
        other => panic!("not a timeout: {other:?}"),
    }
}

/// The error of a create sent to a server that never answers, each
/// exchange allowed `timeout` and the call `call_timeout`.
async fn unanswered(timeout: Duration, call_timeout: Duration) -> Error {
    let server = Server::start(Reply::hang()).await;
    let client = bearer_builder(&server.base_url)
        .timeout(timeout)
        .call_timeout(call_timeout)
        .build()
        .unwrap();
    create(&client).await.unwrap_err()
}

#[tokio::test]
async fn a_call_that_outlasts_its_call_timeout_says_so() {
    let error = unanswered(LONG, SHORT).await;
    let timeout = timed_out(&error);
    assert_eq!(timeout.call_timeout(), Some(SHORT));
    assert!(timeout.source().is_none());
    assert!(std::error::Error::source(&error).is_none());
    assert_eq!(error.request(), Some(("POST", api_path().as_str())));
    assert_eq!(
        error.to_string(),
        format!(
            "POST {}: timed out: the call's timeout (200ms) passed",
            api_path()
        )
    );
    // Sent, not answered: it may have been acted on, and is not retryable.
    assert_eq!(error.server_succeeded(), None);
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn an_exchange_that_outlasts_its_timeout_is_told_from_the_calls() {
    let error = unanswered(SHORT, LONG).await;
    let timeout = timed_out(&error);
    assert_eq!(timeout.call_timeout(), None);
    assert!(timeout.source().is_some_and(reqwest::Error::is_timeout));
    assert!(std::error::Error::source(&error).is_some());
    assert!(
        error
            .to_string()
            .ends_with("timed out: the exchange's timeout passed"),
        "{error}"
    );
}

#[tokio::test]
async fn a_calls_options_bound_it_instead_of_the_clients() {
    // Answered after twice the short time: in time for the long bound only.
    let server = Server::start(crate::support::created().delayed(SHORT * 2)).await;
    let short_client = bearer_builder(&server.base_url)
        .call_timeout(SHORT)
        .build()
        .unwrap();
    let long = CallOptions::new().call_timeout(LONG);
    short_client
        .create_stream_connection_with(PROJECT, INSTANCE, &kafka(), &long)
        .await
        .expect("the call's own, longer, timeout applies");
    let long_client = bearer_builder(&server.base_url)
        .call_timeout(LONG)
        .build()
        .unwrap();
    let short = CallOptions::new().call_timeout(SHORT);
    let error = long_client
        .create_stream_connection_with(PROJECT, INSTANCE, &kafka(), &short)
        .await
        .unwrap_err();
    assert_eq!(timed_out(&error).call_timeout(), Some(SHORT));
}

#[tokio::test]
async fn a_retry_whose_wait_would_outlast_the_call_is_not_waited_for() {
    let throttled = Reply::json(
        429,
        "application/json",
        r#"{"error":429,"errorCode":"RATE_LIMITED","detail":"slow down"}"#,
    )
    .header("Retry-After", "30");
    let server = Server::start(throttled).await;
    let client = bearer_builder(&server.base_url)
        .call_timeout(Duration::from_secs(5))
        .retry_backoff(Duration::from_millis(1), Duration::from_secs(60))
        .build()
        .unwrap();
    // Waiting 30 s would end in a timeout after 5: the 429 comes back at
    // once instead, with when to come back.
    let error = create(&client).await.unwrap_err();
    let Error::RateLimited(response) = &error else {
        panic!("not the throttling answer: {error:?}");
    };
    assert_eq!(response.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(server.requests().len(), 1);

    // A wait past the clock's end, which a longest wait of `Duration::MAX`
    // lets through, is past the deadline too (not an overflow).
    let forever = Reply::json(
        429,
        "application/json",
        r#"{"error":429,"errorCode":"RATE_LIMITED"}"#,
    )
    .header("Retry-After", &u64::MAX.to_string());
    let server = Server::start(forever).await;
    let client = bearer_builder(&server.base_url)
        .retry_backoff(Duration::from_millis(1), Duration::MAX)
        .build()
        .unwrap();
    let error = create(&client).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited(_)), "{error:?}");
    assert_eq!(server.requests().len(), 1);

    // A wait that fits is waited.
    let quick = Reply::json(
        429,
        "application/json",
        r#"{"error":429,"errorCode":"RATE_LIMITED"}"#,
    )
    .header("Retry-After", "0");
    let replies = vec![quick, crate::support::created()];
    let server = Server::serve(crate::support::in_turn(replies)).await;
    let client = bearer_builder(&server.base_url)
        .call_timeout(Duration::from_secs(5))
        .retry_backoff(Duration::from_millis(1), Duration::from_secs(60))
        .build()
        .unwrap();
    create(&client)
        .await
        .expect("retried within the call's time");
    assert_eq!(server.requests().len(), 2);
}

/// A server whose token endpoint never answers (and which creates), and
/// a service-account builder for it.
async fn token_never_comes() -> (Server, atlas_stream_connections::ClientBuilder) {
    let server = Server::serve(|request| match request.target() {
        TOKEN_PATH => Reply::hang(),
        _ => crate::support::created(),
    })
    .await;
    let builder = Client::builder()
        .base_url(&server.base_url)
        .service_account("mdb_sa_id_test", "mdb_sa_sk_test");
    (server, builder)
}

#[tokio::test]
async fn a_token_request_counts_against_its_calls_timeout() {
    let (server, builder) = token_never_comes().await;
    let client = builder.call_timeout(SHORT).build().unwrap();
    let error = create(&client).await.unwrap_err();
    assert_eq!(timed_out(&error).call_timeout(), Some(SHORT));
    // The call is what timed out, named by its own request, which never
    // left: nothing was acted on, and it may be made again.
    assert_eq!(error.request(), Some(("POST", api_path().as_str())));
    assert!(error.is_retryable());
    let targets: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.target().to_owned())
        .collect();
    assert_eq!(targets, [TOKEN_PATH]);
}

/// The error of a create whose answer is `head` and then nothing (the
/// connection held open), the call allowed [`SHORT`].
async fn stalled_after(head: &'static str) -> Error {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let (release, mut released) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_request(&mut socket).await.unwrap();
        socket.write_all(head.as_bytes()).await.unwrap();
        // Held open, the rest never sent, until the test is done.
        let _ = released.wait_for(|done| *done).await;
    });
    let client = bearer_builder(&base_url)
        .call_timeout(SHORT)
        .build()
        .unwrap();
    let error = create(&client).await.unwrap_err();
    release.send_replace(true);
    server.await.unwrap();
    error
}

#[tokio::test]
async fn a_success_whose_body_stalls_past_the_call_timeout_keeps_its_status() {
    let announced = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: 1000\r\n\r\n{\"name\":";
    // Read by this crate, not progenitor: no length announced.
    let chunked = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                   transfer-encoding: chunked\r\n\r\n8\r\n{\"name\":\r\n";
    for head in [announced, chunked] {
        let error = stalled_after(head).await;
        assert_eq!(timed_out(&error).call_timeout(), Some(SHORT), "{head}");
        // Atlas answered 200: the connection exists, and the error says so.
        assert_eq!(error.server_succeeded(), Some(reqwest::StatusCode::OK));
        assert!(error.to_string().contains("200"), "{error}");
    }
}

#[tokio::test]
async fn a_zero_call_timeout_still_names_the_request_it_cut_short() {
    let error = unanswered(LONG, Duration::ZERO).await;
    assert_eq!(timed_out(&error).call_timeout(), Some(Duration::ZERO));
    assert_eq!(error.request(), Some(("POST", api_path().as_str())));
}

#[test]
fn unset_the_call_timeout_leaves_room_for_three_exchanges_of_the_timeout() {
    let shown = |builder: atlas_stream_connections::ClientBuilder| {
        format!("{:?}", builder.build().unwrap())
    };
    let base = "https://cloud.mongodb.com";
    assert!(shown(bearer_builder(base)).contains("call_timeout: 180s"));
    let long = bearer_builder(base).timeout(Duration::from_secs(300));
    assert!(shown(long).contains("call_timeout: 900s"));
    let set = bearer_builder(base)
        .timeout(Duration::from_secs(300))
        .call_timeout(Duration::from_secs(10));
    assert!(shown(set).contains("call_timeout: 10s"));
}

#[tokio::test]
async fn an_unbounded_call_timeout_is_no_bound() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_builder(&atlas, atlas.api_key().1.clone())
        .call_timeout(Duration::MAX)
        .build()
        .unwrap();
    create_named(&client, "unbounded")
        .await
        .expect("created, unbounded");
    let options = CallOptions::new().call_timeout(Duration::MAX);
    client
        .create_stream_connection_with(PROJECT, INSTANCE, &kafka_named("per-call"), &options)
        .await
        .expect("created, unbounded per call");
}

#[tokio::test]
async fn callers_waiting_on_a_token_take_over_from_those_whose_time_ran_out() {
    // A current-thread runtime: the first caller fetches the token itself,
    // the others wait on it, and each takes over when the one fetching is
    // dropped at its call timeout.
    let (server, builder) = token_never_comes().await;
    let client = builder.build().unwrap();
    let within = |millis| CallOptions::new().call_timeout(Duration::from_millis(millis));
    let (first, second, third) = (within(100), within(200), within(300));
    let connection = kafka();
    let call =
        |options| client.create_stream_connection_with(PROJECT, INSTANCE, &connection, options);
    let (a, b, c) = tokio::join!(call(&first), call(&second), call(&third));
    for (outcome, millis) in [(a, 100), (b, 200), (c, 300)] {
        let error = outcome.unwrap_err();
        assert_eq!(
            timed_out(&error).call_timeout(),
            Some(Duration::from_millis(millis)),
            "{error}"
        );
    }
    // Each caller that took over asked anew: the request of one dropped
    // went with it.
    assert_eq!(server.requests().len(), 3);
}
