//! [`ClientBuilder`]: how a [`Client`](crate::Client) is configured, from
//! code, from the environment variables the Atlas CLI and the Terraform
//! provider read, or from the Atlas CLI's own profile
//! ([`from_env_with`](ClientBuilder::from_env_with) documents the order).

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::SecretString;
use crate::atlas_cli::{self, PROFILE_VARIABLE};
use crate::error::Error;
use crate::retry::RetryPolicy;

/// Base URL of Atlas, used unless another is configured.
pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com";
/// Time allowed to establish a connection, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one HTTP exchange, from sending the request to the end
/// of the response body, by default. It bounds each exchange, not the call:
/// a call may take a token request, a Digest challenge and retries, each
/// with this much time, and waits between retries bounded by
/// [`DEFAULT_MAX_RETRY_DELAY`](crate::DEFAULT_MAX_RETRY_DELAY).
/// [`DEFAULT_CALL_TIMEOUT`] bounds the whole.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed for a whole call, by default: every exchange it makes (a
/// token request, a Digest challenge, the request itself, retries) and the
/// waits between them, from the call's start to its answer. Three times
/// [`DEFAULT_TIMEOUT`], room for a token request, a challenge and the
/// request each taking all of theirs; with a longer
/// [`timeout`](ClientBuilder::timeout) and no call timeout set, three times
/// that instead.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(180);
/// How long before its expiry a service-account token is replaced, by
/// default. Atlas tokens live an hour; replacing them five minutes early
/// keeps a call from starting with a token that dies in flight, while
/// keeping well inside Atlas's limits (about 100 live tokens per service
/// account, 10 token requests a minute). For tokens that live less than
/// twice the margin, half their lifetime is used instead.
pub const DEFAULT_TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Largest response body a client reads, by default: 512 KiB; see
/// [`ClientBuilder::max_response_bytes`].
///
/// The answer of this crate's operation is one connection, a few kilobytes
/// (tens with a long list of Kafka settings or a certificate chain), and an
/// Atlas error body a few hundred bytes: 512 KiB is ample room for them. The
/// limit bounds what a broken or hostile server (or proxy) can cost a
/// client, and that is decoding as well as reading: a body decoded into
/// JSON values (an error body, a kind this version does not know, an
/// envelope) takes up to about 120 times its size: 16 MiB of `{"":0},`
/// took 1.5 GiB, of `0,` 272 MiB. At 512 KiB, reading holds at most
/// 512 KiB and decoding the worst body measured (one-member objects nested
/// eight deep) 61 MiB. Raise it only for a server you trust to send larger
/// answers.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 512 * 1024;

/// The `User-Agent` of every request this crate sends (API, token and
/// revoke alike): `atlas-stream-connections/<version> (<os>; <arch>)`,
/// followed by the suffix given to [`ClientBuilder::user_agent_suffix`].
pub fn user_agent() -> String {
    format!(
        "{}/{} ({}; {})",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The environment variables [`ClientBuilder::from_env`] reads credentials
/// from, named as the Atlas CLI and the Terraform provider name them.
pub const CREDENTIAL_VARIABLES: [&str; 7] = [
    "MONGODB_ATLAS_CLIENT_ID",
    "MONGODB_ATLAS_CLIENT_SECRET",
    "MONGODB_ATLAS_PUBLIC_API_KEY",
    "MONGODB_ATLAS_PRIVATE_API_KEY",
    "MONGODB_ATLAS_PUBLIC_KEY",
    "MONGODB_ATLAS_PRIVATE_KEY",
    "MONGODB_ATLAS_ACCESS_TOKEN",
];

/// The environment variables [`ClientBuilder::from_env`] reads the base URL
/// from.
pub const BASE_URL_VARIABLES: [&str; 2] =
    ["MONGODB_ATLAS_BASE_URL", "MONGODB_ATLAS_OPS_MANAGER_URL"];

/// The environment variable that lets [`ClientBuilder::from_env`] accept a
/// plain `http` base URL for a host other than this machine, as
/// [`ClientBuilder::allow_insecure_http`] does: `true` or `false`. This
/// crate's own; the Atlas CLI does not read it.
pub const ALLOW_INSECURE_HTTP_VARIABLE: &str = "MONGODB_ATLAS_ALLOW_INSECURE_HTTP";

/// How a [`Sender`](crate::send::Sender) retries and how much it reads: set on the builder.
///
/// (One value because the client builds its `Sender` from one field of the
/// builder; the limits ride with the retry rule.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub retry: RetryPolicy,
    /// Largest body of an API answer, success or error, enveloped or not.
    pub max_response_bytes: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// How the client proves who it is. Exactly one is configured per client.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credentials {
    /// A service account: OAuth 2.0 client credentials, exchanged for
    /// short-lived access tokens at `{base}/api/oauth/token`.
    ServiceAccount {
        /// The client id (`mdb_sa_id_...`).
        client_id: String,
        /// The client secret (`mdb_sa_sk_...`).
        client_secret: SecretString,
    },
    /// A programmatic API key, sent with HTTP Digest.
    ApiKey {
        /// The public key (the Digest user name).
        public_key: String,
        /// The private key (the Digest password).
        private_key: SecretString,
    },
    /// An access token obtained elsewhere, sent as a bearer token as is.
    AccessToken(SecretString),
}

impl Credentials {
    /// What kind of credential this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::ServiceAccount { .. } => "service account",
            Credentials::ApiKey { .. } => "API key",
            Credentials::AccessToken(_) => "access token",
        }
    }
}

/// Configuration of a [`Client`](crate::Client). Every setting has a
/// default except the credential, of which exactly one must be given.
///
/// | setting | default |
/// |---|---|
/// | base URL | [`DEFAULT_BASE_URL`] |
/// | connect timeout | [`DEFAULT_CONNECT_TIMEOUT`] |
/// | timeout, of each exchange | [`DEFAULT_TIMEOUT`] |
/// | call timeout, of each call as a whole | [`DEFAULT_CALL_TIMEOUT`], or three times the timeout if that is longer |
/// | `User-Agent` | [`user_agent()`], no suffix |
/// | API version | the newest each operation declares |
/// | retries on 429 / 503 with `Retry-After` (token and revoke requests and Digest probes: also any 5xx and a failed connection) | [`DEFAULT_MAX_RETRIES`](crate::DEFAULT_MAX_RETRIES), backoff from [`DEFAULT_RETRY_BASE_DELAY`](crate::DEFAULT_RETRY_BASE_DELAY) up to [`DEFAULT_MAX_RETRY_DELAY`](crate::DEFAULT_MAX_RETRY_DELAY) |
/// | token refresh margin | [`DEFAULT_TOKEN_REFRESH_MARGIN`] |
/// | largest response body read | [`DEFAULT_MAX_RESPONSE_BYTES`] (512 KiB) |
/// | largest token-endpoint answer read | 64 KiB (fixed) |
/// | largest body read only to be dropped (a `401` or `429` before another try) | 64 KiB (fixed); a larger one closes its connection instead |
/// | largest `WWW-Authenticate` read (all values together) | 16 KiB (fixed) |
/// | plain `http` base URL | only for `localhost`, `127.0.0.0/8` and `::1`, unless [`allow_insecure_http`](Self::allow_insecure_http) |
/// | HTTP client | a new `reqwest::Client` (rustls) |
///
/// `Debug` shows the kind of credential, never the credential, and the base
/// URL without user information or query.
#[derive(Clone, Default)]
pub struct ClientBuilder {
    pub(crate) base_url: Option<String>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) user_agent_suffix: Option<String>,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) credentials: Vec<Credentials>,
    pub(crate) api_version: Option<String>,
    /// The retry rule and the read limits, which the client's sender takes
    /// as one.
    pub(crate) retry: Policy,
    pub(crate) token_refresh_margin: Option<Duration>,
    pub(crate) allow_insecure_http: bool,
    /// Where the credential was found, when an Atlas CLI profile gave it
    /// (``profile `NAME` of PATH``): for messages, never a secret.
    pub(crate) credential_origin: Option<String>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url.as_deref().map(shown_url))
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("call_timeout", &self.call_timeout)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("custom_http_client", &self.http.is_some())
            .field("credentials", &self.credentials)
            .field("api_version", &self.api_version)
            .field("retry", &self.retry.retry)
            .field("max_response_bytes", &self.retry.max_response_bytes)
            .field("token_refresh_margin", &self.token_refresh_margin)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("credential_origin", &self.credential_origin)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder with every default and no credential.
    pub fn new() -> Self {
        Self::default()
    }

    /// The API's base URL (default [`DEFAULT_BASE_URL`]). The token and
    /// revoke URLs derive from it. A trailing `/` is ignored.
    ///
    /// `https`, or plain `http` to this machine only (`localhost`,
    /// `127.0.0.0/8`, `::1`): over `http` to another host, the bearer
    /// token, the service account's secret and the connection's own
    /// secrets (a Kafka password) would travel in clear, so
    /// [`build`](Self::build) refuses it unless
    /// [`allow_insecure_http`](Self::allow_insecure_http) says otherwise.
    /// User information (`user:password@`), a query and a fragment are
    /// refused.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Accepts a plain `http` base URL for any host (default `false`: only
    /// for this machine). Every request then carries its credential, and
    /// every create call its connection's secrets, readable by anyone on the
    /// path: meant for a private network you trust (an Ops Manager behind
    /// its own TLS proxy, say). `MONGODB_ATLAS_ALLOW_INSECURE_HTTP=true`
    /// does the same for [`from_env`](Self::from_env).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The largest response body the client reads, in bytes (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`], 512 KiB): the answer of a call,
    /// success or error, enveloped or not. A larger body (announced by
    /// `Content-Length` or found so while reading) ends the call with
    /// [`Error::TooLarge`] without reading on; with a success status the
    /// server has acted on the request ([`Error::server_succeeded`]). Must
    /// not be zero.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.retry.max_response_bytes = limit;
        self
    }

    /// Time allowed to connect (default [`DEFAULT_CONNECT_TIMEOUT`]). Not
    /// applied to a client given to [`http_client`](Self::http_client),
    /// which keeps its own.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Time allowed for each HTTP exchange (default [`DEFAULT_TIMEOUT`]),
    /// from sending its request to the end of its answer's body. A call
    /// may make several exchanges: [`call_timeout`](Self::call_timeout)
    /// bounds them together.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Time allowed for each call as a whole (default
    /// [`DEFAULT_CALL_TIMEOUT`], or three times [`timeout`](Self::timeout)
    /// if that is longer): its token request, Digest challenge, request and
    /// retries, and the waits between them. A call that runs out of it ends
    /// with an [`Error::Timeout`] whose
    /// [`call_timeout`](crate::TransportError::call_timeout) says so (one
    /// exchange running out of [`timeout`](Self::timeout) is an
    /// `Error::Timeout` too, without it), keeping the status when a success
    /// had begun to arrive ([`Error::server_succeeded`]). A retry of the
    /// request itself whose wait would outlast it is not waited for: the
    /// call ends with the answer that asked for the wait (an
    /// [`Error::RateLimited`], say). (A token request or Digest challenge,
    /// which other calls may be waiting on too, is retried as usual: the
    /// call ends with the timeout.) A century or more, `Duration::MAX`
    /// say, leaves calls unbounded but for their exchanges' timeouts.
    /// [`CallOptions::call_timeout`](crate::CallOptions::call_timeout) sets
    /// it for one call.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    /// Text appended, after a space, to the `User-Agent`
    /// ([`user_agent()`]), to name your application.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// Sends requests through this `reqwest::Client` (to share a connection
    /// pool, or set proxies). Its own default headers stay; `User-Agent` and
    /// the timeout are set on each request. Build it with
    /// `redirect(reqwest::redirect::Policy::none())`, as the default client
    /// is: reqwest follows `307`/`308` with the body, and the body may hold
    /// secrets.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Authenticates as a service account.
    pub fn service_account(
        self,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        self.credentials(Credentials::ServiceAccount {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        })
    }

    /// Authenticates with a programmatic API key (HTTP Digest).
    pub fn api_key(
        self,
        public_key: impl Into<String>,
        private_key: impl Into<SecretString>,
    ) -> Self {
        self.credentials(Credentials::ApiKey {
            public_key: public_key.into(),
            private_key: private_key.into(),
        })
    }

    /// Authenticates with an access token obtained elsewhere.
    pub fn access_token(self, token: impl Into<SecretString>) -> Self {
        self.credentials(Credentials::AccessToken(token.into()))
    }

    /// Sets the credential. Giving more than one is an error at
    /// [`build`](Self::build).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials.push(credentials);
        self
    }

    /// Pins the API version, as a date `YYYY-MM-DD` (or `preview`). Each
    /// operation sends the newest version it declares on or before that
    /// date; a date before every version of an operation, or a version whose
    /// bodies have another schema than the operation's method takes, is an
    /// error at [`build`](Self::build). Default: each operation's newest
    /// version.
    ///
    /// A version with bodies of its own schema is sent by a method of its
    /// own (`create_stream_connection_preview`, see
    /// [`ApiVersion::method`](crate::ApiVersion::method)); such a method
    /// names its version, so this pin does not apply to it.
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Retries after the first attempt for `429`, and for `503` with
    /// `Retry-After` (default [`DEFAULT_MAX_RETRIES`](crate::DEFAULT_MAX_RETRIES));
    /// `0` turns retrying off. Requests that create nothing (token and
    /// revoke requests, Digest probes) are also retried after any `5xx` and
    /// a failed connection, as often.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.retry.max_retries = retries;
        self
    }

    /// The first backoff step (doubled at each retry, half of it jittered)
    /// and the longest wait before a retry. A `Retry-After` longer than
    /// `max_delay` ends the call with [`Error::RateLimited`].
    pub fn retry_backoff(mut self, base_delay: Duration, max_delay: Duration) -> Self {
        self.retry.retry.base_delay = base_delay;
        self.retry.retry.max_delay = max_delay;
        self
    }

    /// How long before expiry a service-account token is replaced (default
    /// [`DEFAULT_TOKEN_REFRESH_MARGIN`]).
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.token_refresh_margin = Some(margin);
        self
    }

    /// A builder configured from the process environment; see
    /// [`from_env_with`](Self::from_env_with).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`]: a variable that is not UTF-8, and those of
    /// [`from_env_with`](Self::from_env_with).
    pub fn from_env() -> Result<Self, Error> {
        if let Some(name) = CREDENTIAL_VARIABLES
            .iter()
            .chain(&BASE_URL_VARIABLES)
            .chain([&ALLOW_INSECURE_HTTP_VARIABLE, &PROFILE_VARIABLE])
            .find(|name| std::env::var_os(name).is_some_and(|v| v.to_str().is_none()))
        {
            return Err(Error::configuration(format!(
                "{name} is set but is not valid UTF-8"
            )));
        }
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// A builder configured from variables looked up with `lookup`, and,
    /// when they hold no credential, from the Atlas CLI's profile.
    ///
    /// # Discovery order
    ///
    /// 1. **Credential variables**, under the names the Atlas CLI and the
    ///    Terraform provider use ([`CREDENTIAL_VARIABLES`]):
    ///    - `MONGODB_ATLAS_CLIENT_ID` and `MONGODB_ATLAS_CLIENT_SECRET`: a
    ///      service account;
    ///    - `MONGODB_ATLAS_PUBLIC_API_KEY` and `MONGODB_ATLAS_PRIVATE_API_KEY`
    ///      (or `MONGODB_ATLAS_PUBLIC_KEY` and `MONGODB_ATLAS_PRIVATE_KEY`):
    ///      an API key;
    ///    - `MONGODB_ATLAS_ACCESS_TOKEN`: an access token.
    ///
    ///    An empty variable counts as unset. Half a pair, two kinds at once,
    ///    or a name and its alias with different values is an error that
    ///    names the variables at fault. When one credential is set here, the
    ///    Atlas CLI's file is not read at all.
    /// 2. **The Atlas CLI's profile**, when no credential variable is set:
    ///    the profile `MONGODB_ATLAS_PROFILE` names (the variable of the
    ///    CLI's `--profile`), else the file's only profile, else `default`,
    ///    as the CLI itself chooses; read from its `config.toml` in
    ///    `$XDG_CONFIG_HOME/atlascli/` (else `$HOME/.config/atlascli/`) on
    ///    Linux, `$HOME/Library/Application Support/atlascli/` on macOS,
    ///    `%AppData%\atlascli\` on Windows, the variables read through
    ///    `lookup` too. The profile gives the credential (its `auth_type`'s
    ///    kind, else a service account, a login's `access_token` or an API
    ///    key, in the CLI's order) and the base URL (`ops_manager_url`, or
    ///    Atlas for Government's for `service = "cloudgov"`). What the file
    ///    holds is never shown; errors name the file, the line, the profile
    ///    and the key. Recent Atlas CLI versions keep the secrets in the
    ///    system keyring where there is one: this crate does not read it,
    ///    and says so. The access token of an `atlas auth login` lives
    ///    hours: an expired one is refused here, naming the profile and
    ///    `atlas auth login`; one that expires while the client is in use is
    ///    answered `401` ([`Error::Authentication`]). Tokens are not renewed:
    ///    the CLI's refresh endpoint is not a public API. See
    ///    [`from_atlas_cli_profile`](Self::from_atlas_cli_profile) to name
    ///    the profile in code.
    /// 3. Neither: an error naming the variables and the file looked for.
    ///
    /// Then, whichever gave the credential:
    ///
    /// - `MONGODB_ATLAS_BASE_URL` (or `MONGODB_ATLAS_OPS_MANAGER_URL`): the
    ///   base URL, over the profile's;
    /// - `MONGODB_ATLAS_ALLOW_INSECURE_HTTP` (this crate's own): `true`
    ///   accepts a plain `http` base URL for a host other than this machine
    ///   ([`allow_insecure_http`](Self::allow_insecure_http)); `false` or
    ///   unset refuses it. An environment that sets the base URL can point
    ///   the client anywhere already, so the variable adds no reach; it
    ///   exists for programs configured only through the environment (the
    ///   `streams` command, against an Ops Manager on a private network),
    ///   and being a second, explicit setting, a mistyped `http://` in the
    ///   URL alone never sends credentials in clear.
    ///
    /// Settings made on the builder afterwards override all of these.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`], naming the variable, file, line, profile or
    /// key at fault and never a value: no credential anywhere; half of a
    /// pair, or two kinds of credential, in the variables; a base URL or
    /// `MONGODB_ATLAS_ALLOW_INSECURE_HTTP` that cannot be read; a profile
    /// file that cannot be read or parsed, a profile that is not there or
    /// gives no usable credential, an expired access token.
    ///
    /// # Examples
    ///
    /// ```
    /// use atlas_stream_connections::ClientBuilder;
    ///
    /// let vars = [
    ///     ("MONGODB_ATLAS_CLIENT_ID", "mdb_sa_id_0123"),
    ///     ("MONGODB_ATLAS_CLIENT_SECRET", "mdb_sa_sk_never_shown"),
    /// ];
    /// let lookup = |name: &str| {
    ///     vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    /// };
    /// let builder = ClientBuilder::from_env_with(lookup)?;
    /// assert!(!format!("{builder:?}").contains("never_shown"));
    /// let client = builder.build()?;
    /// assert_eq!(client.base_url(), "https://cloud.mongodb.com");
    /// # Ok::<(), atlas_stream_connections::Error>(())
    /// ```
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let env = Environment(&lookup);
        let mut builder = match env.credential()? {
            Some(credential) => Self::new().credentials(credential),
            None => Self::from_profile(&lookup, None)?,
        };
        if let Some((_, url)) =
            env.aliased("MONGODB_ATLAS_BASE_URL", "MONGODB_ATLAS_OPS_MANAGER_URL")?
        {
            builder.base_url = Some(url);
        }
        if let Some(allow) = env.allow_insecure_http()? {
            builder.allow_insecure_http = allow;
        }
        Ok(builder)
    }

    /// A builder configured from the Atlas CLI's profile `profile` (or,
    /// given `None`, the one the CLI would use: `MONGODB_ATLAS_PROFILE`,
    /// else the file's only profile, else `default`), in the CLI's
    /// `config.toml` where the CLI keeps it: step 2 of
    /// [`from_env_with`](Self::from_env_with)'s discovery, alone. No
    /// variable but those locating the file and naming the profile is read.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when there is no file, or as for
    /// [`from_env_with`](Self::from_env_with)'s profile step.
    pub fn from_atlas_cli_profile(profile: Option<&str>) -> Result<Self, Error> {
        let lookup = |name: &str| std::env::var(name).ok();
        Self::from_profile(&lookup, profile)
    }

    /// A builder configured from profile `profile` of the Atlas CLI
    /// configuration at `path` (`None`: `MONGODB_ATLAS_PROFILE`, else the
    /// file's only profile, else `default`).
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`]: no file at `path`, or as for
    /// [`from_env_with`](Self::from_env_with)'s profile step.
    pub fn from_atlas_cli_file(
        path: impl AsRef<Path>,
        profile: Option<&str>,
    ) -> Result<Self, Error> {
        let path = path.as_ref();
        let named = profile
            .map(str::to_owned)
            .or_else(|| std::env::var(PROFILE_VARIABLE).ok());
        atlas_cli::read_profile(path, named.as_deref())?
            .map(Self::with_profile)
            .ok_or_else(|| {
                Error::configuration(format!(
                    "there is no Atlas CLI configuration at {}",
                    path.display()
                ))
            })
    }

    /// Step 2 of the discovery: the profile `named`, else the one
    /// `PROFILE_VARIABLE` names, in the file the variables locate.
    fn from_profile(
        lookup: &dyn Fn(&str) -> Option<String>,
        named: Option<&str>,
    ) -> Result<Self, Error> {
        let variable = lookup(PROFILE_VARIABLE).filter(|v| !v.is_empty());
        let named = named.or(variable.as_deref());
        let path = atlas_cli::config_path(lookup);
        let profile = match &path {
            Some(path) => atlas_cli::read_profile(path, named)?,
            None => None,
        };
        profile.map(Self::with_profile).ok_or_else(|| {
            let looked = match &path {
                Some(path) => format!("no Atlas CLI configuration at {}", path.display()),
                None => "no Atlas CLI configuration located (HOME, XDG_CONFIG_HOME or \
                         AppData unset)"
                    .to_owned(),
            };
            Error::configuration(format!(
                "no credentials in the environment: set MONGODB_ATLAS_CLIENT_ID and \
                 MONGODB_ATLAS_CLIENT_SECRET (service account), MONGODB_ATLAS_PUBLIC_API_KEY \
                 and MONGODB_ATLAS_PRIVATE_API_KEY (API key), or MONGODB_ATLAS_ACCESS_TOKEN, \
                 or run `atlas auth login`; {looked}"
            ))
        })
    }

    /// Where the credential comes from when an Atlas CLI profile gave it
    /// (``profile `NAME` of PATH``), else `None`. Never a secret: for
    /// messages such as "signing in with ...".
    pub fn credential_origin(&self) -> Option<&str> {
        self.credential_origin.as_deref()
    }

    /// A builder with the profile's credential and base URL.
    fn with_profile(profile: atlas_cli::Profile) -> Self {
        let mut builder = Self::new().credentials(profile.credential);
        builder.base_url = profile.base_url;
        builder.credential_origin = Some(profile.origin);
        builder
    }
}

impl ClientBuilder {
    /// The one credential given; none, or several, is an error.
    pub(crate) fn credential(&self) -> Result<Credentials, Error> {
        match self.credentials.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::configuration(
                "no credential: give a service account, an API key or an access token \
                 (or use Client::from_env)",
            )),
            several => {
                let kinds: Vec<&str> = several.iter().map(Credentials::kind).collect();
                Err(Error::configuration(format!(
                    "{} credentials given ({}); give exactly one",
                    kinds.len(),
                    kinds.join(", ")
                )))
            }
        }
    }
}

/// A variable that is set and not empty: its name and its value.
type Variable = (&'static str, String);

/// The variables [`ClientBuilder::from_env_with`] reads, through its lookup.
struct Environment<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Environment<'_> {
    /// `name`, unless unset or empty.
    fn get(&self, name: &'static str) -> Option<Variable> {
        self.0(name).filter(|v| !v.is_empty()).map(|v| (name, v))
    }

    /// `name` or its `alias`; both set to different values is an error.
    fn aliased(&self, name: &'static str, alias: &'static str) -> Result<Option<Variable>, Error> {
        match (self.get(name), self.get(alias)) {
            (Some((n, a)), Some((m, b))) if a != b => Err(Error::configuration(format!(
                "{n} and {m} are both set, to different values; unset one"
            ))),
            (Some(v), _) | (None, Some(v)) => Ok(Some(v)),
            (None, None) => Ok(None),
        }
    }

    /// Both halves of a pair, or neither; half a pair is an error naming
    /// the half that is set and the one that is missing.
    fn pair(
        first: Option<Variable>,
        second: Option<Variable>,
        first_name: &str,
        second_name: &str,
    ) -> Result<Option<(Variable, Variable)>, Error> {
        match (first, second) {
            (Some(a), Some(b)) => Ok(Some((a, b))),
            (Some((set, _)), None) => Err(Error::configuration(format!(
                "{set} is set but {second_name} is not; set both or neither"
            ))),
            (None, Some((set, _))) => Err(Error::configuration(format!(
                "{set} is set but {first_name} is not; set both or neither"
            ))),
            (None, None) => Ok(None),
        }
    }

    /// Every credential set, each with the names of its variables.
    fn credentials(&self) -> Result<Vec<(String, Credentials)>, Error> {
        let service_account = Self::pair(
            self.get("MONGODB_ATLAS_CLIENT_ID"),
            self.get("MONGODB_ATLAS_CLIENT_SECRET"),
            "MONGODB_ATLAS_CLIENT_ID",
            "MONGODB_ATLAS_CLIENT_SECRET",
        )?;
        let api_key = Self::pair(
            self.aliased("MONGODB_ATLAS_PUBLIC_API_KEY", "MONGODB_ATLAS_PUBLIC_KEY")?,
            self.aliased("MONGODB_ATLAS_PRIVATE_API_KEY", "MONGODB_ATLAS_PRIVATE_KEY")?,
            "MONGODB_ATLAS_PUBLIC_API_KEY",
            "MONGODB_ATLAS_PRIVATE_API_KEY",
        )?;
        let mut found = Vec::new();
        if let Some(((id_name, id), (secret_name, secret))) = service_account {
            found.push((
                format!("{id_name}/{secret_name}"),
                Credentials::ServiceAccount {
                    client_id: id,
                    client_secret: secret.into(),
                },
            ));
        }
        if let Some(((public_name, public), (private_name, private))) = api_key {
            found.push((
                format!("{public_name}/{private_name}"),
                Credentials::ApiKey {
                    public_key: public,
                    private_key: private.into(),
                },
            ));
        }
        if let Some((name, token)) = self.get("MONGODB_ATLAS_ACCESS_TOKEN") {
            found.push((name.to_owned(), Credentials::AccessToken(token.into())));
        }
        Ok(found)
    }

    /// The one credential set, if any; more than one kind is an error.
    fn credential(&self) -> Result<Option<Credentials>, Error> {
        let mut found = self.credentials()?;
        if found.len() > 1 {
            let names: Vec<String> = found
                .iter()
                .map(|(names, c)| format!("{} ({names})", c.kind()))
                .collect();
            return Err(Error::configuration(format!(
                "more than one kind of credential in the environment: {}; keep exactly one",
                names.join(", ")
            )));
        }
        Ok(found.pop().map(|(_, c)| c))
    }

    /// [`ALLOW_INSECURE_HTTP_VARIABLE`]: `true` or `false`, when set.
    fn allow_insecure_http(&self) -> Result<Option<bool>, Error> {
        let Some((name, value)) = self.get(ALLOW_INSECURE_HTTP_VARIABLE) else {
            return Ok(None);
        };
        match value.trim() {
            v if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            v if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            _ => Err(Error::configuration(format!(
                "{name} must be `true` or `false`"
            ))),
        }
    }
}

/// The base URL without a trailing `/`; only `http` and `https`, with no
/// query, fragment or embedded credentials. Errors show the URL without
/// user information or query ([`shown_url`]).
pub(crate) fn normalise_base_url(base_url: &str) -> Result<String, Error> {
    let shown = shown_url(base_url);
    let invalid = |why: String| Error::invalid("base_url", format!("`{shown}`: {why}"));
    let url = reqwest::Url::parse(base_url.trim()).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("scheme must be http or https".into()));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        // Refused rather than stripped: credentials in the URL would go
        // unused (each client has its one credential) and a query would be
        // dropped by every request, so either is a mistake to report, and
        // neither may reach `Client`'s `Debug`.
        return Err(invalid(
            "must not carry a query, a fragment or credentials".into(),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A base URL as `Debug` and errors may show it: user information, query
/// and fragment replaced by `[REDACTED]`. Other text (not a URL, or one of
/// a scheme without an authority, where `alice:pw@host` is a scheme and a
/// path) is shown only if it holds none of `@`, `?`, `#`.
pub(crate) fn shown_url(raw: &str) -> String {
    const REDACTED: &str = "[REDACTED]";
    let parsed = reqwest::Url::parse(raw.trim()).ok();
    let Some(url) =
        parsed.filter(|url| matches!(url.scheme(), "http" | "https" | "ftp" | "ws" | "wss"))
    else {
        return match raw.contains(['@', '?', '#']) {
            true => "(not shown)".to_owned(),
            false => raw.to_owned(),
        };
    };
    let mut out = format!("{}://", url.scheme());
    if !url.username().is_empty() || url.password().is_some() {
        out += REDACTED;
        out.push('@');
    }
    if let Some(host) = url.host_str() {
        out += host;
    }
    if let Some(port) = url.port() {
        out += &format!(":{port}");
    }
    out += url.path();
    if url.query().is_some() {
        out.push('?');
        out += REDACTED;
    }
    if url.fragment().is_some() {
        out.push('#');
        out += REDACTED;
    }
    out
}

/// Whether `url`'s host is this machine: `localhost`, `127.0.0.0/8` or
/// `::1` (the names and addresses that never leave it).
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    // URL parsing has already written an IPv4 host in dotted decimal
    // (`127.1` and `0x7f.1` are `127.0.0.1`) and an IPv6 one in brackets.
    let Some(host) = url.host_str() else {
        return false;
    };
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|a| a.is_loopback());
    }
    match host.parse::<std::net::Ipv4Addr>() {
        Ok(address) => address.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// The checks of `builder` that need its normalised `base_url`, made when
/// the client is built: plain `http` only to this machine unless allowed,
/// and a non-zero read limit.
pub(crate) fn check_transport(builder: &ClientBuilder, base_url: &str) -> Result<(), Error> {
    if builder.retry.max_response_bytes == 0 {
        return Err(Error::configuration(
            "max_response_bytes is 0: no answer could be read",
        ));
    }
    let url = reqwest::Url::parse(base_url)
        .map_err(|e| Error::invalid("base_url", format!("`{}`: {e}", shown_url(base_url))))?;
    if url.scheme() == "http" && !is_loopback(&url) && !builder.allow_insecure_http {
        let kind = builder
            .credentials
            .first()
            .map_or("credential", Credentials::kind);
        return Err(Error::configuration(format!(
            "base_url `{}` is plain http to a host other than this machine: the {kind} \
             and the connections' secrets would travel in clear. Use https; plain http \
             is accepted for localhost, 127.0.0.0/8 and ::1, or for any host with \
             ClientBuilder::allow_insecure_http(true) or \
             {ALLOW_INSECURE_HTTP_VARIABLE}=true",
            shown_url(base_url)
        )));
    }
    Ok(())
}
