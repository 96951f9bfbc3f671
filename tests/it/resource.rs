//! Reading, listing, updating and deleting connections, and waiting for
//! their state, against servers on 127.0.0.1 that answer exactly what each
//! test needs (the local Atlas's own behaviour is tested in
//! `local_atlas_ops` and `apply`).

use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::support::{
    INSTANCE, PROJECT, RawRequest, Reply, Server, api_path, bearer_builder, in_turn, versioned,
};
use atlas_stream_connections::{Client, ConnectionState, Error, Page, Wait, types};

/// Retries at once, so that tests of retries take no time.
fn client(server: &Server) -> Client {
    bearer_builder(&server.base_url)
        .retry_backoff(Duration::ZERO, Duration::from_secs(5))
        .build()
        .unwrap()
}

fn sample(name: &str, state: Option<&str>) -> Value {
    let mut sample = json!({"type": "Sample", "name": name});
    if let Some(state) = state {
        sample["state"] = json!(state);
    }
    sample
}

fn ok(body: &Value) -> Reply {
    Reply::json(200, versioned(), &body.to_string())
}

fn api_error(status: u16, code: &str) -> Reply {
    let body = json!({"error": status, "errorCode": code, "detail": "d", "reason": "r"});
    Reply::json(status, "application/json", &body.to_string())
}

/// A page of `count` Sample connections named `{prefix}{n}`.
fn page(prefix: &str, count: usize, total: usize) -> Reply {
    let results: Vec<Value> = (0..count)
        .map(|n| sample(&format!("{prefix}{n}"), Some("READY")))
        .collect();
    ok(&json!({"results": results, "totalCount": total, "links": []}))
}

/// The query of `request`'s target as pairs.
fn query(request: &RawRequest) -> Vec<(String, String)> {
    let target = request.target();
    let query = target.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn a_read_is_sent_again_after_a_5xx_and_a_lost_connection_and_a_create_is_not() {
    let server = Server::serve(in_turn(vec![
        api_error(500, "UNEXPECTED_ERROR"),
        Reply::close(),
        ok(&sample("solar", Some("READY"))),
    ]))
    .await;
    let got = client(&server)
        .get_stream_connection(PROJECT, INSTANCE, "solar")
        .await
        .unwrap();
    assert_eq!(got.name().as_deref(), Some("solar"));
    assert_eq!(got.state(), Some(ConnectionState::Ready));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(
            request.request_line(),
            format!("GET {}/solar HTTP/1.1", api_path())
        );
    }

    let server = Server::start(api_error(500, "UNEXPECTED_ERROR")).await;
    let sample: types::StreamsConnection = serde_json::from_value(sample("solar", None)).unwrap();
    let created = client(&server)
        .create_stream_connection(PROJECT, INSTANCE, &sample)
        .await;
    assert!(matches!(created, Err(Error::Api(_))), "{created:?}");
    assert_eq!(server.requests().len(), 1, "a create is never sent twice");
}

#[tokio::test]
async fn an_update_and_a_delete_are_sent_again_after_a_503_and_say_where_they_went() {
    let server = Server::serve(in_turn(vec![
        api_error(503, "SERVICE_UNAVAILABLE"),
        ok(&sample("lunar", Some("PENDING"))),
    ]))
    .await;
    let wanted: types::StreamsConnection = serde_json::from_value(sample("lunar", None)).unwrap();
    let updated = client(&server)
        .update_stream_connection(PROJECT, INSTANCE, "a/b c", &wanted)
        .await
        .unwrap();
    assert_eq!(updated.state(), Some(ConnectionState::Pending));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    // The name is one segment, whatever it holds.
    assert_eq!(
        requests[1].request_line(),
        format!("PATCH {}/a%2Fb%20c HTTP/1.1", api_path())
    );
    assert_eq!(
        requests[1].header("content-type").as_deref(),
        Some(versioned())
    );
    let sent: Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(sent, sample("lunar", None));

    let server = Server::serve(in_turn(vec![
        api_error(503, "SERVICE_UNAVAILABLE"),
        Reply::json(202, versioned(), ""),
    ]))
    .await;
    let deleted = client(&server)
        .delete_stream_connection_with(PROJECT, INSTANCE, "lunar", &Default::default())
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 202);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].request_line(),
        format!("DELETE {}/lunar HTTP/1.1", api_path())
    );
    assert_eq!(requests[1].header("accept").as_deref(), Some(versioned()));
}

#[tokio::test]
async fn a_missing_connection_is_a_404_with_atlas_code() {
    let server = Server::start(api_error(404, "STREAM_CONNECTION_NOT_FOUND_FOR_NAME")).await;
    let client = client(&server);
    let got = client
        .get_stream_connection(PROJECT, INSTANCE, "gone")
        .await;
    let Err(Error::Api(missing)) = got else {
        panic!("{got:?}")
    };
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        missing.error_code(),
        Some("STREAM_CONNECTION_NOT_FOUND_FOR_NAME")
    );
    let deleted = client
        .delete_stream_connection(PROJECT, INSTANCE, "gone")
        .await;
    assert_eq!(deleted.unwrap_err().status().map(|s| s.as_u16()), Some(404));
    // ... which a delete that waits takes as done.
    client
        .delete_stream_connection_and_wait(PROJECT, INSTANCE, "gone", &Wait::new())
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 3, "a 404 is not retried");
}

#[tokio::test]
async fn bad_arguments_are_refused_before_any_io() {
    let server = Server::start(Reply::status(500)).await;
    let client = client(&server);
    let sample: types::StreamsConnection = serde_json::from_value(sample("s", None)).unwrap();
    let refusals = [
        (
            "groupId",
            client
                .get_stream_connection("not-a-project", INSTANCE, "s")
                .await
                .map(drop),
        ),
        (
            "tenantName",
            client
                .get_stream_connection(PROJECT, "..", "s")
                .await
                .map(drop),
        ),
        (
            "connectionName",
            client
                .get_stream_connection(PROJECT, INSTANCE, "")
                .await
                .map(drop),
        ),
        (
            "connectionName",
            client
                .delete_stream_connection(PROJECT, INSTANCE, ".")
                .await,
        ),
        (
            "connectionName",
            client
                .update_stream_connection(PROJECT, INSTANCE, "..", &sample)
                .await
                .map(drop),
        ),
        (
            "groupId",
            client
                .list_stream_connections_page(
                    PROJECT.to_uppercase().as_str(),
                    INSTANCE,
                    Page::default(),
                )
                .await
                .map(drop),
        ),
    ];
    for (parameter, refused) in refusals {
        match refused {
            Err(Error::InvalidInput { parameter: p, .. }) => assert_eq!(p, parameter),
            other => panic!("{parameter}: {other:?}"),
        }
    }
    let listed: Vec<_> = client.list_stream_connections(PROJECT, "").collect().await;
    assert!(matches!(
        listed[..],
        [Err(Error::InvalidInput {
            parameter: "tenantName",
            ..
        })]
    ));
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn listing_asks_for_the_largest_pages_in_turn_and_stops_after_a_short_one() {
    let server = Server::serve(in_turn(vec![
        page("a", 500, 1203),
        page("b", 500, 1203),
        page("c", 203, 1203),
        page("never", 1, 1),
    ]))
    .await;
    let all: Vec<types::StreamsConnection> = client(&server)
        .list_stream_connections(PROJECT, INSTANCE)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1203);
    assert_eq!(all[0].name().as_deref(), Some("a0"));
    assert_eq!(all[500].name().as_deref(), Some("b0"));
    assert_eq!(all[1202].name().as_deref(), Some("c202"));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for (n, request) in requests.iter().enumerate() {
        assert!(
            request
                .request_line()
                .starts_with(&format!("GET {}?", api_path()))
        );
        let mut query = query(request);
        query.sort();
        assert_eq!(
            query,
            [
                ("itemsPerPage".to_owned(), "500".to_owned()),
                ("pageNum".to_owned(), (n + 1).to_string()),
            ]
        );
    }
}

#[tokio::test]
async fn an_empty_instance_lists_nothing_in_one_call_and_a_page_at_a_time_is_offered() {
    let server = Server::start(page("x", 0, 0)).await;
    let all: Vec<_> = client(&server)
        .list_stream_connections(PROJECT, INSTANCE)
        .collect()
        .await;
    assert!(all.is_empty());
    assert_eq!(server.requests().len(), 1);

    let server = Server::start(page("p", 2, 7)).await;
    let one = client(&server)
        .list_stream_connections_page(PROJECT, INSTANCE, Page::new(4, 2).unwrap())
        .await
        .unwrap();
    assert_eq!(one.results.len(), 2);
    assert_eq!(one.total_count, Some(7));
    let mut query = query(&server.requests()[0]);
    query.sort();
    assert_eq!(
        query,
        [
            ("itemsPerPage".to_owned(), "2".to_owned()),
            ("pageNum".to_owned(), "4".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_server_that_repeats_a_full_page_ends_the_listing_with_an_error() {
    let server = Server::start(page("same", 500, 100_000)).await;
    let listed: Vec<_> = client(&server)
        .list_stream_connections(PROJECT, INSTANCE)
        .collect()
        .await;
    assert_eq!(listed.len(), 501, "one page, then the error");
    let Err(Error::Decode(decode)) = &listed[500] else {
        panic!("{:?}", listed[500])
    };
    assert!(
        decode.message().contains("page 2 repeats page 1"),
        "{}",
        decode.message()
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn an_error_mid_listing_is_yielded_once_and_ends_it() {
    let server = Server::serve(in_turn(vec![
        page("a", 500, 900),
        api_error(403, "FORBIDDEN"),
    ]))
    .await;
    let listed: Vec<_> = client(&server)
        .list_stream_connections(PROJECT, INSTANCE)
        .collect()
        .await;
    assert_eq!(listed.len(), 501);
    assert_eq!(
        listed[500]
            .as_ref()
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(403)
    );
}

fn quick() -> Wait {
    Wait::new()
        .interval(Duration::from_millis(1))
        .timeout(Duration::from_secs(30))
}

#[tokio::test]
async fn waiting_reads_until_ready_and_reports_a_failure_or_the_timeout() {
    let server = Server::serve(in_turn(vec![
        ok(&sample("s", Some("PENDING"))),
        ok(&sample("s", Some("PENDING"))),
        ok(&sample("s", Some("READY"))),
    ]))
    .await;
    let ready = client(&server)
        .wait_for_stream_connection(PROJECT, INSTANCE, "s", &quick())
        .await
        .unwrap();
    assert_eq!(ready.state(), Some(ConnectionState::Ready));
    assert_eq!(server.requests().len(), 3);

    // No state at all (an older server): ready.
    let server = Server::start(ok(&sample("s", None))).await;
    client(&server)
        .wait_for_stream_connection(PROJECT, INSTANCE, "s", &quick())
        .await
        .unwrap();

    let server = Server::serve(in_turn(vec![
        ok(&sample("s", Some("PENDING"))),
        ok(&sample("s", Some("FAILED"))),
    ]))
    .await;
    let failed = client(&server)
        .wait_for_stream_connection(PROJECT, INSTANCE, "s", &quick())
        .await;
    let Err(Error::State(failed)) = failed else {
        panic!("{failed:?}")
    };
    assert_eq!(
        (failed.state(), failed.timed_out(), failed.name()),
        (Some("FAILED"), false, "s")
    );
    assert_eq!(failed.path(), format!("{}/s", api_path()));

    let server = Server::start(ok(&sample("s", Some("PENDING")))).await;
    let wait = Wait::new()
        .interval(Duration::from_millis(20))
        .timeout(Duration::from_millis(50));
    let late = client(&server)
        .wait_for_stream_connection(PROJECT, INSTANCE, "s", &wait)
        .await;
    let Err(Error::State(late)) = late else {
        panic!("{late:?}")
    };
    assert!(late.timed_out());
    assert_eq!(late.state(), Some("PENDING"));
    let shown = Error::State(late).to_string();
    assert!(
        shown.contains("connection `s` still in state PENDING"),
        "{shown}"
    );
    assert!(server.requests().len() >= 2);
}

#[tokio::test]
async fn a_delete_that_waits_sends_again_while_atlas_deploys_then_reads_until_gone() {
    let server = Server::serve(in_turn(vec![
        api_error(409, "STREAM_KAFKA_CONNECTION_IS_DEPLOYING"),
        api_error(409, "STREAM_KAFKA_CONNECTION_IS_DEPLOYING"),
        Reply::json(202, versioned(), ""),
        ok(&sample("k", Some("DELETING"))),
        api_error(404, "STREAM_CONNECTION_NOT_FOUND_FOR_NAME"),
    ]))
    .await;
    client(&server)
        .delete_stream_connection_and_wait(PROJECT, INSTANCE, "k", &quick())
        .await
        .unwrap();
    let methods: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.method().to_owned())
        .collect();
    assert_eq!(methods, ["DELETE", "DELETE", "DELETE", "GET", "GET"]);

    // Another conflict is not waited out.
    let server = Server::start(api_error(409, "STREAM_CONNECTION_HAS_STREAM_PROCESSORS")).await;
    let refused = client(&server)
        .delete_stream_connection_and_wait(PROJECT, INSTANCE, "k", &quick())
        .await;
    assert_eq!(
        refused.unwrap_err().error_code(),
        Some("STREAM_CONNECTION_HAS_STREAM_PROCESSORS")
    );
    assert_eq!(server.requests().len(), 1);

    // Still deploying when the wait ends: a state error that says so.
    let server = Server::start(api_error(409, "STREAM_KAFKA_CONNECTION_IS_DEPLOYING")).await;
    let wait = Wait::new()
        .interval(Duration::from_millis(20))
        .timeout(Duration::from_millis(50));
    let late = client(&server)
        .delete_stream_connection_and_wait(PROJECT, INSTANCE, "k", &wait)
        .await;
    let Err(Error::State(late)) = late else {
        panic!("{late:?}")
    };
    assert_eq!((late.state(), late.timed_out()), (Some("PENDING"), true));
}

#[tokio::test]
async fn a_wait_shorter_than_its_interval_reads_once_more_at_its_end() {
    let server = Server::serve(in_turn(vec![
        ok(&sample("s", Some("PENDING"))),
        ok(&sample("s", Some("READY"))),
    ]))
    .await;
    let wait = Wait::new()
        .interval(Duration::from_secs(3600))
        .timeout(Duration::from_millis(30));
    let ready = client(&server)
        .wait_for_stream_connection(PROJECT, INSTANCE, "s", &wait)
        .await
        .unwrap();
    assert_eq!(ready.state(), Some(ConnectionState::Ready));
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_first_page_without_results_that_counts_some_is_an_error_not_an_empty_list() {
    let server = Server::start(ok(&json!({"totalCount": 900}))).await;
    let listed: Vec<_> = client(&server)
        .list_stream_connections(PROJECT, INSTANCE)
        .collect()
        .await;
    let [Err(Error::Decode(decode))] = &listed[..] else {
        panic!("{listed:?}")
    };
    assert!(
        decode.message().contains("`totalCount` says 900"),
        "{}",
        decode.message()
    );
    // An empty 200 is no page either.
    let server = Server::start(Reply::json(200, versioned(), "")).await;
    let listed: Vec<_> = client(&server)
        .list_stream_connections(PROJECT, INSTANCE)
        .collect()
        .await;
    assert!(matches!(listed[..], [Err(Error::Decode(_))]), "{listed:?}");
}
