//! Uses a field the evolved spec deprecates: building this must warn.

fn main() {
    let kafka = atlas_stream_connections::types::StreamsKafkaConnection::default();
    println!("{:?}", kafka.networking);
}
