//! The local Atlas serving the whole resource: get, list, update and delete
//! beside create, over raw HTTP with a bearer token of its service account
//! (the client's wrappers for these operations are not this module's
//! subject): their answers and Atlas's error codes, pagination, the
//! deployment states of private Kafka connections, write-only members, the
//! rate limiter, and recording.

use std::time::Duration;

use atlas_stream_connections::local_atlas::{ConnectionState, Failure, LocalAtlas};
use atlas_stream_connections::types::StreamsConnection;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::support::{DigestAnswer, INSTANCE, PROJECT, connections_path, nonce_of, versioned};

/// Another project, for what is per project.
const OTHER_PROJECT: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";

/// One answer: status, headers, body (`Null` when empty).
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn error_code(&self) -> &str {
        self.body["errorCode"].as_str().unwrap_or_default()
    }
}

/// A raw HTTP client of a local Atlas, with a bearer token of its service
/// account.
struct Api {
    base_url: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn of(atlas: &LocalAtlas) -> Self {
        let token = crate::support::raw_token(atlas).await;
        let http = reqwest::Client::new();
        Self {
            base_url: atlas.base_url().to_owned(),
            token,
            http,
        }
    }

    /// `method` to `path_and_query`, with `body` as the versioned media type.
    async fn send(&self, method: Method, path_and_query: &str, body: Option<&Value>) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path_and_query}", self.base_url))
            .bearer_auth(&self.token)
            .header("accept", versioned());
        if let Some(body) = body {
            request = request
                .header("content-type", versioned())
                .body(body.to_string());
        }
        let (status, headers, body) =
            crate::support::read_answer(request.send().await.unwrap()).await;
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn create(&self, connection: &Value) -> Answer {
        let path = connections_path(PROJECT, INSTANCE);
        self.send(Method::POST, &path, Some(connection)).await
    }

    async fn get(&self, name: &str) -> Answer {
        self.send(Method::GET, &one_path(PROJECT, name), None).await
    }

    async fn list(&self, query: &str) -> Answer {
        let path = format!("{}{query}", connections_path(PROJECT, INSTANCE));
        self.send(Method::GET, &path, None).await
    }

    async fn patch(&self, name: &str, connection: &Value) -> Answer {
        let path = one_path(PROJECT, name);
        self.send(Method::PATCH, &path, Some(connection)).await
    }

    async fn delete(&self, name: &str) -> Answer {
        self.send(Method::DELETE, &one_path(PROJECT, name), None)
            .await
    }
}

fn one_path(project: &str, name: &str) -> String {
    format!("{}/{name}", connections_path(project, INSTANCE))
}

fn sample(name: &str) -> Value {
    json!({"type": "Sample", "name": name})
}

/// A Kafka connection with SASL credentials and an SSL key, public.
fn kafka(name: &str) -> Value {
    json!({
        "type": "Kafka",
        "name": name,
        "bootstrapServers": "broker-1:9092",
        "authentication": {"mechanism": "SCRAM-256", "username": "app", "password": "hunter2"},
        "security": {"protocol": "SSL", "brokerPublicCertificate": "cert"},
    })
}

/// A Kafka connection over VPC peering: it deploys asynchronously.
fn private_kafka(name: &str) -> Value {
    let mut kafka = kafka(name);
    kafka["networking"] = json!({"access": {"type": "VPC"}});
    kafka
}

/// Asserts `connection` (an answer's) has none of the write-only members.
fn assert_without_secrets(connection: &Value) {
    let authentication = connection["authentication"].as_object();
    for secret in ["password", "clientSecret", "sslKey", "sslKeyPassword"] {
        assert!(
            authentication.is_none_or(|a| !a.contains_key(secret)),
            "{secret} in {connection}"
        );
    }
    let text = connection.to_string();
    assert!(!text.contains("hunter2"), "{text}");
}

fn names(page: &Value) -> Vec<&str> {
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

/// The `href` of the link `rel` of a page, if any.
fn link<'a>(page: &'a Value, rel: &str) -> Option<&'a str> {
    page["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == rel)
        .map(|l| l["href"].as_str().unwrap())
}

fn password_of(connection: &StreamsConnection) -> Option<String> {
    let StreamsConnection::Kafka(kafka) = connection else {
        panic!("not Kafka: {connection:?}");
    };
    let password = kafka.authentication.as_ref()?.password.as_ref()?;
    Some(password.expose_secret().to_owned())
}

// ---- get ----------------------------------------------------------------------

#[tokio::test]
async fn get_answers_the_connection_as_stored_with_its_state_and_without_secrets() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    assert_eq!(api.create(&kafka("events")).await.status, 200);

    let got = api.get("events").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.headers["content-type"], versioned());
    assert_eq!(got.body["name"], "events");
    assert_eq!(got.body["bootstrapServers"], "broker-1:9092");
    assert_eq!(got.body["authentication"]["username"], "app");
    assert_eq!(got.body["state"], "READY");
    assert_without_secrets(&got.body);
    let href = got.body["links"][0]["href"].as_str().unwrap();
    assert_eq!(
        href,
        format!("{}{}", atlas.base_url(), one_path(PROJECT, "events"))
    );
    assert_eq!(got.body["links"][0]["rel"], "self");
    assert_eq!(got.body, *atlas.connections()[0].json());
}

#[tokio::test]
async fn get_of_a_missing_connection_is_atlas_s_not_found_for_name() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    let missing = api.get("nope").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "STREAM_CONNECTION_NOT_FOUND_FOR_NAME");
    assert_eq!(
        missing.body["detail"],
        format!(
            "Stream connection with name nope for project {PROJECT} and name {INSTANCE} not found."
        )
    );
    assert_eq!(
        missing.body["parameters"],
        json!(["nope", PROJECT, INSTANCE])
    );
    // A connection of that name in another project is another connection.
    let other = api
        .send(
            Method::POST,
            &connections_path(OTHER_PROJECT, INSTANCE),
            Some(&sample("nope")),
        )
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(api.get("nope").await.status, 404);
}

#[tokio::test]
async fn every_operation_on_an_undeclared_instance_is_stream_tenant_not_found() {
    let atlas = LocalAtlas::builder()
        .instance(PROJECT, "declared")
        .start()
        .await
        .unwrap();
    let api = Api::of(&atlas).await;
    let collection = connections_path(PROJECT, INSTANCE);
    let one = format!("{collection}/c");
    for (method, path, body) in [
        (Method::GET, &collection, None),
        (Method::GET, &one, None),
        (Method::PATCH, &one, Some(sample("c"))),
        (Method::DELETE, &one, None),
    ] {
        let answer = api.send(method.clone(), path, body.as_ref()).await;
        assert_eq!(answer.status, 404, "{method} {path}");
        assert_eq!(
            answer.error_code(),
            "STREAM_TENANT_NOT_FOUND_FOR_NAME",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn another_method_on_a_known_path_is_405_naming_those_allowed() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    let answer = api.send(Method::PUT, &one_path(PROJECT, "c"), None).await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.error_code(), "METHOD_NOT_ALLOWED");
    let mut allowed: Vec<&str> = answer.headers["allow"]
        .to_str()
        .unwrap()
        .split(", ")
        .collect();
    allowed.sort_unstable();
    assert_eq!(allowed, ["DELETE", "GET", "PATCH"]);
    let on_collection = api
        .send(Method::DELETE, &connections_path(PROJECT, INSTANCE), None)
        .await;
    assert_eq!(on_collection.status, 405);
    assert_eq!(on_collection.headers["allow"], "GET, POST");
}

// ---- list ---------------------------------------------------------------------

#[tokio::test]
async fn list_pages_through_connections_in_creation_order_with_atlas_s_links() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    // Not in alphabetical order: the order is the creation order.
    for name in ["e", "a", "d", "b", "c"] {
        assert_eq!(api.create(&sample(name)).await.status, 200);
    }
    let collection = format!(
        "{}{}",
        atlas.base_url(),
        connections_path(PROJECT, INSTANCE)
    );
    let page_href = |page: u32| format!("{collection}?pageNum={page}&itemsPerPage=2");

    let first = api.list("?itemsPerPage=2").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.headers["content-type"], versioned());
    assert_eq!(names(&first.body), ["e", "a"]);
    assert_eq!(first.body["totalCount"], 5);
    assert_eq!(link(&first.body, "self"), Some(page_href(1).as_str()));
    assert_eq!(link(&first.body, "next"), Some(page_href(2).as_str()));
    assert_eq!(link(&first.body, "previous"), None);

    let second = api.list("?itemsPerPage=2&pageNum=2").await;
    assert_eq!(names(&second.body), ["d", "b"]);
    assert_eq!(link(&second.body, "previous"), Some(page_href(1).as_str()));
    assert_eq!(link(&second.body, "next"), Some(page_href(3).as_str()));

    let third = api.list("?pageNum=3&itemsPerPage=2").await;
    assert_eq!(names(&third.body), ["c"]);
    assert_eq!(link(&third.body, "next"), None);
    assert_eq!(third.body["totalCount"], 5);
    for connection in third.body["results"].as_array().unwrap() {
        assert_eq!(connection["state"], "READY");
    }

    let past_the_end = api.list("?itemsPerPage=2&pageNum=4").await;
    assert_eq!(past_the_end.status, 200);
    assert_eq!(names(&past_the_end.body), Vec::<&str>::new());
    assert_eq!(past_the_end.body["totalCount"], 5);
    assert_eq!(link(&past_the_end.body, "next"), None);

    // A page that ends exactly at the last connection has no next.
    let exact = api.list("?itemsPerPage=5").await;
    assert_eq!(names(&exact.body), ["e", "a", "d", "b", "c"]);
    assert_eq!(link(&exact.body, "next"), None);

    // Defaults: page 1 of 100.
    let all = api.list("").await;
    assert_eq!(names(&all.body), ["e", "a", "d", "b", "c"]);
    let own = format!("{collection}?pageNum=1&itemsPerPage=100");
    assert_eq!(link(&all.body, "self"), Some(own.as_str()));
    // Another instance's connections are not listed.
    let other = api
        .send(Method::GET, &connections_path(PROJECT, "other"), None)
        .await;
    assert_eq!(other.body["totalCount"], 0);
}

#[tokio::test]
async fn list_refuses_a_page_size_or_number_out_of_the_spec_s_range() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    for (query, field) in [
        ("?itemsPerPage=0", "itemsPerPage"),
        ("?itemsPerPage=501", "itemsPerPage"),
        ("?itemsPerPage=ten", "itemsPerPage"),
        ("?pageNum=0", "pageNum"),
        ("?pageNum=-1", "pageNum"),
    ] {
        let answer = api.list(query).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.error_code(), "VALIDATION_ERROR", "{query}");
        assert_eq!(
            answer.body["badRequestDetail"]["fields"][0]["field"], field,
            "{query}"
        );
    }
    for query in ["?itemsPerPage=500", "?itemsPerPage=1&pageNum=1000"] {
        assert_eq!(api.list(query).await.status, 200, "{query}");
    }
}

#[tokio::test]
async fn an_enveloped_list_carries_its_status_and_a_single_connection_is_wrapped() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    api.create(&sample("s")).await;
    let listed = api.list("?envelope=true").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["status"], 200);
    assert_eq!(names(&listed.body), ["s"]);
    let got = api
        .send(
            Method::GET,
            &format!("{}?envelope=true", one_path(PROJECT, "s")),
            None,
        )
        .await;
    assert_eq!(got.body["status"], 200);
    assert_eq!(got.body["content"]["name"], "s");
    let missing = api
        .send(
            Method::GET,
            &format!("{}?envelope=true", one_path(PROJECT, "x")),
            None,
        )
        .await;
    assert_eq!(missing.status, 200);
    assert_eq!(missing.body["status"], 404);
    assert_eq!(
        missing.body["content"]["errorCode"],
        "STREAM_CONNECTION_NOT_FOUND_FOR_NAME"
    );
}

// ---- update -------------------------------------------------------------------

#[tokio::test]
async fn patch_replaces_the_connection_and_keeps_write_only_members_it_omits() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    api.create(&sample("first")).await;
    assert_eq!(api.create(&kafka("events")).await.status, 200);

    let mut update = kafka("events");
    update["bootstrapServers"] = json!("broker-2:9092");
    update["authentication"] = json!({"mechanism": "SCRAM-512", "username": "app2"});
    let patched = api.patch("events", &update).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.headers["content-type"], versioned());
    assert_eq!(patched.body["bootstrapServers"], "broker-2:9092");
    assert_eq!(patched.body["authentication"]["mechanism"], "SCRAM-512");
    assert_eq!(patched.body["state"], "READY");
    assert_without_secrets(&patched.body);
    assert_eq!(patched.body, api.get("events").await.body);
    let listed = api.list("").await;
    assert_eq!(
        names(&listed.body),
        ["first", "events"],
        "the update kept its place"
    );
    for connection in listed.body["results"].as_array().unwrap() {
        assert_without_secrets(connection);
    }

    // The password omitted is kept; one sent replaces it.
    let stored = &atlas.connections()[1];
    let sent = stored.sent_connection().unwrap();
    assert_eq!(password_of(&sent).as_deref(), Some("hunter2"));
    update["authentication"]["password"] = json!("new-secret");
    assert_eq!(api.patch("events", &update).await.status, 200);
    let sent = atlas.connections()[1].sent_connection().unwrap();
    assert_eq!(password_of(&sent).as_deref(), Some("new-secret"));
    // Dropping the authentication drops its password.
    update.as_object_mut().unwrap().remove("authentication");
    assert_eq!(api.patch("events", &update).await.status, 200);
    let sent = atlas.connections()[1].sent_connection().unwrap();
    assert_eq!(password_of(&sent), None);
}

#[tokio::test]
async fn patch_refuses_a_rename_a_new_type_an_invalid_body_and_a_missing_connection() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    api.create(&kafka("events")).await;
    let before = api.get("events").await.body;

    let renamed = api.patch("events", &kafka("other")).await;
    assert_eq!(renamed.status, 400);
    assert_eq!(renamed.error_code(), "INVALID_ATTRIBUTE");
    assert_eq!(
        renamed.body["badRequestDetail"]["fields"][0]["field"],
        "name"
    );

    let retyped = api.patch("events", &sample("events")).await;
    assert_eq!(retyped.status, 400);
    assert_eq!(retyped.error_code(), "INVALID_ATTRIBUTE");
    assert_eq!(
        retyped.body["badRequestDetail"]["fields"][0]["field"],
        "type"
    );

    let mut invalid = kafka("events");
    invalid["bootstrapServers"] = json!(5);
    let refused = api.patch("events", &invalid).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.error_code(), "INVALID_ATTRIBUTE");
    assert_eq!(
        refused.body["badRequestDetail"]["fields"][0]["field"],
        "bootstrapServers"
    );
    let nameless = api.patch("events", &json!({"type": "Kafka"})).await;
    assert_eq!(nameless.error_code(), "MISSING_ATTRIBUTE");

    let missing = api.patch("nope", &kafka("nope")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "STREAM_CONNECTION_NOT_FOUND_FOR_NAME");

    assert_eq!(api.get("events").await.body, before, "nothing changed");
    assert_eq!(atlas.connections().len(), 1);
}

// ---- delete -------------------------------------------------------------------

#[tokio::test]
async fn delete_answers_202_without_a_body_and_the_connection_is_gone() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    api.create(&kafka("events")).await;
    api.create(&sample("kept")).await;

    let deleted = api.delete("events").await;
    assert_eq!(deleted.status, 202);
    assert_eq!(deleted.body, Value::Null);
    assert!(deleted.headers.get("content-type").is_none());
    assert_eq!(api.get("events").await.status, 404);
    assert_eq!(names(&api.list("").await.body), ["kept"]);
    assert_eq!(atlas.connections().len(), 1);

    let again = api.delete("events").await;
    assert_eq!(again.status, 404);
    assert_eq!(again.error_code(), "STREAM_CONNECTION_NOT_FOUND_FOR_NAME");
    // The name is free again.
    assert_eq!(api.create(&sample("events")).await.status, 200);
}

// ---- states -------------------------------------------------------------------

#[tokio::test]
async fn a_private_kafka_connection_is_pending_and_refuses_changes_while_deploying() {
    let atlas = LocalAtlas::builder()
        .deployment_time(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let api = Api::of(&atlas).await;
    let created = api.create(&private_kafka("vpc")).await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["state"], "PENDING");
    assert_eq!(api.get("vpc").await.body["state"], "PENDING");
    assert_eq!(
        atlas.connection_state(PROJECT, INSTANCE, "vpc"),
        Some(ConnectionState::Pending)
    );

    let deleted = api.delete("vpc").await;
    assert_eq!(deleted.status, 409);
    assert_eq!(deleted.error_code(), "STREAM_KAFKA_CONNECTION_IS_DEPLOYING");
    assert_eq!(
        deleted.body["detail"],
        "Stream Kafka connection vpc is currently deploying. Please retry the request later."
    );
    let patched = api.patch("vpc", &private_kafka("vpc")).await;
    assert_eq!(patched.status, 409);
    assert_eq!(patched.error_code(), "STREAM_KAFKA_CONNECTION_IS_DEPLOYING");

    // Private Link deploys asynchronously too.
    let mut private_link = private_kafka("link");
    private_link["networking"]["access"]["type"] = json!("PRIVATE_LINK");
    assert_eq!(api.create(&private_link).await.body["state"], "PENDING");

    // Public networking, or another kind: ready at once, deleted at once.
    for connection in [kafka("public"), sample("sample")] {
        let created = api.create(&connection).await;
        assert_eq!(created.body["state"], "READY");
    }
    assert_eq!(api.delete("public").await.status, 202);
    assert_eq!(api.get("public").await.status, 404);
    assert_eq!(
        atlas.connection_state(PROJECT, INSTANCE, "vpc"),
        Some(ConnectionState::Pending)
    );
}

#[tokio::test]
async fn a_deletion_of_a_private_kafka_connection_is_deleting_for_the_deployment_time() {
    let atlas = LocalAtlas::builder()
        .deployment_time(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let api = Api::of(&atlas).await;
    let created = api.create(&private_kafka("vpc")).await;
    assert_eq!(created.body["state"], "READY", "zero time: ready at once");
    let updated = api.patch("vpc", &private_kafka("vpc")).await;
    assert_eq!(updated.body["state"], "READY");

    atlas.set_deployment_time(Duration::from_secs(3600));
    assert_eq!(api.delete("vpc").await.status, 202);
    let deleting = api.get("vpc").await;
    assert_eq!(deleting.status, 200);
    assert_eq!(deleting.body["state"], "DELETING");
    assert_eq!(atlas.connections()[0].state(), ConnectionState::Deleting);
    assert_eq!(api.delete("vpc").await.status, 409);
    let duplicate = api.create(&private_kafka("vpc")).await;
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.error_code(), "DUPLICATE_STREAM_CONNECTION");

    // With no deployment time, a deletion ends at once.
    atlas.set_deployment_time(Duration::ZERO);
    api.create(&private_kafka("quick")).await;
    assert_eq!(api.delete("quick").await.status, 202);
    assert_eq!(api.get("quick").await.status, 404);
    assert_eq!(atlas.connection_state(PROJECT, INSTANCE, "quick"), None);
}

#[tokio::test]
async fn fail_next_deployment_makes_one_deployment_end_failed() {
    let atlas = LocalAtlas::builder()
        .deployment_time(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let api = Api::of(&atlas).await;
    atlas.fail_next_deployment();
    assert_eq!(
        api.create(&private_kafka("doomed")).await.body["state"],
        "FAILED"
    );
    assert_eq!(api.get("doomed").await.body["state"], "FAILED");
    assert_eq!(
        api.create(&private_kafka("fine")).await.body["state"],
        "READY"
    );
    atlas.fail_next_deployment();
    assert_eq!(api.create(&sample("sample")).await.body["state"], "FAILED");
    // An update redeploys a failed connection; a failed one can be deleted.
    assert_eq!(
        api.patch("doomed", &private_kafka("doomed")).await.body["state"],
        "READY"
    );
    assert_eq!(api.delete("sample").await.status, 202);
    let states: Vec<ConnectionState> = atlas.connections().iter().map(|c| c.state()).collect();
    assert_eq!(states, [ConnectionState::Ready, ConnectionState::Ready]);
}

#[tokio::test]
async fn a_deployment_under_way_still_fails_when_asked_before_it_started() {
    let atlas = LocalAtlas::builder()
        .deployment_time(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let api = Api::of(&atlas).await;
    atlas.fail_next_deployment();
    assert_eq!(
        api.create(&private_kafka("doomed")).await.body["state"],
        "PENDING"
    );
    // The failure was taken by that deployment: the next is not failed.
    atlas.set_deployment_time(Duration::ZERO);
    assert_eq!(
        api.create(&private_kafka("fine")).await.body["state"],
        "READY"
    );
}

// ---- rate limit ---------------------------------------------------------------

#[tokio::test]
async fn requests_over_the_rate_limit_get_429_with_retry_after_per_project() {
    let atlas = LocalAtlas::builder()
        .rate_limit(3, 3, Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let api = Api::of(&atlas).await;
    assert_eq!(api.create(&sample("s")).await.status, 200);
    assert_eq!(api.get("s").await.status, 200);
    assert_eq!(api.list("").await.status, 200);
    let throttled = api.delete("s").await;
    assert_eq!(throttled.status, 429);
    // Atlas's documented answer of an empty token bucket.
    assert_eq!(throttled.error_code(), "RATE_LIMITED_TOKEN_BUCKET");
    let header = |name: &str| throttled.headers[name].to_str().unwrap().to_owned();
    let retry_after: u64 = header("retry-after").parse().unwrap();
    assert!((3599..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(
        (header("ratelimit-limit"), header("ratelimit-remaining")),
        ("3".into(), "0".into())
    );
    let endpoint = "api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections";
    assert_eq!(
        throttled.body["parameters"],
        json!([endpoint, retry_after, 3, 3, 3600])
    );
    assert_eq!(
        throttled.body["detail"],
        format!(
            "Rate limit exceeded for {endpoint}. Please retry after {retry_after} seconds. \
             Request capacity: 3. Refill rate: 3 per 3600 seconds."
        )
    );
    assert_eq!(atlas.throttled(), 1);
    assert_eq!(atlas.connections().len(), 1, "the delete was not served");
    assert!(!atlas.requests().last().unwrap().is_call());

    // Another project has its own allowance.
    let other = api
        .send(
            Method::GET,
            &connections_path(OTHER_PROJECT, INSTANCE),
            None,
        )
        .await;
    assert_eq!(other.status, 200);
    // Injected 429s are counted too.
    atlas.respond_next(
        1,
        Failure::TooManyRequests {
            retry_after: Duration::from_secs(2),
        },
    );
    assert_eq!(api.get("s").await.status, 429);
    assert_eq!(atlas.throttled(), 2);
}

#[tokio::test]
async fn without_a_rate_limit_nothing_is_throttled() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    for _ in 0..20 {
        assert_eq!(api.list("").await.status, 200);
    }
    assert_eq!(atlas.throttled(), 0);
}

// ---- recording and failures ---------------------------------------------------

#[tokio::test]
async fn every_operation_is_recorded_as_a_call_and_can_be_made_to_fail() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    api.create(&sample("s")).await;
    api.get("s").await;
    api.list("").await;
    api.patch("s", &sample("s")).await;
    api.delete("s").await;
    let calls: Vec<(String, u16)> = atlas
        .calls()
        .into_iter()
        .map(|c| (c.method, c.status))
        .collect();
    let expected = [
        ("POST", 200),
        ("GET", 200),
        ("GET", 200),
        ("PATCH", 200),
        ("DELETE", 202),
    ];
    let expected: Vec<(String, u16)> = expected.iter().map(|(m, s)| (m.to_string(), *s)).collect();
    assert_eq!(calls, expected);

    api.create(&sample("t")).await;
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        atlas.respond_next(1, Failure::Status(503));
        let answer = api
            .send(method.clone(), &one_path(PROJECT, "t"), Some(&sample("t")))
            .await;
        assert_eq!(answer.status, 503, "{method}");
    }
    atlas.respond_next(1, Failure::Status(503));
    assert_eq!(api.list("").await.status, 503);
    assert_eq!(api.get("t").await.status, 200, "the failures were used up");
}

#[tokio::test]
async fn patch_bodies_are_recorded_without_secrets_unless_told_to_keep_them() {
    for record_secrets in [false, true] {
        let atlas = LocalAtlas::builder()
            .record_secrets(record_secrets)
            .start()
            .await
            .unwrap();
        let api = Api::of(&atlas).await;
        api.create(&kafka("events")).await;
        let mut update = kafka("events");
        update["authentication"]["password"] = json!("patched-secret");
        assert_eq!(api.patch("events", &update).await.status, 200);

        let patch = atlas.calls().pop().unwrap();
        assert_eq!(patch.method, "PATCH");
        let recorded = patch.json().unwrap();
        assert_eq!(recorded["authentication"]["username"], "app");
        assert!(
            recorded["authentication"].get("password").is_none(),
            "{record_secrets}"
        );
        assert!(!String::from_utf8_lossy(&patch.body).contains("patched-secret"));
        match patch.sent_connection() {
            Some(sent) => {
                assert!(record_secrets);
                assert_eq!(password_of(&sent).as_deref(), Some("patched-secret"));
            }
            None => assert!(!record_secrets),
        }
    }
}

/// The state of `name` once it is no longer `from`, polling GET (the
/// deployment ends with time, which a test can only wait for) for at most
/// ten seconds; `None` once the connection is gone (`404`).
async fn state_after(api: &Api, name: &str, from: &str) -> Option<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = api.get(name).await;
        if got.status == 404 {
            return None;
        }
        let state = got.body["state"].as_str().unwrap().to_owned();
        if state != from {
            return Some(state);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} still {from}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn deployments_and_deletions_end_when_the_deployment_time_has_passed() {
    let atlas = LocalAtlas::builder()
        .deployment_time(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let api = Api::of(&atlas).await;
    assert_eq!(
        api.create(&private_kafka("vpc")).await.body["state"],
        "PENDING"
    );
    assert_eq!(
        state_after(&api, "vpc", "PENDING").await.as_deref(),
        Some("READY")
    );
    atlas.fail_next_deployment();
    assert_eq!(
        api.patch("vpc", &private_kafka("vpc")).await.body["state"],
        "PENDING"
    );
    assert_eq!(
        state_after(&api, "vpc", "PENDING").await.as_deref(),
        Some("FAILED")
    );
    assert_eq!(api.delete("vpc").await.status, 202);
    assert_eq!(state_after(&api, "vpc", "DELETING").await, None);
    assert!(atlas.connections().is_empty());
}

#[tokio::test]
async fn a_connection_read_can_be_sent_back_as_its_update_its_state_ignored() {
    let atlas = LocalAtlas::builder()
        .deployment_time(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let api = Api::of(&atlas).await;
    api.create(&kafka("events")).await;
    let mut read = api.get("events").await.body;
    read["bootstrapServers"] = json!("broker-3:9092");
    read["state"] = json!("FAILED");
    let patched = api.patch("events", &read).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["state"], "READY");
    assert_eq!(patched.body["bootstrapServers"], "broker-3:9092");
    // Neither the state nor the links sent are stored as sent; the
    // password omitted is kept.
    let sent = atlas.connections()[0].sent_connection().unwrap();
    assert_eq!(password_of(&sent).as_deref(), Some("hunter2"));
    let sent = serde_json::to_value(&sent).unwrap();
    assert!(sent.get("state").is_none(), "{sent}");
    assert!(sent.get("links").is_none(), "{sent}");
}

#[tokio::test]
async fn digest_answers_are_checked_against_each_operation_s_method_and_uri() {
    let atlas = LocalAtlas::start().await.unwrap();
    let api = Api::of(&atlas).await;
    api.create(&sample("s")).await;
    let (public, private) = atlas.api_key();
    let http = reqwest::Client::new();
    let uri = format!("{}?pretty=true", one_path(PROJECT, "s"));
    let url = format!("{}{uri}", atlas.base_url());
    let probe = http.patch(&url).send().await.unwrap();
    assert_eq!(probe.status(), 401);
    let nonce = nonce_of(probe.headers()["www-authenticate"].to_str().unwrap());
    let answer = |method: &str, nc: &str| {
        DigestAnswer {
            username: public,
            private_key: private.expose_secret(),
            method,
            uri: &uri,
            nonce: &nonce,
            nc,
            cnonce: "0a4f113b",
        }
        .header()
    };
    // An answer computed for another method is refused.
    let wrong = http
        .delete(&url)
        .header("authorization", answer("PATCH", "00000001"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let patched = http
        .patch(&url)
        .header("authorization", answer("PATCH", "00000002"))
        .header("content-type", versioned())
        .body(sample("s").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let text = patched.text().await.unwrap();
    assert!(text.contains("\n  \"name\": \"s\""), "pretty: {text}");
    let deleted = http
        .delete(&url)
        .header("authorization", answer("DELETE", "00000003"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    assert!(atlas.connections().is_empty());
}
