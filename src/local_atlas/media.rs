//! Which API version a request asks for, resolved the way Atlas resolves it.
//!
//! Atlas versions each operation through media types
//! (`application/vnd.atlas.<YYYY-MM-DD>+json`), and a date that is not one of
//! the operation's versions is served by the newest version not after it: a
//! client that asks for `2025-03-12` (MongoDB's own TypeScript client does)
//! gets `2023-02-01` when that is the newest version on or before that day.
//! The rule is the one this crate's client applies to pins
//! ([`OperationVersions::resolve_any`]), so the client and its double cannot
//! disagree on it. A date before every version, a day that does not exist
//! (`2025-13-40`), anything after the date but `+json`, or a version that is
//! no date nor `preview`, is refused: `406 INVALID_VERSION_DATE` for
//! `Accept` (Atlas answers "Invalid accept header or version date."), `415`
//! with the same code for `Content-Type`, which names the version of the
//! body.

use crate::versions::{ApiVersion, OperationVersions};

/// What `Atlas` media types start with.
const ATLAS_PREFIX: &str = "application/vnd.atlas.";

/// What one media range asks for.
#[derive(Debug, PartialEq, Eq)]
enum Asked<'a> {
    /// `*/*`, `application/*`, `application/json`: any version.
    Any,
    /// `application/vnd.atlas.<version>+<suffix>`: the version as sent (not
    /// yet checked) and the whole media type, for messages.
    Atlas {
        version: &'a str,
        media_type: &'a str,
    },
    /// Any other media type.
    Other,
}

/// The media type of one range of a header value: parameters (`;
/// charset=utf-8`, `q=`) dropped, lower case.
fn media_type(range: &str) -> String {
    range
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// What `media_type` (parameters already dropped) asks for.
fn asked(media_type: &str) -> Asked<'_> {
    if matches!(media_type, "*/*" | "application/*" | "application/json") {
        return Asked::Any;
    }
    match media_type.strip_prefix(ATLAS_PREFIX) {
        Some(rest) => Asked::Atlas {
            // `2025-03-12+json` -> `2025-03-12`; without a `+`, all of it,
            // which resolves to nothing and says so.
            version: rest.rsplit_once('+').map_or(rest, |(version, _)| version),
            media_type,
        },
        None => Asked::Other,
    }
}

/// The version `media_type` (of version `version`) resolves to, if its
/// resolved version is served in that very form (`+json`): `media_of` gives
/// a version's media type for the header (response or request).
fn resolve(
    operation: &OperationVersions,
    version: &str,
    media_type: &str,
    media_of: fn(&ApiVersion) -> Option<&'static str>,
) -> Result<&'static ApiVersion, String> {
    let resolved = operation.resolve_any(Some(version))?;
    let suffix = media_type.get(ATLAS_PREFIX.len() + version.len()..);
    let served = media_of(resolved);
    let same_form = served
        .and_then(|s| s.get(ATLAS_PREFIX.len() + resolved.version.len()..))
        .is_some_and(|s| Some(s) == suffix);
    if same_form {
        return Ok(resolved);
    }
    Err(format!(
        "`{media_type}` resolves to version {}, served as `{}` only",
        resolved.version,
        served.unwrap_or("nothing")
    ))
}

/// Every response media type of `operation`, for messages.
fn served(operation: &OperationVersions) -> String {
    let all: Vec<&str> = operation
        .versions
        .iter()
        .filter_map(|v| v.response_media_type)
        .collect();
    all.join(", ")
}

/// The version whose response answers a request with this `Accept`: the
/// first range that resolves wins; none (and no header, or `*/*`,
/// `application/*`, `application/json`) gives the oldest version, as
/// before. `Err` is the detail of the `406`: why the first Atlas media type
/// did not resolve, or what is served.
pub(crate) fn response_version(
    operation: &OperationVersions,
    accept: Option<&str>,
) -> Result<&'static ApiVersion, String> {
    let oldest = || {
        operation
            .versions
            .iter()
            .find(|v| v.response_media_type.is_some())
            .ok_or_else(|| format!("`{}` declares no response media type", operation.name))
    };
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return oldest();
    };
    let mut first_refusal = None;
    for range in accept.split(',') {
        let media_type = media_type(range);
        match asked(&media_type) {
            Asked::Any => return oldest(),
            Asked::Atlas {
                version,
                media_type,
            } => match resolve(operation, version, media_type, |v| v.response_media_type) {
                Ok(resolved) => return Ok(resolved),
                Err(why) => {
                    first_refusal.get_or_insert(why);
                }
            },
            Asked::Other => {}
        }
    }
    Err(match first_refusal {
        Some(why) => format!("Invalid accept header or version date: {why}."),
        None => format!(
            "Invalid accept header or version date: `{accept}` asks for no media type this \
             resource is served in ({}).",
            served(operation)
        ),
    })
}

/// The version whose schema the body follows: the one `Content-Type`
/// names, resolved as `Accept` is; or, when it names none (no header,
/// `application/json`, another type), the version `answered` in. `Err` is
/// the detail of the `415`.
pub(crate) fn request_version(
    operation: &OperationVersions,
    content_type: Option<&str>,
    answered: &'static ApiVersion,
) -> Result<&'static ApiVersion, String> {
    let Some(content_type) = content_type else {
        return Ok(answered);
    };
    let media_type = media_type(content_type);
    match asked(&media_type) {
        Asked::Atlas {
            version,
            media_type,
        } => resolve(operation, version, media_type, |v| v.request_media_type)
            .map_err(|why| format!("Invalid content type or version date: {why}.")),
        Asked::Any | Asked::Other => Ok(answered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation() -> &'static OperationVersions {
        crate::versions_of("create_stream_connection").unwrap()
    }

    #[test]
    fn ranges_are_read_without_parameters_and_case() {
        assert_eq!(
            media_type(" Application/JSON ; charset=utf-8"),
            "application/json"
        );
        assert_eq!(asked("*/*"), Asked::Any);
        assert_eq!(asked("text/plain"), Asked::Other);
        assert_eq!(
            asked("application/vnd.atlas.2025-03-12+json"),
            Asked::Atlas {
                version: "2025-03-12",
                media_type: "application/vnd.atlas.2025-03-12+json"
            }
        );
        let no_suffix = asked("application/vnd.atlas.2025-03-12");
        assert!(matches!(
            no_suffix,
            Asked::Atlas {
                version: "2025-03-12",
                ..
            }
        ));
    }

    #[test]
    fn a_later_date_resolves_to_the_newest_version_not_after_it() {
        let operation = operation();
        let oldest = operation.versions[0];
        for accept in [
            None,
            Some(""),
            Some("*/*"),
            Some("application/json"),
            Some("text/html, application/*"),
        ] {
            assert_eq!(
                response_version(operation, accept),
                Ok(&oldest),
                "{accept:?}"
            );
        }
        let newest = operation.versions.last().unwrap();
        let later = "application/vnd.atlas.2999-12-31+json; charset=utf-8";
        assert_eq!(response_version(operation, Some(later)), Ok(newest));
        let exact = newest.response_media_type.unwrap();
        assert_eq!(response_version(operation, Some(exact)), Ok(newest));
        // A refused range does not spoil a later one that resolves.
        let mixed = format!("application/vnd.atlas.2025-13-40+json, {exact}");
        assert_eq!(response_version(operation, Some(&mixed)), Ok(newest));
    }

    #[test]
    fn malformed_and_early_dates_are_refused_saying_why() {
        let operation = operation();
        for (accept, why) in [
            (
                "application/vnd.atlas.2025-13-40+json",
                "`2025-13-40` is not an API version",
            ),
            (
                "application/vnd.atlas.2025-03-12x+json",
                "`2025-03-12x` is not an API version",
            ),
            (
                "application/vnd.atlas.2025-03-12",
                "served as `application/vnd.atlas.",
            ),
            (
                "application/vnd.atlas.2025-03-12+jsonx",
                "served as `application/vnd.atlas.",
            ),
            (
                "application/vnd.atlas.2025-03-12+csv",
                "served as `application/vnd.atlas.",
            ),
            (
                "application/vnd.atlas.1999-01-01+json",
                "no API version on or before `1999-01-01`",
            ),
            (
                "application/vnd.atlas.preview+json",
                "has no preview version",
            ),
            (
                "text/html",
                "asks for no media type this resource is served in",
            ),
        ] {
            let refused = response_version(operation, Some(accept)).unwrap_err();
            assert!(
                refused.starts_with("Invalid accept header or version date: "),
                "{refused}"
            );
            assert!(refused.contains(why), "{accept}: {refused}");
        }
    }

    #[test]
    fn the_body_follows_its_content_type_else_the_answer_version() {
        let operation = operation();
        let answered = &operation.versions[0];
        for content_type in [None, Some("application/json"), Some("text/plain")] {
            assert_eq!(
                request_version(operation, content_type, answered),
                Ok(answered)
            );
        }
        let newest = operation.versions.last().unwrap();
        let later = Some("application/vnd.atlas.2025-03-12+json");
        assert_eq!(request_version(operation, later, answered), Ok(newest));
        let malformed = Some("application/vnd.atlas.2025-02-30+json");
        let refused = request_version(operation, malformed, answered).unwrap_err();
        assert!(
            refused.starts_with("Invalid content type or version date: `2025-02-30`"),
            "{refused}"
        );
    }
}
