//! The types of strings the spec gives a `format`: [`DateTime`]
//! (`format: date-time`), [`Date`] (`format: date`) and [`Uuid`]
//! (`format: uuid`).
//!
//! Each is the text exactly as Atlas sent it, or as the caller wrote it,
//! kept verbatim and sent back unchanged. A parsed type would not round-trip:
//! the `chrono::DateTime<Utc>` that typify would use writes
//! `2025-01-01T00:00:00.5Z` back as `2025-01-01T00:00:00.500Z` and
//! `2025-01-01T08:00:00+08:00` as `2025-01-01T00:00:00Z`, so a value read
//! from one call and sent in the next would change, and a comparison with a
//! stored copy would see a
//! difference that is not there. A value Atlas sends is never refused
//! either: decoding a response accepts any string, so a server that writes a
//! format slightly off (or a newer one) does not break a call.
//!
//! Checking is the caller's choice: [`str::parse`] (`FromStr`) checks the
//! syntax of the format and fails on anything else, while `From<String>` and
//! `From<&str>` take the text as it is. Ordering (`Ord`) is the ordering of
//! the text, which for [`DateTime`] is the order in time only when both
//! values have the same offset and the same number of fractional digits.
//!
//! ```
//! use atlas_stream_connections::{Date, DateTime, Uuid};
//!
//! let at: DateTime = "2025-10-22T13:45:00.5+08:00".parse()?;
//! assert_eq!(at.as_str(), "2025-10-22T13:45:00.5+08:00"); // as written
//! let id: Uuid = "4C2A5F1E-8A2B-4D3C-9E7F-0A1B2C3D4E5F".parse()?;
//! assert_eq!(id.to_string(), "4C2A5F1E-8A2B-4D3C-9E7F-0A1B2C3D4E5F");
//!
//! let error = "2025-02-29".parse::<Date>().unwrap_err(); // not a leap year
//! assert_eq!((error.format(), error.value()), ("date", "2025-02-29"));
//! // `From` takes any text, unchecked, as decoding does.
//! assert_eq!(Date::from("2025-02-29").as_str(), "2025-02-29");
//! # Ok::<(), atlas_stream_connections::FormatError>(())
//! ```
//!
//! The mapping of every format the spec uses, and why, is the module doc of
//! the generator's `codegen/formats.rs`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not of the format [`str::parse`] was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    format: &'static str,
    value: String,
}

impl FormatError {
    /// The format asked for: `date-time`, `date` or `uuid`.
    pub fn format(&self) -> &'static str {
        self.format
    }

    /// The text that was refused.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expected = match self.format {
            "date-time" => "an RFC 3339 date-time such as `2025-10-22T13:45:00Z`",
            "date" => "a date `YYYY-MM-DD`",
            _ => "a UUID `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hexadecimal digits)",
        };
        write!(f, "`{}` is not {expected}", self.value)
    }
}

impl std::error::Error for FormatError {}

macro_rules! string_format {
    ($(#[$doc:meta])* $name:ident, $format:literal, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The text, exactly as received or given.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, exactly as received or given.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            /// Takes the text as it is, unchecked.
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl From<&str> for $name {
            /// Takes the text as it is, unchecked.
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = FormatError;

            /// Checks the syntax, then keeps the text as it is.
            ///
            /// # Errors
            ///
            /// A [`FormatError`] naming the format and the text, when the
            /// text is not of the format (see the type's docs).
            fn from_str(text: &str) -> Result<Self, FormatError> {
                if $check(text.as_bytes()) {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(FormatError {
                        format: $format,
                        value: text.to_owned(),
                    })
                }
            }
        }
    };
}

string_format!(
    /// A `format: date-time` string: an RFC 3339 timestamp
    /// (`2025-10-22T13:45:00.123Z`), kept as the text Atlas sent, so that it
    /// goes back unchanged: a parsed timestamp would be written back
    /// otherwise (`.5Z` as `.500Z`, `+08:00` as `Z`). `"...".parse()` checks
    /// the RFC 3339 syntax; `From` does not.
    DateTime,
    "date-time",
    is_date_time
);

string_format!(
    /// A `format: date` string: `YYYY-MM-DD` (RFC 3339 `full-date`), kept as
    /// the text Atlas sent. `"...".parse()` checks the syntax; `From` does
    /// not.
    Date,
    "date",
    is_date
);

string_format!(
    /// A `format: uuid` string (`4c2a5f1e-8a2b-4d3c-9e7f-0a1b2c3d4e5f`), kept
    /// as the text Atlas sent, in its case. `"...".parse()` checks the
    /// 8-4-4-4-12 hexadecimal form; `From` does not.
    Uuid,
    "uuid",
    is_uuid
);

/// `n` ASCII digits at the start of `b`, as a number.
fn digits(b: &[u8], n: usize) -> Option<u32> {
    let part = b.get(..n)?;
    part.iter().try_fold(0u32, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

/// RFC 3339 `full-date`: `YYYY-MM-DD`, with the day in its month's range.
pub(crate) fn is_date(b: &[u8]) -> bool {
    b.len() == 10 && full_date(b)
}

fn full_date(b: &[u8]) -> bool {
    let (Some(year), Some(month), Some(day)) =
        (digits(b, 4), digits(&b[5..], 2), digits(&b[8..], 2))
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    b[4] == b'-' && b[7] == b'-' && (1..=days).contains(&day)
}

/// RFC 3339 `date-time`: `full-date "T" partial-time time-offset`, where
/// `T` may be lower case (RFC 3339 section 5.6) and the seconds may be a
/// leap second (`60`).
fn is_date_time(b: &[u8]) -> bool {
    if b.len() < 20 || !full_date(&b[..10]) || !matches!(b[10], b'T' | b't') {
        return false;
    }
    let time = &b[11..];
    let (Some(hour), Some(minute), Some(second)) = (
        digits(time, 2),
        digits(&time[3..], 2),
        digits(&time[6..], 2),
    ) else {
        return false;
    };
    if time[2] != b':' || time[5] != b':' || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &time[8..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', offset @ ..] => {
            offset.len() == 5
                && offset[2] == b':'
                && digits(offset, 2).is_some_and(|h| h <= 23)
                && digits(&offset[3..], 2).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

/// `8-4-4-4-12` hexadecimal digits, either case.
fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_byte_for_byte() {
        // What chrono would rewrite: fractional digits, `+00:00`, lower case.
        for text in [
            "2025-01-01T00:00:00.5Z",
            "2025-01-01T00:00:00.500000000+00:00",
            "2025-01-01t00:00:00z",
            "2016-12-31T23:59:60Z",
            "not a date at all",
        ] {
            let json = serde_json::to_string(text).unwrap();
            let value: DateTime = serde_json::from_str(&json).unwrap();
            assert_eq!(value.as_str(), text);
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
            assert_eq!(value.to_string(), text);
            assert_eq!(value.clone().into_inner(), text);
        }
        let date: Date = serde_json::from_str("\"2025-13-45\"").unwrap();
        assert_eq!(serde_json::to_string(&date).unwrap(), "\"2025-13-45\"");
        let uuid: Uuid = serde_json::from_str("\"4C2A5F1E-8A2B-4D3C-9E7F-0A1B2C3D4E5F\"").unwrap();
        assert_eq!(uuid.as_str(), "4C2A5F1E-8A2B-4D3C-9E7F-0A1B2C3D4E5F");
    }

    #[test]
    fn decoding_takes_any_string_and_nothing_else() {
        assert_eq!(
            serde_json::from_str::<Uuid>("\"\"").unwrap(),
            Uuid::from("")
        );
        assert!(serde_json::from_str::<DateTime>("12").is_err());
        assert!(serde_json::from_str::<Date>("null").is_err());
    }

    #[test]
    fn parse_checks_the_syntax_and_keeps_the_text() {
        for ok in [
            "2025-10-22T13:45:00Z",
            "2025-10-22T13:45:00.123456789-07:30",
            "2024-02-29t00:00:00+14:00",
        ] {
            assert_eq!(ok.parse::<DateTime>().unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "2025-10-22",
            "2025-10-22 13:45:00Z",
            "2025-10-22T13:45Z",
            "2025-10-22T24:00:00Z",
            "2025-10-22T13:45:00",
            "2025-10-22T13:45:00.Z",
            "2025-10-22T13:45:00+0100",
            "2025-02-29T00:00:00Z",
            "2025-10-22T13:45:00Z ",
        ] {
            let error = bad.parse::<DateTime>().unwrap_err();
            assert_eq!(error.format(), "date-time");
            assert_eq!(error.value(), bad);
            assert!(error.to_string().contains("RFC 3339"), "{error}");
        }
        assert!("2000-02-29".parse::<Date>().is_ok());
        for bad in [
            "1900-02-29",
            "2025-04-31",
            "2025-00-01",
            "2025-1-01",
            "20251001",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert!(
            "4c2a5f1e-8a2b-4d3c-9e7f-0a1b2c3d4e5f"
                .parse::<Uuid>()
                .is_ok()
        );
        for bad in [
            "4c2a5f1e8a2b4d3c9e7f0a1b2c3d4e5f",
            "4c2a5f1e-8a2b-4d3c-9e7f-0a1b2c3d4e5g",
            "{4c2a5f1e-8a2b-4d3c-9e7f-0a1b2c3d4e5f}",
        ] {
            assert!(
                bad.parse::<Uuid>()
                    .unwrap_err()
                    .to_string()
                    .contains("UUID")
            );
        }
    }

    #[test]
    fn conversions_and_ordering_are_of_the_text() {
        let a = DateTime::from("2025-01-01T00:00:00Z");
        let b = DateTime::from(String::from("2025-01-02T00:00:00Z"));
        assert!(a < b);
        assert_eq!(String::from(a.clone()), "2025-01-01T00:00:00Z");
        assert_eq!(AsRef::<str>::as_ref(&a), a.as_str());
        let set: std::collections::HashSet<Date> =
            [Date::from("2025-01-01"), Date::from("2025-01-01")].into();
        assert_eq!(set.len(), 1);
    }
}
