//! The HTTP side: the accept loop, routing (by the spec's route table), the
//! token endpoints, the connection operations, and Atlas-shaped answers
//! (error bodies, envelopes, extra headers).

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::auth::{Authenticator, Refusal};
use super::limit::retry_after_seconds;
use super::lock;
use super::media;
use super::routes::{Matched, Operation, Route, Routes};
use super::state::{Entry, Failure, Phase, RecordedRequest, State, after};
use super::validate::{Schemas, Violation, object, restore_removed};
use crate::SecretString;
use crate::path::encode_segment;
use crate::types::StreamsConnection;

/// The spec this server serves, embedded.
const SPEC: &str = include_str!("../../spec/openapi.json");
const TOKEN_PATH: &str = "/api/oauth/token";
const REVOKE_PATH: &str = "/api/oauth/revoke";
/// Largest request body read, 1 MiB (a connection is a few kilobytes). A
/// larger body, announced by `Content-Length` or found so while reading, is
/// answered `413` and is neither read on nor stored; its request is
/// recorded without the body.
const MAX_BODY: usize = 1 << 20;
/// Largest `Authorization` value looked at; a longer one is refused (`401`,
/// or the token endpoint's `invalid_client`) unparsed. A Digest answer is a
/// few hundred bytes.
const MAX_AUTHORIZATION: usize = 16 * 1024;

/// Everything the connection tasks share.
pub(crate) struct Shared {
    base_url: String,
    spec: Value,
    routes: Routes,
    /// Whether bodies are recorded as sent too, secrets included.
    record_secrets: bool,
    auth: Mutex<Authenticator>,
    state: Mutex<State>,
}

/// Why a request body was not read.
#[derive(Clone, Copy)]
enum Unread {
    /// Over [`MAX_BODY`]: `413`.
    TooLarge,
    /// The client stopped sending it.
    BrokenOff,
}

/// One answer, before headers common to all answers are added.
struct Reply {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: Option<Value>,
    content_type: String,
    /// Whether the request was authenticated and reached the operation
    /// (recorded: [`RecordedRequest::is_call`]).
    call: bool,
    /// Whether the body is a list's page, which `envelope=true` adds its
    /// `status` to rather than wrapping (Atlas: "Endpoints that return a
    /// list of results use the results object as an envelope").
    list: bool,
}

impl Reply {
    fn json(status: StatusCode, content_type: &str, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Some(body),
            content_type: content_type.to_owned(),
            call: false,
            list: false,
        }
    }

    /// A reply without a body (its `Content-Type` is not sent).
    fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
            content_type: String::new(),
            call: false,
            list: false,
        }
    }

    /// Sets an error body's `parameters`, the values its detail names, as
    /// Atlas lists them.
    fn parameters(mut self, values: &[&str]) -> Self {
        if let Some(map) = self.body.as_mut().and_then(Value::as_object_mut) {
            map.insert("parameters".into(), json!(values));
        }
        self
    }

    fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// The answer that ends a request early, as a step's error (boxed, as a
/// [`Reply`] is large).
type Refused = Box<Reply>;

/// An Atlas `ApiError` answer.
fn api_error(
    status: StatusCode,
    code: &str,
    detail: impl Into<String>,
    fields: &[Violation],
) -> Reply {
    let mut body = object([
        ("error", json!(status.as_u16())),
        ("errorCode", json!(code)),
        ("detail", json!(detail.into())),
        (
            "reason",
            json!(status.canonical_reason().unwrap_or("Error")),
        ),
        ("parameters", json!([])),
    ]);
    if !fields.is_empty()
        && let Some(map) = body.as_object_mut()
    {
        let fields: Vec<Value> = fields
            .iter()
            .map(|v| json!({"field": v.field, "description": v.description}))
            .collect();
        map.insert("badRequestDetail".into(), json!({ "fields": fields }));
    }
    Reply::json(status, "application/json", body)
}

/// An OAuth error answer (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Reply {
    Reply::json(
        status,
        "application/json",
        json!({"error": error, "error_description": description}),
    )
    .header("cache-control", "no-store".into())
}

/// The endpoint set the rate limiter's answers name.
const CONNECTIONS_ENDPOINT_SET: &str =
    "api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections";

/// Atlas's `429`, telling to retry after `seconds`.
fn rate_limited(seconds: u64) -> Reply {
    api_error(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        "Resource /api/atlas/v2 is limited to a number of requests per minute.",
        &[],
    )
    .header("retry-after", seconds.to_string())
}

fn failure_reply(failure: Failure) -> Reply {
    match failure {
        Failure::TooManyRequests { retry_after } => {
            // As told, `0` included (a test that wants no wait).
            let seconds = retry_after
                .as_secs()
                .saturating_add(u64::from(retry_after.subsec_nanos() > 0));
            rate_limited(seconds)
        }
        Failure::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = if status.is_server_error() {
                "UNEXPECTED_ERROR"
            } else {
                "INJECTED_FAILURE"
            };
            api_error(status, code, "An injected failure of the local Atlas.", &[])
        }
    }
}

/// Accepts connections until the task is aborted; aborting it drops the
/// connection tasks too.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |request| {
                            let shared = shared.clone();
                            async move { Ok::<_, Infallible>(shared.handle(request).await) }
                        });
                        if let Err(e) = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                        {
                            tracing::debug!(error = %e, "local Atlas connection ended");
                        }
                    });
                }
                Err(e) => {
                    // Out of descriptors, say: wait rather than spin.
                    tracing::debug!(error = %e, "local Atlas accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The parsed query string.
fn query_flag(query: Option<&str>, name: &str) -> bool {
    query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes())
            .any(|(n, v)| n == name && v.eq_ignore_ascii_case("true"))
    })
}

/// `%XX` decoded, invalid sequences kept as they are.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn redact(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case(AUTHORIZATION.as_str()) {
        let scheme = value.split_whitespace().next().unwrap_or_default();
        format!("{scheme} [REDACTED]").trim_start().to_owned()
    } else {
        value.to_owned()
    }
}

/// A form body of the OAuth endpoints with its secrets replaced: a revoke
/// request's `token`, and a `client_secret` a client sends in the body
/// rather than in `Authorization`.
fn redact_form(body: &[u8]) -> Vec<u8> {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(body) {
        let value = match &*name {
            "token" | "client_secret" => "[REDACTED]".into(),
            _ => value,
        };
        out.append_pair(&name, &value);
    }
    out.finish().into_bytes()
}

/// The request body, or why it was not read: one announced or found to be
/// over [`MAX_BODY`] is not read on.
async fn read_body(headers: &HeaderMap, body: Incoming) -> (Bytes, Option<Unread>) {
    let announced = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        return (Bytes::new(), Some(Unread::TooLarge));
    }
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => (collected.to_bytes(), None),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            (Bytes::new(), Some(Unread::TooLarge))
        }
        Err(_) => (Bytes::new(), Some(Unread::BrokenOff)),
    }
}

/// The answer to a request whose body was not read.
fn unread_reply(unread: Unread) -> Reply {
    match unread {
        Unread::TooLarge => api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("The body is larger than {MAX_BODY} bytes."),
            &[],
        ),
        Unread::BrokenOff => api_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_REQUEST",
            "The body could not be read.",
            &[],
        ),
    }
}

/// The HTTP response of a reply, its body indented when `pretty`.
fn into_response(reply: Reply, pretty: bool) -> Response<Full<Bytes>> {
    let bytes = match &reply.body {
        None => Vec::new(),
        Some(value) if pretty => serde_json::to_vec_pretty(value).unwrap_or_default(),
        Some(value) => serde_json::to_vec(value).unwrap_or_default(),
    };
    let mut builder = Response::builder().status(reply.status);
    if reply.body.is_some() {
        builder = builder.header(CONTENT_TYPE, reply.content_type.as_str());
    }
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value.as_str());
    }
    builder.body(Full::new(Bytes::from(bytes))).unwrap_or_else(|_| {
        // A header value the test set could not be sent (a newline in a
        // Sunset, say): say so rather than panic.
        let mut response = Response::new(Full::new(Bytes::from_static(
            b"{\"error\":500,\"errorCode\":\"UNEXPECTED_ERROR\",\"detail\":\"a header value cannot be sent\"}",
        )));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
    })
}

/// The token endpoint's answer to a client authenticated, for this
/// `grant_type`.
fn issue_token(auth: &mut Authenticator, grant_type: Option<&str>) -> Reply {
    match grant_type {
        Some("client_credentials") => {
            let (token, expires_in) = auth.issue_token();
            Reply::json(
                StatusCode::OK,
                "application/json",
                json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}),
            )
            .header("cache-control", "no-store".into())
        }
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only client_credentials is supported.",
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required.",
        ),
    }
}

/// The revoke endpoint's answer to a client authenticated, for this `token`.
fn revoke(auth: &mut Authenticator, token: Option<&str>) -> Reply {
    match token {
        // RFC 7009: revoking an unknown token succeeds too.
        Some(token) => {
            auth.revoke(token);
            Reply::empty(StatusCode::OK)
        }
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required.",
        ),
    }
}

/// An `INVALID_VERSION_DATE` refusal: `406` for `Accept`, `415` for
/// `Content-Type`.
fn version_refusal(status: StatusCode, detail: String) -> Refused {
    Box::new(api_error(status, "INVALID_VERSION_DATE", detail, &[]))
}

/// The stored connection typed, decoded as the client decodes the answer;
/// or the `400` to send, should the typed connection read less than the
/// spec's schema let through (naming no value).
fn typed(connection: &Value) -> Result<StreamsConnection, Refused> {
    use serde::Deserialize;
    crate::decode::leniently(|| StreamsConnection::deserialize(connection)).map_err(|e| {
        let why = crate::error::without_values(&e.to_string());
        let detail = format!("The connection cannot be read as a connection: {why}.");
        api_error(StatusCode::BAD_REQUEST, "INVALID_ATTRIBUTE", detail, &[]).into()
    })
}

/// A create body that is JSON and valid for `schema`, or the `400` to send.
fn valid_connection(schemas: &Schemas<'_>, schema: &Value, body: &[u8]) -> Result<Value, Refused> {
    let Ok(connection) = serde_json::from_slice::<Value>(body) else {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_JSON",
            "The body is not valid JSON.",
            &[],
        )
        .into());
    };
    let violations = schemas.check(schema, &connection);
    match violations.first() {
        None => Ok(connection),
        Some(first) => Err(api_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ATTRIBUTE",
            format!("Invalid attribute {}: {}.", first.field, first.description),
            &violations,
        )
        .into()),
    }
}

/// The connection's `name`, which Atlas requires though the spec does not
/// say so, or the `400` to send.
fn connection_name(connection: &Value) -> Result<String, Refused> {
    match connection.get("name") {
        Some(Value::String(name)) if !name.is_empty() => Ok(name.clone()),
        _ => {
            let missing = Violation {
                field: "name".into(),
                description: "is required".into(),
            };
            Err(api_error(
                StatusCode::BAD_REQUEST,
                "MISSING_ATTRIBUTE",
                "The required attribute name was not specified.",
                &[missing],
            )
            .into())
        }
    }
}

/// Where an operation acts: the project, the instance, the connection's name
/// (for the operations on one), decoded; and the media type to answer in.
struct Target<'a> {
    project: &'a str,
    instance: &'a str,
    name: &'a str,
    media_type: &'static str,
}

impl Target<'_> {
    /// The connection's URL, as its `self` link gives it.
    fn href(&self, base_url: &str, name: &str) -> String {
        format!(
            "{}/{}",
            collection_href(base_url, self.project, self.instance),
            encode_segment(name)
        )
    }

    /// Atlas's `404` for a connection the instance does not have (the
    /// wording of Atlas's answers quoted in the Terraform provider's test
    /// logs: "Stream connection with name ConnectionNameHttps for project
    /// 68f5… and name test-acc-tf-s-5111… not found.").
    fn not_found(&self) -> Refused {
        let (name, project, instance) = (self.name, self.project, self.instance);
        api_error(
            StatusCode::NOT_FOUND,
            "STREAM_CONNECTION_NOT_FOUND_FOR_NAME",
            format!(
                "Stream connection with name {name} for project {project} and name {instance} \
                 not found."
            ),
            &[],
        )
        .parameters(&[name, project, instance])
        .into()
    }

    /// Atlas's `409` to a change of a connection being deployed (quoted in
    /// the Terraform provider's test logs, which retry on this code).
    fn deploying(&self) -> Refused {
        let name = self.name;
        api_error(
            StatusCode::CONFLICT,
            "STREAM_KAFKA_CONNECTION_IS_DEPLOYING",
            format!(
                "Stream Kafka connection {name} is currently deploying. Please retry the request \
                 later."
            ),
            &[],
        )
        .parameters(&[name])
        .into()
    }
}

/// The URL of an instance's connections.
fn collection_href(base_url: &str, project: &str, instance: &str) -> String {
    format!(
        "{base_url}/api/atlas/v2/groups/{}/streams/{}/connections",
        encode_segment(project),
        encode_segment(instance)
    )
}

/// Whether a connection (as sent) deploys asynchronously: a Kafka
/// connection whose networking is not public (`VPC`, `PRIVATE_LINK`,
/// `TRANSIT_GATEWAY`), as Atlas deploys those (the Terraform provider waits
/// for them: "some connections (e.g., Kafka VPC) are deleted
/// asynchronously").
fn deploys_asynchronously(connection: &Value) -> bool {
    connection.get("type").and_then(Value::as_str) == Some("Kafka")
        && connection
            .pointer("/networking/access/type")
            .and_then(Value::as_str)
            .is_some_and(|access| access != "PUBLIC")
}

/// A `400` for a query parameter outside what the spec allows. No public
/// evidence shows the code Atlas answers a page size or number out of
/// range with; `VALIDATION_ERROR` is the one `400` code the spec documents
/// (`components.responses.badRequest`).
fn invalid_query(name: &str, value: &str, why: &str) -> Refused {
    api_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        format!("Invalid value {value} for query parameter {name}: {why}."),
        &[Violation {
            field: name.to_owned(),
            description: why.to_owned(),
        }],
    )
    .parameters(&[name, value])
    .into()
}

impl Shared {
    pub fn new(
        base_url: String,
        auth: Authenticator,
        state: State,
        record_secrets: bool,
    ) -> std::io::Result<Self> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let spec: Value = serde_json::from_str(SPEC).map_err(|e| invalid(e.to_string()))?;
        let routes = Routes::from_spec(&spec).map_err(invalid)?;
        for route in routes.iter().filter(|r| r.has_body) {
            if Schemas::new(&spec)
                .request_schemas(&route.template, &route.spec_method)
                .is_empty()
            {
                return Err(invalid(format!(
                    "the embedded spec lacks the request body of {:?}",
                    route.operation
                )));
            }
        }
        Ok(Self {
            base_url,
            spec,
            routes,
            record_secrets,
            auth: Mutex::new(auth),
            state: Mutex::new(state),
        })
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn auth(&self) -> MutexGuard<'_, Authenticator> {
        lock(&self.auth)
    }

    /// One request: read its body, answer it, record it, then shape the
    /// answer (envelope, indentation, headers every answer carries).
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let (body, unread) = read_body(&parts.headers, body).await;
        let path = parts.uri.path();
        let query = parts.uri.query();
        let mut reply = match unread {
            Some(unread) => unread_reply(unread),
            None => self.respond(&parts.method, path, query, &parts.headers, &body),
        };
        let (sunset, deprecation) = self.record(&parts, &body, &reply);
        if path.starts_with("/api/atlas/") && query_flag(query, "envelope") {
            let status = json!(reply.status.as_u16());
            match reply.body.as_mut().and_then(Value::as_object_mut) {
                Some(page) if reply.list => {
                    page.insert("status".into(), status);
                }
                _ => {
                    let content = reply.body.take().unwrap_or(Value::Null);
                    reply.body = Some(json!({"status": status, "content": content}));
                }
            }
            reply.status = StatusCode::OK;
        }
        reply
            .headers
            .extend(sunset.map(|sunset| ("sunset", sunset)));
        reply
            .headers
            .extend(deprecation.map(|d| ("deprecation", d)));
        into_response(reply, query_flag(query, "pretty"))
    }

    /// Records a request (its credentials redacted; its body as sent too,
    /// as a secret, when told to) and how it was answered, and counts a
    /// `429`; the `Sunset` and `Deprecation` values every answer carries.
    fn record(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
        reply: &Reply,
    ) -> (Option<String>, Option<String>) {
        let path = parts.uri.path();
        let recorded_body = if path == REVOKE_PATH || path == TOKEN_PATH {
            redact_form(body)
        } else {
            self.without_write_only(body)
        };
        let sent = self
            .record_secrets
            .then(|| SecretString::new(String::from_utf8_lossy(body).into_owned()));
        let mut state = self.state();
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            state.throttled = state.throttled.saturating_add(1);
        }
        state.record(RecordedRequest {
            method: parts.method.to_string(),
            path: path.to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| {
                    let v = String::from_utf8_lossy(v.as_bytes());
                    (n.as_str().to_owned(), redact(n.as_str(), &v))
                })
                .collect(),
            body: recorded_body,
            status: reply.status.as_u16(),
            sent,
            call: reply.call,
        });
        (state.sunset.clone(), state.deprecation.clone())
    }

    fn respond(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Reply {
        if let Some(failure) = self.state().next_failure() {
            return failure_reply(failure);
        }
        let not_allowed = |allowed: &[&Method]| {
            let allowed: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
            api_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!("{method} is not allowed on {path}."),
                &[],
            )
            .header("allow", allowed.join(", "))
        };
        if path == TOKEN_PATH || path == REVOKE_PATH {
            if method != Method::POST {
                return not_allowed(&[&Method::POST]);
            }
            return self.oauth(path == TOKEN_PATH, headers, body);
        }
        let (route, parameters) = match self.routes.find(method, path) {
            Matched::Nowhere => {
                return api_error(
                    StatusCode::NOT_FOUND,
                    "RESOURCE_NOT_FOUND",
                    format!("Cannot find resource {path}."),
                    &[],
                );
            }
            Matched::OtherMethods(allowed) => return not_allowed(&allowed),
            Matched::Route(route, parameters) => (route, parameters),
        };
        let target = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        if let Some(reply) = self.refuse(method, &target, headers) {
            return reply;
        }
        let parameters: Vec<(&str, String)> = parameters
            .into_iter()
            .map(|(name, raw)| (name, percent_decode(raw)))
            .collect();
        let parameter = |name: &str| {
            parameters
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, v)| v.as_str())
        };
        if let Some(reply) = self.limit(parameter("groupId")) {
            return reply;
        }
        let mut reply = self
            .operate(route, &parameters, query, headers, body)
            .unwrap_or_else(|refusal| *refusal);
        reply.call = true;
        reply
    }

    /// `None` when the rate limiter (if any) admits a request of `project`;
    /// else its `429`.
    fn limit(&self, project: &str) -> Option<Reply> {
        let mut state = self.state();
        let limiter = state.limiter.as_mut()?;
        let wait = limiter.admit(project, Instant::now()).err()?;
        let seconds = retry_after_seconds(wait);
        let (capacity, rate) = (limiter.capacity, limiter.refill_rate);
        // Whole seconds as an integer, as in the documentation's example.
        let every = match limiter.refill_every.subsec_nanos() {
            0 => json!(limiter.refill_every.as_secs()),
            _ => json!(limiter.refill_every.as_secs_f64()),
        };
        // The documentation's example names the endpoint set by its path
        // without the leading `/`.
        let endpoint = CONNECTIONS_ENDPOINT_SET;
        let mut reply = api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED_TOKEN_BUCKET",
            format!(
                "Rate limit exceeded for {endpoint}. Please retry after {seconds} seconds. \
                 Request capacity: {capacity}. Refill rate: {rate} per {every} seconds."
            ),
            &[],
        );
        if let Some(body) = reply.body.as_mut() {
            body["parameters"] = json!([endpoint, seconds, capacity, rate, every]);
        }
        Some(
            reply
                .header("retry-after", seconds.to_string())
                .header("ratelimit-limit", capacity.to_string())
                .header("ratelimit-remaining", "0".into()),
        )
    }

    /// `None` for a request with valid Digest or bearer credentials; else
    /// the `401` to send.
    fn refuse(&self, method: &Method, target: &str, headers: &HeaderMap) -> Option<Reply> {
        let value = headers
            .get(AUTHORIZATION)
            .filter(|v| v.len() <= MAX_AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let (scheme, rest) = value
            .and_then(|v| v.trim().split_once(' '))
            .unwrap_or_default();
        let mut auth = self.auth();
        let outcome = if scheme.eq_ignore_ascii_case("digest") {
            auth.check_digest(rest, method.as_str(), target)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            if auth.check_bearer(rest) {
                Ok(())
            } else {
                Err(Refusal::Unauthorized)
            }
        } else {
            Err(Refusal::Unauthorized)
        };
        outcome.err().map(|refusal| {
            let stale = refusal == Refusal::Stale;
            api_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "You are not authorized for this resource.",
                &[],
            )
            .header("www-authenticate", auth.challenge(stale))
        })
    }

    /// The token (`issue`) or revoke endpoint.
    fn oauth(&self, issue: bool, headers: &HeaderMap, body: &[u8]) -> Reply {
        let basic = headers
            .get(AUTHORIZATION)
            .filter(|v| v.len() <= MAX_AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .map(|(_, rest)| rest);
        let mut auth = self.auth();
        if !basic.is_some_and(|b| auth.check_basic(b)) {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Invalid client credentials.",
            )
            .header("www-authenticate", "Basic realm=\"MMS Public API\"".into());
        }
        let form: Vec<(String, String)> = form_urlencoded::parse(body)
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect();
        let param = |name: &str| {
            form.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        if issue {
            issue_token(&mut auth, param("grant_type"))
        } else {
            revoke(&mut auth, param("token"))
        }
    }

    /// Any other body as recorded: JSON without the write-only members
    /// (passwords, keys) of every version of every operation's body (create
    /// and update), whatever the path it was sent to (a client with a wrong
    /// base path or a trailing `/` still sends its connection: answered
    /// `404`, it must not be kept with its password); those of every
    /// version, as the version it follows is not known here. A body that
    /// is not JSON (a connection cut short, say) cannot be searched for
    /// secrets: it is not kept.
    fn without_write_only(&self, body: &[u8]) -> Vec<u8> {
        let schemas = Schemas::new(&self.spec);
        let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        for route in self.routes.iter().filter(|r| r.has_body) {
            for schema in schemas.request_schemas(&route.template, &route.spec_method) {
                schemas.strip_write_only(schema, &mut value);
            }
        }
        serde_json::to_vec(&value).unwrap_or_default()
    }

    /// The media type to answer in, from `Accept`, and, for an operation
    /// with a body, the request schema the body follows, of the version
    /// `Content-Type` names (else of the version answered in): versions
    /// resolved as Atlas resolves them ([`media`]). The `Content-Type` of
    /// a request without a body is not looked at. `Err` is the `406` or
    /// `415` to send.
    fn negotiate(
        &self,
        route: &Route,
        headers: &HeaderMap,
    ) -> Result<(&'static str, Option<&Value>), Refused> {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let operation = route.versions;
        let answered = media::response_version(operation, header(ACCEPT))
            .map_err(|detail| version_refusal(StatusCode::NOT_ACCEPTABLE, detail))?;
        let media_type = answered.response_media_type.unwrap_or("application/json");
        if !route.has_body {
            return Ok((media_type, None));
        }
        let sent = media::request_version(operation, header(CONTENT_TYPE), answered)
            .map_err(|detail| version_refusal(StatusCode::UNSUPPORTED_MEDIA_TYPE, detail))?;
        let schema = sent
            .request_media_type
            .and_then(|m| {
                Schemas::new(&self.spec).request_schema(&route.template, &route.spec_method, m)
            })
            .ok_or_else(|| {
                let detail = format!("No request schema for version {}.", sent.version);
                let status = StatusCode::INTERNAL_SERVER_ERROR;
                Box::new(api_error(status, "UNEXPECTED_ERROR", detail, &[]))
            })?;
        Ok((media_type, Some(schema)))
    }

    /// An operation, in the order Atlas checks: the media types, the path
    /// parameters and instance, then the operation's own checks. `Err` is
    /// the refusal to send.
    fn operate(
        &self,
        route: &Route,
        parameters: &[(&str, String)],
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Reply, Refused> {
        let (media_type, schema) = self.negotiate(route, headers)?;
        if let Some(refusal) = self.check_path_parameters(route, parameters) {
            return Err(refusal.into());
        }
        let parameter = |name: &str| {
            parameters
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, v)| v.as_str())
        };
        let target = Target {
            project: parameter("groupId"),
            instance: parameter("tenantName"),
            name: parameter("connectionName"),
            media_type,
        };
        self.check_instance(target.project, target.instance)?;
        let schemas = Schemas::new(&self.spec);
        match (route.operation, schema) {
            (Operation::Create, Some(schema)) => self.create(&target, &schemas, schema, body),
            (Operation::Update, Some(schema)) => self.update(&target, &schemas, schema, body),
            (Operation::List, _) => self.list(route, &target, query),
            (Operation::Get, _) => self.get(&target),
            (Operation::Delete, _) => self.delete(&target),
            (Operation::Create | Operation::Update, None) => Err(api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNEXPECTED_ERROR",
                "The operation has no request schema.",
                &[],
            )
            .into()),
        }
    }

    /// A create or update body as stored: JSON, valid for `schema`, named,
    /// without its read-only members (nor `state`, read-only in the Atlas
    /// releases that have it, so a connection read and sent back keeps
    /// none); and its name. `Err` is the `400` to send.
    fn read_connection(
        schemas: &Schemas<'_>,
        schema: &Value,
        body: &[u8],
    ) -> Result<(Value, String), Refused> {
        let mut connection = valid_connection(schemas, schema, body)?;
        let name = connection_name(&connection)?;
        schemas.strip_read_only(schema, &mut connection);
        if let Some(map) = connection.as_object_mut() {
            map.remove("state");
        }
        Ok((connection, name))
    }

    /// A connection to store, as sent (write-only members included): as
    /// answered (without them, with its `self` link) and typed, and in its
    /// first phase: deploying for the deployment time when it deploys
    /// asynchronously, else ready at once; failed, at its end or at once,
    /// when a failure was asked for. `Err` is the `400` of a connection the
    /// typed connection cannot read.
    fn entry(
        &self,
        state: &mut State,
        target: &Target<'_>,
        schemas: &Schemas<'_>,
        schema: &Value,
        (sent, name): (Value, String),
    ) -> Result<Entry, Refused> {
        let mut answered = sent.clone();
        schemas.strip_write_only(schema, &mut answered);
        if let Some(map) = answered.as_object_mut() {
            let href = target.href(&self.base_url, &name);
            map.insert("links".into(), json!([{"href": href, "rel": "self"}]));
        }
        let typed = typed(&answered)?;
        let fails = std::mem::take(&mut state.fail_next_deployment);
        let phase = if deploys_asynchronously(&sent) && !state.deployment_time.is_zero() {
            Phase::Deploying {
                until: after(Instant::now(), state.deployment_time),
                fails,
            }
        } else if fails {
            Phase::Failed
        } else {
            Phase::Ready
        };
        Ok(Entry {
            group_id: target.project.to_owned(),
            tenant_name: target.instance.to_owned(),
            name,
            answered,
            sent,
            typed,
            phase,
        })
    }

    /// Create: the body, then the name (`409` when the instance has a
    /// connection of that name, one being deleted included); stores the
    /// connection and answers with it.
    fn create(
        &self,
        target: &Target<'_>,
        schemas: &Schemas<'_>,
        schema: &Value,
        body: &[u8],
    ) -> Result<Reply, Refused> {
        let read = Self::read_connection(schemas, schema, body)?;
        let mut state = self.state();
        state.settle(Instant::now());
        let name = &read.1;
        if state.find(target.project, target.instance, name).is_some() {
            let instance = target.instance;
            return Err(api_error(
                StatusCode::CONFLICT,
                "DUPLICATE_STREAM_CONNECTION",
                format!("A connection named {name} already exists in stream instance {instance}."),
                &[],
            )
            .into());
        }
        let entry = self.entry(&mut state, target, schemas, schema, read)?;
        let answer = entry.answer();
        state.connections.push(entry);
        Ok(Reply::json(StatusCode::OK, target.media_type, answer))
    }

    /// Get one: as answered, with its state now.
    fn get(&self, target: &Target<'_>) -> Result<Reply, Refused> {
        let mut state = self.state();
        state.settle(Instant::now());
        let index = state
            .find(target.project, target.instance, target.name)
            .ok_or_else(|| target.not_found())?;
        let answer = state.connections[index].answer();
        Ok(Reply::json(StatusCode::OK, target.media_type, answer))
    }

    /// List: one page of the instance's connections, in creation order,
    /// with `totalCount` and the links Atlas gives a page: `self`, and
    /// `previous` and `next` when there are such pages (Atlas's Go client
    /// reads the page number from `self` and stops where `next` is
    /// missing). A page past the end is empty.
    fn list(
        &self,
        route: &Route,
        target: &Target<'_>,
        query: Option<&str>,
    ) -> Result<Reply, Refused> {
        let per_page = self.query_integer(route, query, "itemsPerPage")?;
        let page = self.query_integer(route, query, "pageNum")?;
        let mut state = self.state();
        state.settle(Instant::now());
        let all: Vec<&Entry> = state
            .connections
            .iter()
            .filter(|e| e.group_id == target.project && e.tenant_name == target.instance)
            .collect();
        let total = all.len() as u64;
        let skip = page.saturating_sub(1).saturating_mul(per_page);
        let results: Vec<Value> = all
            .iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(per_page).unwrap_or(usize::MAX))
            .map(|e| e.answer())
            .collect();
        let collection = collection_href(&self.base_url, target.project, target.instance);
        let link = |rel: &str, page: u64| {
            json!({
                "href": format!("{collection}?pageNum={page}&itemsPerPage={per_page}"),
                "rel": rel,
            })
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(link("previous", page - 1));
        }
        links.push(link("self", page));
        if page.saturating_mul(per_page) < total {
            links.push(link("next", page + 1));
        }
        let body = json!({"links": links, "results": results, "totalCount": total});
        let mut reply = Reply::json(StatusCode::OK, target.media_type, body);
        reply.list = true;
        Ok(reply)
    }

    /// A query parameter of `route` that the spec says is an integer, read
    /// as sent (its first occurrence) or its `default`, checked against its
    /// `minimum` and `maximum`. `Err` is the `400` to send.
    fn query_integer(
        &self,
        route: &Route,
        query: Option<&str>,
        name: &str,
    ) -> Result<u64, Refused> {
        let schema = self
            .parameters(route)
            .find(|p| {
                p.get("in").and_then(Value::as_str) == Some("query")
                    && p.get("name").and_then(Value::as_str) == Some(name)
            })
            .and_then(|p| p.get("schema"));
        let bound = |key: &str| schema.and_then(|s| s.get(key)).and_then(Value::as_i64);
        let sent = query.and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.into_owned())
        });
        let value = match &sent {
            None => bound("default").unwrap_or(1),
            Some(text) => text
                .trim()
                .parse::<i64>()
                .map_err(|_| invalid_query(name, text, "must be an integer"))?,
        };
        let shown = value.to_string();
        if let Some(minimum) = bound("minimum").filter(|&m| value < m) {
            return Err(invalid_query(
                name,
                &shown,
                &format!("must be at least {minimum}"),
            ));
        }
        if let Some(maximum) = bound("maximum").filter(|&m| value > m) {
            return Err(invalid_query(
                name,
                &shown,
                &format!("must be at most {maximum}"),
            ));
        }
        u64::try_from(value).map_err(|_| invalid_query(name, &shown, "must not be negative"))
    }

    /// Update: the whole connection, checked as a create is; then the
    /// connection must exist (`404`), not be deploying or being deleted
    /// (`409`), and keep its name and type (`400`). Write-only members the
    /// body omits keep their stored values. A connection that deploys
    /// asynchronously deploys again.
    fn update(
        &self,
        target: &Target<'_>,
        schemas: &Schemas<'_>,
        schema: &Value,
        body: &[u8],
    ) -> Result<Reply, Refused> {
        let (mut sent, name) = Self::read_connection(schemas, schema, body)?;
        let mut state = self.state();
        state.settle(Instant::now());
        let index = state
            .find(target.project, target.instance, target.name)
            .ok_or_else(|| target.not_found())?;
        let stored = &state.connections[index];
        if matches!(
            stored.phase,
            Phase::Deploying { .. } | Phase::Deleting { .. }
        ) {
            return Err(target.deploying());
        }
        if name != target.name {
            // A choice of the double (Atlas's answer is not public): the
            // path names the connection, and a rename is no update.
            let detail = format!(
                "The name {name} differs from the connection's, {}: a connection cannot be renamed.",
                target.name
            );
            let field = Violation {
                field: "name".into(),
                description: format!("must be {}", target.name),
            };
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ATTRIBUTE",
                detail,
                &[field],
            )
            .parameters(&["name"])
            .into());
        }
        let kind = |c: &Value| c.get("type").and_then(Value::as_str).map(str::to_owned);
        let (was, is) = (kind(&stored.sent), kind(&sent));
        if was != is {
            // A choice of the double (Atlas's code is not public): a
            // connection's kind is fixed at its creation.
            let (was, is) = (was.unwrap_or_default(), is.unwrap_or_default());
            let detail = format!("The type of connection {name} is {was}; it cannot become {is}.");
            let field = Violation {
                field: "type".into(),
                description: format!("must be {was}"),
            };
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ATTRIBUTE",
                detail,
                &[field],
            )
            .parameters(&["type"])
            .into());
        }
        restore_removed(&stored.sent, &stored.answered, &mut sent);
        let entry = self.entry(&mut state, target, schemas, schema, (sent, name))?;
        let answer = entry.answer();
        state.connections[index] = entry;
        Ok(Reply::json(StatusCode::OK, target.media_type, answer))
    }

    /// Delete: `404` when missing, `409` while deploying or being deleted;
    /// a connection that deploys asynchronously is `DELETING` for the
    /// deployment time, any other is gone at once. `202` without a body
    /// (the spec declares the media type and no schema; a body-less answer
    /// carries no `Content-Type`).
    fn delete(&self, target: &Target<'_>) -> Result<Reply, Refused> {
        let now = Instant::now();
        let mut state = self.state();
        state.settle(now);
        let index = state
            .find(target.project, target.instance, target.name)
            .ok_or_else(|| target.not_found())?;
        let until = after(now, state.deployment_time);
        let entry = &mut state.connections[index];
        match entry.phase {
            Phase::Deploying { .. } | Phase::Deleting { .. } => return Err(target.deploying()),
            // Zero time: gone at the next read, which settles first.
            Phase::Ready | Phase::Failed if deploys_asynchronously(&entry.sent) => {
                entry.phase = Phase::Deleting { until };
            }
            Phase::Ready | Phase::Failed => {
                state.connections.remove(index);
            }
        }
        Ok(Reply::empty(StatusCode::ACCEPTED))
    }

    /// `404` unless the instance exists (every instance does while none is
    /// declared).
    fn check_instance(&self, project: &str, instance: &str) -> Result<(), Refused> {
        if self.state().knows_instance(project, instance) {
            return Ok(());
        }
        Err(api_error(
            StatusCode::NOT_FOUND,
            // Atlas's code, as its answers in the Terraform provider's
            // acceptance-test logs give it.
            "STREAM_TENANT_NOT_FOUND_FOR_NAME",
            format!("Cannot find stream instance {instance} in project {project}."),
            &[],
        )
        .into())
    }

    /// The spec's parameters of `route`, `$ref`s followed.
    fn parameters<'s>(&'s self, route: &Route) -> impl Iterator<Item = &'s Value> + 's {
        self.spec
            .pointer("/paths")
            .and_then(|paths| paths.get(&route.template))
            .and_then(|path| path.get(&route.spec_method))
            .and_then(|operation| operation.get("parameters"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(
                |parameter| match parameter.get("$ref").and_then(Value::as_str) {
                    Some(r) => self.spec.pointer(r.strip_prefix('#')?),
                    None => Some(parameter),
                },
            )
    }

    /// Checks path parameters against the `pattern` the spec gives them.
    fn check_path_parameters(&self, route: &Route, values: &[(&str, String)]) -> Option<Reply> {
        for parameter in self.parameters(route) {
            let name = parameter.get("name").and_then(Value::as_str)?;
            let Some((_, value)) = values.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            let Some(pattern) = parameter.pointer("/schema/pattern").and_then(Value::as_str) else {
                continue;
            };
            let matches = regress::Regex::new(pattern).is_ok_and(|r| r.find(value).is_some());
            if !matches {
                let code = if name == "groupId" {
                    "INVALID_GROUP_ID"
                } else {
                    "INVALID_PATH_PARAMETER"
                };
                return Some(api_error(
                    StatusCode::BAD_REQUEST,
                    code,
                    format!("The specified {name} ({value}) is invalid."),
                    &[Violation {
                        field: name.to_owned(),
                        description: format!("must match `{pattern}`"),
                    }],
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_decoded_as_sent() {
        assert_eq!(percent_decode("a%20b%zz"), "a b%zz");
    }

    #[test]
    fn only_kafka_with_private_networking_deploys_asynchronously() {
        for (connection, asynchronous) in [
            (json!({"type": "Kafka"}), false),
            (
                json!({"type": "Kafka", "networking": {"access": {"type": "PUBLIC"}}}),
                false,
            ),
            (
                json!({"type": "Kafka", "networking": {"access": {"type": "VPC"}}}),
                true,
            ),
            (
                json!({"type": "Kafka", "networking": {"access": {"type": "PRIVATE_LINK"}}}),
                true,
            ),
            (
                json!({"type": "Https", "networking": {"access": {"type": "VPC"}}}),
                false,
            ),
        ] {
            assert_eq!(
                deploys_asynchronously(&connection),
                asynchronous,
                "{connection}"
            );
        }
    }
}
