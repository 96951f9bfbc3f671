//! The state every clone of one client shares: progenitor's `inner` type
//! ([`ClientState`]), named by the generator's configuration in `build.rs`.
//! What one call plans and records is in [`call`](crate::call).

use std::collections::HashSet;
use std::fmt::{self, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName};

use crate::auth::Auth;
use crate::config::DEFAULT_CALL_TIMEOUT;
use crate::error::Error;
use crate::send::Sender;
use crate::types::CreateStreamConnectionGroupId;

/// Per-client state handed to progenitor as its `inner` type; clones share
/// it (connection pool, token, Digest challenge).
#[derive(Clone, Debug)]
pub struct ClientState {
    pub(crate) shared: Arc<Shared>,
}

impl ClientState {
    /// The URL of `path` (the operation's path, parameters encoded) under
    /// the client's base URL: the URL progenitor would format as text,
    /// `<base><path>`, and reqwest parse, host and all, on every call. Only
    /// the path is parsed here (the base's own path, then `path`), by the
    /// same parser, which percent-encodes and resolves it alike; and only
    /// when it is not the path of the client's previous call, whose URL is
    /// kept (parsing a path costs about 6k instructions, four times what
    /// formatting and comparing it does, and most calls of a client go to
    /// the instance its previous call went to).
    pub(crate) fn endpoint(&self, path: fmt::Arguments<'_>) -> Url {
        let mut formatted = String::with_capacity(ENDPOINT_CAPACITY);
        // Writing into a `String` fails only if a `Display` does, which
        // `Segment`'s parameters (strings, identifiers) do not.
        let _ = formatted.write_fmt(path);
        let last = &self.shared.last_endpoint;
        if let Some((known, url)) = &*last.lock().unwrap_or_else(|e| e.into_inner())
            && *known == formatted
        {
            return url.clone();
        }
        let url = self.shared.url_of(&formatted);
        *last.lock().unwrap_or_else(|e| e.into_inner()) = Some((formatted, url.clone()));
        url
    }
}

impl Shared {
    /// The base URL with `path` after its own path, parsed.
    fn url_of(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        // A base without a path of its own has `/`, which the normalised
        // base URL progenitor formats with does not end with.
        match self.base.path() {
            "/" => url.set_path(path),
            own => url.set_path(&format!("{own}{path}")),
        }
        url
    }
}

/// Room for a path of the Atlas API (about 70 bytes for the create) and a
/// base path, so that it is allocated once.
const ENDPOINT_CAPACITY: usize = 128;

/// What every clone of one client shares.
pub(crate) struct Shared {
    /// The base URL, normalised (without a trailing `/`) and parsed once:
    /// every request's URL is built on it ([`ClientState::endpoint`]).
    pub base: Url,
    /// The path of the last URL [`ClientState::endpoint`] built, and the URL.
    last_endpoint: Mutex<Option<(String, Url)>>,
    pub sender: Sender,
    pub auth: Auth,
    /// The client-wide pinned version, if any.
    pub api_version: Option<String>,
    /// The time each call may take as a whole, unless its options say.
    pub call_timeout: Duration,
    /// Where the credential came from when an Atlas CLI profile gave it
    /// (``profile `NAME` of PATH``), to name when it is refused.
    pub credential_origin: Option<String>,
    /// `(operation, version)` pairs already reported deprecated.
    warned: Mutex<HashSet<(&'static str, &'static str)>>,
    /// The project of the first call whose project id was valid: checking
    /// an id against the spec's pattern costs more than comparing it with
    /// this one, which most calls of a client name again.
    project: OnceLock<CreateStreamConnectionGroupId>,
}

impl Shared {
    pub fn new(base: Url, sender: Sender, auth: Auth, api_version: Option<String>) -> Self {
        Self {
            base,
            last_endpoint: Mutex::new(None),
            sender,
            auth,
            api_version,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            credential_origin: None,
            warned: Mutex::new(HashSet::new()),
            project: OnceLock::new(),
        }
    }

    /// `error`, a credential refused, naming the Atlas CLI profile that
    /// gave the credential (and what to do about an access token, which
    /// expires); any other error as it is.
    pub fn with_credential_origin(&self, error: Error) -> Error {
        let (response, origin) = match (error, &self.credential_origin) {
            (Error::Authentication(response), Some(origin)) => (response, origin),
            (error, _) => return error,
        };
        let ours = match self.auth {
            Auth::AccessToken(_) => format!(
                "the access token of the Atlas CLI's {origin}; it may have expired or been \
                 revoked: `atlas auth login` gets a new one"
            ),
            _ => format!("the credential of the Atlas CLI's {origin}"),
        };
        let note = match response.note() {
            Some(theirs) => format!("{theirs}; {ours}"),
            None => ours,
        };
        Error::Authentication(Box::new(response.with_note(note)))
    }

    /// `group_id` as checked already, when it is the remembered project.
    pub fn project(&self, group_id: &str) -> Option<&CreateStreamConnectionGroupId> {
        self.project
            .get()
            .filter(|known| known.as_str() == group_id)
    }

    /// `group_id` checked against the spec's pattern (remembered if it is
    /// the first valid one), or why it is no project id.
    pub fn remember_project(&self, group_id: &str) -> Result<CreateStreamConnectionGroupId, Error> {
        let checked: CreateStreamConnectionGroupId = group_id
            .parse()
            .map_err(|e| Error::invalid("groupId", format!("`{group_id}`: {e}")))?;
        let _ = self.project.set(checked.clone());
        Ok(checked)
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("auth", &self.auth)
            .field("api_version", &self.api_version)
            .field("user_agent", &self.sender.user_agent)
            .field("timeout", &self.sender.timeout)
            .field("call_timeout", &self.call_timeout)
            .field("retry", &self.sender.retry)
            .finish_non_exhaustive()
    }
}

// Named once: a name given as text is parsed at each look-up, and these
// are looked up in every answer.
const DEPRECATION: HeaderName = HeaderName::from_static("deprecation");
const SUNSET: HeaderName = HeaderName::from_static("sunset");

/// How much of a `Deprecation` or `Sunset` value is logged (an HTTP date is
/// 29 characters).
const LOGGED_HEADER_CHARS: usize = 64;

impl Shared {
    /// One `tracing` warning per client, operation and version when Atlas says
    /// the version is deprecated or will be withdrawn.
    pub fn report_deprecation(
        &self,
        operation: &'static str,
        version: &'static str,
        headers: &HeaderMap,
    ) {
        // Logged, so cut short: a header may be hundreds of kilobytes.
        let header = |name: &HeaderName| {
            let value = headers.get(name).and_then(|v| v.to_str().ok())?;
            Some(value.get(..LOGGED_HEADER_CHARS).unwrap_or(value))
        };
        let (deprecation, sunset) = (header(&DEPRECATION), header(&SUNSET));
        if deprecation.is_none() && sunset.is_none() {
            return;
        }
        let first = self
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
}
