//! A connection's state, and waiting for one.
//!
//! Atlas deploys some connections (Kafka over private networking) and
//! deletes them asynchronously: newer releases of the spec give every
//! connection a read-only `state`, `PENDING` until it is `READY` (or
//! `FAILED`), `DELETING` until it is gone. A connection without a `state`
//! (a server of the spec's releases before it) counts as ready.
//!
//! The state is read from the connection's wire form, so it is found both
//! where the vendored spec has no such property (it is then kept among the
//! properties a newer server sent) and where a regenerated client has a
//! typed field for it.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, StateError};
use crate::path::encode_segment;
use crate::types::StreamsConnection;

/// Atlas's answer to a delete of a connection it is still deploying
/// ("… is currently deploying. Please retry the request later."), as seen
/// in the Terraform provider's acceptance-test logs.
pub const DEPLOYING_ERROR_CODE: &str = "STREAM_KAFKA_CONNECTION_IS_DEPLOYING";

/// A connection's state, as Atlas reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Being deployed (after a create or an update).
    Pending,
    /// Deployed and usable.
    Ready,
    /// Being deleted.
    Deleting,
    /// Its deployment failed.
    Failed,
    /// A state this version of the crate does not know, as on the wire.
    Other(String),
}

impl ConnectionState {
    /// The state as on the wire (`READY`).
    pub fn as_str(&self) -> &str {
        match self {
            ConnectionState::Pending => "PENDING",
            ConnectionState::Ready => "READY",
            ConnectionState::Deleting => "DELETING",
            ConnectionState::Failed => "FAILED",
            ConnectionState::Other(other) => other,
        }
    }

    fn from_wire(state: &str) -> Self {
        match state {
            "PENDING" => ConnectionState::Pending,
            "READY" => ConnectionState::Ready,
            "DELETING" => ConnectionState::Deleting,
            "FAILED" => ConnectionState::Failed,
            other => ConnectionState::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl StreamsConnection {
    /// The connection's `name`, from its wire form (every kind has one;
    /// `None` when it is not set).
    pub fn name(&self) -> Option<String> {
        match wire_property(self, "name")? {
            Value::String(name) => Some(name),
            _ => None,
        }
    }

    /// The connection's `state` as Atlas reported it; `None` when the
    /// answer had none (a server of an older release of the spec, or a
    /// connection built locally).
    pub fn state(&self) -> Option<ConnectionState> {
        match wire_property(self, "state")? {
            Value::String(state) => Some(ConnectionState::from_wire(&state)),
            _ => None,
        }
    }
}

/// The top-level `property` of `connection` as it is sent.
fn wire_property(connection: &StreamsConnection, property: &str) -> Option<Value> {
    match serde_json::to_value(connection).ok()? {
        Value::Object(mut map) => map.remove(property),
        _ => None,
    }
}

/// How long to wait for a connection, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Wait {
    /// The longest wait. Default [`Wait::DEFAULT_TIMEOUT`] (20 minutes, as
    /// the Terraform provider waits by default).
    pub timeout: Duration,
    /// The time between two reads of the connection. Default
    /// [`Wait::DEFAULT_INTERVAL`] (5 s).
    pub interval: Duration,
}

impl Wait {
    /// The default [`timeout`](Self::timeout).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20 * 60);
    /// The default [`interval`](Self::interval).
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the longest wait.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Sets the time between two reads.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }
}

impl Default for Wait {
    fn default() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            interval: Self::DEFAULT_INTERVAL,
        }
    }
}

/// When a wait that starts now ends (`None`: beyond the clock's end).
fn deadline(wait: &Wait) -> Option<Instant> {
    Instant::now().checked_add(wait.timeout)
}

/// Sleeps `wait.interval`, or until `deadline` when that comes first (so
/// that the connection is read once more at the deadline); `false`, without
/// sleeping, once the deadline has passed.
pub(crate) async fn pause(wait: &Wait, deadline: Option<Instant>) -> bool {
    let now = Instant::now();
    let until = match (now.checked_add(wait.interval), deadline) {
        (_, Some(deadline)) if now >= deadline => return false,
        (Some(resume), Some(deadline)) => resume.min(deadline),
        (None, Some(deadline)) => deadline,
        (Some(resume), None) => resume,
        // An interval and a timeout both past the clock's end.
        (None, None) => return false,
    };
    tokio::time::sleep_until(until).await;
    true
}

impl Client {
    /// Reads the connection `connection_name` every
    /// [`interval`](Wait::interval) until Atlas reports it `READY` (or
    /// reports no state), and returns it as read then.
    ///
    /// # Errors
    ///
    /// [`Error::State`] when Atlas reports it `FAILED`, or when the wait's
    /// [`timeout`](Wait::timeout) passes first (the error says the last
    /// state seen); those of
    /// [`get_stream_connection`](Self::get_stream_connection), a `404`
    /// among them.
    pub async fn wait_for_stream_connection(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection_name: &str,
        wait: &Wait,
    ) -> Result<StreamsConnection, Error> {
        let waiting = Waiting::start(*wait, [group_id, tenant_name, connection_name]);
        loop {
            let connection = self
                .get_stream_connection(group_id, tenant_name, connection_name)
                .await?;
            if let Some(ready) = waiting.settled(connection).await? {
                return Ok(ready);
            }
        }
    }

    /// Deletes the connection `connection_name` and waits until it is
    /// gone: a delete Atlas refuses because it is still deploying the
    /// connection (`409`, [`DEPLOYING_ERROR_CODE`]) is sent again every
    /// [`interval`](Wait::interval), and after Atlas accepts it the
    /// connection is read until Atlas answers `404`. A connection that does
    /// not exist is no error: it is gone.
    ///
    /// # Errors
    ///
    /// [`Error::State`] when the wait's [`timeout`](Wait::timeout) passes
    /// first (the error says the last state seen); any other error of
    /// [`delete_stream_connection`](Self::delete_stream_connection) or
    /// [`get_stream_connection`](Self::get_stream_connection).
    pub async fn delete_stream_connection_and_wait(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection_name: &str,
        wait: &Wait,
    ) -> Result<(), Error> {
        let started = Instant::now();
        let deadline = deadline(wait);
        loop {
            match self
                .delete_stream_connection(group_id, tenant_name, connection_name)
                .await
            {
                Ok(()) => break,
                Err(error) if is_not_found(&error) => return Ok(()),
                Err(error) if error.error_code() == Some(DEPLOYING_ERROR_CODE) => {
                    if !pause(wait, deadline).await {
                        let state = Some(ConnectionState::Pending);
                        let waited = started.elapsed();
                        return Err(state_error(
                            group_id,
                            tenant_name,
                            connection_name,
                            state,
                            waited,
                            true,
                        ));
                    }
                }
                Err(error) => return Err(error),
            }
        }
        loop {
            let state = match self
                .get_stream_connection(group_id, tenant_name, connection_name)
                .await
            {
                Ok(connection) => connection.state(),
                Err(error) if is_not_found(&error) => return Ok(()),
                Err(error) => return Err(error),
            };
            if !pause(wait, deadline).await {
                let waited = started.elapsed();
                return Err(state_error(
                    group_id,
                    tenant_name,
                    connection_name,
                    state,
                    waited,
                    true,
                ));
            }
        }
    }
}

/// One wait for a connection to be `READY`, by whoever reads it (the
/// client's own wait, `apply`'s).
pub(crate) struct Waiting<'a> {
    wait: Wait,
    started: Instant,
    deadline: Option<Instant>,
    /// The project, the instance and the connection's name.
    ids: [&'a str; 3],
}

impl<'a> Waiting<'a> {
    /// A wait that starts now.
    pub fn start(wait: Wait, ids: [&'a str; 3]) -> Self {
        Self {
            wait,
            started: Instant::now(),
            deadline: deadline(&wait),
            ids,
        }
    }

    /// The connection just read, when it is `READY` (or has no state);
    /// else `None` after one interval, to read it again; an
    /// [`Error::State`] when it is `FAILED` or the wait's time is up.
    pub async fn settled(
        &self,
        connection: StreamsConnection,
    ) -> Result<Option<StreamsConnection>, Error> {
        let state = connection.state();
        let failed = match &state {
            None | Some(ConnectionState::Ready) => return Ok(Some(connection)),
            Some(ConnectionState::Failed) => true,
            Some(_) => false,
        };
        if failed || !pause(&self.wait, self.deadline).await {
            let [group_id, tenant_name, name] = self.ids;
            let waited = self.started.elapsed();
            return Err(state_error(
                group_id,
                tenant_name,
                name,
                state,
                waited,
                !failed,
            ));
        }
        Ok(None)
    }
}

/// Whether `error` is Atlas's answer that the connection does not exist.
pub(crate) fn is_not_found(error: &Error) -> bool {
    matches!(error, Error::Api(e) if e.status() == StatusCode::NOT_FOUND)
}

pub(crate) fn state_error(
    group_id: &str,
    tenant_name: &str,
    connection_name: &str,
    state: Option<ConnectionState>,
    waited: Duration,
    timed_out: bool,
) -> Error {
    let path = format!(
        "/api/atlas/v2/groups/{}/streams/{}/connections/{}",
        encode_segment(group_id),
        encode_segment(tenant_name),
        encode_segment(connection_name)
    );
    Error::State(Box::new(StateError {
        name: connection_name.to_owned(),
        path,
        state: state.map(|s| s.as_str().to_owned()),
        waited,
        timed_out,
    }))
}
