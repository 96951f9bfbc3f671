//! The embedded local Atlas (`local_atlas`), exercised through the crate's
//! real `Client` and, where the client would refuse to send something, raw
//! `reqwest` requests: both kinds of authentication, the spec-driven
//! validation, conflicts, injected failures, headers, envelopes, recording.

use std::time::Duration;

use atlas_stream_connections::local_atlas::{Failure, LocalAtlas, NonceCountCheck};
use atlas_stream_connections::types::StreamsConnection;
use atlas_stream_connections::{CallOptions, Client, Error, SecretString};
use serde_json::{Value, json};

use crate::support::{
    DigestAnswer, INSTANCE, PROJECT, REALM, TOKEN_PATH, api_path, connections_path, create_named,
    kafka_named, local_key_client, local_service_account_client, minimal_kafka_json, nonce_of,
    run_workers, versioned,
};

/// The URL of the create operation of `atlas` in `project` and `instance`.
fn create_url(atlas: &LocalAtlas, project: &str, instance: &str) -> String {
    format!(
        "{}{}",
        atlas.base_url(),
        connections_path(project, instance)
    )
}

/// The statuses the local Atlas answered, in order, with method and path.
fn exchanges(atlas: &LocalAtlas) -> Vec<(u16, String)> {
    atlas
        .requests()
        .into_iter()
        .map(|r| (r.status, r.path))
        .collect()
}

fn statuses(atlas: &LocalAtlas) -> Vec<u16> {
    atlas.requests().into_iter().map(|r| r.status).collect()
}

/// Checks a created connection: a self link, no write-only field.
fn assert_as_atlas_answers(created: &StreamsConnection, name: &str) {
    let value = serde_json::to_value(created).unwrap();
    let links = value["links"].as_array().expect("links");
    assert_eq!(links.len(), 1, "{value}");
    assert_eq!(links[0]["rel"], "self");
    let href = links[0]["href"].as_str().unwrap();
    assert!(href.ends_with(&format!("{}/{name}", api_path())), "{href}");
    let authentication = value["authentication"].as_object().expect("authentication");
    for secret in ["password", "clientSecret", "sslKey", "sslKeyPassword"] {
        assert!(!authentication.contains_key(secret), "{secret} in {value}");
    }
    assert_eq!(authentication["username"], "string", "{value}");
    assert_eq!(value["bootstrapServers"], "string");
    assert_eq!(value["name"], name);
}

// ---- raw HTTP helpers -------------------------------------------------------

async fn raw_create(
    url: &str,
    authorization: Option<&str>,
    accept: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("accept", accept)
        .header("content-type", versioned())
        .body(body.to_string());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    crate::support::read_answer(request.send().await.unwrap()).await
}

/// The [`DigestAnswer`] header of `public` and `private` to `nonce` for a
/// `POST` to `uri`, with count `nc`.
fn digest(
    public: &str,
    private: &SecretString,
    nonce: &str,
    uri: &str,
    nc: u32,
    cnonce: &str,
) -> String {
    DigestAnswer {
        username: public,
        private_key: private.expose_secret(),
        method: "POST",
        uri,
        nonce,
        nc: &format!("{nc:08x}"),
        cnonce,
    }
    .header()
}

/// The challenge of an unauthenticated request.
async fn challenge(atlas: &LocalAtlas) -> String {
    let (status, headers, _) = raw_create(
        &create_url(atlas, PROJECT, INSTANCE),
        None,
        versioned(),
        &json!({}),
    )
    .await;
    assert_eq!(status, 401);
    headers["www-authenticate"].to_str().unwrap().to_owned()
}

// ---- authentication ---------------------------------------------------------

#[tokio::test]
async fn an_api_key_creates_a_connection_answered_with_links_and_no_secrets() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_client(&atlas);
    let response = client
        .create_stream_connection_with(
            PROJECT,
            INSTANCE,
            &kafka_named("events"),
            &CallOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], versioned());
    assert_as_atlas_answers(&response, "events");
    let stored = atlas.connections();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].group_id.as_str(), stored[0].tenant_name.as_str()),
        (PROJECT, INSTANCE)
    );
    assert!(stored[0].json()["authentication"].get("password").is_none());
    // The bodiless probe, then the answered challenge.
    assert_eq!(statuses(&atlas), [401, 200]);
}

#[tokio::test]
async fn a_service_account_creates_a_connection_with_a_token_it_issued() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_service_account_client(&atlas);
    let created = create_named(&client, "events").await.unwrap();
    assert_as_atlas_answers(&created, "events");
    let requests = atlas.requests();
    assert_eq!(exchanges(&atlas)[0], (200, TOKEN_PATH.to_owned()));
    assert_eq!(
        requests[1].header("authorization"),
        Some("Bearer [REDACTED]")
    );
    assert_eq!(requests[1].status, 200);
}

#[tokio::test]
async fn unauthenticated_requests_get_the_atlas_challenge_and_error_body() {
    let atlas = LocalAtlas::start().await.unwrap();
    let (status, headers, body) = raw_create(
        &create_url(&atlas, PROJECT, INSTANCE),
        None,
        versioned(),
        &minimal_kafka_json("k"),
    )
    .await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Digest realm=\"MMS Public API\", domain=\"\", nonce=\""),
        "{challenge}"
    );
    assert!(
        challenge.ends_with("\", algorithm=MD5, qop=\"auth\", stale=false"),
        "{challenge}"
    );
    assert_eq!(body["error"], 401);
    assert_eq!(body["errorCode"], "UNAUTHORIZED");
    assert!(atlas.connections().is_empty());
}

#[tokio::test]
async fn a_wrong_api_key_is_an_authentication_error() {
    let atlas = LocalAtlas::start().await.unwrap();
    let (public, _) = atlas.api_key();
    let client = Client::builder()
        .base_url(atlas.base_url())
        .api_key(public, "not-the-private-key")
        .build()
        .unwrap();
    let error = create_named(&client, "events").await.unwrap_err();
    let Error::Authentication(response) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(response.status(), 401);
    assert_eq!(response.error_code(), Some("UNAUTHORIZED"));
    assert!(atlas.connections().is_empty());
}

#[tokio::test]
async fn an_expired_nonce_is_replaced_by_the_client_transparently() {
    // Zero lifetime: each nonce is good for its first answer only.
    let atlas = LocalAtlas::builder()
        .nonce_lifetime(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let client = local_key_client(&atlas);
    for name in ["one", "two", "three"] {
        client
            .create_stream_connection(PROJECT, INSTANCE, &kafka_named(name))
            .await
            .unwrap();
    }
    // Probe, answer; then each later call: pre-emptive answer refused as
    // stale, new challenge answered.
    assert_eq!(statuses(&atlas), [401, 200, 401, 200, 401, 200]);
    assert_eq!(atlas.connections().len(), 3);
}

/// A nonce from a challenge, with the create URL and the request target a
/// Digest answer for it names.
async fn fresh_nonce(atlas: &LocalAtlas) -> (String, String, String) {
    let nonce = nonce_of(&challenge(atlas).await);
    let url = create_url(atlas, PROJECT, INSTANCE);
    let uri = api_path();
    (nonce, url, uri)
}

#[tokio::test]
async fn a_right_answer_to_an_expired_nonce_earns_a_stale_challenge() {
    let atlas = LocalAtlas::builder()
        .nonce_lifetime(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let (public, private) = atlas.api_key();
    let (nonce, url, uri) = fresh_nonce(&atlas).await;
    let first = digest(public, private, &nonce, &uri, 1, "c1");
    let (status, _, _) =
        raw_create(&url, Some(&first), versioned(), &minimal_kafka_json("a")).await;
    assert_eq!(status, 200);
    let second = digest(public, private, &nonce, &uri, 2, "c2");
    let (status, headers, _) =
        raw_create(&url, Some(&second), versioned(), &minimal_kafka_json("b")).await;
    assert_eq!(status, 401);
    let again = headers["www-authenticate"].to_str().unwrap();
    assert!(again.ends_with("stale=true"), "{again}");
    assert_ne!(nonce_of(again), nonce);
}

#[tokio::test]
async fn a_replayed_nonce_count_is_refused() {
    let atlas = LocalAtlas::start().await.unwrap();
    let (public, private) = atlas.api_key();
    let (nonce, url, uri) = fresh_nonce(&atlas).await;
    let header = digest(public, private, &nonce, &uri, 1, "c1");
    let (status, _, _) =
        raw_create(&url, Some(&header), versioned(), &minimal_kafka_json("a")).await;
    assert_eq!(status, 200);
    let (status, headers, _) =
        raw_create(&url, Some(&header), versioned(), &minimal_kafka_json("b")).await;
    assert_eq!(status, 401, "a replay is refused");
    let again = headers["www-authenticate"].to_str().unwrap();
    assert!(again.ends_with("stale=false"), "{again}");
    // The nonce itself is still good with the next count.
    let next = digest(public, private, &nonce, &uri, 2, "c2");
    let (status, _, _) = raw_create(&url, Some(&next), versioned(), &minimal_kafka_json("b")).await;
    assert_eq!(status, 200);
    // A wrong key for the same nonce is refused.
    let wrong = digest(public, &SecretString::new("nope"), &nonce, &uri, 3, "c3");
    let (status, _, _) =
        raw_create(&url, Some(&wrong), versioned(), &minimal_kafka_json("c")).await;
    assert_eq!(status, 401);
    assert_eq!(atlas.connections().len(), 2);
}

#[tokio::test]
async fn an_answer_for_another_realm_or_another_target_is_refused() {
    let atlas = LocalAtlas::start().await.unwrap();
    let (public, private) = atlas.api_key();
    let (nonce, url, uri) = fresh_nonce(&atlas).await;
    // Hashed right for our realm, but naming another: refused.
    let header = digest(public, private, &nonce, &uri, 1, "c1")
        .replace(&format!("realm=\"{REALM}\""), "realm=\"elsewhere\"");
    assert!(header.contains("realm=\"elsewhere\""), "{header}");
    let (status, _, _) =
        raw_create(&url, Some(&header), versioned(), &minimal_kafka_json("a")).await;
    assert_eq!(status, 401, "another realm");
    // Hashed right for a target other than the one requested: refused.
    let other = format!("{uri}-elsewhere");
    let header = digest(public, private, &nonce, &other, 2, "c2");
    let (status, _, _) =
        raw_create(&url, Some(&header), versioned(), &minimal_kafka_json("b")).await;
    assert_eq!(status, 401, "another target");
    // The same nonce answered right is taken.
    let header = digest(public, private, &nonce, &uri, 3, "c3");
    let (status, _, _) =
        raw_create(&url, Some(&header), versioned(), &minimal_kafka_json("c")).await;
    assert_eq!(status, 200);
    assert_eq!(atlas.connections().len(), 1);
}

#[tokio::test]
async fn with_increasing_counts_a_count_below_the_highest_is_refused() {
    let atlas = LocalAtlas::builder()
        .nonce_count_check(NonceCountCheck::Increasing)
        .start()
        .await
        .unwrap();
    let (public, private) = atlas.api_key();
    let (nonce, url, uri) = fresh_nonce(&atlas).await;
    let mut statuses = Vec::new();
    for (nc, name) in [(2, "a"), (1, "b"), (2, "c"), (3, "d")] {
        let header = digest(public, private, &nonce, &uri, nc, &format!("c{nc}{name}"));
        let (status, headers, _) =
            raw_create(&url, Some(&header), versioned(), &minimal_kafka_json(name)).await;
        if status == 401 {
            let again = headers["www-authenticate"].to_str().unwrap();
            assert!(again.ends_with("stale=false"), "{again}");
            assert_ne!(nonce_of(again), nonce, "a new nonce");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [200, 401, 401, 200],
        "out of order, then a repeat"
    );
    assert_eq!(atlas.connections().len(), 2);
}

#[tokio::test]
async fn respond_every_fails_each_period_th_request_until_stopped() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_client(&atlas);
    create_named(&client, "warm").await.unwrap();
    atlas.respond_every(3, Failure::Status(500));
    let outcomes: Vec<bool> = [
        create_named(&client, "a").await.is_ok(),
        create_named(&client, "b").await.is_ok(),
        create_named(&client, "c").await.is_ok(),
        create_named(&client, "d").await.is_ok(),
        create_named(&client, "e").await.is_ok(),
        create_named(&client, "f").await.is_ok(),
    ]
    .into();
    assert_eq!(outcomes, [true, true, false, true, true, false]);
    atlas.respond_every(0, Failure::Status(500));
    for name in ["g", "h", "i"] {
        create_named(&client, name).await.unwrap();
    }
}

/// A soak: 16 workers of 38 creates each, tokens that live a second, and a
/// `500` for every 40th request, whatever its path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_injected_fault_costs_at_most_the_call_it_hit() {
    for kind in ["service account", "API key"] {
        let atlas = LocalAtlas::builder()
            .token_lifetime(Duration::from_secs(1))
            .start()
            .await
            .unwrap();
        let builder = Client::builder()
            .base_url(atlas.base_url())
            .retry_backoff(Duration::ZERO, Duration::from_millis(10));
        let builder = if kind == "API key" {
            let (public, private) = atlas.api_key();
            builder.api_key(public, private.clone())
        } else {
            let (id, secret) = atlas.service_account();
            builder.service_account(id, secret.clone())
        };
        let client = builder.build().unwrap();
        // The first request, which every call waits on (the token request
        // or the first Digest probe), and every 40th after it.
        atlas.respond_next(1, Failure::Status(500));
        atlas.respond_every(40, Failure::Status(500));
        let soak = |w, i| (INSTANCE.to_owned(), kafka_named(&format!("soak-{w}-{i}")));
        let results = run_workers(&client, (16, 38), soak).await;
        let errors = results.iter().filter(|result| result.is_err()).count();
        let requests = atlas.requests();
        let faults: Vec<_> = requests.iter().filter(|r| r.status == 500).collect();
        // Faults on calls (authenticated creates) cost the call; those on
        // token requests and probes are retried.
        let on_calls = faults
            .iter()
            .filter(|r| r.path.ends_with("/connections") && r.header("authorization").is_some())
            .count();
        let on_tokens = faults.iter().filter(|r| r.path == TOKEN_PATH).count();
        let tokens = requests.iter().filter(|r| r.path == TOKEN_PATH).count();
        eprintln!(
            "{kind}: 608 creates, {} requests ({tokens} for tokens), {} faults ({on_calls} on \
             calls, {on_tokens} on token requests): {errors} failed calls",
            requests.len(),
            faults.len(),
        );
        assert_eq!(
            errors, on_calls,
            "{kind}: one failed call per fault on a call, none for a token or a probe"
        );
    }
}

#[tokio::test]
async fn the_token_endpoint_issues_tokens_to_the_service_account_only() {
    let atlas = LocalAtlas::builder()
        .service_account("mdb_sa_id_x", "s3cret with spaces&=")
        .token_lifetime(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    let token_url = format!("{}{TOKEN_PATH}", atlas.base_url());
    let http = reqwest::Client::new();
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let post = |id: &str, secret: &str, body: &'static str| {
        http.post(&token_url)
            .basic_auth(encode(id), Some(encode(secret)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let response = post(
        "mdb_sa_id_x",
        "s3cret with spaces&=",
        "grant_type=client_credentials",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert!(body["access_token"].as_str().is_some_and(|t| t.len() >= 32));

    let wrong = post("mdb_sa_id_x", "wrong", "grant_type=client_credentials")
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let grant = post("mdb_sa_id_x", "s3cret with spaces&=", "grant_type=password")
        .await
        .unwrap();
    assert_eq!(grant.status(), 400);

    // And the client, with the same credentials, gets in.
    let client = local_service_account_client(&atlas);
    create_named(&client, "k").await.unwrap();
}

#[tokio::test]
async fn an_expired_token_is_refused_and_the_client_fetches_a_new_one() {
    let atlas = LocalAtlas::builder()
        .token_lifetime(Duration::ZERO)
        .start()
        .await
        .unwrap();
    // The server side: a token is refused once expired.
    let token = crate::support::raw_token(&atlas).await;
    let url = create_url(&atlas, PROJECT, INSTANCE);
    let bearer = format!("Bearer {token}");
    let (status, _, _) =
        raw_create(&url, Some(&bearer), versioned(), &minimal_kafka_json("a")).await;
    assert_eq!(status, 200);
    let (status, _, body) =
        raw_create(&url, Some(&bearer), versioned(), &minimal_kafka_json("b")).await;
    assert_eq!(status, 401);
    assert_eq!(body["errorCode"], "UNAUTHORIZED");

    // The client side: `expires_in: 0`, so every call fetches a new token.
    let client = local_service_account_client(&atlas);
    for name in ["c", "d"] {
        client
            .create_stream_connection(PROJECT, INSTANCE, &kafka_named(name))
            .await
            .unwrap();
    }
    let token_requests = atlas
        .requests()
        .iter()
        .filter(|r| r.path == TOKEN_PATH)
        .count();
    assert_eq!(token_requests, 3, "one raw, two by the client");
}

#[tokio::test]
async fn a_revoked_token_is_refused_and_the_client_fetches_a_new_one() {
    let atlas = LocalAtlas::start().await.unwrap();
    // The server side.
    let token = crate::support::raw_token(&atlas).await;
    let (id, secret) = atlas.service_account();
    let revoked = reqwest::Client::new()
        .post(format!("{}/api/oauth/revoke", atlas.base_url()))
        .basic_auth(id, Some(secret.expose_secret()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&token_type_hint=access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let bearer = format!("Bearer {token}");
    let url = create_url(&atlas, PROJECT, INSTANCE);
    let (status, _, _) =
        raw_create(&url, Some(&bearer), versioned(), &minimal_kafka_json("a")).await;
    assert_eq!(status, 401);

    // The client side.
    let client = local_service_account_client(&atlas);
    create_named(&client, "b").await.unwrap();
    client.revoke().await.unwrap();
    create_named(&client, "c").await.unwrap();
    let requests = atlas.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    let tail = &paths[paths.len() - 5..];
    assert_eq!(
        tail,
        [
            TOKEN_PATH,
            api_path().as_str(),
            "/api/oauth/revoke",
            TOKEN_PATH,
            api_path().as_str(),
        ]
    );
    for revoke in requests.iter().filter(|r| r.path == "/api/oauth/revoke") {
        let body = String::from_utf8(revoke.body.clone()).unwrap();
        assert!(body.starts_with("token=%5BREDACTED%5D"), "{body}");
        assert!(!body.contains(&token));
    }
    assert_eq!(atlas.connections().len(), 2);
}

// ---- validation from the spec -------------------------------------------------

#[tokio::test]
async fn an_unknown_kind_is_a_400_naming_the_type_field() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_client(&atlas);
    let mqtt: StreamsConnection =
        serde_json::from_value(json!({"type": "Mqtt", "name": "m", "broker": "x"})).unwrap();
    let error = client
        .create_stream_connection(PROJECT, INSTANCE, &mqtt)
        .await
        .unwrap_err();
    let Error::Api(response) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(response.status(), 400);
    assert_eq!(response.error_code(), Some("INVALID_ATTRIBUTE"));
    let fields = response.bad_request_fields();
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].field, "type");
    assert!(fields[0].description.contains("Mqtt"), "{fields:?}");
    assert!(atlas.connections().is_empty());
}

#[tokio::test]
async fn every_kind_the_spec_maps_is_accepted_including_s3_outside_the_type_enum() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_client(&atlas);
    let seeds = [
        include_str!("../fixtures/seed/request-AWSKinesisDataStreams.json"),
        include_str!("../fixtures/seed/request-AWSLambda.json"),
        include_str!("../fixtures/seed/request-Cluster.json"),
        include_str!("../fixtures/seed/request-Https.json"),
        include_str!("../fixtures/seed/request-Kafka.json"),
        include_str!("../fixtures/seed/request-S3.json"),
        include_str!("../fixtures/seed/request-Sample.json"),
    ];
    for (i, seed) in seeds.iter().enumerate() {
        let mut value: Value = serde_json::from_str(seed).unwrap();
        value["name"] = json!(format!("c{i}"));
        let connection: StreamsConnection = serde_json::from_value(value).unwrap();
        client
            .create_stream_connection(PROJECT, INSTANCE, &connection)
            .await
            .unwrap_or_else(|e| panic!("{seed}: {e}"));
    }
    assert_eq!(atlas.connections().len(), seeds.len());
}

#[tokio::test]
async fn a_wrong_field_type_is_a_400_naming_each_field_by_its_path() {
    let atlas = LocalAtlas::start().await.unwrap();
    let bearer = format!("Bearer {}", crate::support::raw_token(&atlas).await);
    let body = json!({
        "type": "Kafka",
        "name": "k",
        "bootstrapServers": 42,
        "authentication": {"password": 7},
        "networking": {"access": {"type": "CARRIER_PIGEON"}},
        "config": {"debug": true},
    });
    let url = create_url(&atlas, PROJECT, INSTANCE);
    let (status, _, error) = raw_create(&url, Some(&bearer), versioned(), &body).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["errorCode"], "INVALID_ATTRIBUTE");
    let mut fields: Vec<&str> = error["badRequestDetail"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "authentication.password",
            "bootstrapServers",
            "config.debug",
            "networking.access.type",
        ],
        "{error}"
    );
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains("must be a string"),
        "{error}"
    );
    // A missing name, and a body that is not JSON.
    let (status, _, error) =
        raw_create(&url, Some(&bearer), versioned(), &json!({"type": "Sample"})).await;
    assert_eq!(
        (status, &error["errorCode"]),
        (400, &json!("MISSING_ATTRIBUTE"))
    );
    assert!(atlas.connections().is_empty());
}

#[tokio::test]
async fn a_duplicate_name_in_one_instance_is_a_409() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_client(&atlas);
    create_named(&client, "events").await.unwrap();
    let error = create_named(&client, "events").await.unwrap_err();
    let Error::Api(response) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(response.status(), 409);
    assert_eq!(response.error_code(), Some("DUPLICATE_STREAM_CONNECTION"));
    // The same name in another instance is another connection.
    client
        .create_stream_connection(PROJECT, "other-instance", &kafka_named("events"))
        .await
        .unwrap();
    assert_eq!(atlas.connections().len(), 2);
}

#[tokio::test]
async fn an_undeclared_instance_is_a_404_once_instances_are_declared() {
    let atlas = LocalAtlas::builder()
        .instance(PROJECT, INSTANCE)
        .start()
        .await
        .unwrap();
    let client = local_key_client(&atlas);
    create_named(&client, "events").await.unwrap();
    let error = client
        .create_stream_connection(PROJECT, "nowhere", &kafka_named("events"))
        .await
        .unwrap_err();
    let Error::Api(response) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.error_code(),
        Some("STREAM_TENANT_NOT_FOUND_FOR_NAME")
    );
    assert_eq!(atlas.connections().len(), 1);
}

#[tokio::test]
async fn an_invalid_group_id_is_a_400() {
    let atlas = LocalAtlas::start().await.unwrap();
    let bearer = format!("Bearer {}", crate::support::raw_token(&atlas).await);
    let url = create_url(&atlas, "32B6E34B3D91647ABB20E7B8", INSTANCE);
    let (status, _, error) =
        raw_create(&url, Some(&bearer), versioned(), &minimal_kafka_json("k")).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["errorCode"], "INVALID_GROUP_ID");
    assert_eq!(error["badRequestDetail"]["fields"][0]["field"], "groupId");
    assert!(atlas.connections().is_empty());
}

#[tokio::test]
async fn an_accept_for_a_version_not_served_is_a_406() {
    let atlas = LocalAtlas::start().await.unwrap();
    let bearer = format!("Bearer {}", crate::support::raw_token(&atlas).await);
    let url = create_url(&atlas, PROJECT, INSTANCE);
    // Before the operation's first version (more in local_atlas_versions.rs).
    let (status, _, error) = raw_create(
        &url,
        Some(&bearer),
        "application/vnd.atlas.2020-01-01+json",
        &minimal_kafka_json("k"),
    )
    .await;
    assert_eq!(status, 406, "{error}");
    assert_eq!(error["errorCode"], "INVALID_VERSION_DATE");
    let (status, headers, _) = raw_create(
        &url,
        Some(&bearer),
        "application/json",
        &minimal_kafka_json("k"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], versioned());
}

// ---- injected failures, headers, envelopes --------------------------------------

#[tokio::test]
async fn a_429_with_retry_after_is_retried_and_succeeds() {
    let atlas = LocalAtlas::start().await.unwrap();
    atlas.respond_next(
        2,
        Failure::TooManyRequests {
            retry_after: Duration::ZERO,
        },
    );
    let (public, private) = atlas.api_key();
    let client = Client::builder()
        .base_url(atlas.base_url())
        .api_key(public, private.clone())
        .retry_backoff(Duration::ZERO, Duration::from_secs(1))
        .build()
        .unwrap();
    create_named(&client, "events").await.unwrap();
    assert_eq!(statuses(&atlas), [429, 429, 401, 200]);
}

#[tokio::test]
async fn a_500_is_an_api_error_and_not_retried() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_client(&atlas);
    // Warm: the Digest probe is behind, so the failure meets the create.
    create_named(&client, "warm").await.unwrap();
    atlas.respond_next(1, Failure::Status(500));
    let error = create_named(&client, "events").await.unwrap_err();
    let Error::Api(response) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(response.status(), 500);
    assert_eq!(response.error_code(), Some("UNEXPECTED_ERROR"));
    assert_eq!(statuses(&atlas), [401, 200, 500]);
    // The failure was used up.
    create_named(&client, "events").await.unwrap();
}

#[tokio::test]
async fn sunset_and_deprecation_headers_surface_on_the_response() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_service_account_client(&atlas);
    let plain = client
        .create_stream_connection_with(PROJECT, INSTANCE, &kafka_named("a"), &CallOptions::new())
        .await
        .unwrap();
    assert_eq!(plain.sunset(), None);
    atlas.set_sunset(Some("Sun, 01 Nov 2026 00:00:00 GMT".into()));
    atlas.set_deprecation(Some("@1767225600".into()));
    let response = client
        .create_stream_connection_with(PROJECT, INSTANCE, &kafka_named("b"), &CallOptions::new())
        .await
        .unwrap();
    assert_eq!(response.sunset(), Some("Sun, 01 Nov 2026 00:00:00 GMT"));
    assert_eq!(response.deprecation(), Some("@1767225600"));
}

#[tokio::test]
async fn envelope_wraps_every_answer_of_the_api_in_a_200() {
    let atlas = LocalAtlas::start().await.unwrap();
    let client = local_key_client(&atlas);
    let response = client
        .create_stream_connection_with(
            PROJECT,
            INSTANCE,
            &kafka_named("events"),
            &CallOptions::new().envelope(true),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_as_atlas_answers(&response, "events");

    let bearer = format!("Bearer {}", crate::support::raw_token(&atlas).await);
    let url = format!("{}?envelope=true", create_url(&atlas, PROJECT, INSTANCE));
    let (status, _, body) =
        raw_create(&url, Some(&bearer), versioned(), &minimal_kafka_json("raw")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], 200);
    assert_eq!(body["content"]["name"], "raw");
    let (status, headers, body) =
        raw_create(&url, None, versioned(), &minimal_kafka_json("x")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], 401);
    assert_eq!(body["content"]["errorCode"], "UNAUTHORIZED");
    assert!(headers.contains_key("www-authenticate"));
}

// ---- recording and secrecy ----------------------------------------------------

#[tokio::test]
async fn requests_are_recorded_with_authorization_redacted() {
    let atlas = LocalAtlas::start().await.unwrap();
    let (_, private) = atlas.api_key();
    let private = private.expose_secret().to_owned();
    local_key_client(&atlas)
        .create_stream_connection(PROJECT, INSTANCE, &kafka_named("events"))
        .await
        .unwrap();
    let requests = atlas.requests();
    assert_eq!(requests.len(), 2);
    let probe = &requests[0];
    assert_eq!(probe.method, "POST");
    assert_eq!(
        probe.path,
        format!("/api/atlas/v2/groups/{PROJECT}/streams/{INSTANCE}/connections")
    );
    assert_eq!(probe.query, None);
    assert!(probe.body.is_empty());
    assert_eq!(probe.header("authorization"), None);
    let answered = &requests[1];
    assert_eq!(answered.header("authorization"), Some("Digest [REDACTED]"));
    assert_eq!(answered.header("content-type"), Some(versioned()));
    let recorded = answered.json().unwrap();
    assert_eq!(recorded["name"], "events");
    // The body as recorded keeps the connection but none of its secrets.
    let authentication = recorded["authentication"]
        .as_object()
        .expect("authentication");
    assert_eq!(authentication["username"], "string");
    for secret in ["password", "clientSecret", "sslKey", "sslKeyPassword"] {
        assert!(!authentication.contains_key(secret), "{secret} recorded");
    }
    let shown = format!("{requests:?}");
    assert!(shown.contains("Digest [REDACTED]"), "{shown}");
    for request in &requests {
        for (_, value) in &request.headers {
            assert!(!value.contains("response="), "{value}");
            assert!(!value.contains(&private), "{value}");
        }
    }
}

#[tokio::test]
async fn debug_shows_no_secret() {
    let atlas = LocalAtlas::builder()
        .api_key("pubkeyab", "private-key-never-shown")
        .service_account("mdb_sa_id_1", "client-secret-never-shown")
        .start()
        .await
        .unwrap();
    let shown = format!("{atlas:?}");
    assert!(shown.contains("pubkeyab"), "{shown}");
    assert!(shown.contains(atlas.base_url()), "{shown}");
    assert!(!shown.contains("private-key-never-shown"), "{shown}");
    assert!(!shown.contains("client-secret-never-shown"), "{shown}");
    let builder = format!(
        "{:?}",
        LocalAtlas::builder()
            .api_key("pubkeyab", "private-key-never-shown")
            .nonce_count_check(NonceCountCheck::Increasing)
    );
    assert!(!builder.contains("private-key-never-shown"), "{builder}");
    assert!(builder.contains("pubkeyab"), "{builder}");
    assert!(
        builder.contains("nonce_count_check: Increasing"),
        "{builder}"
    );
    // The default credentials are random and differ between servers.
    let other = LocalAtlas::start().await.unwrap();
    let third = LocalAtlas::start().await.unwrap();
    assert_ne!(other.api_key().1, third.api_key().1);
    assert_ne!(other.service_account().0, third.service_account().0);
    assert_eq!(other.api_key().0.len(), 8);
}

#[tokio::test]
async fn dropping_it_stops_the_server() {
    let atlas = LocalAtlas::start().await.unwrap();
    let url = create_url(&atlas, PROJECT, INSTANCE);
    drop(atlas);
    tokio::task::yield_now().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let outcome = http.post(&url).body("{}").send().await;
    assert!(
        outcome.as_ref().is_err_and(reqwest::Error::is_connect),
        "{outcome:?}"
    );
}

/// A port on 127.0.0.1 that was free a moment ago (the OS picks it; the
/// listener is closed before returning).
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_fixed_port_is_served_on_loopback_and_a_taken_one_is_an_error() {
    let port = free_port();
    let atlas = LocalAtlas::builder().port(port).start().await.unwrap();
    assert_eq!(atlas.base_url(), format!("http://127.0.0.1:{port}"));
    let client = Client::builder()
        .base_url(atlas.base_url())
        .api_key(atlas.api_key().0, atlas.api_key().1.clone())
        .build()
        .unwrap();
    create_named(&client, "on_a_fixed_port").await.unwrap();

    let taken = LocalAtlas::builder().port(port).start().await.unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse, "{taken}");
}
