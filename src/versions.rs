//! The API versions each operation declares.
//!
//! Atlas versions its API per operation through media types
//! (`application/vnd.atlas.<YYYY-MM-DD>+json`). The table comes from the spec at
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
    /// Whether the operation's main method (and the types it takes) speaks
    /// this version. A version whose bodies have a schema of their own is
    /// sent by a method of its own, [`method`](Self::method).
    pub typed: bool,
    /// The [`Client`](crate::Client) method that sends this version with its
    /// own types: the operation's method (`create_stream_connection`) for the
    /// versions it speaks, else one named after the version
    /// (`create_stream_connection_preview`).
    pub method: &'static str,
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
    /// # Errors
    ///
    /// A message, for the caller to show, when `pin` resolves to nothing:
    /// a malformed date (or a day that does not exist), a date before every
    /// version, `preview` for an operation without one; or when it resolves
    /// to a version whose bodies have another schema than the operation's
    /// method takes (it names the method that sends that version). `None`
    /// fails only for an operation that declares no version.
    ///
    /// # Examples
    ///
    /// ```
    /// let versions = atlas_stream_connections::versions_of("createStreamConnection").unwrap();
    /// let oldest = versions.versions[0].version;
    /// assert_eq!(versions.resolve(Some(oldest))?.version, oldest);
    /// // A later date is served by the newest version not after it.
    /// assert_eq!(versions.resolve(Some("9999-12-31"))?.version, versions.generated.unwrap());
    /// assert!(versions.resolve(Some("2000-01-01")).is_err());
    /// assert!(versions.resolve(Some("2024-02-30")).is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn resolve(&self, pin: Option<&str>) -> Result<&'static ApiVersion, String> {
        let version = self.resolve_any(pin)?;
        if !version.typed {
            return Err(format!(
                "`{}` version {} has bodies of another schema than version {}: send it with \
                 `Client::{}`",
                self.name,
                version.version,
                self.generated.unwrap_or("none"),
                version.method
            ));
        }
        Ok(version)
    }

    /// Like [`resolve`](Self::resolve), whatever the schema of the version
    /// it finds.
    ///
    /// # Errors
    ///
    /// As [`resolve`](Self::resolve), but for the version's schema: a
    /// message when `pin` is a malformed date, a date before every version,
    /// or `preview` for an operation without one.
    pub fn resolve_any(&self, pin: Option<&str>) -> Result<&'static ApiVersion, String> {
        let versions: &'static [ApiVersion] = self.versions;
        let Some(pin) = pin else {
            return self
                .default_version()
                .ok_or_else(|| format!("`{}` declares no API version", self.name));
        };
        let chosen = if pin == "preview" {
            let preview = versions.iter().find(|v| v.version == "preview");
            if preview.is_none() {
                return Err(format!("`{}` has no preview version", self.name));
            }
            preview
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
        chosen.ok_or_else(|| {
            format!(
                "`{}` has no API version on or before `{pin}` (declared: {})",
                self.name,
                declared()
            )
        })
    }
}

/// `YYYY-MM-DD`, a day that exists (the rule of `format: date`).
fn is_iso_date(text: &str) -> bool {
    crate::formats::is_date(text.as_bytes())
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

#[cfg(test)]
mod tests {
    use super::is_iso_date;

    #[test]
    fn only_real_days_are_dates() {
        for good in ["2023-02-01", "2024-02-29", "2000-02-29", "2025-12-31"] {
            assert!(is_iso_date(good), "{good}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2023-04-31",
            "2023-13-01",
            "2023-00-10",
            "2023-01-00",
            "2023-1-01",
            "2023/01/01",
            "2023-01-01x",
            "preview",
            "",
            "२०२३-०१-०१",
        ] {
            assert!(!is_iso_date(bad), "{bad}");
        }
    }
}
