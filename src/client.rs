//! [`Client`]: the typed entry point over the generated client, and
//! [`CallOptions`] for one call.

use std::sync::Arc;

use progenitor_client::ResponseValue;

use reqwest::header::HeaderValue;

use crate::auth::Auth;
use crate::config::{
    ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, is_loopback,
    normalise_base_url, user_agent,
};
use crate::error::Error;
use crate::generated;
use crate::hooks::{CallPlan, ClientState, Shared, run};
use crate::response::ApiResponse;
use crate::send::Sender;
use crate::types::{CreateStreamConnectionGroupId, StreamsConnection};
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
            .field(
                "state",
                &progenitor_client::ClientInfo::inner(&self.inner).shared,
            )
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

    /// A client configured from the environment; see
    /// [`ClientBuilder::from_env_with`] for the variables.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    pub(crate) fn from_builder(builder: ClientBuilder) -> Result<Self, Error> {
        let base_url = normalise_base_url(builder.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let auth = Auth::from_builder(&builder, &base_url)?;
        if let Some(pin) = &builder.api_version {
            for operation in operation_versions() {
                operation
                    .resolve(Some(pin))
                    .map_err(|why| Error::configuration(format!("api_version: {why}")))?;
            }
        }
        let mut agent = user_agent();
        if let Some(suffix) = builder.user_agent_suffix.as_deref().map(str::trim)
            && !suffix.is_empty()
        {
            agent = format!("{agent} {suffix}");
        }
        let user_agent = HeaderValue::from_str(&agent).map_err(|_| {
            Error::configuration("user_agent_suffix: holds characters a header cannot carry")
        })?;
        // Plain http is allowed to this machine because nothing else sees it;
        // an HTTP proxy from the environment (`HTTP_PROXY`, `ALL_PROXY`)
        // would, credentials and Kafka passwords included, so loopback is
        // reached directly.
        let direct = reqwest::Url::parse(&base_url).is_ok_and(|url| is_loopback(&url));
        let http = match builder.http.clone() {
            Some(http) => http,
            None => match direct {
                true => reqwest::Client::builder().no_proxy(),
                false => reqwest::Client::builder(),
            }
            .connect_timeout(builder.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            // Atlas does not redirect API calls; following a redirect
            // would send the body (Kafka passwords, a token to revoke)
            // to wherever it points. A 3xx comes back as `Error::Api`.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::configuration(format!("the HTTP client cannot be built: {e}")))?,
        };
        let sender = Sender {
            http: http.clone(),
            user_agent,
            timeout: builder.timeout.unwrap_or(DEFAULT_TIMEOUT),
            retry: builder.retry,
        };
        let state = ClientState {
            shared: Arc::new(Shared::new(sender, auth, builder.api_version.clone())),
        };
        Ok(Self {
            inner: generated::Client::new_with_client(&base_url, http, state),
        })
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

    /// Creates one connection in the stream instance (workspace)
    /// `tenant_name` of project `group_id`, and returns it as Atlas stored it.
    ///
    /// `group_id` must be 24 lowercase hexadecimal digits; `tenant_name` is
    /// sent as one path segment, percent-encoded. Both are checked before any
    /// I/O.
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
    pub async fn create_stream_connection_with(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection: &StreamsConnection,
        options: &CallOptions,
    ) -> Result<ApiResponse<StreamsConnection>, Error> {
        let group_id: CreateStreamConnectionGroupId = group_id
            .parse()
            .map_err(|e| Error::invalid("groupId", format!("`{group_id}`: {e}")))?;
        if tenant_name.is_empty() {
            return Err(Error::invalid("tenantName", "must not be empty"));
        }
        if matches!(tenant_name, "." | "..") {
            // URL parsing would resolve them as dot segments and send the
            // request to another endpoint.
            return Err(Error::invalid(
                "tenantName",
                format!("`{tenant_name}` cannot be sent as a path segment"),
            ));
        }
        let plan = self.plan("create_stream_connection", options)?;
        let call = self.inner.create_stream_connection(
            &group_id,
            tenant_name,
            options.envelope.then_some(true),
            options.pretty.then_some(true),
            connection,
        );
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
        let versions = versions_of(operation).ok_or_else(|| {
            Error::invalid(
                "api_version",
                format!("no versions known for `{operation}`"),
            )
        })?;
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
        self.run_planned(CallPlan { version: target }, call).await
    }

    /// The generated client under this one.
    #[allow(
        dead_code,
        reason = "called by generated code only when the spec has such a version"
    )]
    pub(crate) fn generated(&self) -> &generated::Client {
        &self.inner
    }

    async fn run_planned<T, E>(
        &self,
        plan: CallPlan,
        call: impl Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    ) -> Result<ApiResponse<T>, Error> {
        match run(plan, call).await {
            (Ok(response), record) => Ok(ApiResponse::new(
                response.into_inner(),
                record.status,
                record.headers,
                plan.version.version,
            )),
            (Err(error), record) => Err(Error::from_generated(error, record)),
        }
    }

    /// Revokes the service-account token this client holds, if any, and
    /// forgets it; the next call fetches a new one. An error for other kinds
    /// of credential.
    pub async fn revoke(&self) -> Result<(), Error> {
        let shared = &progenitor_client::ClientInfo::inner(&self.inner).shared;
        shared.auth.revoke(&shared.sender).await
    }

    fn plan(&self, operation: &str, options: &CallOptions) -> Result<CallPlan, Error> {
        let shared = &progenitor_client::ClientInfo::inner(&self.inner).shared;
        let versions = versions_of(operation).ok_or_else(|| {
            Error::invalid(
                "api_version",
                format!("no versions known for `{operation}`"),
            )
        })?;
        let pin = options
            .api_version
            .as_deref()
            .or(shared.api_version.as_deref());
        let version = versions
            .resolve(pin)
            .map_err(|why| Error::invalid("api_version", why))?;
        Ok(CallPlan { version })
    }
}
