//! [`Client`]: the typed entry point over the generated client.

use std::time::Duration;

use crate::error::Error;
use crate::generated;
use crate::hooks::{ClientState, recorded};
use crate::types::{CreateStreamConnectionGroupId, StreamsConnection};

/// Connect timeout used by [`Client::new`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout used by [`Client::new`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// A client for the Atlas Administration API's stream connections.
#[derive(Debug, Clone)]
pub struct Client {
    inner: generated::Client,
}

impl Client {
    /// A client for the API at `base_url` (for Atlas,
    /// `https://cloud.mongodb.com`), with [`DEFAULT_CONNECT_TIMEOUT`] and
    /// [`DEFAULT_TIMEOUT`]. A trailing `/` is ignored.
    pub fn new(base_url: &str) -> Result<Self, Error> {
        let base_url = normalise_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
            .timeout(DEFAULT_TIMEOUT)
            .user_agent(USER_AGENT)
            .build()
            .map_err(Error::Transport)?;
        Ok(Self {
            inner: generated::Client::new_with_client(&base_url, http, ClientState::default()),
        })
    }

    /// The base URL requests go to (normalised, without a trailing `/`).
    pub fn base_url(&self) -> &str {
        progenitor_client::ClientInfo::baseurl(&self.inner)
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
        let group_id: CreateStreamConnectionGroupId = group_id
            .parse()
            .map_err(|e| Error::invalid("groupId", format!("`{group_id}`: {e}")))?;
        if tenant_name.is_empty() {
            return Err(Error::invalid("tenantName", "must not be empty"));
        }
        let call =
            self.inner
                .create_stream_connection(&group_id, tenant_name, None, None, connection);
        match recorded(call).await {
            (Ok(response), _) => Ok(response.into_inner()),
            (Err(error), record) => Err(Error::from_generated(error, record)),
        }
    }
}

fn normalise_base_url(base_url: &str) -> Result<String, Error> {
    let url = reqwest::Url::parse(base_url.trim())
        .map_err(|e| Error::invalid("base_url", format!("`{base_url}`: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid(
            "base_url",
            format!("`{base_url}`: scheme must be http or https"),
        ));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(Error::invalid(
            "base_url",
            "must not carry a query, a fragment or credentials",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}
