//! The crate's one error type.

use std::fmt;

use bytes::Bytes;
use reqwest::StatusCode;

use crate::hooks::CallRecord;
use crate::types::ApiError;

/// Everything that can go wrong with a call.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before any I/O.
    InvalidInput {
        /// The parameter at fault.
        parameter: &'static str,
        /// Why it was rejected.
        message: String,
    },
    /// The API answered with an error status.
    Api(Box<ApiErrorResponse>),
    /// A response whose body is not what the spec says (the bytes are kept).
    Decode(Box<DecodeError>),
    /// The request could not be sent, or the response not received.
    Transport(reqwest::Error),
}

/// An error status from the API, with its body as received.
#[derive(Debug, Clone)]
pub struct ApiErrorResponse {
    method: String,
    path: String,
    status: StatusCode,
    content_type: Option<String>,
    error: Option<ApiError>,
    body: Bytes,
}

impl ApiErrorResponse {
    /// The HTTP status (Atlas's own `error` field is sometimes wrong).
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The Atlas error body, when the response carried one.
    pub fn api_error(&self) -> Option<&ApiError> {
        self.error.as_ref()
    }
    /// Atlas's `errorCode` (`RESOURCE_NOT_FOUND`, ...).
    pub fn error_code(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.error_code.as_str())
    }
    /// Atlas's `detail`.
    pub fn detail(&self) -> Option<&str> {
        self.error.as_ref().and_then(|e| e.detail.as_deref())
    }
    /// Atlas's `reason`.
    pub fn reason(&self) -> Option<&str> {
        self.error.as_ref().and_then(|e| e.reason.as_deref())
    }
    /// The body exactly as received.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// The response's `Content-Type`.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
    /// The HTTP method and URL path of the call.
    pub fn request(&self) -> (&str, &str) {
        (&self.method, &self.path)
    }
}

/// A response body that does not match the spec.
#[derive(Debug, Clone)]
pub struct DecodeError {
    method: String,
    path: String,
    status: Option<StatusCode>,
    content_type: Option<String>,
    body: Bytes,
    message: String,
}

impl DecodeError {
    /// The HTTP status of the response.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }
    /// The body exactly as received.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// The response's `Content-Type`.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
    /// What did not match.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Error {
    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode(e) => e.status,
            Error::Transport(e) => e.status(),
            Error::InvalidInput { .. } => None,
        }
    }

    /// Atlas's `errorCode`, when the API sent one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.error_code(),
            _ => None,
        }
    }

    /// The API error response, if this is one.
    pub fn as_api_error(&self) -> Option<&ApiErrorResponse> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn invalid(parameter: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            parameter,
            message: message.into(),
        }
    }

    /// Turns progenitor's error into ours, with what the call recorded.
    pub(crate) fn from_generated(
        error: progenitor_client::Error<ApiError>,
        call: CallRecord,
    ) -> Self {
        use progenitor_client::Error as G;
        let CallRecord {
            method,
            path,
            status,
            content_type,
            error_body,
        } = call;
        match error {
            G::InvalidRequest(message) => Error::invalid("request", message),
            G::Custom(message) => Error::invalid("api_version", message),
            G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
                Error::Transport(e)
            }
            G::ErrorResponse(value) => Error::Api(Box::new(ApiErrorResponse {
                method,
                path,
                status: value.status(),
                content_type,
                error: Some(value.into_inner()),
                body: error_body.unwrap_or_default(),
            })),
            G::UnexpectedResponse(response) if !response.status().is_success() => {
                Error::Api(Box::new(ApiErrorResponse {
                    method,
                    path,
                    status: response.status(),
                    content_type,
                    error: error_body
                        .as_deref()
                        .and_then(|b| serde_json::from_slice(b).ok()),
                    body: error_body.unwrap_or_default(),
                }))
            }
            G::UnexpectedResponse(response) => Error::Decode(Box::new(DecodeError {
                method,
                path,
                status: Some(response.status()),
                content_type,
                body: Bytes::new(),
                message: format!("the spec declares no {} response", response.status()),
            })),
            G::InvalidResponsePayload(body, e) => match status {
                // An error status whose body is not an `ApiError` (an HTML page
                // from a proxy, say) is still an API error.
                Some(status) if !status.is_success() => Error::Api(Box::new(ApiErrorResponse {
                    method,
                    path,
                    status,
                    content_type,
                    error: None,
                    body,
                })),
                _ => Error::Decode(Box::new(DecodeError {
                    method,
                    path,
                    status,
                    content_type,
                    body,
                    message: e.to_string(),
                })),
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput { parameter, message } => {
                write!(f, "invalid `{parameter}`: {message}")
            }
            Error::Api(e) => {
                write!(f, "{} {}: HTTP {}", e.method, e.path, e.status)?;
                match &e.error {
                    Some(api) => {
                        write!(f, " {}", api.error_code)?;
                        if let Some(detail) = &api.detail {
                            write!(f, ": {detail}")?;
                        }
                        Ok(())
                    }
                    None => write!(
                        f,
                        " with a {}-byte {} body that is not an Atlas error",
                        e.body.len(),
                        e.content_type.as_deref().unwrap_or("untyped")
                    ),
                }
            }
            Error::Decode(e) => {
                write!(f, "{} {}: ", e.method, e.path)?;
                if let Some(status) = e.status {
                    write!(f, "HTTP {status}, ")?;
                }
                write!(f, "response body does not match the spec: {}", e.message)
            }
            Error::Transport(e) => write!(f, "transport error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => Some(e),
            _ => None,
        }
    }
}
