//! [`Client`]: the typed entry point over the generated client, and
//! [`CallOptions`] for one call.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use progenitor_client::ResponseValue;

use reqwest::header::HeaderValue;

use crate::auth::Auth;
use crate::call::{CallPlan, run};
use tracing::Instrument;

use crate::config::{
    ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT, DEFAULT_TOKEN_REFRESH_MARGIN, check_transport, is_loopback,
    normalise_base_url, user_agent,
};
use crate::connections::check_segment;
use crate::error::Error;
use crate::generated;
use crate::response::ApiResponse;
use crate::send::Sender;
use crate::state::{ClientState, Shared};
use crate::types::StreamsConnection;
use crate::versions::{OperationVersions, operation_versions, versions_of};

/// A client for the Atlas Administration API's stream connections.
///
/// Cheap to clone; clones share the connection pool, the service-account
/// token and the Digest challenge. `Debug` shows the kind of credential,
/// never the credential.
#[derive(Clone)]
pub struct Client {
    inner: generated::Client,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url())
            .field("state", self.shared())
            .finish()
    }
}

/// Settings of one call that override the client's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallOptions {
    /// Pins the API version of this call (see
    /// [`ClientBuilder::api_version`]).
    pub api_version: Option<String>,
    /// Asks Atlas to wrap the response in an envelope (`envelope=true`). The
    /// client unwraps it, so the result is the same.
    pub envelope: bool,
    /// Asks Atlas for indented JSON (`pretty=true`).
    pub pretty: bool,
    /// The time this call may take as a whole, instead of the client's
    /// (see [`ClientBuilder::call_timeout`]).
    pub call_timeout: Option<Duration>,
}

impl CallOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }
    /// Pins the API version of this call.
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }
    /// Sets `envelope`.
    pub fn envelope(mut self, envelope: bool) -> Self {
        self.envelope = envelope;
        self
    }
    /// Bounds this call as a whole by `timeout` instead of the client's
    /// call timeout (see [`ClientBuilder::call_timeout`]).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    /// Sets `pretty`.
    pub fn pretty(mut self, pretty: bool) -> Self {
        self.pretty = pretty;
        self
    }
}

impl Client {
    /// A builder with documented defaults; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from the environment: see
    /// [`ClientBuilder::from_env_with`] for the variables and the Atlas
    /// CLI's profile, read when they hold no credential.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when there is no credential (neither in the
    /// variables nor in an Atlas CLI profile), when a variable or the
    /// profile holds something unusable (named, never shown), or when
    /// [`ClientBuilder::build`] refuses the result.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// The base URL requests go to (normalised, without a trailing `/`).
    pub fn base_url(&self) -> &str {
        progenitor_client::ClientInfo::baseurl(&self.inner)
    }

    /// The API versions of `operation` (`create_stream_connection` or the
    /// spec's `createStreamConnection`).
    pub fn versions(operation: &str) -> Option<&'static OperationVersions> {
        versions_of(operation)
    }

    /// Creates one connection in the instance `tenant_name` of project
    /// `group_id`, and returns it as Atlas stored it.
    ///
    /// `group_id` must be 24 lowercase hexadecimal digits; `tenant_name` is
    /// sent as one path segment, percent-encoded. Both are checked before any
    /// I/O.
    ///
    /// The call runs in a `tracing` span, `atlas.call`, with one
    /// `atlas.exchange` span under it per HTTP exchange (see the crate
    /// docs); it is bounded as a whole by the client's
    /// [`call_timeout`](ClientBuilder::call_timeout).
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidInput`], before any I/O: a `group_id` that is not a
    ///   project id, an empty `tenant_name` or one that cannot be one path
    ///   segment (`.`, `..`), a pinned version that resolves to nothing.
    /// - [`Error::Authentication`]: the credential was refused (by the
    ///   token endpoint, or with a `401` even to a fresh token or
    ///   challenge).
    /// - [`Error::RateLimited`], [`Error::Api`], [`Error::VersionGone`]:
    ///   Atlas answered with an error status (after the retries the client
    ///   makes for throttling); the body is kept, parsed when it is Atlas's.
    /// - [`Error::Transport`], [`Error::Timeout`], [`Error::TooLarge`],
    ///   [`Error::Decode`]: no usable answer. When Atlas had answered with
    ///   a success, [`Error::server_succeeded`] says so: the connection
    ///   exists, and creating it again would be refused (`409`).
    ///
    /// # Examples
    ///
    /// Against the embedded local Atlas (feature `local-atlas`), which
    /// answers as Atlas does:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use atlas_stream_connections::local_atlas::LocalAtlas;
    /// use atlas_stream_connections::{Client, Error, types};
    ///
    /// let atlas = LocalAtlas::start().await?;
    /// let (public, private) = atlas.api_key();
    /// let client = Client::builder()
    ///     .base_url(atlas.base_url())
    ///     .api_key(public, private.clone())
    ///     .build()?;
    /// let sample = types::StreamsSampleConnection {
    ///     name: Some("sample_stream_solar".into()),
    ///     ..Default::default()
    /// };
    /// let project = "32b6e34b3d91647abb20e7b8";
    /// let created = client
    ///     .create_stream_connection(project, "my-instance", &sample.clone().into())
    ///     .await?;
    /// assert_eq!(created.kind(), "Sample");
    ///
    /// // The same name again is refused, and says why.
    /// let again = client
    ///     .create_stream_connection(project, "my-instance", &sample.into())
    ///     .await;
    /// let Err(Error::Api(refused)) = again else { panic!("created twice") };
    /// assert_eq!(refused.status().as_u16(), 409);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create_stream_connection(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection: &StreamsConnection,
    ) -> Result<StreamsConnection, Error> {
        self.create_stream_connection_with(group_id, tenant_name, connection, &CallOptions::new())
            .await
            .map(ApiResponse::into_inner)
    }

    /// [`create_stream_connection`](Self::create_stream_connection) with
    /// per-call options, returning the response's status, headers and API
    /// version with the connection.
    ///
    /// # Errors
    ///
    /// Those of [`create_stream_connection`](Self::create_stream_connection);
    /// an `api_version` in `options` that resolves to nothing is an
    /// [`Error::InvalidInput`] before any I/O, and a
    /// [`call_timeout`](CallOptions::call_timeout) that passes an
    /// [`Error::Timeout`] whose
    /// [`call_timeout`](crate::TransportError::call_timeout) says so.
    pub async fn create_stream_connection_with(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection: &StreamsConnection,
        options: &CallOptions,
    ) -> Result<ApiResponse<StreamsConnection>, Error> {
        let parsed;
        let group_id = match self.shared().project(group_id) {
            Some(known) => known,
            None => {
                parsed = self.shared().remember_project(group_id)?;
                &parsed
            }
        };
        check_segment("tenantName", tenant_name)?;
        let plan = self.plan("create_stream_connection", options)?;
        let call = Box::pin(self.inner.create_stream_connection(
            group_id,
            tenant_name,
            options.envelope.then_some(true),
            options.pretty.then_some(true),
            connection,
        ));
        self.run_planned(plan, call).await
    }

    /// Sends a generated call in `version` of `operation`: the per-version
    /// methods the generator writes for versions whose bodies have their
    /// own schema (`create_stream_connection_preview`) come here. A version
    /// pinned in `options` must resolve to `version`; the client's own pin
    /// does not apply, since the method names its version.
    #[allow(
        dead_code,
        reason = "called by generated code only when the spec has such a version"
    )]
    pub(crate) async fn call_version<T, E>(
        &self,
        operation: &'static str,
        version: &'static str,
        options: &CallOptions,
        call: impl Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    ) -> Result<ApiResponse<T>, Error> {
        let versions = known_versions(operation)?;
        let target = versions
            .versions
            .iter()
            .find(|v| v.version == version)
            .ok_or_else(|| {
                Error::invalid(
                    "api_version",
                    format!("`{operation}` declares no version `{version}`"),
                )
            })?;
        if let Some(pin) = options.api_version.as_deref() {
            let pinned = versions
                .resolve_any(Some(pin))
                .map_err(|why| Error::invalid("api_version", why))?;
            if pinned.version != version {
                return Err(Error::invalid(
                    "api_version",
                    format!(
                        "`{pin}` resolves to version {} of `{operation}`, which `{}` does not \
                         send (it sends {version})",
                        pinned.version, target.method
                    ),
                ));
            }
        }
        let plan = CallPlan::new(versions, target, self.call_timeout(options));
        self.run_planned(plan, Box::pin(call)).await
    }

    /// The generated client under this one.
    pub(crate) fn generated(&self) -> &generated::Client {
        &self.inner
    }

    /// Runs `call` under `plan`. The generated call's future is kilobytes;
    /// boxed, it is moved as a pointer through the futures around it (each
    /// level would otherwise hold and copy it whole).
    pub(crate) async fn run_planned<T, E>(
        &self,
        plan: CallPlan,
        call: Pin<Box<impl Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>>>,
    ) -> Result<ApiResponse<T>, Error> {
        let span = tracing::info_span!(
            "atlas.call",
            operation = plan.operation.name,
            method = plan.operation.method,
            path = tracing::field::Empty,
            api_version = plan.version.version,
            status = tracing::field::Empty,
            error = tracing::field::Empty,
        );
        let (output, record) = run(plan, span.clone(), call).instrument(span.clone()).await;
        // The status recorded in the span is the call's own answer's, not
        // that of a token endpoint that refused before it was sent.
        let (outcome, status) = match output {
            Some(Ok(response)) => {
                let response = ApiResponse::new(
                    response.into_inner(),
                    record.status,
                    record.headers,
                    plan.version.version,
                )
                .with_throttled(record.throttled);
                let status = Some(response.status());
                (Ok(response), status)
            }
            Some(Err(error)) => {
                let limit = self.shared().sender.retry.max_response_bytes;
                let path = record.path.clone();
                let throttled = record.throttled;
                // Boxed: the error path's future would make every call's
                // larger (see `run_planned`).
                let error = Box::pin(record.into_error(error, limit))
                    .await
                    .with_throttled(throttled);
                let own = error.request().is_some_and(|(_, of)| of == path);
                let status = error.status().filter(|_| own);
                (Err(self.shared().with_credential_origin(error)), status)
            }
            None => {
                let (status, sent) = (record.status, record.sent);
                let error =
                    Error::call_timed_out(record.method, record.path, status, plan.timeout, sent)
                        .with_throttled(record.throttled);
                (Err(error), status)
            }
        };
        if let Some(status) = status {
            span.record("status", status.as_u16());
        }
        if let Err(error) = &outcome {
            span.record("error", tracing::field::display(error));
        }
        outcome
    }

    /// Revokes the service-account token this client holds, if any, and
    /// forgets it; the next call fetches a new one. An error for other kinds
    /// of credential.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] for a client that signs in with an API key
    /// or an access token; [`Error::Authentication`] (its note says the
    /// token was not revoked) when the revoke endpoint refuses, or
    /// [`Error::Transport`] or [`Error::Timeout`] when it does not answer.
    pub async fn revoke(&self) -> Result<(), Error> {
        let shared = self.shared();
        shared.auth.revoke(&shared.sender).await
    }

    /// What every clone of this client shares.
    fn shared(&self) -> &Shared {
        &progenitor_client::ClientInfo::inner(&self.inner).shared
    }

    pub(crate) fn plan(&self, operation: &str, options: &CallOptions) -> Result<CallPlan, Error> {
        let versions = known_versions(operation)?;
        let pin = options
            .api_version
            .as_deref()
            .or(self.shared().api_version.as_deref());
        let version = versions
            .resolve(pin)
            .map_err(|why| Error::invalid("api_version", why))?;
        Ok(CallPlan::new(versions, version, self.call_timeout(options)))
    }

    /// The time a call with `options` may take.
    fn call_timeout(&self, options: &CallOptions) -> Duration {
        options.call_timeout.unwrap_or(self.shared().call_timeout)
    }
}

/// The versions of `operation`, which the version table must know.
fn known_versions(operation: &str) -> Result<&'static OperationVersions, Error> {
    versions_of(operation).ok_or_else(|| {
        Error::invalid(
            "api_version",
            format!("no versions known for `{operation}`"),
        )
    })
}

impl ClientBuilder {
    /// Builds the client. No I/O is done: the first call signs in.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`], before any I/O, on an invalid base URL (or
    /// a plain `http` one for another host, see [`base_url`](Self::base_url)),
    /// a missing or second credential, an access token a header cannot
    /// carry, a zero [`max_response_bytes`](Self::max_response_bytes), a
    /// `User-Agent` suffix a header cannot carry, or a pinned version that
    /// resolves to nothing.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = normalise_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        // Before the credential is read: none may go out in clear.
        check_transport(&self, &base_url)?;
        let margin = self
            .token_refresh_margin
            .unwrap_or(DEFAULT_TOKEN_REFRESH_MARGIN);
        let auth = Auth::new(self.credential()?, margin, &base_url)?;
        self.check_pinned_version()?;
        let user_agent = self.user_agent_header()?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let http = self.reqwest_client(&base_url, timeout)?;
        let sender = Sender {
            http: http.clone(),
            user_agent,
            timeout,
            timeout_in_client: self.http.is_none(),
            retry: self.retry,
        };
        // (`normalise_base_url` parsed it already: this does not fail.)
        let base = reqwest::Url::parse(&base_url)
            .map_err(|e| Error::configuration(format!("base_url: {e}")))?;
        let mut shared = Shared::new(base, sender, auth, self.api_version);
        // Unset, room for three exchanges of the timeout given: a caller
        // who raised that would not have calls cut short by the default.
        shared.call_timeout = self
            .call_timeout
            .unwrap_or_else(|| DEFAULT_CALL_TIMEOUT.max(timeout.saturating_mul(3)));
        shared.credential_origin = self.credential_origin;
        let state = ClientState {
            shared: Arc::new(shared),
        };
        Ok(Client {
            inner: generated::Client::new_with_client(&base_url, http, state),
        })
    }

    /// A pinned version must resolve for every operation.
    fn check_pinned_version(&self) -> Result<(), Error> {
        let Some(pin) = &self.api_version else {
            return Ok(());
        };
        for operation in operation_versions() {
            operation
                .resolve(Some(pin))
                .map_err(|why| Error::configuration(format!("api_version: {why}")))?;
        }
        Ok(())
    }

    /// The crate's `User-Agent`, with the caller's suffix.
    fn user_agent_header(&self) -> Result<HeaderValue, Error> {
        let mut agent = user_agent();
        if let Some(suffix) = self.user_agent_suffix.as_deref().map(str::trim)
            && !suffix.is_empty()
        {
            agent = format!("{agent} {suffix}");
        }
        HeaderValue::from_str(&agent).map_err(|_| {
            Error::configuration("user_agent_suffix: holds characters a header cannot carry")
        })
    }

    /// The caller's HTTP client, else one that neither redirects nor, to
    /// this machine, goes through a proxy, and gives each request `timeout`.
    fn reqwest_client(&self, base_url: &str, timeout: Duration) -> Result<reqwest::Client, Error> {
        if let Some(http) = &self.http {
            return Ok(http.clone());
        }
        // Plain http is allowed to this machine because nothing else sees it;
        // an HTTP proxy from the environment (`HTTP_PROXY`, `ALL_PROXY`)
        // would, credentials and Kafka passwords included, so loopback is
        // reached directly.
        let direct = reqwest::Url::parse(base_url).is_ok_and(|url| is_loopback(&url));
        match direct {
            true => reqwest::Client::builder().no_proxy(),
            false => reqwest::Client::builder(),
        }
        .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
        .timeout(timeout)
        // Atlas does not redirect API calls; following a redirect
        // would send the body (Kafka passwords, a token to revoke)
        // to wherever it points. A 3xx comes back as `Error::Api`.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::configuration(format!("the HTTP client cannot be built: {e}")))
    }
}
