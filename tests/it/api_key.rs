//! API keys against a real HTTP Digest server on 127.0.0.1 that checks every
//! response hash: the first challenge is fetched without the body, later
//! calls answer pre-emptively (one exchange each), expired nonces and wrong
//! keys are handled, and the private key never shows.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::{
    Captured, DigestAnswer, PRIVATE_KEY, PROJECT, PUBLIC_KEY, REALM, RawRequest, Reply, Server,
    api_path, create, created, digest_params, hex_md5, hex_sha256, kafka, kafka_named, key_builder,
    key_client, local_key_builder, local_key_client, run_workers, spawn_create,
};
use atlas_stream_connections::local_atlas::{LocalAtlas, NonceCountCheck, RecordedRequest};
use atlas_stream_connections::types::StreamsConnection;
use atlas_stream_connections::{Client, Error};

/// What the server saw of one authenticated request.
#[derive(Debug, Clone)]
struct Seen {
    nc: u32,
    cnonce: String,
    nonce: String,
}

/// An Atlas-like Digest server: issues nonces, checks every response hash
/// with the real key, and lets a nonce serve `uses_per_nonce` requests.
struct DigestServer {
    server: Server,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    nonces_issued: u32,
    /// Every nonce issued, with the requests it authenticated so far.
    uses: HashMap<String, u32>,
    authenticated: Vec<Seen>,
}

#[derive(Clone)]
struct Rules {
    private_key: &'static str,
    uses_per_nonce: u32,
    /// Mark the 401 for an expired nonce `stale=true` (Atlas may not).
    say_stale: bool,
    /// Offer SHA-256 (first) and MD5.
    offer_sha256: bool,
    /// Answer each success with `Authentication-Info: nextnonce` and retire
    /// the nonce it answered, as Apache does near a nonce's end.
    next_nonce: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            private_key: PRIVATE_KEY,
            uses_per_nonce: u32::MAX,
            say_stale: true,
            offer_sha256: false,
            next_nonce: false,
        }
    }
}

impl DigestServer {
    async fn start(rules: Rules) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = Server::serve(move |request| {
            let mut state = shared.lock().unwrap();
            handle(&rules, &mut state, request)
        })
        .await;
        DigestServer { server, state }
    }

    fn client(&self) -> Client {
        key_client(&self.server.base_url)
    }

    fn authenticated(&self) -> Vec<Seen> {
        self.state.lock().unwrap().authenticated.clone()
    }
}

fn challenge(rules: &Rules, state: &mut State, stale: bool) -> Reply {
    state.nonces_issued += 1;
    let nonce = format!("nonce-{}", state.nonces_issued);
    state.uses.insert(nonce.clone(), 0);
    let stale = if stale { "true" } else { "false" };
    let md5 = format!(
        r#"Digest realm="{REALM}", domain="", nonce="{nonce}", algorithm=MD5, qop="auth", stale={stale}"#
    );
    let reply = Reply::json(
        401,
        "application/json",
        r#"{"error":401,"errorCode":"UNAUTHORIZED","detail":"You are not authorized for this resource.","reason":"Unauthorized"}"#,
    );
    if rules.offer_sha256 {
        let sha = md5.replace("algorithm=MD5", "algorithm=SHA-256");
        reply
            .header("www-authenticate", &sha)
            .header("www-authenticate", &md5)
    } else {
        reply.header("www-authenticate", &md5)
    }
}

fn handle(rules: &Rules, state: &mut State, request: &RawRequest) -> Reply {
    let Some(header) = request.header("authorization") else {
        return challenge(rules, state, false);
    };
    let p = digest_params(&header);
    let hash = match p["algorithm"].as_str() {
        "MD5" => hex_md5,
        "SHA-256" => hex_sha256,
        other => panic!("unexpected algorithm {other}"),
    };
    let expected = DigestAnswer {
        username: &p["username"],
        private_key: rules.private_key,
        method: request.method(),
        uri: &p["uri"],
        nonce: &p["nonce"],
        nc: &p["nc"],
        cnonce: &p["cnonce"],
    }
    .response(hash);
    let uri = request.target();
    if p["uri"] != uri || p["realm"] != REALM || p["response"] != expected {
        return challenge(rules, state, false);
    }
    let Some(uses) = state.uses.get_mut(&p["nonce"]) else {
        return challenge(rules, state, false);
    };
    if *uses >= rules.uses_per_nonce {
        return challenge(rules, state, rules.say_stale);
    }
    *uses += 1;
    state.authenticated.push(Seen {
        nc: u32::from_str_radix(&p["nc"], 16).unwrap(),
        cnonce: p["cnonce"].clone(),
        nonce: p["nonce"].clone(),
    });
    let reply = created();
    if !rules.next_nonce {
        return reply;
    }
    state.uses.remove(&p["nonce"]);
    state.nonces_issued += 1;
    let next = format!("nonce-{}", state.nonces_issued);
    state.uses.insert(next.clone(), 0);
    let info = format!(
        r#"rspauth="x", cnonce="{}", nc={}, qop=auth, nextnonce="{next}""#,
        p["cnonce"], p["nc"]
    );
    reply.header("authentication-info", &info)
}

#[tokio::test]
async fn the_first_challenge_is_fetched_without_the_body() {
    let server = DigestServer::start(Rules::default()).await;
    let created = create(&server.client())
        .await
        .expect("authenticated create");
    assert_eq!(created.kind(), "Kafka");

    let requests = server.server.requests();
    assert_eq!(requests.len(), 2, "one probe, one authenticated request");
    let (probe, real) = (&requests[0], &requests[1]);
    assert_eq!(probe.request_line(), real.request_line());
    assert!(probe.body.is_empty(), "the probe carried a body");
    assert_eq!(probe.header("content-length").as_deref(), Some("0"));
    assert_eq!(probe.header("content-type"), None);
    assert_eq!(probe.header("authorization"), None);
    assert!(
        !real.body.is_empty(),
        "the authenticated request lost its body"
    );
    let params = digest_params(&real.header("authorization").unwrap());
    assert_eq!(params["username"], PUBLIC_KEY);
    assert_eq!(params["realm"], REALM);
    assert_eq!(params["qop"], "auth");
    assert_eq!(params["nc"], "00000001");
    assert_eq!(params["algorithm"], "MD5");
    assert_eq!(params["uri"], api_path());
    assert_eq!(
        server.authenticated().len(),
        1,
        "the server accepted the hash"
    );
}

#[tokio::test]
async fn steady_state_needs_one_exchange_per_call() {
    let server = DigestServer::start(Rules::default()).await;
    let client = server.client();
    let calls = 100;
    for i in 0..calls {
        client
            .create_stream_connection(PROJECT, &format!("instance-{i}"), &kafka())
            .await
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
    }
    let exchanges = server.server.requests().len();
    eprintln!(
        "Digest: {exchanges} HTTP exchanges for {calls} sequential creates = {:.2} per call",
        exchanges as f64 / calls as f64
    );
    assert_eq!(
        exchanges,
        calls + 1,
        "one probe, then one exchange per call"
    );

    let seen = server.authenticated();
    let counts: Vec<u32> = seen.iter().map(|s| s.nc).collect();
    assert_eq!(
        counts,
        (1..=calls as u32).collect::<Vec<_>>(),
        "nc counts up"
    );
    let cnonces: HashSet<&str> = seen.iter().map(|s| s.cnonce.as_str()).collect();
    assert_eq!(cnonces.len(), calls, "every cnonce is fresh");
    assert!(
        seen.iter().all(|s| s.nonce == "nonce-1"),
        "one nonce served all"
    );
}

#[tokio::test]
async fn an_expired_nonce_is_replaced_and_the_request_sent_once_more() {
    for say_stale in [true, false] {
        let server = DigestServer::start(Rules {
            uses_per_nonce: 2,
            say_stale,
            ..Rules::default()
        })
        .await;
        let client = server.client();
        for i in 0..3 {
            client
                .create_stream_connection(PROJECT, &format!("instance-{i}"), &kafka())
                .await
                .unwrap_or_else(|e| panic!("stale={say_stale}, call {i}: {e}"));
        }
        // Probe, two calls on nonce-1, then a refusal and a retry on nonce-2.
        assert_eq!(server.server.requests().len(), 5, "stale={say_stale}");
        let seen = server.authenticated();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2].nonce, "nonce-2");
        assert_eq!(seen[2].nc, 1, "nc starts again with a new nonce");
    }
}

#[tokio::test]
async fn a_wrong_key_is_an_authentication_error_after_three_exchanges() {
    let server = DigestServer::start(Rules {
        private_key: "the-key-the-server-knows",
        ..Rules::default()
    })
    .await;
    let err = create(&server.client()).await.unwrap_err();
    let Error::Authentication(response) = &err else {
        panic!("not an authentication error: {err:?}");
    };
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(err.error_code(), Some("UNAUTHORIZED"));
    assert_eq!(
        server.server.requests().len(),
        3,
        "a probe, then a fresh challenge refused twice is final"
    );
    assert!(!err.to_string().contains(PRIVATE_KEY));
}

#[tokio::test]
async fn a_fresh_nonce_refused_once_without_stale_is_answered_again() {
    // What Apache does when it evicts the client of a request under way
    // (its table full): the first answer to a nonce never used is refused
    // without `stale`, with a new nonce; the key was right all along.
    let answers = AtomicUsize::new(0);
    let server = Server::serve(move |request| {
        let nonce = match request.header("authorization") {
            None => "first",
            Some(_) if answers.fetch_add(1, Ordering::SeqCst) == 0 => "second",
            Some(_) => return created(),
        };
        Reply::status(401).header(
            "www-authenticate",
            &format!(r#"Digest realm="{REALM}", nonce="{nonce}", qop="auth""#),
        )
    })
    .await;
    create(&key_client(&server.base_url))
        .await
        .expect("the second fresh nonce is accepted");
    let answered: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(|a| digest_params(&a)))
        .collect();
    assert_eq!(answered.len(), 3, "a probe, a refusal, the call");
    assert!(answered[0].is_none(), "the probe carries no credentials");
    for (answer, nonce) in answered[1..].iter().zip(["first", "second"]) {
        let answer = answer.as_ref().expect("an answer");
        assert_eq!(answer["nonce"], nonce);
        assert_eq!(answer["nc"], "00000001");
    }
}

#[tokio::test]
async fn the_next_nonce_a_server_names_is_answered_from_one() {
    let server = DigestServer::start(Rules {
        next_nonce: true,
        ..Rules::default()
    })
    .await;
    let client = server.client();
    for i in 0..5 {
        client
            .create_stream_connection(PROJECT, &format!("instance-{i}"), &kafka())
            .await
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
    }
    assert_eq!(
        server.server.requests().len(),
        6,
        "a probe, then one exchange each"
    );
    let seen = server.authenticated();
    let nonces: Vec<&str> = seen.iter().map(|s| s.nonce.as_str()).collect();
    assert_eq!(
        nonces,
        ["nonce-1", "nonce-2", "nonce-3", "nonce-4", "nonce-5"]
    );
    assert!(seen.iter().all(|s| s.nc == 1), "{seen:?}");
}

#[tokio::test]
async fn sha256_is_preferred_when_offered() {
    let server = DigestServer::start(Rules {
        offer_sha256: true,
        ..Rules::default()
    })
    .await;
    create(&server.client()).await.expect("SHA-256 accepted");
    let requests = server.server.requests();
    let params = digest_params(&requests[1].header("authorization").unwrap());
    assert_eq!(params["algorithm"], "SHA-256");
}

/// `count` creates at once, each on a task of its own, to instances
/// `{tag}-0`, `{tag}-1`...
fn spawn_creates(
    client: &Client,
    count: usize,
    tag: &str,
) -> Vec<tokio::task::JoinHandle<Result<StreamsConnection, Error>>> {
    (0..count)
        .map(|i| spawn_create(client, &format!("{tag}-{i}")))
        .collect()
}

/// `workers` tasks sharing `client`, `each` creates apiece, each to an
/// instance of its own (`{tag}-{worker}-{i}`): the messages of the errors.
async fn worker_errors(client: &Client, workers: usize, each: usize, tag: &str) -> Vec<String> {
    let tag = tag.to_owned();
    let what = move |worker, i| (format!("{tag}-{worker}-{i}"), kafka_named("events"));
    run_workers(client, (workers, each), what)
        .await
        .into_iter()
        .filter_map(|result| result.err().map(|e| e.to_string()))
        .collect()
}

/// Per nonce, the counts the server saw in arrival order.
fn counts_by_nonce(seen: &[Seen]) -> HashMap<&str, Vec<u32>> {
    let mut counts: HashMap<&str, Vec<u32>> = HashMap::new();
    for s in seen {
        counts.entry(&s.nonce).or_default().push(s.nc);
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_never_share_a_nonce_so_counts_arrive_in_order() {
    let server = DigestServer::start(Rules::default()).await;
    let client = server.client();
    let burst = |round: usize| {
        let client = client.clone();
        async move {
            let tasks = spawn_creates(&client, 16, &format!("i-{round}"));
            for task in tasks {
                task.await.unwrap().expect("create");
            }
        }
    };
    for round in 0..4 {
        burst(round).await;
    }
    let requests = server.server.requests();
    let probes = requests
        .iter()
        .filter(|r| r.header("authorization").is_none())
        .count();
    assert!(
        requests
            .iter()
            .all(|r| r.body.is_empty() || r.header("authorization").is_some()),
        "a body went out unauthenticated"
    );
    assert!(
        (1..=16).contains(&probes),
        "a nonce per concurrent call at most: {probes}"
    );
    assert_eq!(
        requests.len(),
        64 + probes,
        "one exchange per call besides probes"
    );
    let seen = server.authenticated();
    for (nonce, counts) in counts_by_nonce(&seen) {
        assert!(
            counts.windows(2).all(|w| w[0] < w[1]),
            "{nonce}: counts out of order {counts:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_calls_share_the_first_probe_and_its_failure() {
    // A server that never answers: the calls waiting on the first probe
    // fail with it, after one timeout, instead of probing one after another.
    let server = Server::start(Reply::hang()).await;
    let client = key_builder(&server.base_url, PRIVATE_KEY)
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let tasks = spawn_creates(&client, 8, "instance");
    for task in tasks {
        let error = task.await.unwrap().unwrap_err();
        assert!(matches!(error, Error::Timeout(_)), "{error:?}");
    }
    assert_eq!(server.requests().len(), 1, "one probe for all");
}

#[tokio::test]
async fn a_throttled_probe_is_retried_like_any_call() {
    let probes = Arc::new(Mutex::new(0));
    let count = probes.clone();
    let rules = Rules::default();
    let state = Arc::new(Mutex::new(State::default()));
    let server = Server::serve(move |request| {
        if request.header("authorization").is_none() {
            let mut probes = count.lock().unwrap();
            *probes += 1;
            if *probes == 1 {
                return Reply::status(429).header("retry-after", "0");
            }
        }
        handle(&rules, &mut state.lock().unwrap(), request)
    })
    .await;
    let client = key_builder(&server.base_url, PRIVATE_KEY)
        .retry_backoff(std::time::Duration::ZERO, std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    create(&client)
        .await
        .expect("create after a throttled probe");
    assert_eq!(*probes.lock().unwrap(), 2);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn the_private_key_shows_nowhere() {
    let captured = Captured::default();
    let _guard = captured.install();
    let good = DigestServer::start(Rules::default()).await;
    let client = good.client();
    create(&client).await.unwrap();
    let bad = DigestServer::start(Rules {
        private_key: "other",
        ..Rules::default()
    })
    .await;
    let err = create(&bad.client()).await.unwrap_err();
    let shown = [
        format!("{client:?}"),
        format!("{err:?}"),
        err.to_string(),
        captured.text(),
    ];
    assert!(!captured.lines().is_empty(), "nothing was captured");
    for text in shown {
        assert!(!text.contains(PRIVATE_KEY), "private key in: {text}");
    }
}

#[tokio::test]
async fn a_probe_answered_without_a_challenge_ends_the_call_without_sending_the_body() {
    for (reply, what) in [
        (
            Reply::json(
                400,
                "application/json",
                r#"{"error":400,"errorCode":"INVALID_JSON"}"#,
            ),
            "400",
        ),
        (
            Reply::status(401).header("www-authenticate", r#"Bearer realm="x""#),
            "401 without Digest",
        ),
        (created(), "200"),
    ] {
        let server = Server::start(reply).await;
        let err = create(&key_client(&server.base_url)).await.unwrap_err();
        let Error::Authentication(response) = &err else {
            panic!("{what}: not an authentication error: {err:?}");
        };
        assert!(
            response
                .note()
                .is_some_and(|n| n.contains("Digest challenge")),
            "{what}: {err}"
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "{what}: only the probe");
        assert!(requests[0].body.is_empty(), "{what}: the body went out");
    }
}

#[tokio::test]
async fn digest_works_when_every_answer_is_enveloped() {
    // A server that envelopes everything (HTTP 200, the real status inside)
    // still has its challenges and refusals seen as such.
    let rules = Rules {
        uses_per_nonce: 1,
        ..Rules::default()
    };
    let state = Arc::new(Mutex::new(State::default()));
    let server = Server::serve(move |request| {
        let reply = handle(&rules, &mut state.lock().unwrap(), request);
        let content = String::from_utf8(reply.body.clone()).unwrap();
        let mut enveloped = Reply::json(
            200,
            "application/json",
            &format!(r#"{{"status":{},"content":{content}}}"#, reply.status),
        );
        enveloped.headers = reply.headers;
        enveloped
    })
    .await;
    let client = key_client(&server.base_url);
    let options = atlas_stream_connections::CallOptions::new().envelope(true);
    for i in 0..2 {
        let created = client
            .create_stream_connection_with(PROJECT, &format!("instance-{i}"), &kafka(), &options)
            .await
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
        assert_eq!(created.kind(), "Kafka");
    }
    // Probe, call 1, then call 2 refused (nonce used up) and sent again.
    assert_eq!(server.requests().len(), 4);
}

async fn local_atlas(check: NonceCountCheck) -> LocalAtlas {
    LocalAtlas::builder()
        .nonce_count_check(check)
        .start()
        .await
        .unwrap()
}

/// What one phase of a load against the local Atlas gave.
#[derive(Debug, Default)]
struct Figures {
    calls: usize,
    failures: usize,
    exchanges: usize,
    /// Requests without credentials, each learning a nonce.
    probes: usize,
    /// Answers to a nonce refused with `401`.
    refused: usize,
    first_error: Option<String>,
}

/// `workers` tasks sharing `client`, `each` creates apiece, each to an
/// instance of its own (names repeat across instances only).
async fn load(
    atlas: &LocalAtlas,
    client: &Client,
    workers: usize,
    each: usize,
    tag: &str,
) -> Figures {
    let before = atlas.requests().len();
    let errors = worker_errors(client, workers, each, tag).await;
    let mut figures = Figures {
        calls: workers * each,
        failures: errors.len(),
        first_error: errors.into_iter().next(),
        ..Figures::default()
    };
    let seen = &atlas.requests()[before..];
    figures.exchanges = seen.len();
    let answered = |r: &&RecordedRequest| r.headers.iter().any(|(n, _)| n == "authorization");
    figures.probes = seen.iter().filter(|r| !answered(r)).count();
    figures.refused = seen
        .iter()
        .filter(|r| answered(r) && r.status == 401)
        .count();
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_never_fail_and_take_one_exchange_each_in_steady_state() {
    for check in [NonceCountCheck::Unique, NonceCountCheck::Increasing] {
        for workers in [1, 8, 32] {
            let atlas = local_atlas(check).await;
            let client = local_key_client(&atlas);
            let warm = load(&atlas, &client, workers, 1, "warm").await;
            let steady = load(&atlas, &client, workers, 10, "steady").await;
            let per_call = steady.exchanges as f64 / steady.calls as f64;
            eprintln!(
                "{check:?} c={workers}: warm-up {} calls {} failures {} exchanges ({} probes) | \
                 steady {} calls {} failures {} exchanges ({} probes, {} refused) = \
                 {per_call:.2} per call",
                warm.calls,
                warm.failures,
                warm.exchanges,
                warm.probes,
                steady.calls,
                steady.failures,
                steady.exchanges,
                steady.probes,
                steady.refused,
            );
            for figures in [&warm, &steady] {
                assert_eq!(figures.failures, 0, "{check:?} c={workers}: {figures:?}");
            }
            // Every call is one answer, never refused; beyond them, the
            // pool learns one nonce per call under way at its peak, which
            // the warm-up may not have reached when its calls did not
            // overlap (a loaded machine): the steady state's first calls
            // then probe for the rest.
            assert_eq!(steady.refused, 0, "{check:?} c={workers}: {steady:?}");
            assert_eq!(
                steady.exchanges - steady.probes,
                steady.calls,
                "{check:?} c={workers}: {steady:?}"
            );
            assert!(
                warm.probes + steady.probes <= workers,
                "a probe per concurrent call at most: {check:?} c={workers}: {warm:?} {steady:?}"
            );
            assert!(
                warm.exchanges <= 2 * warm.calls,
                "a probe per concurrent call at most: {warm:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_under_concurrency_ends_every_call_after_three_exchanges_each() {
    let atlas = local_atlas(NonceCountCheck::Increasing).await;
    let client = local_key_builder(&atlas, "not-the-private-key")
        .build()
        .unwrap();
    let figures = load(&atlas, &client, 16, 1, "wrong").await;
    assert_eq!(figures.failures, 16, "{figures:?}");
    assert!(
        figures
            .first_error
            .as_deref()
            .is_some_and(|e| e.contains("401")),
        "{figures:?}"
    );
    assert_eq!(
        figures.exchanges,
        3 * 16,
        "a probe and the call, refused twice: {figures:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_keeps_a_nonce_per_concurrent_call_and_none_refused() {
    // A server that holds every authenticated call until eight have come,
    // so that eight are under way at once.
    let (open, gate) = tokio::sync::watch::channel(false);
    let (issued, arrived) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let server = Server::serve(move |request| {
        if request.header("authorization").is_none() {
            let nonce = issued.fetch_add(1, Ordering::SeqCst);
            return Reply::status(401).header(
                "www-authenticate",
                &format!(r#"Digest realm="{REALM}", nonce="n{nonce}", qop="auth""#),
            );
        }
        if arrived.fetch_add(1, Ordering::SeqCst) + 1 >= 8 {
            open.send_replace(true);
        }
        created().held(&gate)
    })
    .await;
    let client = key_client(&server.base_url);
    let calls = spawn_creates(&client, 8, "instance");
    for call in calls {
        call.await.unwrap().expect("create");
    }
    let shown = format!("{client:?}");
    assert!(shown.contains("idle_nonces: 8"), "{shown}");
    assert!(!shown.contains(PRIVATE_KEY), "{shown}");

    let atlas = local_atlas(NonceCountCheck::Increasing).await;
    let client = local_key_client(&atlas);
    load(&atlas, &client, 1, 1, "one").await;
    let shown = format!("{client:?}");
    assert!(shown.contains("idle_nonces: 1"), "{shown}");
    let wrong = local_key_builder(&atlas, "not-the-private-key")
        .build()
        .unwrap();
    assert_eq!(load(&atlas, &wrong, 1, 2, "wrong").await.failures, 2);
    let shown = format!("{wrong:?}");
    assert!(
        shown.contains("idle_nonces: 0"),
        "a refused nonce is kept: {shown}"
    );
}

#[tokio::test]
async fn a_server_that_declares_every_answer_stale_ends_the_call_after_three_nonces_of_three_tries()
{
    let issued = Arc::new(Mutex::new(0));
    let server = Server::serve(move |request| {
        let mut issued = issued.lock().unwrap();
        *issued += 1;
        let stale = request.header("authorization").is_some();
        Reply::status(401).header(
            "www-authenticate",
            &format!(r#"Digest realm="{REALM}", nonce="n{issued}", qop="auth", stale={stale}"#),
        )
    })
    .await;
    let client = key_client(&server.base_url);
    let error = create(&client).await.unwrap_err();
    assert!(matches!(error, Error::Authentication(_)), "{error:?}");
    assert_eq!(
        server.requests().len(),
        12,
        "three times: a probe, the call, two new challenges"
    );
}

#[tokio::test]
async fn a_probe_still_unavailable_after_its_retries_is_the_calls_api_error() {
    for (retries, requests) in [(0, 1), (2, 3)] {
        let server = Server::start(Reply::status(503)).await;
        let client = key_builder(&server.base_url, PRIVATE_KEY)
            .max_retries(retries)
            .retry_backoff(std::time::Duration::ZERO, std::time::Duration::from_secs(1))
            .build()
            .unwrap();
        let error = create(&client).await.unwrap_err();
        let Error::Api(response) = &error else {
            panic!("not an API error: {error:?}");
        };
        assert_eq!(response.status().as_u16(), 503);
        assert_eq!(server.requests().len(), requests, "{retries} retries");
        assert!(server.requests().iter().all(|r| r.body.is_empty()));
    }
}

/// The answer of a server that holds three Digest clients (`opaque`s).
fn forgetful_reply(
    table: &Mutex<(u32, std::collections::VecDeque<String>)>,
    request: &RawRequest,
) -> Reply {
    const HOLDS: usize = 3;
    let mut table = table.lock().unwrap();
    let opaque = request
        .header("authorization")
        .map(|header| digest_params(&header)["opaque"].clone());
    if let Some(opaque) = &opaque
        && table.1.contains(opaque)
    {
        return created();
    }
    // A new client: remembered, the oldest forgotten beyond three.
    table.0 += 1;
    let fresh = format!("o{}", table.0);
    table.1.push_back(fresh.clone());
    if table.1.len() > HOLDS {
        table.1.pop_front();
    }
    let stale = opaque.is_some();
    Reply::status(401).header(
        "www-authenticate",
        &format!(
            r#"Digest realm="{REALM}", nonce="n{}", opaque="{fresh}", qop="auth", stale={stale}"#,
            table.0
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_forgets_clients_gets_fewer_nonces_and_no_call_fails() {
    // Like Apache with a small client table: three `opaque`s at most, the
    // oldest forgotten, and its next use refused `stale=true` with a new one.
    let table = Mutex::new((0, std::collections::VecDeque::new()));
    let server = Server::serve(move |request| forgetful_reply(&table, request)).await;
    let client = key_client(&server.base_url);
    let ten_seconds = std::time::Duration::from_secs(10);
    let errors = tokio::time::timeout(ten_seconds, worker_errors(&client, 8, 10, "instance")).await;
    let Ok(errors) = errors else {
        panic!("stuck: {client:?}, {} requests", server.requests().len());
    };
    assert_eq!(errors, Vec::<String>::new());
    let shown = format!("{client:?}");
    let allowed: usize = shown
        .split("nonces_allowed: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{shown}"));
    eprintln!(
        "forgetful server: {} exchanges for 80 calls, {allowed} nonces allowed",
        server.requests().len()
    );
    assert!(allowed <= 4, "{shown}");
}
