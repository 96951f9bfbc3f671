//! The HTTP side: the accept loop, routing, the token endpoints, the create
//! operation, and Atlas-shaped answers (error bodies, envelopes, extra
//! headers).

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};

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
use super::lock;
use super::media;
use super::state::{Failure, RecordedRequest, State, StoredConnection};
use super::validate::{Schemas, Violation, object};
use crate::SecretString;
use crate::path::encode_segment;
use crate::types::StreamsConnection;

/// The spec this server serves, embedded.
const SPEC: &str = include_str!("../../spec/openapi.json");
/// The operation's path template and method in the spec.
const CREATE_PATH: &str = "/api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections";
const CREATE_METHOD: &str = "post";
/// The operation's name in the spec and the version table.
const CREATE_OPERATION: &str = "createStreamConnection";
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
}

impl Reply {
    fn json(status: StatusCode, content_type: &str, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Some(body),
            content_type: content_type.to_owned(),
            call: false,
        }
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

fn failure_reply(failure: Failure) -> Reply {
    match failure {
        Failure::TooManyRequests { retry_after } => {
            let seconds = retry_after
                .as_secs()
                .saturating_add(u64::from(retry_after.subsec_nanos() > 0));
            api_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "Resource /api/atlas/v2 is limited to a number of requests per minute.",
                &[],
            )
            .header("retry-after", seconds.to_string())
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

/// `(groupId, tenantName)` as sent, if `path` is the create operation's.
fn create_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/api/atlas/v2/groups/")?;
    let (project, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("streams/")?;
    let (instance, rest) = rest.split_once('/')?;
    (rest == "connections" && !instance.is_empty()).then_some((project, instance))
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
            Reply {
                status: StatusCode::OK,
                headers: Vec::new(),
                body: None,
                content_type: String::new(),
                call: false,
            }
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

impl Shared {
    pub fn new(
        base_url: String,
        auth: Authenticator,
        state: State,
        record_secrets: bool,
    ) -> std::io::Result<Self> {
        let spec: Value = serde_json::from_str(SPEC)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if Schemas::new(&spec)
            .request_schemas(CREATE_PATH, CREATE_METHOD)
            .is_empty()
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the embedded spec lacks the create operation's request body",
            ));
        }
        if crate::versions_of(CREATE_OPERATION).is_none() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the version table lacks the create operation",
            ));
        }
        Ok(Self {
            base_url,
            spec,
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
            let content = reply.body.take().unwrap_or(Value::Null);
            reply.body = Some(json!({"status": reply.status.as_u16(), "content": content}));
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
    /// as a secret, when told to) and how it was answered; the `Sunset` and
    /// `Deprecation` values every answer carries.
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
        let not_allowed = || {
            api_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!("{method} is not allowed on {path}."),
                &[],
            )
            .header("allow", "POST".into())
        };
        if path == TOKEN_PATH || path == REVOKE_PATH {
            if method != Method::POST {
                return not_allowed();
            }
            return self.oauth(path == TOKEN_PATH, headers, body);
        }
        let Some((project, instance)) = create_path(path) else {
            return api_error(
                StatusCode::NOT_FOUND,
                "RESOURCE_NOT_FOUND",
                format!("Cannot find resource {path}."),
                &[],
            );
        };
        if method != Method::POST {
            return not_allowed();
        }
        let target = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        if let Some(reply) = self.refuse(method, &target, headers) {
            return reply;
        }
        let mut reply = self
            .create(project, instance, headers, body)
            .unwrap_or_else(|refusal| *refusal);
        reply.call = true;
        reply
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
    /// (passwords, keys) of every version of the create body, whatever the
    /// path it was sent to (a client with a wrong base path or a trailing
    /// `/` still sends its connection: answered `404`, it must not be kept
    /// with its password); those of every version, as the version it
    /// follows is not known here. A body that is not JSON (a connection
    /// cut short, say) cannot be searched for secrets: it is not kept.
    fn without_write_only(&self, body: &[u8]) -> Vec<u8> {
        let schemas = Schemas::new(&self.spec);
        let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        for schema in schemas.request_schemas(CREATE_PATH, CREATE_METHOD) {
            schemas.strip_write_only(schema, &mut value);
        }
        serde_json::to_vec(&value).unwrap_or_default()
    }

    /// The media type to answer in, from `Accept`, and the request schema
    /// the body follows, of the version `Content-Type` names (else of the
    /// version answered in): versions resolved as Atlas resolves them
    /// ([`media`]). `Err` is the `406` or `415` to send.
    fn negotiate(&self, headers: &HeaderMap) -> Result<(&'static str, &Value), Refused> {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let internal = |detail: String| {
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            Box::new(api_error(status, "UNEXPECTED_ERROR", detail, &[]))
        };
        let operation = crate::versions_of(CREATE_OPERATION)
            .ok_or_else(|| internal(format!("No version table for {CREATE_OPERATION}.")))?;
        let answered = media::response_version(operation, header(ACCEPT))
            .map_err(|detail| version_refusal(StatusCode::NOT_ACCEPTABLE, detail))?;
        let sent = media::request_version(operation, header(CONTENT_TYPE), answered)
            .map_err(|detail| version_refusal(StatusCode::UNSUPPORTED_MEDIA_TYPE, detail))?;
        let schema = sent
            .request_media_type
            .and_then(|m| Schemas::new(&self.spec).request_schema(CREATE_PATH, CREATE_METHOD, m))
            .ok_or_else(|| internal(format!("No request schema for version {}.", sent.version)))?;
        let media_type = answered.response_media_type.unwrap_or("application/json");
        Ok((media_type, schema))
    }

    /// The create operation, in the order Atlas checks: the media types,
    /// the path parameters and instance, the body, the name; then stores the
    /// connection and answers with it. `Err` is the refusal to send.
    fn create(
        &self,
        project_raw: &str,
        instance_raw: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Reply, Refused> {
        let (media_type, schema) = self.negotiate(headers)?;
        let schemas = Schemas::new(&self.spec);
        let (project, instance) = (percent_decode(project_raw), percent_decode(instance_raw));
        let path_parameters = [
            ("groupId", project.as_str()),
            ("tenantName", instance.as_str()),
        ];
        if let Some(refusal) = self.check_path_parameters(&path_parameters) {
            return Err(refusal.into());
        }
        self.check_instance(&project, &instance)?;
        let mut connection = valid_connection(&schemas, schema, body)?;
        let name = connection_name(&connection)?;
        schemas.strip_read_only(schema, &mut connection);
        schemas.strip_write_only(schema, &mut connection);
        let href = format!(
            "{}/api/atlas/v2/groups/{}/streams/{}/connections/{}",
            self.base_url,
            encode_segment(&project),
            encode_segment(&instance),
            encode_segment(&name)
        );
        if let Some(map) = connection.as_object_mut() {
            map.insert("links".into(), json!([{"href": href, "rel": "self"}]));
        }
        let stored = StoredConnection {
            group_id: project,
            tenant_name: instance,
            connection: typed(&connection)?,
            json: connection.clone(),
        };
        self.store(name, stored)?;
        Ok(Reply::json(StatusCode::OK, media_type, connection))
    }

    /// `404` unless the instance exists (every instance does while none is
    /// declared).
    fn check_instance(&self, project: &str, instance: &str) -> Result<(), Refused> {
        if self.state().knows_instance(project, instance) {
            return Ok(());
        }
        Err(api_error(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            format!("Cannot find stream instance {instance} in project {project}."),
            &[],
        )
        .into())
    }

    /// Stores a connection named `name`, or `409` when its instance has one
    /// of that name.
    fn store(&self, name: String, stored: StoredConnection) -> Result<(), Refused> {
        let mut state = self.state();
        let key = (stored.group_id.clone(), stored.tenant_name.clone());
        let instance = &stored.tenant_name;
        if !state.names.entry(key).or_default().insert(name.clone()) {
            return Err(api_error(
                StatusCode::CONFLICT,
                "DUPLICATE_STREAM_CONNECTION",
                format!("A connection named {name} already exists in stream instance {instance}."),
                &[],
            )
            .into());
        }
        state.connections.push(stored);
        Ok(())
    }

    /// Checks path parameters against the `pattern` the spec gives them.
    fn check_path_parameters(&self, values: &[(&str, &str)]) -> Option<Reply> {
        let parameters = self
            .spec
            .pointer("/paths")?
            .get(CREATE_PATH)?
            .get(CREATE_METHOD)?
            .get("parameters")?
            .as_array()?;
        for parameter in parameters {
            let parameter = match parameter.get("$ref").and_then(Value::as_str) {
                Some(r) => self.spec.pointer(r.strip_prefix('#')?)?,
                None => parameter,
            };
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
    fn paths_are_read_as_sent() {
        assert_eq!(
            create_path("/api/atlas/v2/groups/g/streams/t%20x/connections"),
            Some(("g", "t%20x"))
        );
        assert_eq!(
            create_path("/api/atlas/v2/groups/g/streams//connections"),
            None
        );
        assert_eq!(percent_decode("a%20b%zz"), "a b%zz");
    }
}
