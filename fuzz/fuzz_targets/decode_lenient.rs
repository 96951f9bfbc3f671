#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| atlas_stream_connections::fuzzing::decode_lenient(data));
