//! The API versions each operation declares.
//!
//! Atlas versions its API per operation through media types
//! (`application/vnd.atlas.2023-02-01+json`). The table comes from the spec at
//! build time. By default the client sends the newest dated version, the one
//! its types were generated from; a caller may pin a date instead, which
//! resolves the way Atlas resolves it: to the newest declared version not
//! after that date.

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

    /// The version a call pinned to `pin` sends: `None` gives the default;
    /// a date `YYYY-MM-DD` gives the newest dated version on or before it
    /// (so `2024-05-30` gives `2023-02-01` when that is the newest one
    /// before it); `preview` gives the preview version if there is one.
    ///
    /// A malformed date, a date before every version, or a version whose
    /// bodies this crate has no types for is an error message.
    pub fn resolve(&self, pin: Option<&str>) -> Result<&'static ApiVersion, String> {
        let versions: &'static [ApiVersion] = self.versions;
        let Some(pin) = pin else {
            return self
                .default_version()
                .ok_or_else(|| format!("`{}` declares no API version", self.name));
        };
        let chosen = if pin == "preview" {
            versions.iter().find(|v| v.version == "preview")
        } else {
            if !is_iso_date(pin) {
                return Err(format!(
                    "`{pin}` is not an API version: expected a date YYYY-MM-DD or `preview`"
                ));
            }
            // ISO dates order as strings.
            versions
                .iter()
                .filter(|v| is_iso_date(v.version) && v.version <= pin)
                .max_by_key(|v| v.version)
        };
        let declared = || {
            let all: Vec<&str> = versions.iter().map(|v| v.version).collect();
            all.join(", ")
        };
        let version = chosen.ok_or_else(|| {
            format!(
                "`{}` has no API version on or before `{pin}` (declared: {})",
                self.name,
                declared()
            )
        })?;
        if !version.typed {
            return Err(format!(
                "`{}` version {} has bodies of a different schema, which this crate has no types \
                 for (typed: {})",
                self.name,
                version.version,
                self.generated.unwrap_or("none")
            ));
        }
        Ok(version)
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    let number = |range: std::ops::Range<usize>| text.get(range).and_then(|t| t.parse::<u8>().ok());
    bytes.len() == 10
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && number(5..7).is_some_and(|m| (1..=12).contains(&m))
        && number(8..10).is_some_and(|d| (1..=31).contains(&d))
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
