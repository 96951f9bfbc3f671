//! [`SingleFlight`]: one piece of work done once for every caller that needs
//! it at the same time, detached from all of them.
//!
//! A token request or a Digest probe is started by the first call that needs
//! it; the calls arriving while it runs wait for the same outcome, success
//! or failure, instead of starting their own. On a multi-thread runtime the
//! work runs as a task of its own, so that it finishes even if every caller
//! waiting on it is dropped (a caller's own `tokio::time::timeout`, say):
//! abandoning it would make the next caller start it again, and a service
//! account would ask for a new token each time (Atlas allows about ten token
//! requests a minute). The task is aborted when the `SingleFlight` is
//! dropped, so a dropped client leaves nothing running.
//!
//! On a current-thread runtime a task runs only while that runtime is
//! driven, and callers on other runtimes would wait for it without bound;
//! there the caller that starts the work does it itself, and should it be
//! dropped, the next caller starts it again.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tracing::Instrument;

use crate::error::Error;

/// The outcome of one flight, shared by every caller that waited on it.
type Outcome<T> = Option<Result<T, Error>>;

/// Work done once for all concurrent callers; see the module docs.
pub(crate) struct SingleFlight<T> {
    current: Mutex<Option<Running<T>>>,
}

struct Running<T> {
    outcome: watch::Receiver<Outcome<T>>,
    /// The task doing the work, when it is detached.
    task: Option<AbortHandle>,
    /// Callers waiting for the outcome (for `Debug`).
    waiting: Arc<AtomicUsize>,
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
    /// starts a second one for work just done), else `work()`, started as a
    /// task of its own or done by this caller (see the module docs).
    ///
    /// A flight that ended without an outcome is started again: as often as
    /// the caller doing it was dropped (each time a caller of its own gone,
    /// its call timeout passed, say: this one takes over), once when its
    /// detached task died (its runtime shutting down, where starting it
    /// again and again would only spin).
    pub async fn join<F>(
        &self,
        mut done: impl FnMut() -> Option<T>,
        mut work: impl FnMut() -> F,
    ) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let mut detached_ended = false;
        loop {
            match self.step(&mut done, &mut work) {
                Step::Done(value) => return Ok(value),
                Step::Lead(report, work) => {
                    let outcome = work.await;
                    report.send_replace(Some(outcome.clone()));
                    return outcome;
                }
                Step::Wait(mut outcome, waiting, detached) => {
                    let _waiting = Waiting::count(waiting);
                    if let Ok(finished) = outcome.wait_for(Option::is_some).await
                        && let Some(finished) = finished.clone()
                    {
                        return finished;
                    }
                    if detached && std::mem::replace(&mut detached_ended, true) {
                        return Err(abandoned());
                    }
                }
            }
        }
    }

    /// What [`join`](Self::join) does next, decided under the lock.
    fn step<F>(
        &self,
        done: &mut impl FnMut() -> Option<T>,
        work: &mut impl FnMut() -> F,
    ) -> Step<T, F>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(running) = current.as_ref().filter(|r| r.is_running()) {
            let detached = running.task.is_some();
            return Step::Wait(running.outcome.clone(), running.waiting.clone(), detached);
        }
        if let Some(value) = done() {
            return Step::Done(value);
        }
        let (report, outcome) = watch::channel(None);
        let waiting = Arc::new(AtomicUsize::new(0));
        let work = work();
        let runtime = Handle::try_current()
            .ok()
            .filter(|r| r.runtime_flavor() == RuntimeFlavor::MultiThread);
        let Some(runtime) = runtime else {
            *current = Some(Running {
                outcome,
                task: None,
                waiting,
            });
            return Step::Lead(report, work);
        };
        // In the span of the call that started it, so that its events (the
        // exchanges it makes) read as that call's.
        let task = runtime.spawn(
            async move {
                report.send_replace(Some(work.await));
            }
            .in_current_span(),
        );
        *current = Some(Running {
            outcome: outcome.clone(),
            task: Some(task.abort_handle()),
            waiting: waiting.clone(),
        });
        Step::Wait(outcome, waiting, true)
    }
}

enum Step<T, F> {
    /// `done()` had the value.
    Done(T),
    /// A flight is under way; its outcome comes here. (Whether its work
    /// runs detached, as a task of its own, rather than by a caller.)
    Wait(watch::Receiver<Outcome<T>>, Arc<AtomicUsize>, bool),
    /// This caller does the work, and reports its outcome to the others.
    Lead(watch::Sender<Outcome<T>>, F),
}

impl<T> Running<T> {
    /// Under way: no outcome yet, and whoever does the work still at it (a
    /// task that died with its runtime, or a caller dropped, drops the
    /// sender).
    fn is_running(&self) -> bool {
        self.outcome.borrow().is_none() && self.outcome.has_changed().is_ok()
    }
}

/// One caller waiting on a flight, counted while it waits.
struct Waiting(Arc<AtomicUsize>);

impl Waiting {
    fn count(waiting: Arc<AtomicUsize>) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Self(waiting)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn abandoned() -> Error {
    Error::configuration(
        "the request this call waited on was cancelled twice: the Tokio runtime its task \
         ran on is shutting down",
    )
}

impl<T> Drop for SingleFlight<T> {
    fn drop(&mut self) {
        let current = self.current.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(task) = current.take().and_then(|running| running.task) {
            task.abort();
        }
    }
}

impl<T> std::fmt::Debug for SingleFlight<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let running = current.as_ref().filter(|r| r.is_running());
        f.debug_struct("SingleFlight")
            .field("running", &running.is_some())
            .field(
                "waiting",
                &running.map_or(0, |r| r.waiting.load(Ordering::Relaxed)),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::watch;

    use super::*;

    /// Work that counts its runs and finishes with `value` once `gate` opens.
    fn gated(
        runs: &Arc<AtomicUsize>,
        gate: &watch::Receiver<bool>,
        value: Result<u32, Error>,
    ) -> impl Future<Output = Result<u32, Error>> + Send + 'static {
        runs.fetch_add(1, Ordering::SeqCst);
        let mut gate = gate.clone();
        async move {
            let _ = gate.wait_for(|open| *open).await;
            value
        }
    }

    /// Waits until `count` callers wait on `flight`'s run.
    async fn until_waiting<T>(flight: &SingleFlight<T>, count: usize) {
        let want = format!("running: true, waiting: {count} ");
        while !format!("{flight:?}").contains(&want) {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_run_and_its_outcome() {
        for value in [Ok(7), Err(Error::configuration("down"))] {
            let flight = Arc::new(SingleFlight::default());
            let runs = Arc::new(AtomicUsize::new(0));
            let (open, gate) = watch::channel(false);
            let callers: Vec<_> = (0..8)
                .map(|_| {
                    let (flight, runs, gate, value) =
                        (flight.clone(), runs.clone(), gate.clone(), value.clone());
                    tokio::spawn(async move {
                        flight
                            .join(|| None, || gated(&runs, &gate, value.clone()))
                            .await
                    })
                })
                .collect();
            until_waiting(&flight, 8).await;
            open.send_replace(true);
            for caller in callers {
                let got = caller.await.unwrap();
                assert_eq!(
                    got.as_ref().map_err(ToString::to_string),
                    value.as_ref().map_err(ToString::to_string)
                );
            }
            assert_eq!(runs.load(Ordering::SeqCst), 1);
        }
    }

    #[tokio::test]
    async fn work_already_done_is_not_started_again() {
        let flight = SingleFlight::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (_open, gate) = watch::channel(true);
        let got = flight.join(|| Some(3), || gated(&runs, &gate, Ok(9))).await;
        assert_eq!(got.unwrap(), 3);
        assert_eq!(runs.load(Ordering::SeqCst), 0);
        // A finished flight is not joined: the next caller starts anew.
        assert_eq!(
            flight
                .join(|| None, || gated(&runs, &gate, Ok(9)))
                .await
                .unwrap(),
            9
        );
        assert_eq!(
            flight
                .join(|| None, || gated(&runs, &gate, Ok(8)))
                .await
                .unwrap(),
            8
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_gives_up_leaves_the_work_running_for_the_next() {
        let flight = Arc::new(SingleFlight::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let (open, gate) = watch::channel(false);
        let first = {
            let (flight, runs, gate) = (flight.clone(), runs.clone(), gate.clone());
            tokio::spawn(async move { flight.join(|| None, || gated(&runs, &gate, Ok(1))).await })
        };
        while runs.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        until_waiting(&flight, 0).await;
        let second = {
            let (flight, runs, gate) = (flight.clone(), runs.clone(), gate.clone());
            tokio::spawn(async move { flight.join(|| None, || gated(&runs, &gate, Ok(2))).await })
        };
        until_waiting(&flight, 1).await;
        open.send_replace(true);
        assert_eq!(second.await.unwrap().unwrap(), 1, "the first run's outcome");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(format!("{flight:?}").contains("running: false"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_flight_aborts_its_work() {
        let flight = SingleFlight::<u32>::default();
        let (_never, gate) = watch::channel(false);
        let (dropped, mut seen) = watch::channel(false);
        let dropped = Arc::new(dropped);
        /// Tells `seen` when the work's future is dropped.
        struct Guard(Arc<watch::Sender<bool>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.send_replace(true);
            }
        }
        let runs = Arc::new(AtomicUsize::new(0));
        let joined = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            flight.join(
                || None,
                || {
                    let guard = Guard(dropped.clone());
                    let work = gated(&runs, &gate, Ok(1));
                    async move {
                        let _guard = guard;
                        work.await
                    }
                },
            ),
        )
        .await;
        assert!(joined.is_err(), "the work waits on a gate that never opens");
        assert!(!*seen.borrow(), "giving up did not end the work");
        drop(flight);
        seen.wait_for(|dropped| *dropped).await.unwrap();
    }

    #[test]
    fn a_flight_whose_runtime_shut_down_is_started_again_on_the_callers() {
        let flight = SingleFlight::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (_never, gate) = watch::channel(false);
        let first = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        first.block_on(async {
            let waited = tokio::time::timeout(
                std::time::Duration::from_millis(10),
                flight.join(|| None, || gated(&runs, &gate, Ok(1))),
            )
            .await;
            assert!(waited.is_err(), "the gate never opens");
        });
        // Its task dies with its runtime, before any outcome.
        drop(first);
        let (_open, open_gate) = watch::channel(true);
        let second = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = second.block_on(flight.join(|| None, || gated(&runs, &open_gate, Ok(2))));
        assert_eq!(got.unwrap(), 2);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
