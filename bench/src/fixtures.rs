//! The seed's examples (`tests/fixtures/seed/`, copied unchanged from the
//! operation's reference page), compiled in: the Kafka request every call
//! sends and the seven `200` responses, one per connection kind.

use atlas_stream_connections::ApiVersion;
use atlas_stream_connections::types::StreamsConnection;

/// The project every call creates in (`groupId`).
pub const PROJECT: &str = "32b6e34b3d91647abb20e7b8";
/// The instance every call creates in (`tenantName`).
pub const INSTANCE: &str = "instance-1";

/// The page's Kafka request: every write-only field set.
pub const KAFKA_REQUEST: &[u8] = include_bytes!("../../tests/fixtures/seed/request-Kafka.json");

/// The page's Kafka `200`: what the loopback server answers every call with.
pub const KAFKA_RESPONSE: &[u8] =
    include_bytes!("../../tests/fixtures/seed/response-200-Kafka.json");

/// The seven `200` examples, one per kind, by kind.
pub const RESPONSES: [(&str, &[u8]); 7] = [
    (
        "AWSKinesisDataStreams",
        include_bytes!("../../tests/fixtures/seed/response-200-AWSKinesisDataStreams.json"),
    ),
    (
        "AWSLambda",
        include_bytes!("../../tests/fixtures/seed/response-200-AWSLambda.json"),
    ),
    (
        "Cluster",
        include_bytes!("../../tests/fixtures/seed/response-200-Cluster.json"),
    ),
    (
        "Https",
        include_bytes!("../../tests/fixtures/seed/response-200-Https.json"),
    ),
    ("Kafka", KAFKA_RESPONSE),
    (
        "S3",
        include_bytes!("../../tests/fixtures/seed/response-200-S3.json"),
    ),
    (
        "Sample",
        include_bytes!("../../tests/fixtures/seed/response-200-Sample.json"),
    ),
];

/// The size of the seven responses together, as the files hold them.
pub fn responses_len() -> usize {
    RESPONSES.iter().map(|(_, bytes)| bytes.len()).sum()
}

/// [`KAFKA_REQUEST`], typed.
pub fn kafka_request() -> Result<StreamsConnection, serde_json::Error> {
    serde_json::from_slice(KAFKA_REQUEST)
}

/// The version a call sends by default, from the crate's version table (so
/// that the baseline sends the same media types after a regen): its
/// `accept()` is the `Accept` header and the answer's `Content-Type`, its
/// `request_media_type` the request's `Content-Type`.
pub fn default_version() -> Option<&'static ApiVersion> {
    atlas_stream_connections::versions_of("create_stream_connection")
        .and_then(|operation| operation.default_version())
}
