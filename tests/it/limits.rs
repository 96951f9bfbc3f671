//! Everything the client reads from the network is bounded, against raw
//! servers on 127.0.0.1 that misbehave on purpose: endless bodies (chunked,
//! for `200`, `401`, `429`, a token answer, an envelope), a `Content-Length`
//! of a terabyte, bodies that break off or stall after a `200`, and
//! `WWW-Authenticate` headers of hundreds of kilobytes. Each ends in a typed
//! error naming what was too large, with the status, and, after a `2xx`,
//! `server_succeeded()`. A child process measures the peak memory an endless
//! body costs; the embedded local Atlas bounds the bodies it reads too.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::{
    CallOptions, Client, ClientBuilder, DEFAULT_MAX_RESPONSE_BYTES, Error,
};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{
    DigestAnswer, INSTANCE, KAFKA_CREATED, PROJECT, api_path, child_line, create_error, kafka,
    nonce_of, run_child_test, versioned,
};

const CHALLENGE: &str =
    r#"Digest realm="MMS Public API", nonce="n0nce", algorithm=MD5, qop="auth""#;
/// What the client reads of a token answer, and of a body it drops.
const SMALL_LIMIT: u64 = 64 * 1024;

/// What the raw server sends for one request. `head` is the status line and
/// any headers, each line ending in CRLF, without the blank line.
#[derive(Clone)]
enum Answer {
    /// Then a chunked body that never ends (until the client goes away).
    Endless { head: String },
    /// Then `Content-Length: length`, then nothing: the connection stays
    /// open until the client closes it.
    Announced { head: String, length: u64 },
    /// Then `Content-Length: length` and `sent` bytes of it; then the
    /// connection is closed (`stall: false`) or held open (`stall: true`).
    Partial {
        head: String,
        length: u64,
        sent: usize,
        stall: bool,
    },
    /// Then `body`, with `Content-Length` (`chunked: false`) or as one chunk.
    Whole {
        head: String,
        body: Vec<u8>,
        chunked: bool,
    },
}

fn head(status: u16, headers: &[(&str, &str)]) -> String {
    let mut head = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head
}

/// The head of an answer in Atlas's media type.
fn json_head(status: u16) -> String {
    head(status, &[("content-type", versioned())])
}

/// A server on 127.0.0.1 that answers each request (one per connection)
/// with what `script` makes of its request line, and counts them.
struct RawServer {
    base_url: String,
    request_lines: Arc<Mutex<Vec<String>>>,
}

impl RawServer {
    async fn start(script: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let request_lines = Arc::new(Mutex::new(Vec::new()));
        let seen = request_lines.clone();
        let script = Arc::new(script);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (seen, script) = (seen.clone(), script.clone());
                tokio::spawn(async move {
                    let Some(line) = read_request(&mut socket).await else {
                        return;
                    };
                    seen.lock().unwrap().push(line.clone());
                    // Write errors mean the client closed: that is the point.
                    let _ = answer(&mut socket, script(&line)).await;
                });
            }
        });
        Self {
            base_url,
            request_lines,
        }
    }

    fn request_lines(&self) -> Vec<String> {
        self.request_lines.lock().unwrap().clone()
    }
}

/// Reads one request (head and `Content-Length` body); its request line.
async fn read_request(socket: &mut TcpStream) -> Option<String> {
    let request = crate::support::read_request(socket).await?;
    Some(request.request_line().to_owned())
}

async fn answer(socket: &mut TcpStream, answer: Answer) -> std::io::Result<()> {
    match answer {
        Answer::Endless { head } => send_endless(socket, &head).await,
        Answer::Announced { head, length } => {
            socket
                .write_all(format!("{head}content-length: {length}\r\n\r\n").as_bytes())
                .await?;
            hold(socket).await
        }
        Answer::Partial {
            head,
            length,
            sent,
            stall,
        } => {
            socket
                .write_all(format!("{head}content-length: {length}\r\n\r\n").as_bytes())
                .await?;
            socket.write_all(&vec![b'{'; sent]).await?;
            if stall {
                hold(socket).await
            } else {
                socket.shutdown().await
            }
        }
        Answer::Whole {
            head,
            body,
            chunked,
        } => {
            let bytes = framed(&head, body, chunked);
            socket.write_all(&bytes).await?;
            socket.shutdown().await
        }
    }
}

/// Sends `head`, then a chunked body that never ends.
async fn send_endless(socket: &mut TcpStream, head: &str) -> std::io::Result<()> {
    socket
        .write_all(format!("{head}transfer-encoding: chunked\r\n\r\n").as_bytes())
        .await?;
    // Chunks of an odd size, so that what the client has read is rarely a
    // round number: a limit must be passed, not hit.
    let data = vec![b'x'; 4093];
    let frame = [
        format!("{:x}\r\n", data.len()).into_bytes(),
        data,
        b"\r\n".to_vec(),
    ]
    .concat();
    loop {
        socket.write_all(&frame).await?;
    }
}

/// `head` and `body`, with `Content-Length` (`chunked: false`) or as one
/// chunk.
fn framed(head: &str, body: Vec<u8>, chunked: bool) -> Vec<u8> {
    if chunked {
        [
            format!(
                "{head}transfer-encoding: chunked\r\n\r\n{:x}\r\n",
                body.len()
            )
            .into_bytes(),
            body,
            b"\r\n0\r\n\r\n".to_vec(),
        ]
        .concat()
    } else {
        [
            format!("{head}content-length: {}\r\n\r\n", body.len()).into_bytes(),
            body,
        ]
        .concat()
    }
}

/// Keeps the connection open, unanswered, until the client closes it.
async fn hold(socket: &mut TcpStream) -> std::io::Result<()> {
    let mut sink = [0u8; 1024];
    while socket.read(&mut sink).await? > 0 {}
    Ok(())
}

/// A builder for `server` whose exchanges may take 30 s: every test below
/// ends long before, unless the client reads what it must not (an endless
/// body, a terabyte announced), when it would end in a timeout instead of
/// the error the test expects.
fn builder(server: &RawServer) -> ClientBuilder {
    Client::builder()
        .base_url(&server.base_url)
        .timeout(Duration::from_secs(30))
}

/// The parts of a [`Error::TooLarge`]: status, what, limit, method and path.
fn too_large(error: &Error) -> (Option<u16>, &'static str, u64, (&str, &str)) {
    let Error::TooLarge(e) = error else {
        panic!("not TooLarge: {error:?}");
    };
    (
        e.status().map(|s| s.as_u16()),
        e.what(),
        e.limit(),
        e.request(),
    )
}

// ---------------------------------------------------------------------------
// API answers

#[tokio::test]
async fn an_endless_200_body_stops_at_the_default_limit_and_says_the_connection_was_created() {
    let server = RawServer::start(|_| Answer::Endless {
        head: json_head(200),
    })
    .await;
    let client = builder(&server).access_token("t").build().unwrap();
    let error = create_error(&client).await;
    let path = api_path();
    assert_eq!(
        too_large(&error),
        (
            Some(200),
            "response body",
            DEFAULT_MAX_RESPONSE_BYTES,
            ("POST", path.as_str())
        )
    );
    assert_eq!(error.status(), Some(StatusCode::OK));
    assert_eq!(error.server_succeeded(), Some(StatusCode::OK));
    assert!(!error.is_retryable(), "the connection exists");
    let shown = error.to_string();
    assert!(
        shown.contains("took effect") && shown.contains("response body"),
        "{shown}"
    );
    assert_eq!(DEFAULT_MAX_RESPONSE_BYTES, 512 * 1024);
}

#[tokio::test]
async fn a_content_length_over_the_limit_fails_before_reading_a_byte() {
    // The server sends the head only: a client that read on would wait for
    // its 30 s timeout and fail with `Timeout`.
    let server = RawServer::start(|_| Answer::Announced {
        head: json_head(200),
        length: 1 << 40,
    })
    .await;
    let client = builder(&server).access_token("t").build().unwrap();
    let error = create_error(&client).await;
    assert_eq!(too_large(&error).0, Some(200));
    assert_eq!(error.server_succeeded(), Some(StatusCode::OK));
}

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not() {
    let body = KAFKA_CREATED.trim().as_bytes().to_vec();
    let size = body.len() as u64;
    for chunked in [false, true] {
        let body = body.clone();
        let server = RawServer::start(move |_| Answer::Whole {
            head: json_head(200),
            body: body.clone(),
            chunked,
        })
        .await;
        let at_limit = builder(&server)
            .access_token("t")
            .max_response_bytes(size)
            .build()
            .unwrap();
        let created = at_limit
            .create_stream_connection(PROJECT, INSTANCE, &kafka())
            .await
            .unwrap_or_else(|e| panic!("chunked {chunked}: {e}"));
        assert_eq!(created.kind(), "Kafka");
        let under = builder(&server)
            .access_token("t")
            .max_response_bytes(size - 1)
            .build()
            .unwrap();
        let error = create_error(&under).await;
        let (status, what, limit, _) = too_large(&error);
        assert_eq!(
            (status, what, limit),
            (Some(200), "response body", size - 1),
            "chunked {chunked}"
        );
    }
}

#[tokio::test]
async fn a_200_body_that_breaks_off_keeps_its_status() {
    let server = RawServer::start(|_| Answer::Partial {
        head: json_head(200),
        length: 1000,
        sent: 10,
        stall: false,
    })
    .await;
    let client = builder(&server).access_token("t").build().unwrap();
    let error = create_error(&client).await;
    let Error::Transport(transport) = &error else {
        panic!("not a transport error: {error:?}");
    };
    assert_eq!(transport.status(), Some(StatusCode::OK));
    assert_eq!(transport.request(), ("POST", api_path().as_str()));
    assert_eq!(error.server_succeeded(), Some(StatusCode::OK));
    assert!(error.to_string().contains("took effect"), "{error}");
}

#[tokio::test]
async fn a_200_body_that_stalls_past_the_timeout_keeps_its_status() {
    let server = RawServer::start(|_| Answer::Partial {
        head: json_head(200),
        length: 1000,
        sent: 10,
        stall: true,
    })
    .await;
    let client = builder(&server)
        .timeout(Duration::from_millis(300))
        .access_token("t")
        .build()
        .unwrap();
    let error = create_error(&client).await;
    let Error::Timeout(timeout) = &error else {
        panic!("not a timeout: {error:?}");
    };
    assert_eq!(timeout.status(), Some(StatusCode::OK));
    assert_eq!(error.server_succeeded(), Some(StatusCode::OK));
}

#[tokio::test]
async fn an_error_body_that_breaks_off_keeps_its_status_but_nothing_succeeded() {
    let server = RawServer::start(|_| Answer::Partial {
        head: json_head(400),
        length: 1000,
        sent: 10,
        stall: false,
    })
    .await;
    let client = builder(&server).access_token("t").build().unwrap();
    let error = create_error(&client).await;
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert_eq!(error.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(error.server_succeeded(), None);
}

#[tokio::test]
async fn an_endless_enveloped_answer_stops_at_the_limit_and_claims_no_status() {
    let server = RawServer::start(|_| Answer::Endless {
        head: json_head(200),
    })
    .await;
    let client = builder(&server)
        .access_token("t")
        .max_response_bytes(1 << 20)
        .build()
        .unwrap();
    let error = client
        .create_stream_connection_with(
            PROJECT,
            INSTANCE,
            &kafka(),
            &CallOptions::new().envelope(true),
        )
        .await
        .unwrap_err();
    // An envelope's `200` hides the real status, which never arrived: the
    // error cannot say the connection was created.
    let (status, what, limit, _) = too_large(&error);
    assert_eq!(
        (status, what, limit),
        (None, "enveloped response body", 1 << 20)
    );
    assert_eq!(error.server_succeeded(), None);
    let lines = server.request_lines();
    assert!(lines[0].contains("envelope=true"), "{lines:?}");
}

// ---------------------------------------------------------------------------
// Bodies read only to be dropped, and the final answer

#[tokio::test]
async fn an_endless_401_to_an_access_token_is_too_large_with_its_status() {
    let server = RawServer::start(|_| Answer::Endless {
        head: json_head(401),
    })
    .await;
    let client = builder(&server)
        .access_token("t")
        .max_response_bytes(1 << 20)
        .build()
        .unwrap();
    let error = create_error(&client).await;
    assert_eq!(too_large(&error).0, Some(401));
    assert_eq!(error.server_succeeded(), None);
}

#[tokio::test]
async fn endless_401_bodies_to_an_api_key_are_dropped_then_refused_at_the_limit() {
    // The challenge's endless body is dropped (read no further than 64
    // KiB), the answer to the authorized request is the call's.
    let server = RawServer::start(|_| Answer::Endless {
        head: head(
            401,
            &[
                ("content-type", "application/json"),
                ("www-authenticate", CHALLENGE),
            ],
        ),
    })
    .await;
    let client = builder(&server)
        .api_key("public", "private")
        .max_response_bytes(1 << 20)
        .build()
        .unwrap();
    let error = create_error(&client).await;
    assert_eq!(too_large(&error).0, Some(401));
    assert_eq!(
        server.request_lines().len(),
        3,
        "probe, then the answer twice (a fresh nonce refused once is answered again)"
    );
}

#[tokio::test]
async fn endless_429_bodies_are_dropped_between_retries_and_the_last_is_too_large() {
    let server = RawServer::start(|_| Answer::Endless {
        head: head(
            429,
            &[("content-type", "application/json"), ("retry-after", "0")],
        ),
    })
    .await;
    let client = builder(&server)
        .access_token("t")
        .max_retries(2)
        .retry_backoff(Duration::from_millis(1), Duration::from_secs(1))
        .max_response_bytes(1 << 20)
        .build()
        .unwrap();
    let error = create_error(&client).await;
    assert_eq!(too_large(&error).0, Some(429));
    assert_eq!(server.request_lines().len(), 3, "the call and two retries");
}

/// A keep-alive server: each connection serves requests until the client
/// closes it; the first request of all is answered `429` (`Retry-After: 0`)
/// with a body of `size` bytes, chunked or not, the others with the Kafka
/// example. Counts connections and requests.
async fn keep_alive_server(size: usize, chunked: bool) -> (String, Arc<Mutex<(usize, usize)>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let counts = Arc::new(Mutex::new((0, 0)));
    let seen = counts.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            seen.lock().unwrap().0 += 1;
            let seen = seen.clone();
            tokio::spawn(async move {
                while read_request(&mut socket).await.is_some() {
                    let first = {
                        let mut counts = seen.lock().unwrap();
                        counts.1 += 1;
                        counts.1 == 1
                    };
                    let (head, body) = if first {
                        let head = "HTTP/1.1 429 X\r\nretry-after: 0\r\n".to_owned();
                        (head, vec![b' '; size])
                    } else {
                        let head = format!("HTTP/1.1 200 X\r\ncontent-type: {}\r\n", versioned());
                        (head, KAFKA_CREATED.as_bytes().to_vec())
                    };
                    let framed = if first && chunked {
                        [
                            format!("{head}transfer-encoding: chunked\r\n\r\n{size:x}\r\n")
                                .into_bytes(),
                            body,
                            b"\r\n0\r\n\r\n".to_vec(),
                        ]
                        .concat()
                    } else {
                        let length = body.len();
                        [
                            format!("{head}content-length: {length}\r\n\r\n").into_bytes(),
                            body,
                        ]
                        .concat()
                    };
                    if socket.write_all(&framed).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base_url, counts)
}

#[tokio::test]
async fn a_dropped_body_up_to_64_kib_is_read_so_its_connection_serves_the_retry() {
    // (A chunked body over the limit may still reach its end inside
    // hyper's buffer, which then keeps the connection; an endless one is
    // dropped, see the 429 test above.)
    for (size, chunked, connections) in [
        (60 * 1024, false, 1),
        (60 * 1024, true, 1),
        (SMALL_LIMIT as usize, false, 1),
        (SMALL_LIMIT as usize + 1, false, 2),
        (80 * 1024, false, 2),
    ] {
        let (base_url, counts) = keep_alive_server(size, chunked).await;
        let client = Client::builder()
            .base_url(base_url)
            .access_token("t")
            .retry_backoff(Duration::from_millis(1), Duration::from_secs(1))
            .build()
            .unwrap();
        client
            .create_stream_connection(PROJECT, INSTANCE, &kafka())
            .await
            .unwrap();
        assert_eq!(
            *counts.lock().unwrap(),
            (connections, 2),
            "a {size}-byte 429 body, chunked {chunked}"
        );
    }
}

// ---------------------------------------------------------------------------
// The token endpoint

#[tokio::test]
async fn an_endless_token_answer_stops_at_64_kib() {
    for status in [200, 401] {
        let server = RawServer::start(move |_| Answer::Endless {
            head: head(status, &[("content-type", "application/json")]),
        })
        .await;
        let client = builder(&server)
            .service_account("mdb_sa_id_x", "mdb_sa_sk_y")
            .build()
            .unwrap();
        let error = create_error(&client).await;
        assert_eq!(
            too_large(&error),
            (
                Some(status),
                "token answer",
                SMALL_LIMIT,
                ("POST", "/api/oauth/token")
            )
        );
        assert_eq!(server.request_lines().len(), 1, "the API was not called");
        // The token endpoint's `200` created nothing.
        assert_eq!(error.server_succeeded(), None);
    }
}

#[tokio::test]
async fn a_token_answer_announced_over_64_kib_is_not_read() {
    let server = RawServer::start(|_| Answer::Announced {
        head: head(200, &[("content-type", "application/json")]),
        length: SMALL_LIMIT + 1,
    })
    .await;
    let client = builder(&server)
        .service_account("mdb_sa_id_x", "mdb_sa_sk_y")
        .build()
        .unwrap();
    let error = create_error(&client).await;
    assert_eq!(too_large(&error).1, "token answer");
}

// ---------------------------------------------------------------------------
// WWW-Authenticate

/// A Digest challenge followed by distinct parameters up to `size` bytes:
/// the shape that made the old parser quadratic.
fn hostile_challenge(size: usize) -> String {
    let mut value = CHALLENGE.to_owned();
    let mut i = 0;
    while value.len() < size {
        value.push_str(&format!(", p{i}=v"));
        i += 1;
    }
    value
}

async fn challenged_with(values: Vec<String>) -> (Error, Duration, usize) {
    let server = RawServer::start(move |_| {
        let headers: Vec<(&str, &str)> = values
            .iter()
            .map(|v| ("www-authenticate", v.as_str()))
            .collect();
        Answer::Whole {
            head: head(401, &headers),
            body: Vec::new(),
            chunked: false,
        }
    })
    .await;
    let client = builder(&server)
        .api_key("public", "private")
        .build()
        .unwrap();
    let started = Instant::now();
    let error = create_error(&client).await;
    (error, started.elapsed(), server.request_lines().len())
}

#[tokio::test]
async fn a_368_kb_www_authenticate_is_refused_unparsed() {
    let value = hostile_challenge(368 * 1024);
    let (error, elapsed, requests) = challenged_with(vec![value]).await;
    println!("368 KB WWW-Authenticate: the call failed in {elapsed:?}");
    assert_eq!(
        too_large(&error),
        (
            Some(401),
            "WWW-Authenticate header",
            16 * 1024,
            ("POST", api_path().as_str())
        )
    );
    assert_eq!(requests, 1, "the body never went out");
}

#[tokio::test]
async fn several_www_authenticate_values_count_together() {
    let values = vec![hostile_challenge(6 * 1024); 3];
    let (error, _, _) = challenged_with(values).await;
    assert_eq!(too_large(&error).1, "WWW-Authenticate header");
}

#[tokio::test]
async fn a_1_mb_www_authenticate_is_a_prompt_transport_error() {
    // Larger than the whole response head hyper reads (about 400 KB): the
    // HTTP layer refuses it before any parser of ours sees it.
    let value = hostile_challenge(1024 * 1024);
    let (error, elapsed, requests) = challenged_with(vec![value]).await;
    println!("1 MB WWW-Authenticate: the call failed in {elapsed:?}");
    let Error::Transport(transport) = &error else {
        panic!("not a transport error: {error:?}");
    };
    assert_eq!(transport.status(), None, "no head was read");
    assert_eq!(requests, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_huge_sunset_header_is_logged_cut_short() {
    let captured = crate::support::Captured::default();
    let _guard = captured.install();
    let sunset = format!("Sat, 01 Jan 2000 00:00:00 GMT{}", "~".repeat(8 * 1024));
    let header = sunset.clone();
    let server = RawServer::start(move |_| Answer::Whole {
        head: head(200, &[("content-type", versioned()), ("sunset", &header)]),
        body: KAFKA_CREATED.as_bytes().to_vec(),
        chunked: false,
    })
    .await;
    let client = builder(&server).access_token("t").build().unwrap();
    let response = client
        .create_stream_connection_with(PROJECT, INSTANCE, &kafka(), &CallOptions::new())
        .await
        .unwrap();
    assert_eq!(response.sunset(), Some(sunset.as_str()), "kept whole");
    let warnings: Vec<String> = captured
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("event WARN"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(&sunset[..64]), "{}", warnings[0]);
    assert!(!warnings[0].contains(&sunset[..65]), "{}", warnings[0]);
}

// ---------------------------------------------------------------------------
// Peak memory, measured in a child process

/// Set in the environment of the child process that runs [`memory_child`]:
/// the `max_response_bytes` to use, or `default`.
const CHILD_LIMIT: &str = "ATLAS_STREAM_CONNECTIONS_TEST_LIMITS_CHILD";

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Not a test of its own: run by
/// [`an_endless_body_costs_less_than_64_mib_of_peak_memory`] in a child
/// process, so that no other test shares its peak. Prints `CHILD <KiB>`,
/// the growth of the peak resident set over one call that meets an endless
/// `200` body.
#[test]
#[ignore = "helper run in a child process"]
fn memory_child() {
    let Some(limit) = std::env::var(CHILD_LIMIT).ok() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = RawServer::start(|_| Answer::Endless {
            head: json_head(200),
        })
        .await;
        let mut client = builder(&server).access_token("t");
        if let Ok(limit) = limit.parse() {
            client = client.max_response_bytes(limit);
        }
        let client = client.build().unwrap();
        let before = peak_rss_kib();
        let error = create_error(&client).await;
        let after = peak_rss_kib();
        assert_eq!(too_large(&error).0, Some(200));
        println!("CHILD {}", after.saturating_sub(before));
    });
}

#[test]
fn an_endless_body_costs_less_than_64_mib_of_peak_memory() {
    if peak_rss_kib() == 0 {
        println!("no /proc/self/status here: not measured");
        return;
    }
    // The default limit, and a limit 32 times larger: the cost follows the
    // limit, not the body.
    for limit in ["default", "16777216"] {
        let output = run_child_test(module_path!(), "memory_child", |command| {
            command.env(CHILD_LIMIT, limit);
        });
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "the child failed: {stdout}");
        let growth: u64 = child_line(&stdout)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("the child printed no figure: {stdout}"));
        println!("an endless 200 body, limit {limit}: peak RSS grew {growth} KiB");
        assert!(
            growth < 64 * 1024,
            "limit {limit}: peak RSS grew {growth} KiB"
        );
    }
}

// ---------------------------------------------------------------------------
// The local Atlas

/// Sends `request` to `atlas` over a raw socket and returns the head of its
/// answer.
async fn raw_answer(atlas: &LocalAtlas, request: &[u8]) -> String {
    let address = atlas.base_url().trim_start_matches("http://");
    let mut socket = TcpStream::connect(address).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "no answer: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status line of `atlas`'s answer to `request`, sent over a raw socket.
async fn raw_exchange(atlas: &LocalAtlas, request: &[u8]) -> String {
    let answer = raw_answer(atlas, request).await;
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_local_atlas_answers_an_announced_body_over_1_mib_with_413_unread() {
    let atlas = LocalAtlas::start().await.unwrap();
    // The body is announced and never sent: a server that read it would
    // wait for it and answer nothing.
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        api_path(),
        (1 << 20) + 1
    );
    let status = raw_exchange(&atlas, request.as_bytes()).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    let recorded = atlas.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].status, 413);
    assert!(recorded[0].body.is_empty(), "the body is not stored");
    assert!(atlas.connections().is_empty());
}

#[tokio::test]
async fn the_local_atlas_stops_reading_a_chunked_body_at_1_mib() {
    let atlas = LocalAtlas::start().await.unwrap();
    let size = (1 << 20) + 1;
    let mut request = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n{size:x}\r\n",
        api_path()
    )
    .into_bytes();
    request.extend(std::iter::repeat_n(b' ', size));
    request.extend_from_slice(b"\r\n");
    // No last chunk: the server must answer without waiting for one.
    let status = raw_exchange(&atlas, &request).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    let recorded = atlas.requests();
    assert_eq!(recorded[0].status, 413);
    assert!(recorded[0].body.is_empty());
}

#[tokio::test]
async fn the_local_atlas_reads_a_body_of_exactly_1_mib() {
    let atlas = LocalAtlas::start().await.unwrap();
    let mut request = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        api_path(),
        1 << 20
    )
    .into_bytes();
    // A JSON string of exactly 1 MiB (a body that is not JSON is not kept).
    request.push(b'"');
    request.extend(std::iter::repeat_n(b'a', (1 << 20) - 2));
    request.push(b'"');
    // Read, then refused for want of credentials.
    let status = raw_exchange(&atlas, &request).await;
    assert!(status.starts_with("HTTP/1.1 401"), "{status}");
    assert_eq!(atlas.requests()[0].body.len(), 1 << 20);
}

#[tokio::test]
async fn the_local_atlas_answers_a_body_that_breaks_off_with_400() {
    let atlas = LocalAtlas::start().await.unwrap();
    let address = atlas.base_url().trim_start_matches("http://");
    let mut socket = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789",
        api_path()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    // The body ends 90 bytes short: the client sends no more.
    socket.shutdown().await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("MALFORMED_REQUEST"), "{answer}");
}

/// A right Digest answer to `atlas`'s challenge for the create path, padded
/// with an unknown parameter to exactly `size` bytes.
async fn padded_digest_answer(atlas: &LocalAtlas, size: usize) -> String {
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n",
        api_path()
    );
    let answer = raw_answer(atlas, request.as_bytes()).await;
    let nonce = nonce_of(&answer);
    let (public, private) = atlas.api_key();
    let uri = api_path();
    let answer = DigestAnswer {
        username: public,
        private_key: private.expose_secret(),
        method: "POST",
        uri: &uri,
        nonce: &nonce,
        nc: "00000001",
        cnonce: "c0ffee",
    };
    let mut value = format!("{}, padding=\"", answer.header());
    value.extend(std::iter::repeat_n('x', size - value.len() - 1));
    value.push('"');
    assert_eq!(value.len(), size);
    value
}

#[tokio::test]
async fn the_local_atlas_reads_an_authorization_of_16_kib_and_refuses_a_longer_one_unparsed() {
    for (size, status) in [(16 * 1024, "400"), (16 * 1024 + 1, "401")] {
        let atlas = LocalAtlas::start().await.unwrap();
        let value = padded_digest_answer(&atlas, size).await;
        // An empty body: past authentication, it is malformed JSON.
        let request = format!(
            "POST {} HTTP/1.1\r\nhost: x\r\nauthorization: {value}\r\ncontent-length: 0\r\n\r\n",
            api_path()
        );
        let answer = raw_exchange(&atlas, request.as_bytes()).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{size} bytes: {answer}"
        );
    }
}
