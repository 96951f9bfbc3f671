//! Downloading an upstream spec for `regen --from https://...`, with the
//! workspace's one HTTP stack (reqwest over rustls) on a current-thread tokio
//! runtime that lives only as long as the download.

use std::time::Duration;

use reqwest::Url;

/// How long establishing the connection (TCP and TLS) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the whole download may take, body included.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(120);
/// The upstream spec is about 3.5 MB; anything far larger is not it.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
const MAX_REDIRECTS: usize = 5;

pub const USER_AGENT: &str = concat!(
    "atlas-stream-connections-xtask/",
    env!("CARGO_PKG_VERSION"),
    " (cargo xtask regen)"
);

/// Downloads `url`. The error says what went wrong in one line, without the
/// URL (the caller puts the source in front of it).
pub fn download(url: &Url) -> Result<Vec<u8>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    runtime.block_on(download_async(url))
}

async fn download_async(url: &Url) -> Result<Vec<u8>, String> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        // An https:// source never falls back to plain HTTP on a redirect.
        .https_only(url.scheme() == "https");
    if is_loopback(url) {
        // Tests' local servers: no proxy from the environment in between.
        builder = builder.no_proxy();
    }
    let client = builder
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", root_cause(&e)))?;

    let mut response = client.get(url.clone()).send().await.map_err(describe)?;
    let status = response.status();
    if !status.is_success() {
        let redirected = if response.url() != url {
            format!(
                " (after a redirect to {})",
                crate::source::redact(response.url())
            )
        } else {
            String::new()
        };
        return Err(format!("HTTP {status}{redirected}"));
    }
    if let Some(length) = response.content_length()
        && length > MAX_BYTES
    {
        return Err(format!(
            "the response is {length} bytes, more than the {MAX_BYTES} accepted"
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if (body.len() + chunk.len()) as u64 > MAX_BYTES {
            return Err(format!(
                "the response is more than the {MAX_BYTES} bytes accepted"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether `url` names this machine (the only place plain `http://` may go).
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One line for a failed request: the kind of failure and its deepest cause
/// (reqwest's own message repeats the URL, possibly with credentials).
fn describe(e: reqwest::Error) -> String {
    let cause = root_cause(&e);
    if e.is_timeout() {
        if e.is_connect() {
            format!(
                "cannot connect: timed out after {} s",
                CONNECT_TIMEOUT.as_secs()
            )
        } else {
            format!("timed out after {} s", TOTAL_TIMEOUT.as_secs())
        }
    } else if e.is_connect() {
        format!("cannot connect: {cause}")
    } else if e.is_redirect() {
        format!("redirect refused: {cause}")
    } else if e.is_body() || e.is_decode() {
        format!("download broken off: {cause}")
    } else {
        format!("request failed: {cause}")
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = e;
    while let Some(next) = deepest.source() {
        deepest = next;
    }
    crate::one_line(&deepest.to_string())
}
