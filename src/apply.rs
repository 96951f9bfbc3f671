//! `apply`: make an instance hold the connections given, changing only
//! what differs.
//!
//! For each connection, by name: one that does not exist is created; one
//! that exists and differs is updated (Atlas takes the whole connection);
//! one that matches is left alone. Then, unless told not to, `apply` waits
//! until Atlas reports it `READY` (or `FAILED`). Each connection's outcome
//! says which of the three happened, and what differed.
//!
//! **What is compared.** Only what the given connection sets: a field
//! Atlas fills in itself (links, defaults, the state) is no difference.
//! A field is compared with what Atlas returns for it, as sent (so a
//! webhook's headers are, if Atlas returns them).
//!
//! **Write-only fields** (passwords and other secrets Atlas never returns)
//! cannot be compared. They are sent when a connection is created, and
//! whenever it is updated for another difference (the update carries the
//! whole connection). A changed password alone is no difference `apply`
//! can see: [`ApplyOptions::update_secrets`] updates every existing
//! connection that has such a field, so that the ones given are what Atlas
//! holds.
//!
//! **Rate limits.** Connections are applied concurrently (by default
//! [`ApplyOptions::DEFAULT_CONCURRENCY`] at a time). A `429` is never a
//! failure: the client waits out a few on each call, and when a call still
//! ends throttled, every connection of the apply pauses until the
//! `Retry-After` passes, then the call is sent again, until the
//! connection's [`timeout`](ApplyOptions::timeout). The outcome counts
//! them.
//!
//! **Not done:** a connection's kind cannot change (Atlas refuses it): that
//! is an error for that connection, which says to delete it first.
//! Connections Atlas holds that are not given are left alone.

use std::collections::BTreeSet;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_util::StreamExt as _;
use serde_json::Value;
use tokio::time::Instant;

use crate::client::{CallOptions, Client};
use crate::error::Error;
use crate::redact::{REDACTED, redacted_json, write_only_marked_json};
use crate::response::ApiResponse;
use crate::types::StreamsConnection;
use crate::wait::{
    ConnectionState, DEPLOYING_ERROR_CODE, Wait, Waiting, is_not_found, pause, state_error,
};

/// How [`Client::apply_stream_connections`] works.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// Only compare: no connection is created, updated or waited for; the
    /// outcomes say what would be done. Default `false`.
    pub dry_run: bool,
    /// Update every existing connection that has a write-only field set
    /// (a password), even when nothing else differs, since Atlas never
    /// returns those to compare. Default `false`.
    pub update_secrets: bool,
    /// How many connections are applied at a time. Default
    /// [`DEFAULT_CONCURRENCY`](Self::DEFAULT_CONCURRENCY).
    pub concurrency: usize,
    /// How to wait until each connection is `READY`; `None` does not wait.
    /// Default [`Wait::default`].
    pub wait: Option<Wait>,
    /// How long, from the start of a connection's apply, `429`s are
    /// waited out for it: a call still throttled after that is the
    /// connection's outcome ([`Error::RateLimited`]). Each call has its own
    /// [`call_timeout`](crate::ClientBuilder::call_timeout), and the wait
    /// for `READY` its own [`Wait::timeout`]. Default
    /// [`Wait::DEFAULT_TIMEOUT`].
    pub timeout: Duration,
}

impl ApplyOptions {
    /// The default [`concurrency`](Self::concurrency).
    pub const DEFAULT_CONCURRENCY: usize = 8;

    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets [`dry_run`](Self::dry_run).
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
    /// Sets [`update_secrets`](Self::update_secrets).
    pub fn update_secrets(mut self, update: bool) -> Self {
        self.update_secrets = update;
        self
    }
    /// Sets [`concurrency`](Self::concurrency) (0 counts as 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }
    /// Sets [`wait`](Self::wait).
    pub fn wait(mut self, wait: Option<Wait>) -> Self {
        self.wait = wait;
        self
    }
    /// Sets [`timeout`](Self::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            update_secrets: false,
            concurrency: Self::DEFAULT_CONCURRENCY,
            wait: Some(Wait::default()),
            timeout: Wait::DEFAULT_TIMEOUT,
        }
    }
}

/// What `apply` did to a connection (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// It did not exist, and was created.
    Created,
    /// It differed, and was updated.
    Updated,
    /// It matched, and was left alone.
    Unchanged,
}

impl Action {
    /// `created`, `updated` or `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field that differs, its values as [`redacted_json`] shows them
/// (a secret is `"[redacted]"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The field, as a dotted path of wire names (`authentication.username`).
    pub field: String,
    /// What Atlas holds (`None`: it has no such field).
    pub stored: Option<Value>,
    /// What was given.
    pub wanted: Value,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.stored {
            Some(stored) => write!(f, "{}: {stored} -> {}", self.field, self.wanted),
            None => write!(f, "{}: (none) -> {}", self.field, self.wanted),
        }
    }
}

/// What `apply` did to one connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Applied {
    /// What was done (or, in a dry run, would be).
    pub action: Action,
    /// The fields that differed (for a create, every field given).
    pub changes: Vec<Change>,
    /// Whether write-only fields were sent (or, in a dry run, would be).
    pub secrets_sent: bool,
    /// Whether this was a dry run: nothing was changed.
    pub dry_run: bool,
    /// The connection as Atlas holds it at the end (as last read: `READY`
    /// after a wait); `None` in a dry run of a create.
    pub connection: Option<StreamsConnection>,
}

impl Applied {
    /// The state Atlas last reported.
    pub fn state(&self) -> Option<ConnectionState> {
        self.connection.as_ref().and_then(StreamsConnection::state)
    }
}

/// The outcome of one connection of an apply.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApplyOutcome {
    /// The connection's name.
    pub name: String,
    /// What was done, or why it could not be.
    pub result: Result<Applied, Error>,
    /// The `429` answers waited out for it.
    pub throttled: u32,
}

impl Client {
    /// Applies `connections` to the instance `tenant_name` of project
    /// `group_id` (see the [module docs](crate::apply)): creates what does
    /// not exist, updates what differs, leaves what matches, and waits for
    /// each to be `READY`. The stream yields each connection's outcome as
    /// it completes (not in the given order); a failure of one does not
    /// stop the others.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`], before any I/O: a `group_id` that is not a
    /// project id, a `tenant_name` that cannot be a path segment, a
    /// connection without a name, or two with the same name.
    pub fn apply_stream_connections(
        &self,
        group_id: &str,
        tenant_name: &str,
        connections: Vec<StreamsConnection>,
        options: &ApplyOptions,
    ) -> Result<Applying, Error> {
        crate::connections::project_id::<crate::types::GetStreamConnectionGroupId>(group_id)?;
        crate::connections::check_segment("tenantName", tenant_name)?;
        let mut seen = BTreeSet::new();
        let mut named = Vec::with_capacity(connections.len());
        for (index, connection) in connections.into_iter().enumerate() {
            let name = connection.name().ok_or_else(|| {
                Error::invalid(
                    "connections",
                    format!("connection {index} (from 0) has no name"),
                )
            })?;
            crate::connections::check_segment("name", &name)?;
            if !seen.insert(name.clone()) {
                return Err(Error::invalid(
                    "connections",
                    format!("two connections are named `{name}`"),
                ));
            }
            named.push((name, connection));
        }
        let job = Arc::new(Job {
            client: self.clone(),
            group_id: group_id.to_owned(),
            tenant_name: tenant_name.to_owned(),
            options: options.clone(),
            resume_at: Mutex::new(None),
        });
        let concurrency = options.concurrency.max(1);
        let total = named.len();
        let outcomes = futures_util::stream::iter(named)
            .map(move |(name, connection)| {
                let job = Arc::clone(&job);
                async move { job.apply(name, connection).await }
            })
            .buffer_unordered(concurrency);
        Ok(Applying {
            inner: Box::pin(outcomes),
            total,
        })
    }

    /// Applies one connection: see
    /// [`apply_stream_connections`](Self::apply_stream_connections).
    ///
    /// # Errors
    ///
    /// Those of [`apply_stream_connections`](Self::apply_stream_connections)
    /// before any I/O; then the outcome's `result` says what failed.
    pub async fn apply_stream_connection(
        &self,
        group_id: &str,
        tenant_name: &str,
        connection: StreamsConnection,
        options: &ApplyOptions,
    ) -> Result<ApplyOutcome, Error> {
        let mut outcomes = Box::pin(self.apply_stream_connections(
            group_id,
            tenant_name,
            vec![connection],
            options,
        )?);
        outcomes
            .next()
            .await
            .ok_or_else(|| Error::invalid("connections", "nothing to apply"))
    }
}

/// The outcomes of an apply, each as its connection's apply completes:
/// see [`Client::apply_stream_connections`]. A [`Stream`], and, for code
/// that uses no stream combinators, [`next`](Self::next) and
/// [`collect`](Self::collect) of its own. Nothing is sent until it is
/// polled.
pub struct Applying {
    inner: Pin<Box<dyn Stream<Item = ApplyOutcome> + Send>>,
    total: usize,
}

impl Applying {
    /// The next outcome; `None` once every connection has one.
    pub async fn next(&mut self) -> Option<ApplyOutcome> {
        futures_util::StreamExt::next(&mut self.inner).await
    }

    /// Every outcome, in the order they completed.
    pub async fn collect(self) -> Vec<ApplyOutcome> {
        futures_util::StreamExt::collect(self.inner).await
    }

    /// How many connections the apply has (outcomes it yields in all).
    pub fn total(&self) -> usize {
        self.total
    }
}

impl Stream for Applying {
    type Item = ApplyOutcome;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Applying {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Applying")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// What the connections of one apply share.
struct Job {
    client: Client,
    group_id: String,
    tenant_name: String,
    options: ApplyOptions,
    /// When a throttled call may be sent again: every connection pauses
    /// until then, so that the apply as a whole backs off.
    resume_at: Mutex<Option<Instant>>,
}

/// One connection's apply.
struct Task<'a> {
    job: &'a Job,
    name: &'a str,
    deadline: Option<Instant>,
    throttled: u32,
}

impl Job {
    async fn apply(&self, name: String, wanted: StreamsConnection) -> ApplyOutcome {
        let mut task = Task {
            job: self,
            name: &name,
            deadline: Instant::now().checked_add(self.options.timeout),
            throttled: 0,
        };
        let result = task.run(&wanted).await;
        let throttled = task.throttled;
        ApplyOutcome {
            name,
            result,
            throttled,
        }
    }

    /// Waits while the apply is backing off, but not past `deadline` (the
    /// connection's own: another's back-off must not hold it longer).
    async fn resume(&self, deadline: Option<Instant>) {
        loop {
            let until = *self.resume_at.lock().unwrap_or_else(|e| e.into_inner());
            let until = match (until, deadline) {
                (Some(until), Some(deadline)) => until.min(deadline),
                (until, _) => match until {
                    Some(until) => until,
                    None => return,
                },
            };
            if until <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(until).await;
        }
    }

    /// Makes every connection wait `delay` from now (or longer, if one
    /// already does).
    fn back_off(&self, delay: Duration) {
        let Some(until) = Instant::now().checked_add(delay) else {
            return;
        };
        let mut resume_at = self.resume_at.lock().unwrap_or_else(|e| e.into_inner());
        if resume_at.is_none_or(|at| at < until) {
            *resume_at = Some(until);
        }
    }
}

/// The wait after a `429` without `Retry-After`.
const THROTTLED_DEFAULT_DELAY: Duration = Duration::from_secs(1);

impl<'a> Task<'a> {
    async fn run(&mut self, wanted: &StreamsConnection) -> Result<Applied, Error> {
        let wanted_forms = Forms::of(wanted)?;
        let given = wanted_forms.redacted_values_given();
        if !given.is_empty() {
            // A value copied from this crate's redacted output: sent, it
            // would replace the secret Atlas holds with the placeholder.
            return Err(Error::invalid(
                "connection",
                format!(
                    "connection `{}` has `{REDACTED}` where a value belongs ({}): a redacted \
                     copy, not the connection",
                    self.name,
                    given.join(", ")
                ),
            ));
        }
        let mut stored = self.read().await?;
        // A connection being deleted is none: wait until it is gone.
        if stored.as_ref().and_then(StreamsConnection::state) == Some(ConnectionState::Deleting) {
            stored = self.gone().await?;
        }
        match stored {
            None => self.create(wanted, &wanted_forms).await,
            Some(stored) => self.update(wanted, &wanted_forms, stored).await,
        }
    }

    /// The connection as Atlas holds it, if it does.
    async fn read(&mut self) -> Result<Option<StreamsConnection>, Error> {
        let name = self.name;
        match self.throttled(|job| job.get(name)).await {
            Ok(stored) => Ok(Some(stored)),
            Err(error) if is_not_found(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Reads the connection until Atlas no longer has it (or holds one not
    /// being deleted, created meanwhile), within the wait's time.
    async fn gone(&mut self) -> Result<Option<StreamsConnection>, Error> {
        let wait = self.job.options.wait.unwrap_or_default();
        let started = Instant::now();
        let deadline = started.checked_add(wait.timeout);
        loop {
            let stored = self.read().await?;
            let state = stored.as_ref().and_then(StreamsConnection::state);
            if state != Some(ConnectionState::Deleting) {
                return Ok(stored);
            }
            if !pause(&wait, deadline).await {
                let job = self.job;
                let waited = started.elapsed();
                let name = self.name;
                return Err(state_error(
                    &job.group_id,
                    &job.tenant_name,
                    name,
                    state,
                    waited,
                    true,
                ));
            }
        }
    }

    async fn create(
        &mut self,
        wanted: &StreamsConnection,
        forms: &Forms,
    ) -> Result<Applied, Error> {
        let comparison = Comparison::of(forms, None);
        let mut applied = Applied {
            action: Action::Created,
            changes: comparison.changes,
            secrets_sent: comparison.secrets,
            dry_run: self.job.options.dry_run,
            connection: None,
        };
        if applied.dry_run {
            return Ok(applied);
        }
        match self.throttled(|job| job.create(wanted)).await {
            Ok(created) => {
                applied.connection = Some(self.settle(created).await?);
                Ok(applied)
            }
            // Created meanwhile (by another apply, or by an earlier attempt
            // of this one whose answer was lost), or still being deleted:
            // compare with what is there now.
            Err(Error::Api(refused)) if refused.status().as_u16() == 409 => {
                match self.gone().await? {
                    Some(stored) => self.update(wanted, forms, stored).await,
                    None => match self.throttled(|job| job.create(wanted)).await {
                        Ok(created) => {
                            applied.connection = Some(self.settle(created).await?);
                            Ok(applied)
                        }
                        Err(error) => Err(error),
                    },
                }
            }
            Err(error) => Err(error),
        }
    }

    async fn update(
        &mut self,
        wanted: &StreamsConnection,
        forms: &Forms,
        stored: StreamsConnection,
    ) -> Result<Applied, Error> {
        if stored.kind() != wanted.kind() {
            return Err(Error::invalid(
                "type",
                format!(
                    "connection `{}` is of kind {} in Atlas, which cannot become {}: delete it \
                     first",
                    self.name,
                    stored.kind(),
                    wanted.kind()
                ),
            ));
        }
        let comparison = Comparison::of(forms, Some(&Forms::of(&stored)?));
        let send_secrets = self.job.options.update_secrets && comparison.secrets;
        let action = match comparison.changes.is_empty() && !send_secrets {
            true => Action::Unchanged,
            false => Action::Updated,
        };
        let mut applied = Applied {
            action,
            changes: comparison.changes,
            secrets_sent: action == Action::Updated && comparison.secrets,
            dry_run: self.job.options.dry_run,
            connection: None,
        };
        if applied.dry_run {
            applied.connection = Some(stored);
            return Ok(applied);
        }
        let stored = match action {
            Action::Updated => self.send_update(wanted).await?,
            _ => stored,
        };
        applied.connection = Some(self.settle(stored).await?);
        Ok(applied)
    }

    /// Sends the update; while Atlas refuses it because it is still
    /// deploying the connection (`409`, [`DEPLOYING_ERROR_CODE`]), sends it
    /// again every [`Wait::interval`] until the [`Wait::timeout`] (those of
    /// the default [`Wait`] when the apply does not wait for `READY`).
    async fn send_update(
        &mut self,
        wanted: &StreamsConnection,
    ) -> Result<StreamsConnection, Error> {
        let wait = self.job.options.wait.unwrap_or_default();
        let deadline = Instant::now().checked_add(wait.timeout);
        let name = self.name;
        loop {
            match self.throttled(|job| job.update(name, wanted)).await {
                Err(error)
                    if error.error_code() == Some(DEPLOYING_ERROR_CODE)
                        && pause(&wait, deadline).await => {}
                outcome => return outcome,
            }
        }
    }

    /// `connection` once Atlas reports it `READY` (read again every
    /// interval), or as it is when the apply does not wait.
    async fn settle(
        &mut self,
        mut connection: StreamsConnection,
    ) -> Result<StreamsConnection, Error> {
        let Some(wait) = self.job.options.wait else {
            return Ok(connection);
        };
        let job = self.job;
        let waiting = Waiting::start(wait, [&job.group_id, &job.tenant_name, self.name]);
        loop {
            match waiting.settled(connection).await? {
                Some(ready) => return Ok(ready),
                None => {
                    let name = self.name;
                    connection = self.throttled(|job| job.get(name)).await?;
                }
            }
        }
    }

    /// Sends `call` until it is not throttled, pausing the whole apply
    /// after a call that still ended throttled, until the deadline.
    async fn throttled<'j, F, Fut>(&mut self, call: F) -> Result<StreamsConnection, Error>
    where
        F: Fn(&'j Job) -> Fut,
        Fut: Future<Output = Result<ApiResponse<StreamsConnection>, Error>>,
        'a: 'j,
    {
        let job: &'j Job = self.job;
        loop {
            job.resume(self.deadline).await;
            match call(job).await {
                Ok(response) => {
                    self.throttled += response.throttled();
                    return Ok(response.into_inner());
                }
                Err(Error::RateLimited(refused)) => {
                    self.throttled += refused.throttled;
                    let delay = refused.retry_after().unwrap_or(THROTTLED_DEFAULT_DELAY);
                    let past = |deadline| {
                        Instant::now()
                            .checked_add(delay)
                            .is_none_or(|resume| resume >= deadline)
                    };
                    if self.deadline.is_some_and(past) {
                        return Err(Error::RateLimited(refused));
                    }
                    job.back_off(delay);
                }
                Err(error) => {
                    self.throttled += error.throttled();
                    return Err(error);
                }
            }
        }
    }
}

impl Job {
    async fn get(&self, name: &str) -> Result<ApiResponse<StreamsConnection>, Error> {
        let options = CallOptions::new();
        self.client
            .get_stream_connection_with(&self.group_id, &self.tenant_name, name, &options)
            .await
    }

    async fn create(
        &self,
        wanted: &StreamsConnection,
    ) -> Result<ApiResponse<StreamsConnection>, Error> {
        let options = CallOptions::new();
        self.client
            .create_stream_connection_with(&self.group_id, &self.tenant_name, wanted, &options)
            .await
    }

    async fn update(
        &self,
        name: &str,
        wanted: &StreamsConnection,
    ) -> Result<ApiResponse<StreamsConnection>, Error> {
        let options = CallOptions::new();
        self.client
            .update_stream_connection_with(
                &self.group_id,
                &self.tenant_name,
                name,
                wanted,
                &options,
            )
            .await
    }
}

/// A connection as JSON three ways: as sent, with its write-only fields
/// marked, and as shown ([`redacted_json`]: free-form maps' values hidden
/// too).
struct Forms {
    wire: Value,
    marked: Value,
    shown: Value,
}

impl Forms {
    fn of(connection: &StreamsConnection) -> Result<Self, Error> {
        Ok(Self {
            wire: serde_json::to_value(connection).map_err(encode_error)?,
            marked: write_only_marked_json(connection).map_err(encode_error)?,
            shown: redacted_json(connection).map_err(encode_error)?,
        })
    }

    /// The dotted paths where the connection holds `"[redacted]"` itself.
    fn redacted_values_given(&self) -> Vec<String> {
        fn walk(value: &Value, at: &str, out: &mut Vec<String>) {
            match value {
                Value::String(text) if text == REDACTED => out.push(at.to_owned()),
                Value::Object(map) => {
                    for (key, value) in map {
                        walk(value, &join(at, key), out);
                    }
                }
                Value::Array(items) => {
                    for (index, item) in items.iter().enumerate() {
                        walk(item, &format!("{at}[{index}]"), out);
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.wire, "", &mut out);
        out.sort();
        out
    }
}

fn join(at: &str, key: &str) -> String {
    match at {
        "" => key.to_owned(),
        _ => format!("{at}.{key}"),
    }
}

/// Properties Atlas sets itself (the spec's `readOnly`), whatever a given
/// connection says of them: a copy of Atlas's answer, say.
const SET_BY_ATLAS: [&str; 2] = ["links", "state"];

/// What differs between a connection given and the one stored.
#[derive(Debug, Default)]
struct Comparison {
    changes: Vec<Change>,
    /// Whether the connection given sets a write-only field (which the
    /// stored one never shows).
    secrets: bool,
}

/// One object of each form, at the same place.
#[derive(Clone, Copy)]
struct Node<'v> {
    wire: &'v Value,
    marked: &'v Value,
    shown: &'v Value,
}

impl<'v> Node<'v> {
    fn root(forms: &'v Forms) -> Self {
        Self {
            wire: &forms.wire,
            marked: &forms.marked,
            shown: &forms.shown,
        }
    }

    fn get(&self, key: &str) -> Option<Node<'v>> {
        Some(Node {
            wire: self.wire.get(key)?,
            marked: self.marked.get(key).unwrap_or(&Value::Null),
            shown: self.shown.get(key).unwrap_or(&Value::Null),
        })
    }

    /// Whether this is a free-form map (a webhook's `headers`, a Kafka
    /// `config`): every value hidden when shown, none of them a write-only
    /// field. Its keys are compared as a whole: one Atlas holds and the
    /// connection given does not is a difference, as one added is.
    fn is_map(&self) -> bool {
        let (Some(wire), Some(marked), Some(shown)) = (
            self.wire.as_object(),
            self.marked.as_object(),
            self.shown.as_object(),
        ) else {
            return false;
        };
        !wire.is_empty()
            && wire.keys().all(|key| {
                shown.get(key).is_some_and(|v| v == REDACTED)
                    && marked.get(key).is_some_and(|v| v != REDACTED)
            })
    }

    /// Whether this is a write-only field (never returned by Atlas).
    fn is_write_only(&self) -> bool {
        self.marked == REDACTED && self.wire != REDACTED
    }
}

impl Comparison {
    /// Compares every field `wanted` sets with `stored`'s.
    fn of(wanted: &Forms, stored: Option<&Forms>) -> Self {
        let mut comparison = Self::default();
        comparison.compare(Node::root(wanted), stored.map(Node::root), "");
        // By field, whatever order serde_json keeps an object's keys in
        // (its `preserve_order` feature, which another crate may turn on).
        comparison.changes.sort_by(|a, b| a.field.cmp(&b.field));
        comparison
    }

    /// Compares the fields of the object `wanted` with those of `stored`,
    /// under the dotted path `at`. Objects are compared field by field
    /// (free-form maps key by key, both ways), anything else as a whole.
    fn compare(&mut self, wanted: Node<'_>, stored: Option<Node<'_>>, at: &str) {
        let Value::Object(fields) = wanted.wire else {
            return;
        };
        let map = wanted.is_map();
        for key in fields.keys() {
            if !map && SET_BY_ATLAS.contains(&key.as_str()) {
                continue;
            }
            let field = join(at, key);
            let Some(value) = wanted.get(key) else {
                continue;
            };
            let old = stored.and_then(|s| s.get(key));
            match (value.wire, old) {
                (Value::Object(_), None) if !value.is_map() && !map => {
                    self.compare(value, None, &field);
                }
                (Value::Object(_), Some(old)) if old.wire.is_object() && !map => {
                    self.compare(value, Some(old), &field);
                }
                // Never returned, so never compared.
                (_, None) if value.is_write_only() => self.secrets = true,
                (_, Some(old)) if old.wire == value.wire => {}
                _ => self.changes.push(Change {
                    field,
                    stored: old.map(|o| o.shown.clone()),
                    wanted: value.shown.clone(),
                }),
            }
        }
        // A key of a map that the connection given leaves out.
        if let (true, Some(Value::Object(old_fields))) = (map, stored.map(|s| s.wire)) {
            for key in old_fields.keys().filter(|key| !fields.contains_key(*key)) {
                let shown = stored.and_then(|s| s.get(key)).map(|o| o.shown.clone());
                self.changes.push(Change {
                    field: join(at, key),
                    stored: shown,
                    wanted: Value::Null,
                });
            }
        }
    }
}

/// A connection that cannot be written as JSON (never one of this
/// crate's types, whose maps are keyed by strings).
fn encode_error(error: serde_json::Error) -> Error {
    Error::invalid("connection", format!("cannot be written as JSON: {error}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn connection(value: Value) -> StreamsConnection {
        serde_json::from_value(value).unwrap()
    }

    /// The comparison of `wanted` with `stored`, as `apply` makes it.
    fn compare(wanted: &StreamsConnection, stored: Option<&StreamsConnection>) -> Comparison {
        let stored = stored.map(|s| Forms::of(s).unwrap());
        Comparison::of(&Forms::of(wanted).unwrap(), stored.as_ref())
    }

    fn kafka(username: &str, password: Option<&str>) -> StreamsConnection {
        let mut authentication = json!({"mechanism": "PLAIN", "username": username});
        if let Some(password) = password {
            authentication["password"] = json!(password);
        }
        connection(json!({
            "type": "Kafka", "name": "events", "bootstrapServers": "broker:9092",
            "authentication": authentication, "security": {"protocol": "SASL_SSL"},
        }))
    }

    #[test]
    fn options_and_actions_say_what_they_are() {
        let options = ApplyOptions::new()
            .concurrency(3)
            .timeout(Duration::from_secs(7))
            .dry_run(true)
            .update_secrets(true)
            .wait(None);
        assert_eq!(
            (
                options.concurrency,
                options.timeout,
                options.dry_run,
                options.update_secrets
            ),
            (3, Duration::from_secs(7), true, true)
        );
        assert_eq!(options.wait, None);
        let defaults = ApplyOptions::default();
        assert_eq!(defaults.concurrency, ApplyOptions::DEFAULT_CONCURRENCY);
        assert_eq!(defaults.wait, Some(Wait::default()));
        let shown: Vec<String> = [Action::Created, Action::Updated, Action::Unchanged]
            .iter()
            .map(Action::to_string)
            .collect();
        assert_eq!(shown, ["created", "updated", "unchanged"]);
    }

    #[test]
    fn what_atlas_adds_and_what_it_never_returns_are_no_difference() {
        let wanted = kafka("u", Some("secret"));
        let mut stored = serde_json::to_value(kafka("u", None)).unwrap();
        stored["state"] = json!("READY");
        stored["links"] = json!([{"rel": "self", "href": "https://x"}]);
        stored["config"] = json!({"auto.offset.reset": "earliest"});
        let comparison = compare(&wanted, Some(&connection(stored)));
        assert_eq!(comparison.changes, []);
        assert!(
            comparison.secrets,
            "the password is a write-only field given"
        );
        assert!(!compare(&kafka("u", None), None).secrets);
    }

    #[test]
    fn a_changed_field_is_named_with_both_values_and_a_secret_is_never_shown() {
        let stored = kafka("old", None);
        let comparison = compare(&kafka("new", Some("p4ss")), Some(&stored));
        assert_eq!(
            comparison.changes,
            [Change {
                field: "authentication.username".into(),
                stored: Some(json!("old")),
                wanted: json!("new"),
            }]
        );
        assert_eq!(
            comparison.changes[0].to_string(),
            r#"authentication.username: "old" -> "new""#
        );
        // A secret that differs from what Atlas returns (a map's value)
        // is shown redacted on both sides.
        let hook = |value: &str| {
            connection(json!({"type": "Https", "name": "h", "url": "https://e",
                "headers": {"Authorization": value}}))
        };
        let comparison = compare(&hook("Bearer new"), Some(&hook("Bearer old")));
        assert_eq!(comparison.changes.len(), 1);
        let change = &comparison.changes[0];
        assert_eq!(change.field, "headers.Authorization");
        assert_eq!(change.stored, Some(json!(REDACTED)));
        assert_eq!(change.wanted, json!(REDACTED));
        assert!(!format!("{comparison:?}").contains("Bearer"));
    }

    fn hook(headers: Value) -> StreamsConnection {
        connection(json!({"type": "Https", "name": "h", "url": "https://e", "headers": headers}))
    }

    #[test]
    fn a_key_added_to_or_left_out_of_a_map_is_a_difference_shown_redacted() {
        let stored = hook(json!({"X-Team": "streams"}));
        let added = compare(
            &hook(json!({"X-Team": "streams", "X-Env": "prod"})),
            Some(&stored),
        );
        assert_eq!(
            added.changes,
            [Change {
                field: "headers.X-Env".into(),
                stored: None,
                wanted: json!(REDACTED),
            }]
        );
        assert!(!added.secrets, "a map's value is returned, so compared");
        let left_out = compare(&hook(json!({"X-Env": "prod"})), Some(&stored));
        let fields: Vec<_> = left_out.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["headers.X-Env", "headers.X-Team"]);
        assert_eq!(left_out.changes[1].stored, Some(json!(REDACTED)));
        assert_eq!(left_out.changes[1].wanted, Value::Null);
        assert_eq!(compare(&stored, Some(&stored)).changes, []);
        // A map Atlas does not hold at all: one change, the whole map.
        let none = compare(&stored, Some(&hook(json!({}))));
        assert_eq!(none.changes.len(), 1, "{:?}", none.changes);
        assert_eq!(none.changes[0].field, "headers");
        assert_eq!(none.changes[0].wanted, json!({"X-Team": REDACTED}));
    }

    #[test]
    fn what_atlas_sets_itself_is_never_compared_and_a_redacted_copy_is_found() {
        let mut copied = serde_json::to_value(kafka("u", None)).unwrap();
        copied["state"] = json!("READY");
        copied["links"] = json!([{"rel": "self", "href": "https://x"}]);
        copied["authentication"]["links"] = json!([]);
        let mut stored = serde_json::to_value(kafka("u", None)).unwrap();
        stored["state"] = json!("PENDING");
        let comparison = compare(&connection(copied.clone()), Some(&connection(stored)));
        assert_eq!(comparison.changes, []);

        copied["authentication"]["password"] = json!(REDACTED);
        copied["config"] = json!({"sasl.jaas.config": REDACTED});
        let forms = Forms::of(&connection(copied)).unwrap();
        assert_eq!(
            forms.redacted_values_given(),
            ["authentication.password", "config.sasl.jaas.config"]
        );
        assert!(
            Forms::of(&kafka("u", Some("p")))
                .unwrap()
                .redacted_values_given()
                .is_empty()
        );
        let listed = connection(json!({"type": "Sample", "name": "s", "hosts": ["a", REDACTED]}));
        assert_eq!(
            Forms::of(&listed).unwrap().redacted_values_given(),
            ["hosts[1]"]
        );
    }

    #[test]
    fn a_create_lists_every_field_given() {
        let comparison = compare(&kafka("u", Some("p")), None);
        let fields: Vec<_> = comparison
            .changes
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "authentication.mechanism",
                "authentication.username",
                "bootstrapServers",
                "name",
                "security.protocol",
                "type"
            ]
        );
        assert!(comparison.changes.iter().all(|c| c.stored.is_none()));
        assert!(comparison.secrets);
    }

    #[test]
    fn a_value_that_became_an_object_or_a_scalar_is_one_change() {
        let wanted = connection(json!({"type": "Sample", "name": "s", "extra": {"a": 1}}));
        let stored = connection(json!({"type": "Sample", "name": "s", "extra": 2}));
        let comparison = compare(&wanted, Some(&stored));
        assert_eq!(comparison.changes.len(), 1, "{:?}", comparison.changes);
        assert_eq!(comparison.changes[0].field, "extra");
        let comparison = compare(&stored, Some(&wanted));
        assert_eq!(comparison.changes.len(), 1);
    }
}
