//! The API versions each operation declares.
//!
//! Atlas versions its API per operation through media types
//! (`application/vnd.atlas.2023-02-01+json`). The table comes from the spec at
//! build time; the client sends the version its types were generated from.

/// One version of an operation, as its media types declare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersion {
    /// `YYYY-MM-DD`, or `preview`.
    pub version: &'static str,
    /// The request media type of this version, if the operation has a body.
    pub request_media_type: Option<&'static str>,
    /// The media type of this version's successful response.
    pub response_media_type: Option<&'static str>,
    /// Whether this crate's types describe this version's bodies.
    pub typed: bool,
}

impl ApiVersion {
    /// The `Accept` header value that asks for this version.
    pub fn accept(&self) -> Option<&'static str> {
        self.response_media_type.or(self.request_media_type)
    }
}

/// The versions of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationVersions {
    /// The method name in this crate (`create_stream_connection`).
    pub operation_id: &'static str,
    /// The operation's name in the spec and the Atlas CLI
    /// (`createStreamConnection`).
    pub name: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// The version the generated types follow, sent by default.
    pub generated: Option<&'static str>,
    /// Every declared version, oldest first.
    pub versions: &'static [ApiVersion],
}

impl OperationVersions {
    /// The version sent by default: the one the types were generated from.
    pub fn default_version(&self) -> Option<&'static ApiVersion> {
        let generated = self.generated?;
        self.versions.iter().find(|v| v.version == generated)
    }
}

/// Every operation this crate serves, with its versions.
pub fn operation_versions() -> &'static [OperationVersions] {
    crate::generated::OPERATION_VERSIONS
}

/// The versions of one operation, by this crate's name or the spec's.
pub fn versions_of(operation: &str) -> Option<&'static OperationVersions> {
    operation_versions()
        .iter()
        .find(|op| op.operation_id == operation || op.name == operation)
}
