//! The client against a real HTTP server on 127.0.0.1: the exact request it
//! sends, and what it makes of every kind of answer.

use crate::support::{
    INSTANCE, KAFKA_CREATED, PROJECT, Reply, Server, api_path, bearer_client, create,
    create_answered, created, kafka, seed, versioned,
};
use atlas_stream_connections::types::StreamsConnection;
use atlas_stream_connections::{Client, Error};

fn rejected(err: &Error, parameter: &str) -> bool {
    matches!(err, Error::InvalidInput { parameter: p, .. } if *p == parameter)
}

/// A server that creates the Kafka connection.
async fn ok_server() -> Server {
    Server::start(created()).await
}

#[tokio::test]
async fn sends_exactly_the_request_the_spec_describes() {
    let server = ok_server().await;
    let client = bearer_client(&server.base_url);
    let created = client
        .create_stream_connection(PROJECT, INSTANCE, &kafka())
        .await
        .unwrap();
    assert_eq!(created.kind(), "Kafka");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        request.request_line(),
        format!("POST {} HTTP/1.1", api_path())
    );
    let expected_body = concat!(
        r#"{"type":"Kafka","authentication":{"clientId":"string","clientSecret":"string","#,
        r#""mechanism":"string","method":"string","password":"string","#,
        r#""saslOauthbearerExtensions":"string","scope":"string","sslCertificate":"string","#,
        r#""sslKey":"string","sslKeyPassword":"string","tokenEndpointUrl":"string","#,
        r#""username":"string"},"bootstrapServers":"string","#,
        r#""config":{"debug":"queue, msg, protocol","group.protocol.type":"consumer"},"#,
        r#""networking":{"access":{"connectionId":"32b6e34b3d91647abb20e7b8","name":"string","#,
        r#""tgwRouteId":"32b6e34b3d91647abb20e7b8","type":"PUBLIC"}},"#,
        r#""security":{"brokerPublicCertificate":"string","protocol":"string"}}"#
    );
    assert_eq!(String::from_utf8_lossy(&request.body), expected_body);

    let host = server.base_url.trim_start_matches("http://").to_string();
    let expected_headers = vec![
        ("accept".to_string(), versioned().to_string()),
        ("authorization".to_string(), "Bearer test-token".to_string()),
        ("content-type".to_string(), versioned().to_string()),
        (
            "user-agent".to_string(),
            atlas_stream_connections::user_agent(),
        ),
        ("host".to_string(), host),
        (
            "content-length".to_string(),
            expected_body.len().to_string(),
        ),
    ];
    let mut got = request.headers();
    got.sort();
    let mut want = expected_headers;
    want.sort();
    assert_eq!(got, want, "headers differ");
}

#[tokio::test]
async fn tenant_name_is_one_percent_encoded_path_segment() {
    let server = ok_server().await;
    let client = bearer_client(&format!("{}/", server.base_url));
    client
        .create_stream_connection(PROJECT, "a/b?c#d%e f", &kafka())
        .await
        .unwrap();
    let line = server.requests()[0].request_line().to_string();
    assert_eq!(
        line,
        format!(
            "POST /api/atlas/v2/groups/{PROJECT}/streams/a%2Fb%3Fc%23d%25e%20f/connections HTTP/1.1"
        )
    );
}

#[tokio::test]
async fn invalid_group_id_is_rejected_before_any_io() {
    let server = ok_server().await;
    let client = bearer_client(&server.base_url);
    for bad in [
        "",
        "32B6E34B3D91647ABB20E7B8",
        "32b6e34b3d91647abb20e7b",
        "../../admin",
        "32b6e34b3d91647abb20e7b8x",
    ] {
        let err = client
            .create_stream_connection(bad, INSTANCE, &kafka())
            .await
            .unwrap_err();
        assert!(rejected(&err, "groupId"), "{bad:?}: {err:?}");
        assert!(err.to_string().contains("groupId"), "{err}");
    }
    let err = client
        .create_stream_connection(PROJECT, "", &kafka())
        .await
        .unwrap_err();
    assert!(rejected(&err, "tenantName"), "{err:?}");
    assert!(server.requests().is_empty(), "a request went out");
}

#[tokio::test]
async fn every_error_example_comes_back_as_a_typed_api_error_with_the_http_status() {
    for (status, body, code) in [
        (400, seed!("response-400.json"), "VALIDATION_ERROR"),
        (401, seed!("response-401.json"), "NOT_ORG_GROUP_CREATOR"),
        (403, seed!("response-403.json"), "CANNOT_CHANGE_GROUP_NAME"),
        (404, seed!("response-404.json"), "RESOURCE_NOT_FOUND"),
        (409, seed!("response-409.json"), "NOT_ORG_GROUP_CREATOR"),
        (500, seed!("response-500.json"), "UNEXPECTED_ERROR"),
    ] {
        let err = create_answered(Reply::json(status, "application/json", body))
            .await
            .unwrap_err();
        // The 409 example's body says 401: the status comes from HTTP.
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{status}");
        assert_eq!(err.error_code(), Some(code), "{status}");
        // A 401 (after the client's own retry) is an authentication error.
        let api = match (status, &err) {
            (401, Error::Authentication(api)) => api,
            (401, other) => panic!("401 is not an authentication error: {other:?}"),
            _ => err.as_api_error().expect("an API error"),
        };
        assert_eq!(
            api.body().as_ref(),
            body.as_bytes(),
            "{status}: raw body kept"
        );
        assert!(api.detail().unwrap().contains("This is just an example"));
        let shown = err.to_string();
        assert!(
            shown.contains(&status.to_string()) && shown.contains(code),
            "{shown}"
        );
        assert!(shown.contains("/api/atlas/v2/groups/"), "{shown}");
    }
}

#[tokio::test]
async fn an_error_body_of_another_shape_than_api_error_still_yields_its_code() {
    // No `error`, `parameters: null`, `reason` absent: the generated
    // `ApiError` (which requires `error`) does not decode it, the error's
    // accessors still read what is there.
    let body = r#"{"errorCode":"STREAM_CONNECTION_NOT_FOUND","detail":"No connection.","parameters":null}"#;
    let err = create_answered(Reply::json(404, "application/json", body))
        .await
        .unwrap_err();
    assert_eq!(
        err.error_code(),
        Some("STREAM_CONNECTION_NOT_FOUND"),
        "{err}"
    );
    let api = err.as_api_error().expect("an API error");
    assert!(
        api.api_error().is_none(),
        "not an ApiError: {:?}",
        api.api_error()
    );
    assert_eq!(api.detail(), Some("No connection."));
    assert!(api.parameters().is_empty());
    assert_eq!(api.reason(), None);
    assert!(api.oauth_error().is_none());

    // Each member on its own: a `detail` of another type and parameters
    // that are not objects take nothing else with them.
    let body = r#"{"error":400,"errorCode":"INVALID_ATTRIBUTE","detail":7,"reason":"Bad Request","parameters":[{"a":1},"<groupId>"],"badRequestDetail":{"fields":[{"field":"name","description":"d"},{"field":3}]}}"#;
    let err = create_answered(Reply::json(400, "application/json", body))
        .await
        .unwrap_err();
    let api = err.as_api_error().expect("an API error");
    assert_eq!(api.error_code(), Some("INVALID_ATTRIBUTE"));
    assert_eq!(api.reason(), Some("Bad Request"));
    assert_eq!(api.detail(), None);
    assert_eq!(api.parameters().len(), 1);
    let fields: Vec<String> = api
        .bad_request_fields()
        .iter()
        .map(|f| f.field.clone())
        .collect();
    assert_eq!(fields, ["name"]);
    assert!(api.body().as_ref().windows(10).any(|w| w == b"<groupId>\""));

    // The token endpoint's shape (a string `error`) is OAuth's, even with an
    // `errorCode` beside it.
    let body = r#"{"error":"invalid_client","error_description":"no","errorCode":"X"}"#;
    let err = create_answered(Reply::json(400, "application/json", body))
        .await
        .unwrap_err();
    let api = err.as_api_error().expect("an API error");
    assert_eq!(
        api.oauth_error().map(|o| o.error.as_str()),
        Some("invalid_client")
    );
    assert_eq!(api.error_code(), Some("invalid_client"));
}

#[tokio::test]
async fn an_html_error_page_is_an_api_error_that_keeps_the_page() {
    let page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    for status in [502, 500] {
        let err = create_answered(Reply::json(status, "text/html", page))
            .await
            .unwrap_err();
        let api = err
            .as_api_error()
            .unwrap_or_else(|| panic!("{status}: {err:?}"));
        assert_eq!(api.status().as_u16(), status);
        assert!(api.api_error().is_none());
        assert_eq!(api.body().as_ref(), page.as_bytes());
        assert_eq!(api.content_type(), Some("text/html"));
        assert!(err.to_string().contains("text/html"), "{err}");
    }
}

#[tokio::test]
async fn a_success_body_of_the_wrong_shape_is_a_decode_error_that_keeps_the_bytes() {
    for body in [
        r#"{"type":"Kafka","bootstrapServers":42}"#,
        "not json at all",
        r#"{"name":"x"}"#,
    ] {
        let err = create_answered(Reply::json(200, versioned(), body))
            .await
            .unwrap_err();
        let Error::Decode(decode) = &err else {
            panic!("{body}: {err:?}")
        };
        assert_eq!(decode.status().map(|s| s.as_u16()), Some(200));
        assert_eq!(decode.body().as_ref(), body.as_bytes());
        assert!(err.to_string().contains("does not match the spec"), "{err}");
    }
}

#[tokio::test]
async fn a_response_of_an_unknown_kind_decodes_whole() {
    let body = r#"{"type":"GCPPubSub","name":"ps","projectId":"p-1","links":[]}"#;
    let created = create_answered(Reply::json(200, versioned(), body))
        .await
        .unwrap();
    assert_eq!(created.kind(), "GCPPubSub");
    assert_eq!(
        serde_json::to_value(&created).unwrap(),
        serde_json::from_str::<serde_json::Value>(body).unwrap()
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error() {
    // Bind, learn the port, close: nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = bearer_client(&format!("http://{addr}"));
    let err = client
        .create_stream_connection(PROJECT, INSTANCE, &kafka())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_run_concurrently_on_a_multi_threaded_runtime() {
    let server = ok_server().await;
    let client = bearer_client(&server.base_url);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .create_stream_connection(PROJECT, &format!("instance-{i}"), &kafka())
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().kind(), "Kafka");
    }
    assert_eq!(server.requests().len(), 8);
}

#[test]
fn base_urls_are_checked() {
    for bad in [
        "cloud.mongodb.com",
        "ftp://cloud.mongodb.com",
        "https://u:p@cloud.mongodb.com",
        "https://cloud.mongodb.com/?x=1",
    ] {
        let err = Client::builder()
            .base_url(bad)
            .access_token("token")
            .build()
            .unwrap_err();
        assert!(rejected(&err, "base_url"), "{bad}: {err:?}");
        assert!(
            !err.to_string().contains(":p@"),
            "credentials echoed: {err}"
        );
    }
    assert_eq!(
        bearer_client("https://cloud.mongodb.com/").base_url(),
        "https://cloud.mongodb.com"
    );
}

#[tokio::test]
async fn dot_segments_are_refused_as_tenant_names_before_any_io() {
    let server = ok_server().await;
    let client = bearer_client(&server.base_url);
    for instance in [".", ".."] {
        let err = client
            .create_stream_connection(PROJECT, instance, &kafka())
            .await
            .unwrap_err();
        assert!(rejected(&err, "tenantName"), "{instance}: {err:?}");
    }
    assert!(server.requests().is_empty(), "a request went out");
    // Dots inside a name are plain characters.
    client
        .create_stream_connection(PROJECT, "a..b", &kafka())
        .await
        .expect("a..b is a name");
}

#[tokio::test]
async fn a_redirect_is_not_followed_with_the_body() {
    let elsewhere = ok_server().await;
    let redirecting = Server::start(
        Reply::status(307).header("location", &format!("{}/elsewhere", elsewhere.base_url)),
    )
    .await;
    let err = create(&bearer_client(&redirecting.base_url))
        .await
        .unwrap_err();
    let api = err.as_api_error().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(api.status().as_u16(), 307);
    assert_eq!(redirecting.requests().len(), 1);
    assert!(
        elsewhere.requests().is_empty(),
        "the body (with its secrets) went to the redirect target"
    );
}

#[tokio::test]
async fn an_undeclared_success_status_is_a_decode_error_that_keeps_the_body() {
    let body = KAFKA_CREATED;
    let err = create_answered(Reply::json(201, versioned(), body))
        .await
        .unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(decode.status().map(|s| s.as_u16()), Some(201));
    assert_eq!(
        decode.body().as_ref(),
        body.as_bytes(),
        "the created connection is kept"
    );
    let recovered: StreamsConnection = serde_json::from_slice(decode.body()).unwrap();
    assert_eq!(recovered.kind(), "Kafka");
}
