//! Uses a field the evolved spec deprecates, and one it does not: building
//! this must warn about the first only, whose type must be unchanged.

use atlas_stream_connections::types::{StreamsKafkaConnection, StreamsKafkaNetworking};

fn main() {
    let kafka = StreamsKafkaConnection::default();
    let networking: Option<StreamsKafkaNetworking> = kafka.networking;
    let name: Option<String> = kafka.name;
    println!("{networking:?} {name:?}");
}
