//! Each side of each timed figure alone, with divan: the distribution of
//! times (fastest, median, slowest) and the allocations each call, decode
//! or encode makes, for finding where the crate's time goes. Ratios belong
//! to the table (`benches/table.rs`), which interleaves the two sides;
//! these figures are taken one benchmark after another.
//!
//! ```sh
//! cargo bench -p atlas-bench --features detail --bench detail [-- FILTER]
//! ```

use std::sync::LazyLock;

use atlas_bench::call::{CrateCall, RawCall};
use atlas_bench::codec::Decoded;
use atlas_bench::fixtures::{KAFKA_RESPONSE, RESPONSES, default_version};
use atlas_bench::server::LoopbackServer;
use atlas_stream_connections::types::StreamsConnection;
use divan::counter::BytesCount;
use divan::{AllocProfiler, Bencher, black_box};
use serde_json::Value;

// Counts every allocation, for the allocations-per-iteration columns.
#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

/// The kinds of the seed's responses, in [`RESPONSES`]' order, the codec
/// benchmarks' arguments (divan wants them as a constant; taken from the
/// one list of the seed's responses, `atlas_bench::fixtures`, which loads
/// them: this crate cannot share the tests' `tests/it/support`).
const KINDS: [&str; RESPONSES.len()] = {
    let mut kinds = [""; RESPONSES.len()];
    let mut i = 0;
    while i < kinds.len() {
        kinds[i] = RESPONSES[i].0;
        i += 1;
    }
    kinds
};

/// The position of `kind` in the seed's responses (and so in
/// [`Decoded`]'s lists).
fn index(kind: &str) -> usize {
    RESPONSES
        .iter()
        .position(|(k, _)| *k == kind)
        .expect("a seed response of every kind")
}

/// The seed response of `kind`.
fn response(kind: &str) -> &'static [u8] {
    RESPONSES[index(kind)].1
}

/// One create call, each side alone (as in the table: the loopback server
/// and the calls on one current-thread runtime).
mod call {
    use super::*;

    struct Setup {
        // Kept running for the benchmarks' lifetime.
        _server: LoopbackServer,
        runtime: tokio::runtime::Runtime,
        ours: CrateCall,
        raw: RawCall,
    }

    static SETUP: LazyLock<Setup> = LazyLock::new(|| {
        let media_type = default_version()
            .and_then(|version| version.accept())
            .expect("the operation has a default version with a media type");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let server = runtime
            .block_on(LoopbackServer::start(KAFKA_RESPONSE, media_type))
            .expect("the server starts");
        Setup {
            ours: CrateCall::new(server.base_url()).expect("the crate's client builds"),
            raw: RawCall::new(server.base_url()).expect("the reqwest client builds"),
            _server: server,
            runtime,
        }
    });

    #[divan::bench]
    fn crate_access_token(bencher: Bencher) {
        let setup = &*SETUP;
        bencher.bench_local(|| setup.runtime.block_on(setup.ours.call()).expect("the call"));
    }

    #[divan::bench]
    fn raw_reqwest_value(bencher: Bencher) {
        let setup = &*SETUP;
        bencher.bench_local(|| setup.runtime.block_on(setup.raw.call()).expect("the call"));
    }
}

/// Decoding each seed response, typed and into a `Value`.
mod decode {
    use super::*;

    #[divan::bench(args = KINDS)]
    fn typed(bencher: Bencher, kind: &str) {
        let bytes = response(kind);
        bencher.counter(BytesCount::of_slice(bytes)).bench(|| {
            serde_json::from_slice::<StreamsConnection>(black_box(bytes)).expect("decodes")
        });
    }

    #[divan::bench(args = KINDS)]
    fn value(bencher: Bencher, kind: &str) {
        let bytes = response(kind);
        bencher
            .counter(BytesCount::of_slice(bytes))
            .bench(|| serde_json::from_slice::<Value>(black_box(bytes)).expect("decodes"));
    }

    /// The floor both sides stand on: serde_json reading the document and
    /// keeping nothing (no string copied, no UTF-8 checked, nothing
    /// allocated). Callgrind puts it at about 51k of the `Value` side's
    /// 187k instructions for the seven responses, 2026-12-01.
    #[divan::bench(args = KINDS)]
    fn parse_only(bencher: Bencher, kind: &str) {
        let bytes = response(kind);
        bencher.counter(BytesCount::of_slice(bytes)).bench(|| {
            serde_json::from_slice::<serde::de::IgnoredAny>(black_box(bytes)).expect("decodes")
        });
    }
}

/// Encoding each seed response, from the typed connection and from a
/// `Value` (bytes counted as the `Value` encodes, for both).
mod encode {
    use super::*;

    static DECODED: LazyLock<Decoded> =
        LazyLock::new(|| Decoded::new().expect("every seed response decodes"));

    #[divan::bench(args = KINDS)]
    fn typed(bencher: Bencher, kind: &str) {
        let (typed, value) = (&DECODED.typed[index(kind)], &DECODED.values[index(kind)]);
        let len = serde_json::to_vec(value).expect("encodes").len();
        bencher
            .counter(BytesCount::new(len))
            .bench(|| serde_json::to_vec(black_box(typed)).expect("encodes"));
    }

    #[divan::bench(args = KINDS)]
    fn value(bencher: Bencher, kind: &str) {
        let value = &DECODED.values[index(kind)];
        let len = serde_json::to_vec(value).expect("encodes").len();
        bencher
            .counter(BytesCount::new(len))
            .bench(|| serde_json::to_vec(black_box(value)).expect("encodes"));
    }
}
