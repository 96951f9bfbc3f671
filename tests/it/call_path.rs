//! The lean call path (issue 13): what each call no longer does (copy the
//! token, re-check a known project, read a success into a buffer of its
//! own, parse an error body twice) changes nothing a caller sees.
//!
//! Each test talks HTTP to a server on 127.0.0.1.

use std::time::Duration;

use atlas_stream_connections::{CallOptions, Client, Error};
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::support::{
    INSTANCE, KAFKA_CREATED, PROJECT, Reply, Server, api_path, bearer_builder, bearer_client,
    connections_path, create, created, in_turn, kafka, versioned,
};

/// A server that answers every request with `head` (status line and
/// headers, without the blank line), `Content-Length: length`, and `sent`
/// bytes of the body, then closes the connection.
async fn breaking_off(head: &'static str, length: usize, sent: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                if crate::support::read_request(&mut socket).await.is_none() {
                    return;
                }
                let answer = format!(
                    "{head}\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n{}",
                    "x".repeat(sent)
                );
                // The client may be gone already: that is its business.
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    base_url
}

#[tokio::test]
async fn an_undeclared_success_whose_body_breaks_off_keeps_its_status() {
    // A 201 is handed to progenitor unread, which returns it as
    // undeclared; its body is read afterwards, and breaks off there.
    let base_url = breaking_off("HTTP/1.1 201 Created", 1000, 10).await;
    let error = create(&bearer_client(&base_url)).await.unwrap_err();
    let Error::Transport(transport) = &error else {
        panic!("not a transport error: {error:?}");
    };
    assert_eq!(transport.status(), Some(StatusCode::CREATED));
    assert_eq!(error.server_succeeded(), Some(StatusCode::CREATED));
    assert!(error.to_string().contains("took effect"), "{error}");
}

#[tokio::test]
async fn an_undeclared_success_read_whole_is_a_decode_error_with_its_bytes() {
    let server = Server::start(Reply::json(201, versioned(), KAFKA_CREATED)).await;
    let error = create(&bearer_client(&server.base_url)).await.unwrap_err();
    let Error::Decode(decode) = &error else {
        panic!("not a decode error: {error:?}");
    };
    assert_eq!(decode.body().as_ref(), KAFKA_CREATED.as_bytes());
    assert_eq!(decode.content_type(), Some(versioned()));
    assert_eq!(error.server_succeeded(), Some(StatusCode::CREATED));
}

#[tokio::test]
async fn a_success_keeps_every_header_it_came_with() {
    let server = Server::start(
        created()
            .header("x-request-id", "r-1")
            .header("deprecation", "@1735689600"),
    )
    .await;
    let client = bearer_client(&server.base_url);
    let answer = client
        .create_stream_connection_with(PROJECT, INSTANCE, &kafka(), &CallOptions::new())
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let header = |name: &str| answer.headers().get(name).map(|v| v.to_str().unwrap());
    assert_eq!(header("x-request-id"), Some("r-1"));
    assert_eq!(header("content-type"), Some(versioned()));
    assert_eq!(
        header("content-length"),
        Some(KAFKA_CREATED.len().to_string().as_str())
    );
    assert_eq!(answer.deprecation(), Some("@1735689600"));
    assert_eq!(answer.kind(), "Kafka");
}

#[tokio::test]
async fn every_call_checks_its_project_after_one_was_remembered() {
    let server = Server::start(created()).await;
    let client = bearer_client(&server.base_url);
    let other = "0123456789abcdef01234567";
    for (project, sent) in [
        (PROJECT, true),
        (PROJECT, true),
        ("32B6E34B3D91647ABB20E7B8", false),
        ("32b6e34b3d91647abb20e7b", false),
        ("../../orgs/32b6e34b3d916", false),
        (other, true),
        (PROJECT, true),
    ] {
        let before = server.requests().len();
        let outcome = client
            .create_stream_connection(project, INSTANCE, &kafka())
            .await;
        let requests = server.requests();
        match sent {
            true => {
                outcome.unwrap_or_else(|e| panic!("{project}: {e}"));
                let target = requests.last().unwrap().target().to_owned();
                assert_eq!(target, connections_path(project, INSTANCE));
            }
            false => {
                let error = outcome.unwrap_err();
                let Error::InvalidInput { parameter, message } = &error else {
                    panic!("{project}: {error:?}");
                };
                assert_eq!(*parameter, "groupId");
                assert!(message.contains(project), "{message}");
                assert_eq!(requests.len(), before, "{project}: nothing sent");
            }
        }
    }
}

#[tokio::test]
async fn the_same_bearer_goes_with_every_call() {
    let server = Server::start(created()).await;
    let client = bearer_client(&server.base_url);
    for _ in 0..3 {
        create(&client).await.unwrap();
    }
    let sent: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization"))
        .collect();
    assert_eq!(sent, vec![Some("Bearer test-token".to_owned()); 3]);
    assert!(!format!("{client:?}").contains("test-token"));
}

#[tokio::test]
async fn a_callers_http_client_still_gets_the_clients_timeout() {
    // The client's own reqwest client applies the timeout itself; one given
    // by the caller has it set on each request.
    let server = Server::start(Reply::hang()).await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .access_token("test-token")
        .http_client(reqwest::Client::new())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = create(&client).await.unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "{error:?}");
}

#[tokio::test]
async fn an_error_body_gives_its_typed_and_raw_views() {
    let body = r#"{"error":400,"errorCode":"INVALID_ATTRIBUTE","detail":"Invalid attribute name.","reason":"Bad Request","parameters":[{"name":"x"}],"badRequestDetail":{"fields":[{"field":"name","description":"must not be blank"}]}}"#;
    let server = Server::start(Reply::json(400, "application/json", body)).await;
    let error = create(&bearer_client(&server.base_url)).await.unwrap_err();
    let api = error.as_api_error().unwrap_or_else(|| panic!("{error:?}"));
    assert_eq!(api.body().as_ref(), body.as_bytes());
    assert_eq!(api.error_code(), Some("INVALID_ATTRIBUTE"));
    assert_eq!(api.detail(), Some("Invalid attribute name."));
    assert_eq!(api.parameters().len(), 1);
    assert_eq!(api.bad_request_fields().len(), 1);
    let typed = api.api_error().expect("the typed view");
    assert_eq!(typed.error_code, "INVALID_ATTRIBUTE");
    assert_eq!(typed.error, 400);

    // A body of another shape has neither view, and keeps its bytes.
    let server = Server::start(Reply::json(400, "application/json", "[400]")).await;
    let error = create(&bearer_client(&server.base_url)).await.unwrap_err();
    let api = error.as_api_error().unwrap_or_else(|| panic!("{error:?}"));
    assert!(api.api_error().is_none());
    assert_eq!(api.error_code(), None);
    assert_eq!(api.body().as_ref(), b"[400]");
}

/// A server that answers every request with `head` (status line and
/// headers, without the blank line) and `body` chunked, in two chunks.
async fn in_two_chunks(head: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                if crate::support::read_request(&mut socket).await.is_none() {
                    return;
                }
                let (first, second) = body.split_at(body.len() / 2);
                let head =
                    format!("{head}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n");
                for part in [head, chunk(first), chunk(second), "0\r\n\r\n".to_owned()] {
                    if socket.write_all(part.as_bytes()).await.is_err() {
                        return;
                    }
                    // hyper hands each chunk over as a frame of its own,
                    // however the writes arrive.
                    let _ = socket.flush().await;
                }
            });
        }
    });
    base_url
}

fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

#[tokio::test]
async fn a_body_without_announced_length_is_read_whole_across_chunks() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.atlas.2023-02-01+json";
    let base_url = in_two_chunks(head, KAFKA_CREATED).await;
    let created = create(&bearer_client(&base_url)).await.unwrap();
    assert_eq!(
        serde_json::to_value(&created).unwrap(),
        serde_json::from_str::<serde_json::Value>(KAFKA_CREATED).unwrap()
    );

    let body =
        r#"{"error":409,"errorCode":"DUPLICATE_NAME","detail":"Taken.","reason":"Conflict"}"#;
    let base_url = in_two_chunks("HTTP/1.1 409 Conflict", body).await;
    let error = create(&bearer_client(&base_url)).await.unwrap_err();
    let api = error.as_api_error().unwrap_or_else(|| panic!("{error:?}"));
    assert_eq!(api.body().as_ref(), body.as_bytes());
    assert_eq!(api.error_code(), Some("DUPLICATE_NAME"));
}

#[tokio::test]
async fn only_envelope_true_unwraps_an_answer_shaped_like_an_envelope() {
    // Asked with `pretty=true` only, an answer that happens to have the
    // envelope's shape is the answer itself: here, no connection.
    let shaped = r#"{"status":201,"content":{"type":"Kafka","name":"x"}}"#;
    let server = Server::start(Reply::json(200, versioned(), shaped)).await;
    let client = bearer_client(&server.base_url);
    let error = client
        .create_stream_connection_with(
            PROJECT,
            INSTANCE,
            &kafka(),
            &CallOptions::new().pretty(true),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Decode(_)), "{error:?}");
    assert_eq!(error.status(), Some(StatusCode::OK));
    let target = server.requests()[0].target().to_owned();
    assert!(target.ends_with("?pretty=true"), "{target}");
}

/// Each request `server` received, as it came: the head with the server's
/// port taken out (it changes from run to run), then the body.
fn on_the_wire(server: &Server) -> Vec<(String, String)> {
    let port = server.base_url.rsplit(':').next().unwrap().to_owned();
    server
        .requests()
        .into_iter()
        .map(|r| {
            let head = r.head.replace(&format!(":{port}"), ":PORT");
            (head, String::from_utf8(r.body).unwrap())
        })
        .collect()
}

/// The head a create sends to `target` with the default version, the
/// bearer token of `bearer_client`, and a body of `length` bytes: headers
/// in this order, nothing more.
fn expected_head(target: &str, length: usize) -> String {
    let media = versioned();
    format!(
        "POST {target} HTTP/1.1\r\naccept: {media}\r\ncontent-type: {media}\r\n\
         authorization: Bearer test-token\r\nuser-agent: {}\r\nhost: 127.0.0.1:PORT\r\ncontent-length: {length}",
        atlas_stream_connections::user_agent()
    )
}

#[tokio::test]
async fn a_create_sends_the_same_bytes_whatever_its_options() {
    let server = Server::start(created()).await;
    let client = bearer_client(&server.base_url);
    let options = [
        CallOptions::new(),
        CallOptions::new().pretty(true),
        CallOptions::new().envelope(true),
        CallOptions::new().envelope(true).pretty(true),
        CallOptions::new().api_version("2024-05-30"),
    ];
    for options in &options {
        client
            .create_stream_connection_with(PROJECT, INSTANCE, &kafka(), options)
            .await
            .unwrap();
    }
    let body = serde_json::to_string(&kafka()).unwrap();
    let path = api_path();
    let targets = [
        path.clone(),
        format!("{path}?pretty=true"),
        format!("{path}?envelope=true"),
        format!("{path}?envelope=true&pretty=true"),
        path.clone(),
    ];
    let sent = on_the_wire(&server);
    assert_eq!(sent.len(), targets.len());
    for ((head, sent_body), target) in sent.iter().zip(&targets) {
        assert_eq!(head, &expected_head(target, body.len()));
        assert_eq!(sent_body, &body, "{target}");
    }
}

#[tokio::test]
async fn hostile_instance_names_and_a_base_path_are_sent_as_before() {
    let server = Server::start(created()).await;
    let client = bearer_client(&format!("{}/proxy/v1/", server.base_url));
    let hostile = "a b/c\\d?e#f%g..é名~_-.x";
    let connection = kafka();
    client
        .create_stream_connection(PROJECT, hostile, &connection)
        .await
        .unwrap();
    let body = serde_json::to_string(&connection).unwrap();
    let target = format!(
        "/proxy/v1/api/atlas/v2/groups/{PROJECT}/streams/\
         a%20b%2Fc%5Cd%3Fe%23f%25g..%C3%A9%E5%90%8D~_-.x/connections"
    );
    let sent = on_the_wire(&server);
    assert_eq!(sent, vec![(expected_head(&target, body.len()), body)]);
}

#[tokio::test]
async fn a_throttled_create_is_sent_again_byte_for_byte() {
    let server = Server::serve(in_turn(vec![
        Reply::status(429).header("retry-after", "0"),
        created(),
    ]))
    .await;
    let client = bearer_builder(&server.base_url)
        .retry_backoff(Duration::from_millis(1), Duration::from_millis(1))
        .build()
        .unwrap();
    create(&client).await.unwrap();
    let sent = on_the_wire(&server);
    let body = serde_json::to_string(&kafka()).unwrap();
    let once = (expected_head(&api_path(), body.len()), body);
    assert_eq!(sent, vec![once.clone(), once]);
}

#[tokio::test]
async fn calls_that_change_instance_each_go_to_their_own() {
    // The client keeps the URL of its previous call's path: a call to
    // another instance must not reuse it, nor one back to the first.
    let server = Server::start(created()).await;
    let client = bearer_client(&server.base_url);
    let instances = [
        "instance-1",
        "instance-2",
        "instance-2",
        "a/b",
        "instance-1",
    ];
    for instance in instances {
        client
            .create_stream_connection(PROJECT, instance, &kafka())
            .await
            .unwrap();
    }
    let targets: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.target().to_owned())
        .collect();
    let expected: Vec<String> = [
        "instance-1",
        "instance-2",
        "instance-2",
        "a%2Fb",
        "instance-1",
    ]
    .iter()
    .map(|instance| connections_path(PROJECT, instance))
    .collect();
    assert_eq!(targets, expected);
}
