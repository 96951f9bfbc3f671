//! Creates a Kafka stream connection and prints what Atlas returned.
//!
//! With no argument it starts a stand-in for Atlas on 127.0.0.1 (answering
//! with the reference page's own Kafka response) and talks to it, so it runs
//! on a fresh machine with no Atlas account. Give a base URL to talk to
//! another server with the credentials of the environment
//! (`MONGODB_ATLAS_CLIENT_ID`/`MONGODB_ATLAS_CLIENT_SECRET`, an API key, or
//! `MONGODB_ATLAS_ACCESS_TOKEN`):
//! `cargo run --example create_stream_connection -- https://cloud.mongodb.com`.

#[path = "../tests/support/mod.rs"]
mod support;

use atlas_stream_connections::types::StreamsConnection;
use atlas_stream_connections::{Client, ClientBuilder};

const GROUP_ID: &str = "32b6e34b3d91647abb20e7b8";
const INSTANCE: &str = "sample-instance";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let (base_url, local) = match std::env::args().nth(1) {
        Some(url) => (url, None),
        None => {
            let server = support::Server::start(support::Reply::json(
                200,
                support::VERSIONED,
                include_str!("../tests/fixtures/seed/response-200-Kafka.json"),
            ))
            .await;
            eprintln!(
                "note: no base URL given; started a local stand-in for Atlas at {}",
                server.base_url
            );
            (server.base_url.clone(), Some(server))
        }
    };

    let connection: StreamsConnection =
        serde_json::from_str(include_str!("../tests/fixtures/seed/request-Kafka.json"))
            .expect("the bundled Kafka example is valid");
    let builder = match &local {
        // The stand-in accepts any bearer token.
        Some(_) => Ok(Client::builder().access_token("local-stand-in")),
        None => ClientBuilder::from_env(),
    };
    let client = match builder.and_then(|b| b.base_url(base_url).build()) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match client
        .create_stream_connection(GROUP_ID, INSTANCE, &connection)
        .await
    {
        Ok(created) => {
            println!(
                "created a {} connection in project {GROUP_ID}, instance {INSTANCE}",
                created.kind()
            );
            if let StreamsConnection::Kafka(kafka) = &created {
                println!(
                    "  name:              {}",
                    kafka.name.as_deref().unwrap_or("-")
                );
                println!(
                    "  bootstrap servers: {}",
                    kafka.bootstrap_servers.as_deref().unwrap_or("-")
                );
                println!("  links:             {}", kafka.links.len());
            }
            if let Some(server) = local {
                let request = &server.requests()[0];
                println!("the stand-in received: {}", request.request_line());
                for (name, value) in request.headers() {
                    // Credentials are never printed, even the stand-in's.
                    let value = match name.as_str() {
                        "authorization" => match value.split_once(' ') {
                            Some((scheme, _)) => format!("{scheme} [redacted]"),
                            None => "[redacted]".to_owned(),
                        },
                        _ => value,
                    };
                    println!("  {name}: {value}");
                }
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
