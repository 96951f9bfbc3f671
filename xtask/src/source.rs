//! What `regen --from` names: a local file or a URL to download.

use std::fmt;
use std::path::PathBuf;

use reqwest::Url;

use crate::fetch;

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    File(PathBuf),
    Url(Url),
}

impl Source {
    /// `https://...` (or `http://` to this machine, for tests) is a URL;
    /// anything else is a path.
    pub fn parse(arg: &str) -> Result<Self, String> {
        let Some((scheme, _)) = arg.split_once("://") else {
            return Ok(Self::File(PathBuf::from(arg)));
        };
        let scheme = scheme.to_ascii_lowercase();
        // Errors before parsing echo the argument without its user info,
        // which may hold a password.
        let shown = without_user_info(arg);
        if scheme != "https" && scheme != "http" {
            return Err(format!(
                "{shown}: unsupported URL scheme `{scheme}`; --from takes a file path or an https:// URL"
            ));
        }
        let url = Url::parse(arg).map_err(|e| format!("{shown}: not a valid URL: {e}"))?;
        if url.scheme() == "http" && !fetch::is_loopback(&url) {
            return Err(format!(
                "{}: plain http:// is accepted only for 127.0.0.1 or localhost; use https://",
                redact(&url)
            ));
        }
        Ok(Self::Url(url))
    }

    /// The bytes of the source. The error is one line, starting with the
    /// source.
    pub fn load(&self) -> Result<Vec<u8>, String> {
        match self {
            Self::File(path) => std::fs::read(path).map_err(|e| {
                let what = match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file".to_string(),
                    _ => format!("cannot read: {e}"),
                };
                format!("{self}: {what}")
            }),
            Self::Url(url) => fetch::download(url).map_err(|e| format!("{self}: {e}")),
        }
    }

    /// The `--from` argument that gives this source again, quoted for a POSIX
    /// shell where needed.
    pub fn as_argument(&self) -> String {
        shell_quote(&self.to_string())
    }
}

/// Paths as given; URLs without user info, and with the values of query
/// parameters that look like credentials replaced, since this text goes into
/// logs and `spec/provenance.json`.
impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Url(url) => f.write_str(&redact(url)),
        }
    }
}

/// `scheme://user:pass@host/...` as `scheme://host/...`, textually (for
/// arguments that do not parse as URLs).
fn without_user_info(arg: &str) -> String {
    let Some((scheme, rest)) = arg.split_once("://") else {
        return arg.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => arg.to_owned(),
    }
}

pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_fragment(None);
    if shown.query().is_some() {
        let secret = |name: &str| {
            let name = name.to_ascii_lowercase();
            [
                "token",
                "key",
                "sig",
                "secret",
                "password",
                "credential",
                "auth",
            ]
            .iter()
            .any(|s| name.contains(s))
        };
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) {
                    "REDACTED".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:@%+=,-~".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls_are_told_apart() {
        assert_eq!(
            Source::parse("../spec.yaml").unwrap(),
            Source::File("../spec.yaml".into())
        );
        assert!(matches!(
            Source::parse("https://example.com/v2.yaml").unwrap(),
            Source::Url(_)
        ));
        assert!(matches!(
            Source::parse("http://127.0.0.1:8080/v2.yaml").unwrap(),
            Source::Url(_)
        ));
    }

    #[test]
    fn plain_http_is_only_for_this_machine_and_other_schemes_are_refused() {
        let err = Source::parse("http://example.com/v2.yaml").unwrap_err();
        assert_eq!(
            err,
            "http://example.com/v2.yaml: plain http:// is accepted only for 127.0.0.1 or localhost; use https://"
        );
        let err = Source::parse("ftp://example.com/v2.yaml").unwrap_err();
        assert!(err.contains("unsupported URL scheme `ftp`"), "{err}");
    }

    #[test]
    fn credentials_never_show_even_in_errors_about_unparsable_urls() {
        for arg in ["ftp://u:SECRET@h/x", "https://u:SECRET@host:99999/x.yaml"] {
            let err = Source::parse(arg).unwrap_err();
            assert!(!err.contains("SECRET"), "{err}");
        }
    }

    #[test]
    fn credentials_never_show() {
        let source =
            Source::parse("https://me:pw@example.com/v2.yaml?ref=main&token=abc#x").unwrap();
        assert_eq!(
            source.to_string(),
            "https://example.com/v2.yaml?ref=main&token=REDACTED"
        );
    }

    #[test]
    fn arguments_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("../shared/a-b_c.yaml"), "../shared/a-b_c.yaml");
        assert_eq!(shell_quote("my spec's.yaml"), r"'my spec'\''s.yaml'");
        assert_eq!(shell_quote("https://h/x?a=1&b=2"), "'https://h/x?a=1&b=2'");
    }
}
