//! One call: how it is made ([`CallPlan`]), what it saw ([`CallRecord`]),
//! and the handwritten side of progenitor's `ClientHooks`, which the
//! generated client calls around every request, so the generated code is
//! never edited. The per-client state the hooks reach is in
//! [`state`](crate::state).
//!
//! - `pre` sends the call's API version as media types (`Accept`, and
//!   `Content-Type` when there is a body) and drops progenitor's
//!   `api-version` header, which Atlas does not use.
//! - `exec` authenticates, retries throttled requests, reports
//!   `Deprecation`/`Sunset`, and keeps the bytes of every response (up to
//!   the client's `max_response_bytes`), so an error (an HTML 502 page as
//!   much as an `ApiError`) or an undeclared status loses nothing.
//! - A per-call [`CallRecord`] (a task-local scoped around one call) carries
//!   what progenitor's error type cannot: method, path, status, headers, and
//!   this crate's own error when the failure is not an HTTP answer;
//!   [`CallRecord::error`] makes progenitor's error and the record one
//!   [`Error`].

use std::cell::RefCell;
use std::future::Future;

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, Error as GeneratedError, OperationInfo};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::error::ApiErrorResponse;
use crate::error::{Error, without_values};
use crate::send::{Read, read_body, rebuild, replay};
use crate::state::ClientState;
use crate::versions::{ApiVersion, versions_of};

/// How one call is made, decided before any I/O.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallPlan {
    pub version: &'static ApiVersion,
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
}

impl CallRecord {
    /// Progenitor's `error` for this call as ours: the failure recorded,
    /// else what the recorded answer says.
    pub(crate) fn error<E>(self, error: GeneratedError<E>) -> Error {
        use GeneratedError as G;
        let CallRecord {
            method,
            path,
            status,
            headers,
            body,
            failure,
        } = self;
        if let Some(failure) = failure {
            return failure;
        }
        match (error, status) {
            (G::InvalidRequest(message), _) => Error::invalid("request", message),
            (G::Custom(message), _) => Error::invalid("api_version", message),
            (G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e), _) => {
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
}

tokio::task_local! {
    static CALL: RefCell<CallContext>;
}

/// Runs one generated call under `plan` and returns its output with what it
/// recorded.
pub(crate) async fn run<F: Future>(plan: CallPlan, call: F) -> (F::Output, CallRecord) {
    let context = CallContext {
        plan,
        record: CallRecord::default(),
    };
    CALL.scope(RefCell::new(context), async {
        let output = call.await;
        let record = CALL.with(|c| std::mem::take(&mut c.borrow_mut().record));
        (output, record)
    })
    .await
}

/// Whether the request path `path` (after URL parsing) ends with the
/// operation's `template`: as many segments, the literal ones equal, none
/// of a parameter's empty. A base URL may put a prefix before it.
fn path_fits(path: &str, template: &str) -> Result<(), String> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let expected: Vec<&str> = template.split('/').skip(1).collect();
    let refused = || {
        format!(
            "the request path `{path}` is not `{template}`: a parameter holds a `/`, `\\`, `.` \
             or `..` that would leave the endpoint, or is empty"
        )
    };
    let start = segments
        .len()
        .checked_sub(expected.len())
        .ok_or_else(refused)?;
    let fits = segments[start..].iter().zip(&expected).all(|(got, want)| {
        match want.starts_with('{') && want.ends_with('}') {
            true => !got.is_empty() && *got != "." && *got != "..",
            false => got == want,
        }
    });
    if fits { Ok(()) } else { Err(refused()) }
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
    )
}

impl ClientHooks<ClientState> for crate::generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), GeneratedError<E>> {
        record(|r| {
            r.method = request.method().to_string();
            r.path = request.url().path().to_string();
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
        headers.remove("api-version");
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
        let outcome = shared
            .sender
            .retrying(
                move || async move { shared.auth.send(&shared.sender, replay(request)?).await },
            )
            .await;
        let response = match outcome {
            Ok(response) => response,
            Err(error) => return Ok(failed(error)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(plan) = plan() {
            shared.report_deprecation(info.operation_id, plan.version.version, &headers);
        }
        // Keep the exact bytes (up to the client's limit), then hand
        // progenitor an identical response. A body that breaks off or is too
        // large keeps the status: after a 2xx, the connection was created.
        let read = Read {
            method: request.method().as_str(),
            path: request.url().path(),
            what: "response body",
            status_known: true,
        };
        let body = match read_body(response, shared.sender.retry.max_response_bytes, read).await {
            Ok(body) => body,
            Err(error) => return Ok(failed(error)),
        };
        record(|r| {
            r.status = Some(status);
            r.headers = headers.clone();
            r.body = Some(body.clone());
        });
        Ok(rebuild(status, headers, body))
    }
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
        ] {
            let refused = path_fits(bad, TEMPLATE).unwrap_err();
            assert!(refused.contains(bad), "{refused}");
        }
    }
}
