//! A loopback HTTP/1.1 server (hyper, the crate's own HTTP stack) that
//! answers every request with one canned `200`, on the runtime of the calls
//! it answers. With a current-thread runtime the server and the calls
//! share one thread, so a call costs no wake-up of another thread: on a
//! loaded machine that wake-up waits for a core, adds the same to both
//! sides of a comparison and hides their difference (2 cores with other
//! work: 22 µs a call with one thread, 29 to 108 µs with two, the ratio
//! moving from 1.43 to 1.16 with the load).
//!
//! It can keep the requests it receives ([`LoopbackServer::record`]), so
//! that the suite checks, before timing anything, that both sides of the
//! call figure send the same headers and body.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::BenchError;

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

/// What the server and its connections share.
struct Shared {
    body: &'static [u8],
    content_type: HeaderValue,
    record: AtomicBool,
    seen: Mutex<Vec<Seen>>,
}

/// A running server; it stops when dropped.
pub struct LoopbackServer {
    base_url: String,
    shared: Arc<Shared>,
    /// The task accepting connections.
    accepting: tokio::task::AbortHandle,
}

impl LoopbackServer {
    /// Binds `127.0.0.1` on a free port and answers every request with
    /// `200`, `body` and `content_type`, on the current runtime (it serves
    /// while that runtime runs).
    pub async fn start(
        body: &'static [u8],
        content_type: &'static str,
    ) -> Result<Self, BenchError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            body,
            content_type: HeaderValue::from_static(content_type),
            record: AtomicBool::new(false),
            seen: Mutex::new(Vec::new()),
        });
        let accepting = tokio::spawn(accept(listener, shared.clone())).abort_handle();
        Ok(Self {
            base_url,
            shared,
            accepting,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Starts (or stops) keeping every request received.
    pub fn record(&self, on: bool) {
        self.shared.record.store(on, Ordering::SeqCst);
    }

    /// The requests kept so far, emptying the list.
    pub fn take_seen(&self) -> Vec<Seen> {
        self.shared
            .seen
            .lock()
            .map(|mut seen| std::mem::take(&mut *seen))
            .unwrap_or_default()
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        // Its connections' tasks end with their connections.
        self.accepting.abort();
    }
}

/// Serves each connection on a task of its own until the runtime stops.
async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        // Small requests and answers, sent whole: Nagle would only delay
        // them (reqwest sets the same on its side).
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(request, shared.clone()));
            // A connection that breaks ends only itself.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads the request's body whole (as a real server would), keeps the
/// request if asked to, and answers the canned `200`.
async fn answer(
    request: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    if shared.record.load(Ordering::SeqCst)
        && let Ok(mut seen) = shared.seen.lock()
    {
        seen.push(Seen {
            headers: parts.headers,
            body,
        });
    }
    let mut response = Response::new(Full::new(Bytes::from_static(shared.body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, shared.content_type.clone());
    Ok(response)
}
