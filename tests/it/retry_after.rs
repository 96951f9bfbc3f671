//! `Retry-After` as an HTTP-date, in each of the three forms RFC 9110
//! (§5.6.7) requires a recipient to accept, on `429` and `503` answers of a
//! server on 127.0.0.1. A date in the past means "now" (the call is retried
//! at once); a date decades ahead is read, not waited out, and handed back.

use std::time::Duration;

use crate::support::{Reply, Server, bearer_builder, create, created, in_turn};
use atlas_stream_connections::{Client, Error};

const RATE_LIMITED: &str = r#"{"error":429,"errorCode":"RATE_LIMITED","detail":"Too many requests.","reason":"Too Many Requests"}"#;
const UNAVAILABLE: &str = r#"{"error":503,"errorCode":"SERVICE_UNAVAILABLE","detail":"Try again.","reason":"Service Unavailable"}"#;

/// 1994-11-06 08:49:37 UTC in IMF-fixdate, RFC 850 and asctime.
const PAST: [&str; 3] = [
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
];
/// 2060-01-01 00:00:00 UTC, likewise (an RFC 850 year `60` is 2060).
const FAR_AHEAD: [&str; 3] = [
    "Thu, 01 Jan 2060 00:00:00 GMT",
    "Thursday, 01-Jan-60 00:00:00 GMT",
    "Thu Jan  1 00:00:00 2060",
];

/// Answers `status` with `Retry-After: retry_after` once, then a create.
async fn throttled_once(status: u16, retry_after: &str) -> Server {
    let body = if status == 429 {
        RATE_LIMITED
    } else {
        UNAVAILABLE
    };
    let throttled =
        Reply::json(status, "application/json", body).header("Retry-After", retry_after);
    Server::serve(in_turn(vec![throttled, created()])).await
}

/// Retries without a backoff of its own, waiting at most 5 s.
fn client(server: &Server) -> Client {
    bearer_builder(&server.base_url)
        .retry_backoff(Duration::ZERO, Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_past_http_date_in_each_form_retries_a_429_and_a_503_at_once() {
    // A 503 is retried only when its Retry-After is read: a form left
    // unread would end the call with the 503.
    for status in [429, 503] {
        for date in PAST {
            let server = throttled_once(status, date).await;
            let result = create(&client(&server)).await;
            assert!(result.is_ok(), "{status} {date}: {result:?}");
            assert_eq!(server.requests().len(), 2, "{status} {date}");
        }
    }
}

#[tokio::test]
async fn a_far_http_date_in_each_form_is_read_and_handed_back() {
    // Unread, the 429 would be retried at once (no backoff) and succeed.
    for status in [429, 503] {
        for date in FAR_AHEAD {
            let server = throttled_once(status, date).await;
            let error = create(&client(&server)).await.unwrap_err();
            assert_eq!(
                server.requests().len(),
                1,
                "{status} {date}: not waited out"
            );
            let response = error.response().unwrap_or_else(|| panic!("{error:?}"));
            let after = response.retry_after().unwrap_or_else(|| panic!("{date}"));
            let thirty_years = Duration::from_secs(30 * 365 * 86_400);
            assert!(after > thirty_years, "{status} {date}: {after:?}");
            assert!(error.is_retryable(), "{status} {date}");
            match status {
                429 => assert!(matches!(error, Error::RateLimited(_)), "{error:?}"),
                _ => assert_eq!(error.status().map(|s| s.as_u16()), Some(503)),
            }
        }
    }
}

#[tokio::test]
async fn a_date_whose_weekday_is_wrong_is_no_retry_after() {
    // 1994-11-06 was a Sunday: with a Monday the value is malformed, so the
    // 503 carries no Retry-After and is not retried.
    for date in [
        "Mon, 06 Nov 1994 08:49:37 GMT",
        "Monday, 06-Nov-94 08:49:37 GMT",
        "Mon Nov  6 08:49:37 1994",
    ] {
        let server = throttled_once(503, date).await;
        let error = create(&client(&server)).await.unwrap_err();
        assert_eq!(server.requests().len(), 1, "{date}");
        let response = error.response().unwrap_or_else(|| panic!("{error:?}"));
        assert_eq!(response.retry_after(), None, "{date}");
        assert!(!error.is_retryable(), "{date}");
    }
}
