//! One call: how it is made ([`CallPlan`]), what it saw ([`CallRecord`]),
//! and the handwritten side of progenitor's `ClientHooks`, which the
//! generated client calls around every request, so the generated code is
//! never edited. The per-client state the hooks reach is in
//! [`state`](crate::state).
//!
//! - `pre` sends the call's API version as media types (`Accept`, and
//!   `Content-Type` when there is a body). (progenitor's `api-version`
//!   header, which Atlas does not use, is not generated at all:
//!   codegen/requests.rs.)
//! - `exec` authenticates, retries throttled requests, reports
//!   `Deprecation`/`Sunset`, and bounds every response body by the
//!   client's `max_response_bytes`. A success whose `Content-Length` is
//!   within the limit goes on to progenitor as it came (it reads no more
//!   than that); any other answer is read whole here, and an error status's
//!   bytes kept, so an error (an HTML 502 page as much as an `ApiError`)
//!   loses nothing and is parsed once, by [`ApiErrorResponse`].
//! - A call runs in a `tracing` span, `atlas.call` (operation, method, path,
//!   API version, and at its end status or error), made by
//!   [`Client`](crate::Client) and recorded into here (the path, known in
//!   `pre`); each exchange under it has its own
//!   ([`Sender::send_as`](crate::send::Sender::send_as)).
//! - [`run`] bounds the whole call by the plan's timeout: when it passes,
//!   the call is dropped where it stands (every await of this crate's is
//!   safe to cancel), and the retry loop, which knows the deadline, does
//!   not begin a wait that would pass it.
//! - A per-call [`CallRecord`] (a task-local scoped around one call) carries
//!   what progenitor's error type cannot: method, path, status, headers, and
//!   this crate's own error when the failure is not an HTTP answer;
//!   [`CallRecord::into_error`] makes progenitor's error and the record one
//!   [`Error`] (reading the body of an undeclared success status, which
//!   progenitor leaves unread, so that a created connection is not lost).
//!
//! A call runs on every request, so it allocates and copies little: the
//! generated call's future is boxed once (it would be copied whole at each
//! level of futures around it), the task-local holds a pointer, and the
//! headers of an answer are moved into the record, not copied.

use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, Error as GeneratedError, OperationInfo};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use tokio::time::Instant;

use crate::error::ApiErrorResponse;
use crate::error::{Error, without_values};
use crate::send::{Read, read_body, rebuild};
use crate::state::{ClientState, Shared};
use crate::versions::{ApiVersion, OperationVersions, versions_of};

/// How one call is made, decided before any I/O.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallPlan {
    /// The operation called, for the call's span.
    pub operation: &'static OperationVersions,
    pub version: &'static ApiVersion,
    /// The time the whole call may take ([`UNBOUNDED`] or more: no bound).
    pub timeout: Duration,
    /// When that time is up: set by [`run`] as the call starts (`None`
    /// too for a timeout too large to add to the clock).
    pub deadline: Option<Instant>,
}

impl CallPlan {
    /// A plan for `version` of `operation`, the whole call bounded by
    /// `timeout`.
    pub fn new(
        operation: &'static OperationVersions,
        version: &'static ApiVersion,
        timeout: Duration,
    ) -> Self {
        Self {
            operation,
            version,
            timeout,
            deadline: None,
        }
    }
}

/// What one call saw.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    pub method: String,
    pub path: String,
    pub status: Option<StatusCode>,
    pub headers: HeaderMap,
    /// The body of the final response, exactly as received.
    pub body: Option<Bytes>,
    /// A failure that is not an HTTP answer progenitor could describe.
    pub failure: Option<Error>,
    /// Whether the request itself went out (not only a token request or a
    /// Digest probe before it).
    pub sent: bool,
    /// The `429` answers to the request (waited out, or the last one).
    pub throttled: u32,
}

impl CallRecord {
    /// Progenitor's `error` for this call as ours: the failure recorded,
    /// else what the recorded answer says. An undeclared success status
    /// left its body unread ([`exec`](ClientHooks::exec) hands a success on
    /// as it came); it is read here, within `limit`, and kept.
    pub(crate) async fn into_error<E>(mut self, error: GeneratedError<E>, limit: u64) -> Error {
        let GeneratedError::UnexpectedResponse(response) = error else {
            return self.error(error);
        };
        if self.failure.is_some() || self.body.is_some() {
            return self.error(GeneratedError::<E>::UnexpectedResponse(response));
        }
        let status = response.status();
        let read = Read {
            method: &self.method,
            path: &self.path,
            what: "response body",
            status_known: true,
        };
        match read_body(response, limit, read).await {
            Ok(body) => self.body = Some(body),
            Err(error) => return error,
        }
        self.status = Some(status);
        let placeholder = rebuild(status, HeaderMap::new(), Bytes::new(), None);
        self.error(GeneratedError::<E>::UnexpectedResponse(placeholder))
    }

    fn error<E>(self, error: GeneratedError<E>) -> Error {
        use GeneratedError as G;
        let CallRecord {
            method,
            path,
            status,
            headers,
            body,
            failure,
            sent: _,
            throttled: _,
        } = self;
        if let Some(failure) = failure {
            return failure;
        }
        match (error, status) {
            (G::InvalidRequest(message), _) => Error::invalid("request", message),
            (G::Custom(message), _) => Error::invalid("api_version", message),
            // A success's body breaking off as progenitor reads it keeps the
            // status: the connection was created.
            (G::ResponseBodyError(e), status) => Error::transport_after(&method, &path, status, e),
            (G::CommunicationError(e) | G::InvalidUpgrade(e), _) => {
                Error::transport(&method, &path, e)
            }
            // Error statuses are answered from the bytes `exec` kept, whatever
            // progenitor made of them (an HTML 502 from a proxy is still an
            // API error, not a decoding failure).
            (G::ErrorResponse(_) | G::UnexpectedResponse(_), Some(status))
            | (G::InvalidResponsePayload(..), Some(status))
                if !status.is_success() =>
            {
                let body = body.unwrap_or_default();
                Error::from_response(ApiErrorResponse::new(method, path, status, headers, body))
            }
            (G::InvalidResponsePayload(body, e), status) => {
                let message = without_values(&e.to_string());
                Error::decode(method, path, status, &headers, body, message)
            }
            // (Only a spec whose error response covers a success status, as
            // a `default` can, gets here; progenitor has read the body.)
            (G::ErrorResponse(value), _) => {
                let message = "an error body with a success status".into();
                let status = Some(value.status());
                let body = body.unwrap_or_default();
                Error::decode(method, path, status, &headers, body, message)
            }
            // A success status the spec does not declare (a 201, say): the
            // bytes are kept, so a created connection is not lost.
            (G::UnexpectedResponse(response), _) => {
                let message = format!("the spec declares no {} response", response.status());
                let status = Some(response.status());
                let body = body.unwrap_or_default();
                Error::decode(method, path, status, &headers, body, message)
            }
        }
    }
}

struct CallContext {
    plan: CallPlan,
    record: CallRecord,
    /// The call's span (`atlas.call`), to record its path in.
    span: tracing::Span,
}

tokio::task_local! {
    // Boxed: the task-local is swapped in and out of its slot at every poll
    // of the call, a pointer rather than the whole record.
    static CALL: RefCell<Box<CallContext>>;
}

/// A call timeout this long or longer bounds nothing: a deadline so far
/// away that Tokio's timer cannot hold it (close to the clock's end, a
/// tick's rounding would overflow) is none.
const UNBOUNDED: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Runs one generated call under `plan`, in `span`, and returns its output
/// (`None` when the plan's timeout passed first, the call dropped where it
/// stood) with what it recorded.
pub(crate) fn run<F: Future>(
    mut plan: CallPlan,
    span: tracing::Span,
    call: F,
) -> impl Future<Output = (Option<F::Output>, CallRecord)> {
    plan.deadline = Some(plan.timeout)
        .filter(|timeout| *timeout < UNBOUNDED)
        .and_then(|timeout| Instant::now().checked_add(timeout));
    let context = Box::new(CallContext {
        plan,
        record: CallRecord::default(),
        span,
    });
    CALL.scope(RefCell::new(context), async move {
        let output = match plan.deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, call).await.ok(),
            None => Some(call.await),
        };
        let record = CALL.with(|c| std::mem::take(&mut c.borrow_mut().record));
        (output, record)
    })
}

/// `request` with the query parameter `name` when `value` is `Some`; the
/// generated client adds an optional parameter through this
/// (codegen/requests.rs). `None` serialises to nothing, so the URL is the
/// same without reqwest opening and closing its query for it.
pub(crate) fn query_some<T: serde::Serialize>(
    request: reqwest::RequestBuilder,
    name: &str,
    value: &Option<T>,
) -> reqwest::RequestBuilder {
    match value {
        Some(value) => request.query(&progenitor_client::QueryParam::new(name, value)),
        None => request,
    }
}

/// Whether the request path `path` (after URL parsing) ends with the
/// operation's `template`: as many segments, the literal ones equal, none
/// of a parameter's empty. A base URL may put a prefix before it.
fn path_fits(path: &str, template: &str) -> Result<(), String> {
    // The template's segments, after its leading `/`.
    let Some((_, expected)) = template.split_once('/') else {
        return Ok(());
    };
    // Compared from the end, where the template sits, without collecting
    // (this runs before every request); `rest` is the part of `path` not
    // compared yet.
    let mut rest = Some(path.as_bytes());
    for want in expected.as_bytes().rsplit(|&b| b == b'/') {
        let Some(text) = rest else {
            return Err(refused_path(path, template));
        };
        let fitting = match want.first() == Some(&b'{') && want.last() == Some(&b'}') {
            true => {
                let (got, before) = split_last_segment(text);
                rest = before;
                !got.is_empty() && got != b"." && got != b".."
            }
            // A literal segment is compared where it must sit (the end of
            // `text`, after a `/`), without looking for its `/` byte by
            // byte first. (A path begins with `/`: a literal at the very
            // start of `text`, with none before it, is no fit.)
            false => match text.strip_suffix(want) {
                Some([before @ .., b'/']) => {
                    rest = Some(before);
                    true
                }
                _ => false,
            },
        };
        if !fitting {
            return Err(refused_path(path, template));
        }
    }
    // `path` needs a piece before the template's first segment: its
    // leading `/` makes one.
    match rest {
        Some(_) => Ok(()),
        None => Err(refused_path(path, template)),
    }
}

fn refused_path(path: &str, template: &str) -> String {
    format!(
        "the request path `{path}` is not `{template}`: a parameter holds a `/`, `\\`, `.` \
         or `..` that would leave the endpoint, or is empty"
    )
}

/// The segment after the last `/` of `text`, and what comes before that
/// `/` (`None` when there is no `/`).
fn split_last_segment(text: &[u8]) -> (&[u8], Option<&[u8]>) {
    match text.iter().rposition(|&b| b == b'/') {
        Some(slash) => (&text[slash + 1..], Some(&text[..slash])),
        None => (text, None),
    }
}

/// Notes that the call's own request is being sent: a call timeout after
/// this may have been acted on.
pub(crate) fn sending() {
    record(|r| r.sent = true);
}

fn record(update: impl FnOnce(&mut CallRecord)) {
    // Outside `run` there is nothing to fill in.
    let _ = CALL.try_with(|c| update(&mut c.borrow_mut().record));
}

fn plan() -> Option<CallPlan> {
    CALL.try_with(|c| c.borrow().plan).ok()
}

/// Records `error` as the call's failure and answers progenitor, which needs
/// a response to go on, with an empty `500`; [`CallRecord::error`] answers
/// with the recorded failure instead.
fn failed(error: Error) -> reqwest::Response {
    record(|r| r.failure = Some(error));
    rebuild(
        StatusCode::INTERNAL_SERVER_ERROR,
        HeaderMap::new(),
        Bytes::new(),
        None,
    )
}

impl ClientHooks<ClientState> for crate::generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), GeneratedError<E>> {
        record(|r| {
            r.method = request.method().as_str().to_owned();
            r.path = request.url().path().to_owned();
        });
        let _ = CALL.try_with(|c| {
            c.borrow().span.record("path", request.url().path());
        });
        if let Some(template) = versions_of(info.operation_id).map(|op| op.path)
            && let Err(why) = path_fits(request.url().path(), template)
        {
            // Before any I/O: a parameter that URL parsing read as `/`,
            // `.` or `..` would send the request, credentials and body to
            // another endpoint.
            record(|r| r.failure = Some(Error::invalid("path", why.clone())));
            return Err(GeneratedError::Custom(why));
        }
        let version = match plan() {
            Some(plan) => plan.version,
            None => versions_of(info.operation_id)
                .and_then(|op| op.default_version())
                .ok_or_else(|| {
                    GeneratedError::Custom(format!(
                        "no API version known for `{}`",
                        info.operation_id
                    ))
                })?,
        };
        let has_body = request.body().is_some();
        let headers = request.headers_mut();
        if let Some(accept) = version.accept() {
            headers.insert(ACCEPT, HeaderValue::from_static(accept));
        }
        if let (true, Some(content_type)) = (has_body, version.request_media_type) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let shared = &self.inner().shared;
        let request = &request;
        let deadline = plan().and_then(|plan| plan.deadline);
        // Every operation but a create is safe to send again: a read, a
        // full-body update (the same body twice leaves the same
        // connection), a delete (a repeat that finds it gone is told apart
        // by the caller, see `Client::delete_stream_connection`).
        let repeatable = request.method() != reqwest::Method::POST;
        let outcome = shared
            .sender
            .retrying(deadline, repeatable, move |attempt| async move {
                let answer = shared.auth.send(&shared.sender, request, attempt).await;
                if let Ok(response) = &answer
                    && response.status() == StatusCode::TOO_MANY_REQUESTS
                {
                    record(|r| r.throttled += 1);
                }
                answer
            })
            .await;
        match outcome {
            Ok(response) => Ok(hand_on(shared, response, request, info.operation_id).await),
            Err(error) => Ok(failed(error)),
        }
    }
}

/// What progenitor gets of the final `response` to `request`, the record
/// filled in: see the module docs.
async fn hand_on(
    shared: &Shared,
    mut response: reqwest::Response,
    request: &reqwest::Request,
    operation: &'static str,
) -> reqwest::Response {
    let status = response.status();
    // The record keeps the headers; progenitor, which reads the status and
    // the body only, gets none (no copy of them to make).
    let headers = std::mem::take(response.headers_mut());
    if let Some(plan) = plan() {
        shared.report_deprecation(operation, plan.version.version, &headers);
    }
    let limit = shared.sender.retry.max_response_bytes;
    if status.is_success() && response.content_length().is_some_and(|n| n <= limit) {
        // Progenitor reads no more than the length announced (a body that
        // breaks off keeps the recorded status), and an undeclared status
        // has its body read by `into_error`.
        record(|r| {
            r.status = Some(status);
            r.headers = headers;
        });
        return response;
    }
    let url = response.url().clone();
    // Else the exact bytes are read (up to the limit). A body that breaks
    // off or is too large keeps the status: after a 2xx, the connection was
    // created. So does a call whose timeout passes while it is read: the
    // status is recorded first.
    record(|r| r.status = Some(status));
    let read = Read {
        method: request.method().as_str(),
        path: request.url().path(),
        what: "response body",
        status_known: true,
    };
    // (Boxed: a path most calls do not take, see `Sender::send_as`.)
    let body = match Box::pin(read_body(response, limit, read)).await {
        Ok(body) => body,
        Err(error) => return failed(error),
    };
    // An error status is answered from the record's bytes whatever
    // progenitor makes of them (`CallRecord::error`): it gets none to decode.
    let handed_on = match status.is_success() {
        true => body.clone(),
        false => Bytes::new(),
    };
    record(|r| {
        r.status = Some(status);
        r.headers = headers;
        r.body = Some(body);
    });
    rebuild(status, HeaderMap::new(), handed_on, Some(url))
}

#[cfg(test)]
mod tests {
    use super::path_fits;

    const TEMPLATE: &str = "/api/atlas/v2/groups/{groupId}/streams/{tenantName}/connections";

    #[test]
    fn a_path_fits_its_template_behind_any_prefix_and_nothing_else_does() {
        let good = "/api/atlas/v2/groups/g/streams/t/connections";
        assert_eq!(path_fits(good, TEMPLATE), Ok(()));
        assert_eq!(path_fits(&format!("/proxy{good}"), TEMPLATE), Ok(()));
        for bad in [
            // `..` resolved away by URL parsing: a segment short.
            "/api/atlas/v2/groups/g/connections",
            // `\` read as `/`: a segment too many, so the literals shift.
            "/api/atlas/v2/groups/g/streams/a/b/connections",
            // An empty parameter.
            "/api/atlas/v2/groups/g/streams//connections",
            "/api/atlas/v2/groups/g/streams/../connections",
            "/api/atlas/v2/groups/g/streams/./connections",
            "/api/atlas/v2/groups/g/stream/t/connections",
            "/",
            "",
            // No `/` before the first segment.
            "api/atlas/v2/groups/g/streams/t/connections",
        ] {
            let refused = path_fits(bad, TEMPLATE).unwrap_err();
            assert!(refused.contains(bad), "{refused}");
        }
        // Only a whole `{...}` segment is a parameter; anything else must
        // be there as it is.
        for literal in ["/a/{b", "/a/b}"] {
            assert_eq!(path_fits(literal, literal), Ok(()));
            assert!(path_fits("/a/c", literal).is_err(), "{literal}");
        }
    }
}
