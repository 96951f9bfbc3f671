//! When to try a request again, and how long to wait first.
//!
//! Creating a connection is not idempotent, so only answers that say the
//! server did not act on the request are retried: `429 Too Many Requests`,
//! and `503 Service Unavailable` when it carries `Retry-After`. Every other
//! status, 5xx included, goes back to the caller, who knows whether a
//! duplicate would hurt.
//!
//! Requests that are safe to repeat (a token request, a revocation, a
//! Digest probe without body or credentials) are
//! also retried after any `5xx` and after a connection failure, with the same
//! backoff and limits ([`RetryPolicy::idempotent_delay`]): one fault at the
//! token endpoint must not fail every call waiting for the token.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::ApiErrorResponse;

/// Retries after the first attempt, by default.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// First backoff step, by default; each retry doubles it.
pub const DEFAULT_RETRY_BASE_DELAY: Duration = Duration::from_secs(1);
/// Longest wait before a retry, by default. A `Retry-After` longer than this
/// is not waited out: the call fails with [`Error::RateLimited`] and the
/// server's `Retry-After`, for the caller to schedule.
///
/// [`Error::RateLimited`]: crate::Error::RateLimited
pub const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// How a client retries throttled requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: DEFAULT_MAX_RETRIES,
            base_delay: DEFAULT_RETRY_BASE_DELAY,
            max_delay: DEFAULT_MAX_RETRY_DELAY,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retries_done + 1`, or `None` when the
    /// answer must go back to the caller.
    pub fn delay(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        retries_done: u32,
    ) -> Option<Duration> {
        // Only these two are ever retried: any other answer is not looked
        // into (this runs after every response).
        if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
            return None;
        }
        let retry_after = retry_after(headers);
        let throttled = status == StatusCode::TOO_MANY_REQUESTS || retry_after.is_some();
        self.wait(throttled, retry_after, retries_done)
    }

    /// The same for a request that is safe to repeat (a token request, a
    /// revocation): also after any `5xx`, and after a request that got no
    /// answer at all (`answer` is `None`: refused, reset or broken off).
    pub fn idempotent_delay(
        &self,
        answer: Option<(StatusCode, &HeaderMap)>,
        retries_done: u32,
    ) -> Option<Duration> {
        match answer {
            None => self.wait(true, None, retries_done),
            Some((status, headers)) => self.wait(
                status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
                retry_after(headers),
                retries_done,
            ),
        }
    }

    /// The wait before a retry that `retryable` allows, honouring the
    /// server's `Retry-After` up to the longest wait.
    fn wait(
        &self,
        retryable: bool,
        retry_after: Option<Duration>,
        retries_done: u32,
    ) -> Option<Duration> {
        if !retryable || retries_done >= self.max_retries {
            return None;
        }
        let server_says = retry_after.unwrap_or_default();
        if server_says > self.max_delay {
            return None;
        }
        Some(server_says.max(self.backoff(retries_done)))
    }

    /// Exponential backoff with "equal jitter": half the step is fixed, the
    /// other half random, so concurrent clients spread out but none retries
    /// at once.
    fn backoff(&self, retries_done: u32) -> Duration {
        let step = self
            .base_delay
            .saturating_mul(1u32 << retries_done.min(16))
            .min(self.max_delay);
        let half = step / 2;
        half + half.mul_f64(unit_random())
    }
}

/// A uniform number in `[0, 1)` from the operating system; `0.5` should the
/// OS refuse, which only makes the jitter less spread.
fn unit_random() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// The longest `Retry-After` value read: an HTTP-date is 29 characters,
/// delay-seconds at most 20 digits for a `u64`. A longer value is no valid
/// one and is not looked at.
pub(crate) const MAX_RETRY_AFTER_LEN: usize = 64;

/// `Retry-After` as a duration from now: delay-seconds or an HTTP-date
/// (RFC 9110 §10.2.3) in any of the three forms a recipient must accept
/// (§5.6.7): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37
/// 1994`). A date in the past is zero; anything unreadable (a weekday that
/// does not match its date included), or longer than any valid value, is
/// absent.
///
/// The dates are read by `httpdate` (hyper's own reader of them). It takes
/// an RFC 850 two-digit year as 1970 to 2069, where RFC 9110 takes a year
/// more than 50 years ahead as the past century: the two differ only for
/// dates 44 years or more away, which no client waits out.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?;
    if value.len() > MAX_RETRY_AFTER_LEN {
        return None;
    }
    let value = value.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

// Here rather than in error.rs, which imports nothing of the crate's
// handwritten modules: the error reads its headers when asked.
impl ApiErrorResponse {
    /// `Retry-After`, as a duration from now.
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
        }
        headers
    }

    /// `Retry-After` read from a header holding `value`.
    fn read(value: &str) -> Option<Duration> {
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        retry_after(&map)
    }

    #[test]
    fn http_dates_are_read_in_all_three_forms() {
        use std::time::UNIX_EPOCH;
        // The same instant in each form of RFC 9110 §5.6.7, and a leap day.
        for (value, seconds) in [
            ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777),
            ("Sunday, 06-Nov-94 08:49:37 GMT", 784_111_777),
            ("Sun Nov  6 08:49:37 1994", 784_111_777),
            ("Thu, 29 Feb 2024 00:00:00 GMT", 1_709_164_800),
            ("Thursday, 29-Feb-24 00:00:00 GMT", 1_709_164_800),
            ("Thu Feb 29 00:00:00 2024", 1_709_164_800),
        ] {
            let at = httpdate::parse_http_date(value).unwrap();
            assert_eq!(at, UNIX_EPOCH + Duration::from_secs(seconds), "{value}");
            assert_eq!(read(value), Some(Duration::ZERO), "{value}: in the past");
        }
        // A date a day ahead, in each form, is about a day away.
        let ahead = SystemTime::now() + Duration::from_secs(86_400);
        let imf = httpdate::fmt_http_date(ahead);
        for value in [imf.clone(), rfc850(&imf), asctime(&imf)] {
            let wait = read(&value).unwrap_or_else(|| panic!("{value}: not read"));
            assert!(
                (Duration::from_secs(86_398)..=Duration::from_secs(86_400)).contains(&wait),
                "{value}: {wait:?}"
            );
        }
    }

    #[test]
    fn malformed_http_dates_are_absent() {
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sunday, 6-Nov-94 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "-1",
            "1.5",
        ] {
            assert_eq!(read(bad), None, "{bad:?}");
        }
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` as `Sunday, 06-Nov-94 08:49:37 GMT`.
    fn rfc850(imf: &str) -> String {
        let day = match &imf[..3] {
            "Mon" => "Monday",
            "Tue" => "Tuesday",
            "Wed" => "Wednesday",
            "Thu" => "Thursday",
            "Fri" => "Friday",
            "Sat" => "Saturday",
            _ => "Sunday",
        };
        format!(
            "{day}, {}-{}-{} {} GMT",
            &imf[5..7],
            &imf[8..11],
            &imf[14..16],
            &imf[17..25]
        )
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` as `Sun Nov  6 08:49:37 1994`.
    fn asctime(imf: &str) -> String {
        let day = imf[5..7].trim_start_matches('0');
        format!(
            "{} {} {day:>2} {} {}",
            &imf[..3],
            &imf[8..11],
            &imf[17..25],
            &imf[12..16]
        )
    }

    #[test]
    fn retry_after_reads_seconds_and_past_dates() {
        assert_eq!(
            retry_after(&headers(Some("7"))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers(Some("Sun, 06 Nov 1994 08:49:37 GMT"))),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(Some("soon"))), None);
        assert_eq!(retry_after(&headers(None)), None);
    }

    #[test]
    fn retry_after_longer_than_any_valid_value_is_absent() {
        let padded = |len: usize| {
            let mut map = HeaderMap::new();
            let value = format!("{}7", "0".repeat(len - 1));
            map.insert(RETRY_AFTER, HeaderValue::from_str(&value).unwrap());
            map
        };
        assert_eq!(
            retry_after(&padded(MAX_RETRY_AFTER_LEN)),
            Some(Duration::from_secs(7))
        );
        assert_eq!(retry_after(&padded(MAX_RETRY_AFTER_LEN + 1)), None);
        assert_eq!(retry_after(&padded(400 * 1024)), None);
    }

    #[test]
    fn only_throttling_is_retried_and_never_past_the_limits() {
        let policy = RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        };
        let limited = StatusCode::TOO_MANY_REQUESTS;
        let unavailable = StatusCode::SERVICE_UNAVAILABLE;
        let wait = policy.delay(limited, &headers(Some("3")), 0).unwrap();
        assert_eq!(wait, Duration::from_secs(3), "Retry-After is honoured");
        let backoff = policy.delay(limited, &headers(None), 1).unwrap();
        assert!(
            (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&backoff),
            "second retry waits half to all of 200 ms: {backoff:?}"
        );
        assert_eq!(policy.delay(limited, &headers(None), 2), None, "limit");
        assert_eq!(policy.delay(limited, &headers(Some("11")), 0), None, "cap");
        assert_eq!(policy.delay(unavailable, &headers(None), 0), None);
        assert!(policy.delay(unavailable, &headers(Some("0")), 0).is_some());
        for status in [500, 502, 504, 400, 409] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(policy.delay(status, &headers(Some("1")), 0), None);
        }
        let off = RetryPolicy {
            max_retries: 0,
            ..policy
        };
        assert_eq!(off.delay(limited, &headers(Some("0")), 0), None);
    }

    #[test]
    fn idempotent_requests_are_also_retried_after_5xx_and_no_answer() {
        let policy = RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        };
        let none = headers(None);
        for status in [500, 502, 503, 504, 429] {
            let status = StatusCode::from_u16(status).unwrap();
            let wait = policy.idempotent_delay(Some((status, &none)), 0).unwrap();
            assert!(
                (Duration::from_millis(50)..=Duration::from_millis(100)).contains(&wait),
                "{status}: {wait:?}"
            );
            assert_eq!(policy.idempotent_delay(Some((status, &none)), 2), None);
        }
        let wait = policy
            .idempotent_delay(Some((StatusCode::BAD_GATEWAY, &headers(Some("3")))), 1)
            .unwrap();
        assert_eq!(wait, Duration::from_secs(3), "Retry-After is honoured");
        let capped = headers(Some("11"));
        let too_long = policy.idempotent_delay(Some((StatusCode::BAD_GATEWAY, &capped)), 0);
        assert_eq!(too_long, None, "a Retry-After past the longest wait");
        assert!(policy.idempotent_delay(None, 1).is_some(), "no answer");
        assert_eq!(policy.idempotent_delay(None, 2), None, "limit");
        for status in [200, 400, 401, 404, 409] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(policy.idempotent_delay(Some((status, &none)), 0), None);
        }
    }
}
