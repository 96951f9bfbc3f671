//! One call against a real HTTP server on 127.0.0.1: the API version it
//! pins, what it makes of `Deprecation`/`Sunset` and `410`, the envelope and
//! pretty options, which answers it retries and how, and what its errors
//! say.

use std::time::{Duration, Instant};

use crate::support::{
    Captured, INSTANCE, KAFKA_CREATED, PROJECT, Reply, Server, api_path, bearer_builder,
    bearer_client, create, created, in_turn, kafka, seed, versioned,
};
use atlas_stream_connections::types::StreamsConnection;
use atlas_stream_connections::{CallOptions, Client, Error, RateLimit};

const NOT_FOUND: &str = seed!("response-404.json");
const RATE_LIMITED: &str = r#"{"error":429,"errorCode":"RATE_LIMITED","detail":"Too many requests.","reason":"Too Many Requests"}"#;
const VERSION_GONE: &str = r#"{"error":410,"errorCode":"VERSION_GONE","detail":"API version 2023-02-01 has been retired.","reason":"Gone"}"#;
const UNAVAILABLE: &str = r#"{"error":503,"errorCode":"SERVICE_UNAVAILABLE","detail":"Try again.","reason":"Service Unavailable"}"#;
const DEPRECATION: &str = "@1735689600";
const SUNSET: &str = "Wed, 01 Jan 2026 00:00:00 GMT";

/// A client that retries without waiting, unless the server says to wait.
fn fast_retrying_client(server: &Server) -> Client {
    bearer_builder(&server.base_url)
        .retry_backoff(Duration::ZERO, Duration::from_secs(5))
        .build()
        .unwrap()
}

fn too_many_requests(retry_after: &str) -> Reply {
    Reply::json(429, "application/json", RATE_LIMITED).header("Retry-After", retry_after)
}

async fn server_answering(replies: Vec<Reply>) -> Server {
    Server::serve(in_turn(replies)).await
}

async fn create_with(
    client: &Client,
    options: &CallOptions,
) -> Result<atlas_stream_connections::ApiResponse<StreamsConnection>, Error> {
    client
        .create_stream_connection_with(PROJECT, INSTANCE, &kafka(), options)
        .await
}

/// The typed connection the Kafka response example decodes to.
fn kafka_response() -> StreamsConnection {
    serde_json::from_str(KAFKA_CREATED).unwrap()
}

fn compact(json: &str) -> String {
    serde_json::to_string(&serde_json::from_str::<serde_json::Value>(json).unwrap()).unwrap()
}

fn pretty(json: &str) -> String {
    serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(json).unwrap()).unwrap()
}

/// `{"status": status, "content": body}`, as Atlas answers with
/// `envelope=true`.
fn enveloped(status: u16, body: &str) -> String {
    format!(r#"{{"status":{status},"content":{}}}"#, compact(body))
}

fn count(server: &Server) -> usize {
    server.requests().len()
}

/// The `WARN` events a capture holds.
fn warnings(captured: &Captured) -> Vec<String> {
    captured
        .lines()
        .into_iter()
        .filter(|line| line.starts_with("event WARN"))
        .collect()
}

// ---------------------------------------------------------------------------
// API versions

#[tokio::test]
async fn by_default_a_call_sends_version_2023_02_01_as_accept_and_content_type() {
    let server = server_answering(vec![created()]).await;
    let response = create_with(&bearer_client(&server.base_url), &CallOptions::new())
        .await
        .unwrap();
    assert_eq!(response.api_version(), "2023-02-01");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("accept").as_deref(), Some(versioned()));
    assert_eq!(
        requests[0].header("content-type").as_deref(),
        Some(versioned())
    );
    assert_eq!(
        requests[0].header("api-version"),
        None,
        "progenitor's header is dropped"
    );
}

#[tokio::test]
async fn a_client_pinned_to_a_later_date_sends_the_newest_version_not_after_it() {
    for pin in ["2024-05-30", "2023-02-01", "2099-12-31"] {
        let server = server_answering(vec![created()]).await;
        let client = bearer_builder(&server.base_url)
            .api_version(pin)
            .build()
            .unwrap();
        let response = create_with(&client, &CallOptions::new()).await.unwrap();
        assert_eq!(response.api_version(), "2023-02-01", "{pin}");
        let request = &server.requests()[0];
        assert_eq!(
            request.header("accept").as_deref(),
            Some(versioned()),
            "{pin}"
        );
        assert_eq!(
            request.header("content-type").as_deref(),
            Some(versioned()),
            "{pin}"
        );
    }
}

#[tokio::test]
async fn a_call_pinned_to_a_later_date_sends_the_newest_version_not_after_it() {
    let server = server_answering(vec![created()]).await;
    let options = CallOptions::new().api_version("2024-05-30");
    let response = create_with(&bearer_client(&server.base_url), &options)
        .await
        .unwrap();
    assert_eq!(response.api_version(), "2023-02-01");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("accept").as_deref(), Some(versioned()));
    assert_eq!(
        requests[0].header("content-type").as_deref(),
        Some(versioned())
    );
}

#[tokio::test]
async fn a_client_pinned_before_every_version_fails_to_build_and_sends_nothing() {
    let server = server_answering(vec![created()]).await;
    for pin in ["2020-01-01", "2023-01-31"] {
        let error = bearer_builder(&server.base_url)
            .api_version(pin)
            .build()
            .unwrap_err();
        let Error::Configuration { message } = &error else {
            panic!("{pin}: not a configuration error: {error:?}")
        };
        assert!(message.contains(pin), "{pin}: {message}");
        assert!(
            message.contains("2023-02-01"),
            "declared versions: {message}"
        );
    }
    assert_eq!(count(&server), 0, "a request went out");
}

#[tokio::test]
async fn a_call_pinned_before_every_version_is_invalid_input_and_sends_nothing() {
    let server = server_answering(vec![created()]).await;
    // The client's own pin is fine; the call's is not, and it wins.
    let client = bearer_builder(&server.base_url)
        .api_version("2024-05-30")
        .build()
        .unwrap();
    for pin in ["2020-01-01", "2023-01-31"] {
        let error = refused_pin(&client, pin).await;
        assert!(error.to_string().contains(pin), "{pin}: {error}");
    }
    assert_eq!(count(&server), 0, "a request went out");
}

/// The error of a call pinned to `pin`, which must be refused before I/O
/// as an invalid `api_version`.
async fn refused_pin(client: &Client, pin: &str) -> Error {
    let error = create_with(client, &CallOptions::new().api_version(pin))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidInput {
                parameter: "api_version",
                ..
            }
        ),
        "call, {pin:?}: {error:?}"
    );
    error
}

#[tokio::test]
async fn malformed_version_dates_are_refused_by_the_builder_and_per_call() {
    let server = server_answering(vec![created()]).await;
    let client = bearer_client(&server.base_url);
    for pin in [
        "2024-13-01",
        "yesterday",
        "2024-5-30",
        "2024-05-30T00:00:00Z",
        "",
    ] {
        let error = bearer_builder(&server.base_url)
            .api_version(pin)
            .build()
            .unwrap_err();
        assert!(
            matches!(error, Error::Configuration { .. }),
            "builder, {pin:?}: {error:?}"
        );
        refused_pin(&client, pin).await;
    }
    assert_eq!(count(&server), 0, "a request went out");
}

#[test]
fn the_versions_of_the_operation_are_listed_under_either_name() {
    let by_spec_name = Client::versions("createStreamConnection").expect("spec name");
    let by_crate_name =
        atlas_stream_connections::versions_of("create_stream_connection").expect("crate name");
    assert_eq!(by_spec_name, by_crate_name);
    let dates: Vec<&str> = by_spec_name.versions.iter().map(|v| v.version).collect();
    assert_eq!(dates, ["2023-02-01"]);
    assert_eq!(by_spec_name.generated, Some("2023-02-01"));
    assert_eq!(by_spec_name.method, "POST");
    assert_eq!(
        by_spec_name.path,
        "/api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections"
    );
    let version = &by_spec_name.versions[0];
    let media_type = "application/vnd.atlas.2023-02-01+json";
    assert_eq!(version.accept(), Some(media_type));
    assert_eq!(version.request_media_type, Some(media_type));
    let delete = Client::versions("deleteStreamConnection").expect("delete is served");
    assert_eq!(
        (delete.method, delete.operation_id, delete.name),
        (
            "DELETE",
            "delete_stream_connection",
            "deleteStreamConnection"
        )
    );
    assert_eq!(
        delete.versions[0].request_media_type, None,
        "a delete has no body"
    );
    assert!(Client::versions("listStreamWorkspaces").is_none());
}

// ---------------------------------------------------------------------------
// Deprecation, Sunset, 410

fn deprecated_ok() -> Reply {
    created()
        .header("Deprecation", DEPRECATION)
        .header("Sunset", SUNSET)
}

#[tokio::test]
async fn deprecation_and_sunset_headers_are_on_the_response() {
    let server = server_answering(vec![deprecated_ok()]).await;
    let response = create_with(&bearer_client(&server.base_url), &CallOptions::new())
        .await
        .unwrap();
    assert_eq!(response.deprecation(), Some(DEPRECATION));
    assert_eq!(response.sunset(), Some(SUNSET));
    assert_eq!(*response, kafka_response());
}

#[tokio::test]
async fn a_response_without_those_headers_has_neither_and_warns_nothing() {
    let captured = Captured::default();
    let _guard = captured.install();
    let server = server_answering(vec![created()]).await;
    let response = create_with(&bearer_client(&server.base_url), &CallOptions::new())
        .await
        .unwrap();
    assert_eq!(response.deprecation(), None);
    assert_eq!(response.sunset(), None);
    assert_eq!(warnings(&captured), Vec::<String>::new());
}

#[tokio::test]
async fn a_deprecated_version_is_warned_about_once_per_client() {
    let captured = Captured::default();
    let _guard = captured.install();
    let server = server_answering(vec![deprecated_ok()]).await;

    let first = bearer_client(&server.base_url);
    create(&first).await.unwrap();
    create(&first).await.unwrap();
    create(&first.clone()).await.unwrap();
    let after_first = warnings(&captured);
    assert_eq!(
        after_first.len(),
        1,
        "one warning for 3 calls: {after_first:#?}"
    );
    let warning = &after_first[0];
    assert!(
        warning.contains("create_stream_connection") || warning.contains("createStreamConnection"),
        "names the operation: {warning}"
    );
    assert!(
        warning.contains("2023-02-01"),
        "names the version: {warning}"
    );

    let second = bearer_client(&server.base_url);
    create(&second).await.unwrap();
    create(&second).await.unwrap();
    assert_eq!(
        warnings(&captured).len(),
        2,
        "a second client warns once too: {:#?}",
        warnings(&captured)
    );
    assert_eq!(count(&server), 5);
}

#[tokio::test]
async fn a_410_is_error_version_gone_and_is_not_retried() {
    let gone = Reply::json(410, "application/json", VERSION_GONE).header("Retry-After", "0");
    let server = server_answering(vec![gone, created()]).await;
    let error = create(&fast_retrying_client(&server)).await.unwrap_err();
    assert!(matches!(error, Error::VersionGone(_)), "{error:?}");
    assert_eq!(error.error_code(), Some("VERSION_GONE"));
    assert_eq!(error.status().map(|s| s.as_u16()), Some(410));
    assert!(!error.is_retryable());
    assert_eq!(count(&server), 1, "not retried");
}

// ---------------------------------------------------------------------------
// Envelope and pretty

#[tokio::test]
async fn without_options_the_request_has_no_query() {
    let server = server_answering(vec![created()]).await;
    create(&bearer_client(&server.base_url)).await.unwrap();
    assert_eq!(
        server.requests()[0].request_line(),
        format!("POST {} HTTP/1.1", api_path())
    );
}

#[tokio::test]
async fn envelope_true_is_sent_as_a_query_parameter() {
    let server = server_answering(vec![Reply::json(
        200,
        versioned(),
        &enveloped(200, KAFKA_CREATED),
    )])
    .await;
    create_with(
        &bearer_client(&server.base_url),
        &CallOptions::new().envelope(true),
    )
    .await
    .unwrap();
    assert_eq!(
        server.requests()[0].request_line(),
        format!("POST {}?envelope=true HTTP/1.1", api_path())
    );
}

#[tokio::test]
async fn an_enveloped_success_gives_the_same_connection_as_a_plain_one() {
    let plain_server = server_answering(vec![created()]).await;
    let plain = create_with(&bearer_client(&plain_server.base_url), &CallOptions::new())
        .await
        .unwrap();

    let server = server_answering(vec![Reply::json(
        200,
        versioned(),
        &enveloped(200, KAFKA_CREATED),
    )])
    .await;
    let wrapped = create_with(
        &bearer_client(&server.base_url),
        &CallOptions::new().envelope(true),
    )
    .await
    .unwrap();
    assert_eq!(wrapped.status().as_u16(), 200);
    assert_eq!(*wrapped, *plain);
    assert_eq!(wrapped.into_inner(), kafka_response());
}

#[tokio::test]
async fn an_enveloped_error_is_the_api_error_inside_the_envelope() {
    let server = server_answering(vec![Reply::json(
        200,
        "application/json",
        &enveloped(404, NOT_FOUND),
    )])
    .await;
    let error = create_with(
        &bearer_client(&server.base_url),
        &CallOptions::new().envelope(true),
    )
    .await
    .unwrap_err();
    let api = error.as_api_error().unwrap_or_else(|| panic!("{error:?}"));
    assert_eq!(api.status().as_u16(), 404);
    assert_eq!(error.error_code(), Some("RESOURCE_NOT_FOUND"));
    assert_eq!(count(&server), 1);
}

#[tokio::test]
async fn an_enveloped_429_is_retried_like_a_plain_one() {
    let server = server_answering(vec![
        Reply::json(200, "application/json", &enveloped(429, RATE_LIMITED))
            .header("Retry-After", "0"),
        Reply::json(200, versioned(), &enveloped(200, KAFKA_CREATED)),
    ])
    .await;
    let created = create_with(
        &fast_retrying_client(&server),
        &CallOptions::new().envelope(true),
    )
    .await
    .unwrap();
    assert_eq!(created.into_inner(), kafka_response());
    assert_eq!(count(&server), 2, "retried once");
}

#[tokio::test]
async fn pretty_true_is_sent_and_an_indented_body_decodes_the_same() {
    let plain_server =
        server_answering(vec![Reply::json(200, versioned(), &compact(KAFKA_CREATED))]).await;
    let plain = create(&bearer_client(&plain_server.base_url))
        .await
        .unwrap();

    let indented = pretty(KAFKA_CREATED);
    assert!(indented.contains("\n  "), "the body is indented");
    let server = server_answering(vec![Reply::json(200, versioned(), &indented)]).await;
    let response = create_with(
        &bearer_client(&server.base_url),
        &CallOptions::new().pretty(true),
    )
    .await
    .unwrap();
    assert_eq!(
        server.requests()[0].request_line(),
        format!("POST {}?pretty=true HTTP/1.1", api_path())
    );
    assert_eq!(response.into_inner(), plain);
}

#[tokio::test]
async fn envelope_and_pretty_together_send_both_parameters() {
    let server = server_answering(vec![Reply::json(
        200,
        versioned(),
        &enveloped(200, KAFKA_CREATED),
    )])
    .await;
    let options = CallOptions::new().envelope(true).pretty(true);
    let response = create_with(&bearer_client(&server.base_url), &options)
        .await
        .unwrap();
    assert_eq!(response.into_inner(), kafka_response());
    assert_eq!(
        server.requests()[0].request_line(),
        format!("POST {}?envelope=true&pretty=true HTTP/1.1", api_path())
    );
}

// ---------------------------------------------------------------------------
// Retries

#[tokio::test]
async fn a_429_with_retry_after_0_is_retried_and_the_call_succeeds() {
    let server = server_answering(vec![too_many_requests("0"), created()]).await;
    let created = create(&fast_retrying_client(&server)).await.unwrap();
    assert_eq!(created, kafka_response());
    assert_eq!(count(&server), 2, "the 429, then the retry");
}

#[tokio::test]
async fn retry_after_is_waited_out_before_the_retry() {
    let server = server_answering(vec![too_many_requests("1"), created()]).await;
    let client = fast_retrying_client(&server);
    let started = Instant::now();
    create(&client).await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1),
        "retried after {elapsed:?}, before Retry-After: 1"
    );
    assert_eq!(count(&server), 2);
}

#[tokio::test]
async fn a_429_after_every_retry_is_error_rate_limited_with_the_servers_details() {
    let limited = too_many_requests("0")
        .header("RateLimit-Limit", "100")
        .header("RateLimit-Remaining", "0")
        .header("RateLimit-Reset", "7");
    let server = server_answering(vec![limited]).await;
    let client = bearer_builder(&server.base_url)
        .retry_backoff(Duration::ZERO, Duration::from_secs(5))
        .max_retries(2)
        .build()
        .unwrap();
    let error = create(&client).await.unwrap_err();
    assert_eq!(count(&server), 3, "the first attempt and 2 retries");

    let Error::RateLimited(response) = &error else {
        panic!("not rate limited: {error:?}")
    };
    assert_eq!(response.retry_after(), Some(Duration::ZERO));
    assert_eq!(
        response.rate_limit(),
        RateLimit {
            limit: Some(100),
            remaining: Some(0),
            reset: Some(Duration::from_secs(7)),
        }
    );
    assert!(error.is_retryable());
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(error.error_code(), Some("RATE_LIMITED"));
    let shown = error.to_string();
    for part in ["POST", api_path().as_str(), "429", "RATE_LIMITED"] {
        assert!(shown.contains(part), "{part} missing: {shown}");
    }
}

#[tokio::test]
async fn max_retries_0_sends_exactly_one_request() {
    let server = server_answering(vec![too_many_requests("0"), created()]).await;
    let client = bearer_builder(&server.base_url)
        .retry_backoff(Duration::ZERO, Duration::from_secs(5))
        .max_retries(0)
        .build()
        .unwrap();
    let error = create(&client).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited(_)), "{error:?}");
    assert_eq!(count(&server), 1);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_longest_wait_is_not_waited_out() {
    // Waiting it out would take 2 s and then succeed: the test would fail.
    let server = server_answering(vec![too_many_requests("2"), created()]).await;
    let client = bearer_builder(&server.base_url)
        .retry_backoff(Duration::ZERO, Duration::from_secs(1))
        .build()
        .unwrap();
    let error = create(&client).await.unwrap_err();
    let Error::RateLimited(response) = &error else {
        panic!("not rate limited: {error:?}")
    };
    assert_eq!(response.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(count(&server), 1, "handed back at once");
    assert!(error.is_retryable());
    assert!(error.to_string().contains("retry after 2 s"), "{error}");
}

#[tokio::test]
async fn by_default_a_retry_after_longer_than_30_s_is_handed_back() {
    // A wait of 31 s and a success after it would fail this test (slowly)
    // rather than hang it.
    assert_eq!(
        atlas_stream_connections::DEFAULT_MAX_RETRY_DELAY,
        Duration::from_secs(30)
    );
    let server = server_answering(vec![too_many_requests("31"), created()]).await;
    let error = create(&bearer_client(&server.base_url)).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited(_)), "{error:?}");
    assert_eq!(count(&server), 1, "handed back at once");
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried() {
    let unavailable = Reply::json(503, "application/json", UNAVAILABLE).header("Retry-After", "0");
    let server = server_answering(vec![unavailable, created()]).await;
    let created = create(&fast_retrying_client(&server)).await.unwrap();
    assert_eq!(created, kafka_response());
    assert_eq!(count(&server), 2);
}

#[tokio::test]
async fn a_503_with_retry_after_that_persists_is_a_retryable_api_error() {
    let unavailable = Reply::json(503, "application/json", UNAVAILABLE).header("Retry-After", "0");
    let server = server_answering(vec![unavailable]).await;
    let client = bearer_builder(&server.base_url)
        .retry_backoff(Duration::ZERO, Duration::from_secs(5))
        .max_retries(1)
        .build()
        .unwrap();
    let error = create(&client).await.unwrap_err();
    assert_eq!(count(&server), 2);
    let api = error.as_api_error().unwrap_or_else(|| panic!("{error:?}"));
    assert_eq!(api.status().as_u16(), 503);
    assert!(error.is_retryable(), "503 with Retry-After");
}

#[tokio::test]
async fn a_503_without_retry_after_is_not_retried() {
    let server = server_answering(vec![
        Reply::json(503, "application/json", UNAVAILABLE),
        created(),
    ])
    .await;
    let error = create(&fast_retrying_client(&server)).await.unwrap_err();
    assert_eq!(count(&server), 1);
    let api = error.as_api_error().unwrap_or_else(|| panic!("{error:?}"));
    assert_eq!(api.status().as_u16(), 503);
    assert_eq!(error.error_code(), Some("SERVICE_UNAVAILABLE"));
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_500_or_502_is_never_retried_even_with_retry_after() {
    for status in [500, 502] {
        let body = format!(
            r#"{{"error":{status},"errorCode":"UNEXPECTED_ERROR","reason":"Server Error"}}"#
        );
        let failing = Reply::json(status, "application/json", &body).header("Retry-After", "0");
        let server = server_answering(vec![failing, created()]).await;
        let error = create(&fast_retrying_client(&server)).await.unwrap_err();
        assert_eq!(count(&server), 1, "{status} was retried");
        let api = error.as_api_error().unwrap_or_else(|| panic!("{error:?}"));
        assert_eq!(api.status().as_u16(), status);
        assert!(!error.is_retryable(), "{status}");
    }
}

#[tokio::test]
async fn every_retry_sends_the_identical_request() {
    let server = server_answering(vec![
        too_many_requests("0"),
        Reply::json(503, "application/json", UNAVAILABLE).header("Retry-After", "0"),
        created(),
    ])
    .await;
    create(&fast_retrying_client(&server)).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let expected_body = serde_json::to_vec(&kafka()).unwrap();
    for (n, request) in requests.iter().enumerate() {
        assert_eq!(
            String::from_utf8_lossy(&request.body),
            String::from_utf8_lossy(&expected_body),
            "body of attempt {n}"
        );
        let mut headers = request.headers();
        headers.sort();
        let mut first = requests[0].headers();
        first.sort();
        assert_eq!(headers, first, "headers of attempt {n}");
        assert_eq!(request.request_line(), requests[0].request_line());
    }
}

// ---------------------------------------------------------------------------
// Errors

#[tokio::test]
async fn error_display_names_method_path_status_and_error_code() {
    let server = server_answering(vec![Reply::json(404, "application/json", NOT_FOUND)]).await;
    let error = create(&bearer_client(&server.base_url)).await.unwrap_err();
    let shown = error.to_string();
    for part in ["POST", api_path().as_str(), "404", "RESOURCE_NOT_FOUND"] {
        assert!(shown.contains(part), "{part} missing: {shown}");
    }
}

#[tokio::test]
async fn status_error_code_and_response_agree_for_every_error_status() {
    for (status, code) in [
        (400, "VALIDATION_ERROR"),
        (403, "CANNOT_CHANGE_PROJECT_NAME"),
        (404, "RESOURCE_NOT_FOUND"),
        (409, "DUPLICATE_STREAM_CONNECTION"),
        (410, "VERSION_GONE"),
        (429, "RATE_LIMITED"),
        (500, "UNEXPECTED_ERROR"),
        (503, "SERVICE_UNAVAILABLE"),
    ] {
        let body = format!(
            r#"{{"error":{status},"errorCode":"{code}","detail":"detail {status}","reason":"r"}}"#
        );
        let server = server_answering(vec![Reply::json(status, "application/json", &body)]).await;
        let client = bearer_builder(&server.base_url)
            .max_retries(0)
            .build()
            .unwrap();
        let error = create(&client).await.unwrap_err();
        let response = error
            .response()
            .unwrap_or_else(|| panic!("{status}: {error:?}"));
        assert_eq!(error.status(), Some(response.status()), "{status}");
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(error.error_code(), response.error_code(), "{status}");
        assert_eq!(error.error_code(), Some(code), "{status}");
        assert_eq!(response.detail(), Some(format!("detail {status}").as_str()));
        assert_eq!(response.request(), ("POST", api_path().as_str()));
        assert_eq!(response.body().as_ref(), body.as_bytes(), "{status}");
        let shown = error.to_string();
        for part in ["POST", api_path().as_str(), &status.to_string(), code] {
            assert!(shown.contains(part), "{status}: {part} missing: {shown}");
        }
    }
}

#[tokio::test]
async fn a_400_exposes_its_bad_request_fields_and_parameters() {
    let body = r#"{
        "error": 400,
        "errorCode": "INVALID_ATTRIBUTE",
        "detail": "Invalid attribute bootstrapServers specified.",
        "reason": "Bad Request",
        "parameters": [{"attribute": "bootstrapServers"}, {"limit": 3}],
        "badRequestDetail": {
            "fields": [
                {"field": "bootstrapServers", "description": "must not be blank"},
                {"field": "name", "description": "is too long"}
            ]
        }
    }"#;
    let server = server_answering(vec![Reply::json(400, "application/json", body)]).await;
    let error = create(&bearer_client(&server.base_url)).await.unwrap_err();
    let api = error.as_api_error().unwrap_or_else(|| panic!("{error:?}"));
    assert_eq!(api.status().as_u16(), 400);
    assert_eq!(api.error_code(), Some("INVALID_ATTRIBUTE"));
    let fields: Vec<(&str, &str)> = api
        .bad_request_fields()
        .iter()
        .map(|f| (f.field.as_str(), f.description.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("bootstrapServers", "must not be blank"),
            ("name", "is too long")
        ]
    );
    let parameters: Vec<serde_json::Value> = api
        .parameters()
        .iter()
        .map(|p| serde_json::Value::Object(p.clone()))
        .collect();
    assert_eq!(
        parameters,
        [
            serde_json::json!({"attribute": "bootstrapServers"}),
            serde_json::json!({"limit": 3})
        ]
    );
    assert_eq!(count(&server), 1);
}

#[tokio::test]
async fn an_error_without_those_details_has_empty_lists() {
    let server = server_answering(vec![Reply::json(404, "application/json", NOT_FOUND)]).await;
    let error = create(&bearer_client(&server.base_url)).await.unwrap_err();
    let api = error.as_api_error().unwrap_or_else(|| panic!("{error:?}"));
    assert!(api.bad_request_fields().is_empty());
    assert!(api.parameters().is_empty());
}
