//! The handwritten side of progenitor's `ClientHooks`: the generated client
//! calls these around every request, so the generated code is never edited.
//!
//! - `pre` sends the operation's versioned media types (`Accept`, and
//!   `Content-Type` when there is a body) from the build-time version table,
//!   and drops progenitor's `api-version` header, which Atlas does not use.
//! - `exec` buffers the body of every non-success response, so an error keeps
//!   the exact bytes the server sent (an HTML 502 page as much as an
//!   `ApiError`).
//! - A per-call [`CallRecord`] (a task-local scoped around one call) carries
//!   what progenitor's error type drops: method, path, status, content type.

use std::cell::RefCell;
use std::future::Future;

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, Error as GeneratedError, OperationInfo};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};

use crate::versions::versions_of;

/// Per-client state handed to progenitor as its `inner` type.
#[derive(Clone, Debug, Default)]
pub struct ClientState {}

/// What one call saw, for errors that progenitor reports without it.
#[derive(Clone, Debug, Default)]
pub(crate) struct CallRecord {
    pub method: String,
    pub path: String,
    pub status: Option<reqwest::StatusCode>,
    pub content_type: Option<String>,
    pub error_body: Option<Bytes>,
}

tokio::task_local! {
    static CALL: RefCell<CallRecord>;
}

/// Runs one generated call with a fresh [`CallRecord`] and returns both.
pub(crate) async fn recorded<F: Future>(call: F) -> (F::Output, CallRecord) {
    CALL.scope(RefCell::new(CallRecord::default()), async {
        let output = call.await;
        let record = CALL.with(|c| c.borrow().clone());
        (output, record)
    })
    .await
}

fn record(update: impl FnOnce(&mut CallRecord)) {
    // Outside `recorded` there is nothing to fill in.
    let _ = CALL.try_with(|c| update(&mut c.borrow_mut()));
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
        let operation = versions_of(info.operation_id).ok_or_else(|| {
            GeneratedError::Custom(format!("no API versions known for `{}`", info.operation_id))
        })?;
        let version = operation.default_version().ok_or_else(|| {
            GeneratedError::Custom(format!("`{}` declares no API version", operation.name))
        })?;
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
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client().execute(request).await?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        record(|r| {
            r.status = Some(status);
            r.content_type = content_type;
        });
        if status.is_success() {
            return Ok(response);
        }
        // Keep the exact bytes, then hand progenitor an identical response.
        let version = response.version();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        record(|r| r.error_body = Some(body.clone()));
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        Ok(reqwest::Response::from(rebuilt))
    }
}
