//! Decoding the seven seed responses, typed (`types::StreamsConnection`)
//! and into a `serde_json::Value`, and encoding them back to JSON bytes
//! from each. Both sides read the same bytes and write the same responses;
//! throughput is counted in the bytes of the seed files (decoding) and of
//! the compact JSON the `Value`s encode to (encoding), the same count for
//! both sides, so that the ratio is one of times.

use std::hint::black_box;
use std::time::{Duration, Instant};

use atlas_stream_connections::types::StreamsConnection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::BenchError;
use crate::fixtures::RESPONSES;

/// The seven responses decoded both ways, for the encoding figure.
pub struct Decoded {
    /// Typed, in the order of [`RESPONSES`].
    pub typed: Vec<StreamsConnection>,
    /// As `Value`s, in the same order.
    pub values: Vec<Value>,
}

impl Decoded {
    /// Decodes every seed response both ways; an error names the kind.
    pub fn new() -> Result<Self, BenchError> {
        let mut decoded = Self {
            typed: Vec::new(),
            values: Vec::new(),
        };
        for (kind, bytes) in RESPONSES {
            let typed = serde_json::from_slice(bytes)
                .map_err(|e| format!("the {kind} response does not decode typed: {e}"))?;
            decoded.typed.push(typed);
            decoded.values.push(serde_json::from_slice(bytes)?);
        }
        Ok(decoded)
    }

    /// The size of the seven responses as compact JSON, encoded from their
    /// `Value`s: what one encoding pass writes.
    pub fn encoded_len(&self) -> Result<usize, BenchError> {
        let mut total = 0;
        for value in &self.values {
            total += serde_json::to_vec(value)?.len();
        }
        Ok(total)
    }

    /// The kinds whose typed encoding is not, as JSON, the response it was
    /// decoded from: the crate promises none (unknown fields are kept).
    pub fn lossy_kinds(&self) -> Result<Vec<&'static str>, BenchError> {
        let mut lossy = Vec::new();
        for ((typed, value), (kind, _)) in self.typed.iter().zip(&self.values).zip(RESPONSES) {
            let again: Value = serde_json::from_slice(&serde_json::to_vec(typed)?)?;
            if &again != value {
                lossy.push(kind);
            }
        }
        Ok(lossy)
    }
}

/// How long decoding the seven responses `passes` times into `T` (the
/// typed connection, or `Value`) takes: one function for both sides, so
/// that they differ in the type alone.
pub fn decode<T: DeserializeOwned>(passes: usize) -> Result<Duration, BenchError> {
    let start = Instant::now();
    for _ in 0..passes {
        for (_, bytes) in RESPONSES {
            let decoded: T = serde_json::from_slice(black_box(bytes))?;
            black_box(decoded);
        }
    }
    Ok(start.elapsed())
}

/// How long encoding `items` (the seven responses, typed or as `Value`s)
/// `passes` times takes.
pub fn encode<T: Serialize>(items: &[T], passes: usize) -> Result<Duration, BenchError> {
    let start = Instant::now();
    for _ in 0..passes {
        for item in items {
            black_box(serde_json::to_vec(black_box(item))?);
        }
    }
    Ok(start.elapsed())
}

/// How many passes of `work` take about `target`, measured on a few
/// passes: so that each side's share of a round is long enough for the
/// clock and short enough for many rounds.
pub fn passes_for(
    target: Duration,
    mut work: impl FnMut(usize) -> Result<Duration, BenchError>,
) -> Result<usize, BenchError> {
    let mut passes = 16;
    loop {
        let took = work(passes)?;
        if took >= target / 8 || passes >= 1 << 24 {
            let per_pass = took.as_secs_f64() / passes as f64;
            return Ok(((target.as_secs_f64() / per_pass.max(1e-12)) as usize).max(1));
        }
        passes *= 4;
    }
}

/// Whether `serde_json::Value` keeps its maps in insertion order (serde
/// json's `preserve_order`, an `IndexMap`) rather than sorted (a
/// `BTreeMap`): the baseline's speed depends on it, so the table says it.
pub fn value_preserves_order() -> bool {
    serde_json::from_str::<Value>(r#"{"b":0,"a":0}"#)
        .ok()
        .and_then(|value| value.as_object().and_then(|map| map.keys().next().cloned()))
        .is_some_and(|first| first == "b")
}
