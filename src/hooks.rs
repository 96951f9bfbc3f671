//! The handwritten side of progenitor's `ClientHooks`: the generated client
//! calls these around every request, so the generated code is never edited.
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
//!   this crate's own error when the failure is not an HTTP answer.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, Error as GeneratedError, OperationInfo};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::auth::Auth;
use crate::error::Error;
use crate::send::{Read, Sender, read_body, rebuild, replay};
use crate::versions::{ApiVersion, versions_of};

/// Per-client state handed to progenitor as its `inner` type; clones share
/// it (connection pool, token, Digest challenge).
#[derive(Clone, Debug)]
pub struct ClientState {
    pub(crate) shared: Arc<Shared>,
}

/// What every clone of one client shares.
pub(crate) struct Shared {
    pub sender: Sender,
    pub auth: Auth,
    /// The client-wide pinned version, if any.
    pub api_version: Option<String>,
    /// `(operation, version)` pairs already reported deprecated.
    warned: Mutex<HashSet<(&'static str, &'static str)>>,
}

impl Shared {
    pub fn new(sender: Sender, auth: Auth, api_version: Option<String>) -> Self {
        Self {
            sender,
            auth,
            api_version,
            warned: Mutex::new(HashSet::new()),
        }
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("auth", &self.auth)
            .field("api_version", &self.api_version)
            .field("user_agent", &self.sender.user_agent)
            .field("timeout", &self.sender.timeout)
            .field("retry", &self.sender.retry)
            .finish_non_exhaustive()
    }
}

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
            Err(error) => {
                record(|r| r.failure = Some(error));
                // Progenitor needs a response to go on; `from_generated`
                // answers with the recorded failure instead.
                return Ok(rebuild(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    HeaderMap::new(),
                    Bytes::new(),
                ));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(plan) = plan() {
            report_deprecation(shared, info.operation_id, plan.version.version, &headers);
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
            Err(error) => {
                record(|r| r.failure = Some(error));
                return Ok(rebuild(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    HeaderMap::new(),
                    Bytes::new(),
                ));
            }
        };
        record(|r| {
            r.status = Some(status);
            r.headers = headers.clone();
            r.body = Some(body.clone());
        });
        Ok(rebuild(status, headers, body))
    }
}

/// How much of a `Deprecation` or `Sunset` value is logged (an HTTP date is
/// 29 characters).
const LOGGED_HEADER_CHARS: usize = 64;

/// One `tracing` warning per client, operation and version when Atlas says
/// the version is deprecated or will be withdrawn.
fn report_deprecation(
    shared: &Shared,
    operation: &'static str,
    version: &'static str,
    headers: &HeaderMap,
) {
    // Logged, so cut short: a header may be hundreds of kilobytes.
    let header = |name: &str| {
        let value = headers.get(name).and_then(|v| v.to_str().ok())?;
        Some(value.get(..LOGGED_HEADER_CHARS).unwrap_or(value))
    };
    let (deprecation, sunset) = (header("deprecation"), header("sunset"));
    if deprecation.is_none() && sunset.is_none() {
        return;
    }
    let first = shared
        .warned
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert((operation, version));
    if first {
        tracing::warn!(
            operation,
            version,
            deprecation = deprecation.unwrap_or("-"),
            sunset = sunset.unwrap_or("-"),
            "Atlas reports this API version as deprecated; pin a newer one before its sunset"
        );
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
