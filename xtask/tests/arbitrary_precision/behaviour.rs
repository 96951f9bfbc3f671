//! Run by xtask/tests/arbitrary_precision.rs inside a copy of the crate
//! whose serde_json has the `arbitrary_precision` feature on: numbers that
//! no 64-bit integer or `f64` holds exactly, before a union's tag and in a
//! kind the crate does not know, go back out with every digit.

use atlas_stream_connections::types::StreamsConnection;
use serde_json::{Number, Value};

/// Numbers only the feature keeps: beyond 64 bits, beyond `f64`'s range,
/// beyond its precision, and a float written with a trailing zero. Written
/// as serde_json keeps them (it writes an exponent's sign: `1e400` is kept
/// as `1e+400`, by `Value` too).
const NUMBERS: &str = r#""big":12345678901234567890123,"huge":1e+400,"pi":3.14159265358979323846264338327950288,"trailing":1.50,"list":[-98765432109876543210,{"deep":1e-400}]"#;

fn decode(text: &str) -> StreamsConnection {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Every number of [`NUMBERS`], as written, is in `written`.
fn assert_every_digit(written: &str) {
    for number in [
        "\"big\":12345678901234567890123",
        "\"huge\":1e+400",
        "\"pi\":3.14159265358979323846264338327950288",
        "\"trailing\":1.50",
        "[-98765432109876543210,{\"deep\":1e-400}]",
    ] {
        assert!(written.contains(number), "{number} not in {written}");
    }
}

#[test]
fn the_feature_is_on() {
    assert!("1e400".parse::<Number>().is_ok());
}

/// [`NUMBERS`] before and after the tag of a `kind`: decoded (and checked
/// by `check`), written with every digit, the same JSON.
fn every_digit_goes_back(kind: &str, check: impl Fn(&StreamsConnection)) {
    for text in [
        format!(r#"{{{NUMBERS},"type":"{kind}","name":"n"}}"#),
        format!(r#"{{"name":"n","type":"{kind}",{NUMBERS}}}"#),
    ] {
        let decoded = decode(&text);
        check(&decoded);
        let written = serde_json::to_string(&decoded).unwrap();
        assert_every_digit(&written);
        assert_eq!(
            serde_json::from_str::<Value>(&written).unwrap(),
            serde_json::from_str::<Value>(&text).unwrap()
        );
    }
}

#[test]
fn an_unknown_kind_keeps_every_digit_before_and_after_its_tag() {
    every_digit_goes_back("Future", |decoded| {
        let StreamsConnection::Unknown(unknown) = decoded else {
            panic!("not unknown: {decoded:?}")
        };
        assert_eq!(unknown.kind(), "Future");
        let big = &unknown.as_json()["big"];
        assert_eq!(big.to_string(), "12345678901234567890123");
    });
}

#[test]
fn a_known_kind_keeps_every_digit_before_and_after_its_tag_in_extra() {
    every_digit_goes_back("Kafka", |decoded| {
        let StreamsConnection::Kafka(kafka) = decoded else {
            panic!("not Kafka: {decoded:?}")
        };
        assert_eq!(kafka.name.as_deref(), Some("n"));
        assert_eq!(kafka.extra["huge"].to_string(), "1e+400");
    });
}

#[test]
fn a_number_where_the_kind_wants_a_string_is_still_a_type_error() {
    let err = serde_json::from_str::<StreamsConnection>(r#"{"name":1.50,"type":"Kafka"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("StreamsConnection of kind `Kafka`: invalid type"), "{err}");
}
