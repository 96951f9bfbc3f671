//! [`SingleFlight`]: one piece of work done once for every caller that needs
//! it at the same time, detached from all of them.
//!
//! A token request or a Digest probe is started by the first call that needs
//! it; the calls arriving while it runs wait for the same outcome, success
//! or failure, instead of starting their own. The work runs as a task of its
//! own, so that it finishes even if every caller waiting on it is dropped
//! (a caller's own `tokio::time::timeout`, say): abandoning it would make
//! the next caller start it again, and a service account would ask for a new
//! token each time (Atlas allows about ten token requests a minute). The
//! task is aborted when the `SingleFlight` is dropped, so a dropped client
//! leaves nothing running.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::error::Error;

/// The outcome of one flight, shared by every caller that waited on it.
type Outcome<T> = Option<Result<T, Error>>;

/// Work done once for all concurrent callers; see the module docs.
pub(crate) struct SingleFlight<T> {
    current: Mutex<Option<Running<T>>>,
}

struct Running<T> {
    outcome: watch::Receiver<Outcome<T>>,
    task: AbortHandle,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        Self {
            current: Mutex::new(None),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    /// The outcome of the flight under way, or, when none is, of a new one:
    /// `done()` if it has a value (the work a finished flight left behind,
    /// read under the same lock that starts flights, so that no caller
    /// starts a second one for work just done), else `work()` started as a
    /// task of its own.
    ///
    /// A flight that ended without an outcome (its task was on another
    /// runtime, which shut down) is started again once, on this caller's
    /// runtime. Outside a Tokio runtime, the work runs inside this caller
    /// instead (not shared, but not a panic either).
    pub async fn join<F>(
        &self,
        mut done: impl FnMut() -> Option<T>,
        mut work: impl FnMut() -> F,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        for _ in 0..2 {
            let mut outcome = match self.step(&mut done, &mut work) {
                Step::Done(value) => return Ok(value),
                Step::Wait(outcome) => outcome,
                // No runtime to run it on.
                Step::Inline => return work().await,
            };
            if let Ok(finished) = outcome.wait_for(Option::is_some).await
                && let Some(finished) = finished.clone()
            {
                return finished;
            }
        }
        Err(abandoned())
    }

    /// What [`join`](Self::join) does next, decided under the lock.
    fn step<F>(&self, done: &mut impl FnMut() -> Option<T>, work: &mut impl FnMut() -> F) -> Step<T>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(running) = current.as_ref().filter(|r| r.is_running()) {
            return Step::Wait(running.outcome.clone());
        }
        if let Some(value) = done() {
            return Step::Done(value);
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Step::Inline;
        };
        let (report, outcome) = watch::channel(None);
        let work = work();
        let task = runtime.spawn(async move {
            report.send_replace(Some(work.await));
        });
        *current = Some(Running {
            outcome: outcome.clone(),
            task: task.abort_handle(),
        });
        Step::Wait(outcome)
    }
}

enum Step<T> {
    /// `done()` had the value.
    Done(T),
    /// A flight is under way; its outcome comes here.
    Wait(watch::Receiver<Outcome<T>>),
    /// No Tokio runtime to run a task on: the caller does the work.
    Inline,
}

impl<T> Running<T> {
    /// Under way: no outcome yet, and its task still alive.
    fn is_running(&self) -> bool {
        self.outcome.borrow().is_none() && !self.task.is_finished()
    }
}

fn abandoned() -> Error {
    Error::configuration(
        "the request this call waited on was cancelled twice: its Tokio runtime shut down \
         (is one client shared by several runtimes?)",
    )
}

impl<T> Drop for SingleFlight<T> {
    fn drop(&mut self) {
        let current = self.current.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(running) = current.take() {
            running.task.abort();
        }
    }
}

impl<T> std::fmt::Debug for SingleFlight<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let running = current.as_ref().is_some_and(Running::is_running);
        f.debug_struct("SingleFlight")
            .field("running", &running)
            .finish()
    }
}
