//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, not a
//! public API): every parser fed by the network, reachable from outside.
//!
//! Each function takes arbitrary bytes and must return normally whatever
//! they are. A panic is a bug of the crate: either a parser panicked, or one
//! of the checks here found a parser's answer inconsistent (a decoded value
//! that does not survive a round trip, an accessor that disagrees with the
//! typed body, a `Retry-After` date read wrong). [`TARGETS`] lists them all
//! by the name of their fuzz target, for the replay harness in `fuzz/`.
//!
//! Inputs that hold several header values split them on `\n`, a byte that
//! no header value can contain.

// A harness: its checks report by panicking, as the fuzzer expects, so
// unwrapping here is an assertion (unwrap is denied in the library proper).
#![allow(clippy::unwrap_used)]

use std::fmt::Debug;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiErrorResponse, Error, RateLimit};
use crate::types::{ApiError, StreamsConnection};
use crate::{SecretString, auth, retry, send};

/// An entry point: takes any bytes, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every entry point, by the name of its fuzz target (`fuzz/fuzz_targets/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("decode_connection", decode_connection),
    ("decode_api_error", decode_api_error),
    ("envelope", envelope),
    ("error_response", error_response),
    ("www_authenticate", www_authenticate),
    ("retry_after", retry_after),
    ("rate_limit", rate_limit),
    ("token_answer", token_answer),
    ("decode_lenient", decode_lenient),
];

/// A 2xx body of `Create One Stream Connection`: decodes a
/// [`StreamsConnection`] (the tagged union of every kind, so every nested
/// generated type, the `Unknown` kind and every `extra` map), and checks
/// that a decoded value serialises and decodes again to an equal value.
pub fn decode_connection(data: &[u8]) {
    round_trip::<StreamsConnection>(data);
}

/// A 2xx body as the client decodes it: leniently (`crate::decode`: no
/// request-side pattern, `null` lists and maps as empty), round trip
/// included, both decodes lenient (a value read leniently need not pass the
/// strict check again). Also checks that the strict decoder never takes
/// what the lenient one refuses.
pub fn decode_lenient(data: &[u8]) {
    let lenient_ok =
        crate::decode::leniently(|| serde_json::from_slice::<StreamsConnection>(data).is_ok());
    let strict_ok = serde_json::from_slice::<StreamsConnection>(data).is_ok();
    assert!(
        lenient_ok || !strict_ok,
        "strict decoding took what lenient refused"
    );
    crate::decode::leniently(|| round_trip::<StreamsConnection>(data));
}

/// An Atlas error body as the generated [`ApiError`] (with
/// `BadRequestDetail` and `FieldViolation`), round trip included.
pub fn decode_api_error(data: &[u8]) {
    round_trip::<ApiError>(data);
}

/// `data` as the body of a `200` answer to an `envelope=true` request, put
/// through the unwrapping every such exchange gets; the rebuilt response's
/// body is then read, as the generated client reads it.
pub fn envelope(data: &[u8]) {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
    headers.insert("x-request-id", HeaderValue::from_static("fuzz"));
    let body = Bytes::copy_from_slice(data);
    let response = send::unwrap_envelope(StatusCode::OK, headers, body.clone());
    let status = response.status();
    let headers = response.headers().clone();
    let Poll::Ready(read) = poll_once(response.bytes()) else {
        panic!("a response rebuilt from bytes in memory did not read at once");
    };
    let read = read.expect("a body in memory reads");
    assert!(
        headers.get(CONTENT_LENGTH).is_none(),
        "a rebuilt response keeps a Content-Length that may no longer hold"
    );
    assert_eq!(headers.get("x-request-id").unwrap(), "fuzz");
    if status != StatusCode::OK || read != body {
        // Unwrapped: the body is the envelope's `content`, as JSON.
        let content = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("content").cloned());
        let inner = serde_json::from_slice::<Value>(&read).ok();
        let same = match (&content, &inner) {
            (Some(content), Some(inner)) => same_json(content, inner),
            _ => false,
        };
        assert!(same, "an unwrapped body is not the envelope's content");
    }
}

/// An error answer (status chosen by the length of `data` among those
/// Atlas sends) whose body is `data`: what [`ApiErrorResponse`](crate::ApiErrorResponse) reads of it
/// (Atlas's and OAuth's shapes), every accessor, and the `Display` of the
/// [`Error`] it becomes. The crate's own reading of an Atlas body must agree
/// with the generated [`ApiError`] whenever that decodes.
pub fn error_response(data: &[u8]) {
    const STATUSES: [u16; 10] = [400, 401, 403, 404, 409, 410, 429, 500, 502, 503];
    let status = StatusCode::from_u16(STATUSES[data.len() % STATUSES.len()]).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("retry-after", HeaderValue::from_static("7"));
    headers.insert("ratelimit-remaining", HeaderValue::from_static("0"));
    let body = Bytes::copy_from_slice(data);
    let response = ApiErrorResponse::new("POST", "/fuzz", status, headers, body);

    let (code, detail) = (response.error_code(), response.detail());
    let (reason, parameters) = (response.reason(), response.parameters());
    let fields = response.bad_request_fields();
    if let Some(typed) = response.api_error() {
        assert_eq!(code, Some(typed.error_code.as_str()), "errorCode");
        assert_eq!(detail, typed.detail.as_deref(), "detail");
        assert_eq!(reason, typed.reason.as_deref(), "reason");
        assert_eq!(parameters, typed.parameters.as_slice(), "parameters");
        let typed_fields = typed.bad_request_detail.as_ref().map(|d| &d.fields[..]);
        assert_eq!(fields, typed_fields.unwrap_or_default(), "fields");
    }
    if let Some(oauth) = response.oauth_error() {
        assert_eq!(code, Some(oauth.error.as_str()), "OAuth error");
        assert_eq!(detail, oauth.error_description.as_deref());
        assert!(response.api_error().is_none() && fields.is_empty());
    }
    assert_eq!(response.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(response.rate_limit().remaining, Some(0));
    let (shown, code) = (response.to_string(), code.map(str::to_owned));
    let error = Error::from_response(response);
    let text = error.to_string();
    assert!(text.contains(&shown), "`{text}` lost `{shown}`");
    assert_eq!(error.status(), Some(status));
    assert_eq!(error.error_code(), code.as_deref());
    let _ = error.is_retryable();
}

/// `WWW-Authenticate` values (`data` split on `\n`; values a header cannot
/// hold are dropped): the Digest challenge chosen from them, and the
/// `Authorization` answer computed for it, which must be a non-empty header.
///
/// Nothing in the crate reads `Authentication-Info` (the client does not
/// check `rspauth`), so it has no target.
pub fn www_authenticate(data: &[u8]) {
    let values = header_values(data);
    let Ok(challenge) = auth::digest::parse_challenges(&values) else {
        return;
    };
    assert!(!challenge.nonce.is_empty(), "a challenge without a nonce");
    let password = SecretString::new("fuzz-private-key");
    let uri = "/api/atlas/v2/groups?pageNum=1";
    let cnonce = "0a4f113b";
    let answer = auth::digest::authorization(&challenge, "user", &password, "POST", uri, 1, cnonce);
    assert!(answer.is_sensitive());
    let text = answer
        .to_str()
        .expect("an Authorization value is visible ASCII");
    assert!(text.starts_with("Digest username="), "`{text}`");
}

/// `Retry-After` values (`data` split on `\n`, the first one counts):
/// delay-seconds must read as that many seconds, and a well-formed
/// IMF-fixdate (RFC 9110 §5.6.7) as the time left until it, checked against
/// a calendar computed here day by day.
pub fn retry_after(data: &[u8]) {
    let values = header_values(data);
    let mut headers = HeaderMap::new();
    for value in &values {
        headers.append("retry-after", value.clone());
    }
    let before = SystemTime::now();
    let read = retry::retry_after(&headers);
    let after = SystemTime::now();
    if values
        .first()
        .is_some_and(|v| v.len() > retry::MAX_RETRY_AFTER_LEN)
    {
        assert_eq!(read, None, "a value longer than any Retry-After is ignored");
        return;
    }
    let Some(first) = values.first().and_then(|v| v.to_str().ok()) else {
        assert_eq!(read, None, "a value that is not text");
        return;
    };
    let first = first.trim_matches([' ', '\t']);
    if !first.is_empty() && first.len() <= 19 && first.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = first.parse().unwrap();
        assert_eq!(read, Some(Duration::from_secs(seconds)), "`{first}`");
    } else if let Some(at) = imf_fixdate(first) {
        let read = read.unwrap_or_else(|| panic!("`{first}` was not read as a date"));
        let low = at.duration_since(after).unwrap_or_default();
        let high = at.duration_since(before).unwrap_or_default();
        // The crate reads the clock between our two readings; whole seconds.
        assert!(
            read + Duration::from_secs(1) >= low && read <= high + Duration::from_secs(1),
            "`{first}` read as {read:?}, expected {low:?}..={high:?}"
        );
    }
}

/// `RateLimit-Limit`, `-Remaining` and `-Reset` values (`data` split on
/// `\n`, given to the three names in turn, so names repeat): each is read
/// when its first value is a decimal number, and only then.
pub fn rate_limit(data: &[u8]) {
    const NAMES: [&str; 3] = ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"];
    let mut headers = HeaderMap::new();
    for (i, value) in header_values(data).into_iter().enumerate() {
        headers.append(HeaderName::from_static(NAMES[i % 3]), value);
    }
    let read = RateLimit::from_headers(&headers);
    let expected = |name: &str| {
        let text = headers.get(name)?.to_str().ok()?;
        let text = text.trim_matches([' ', '\t']);
        let digits = !text.is_empty() && text.len() <= 19;
        (digits && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse::<u64>().unwrap())
    };
    let check = |name: &str, got: Option<u64>| match (headers.get(name), expected(name)) {
        (None, _) => got.is_none(),
        (Some(_), Some(n)) => got == Some(n),
        // `u64::from_str` also takes a leading `+`, and 20 digits.
        (Some(_), None) => true,
    };
    assert!(check(NAMES[0], read.limit), "limit {read:?}");
    assert!(check(NAMES[1], read.remaining), "remaining {read:?}");
    assert!(
        check(NAMES[2], read.reset.map(|d| d.as_secs())),
        "reset {read:?}"
    );
}

/// A token endpoint's answer (RFC 6749 §5.1): an accepted token is
/// non-empty visible ASCII (it goes into a header), and its lifetime is the
/// `expires_in` of the body.
pub fn token_answer(data: &[u8]) {
    let Ok((token, expires_in)) = auth::oauth::parse_token(data) else {
        return;
    };
    let token = token.expose_secret();
    assert!(!token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()));
    assert!(HeaderValue::from_str(&format!("Bearer {token}")).is_ok());
    let body: Value = serde_json::from_slice(data).expect("an accepted answer is JSON");
    assert_eq!(
        body.get("expires_in").and_then(Value::as_u64),
        Some(expires_in)
    );
    assert_eq!(
        body.get("access_token").and_then(Value::as_str),
        Some(token)
    );
}

/// Decodes `data` as `T`; a value that decodes must serialise, decode again
/// and compare equal (floats: see [`same_json`]).
fn round_trip<T>(data: &[u8])
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let Ok(first) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let text = serde_json::to_vec(&first)
        .unwrap_or_else(|e| panic!("a decoded value does not serialise: {e}\n{first:?}"));
    let again = serde_json::from_slice::<T>(&text).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(&text);
        panic!("a serialised value does not decode: {e}\n{text}")
    });
    if first != again {
        let (a, b) = (serde_json::to_value(&first), serde_json::to_value(&again));
        assert!(
            same_json(&a.unwrap(), &b.unwrap()),
            "not the same value after a round trip:\n{first:?}\n{again:?}"
        );
    }
}

/// `a == b`, except that while serde_json reads floats only to within a
/// unit in the last place (it is built without its `float_roundtrip`
/// feature), floats may differ by a few such units: a float that is not
/// kept exactly is a known finding (fuzz/README.md), not the one to stop at.
/// With the feature on, this is `a == b`.
fn same_json(a: &Value, b: &Value) -> bool {
    if a == b || floats_read_exactly() {
        return a == b;
    }
    match (a, b) {
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|((ka, a), (kb, b))| ka == kb && same_json(a, b))
        }
        (Value::Number(a), Value::Number(b)) if a.is_f64() && b.is_f64() => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            a.is_sign_negative() == b.is_sign_negative() && a.to_bits().abs_diff(b.to_bits()) <= 4
        }
        _ => false,
    }
}

/// Whether serde_json reads a float that its default reader gets one unit
/// off (found by `decode_connection`) as the standard library does.
fn floats_read_exactly() -> bool {
    ["7.417737816949367e-172", "7.417737816949368e-172"]
        .iter()
        .all(|text| serde_json::from_str::<f64>(text).ok() == text.parse::<f64>().ok())
}

/// `data` split on `\n` into the header values it can make.
fn header_values(data: &[u8]) -> Vec<HeaderValue> {
    data.split(|&b| b == b'\n')
        .filter_map(|v| HeaderValue::from_bytes(v).ok())
        .collect()
}

/// Polls `future` once, with a waker that does nothing.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    pin!(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// A strictly well-formed IMF-fixdate from 1970 on, of a day that exists
/// (`Sun, 06 Nov 1994 08:49:37 GMT`; the weekday is not checked against the
/// date), as a time; `None` for anything else.
fn imf_fixdate(text: &str) -> Option<SystemTime> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = text.as_bytes();
    if b.len() != 29 || !text.is_ascii() || &text[3..5] != ", " || &text[25..] != " GMT" {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u64> {
        let digits = &text[range];
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let separators = [(7, b' '), (11, b' '), (16, b' '), (19, b':'), (22, b':')];
    if !DAYS.contains(&&text[..3]) || separators.iter().any(|&(i, s)| b[i] != s) {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == &text[8..11])? as u64 + 1;
    let (day, year) = (number(5..7)?, number(12..16)?);
    let (hour, minute, second) = (number(17..19)?, number(20..22)?, number(23..25)?);
    let leap = |y: u64| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let month_days = |y: u64, m: u64| match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if year < 1970 || day == 0 || day > month_days(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let years: u64 = (1970..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    let months: u64 = (1..month).map(|m| month_days(year, m)).sum();
    let days = years + months + day - 1;
    // The weekday must be the date's (1970-01-01 was a Thursday): RFC 9110's
    // form is read with it checked, and one that disagrees is no date.
    if DAYS[((days + 3) % 7) as usize] != &text[..3] {
        return None;
    }
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}
