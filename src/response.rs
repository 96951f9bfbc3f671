//! [`ApiResponse`]: a successful result with what the response said about
//! itself (status, headers, the API version it answered in).

use std::ops::Deref;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::error::RateLimit;

/// A decoded response body with its status, headers and API version.
/// `Debug` shows the headers' names, not their values (a proxy's
/// `Set-Cookie`, say), as errors do.
#[derive(Clone)]
pub struct ApiResponse<T> {
    value: T,
    status: StatusCode,
    headers: HeaderMap,
    api_version: &'static str,
    throttled: u32,
}

impl<T> ApiResponse<T> {
    pub(crate) fn new(
        value: T,
        status: Option<StatusCode>,
        headers: HeaderMap,
        api_version: &'static str,
    ) -> Self {
        Self {
            value,
            status: status.unwrap_or(StatusCode::OK),
            headers,
            api_version,
            throttled: 0,
        }
    }

    /// The same, having waited out `throttled` `429` answers.
    pub(crate) fn with_throttled(mut self, throttled: u32) -> Self {
        self.throttled = throttled;
        self
    }

    /// How many `429 Too Many Requests` answers the client waited out
    /// (honouring `Retry-After`) before this answer.
    pub fn throttled(&self) -> u32 {
        self.throttled
    }

    /// The decoded body.
    pub fn into_inner(self) -> T {
        self.value
    }
    /// The HTTP status (inside the envelope, when one was asked for).
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The API version the call asked for: a date of the version table,
    /// `YYYY-MM-DD`.
    pub fn api_version(&self) -> &'static str {
        self.api_version
    }
    /// The `Deprecation` header: Atlas says this API version is deprecated.
    pub fn deprecation(&self) -> Option<&str> {
        self.header("deprecation")
    }
    /// The `Sunset` header: when Atlas will stop serving this API version.
    pub fn sunset(&self) -> Option<&str> {
        self.header("sunset")
    }
    /// The `RateLimit-*` headers: how much of the quota is left.
    pub fn rate_limit(&self) -> RateLimit {
        RateLimit::from_headers(&self.headers)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for ApiResponse<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiResponse")
            .field("value", &self.value)
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("api_version", &self.api_version)
            .field("throttled", &self.throttled)
            .finish()
    }
}

impl<T> Deref for ApiResponse<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}
