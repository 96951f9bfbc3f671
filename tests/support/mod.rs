//! A real HTTP/1.1 server on 127.0.0.1 that records every request exactly as
//! it arrived on the socket and answers through a handler (a canned reply, or
//! one computed from the request), plus a `tracing` subscriber that captures
//! everything at TRACE level.
//!
//! Part of the integration tests' support (`tests/it/support/`), and copied
//! alone into the crate copies of xtask's evolution and corpus tests: so it
//! depends on nothing else of the tests.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A request as received: the head verbatim, and the body bytes.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub head: String,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }
    /// The method of the request line.
    pub fn method(&self) -> &str {
        self.request_line().split(' ').next().unwrap_or_default()
    }
    /// The target of the request line: path and query.
    pub fn target(&self) -> &str {
        self.request_line().split(' ').nth(1).unwrap_or_default()
    }
    /// Header lines in arrival order, names lowercased.
    pub fn headers(&self) -> Vec<(String, String)> {
        self.head
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (name, value) = l.split_once(':').expect("header line has a colon");
                (name.trim().to_ascii_lowercase(), value.trim().to_string())
            })
            .collect()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
}

/// One answer.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Never answer (the connection stays open until the client gives up).
    pub hang: bool,
    /// Answer only once this is `true` (or never, should the client give
    /// up first: see [`Server::abandoned`]).
    pub held: Option<tokio::sync::watch::Receiver<bool>>,
    /// Close the connection without answering.
    pub close: bool,
    /// Answer this long after the request arrived (or never, should the
    /// client give up first: see [`Server::abandoned`]).
    pub delay: Option<std::time::Duration>,
}

impl Reply {
    pub fn json(status: u16, content_type: &str, body: &str) -> Self {
        Self {
            status,
            content_type: Some(content_type.to_string()),
            body: body.as_bytes().to_vec(),
            ..Self::default()
        }
    }
    pub fn status(status: u16) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }
    pub fn hang() -> Self {
        Self {
            hang: true,
            ..Self::default()
        }
    }
    /// Closes the connection without an answer.
    pub fn close() -> Self {
        Self {
            close: true,
            ..Self::default()
        }
    }
    /// This reply, sent `delay` after the request arrived.
    pub fn delayed(mut self, delay: std::time::Duration) -> Self {
        self.delay = Some(delay);
        self
    }
    /// This reply, sent once `gate` is `true`.
    pub fn held(mut self, gate: &tokio::sync::watch::Receiver<bool>) -> Self {
        self.held = Some(gate.clone());
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

pub type Handler = dyn Fn(&RawRequest) -> Reply + Send + Sync;

pub struct Server {
    pub base_url: String,
    requests: Arc<Mutex<Vec<RawRequest>>>,
    abandoned: Arc<std::sync::atomic::AtomicUsize>,
}

impl Server {
    /// Starts a server that answers every request with `reply`.
    pub async fn start(reply: Reply) -> Self {
        Self::serve(move |_| reply.clone()).await
    }

    /// Starts a server that answers each request with what `handler` makes
    /// of it (and of the requests before it, which it may count).
    pub async fn serve(handler: impl Fn(&RawRequest) -> Reply + Send + Sync + 'static) -> Self {
        let handler: Arc<Handler> = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let abandoned = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let hung_up = abandoned.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (seen, handler, hung_up) = (seen.clone(), handler.clone(), hung_up.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    let reply = handler(&request);
                    seen.lock().unwrap().push(request);
                    answer(socket, reply, &hung_up).await;
                });
            }
        });
        Self {
            base_url: format!("http://{addr}"),
            requests,
            abandoned,
        }
    }

    /// How many held requests the client closed before they were answered.
    pub fn abandoned(&self) -> usize {
        self.abandoned.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<RawRequest> {
        self.requests.lock().unwrap().clone()
    }
}

/// Answers one request with `reply` (or hangs, closes, waits, as it says);
/// counts in `hung_up` a held reply whose client gave up.
async fn answer(
    mut socket: tokio::net::TcpStream,
    reply: Reply,
    hung_up: &std::sync::atomic::AtomicUsize,
) {
    if reply.hang {
        // Hold the socket open, unanswered, until the client closes it.
        let _ = socket.read(&mut [0u8; 1]).await;
        return;
    }
    if reply.close {
        return;
    }
    if reply.held.is_some() || reply.delay.is_some() {
        let mut gate = reply.held.clone();
        let opened = async {
            if let Some(gate) = gate.as_mut() {
                let _ = gate.wait_for(|open| *open).await;
            }
            if let Some(delay) = reply.delay {
                tokio::time::sleep(delay).await;
            }
        };
        let mut byte = [0u8; 1];
        tokio::select! {
            () = opened => {}
            _ = socket.read(&mut byte) => {
                hung_up.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                return;
            }
        }
    }
    let mut head = format!(
        "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    if let Some(ct) = &reply.content_type {
        head.push_str(&format!("content-type: {ct}\r\n"));
    }
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(&reply.body).await;
    let _ = socket.shutdown().await;
}

/// Reads one request: its head, and its body as long as `Content-Length`
/// says (or until the peer closes).
pub async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<RawRequest> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).ok()?;
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(RawRequest { head, body })
}

/// Every span and event, with all their fields, as text: what a subscriber
/// at TRACE level would be given; and the spans as a tree
/// ([`spans`](Captured::spans)).
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<String>>>, Arc<Mutex<Vec<CapturedSpan>>>);

/// One span as captured: its parent (explicit, else the span entered on
/// its thread when it was made), and its fields as recorded, in order (a
/// field recorded later replaces its `Empty`).
#[derive(Clone, Debug)]
pub struct CapturedSpan {
    pub id: u64,
    pub parent: Option<u64>,
    pub name: &'static str,
    pub level: tracing::Level,
    pub fields: Vec<(&'static str, String)>,
}

impl CapturedSpan {
    /// The field `name` as recorded (strings without quotes).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| *field == name)
            .map(|(_, value)| value.as_str())
    }
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

/// Stops capturing on this thread when dropped.
pub struct CaptureGuard(Option<Captured>);

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

impl Captured {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    pub fn text(&self) -> String {
        self.lines().join("\n")
    }
    /// The spans made, in the order they were made.
    pub fn spans(&self) -> Vec<CapturedSpan> {
        self.1.lock().unwrap().clone()
    }
    /// The spans named `name`.
    pub fn spans_named(&self, name: &str) -> Vec<CapturedSpan> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }
    /// The spans whose parent is `parent`, in the order they were made.
    pub fn children(&self, parent: &CapturedSpan) -> Vec<CapturedSpan> {
        let spans = self.spans();
        spans
            .into_iter()
            .filter(|s| s.parent == Some(parent.id))
            .collect()
    }
    /// The spans as an indented tree, one line each:
    /// `LEVEL name{field=value ...}`.
    pub fn tree(&self) -> String {
        fn write(out: &mut String, spans: &[CapturedSpan], span: &CapturedSpan, depth: usize) {
            let fields: Vec<String> = span
                .fields
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            out.push_str(&format!(
                "{}{} {}{{{}}}\n",
                "  ".repeat(depth),
                span.level,
                span.name,
                fields.join(" ")
            ));
            for child in spans.iter().filter(|s| s.parent == Some(span.id)) {
                write(out, spans, child, depth + 1);
            }
        }
        let spans = self.spans();
        let known: std::collections::HashSet<u64> = spans.iter().map(|s| s.id).collect();
        let mut out = String::new();
        // Roots, and spans whose parent was made before the capture began.
        for root in spans
            .iter()
            .filter(|s| s.parent.is_none_or(|p| !known.contains(&p)))
        {
            write(&mut out, &spans, root, 0);
        }
        out
    }
    /// Captures what this thread emits until the guard drops (tests on a
    /// current-thread runtime see every event of their calls).
    ///
    /// One global subscriber, installed once, routes events to the capture
    /// of the emitting thread. Thread-local subscribers (`set_default`) lose
    /// events when tests run in parallel: a callsite first reached on
    /// another thread while no subscriber was set keeps a cached "never".
    pub fn install(&self) -> CaptureGuard {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            tracing::subscriber::set_global_default(CaptureSubscriber)
                .expect("no other global subscriber in tests");
        });
        tracing::callsite::rebuild_interest_cache();
        CaptureGuard(CURRENT.with(|c| c.borrow_mut().replace(self.clone())))
    }
}

fn capture(line: String) {
    CURRENT.with(|c| {
        if let Some(captured) = c.borrow().as_ref() {
            captured.0.lock().unwrap().push(line);
        }
    });
}

/// Applies `update` to this thread's capture's spans, if it captures.
fn capture_spans(update: impl FnOnce(&mut Vec<CapturedSpan>)) {
    CURRENT.with(|c| {
        if let Some(captured) = c.borrow().as_ref() {
            update(&mut captured.1.lock().unwrap());
        }
    });
}

thread_local! {
    /// The spans entered on this thread, innermost last.
    static ENTERED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Fields as `(name, value)`, strings unquoted.
struct FieldPairs<'a>(&'a mut Vec<(&'static str, String)>);

impl FieldPairs<'_> {
    fn set(&mut self, name: &'static str, value: String) {
        match self.0.iter_mut().find(|(field, _)| *field == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }
}

impl tracing::field::Visit for FieldPairs<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.set(field.name(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.set(field.name(), value.to_string());
    }
}

struct CaptureSubscriber;

struct FieldText<'a>(&'a mut String);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for CaptureSubscriber {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::always()
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let mut line = format!(
            "span {} {}",
            span.metadata().level(),
            span.metadata().name()
        );
        span.record(&mut FieldText(&mut line));
        capture(line);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let parent = match span.parent() {
            Some(parent) => Some(parent.into_u64()),
            None if span.is_contextual() => ENTERED.with(|e| e.borrow().last().copied()),
            None => None,
        };
        let mut fields = Vec::new();
        span.record(&mut FieldPairs(&mut fields));
        // Declared but not yet recorded (`Empty`) fields are not visited.
        let metadata = span.metadata();
        capture_spans(|spans| {
            spans.push(CapturedSpan {
                id,
                parent,
                name: metadata.name(),
                level: *metadata.level(),
                fields,
            })
        });
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, id: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = "record".to_string();
        values.record(&mut FieldText(&mut line));
        capture(line);
        let id = id.into_u64();
        capture_spans(|spans| {
            if let Some(span) = spans.iter_mut().find(|s| s.id == id) {
                values.record(&mut FieldPairs(&mut span.fields));
            }
        });
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = format!(
            "event {} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut FieldText(&mut line));
        capture(line);
    }
    fn enter(&self, id: &tracing::span::Id) {
        ENTERED.with(|e| e.borrow_mut().push(id.into_u64()));
    }
    fn exit(&self, id: &tracing::span::Id) {
        let id = id.into_u64();
        ENTERED.with(|e| {
            let mut entered = e.borrow_mut();
            if let Some(at) = entered.iter().rposition(|&entered| entered == id) {
                entered.remove(at);
            }
        });
    }
}
