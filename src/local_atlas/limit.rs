//! The rate limiter: Atlas limits the Admin API per project ("Resource
//! /api/atlas/v2 is limited to a number of requests per minute") and answers
//! `429 RATE_LIMITED` with `Retry-After` beyond it.
//!
//! A sliding window log, chosen over a token bucket because it says exactly
//! what `rate_limit(requests, per)` reads as: at most `requests` requests
//! admitted in any `per`, per project. Its answers depend only on the
//! instants of the admitted requests, so a test with a long window (an hour,
//! say) knows which request is refused whatever the machine's speed, and
//! how long `Retry-After` says to wait (a whole number of seconds, rounded
//! up, never 0). Refused requests are not counted, as a client that waits
//! as told must then be admitted.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// At most `requests` requests admitted per `per`, per project.
pub(crate) struct RateLimiter {
    requests: u32,
    per: Duration,
    /// The instants of the requests admitted in the last `per`, oldest
    /// first, per project.
    admitted: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(requests: u32, per: Duration) -> Self {
        Self {
            requests,
            per,
            admitted: HashMap::new(),
        }
    }

    /// Admits a request of `project` at `now`, or says how long to wait
    /// before one would be admitted.
    pub fn admit(&mut self, project: &str, now: Instant) -> Result<(), Duration> {
        let admitted = self.admitted.entry(project.to_owned()).or_default();
        while admitted
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= self.per)
        {
            admitted.pop_front();
        }
        if admitted.len() < self.requests as usize {
            admitted.push_back(now);
            return Ok(());
        }
        // Full: the oldest admitted request leaves the window first (with no
        // request admitted at all, a limit of 0, the whole window).
        let wait = admitted.front().map_or(self.per, |&oldest| {
            (oldest + self.per).saturating_duration_since(now)
        });
        Err(wait)
    }
}

/// A wait as `Retry-After` says it: whole seconds, rounded up, at least 1
/// (a `0` would invite an immediate retry that is refused again).
pub(crate) fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_over_the_limit_wait_for_the_oldest_to_leave_the_window() {
        let start = Instant::now();
        let minute = Duration::from_secs(60);
        let mut limiter = RateLimiter::new(2, minute);
        assert_eq!(limiter.admit("p", start), Ok(()));
        let later = start + Duration::from_secs(10);
        assert_eq!(limiter.admit("p", later), Ok(()));
        assert_eq!(
            limiter.admit("p", later),
            Err(Duration::from_secs(50)),
            "the first leaves at 60 s"
        );
        // Another project has its own window.
        assert_eq!(limiter.admit("q", later), Ok(()));
        // The first has left: one more is admitted, then the second is the
        // oldest.
        let after = start + minute;
        assert_eq!(limiter.admit("p", after), Ok(()));
        assert_eq!(limiter.admit("p", after), Err(Duration::from_secs(10)));
    }

    #[test]
    fn a_zero_limit_refuses_everything_for_a_whole_window() {
        let mut limiter = RateLimiter::new(0, Duration::from_secs(5));
        assert_eq!(
            limiter.admit("p", Instant::now()),
            Err(Duration::from_secs(5))
        );
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
    }
}
