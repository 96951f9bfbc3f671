//! The rate limiter, as Atlas documents its own ("Atlas Administration API
//! Rate Limits"): a token bucket per project. The bucket holds at most
//! `capacity` tokens and starts full; each request admitted takes one; every
//! `refill_every`, `refill_rate` tokens are put back (up to the capacity).
//! An empty bucket refuses the request with `429`, errorCode
//! `RATE_LIMITED_TOKEN_BUCKET`, a `detail` and `parameters` that give the
//! retry delay, the capacity and the refill rate, and the `Retry-After`,
//! `RateLimit-Limit` and `RateLimit-Remaining` headers (the shapes of the
//! documentation's example).
//!
//! Its answers depend only on the instants of the requests, so a test with
//! a long refill interval (an hour, say) knows which request is refused
//! whatever the machine's speed, and how long `Retry-After` says to wait (a
//! whole number of seconds, rounded up, never 0). Refused requests take no
//! token, as a client that waits as told must then be admitted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A token bucket per project.
pub(crate) struct RateLimiter {
    pub capacity: u32,
    pub refill_rate: u32,
    pub refill_every: Duration,
    buckets: HashMap<String, Bucket>,
}

struct Bucket {
    tokens: u32,
    /// The instant of the last refill (or of the first request).
    refilled_at: Instant,
}

impl RateLimiter {
    pub fn new(capacity: u32, refill_rate: u32, refill_every: Duration) -> Self {
        Self {
            capacity,
            refill_rate,
            refill_every,
            buckets: HashMap::new(),
        }
    }

    /// Admits a request of `project` at `now`, saying how many tokens are
    /// left, or says how long to wait before one would be admitted.
    pub fn admit(&mut self, project: &str, now: Instant) -> Result<u32, Duration> {
        if self.buckets.len() >= MAX_BUCKETS && !self.buckets.contains_key(project) {
            self.forget_full(now);
        }
        let capacity = self.capacity;
        let bucket = self.buckets.entry(project.to_owned()).or_insert(Bucket {
            tokens: capacity,
            refilled_at: now,
        });
        let every = self.refill_every.max(Duration::from_nanos(1));
        let elapsed = now.saturating_duration_since(bucket.refilled_at);
        let refills = elapsed.as_nanos() / every.as_nanos();
        if refills > 0 {
            let added = u128::from(self.refill_rate).saturating_mul(refills);
            let tokens = (u128::from(bucket.tokens) + added).min(u128::from(capacity));
            bucket.tokens = u32::try_from(tokens).unwrap_or(capacity);
            let step = u32::try_from(refills).unwrap_or(u32::MAX);
            bucket.refilled_at += every.saturating_mul(step);
        }
        if bucket.tokens > 0 {
            bucket.tokens -= 1;
            return Ok(bucket.tokens);
        }
        // Empty: the next refill (with no refill at all, never sooner than
        // an interval).
        let refill = bucket.refilled_at.checked_add(every);
        Err(refill.map_or(Duration::MAX, |at| at.saturating_duration_since(now)))
    }
}

/// Projects with a bucket of their own, at most, before full buckets (no
/// different from a new one) are forgotten: a server that runs for long,
/// sent ever new project ids, keeps bounded memory.
const MAX_BUCKETS: usize = 4096;

impl RateLimiter {
    /// Forgets the buckets that are full again at `now`.
    fn forget_full(&mut self, now: Instant) {
        let (capacity, rate) = (
            u128::from(self.capacity),
            u128::from(self.refill_rate.max(1)),
        );
        let every = self.refill_every.max(Duration::from_nanos(1)).as_nanos();
        self.buckets.retain(|_, bucket| {
            let missing = capacity.saturating_sub(u128::from(bucket.tokens));
            let refills = missing.div_ceil(rate);
            let elapsed = now.saturating_duration_since(bucket.refilled_at).as_nanos();
            elapsed / every < refills
        });
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
    fn a_full_bucket_admits_its_capacity_then_waits_for_the_next_refill() {
        let start = Instant::now();
        let minute = Duration::from_secs(60);
        // The documentation's example: capacity 10, 5 tokens per 60 s.
        let mut limiter = RateLimiter::new(10, 5, minute);
        for left in (0..10).rev() {
            assert_eq!(limiter.admit("p", start), Ok(left));
        }
        let later = start + Duration::from_secs(10);
        assert_eq!(limiter.admit("p", later), Err(Duration::from_secs(50)));
        // Another project has its own bucket.
        assert_eq!(limiter.admit("q", later), Ok(9));
        // One refill: 5 tokens, not 10.
        let after = start + minute;
        for left in (0..5).rev() {
            assert_eq!(limiter.admit("p", after), Ok(left));
        }
        assert_eq!(limiter.admit("p", after), Err(minute));
        // Three intervals later the bucket is full again, never fuller.
        let much_later = start + minute * 4;
        assert_eq!(limiter.admit("p", much_later), Ok(9));
        assert_eq!(
            limiter.admit("p", much_later + Duration::from_secs(59)),
            Ok(8),
            "the refill instants stay on the interval's grid"
        );
        assert_eq!(limiter.admit("p", start + minute * 5), Ok(9));
    }

    #[test]
    fn an_interval_past_the_clocks_end_refuses_without_a_panic() {
        let mut limiter = RateLimiter::new(1, 1, Duration::MAX);
        let now = Instant::now();
        assert_eq!(limiter.admit("p", now), Ok(0));
        assert_eq!(limiter.admit("p", now), Err(Duration::MAX));
        assert_eq!(retry_after_seconds(Duration::MAX), u64::MAX);
    }

    #[test]
    fn full_buckets_are_forgotten_past_a_bound_and_the_others_kept() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(2, 1, Duration::from_secs(1));
        for n in 0..MAX_BUCKETS {
            assert_eq!(limiter.admit(&format!("p{n}"), start), Ok(1));
        }
        assert_eq!(limiter.admit("p0", start), Ok(0), "emptied");
        // One second on, every bucket but p0's is full again.
        let later = start + Duration::from_secs(1);
        assert_eq!(limiter.admit("new", later), Ok(1));
        assert_eq!(limiter.buckets.len(), 2, "p0 (one token short) and new");
        assert_eq!(limiter.admit("p0", later), Ok(0), "p0 kept its count");
    }

    #[test]
    fn a_zero_capacity_refuses_everything_for_a_whole_interval() {
        let mut limiter = RateLimiter::new(0, 5, Duration::from_secs(5));
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
