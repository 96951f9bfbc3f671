//! How a client is configured: the builder's defaults and checks, the
//! environment variables (`from_env_with`, and `from_env` in a child process
//! with a controlled environment), the `User-Agent`, timeouts, and `Debug`
//! output that never shows a credential.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::support::{
    PRIVATE_KEY, PUBLIC_KEY, RawRequest, Reply, Server, TOKEN_PATH, api_path, assert_no_secret,
    child_line, create, created, owned_pairs, run_child_test, token_reply,
};
use atlas_stream_connections::{Client, ClientBuilder, DEFAULT_BASE_URL, Error};
use reqwest::header::{HeaderMap, HeaderValue};

// Distinctive credential values, so a leak of any of them is easy to spot.
const CLIENT_ID: &str = "mdb_sa_id_5f1e0c";
const CLIENT_SECRET: &str = "mdb_sa_sk_SECRET-7d41a9";
const ACCESS_TOKEN: &str = "access-token-SECRET-0a6f";
/// What the token endpoint of [`atlas`] hands out.
const ISSUED_TOKEN: &str = "issued-token-SECRET-c3b8";

const ID_VAR: &str = "MONGODB_ATLAS_CLIENT_ID";
const SECRET_VAR: &str = "MONGODB_ATLAS_CLIENT_SECRET";
const PUBLIC_VAR: &str = "MONGODB_ATLAS_PUBLIC_API_KEY";
const PRIVATE_VAR: &str = "MONGODB_ATLAS_PRIVATE_API_KEY";
const PUBLIC_ALIAS: &str = "MONGODB_ATLAS_PUBLIC_KEY";
const PRIVATE_ALIAS: &str = "MONGODB_ATLAS_PRIVATE_KEY";
const TOKEN_VAR: &str = "MONGODB_ATLAS_ACCESS_TOKEN";
const BASE_URL_VAR: &str = "MONGODB_ATLAS_BASE_URL";
const BASE_URL_ALIAS: &str = "MONGODB_ATLAS_OPS_MANAGER_URL";

/// Environment variables, name and value.
type Vars = Vec<(&'static str, &'static str)>;

/// Set in the environment of the child process that runs [`from_env_child`].
const CHILD_MARKER: &str = "ATLAS_STREAM_CONNECTIONS_TEST_FROM_ENV_CHILD";

/// The request line of the create call.
fn api_request_line() -> String {
    format!("POST {} HTTP/1.1", api_path())
}

/// A stand-in for Atlas: a service-account token at `.../api/oauth/token`,
/// the Kafka example everywhere else.
async fn atlas() -> Server {
    Server::serve(|request| {
        if request.target().ends_with(TOKEN_PATH) {
            token_reply(ISSUED_TOKEN, 3600)
        } else {
            created()
        }
    })
    .await
}

/// `ClientBuilder::from_env_with` over exactly these variables.
fn from_env(vars: &[(&str, &str)]) -> Result<ClientBuilder, Error> {
    let vars: HashMap<String, String> = owned_pairs(vars).into_iter().collect();
    ClientBuilder::from_env_with(|name| vars.get(name).cloned())
}

/// The credential values these tests use that must never show.
const SECRETS: [&str; 4] = [CLIENT_SECRET, PRIVATE_KEY, ACCESS_TOKEN, ISSUED_TOKEN];

/// The message of the `Error::Configuration` that `from_env_with(vars)`
/// must return, after checking neither its `Display` nor its `Debug` holds
/// a secret.
fn env_error(vars: &[(&str, &str)]) -> String {
    let error = match from_env(vars) {
        Ok(builder) => panic!("{vars:?} was accepted: {builder:?}"),
        Err(error) => error,
    };
    assert_no_secret(&error.to_string(), &SECRETS, "Display of the error");
    assert_no_secret(&format!("{error:?}"), &SECRETS, "Debug of the error");
    match error {
        Error::Configuration { message } => message,
        other => panic!("{vars:?}: not a configuration error: {other:?}"),
    }
}

/// The `MONGODB_ATLAS_*` variable names a message mentions.
fn variables_named(message: &str) -> BTreeSet<&str> {
    message
        .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|word| word.starts_with("MONGODB_ATLAS_"))
        .collect()
}

fn names(list: &[&'static str]) -> BTreeSet<&'static str> {
    list.iter().copied().collect()
}

/// The message of the `Error::Configuration` that `build` must return.
fn build_error(builder: ClientBuilder) -> String {
    match builder.build() {
        Ok(client) => panic!("the builder was accepted: {client:?}"),
        Err(Error::Configuration { message }) => message,
        Err(other) => panic!("not a configuration error: {other:?}"),
    }
}

fn rejected_base_url(base_url: &str) -> Error {
    let error = Client::builder()
        .base_url(base_url)
        .access_token(ACCESS_TOKEN)
        .build()
        .expect_err(base_url);
    assert!(
        matches!(
            error,
            Error::InvalidInput {
                parameter: "base_url",
                ..
            }
        ),
        "{base_url}: {error:?}"
    );
    error
}

// ---------------------------------------------------------------------------
// Base URL

#[test]
fn the_default_base_url_is_atlas() {
    let client = Client::builder().access_token("t").build().unwrap();
    assert_eq!(client.base_url(), "https://cloud.mongodb.com");
    assert_eq!(DEFAULT_BASE_URL, "https://cloud.mongodb.com");
}

#[test]
fn a_trailing_slash_is_dropped_from_the_base_url() {
    for (given, normalised) in [
        ("https://cloud.mongodb.com/", "https://cloud.mongodb.com"),
        ("http://127.0.0.1:9/prefix/", "http://127.0.0.1:9/prefix"),
        ("http://127.0.0.1:9/prefix", "http://127.0.0.1:9/prefix"),
    ] {
        let client = Client::builder()
            .base_url(given)
            .access_token("t")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), normalised, "{given}");
    }
}

#[tokio::test]
async fn api_requests_keep_the_path_prefix_of_the_base_url() {
    let server = atlas().await;
    let client = Client::builder()
        .base_url(format!("{}/prefix/", server.base_url))
        .access_token(ACCESS_TOKEN)
        .build()
        .unwrap();
    create(&client).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one request");
    assert_eq!(
        requests[0].request_line(),
        format!("POST /prefix{} HTTP/1.1", api_path())
    );
}

#[tokio::test]
async fn token_requests_keep_the_path_prefix_of_the_base_url() {
    let server = atlas().await;
    let client = Client::builder()
        .base_url(format!("{}/prefix/", server.base_url))
        .service_account(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap();
    create(&client).await.unwrap();
    let lines: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.request_line().to_owned())
        .collect();
    assert_eq!(
        lines,
        vec![
            "POST /prefix/api/oauth/token HTTP/1.1".to_owned(),
            format!("POST /prefix{} HTTP/1.1", api_path()),
        ],
        "a token request, then the call, both under /prefix"
    );
}

#[test]
fn invalid_base_urls_are_invalid_input_naming_base_url() {
    for bad in [
        "",
        "cloud.mongodb.com",
        "ftp://cloud.mongodb.com",
        "file:///etc/passwd",
        "https://cloud.mongodb.com/?x=1",
        "https://cloud.mongodb.com/#top",
        "https://",
    ] {
        let error = rejected_base_url(bad);
        assert!(
            error.to_string().contains("base_url"),
            "{bad}: the message names the setting: {error}"
        );
    }
}

#[test]
fn invalid_base_urls_never_echo_embedded_credentials() {
    for bad in [
        "https://alice:hunter2-pw@cloud.mongodb.com",
        "https://alice:hunter2-pw@cloud.mongodb.com/prefix/",
        "https://hunter2-pw@cloud.mongodb.com",
        "ftp://alice:hunter2-pw@cloud.mongodb.com",
        "alice:hunter2-pw@cloud.mongodb.com",
        "https://alice:hunter2-pw@cloud.mongodb.com/?q=1",
    ] {
        let error = rejected_base_url(bad);
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains("hunter2-pw"), "{bad}: echoed: {shown}");
        }
    }
}

// ---------------------------------------------------------------------------
// Exactly one credential

#[tokio::test]
async fn a_builder_without_credentials_is_a_configuration_error_and_sends_nothing() {
    let server = atlas().await;
    let message = build_error(Client::builder().base_url(&server.base_url));
    assert!(message.contains("no credential"), "{message}");
    assert!(server.requests().is_empty(), "a request went out");
}

#[tokio::test]
async fn two_credentials_are_a_configuration_error_naming_both_kinds_and_send_nothing() {
    let server = atlas().await;
    let base = || Client::builder().base_url(&server.base_url);
    for (builder, kinds) in [
        (
            base()
                .api_key(PUBLIC_KEY, PRIVATE_KEY)
                .access_token(ACCESS_TOKEN),
            ["API key", "access token"],
        ),
        (
            base()
                .service_account(CLIENT_ID, CLIENT_SECRET)
                .api_key(PUBLIC_KEY, PRIVATE_KEY),
            ["service account", "API key"],
        ),
        (
            base()
                .access_token(ACCESS_TOKEN)
                .service_account(CLIENT_ID, CLIENT_SECRET),
            ["access token", "service account"],
        ),
    ] {
        let message = build_error(builder);
        for kind in kinds {
            assert!(
                message.contains(kind),
                "{kinds:?}: {kind} not named: {message}"
            );
        }
        assert_no_secret(&message, &SECRETS, "two credentials");
    }
    assert!(server.requests().is_empty(), "a request went out");
}

#[test]
fn the_same_kind_of_credential_given_twice_is_also_refused() {
    let message = build_error(
        Client::builder()
            .access_token(ACCESS_TOKEN)
            .access_token("another-token"),
    );
    assert!(message.contains("access token"), "{message}");
    assert_no_secret(&message, &SECRETS, "two access tokens");
    assert!(!message.contains("another-token"), "{message}");
}

// ---------------------------------------------------------------------------
// from_env_with: each kind alone

#[tokio::test]
async fn an_access_token_from_the_environment_is_sent_as_a_bearer_token() {
    let server = atlas().await;
    let client = from_env(&[(TOKEN_VAR, ACCESS_TOKEN), (BASE_URL_VAR, &server.base_url)])
        .unwrap()
        .build()
        .unwrap();
    create(&client).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one request");
    assert_eq!(requests[0].request_line(), api_request_line());
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );
}

#[tokio::test]
async fn a_service_account_from_the_environment_first_asks_for_a_token() {
    let server = atlas().await;
    let client = from_env(&[
        (ID_VAR, CLIENT_ID),
        (SECRET_VAR, CLIENT_SECRET),
        (BASE_URL_VAR, &server.base_url),
    ])
    .unwrap()
    .build()
    .unwrap();
    create(&client).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "a token request, then the call");
    assert_eq!(requests[0].request_line(), "POST /api/oauth/token HTTP/1.1");
    let basic = requests[0].header("authorization").unwrap_or_default();
    assert!(basic.starts_with("Basic "), "token request auth: {basic}");
    assert_eq!(
        String::from_utf8_lossy(&requests[0].body),
        "grant_type=client_credentials"
    );
    assert_eq!(requests[1].request_line(), api_request_line());
    assert_eq!(
        requests[1].header("authorization"),
        Some(format!("Bearer {ISSUED_TOKEN}"))
    );
}

#[tokio::test]
async fn an_api_key_from_the_environment_first_sends_a_request_without_authorization() {
    for (public_var, private_var) in [
        (PUBLIC_VAR, PRIVATE_VAR),
        (PUBLIC_ALIAS, PRIVATE_ALIAS),
        (PUBLIC_VAR, PRIVATE_ALIAS),
        (PUBLIC_ALIAS, PRIVATE_VAR),
    ] {
        let server = atlas().await;
        let builder = from_env(&[
            (public_var, PUBLIC_KEY),
            (private_var, PRIVATE_KEY),
            (BASE_URL_VAR, &server.base_url),
        ])
        .unwrap_or_else(|e| panic!("{public_var}/{private_var}: {e}"));
        let shown = format!("{builder:?}");
        assert!(
            shown.contains("ApiKey") && shown.contains(PUBLIC_KEY),
            "{public_var}/{private_var}: not the API key: {shown}"
        );
        let client = builder.build().unwrap();
        // Whatever Digest makes of the answer is tested elsewhere.
        let _ = create(&client).await;
        let requests = server.requests();
        assert!(
            !requests.is_empty(),
            "{public_var}/{private_var}: no request"
        );
        assert_eq!(requests[0].request_line(), api_request_line());
        assert_eq!(
            requests[0].header("authorization"),
            None,
            "{public_var}/{private_var}: the first request is unauthenticated"
        );
    }
}

// ---------------------------------------------------------------------------
// from_env_with: names and aliases

#[test]
fn a_name_and_its_alias_set_to_different_values_is_an_error_naming_both() {
    for (name, alias, vars) in [
        (
            PUBLIC_VAR,
            PUBLIC_ALIAS,
            [
                (PUBLIC_VAR, PUBLIC_KEY),
                (PUBLIC_ALIAS, "other-public"),
                (PRIVATE_VAR, PRIVATE_KEY),
            ],
        ),
        (
            PRIVATE_VAR,
            PRIVATE_ALIAS,
            [
                (PUBLIC_VAR, PUBLIC_KEY),
                (PRIVATE_VAR, PRIVATE_KEY),
                (PRIVATE_ALIAS, "other-SECRET"),
            ],
        ),
    ] {
        let message = env_error(&vars);
        assert_eq!(
            variables_named(&message),
            names(&[name, alias]),
            "{message}"
        );
        assert!(!message.contains("other-SECRET"), "{message}");
    }
}

#[test]
fn a_name_and_its_alias_set_to_the_same_value_are_fine() {
    let builder = from_env(&[
        (PUBLIC_VAR, PUBLIC_KEY),
        (PUBLIC_ALIAS, PUBLIC_KEY),
        (PRIVATE_VAR, PRIVATE_KEY),
        (PRIVATE_ALIAS, PRIVATE_KEY),
    ])
    .unwrap();
    let shown = format!("{builder:?}");
    assert!(
        shown.contains("ApiKey") && shown.contains(PUBLIC_KEY),
        "{shown}"
    );
}

#[test]
fn half_a_pair_is_an_error_naming_the_variable_set_and_the_one_missing() {
    for (set, value, missing) in [
        (ID_VAR, CLIENT_ID, SECRET_VAR),
        (SECRET_VAR, CLIENT_SECRET, ID_VAR),
        (PUBLIC_VAR, PUBLIC_KEY, PRIVATE_VAR),
        (PRIVATE_VAR, PRIVATE_KEY, PUBLIC_VAR),
        (PUBLIC_ALIAS, PUBLIC_KEY, PRIVATE_VAR),
        (PRIVATE_ALIAS, PRIVATE_KEY, PUBLIC_VAR),
    ] {
        let message = env_error(&[(set, value)]);
        assert_eq!(
            variables_named(&message),
            names(&[set, missing]),
            "{set} alone: {message}"
        );
    }
}

#[test]
fn two_or_three_kinds_at_once_is_an_error_naming_the_variables_of_each() {
    let service_account = [(ID_VAR, CLIENT_ID), (SECRET_VAR, CLIENT_SECRET)];
    let api_key = [(PUBLIC_VAR, PUBLIC_KEY), (PRIVATE_VAR, PRIVATE_KEY)];
    let api_key_aliases = [(PUBLIC_ALIAS, PUBLIC_KEY), (PRIVATE_ALIAS, PRIVATE_KEY)];
    let token = [(TOKEN_VAR, ACCESS_TOKEN)];
    let cases: Vec<(Vars, Vec<&str>)> = vec![
        (
            [&service_account[..], &api_key[..]].concat(),
            vec![ID_VAR, SECRET_VAR, PUBLIC_VAR, PRIVATE_VAR],
        ),
        (
            [&service_account[..], &token[..]].concat(),
            vec![ID_VAR, SECRET_VAR, TOKEN_VAR],
        ),
        (
            [&api_key[..], &token[..]].concat(),
            vec![PUBLIC_VAR, PRIVATE_VAR, TOKEN_VAR],
        ),
        (
            [&api_key_aliases[..], &token[..]].concat(),
            vec![PUBLIC_ALIAS, PRIVATE_ALIAS, TOKEN_VAR],
        ),
        (
            [&service_account[..], &api_key[..], &token[..]].concat(),
            vec![ID_VAR, SECRET_VAR, PUBLIC_VAR, PRIVATE_VAR, TOKEN_VAR],
        ),
    ];
    for (vars, expected) in cases {
        let message = env_error(&vars);
        assert_eq!(
            variables_named(&message),
            expected.iter().copied().collect(),
            "{vars:?}: {message}"
        );
    }
}

#[test]
fn no_credentials_in_the_environment_is_an_error_naming_the_variables_to_set() {
    let expected = names(&[ID_VAR, SECRET_VAR, PUBLIC_VAR, PRIVATE_VAR, TOKEN_VAR]);
    for vars in [vec![], vec![(BASE_URL_VAR, "https://cloud.mongodb.com")]] {
        let message = env_error(&vars);
        assert_eq!(variables_named(&message), expected, "{vars:?}: {message}");
    }
}

#[test]
fn empty_variables_count_as_unset() {
    let every_credential_empty = [
        (ID_VAR, ""),
        (SECRET_VAR, ""),
        (PUBLIC_VAR, ""),
        (PRIVATE_VAR, ""),
        (PUBLIC_ALIAS, ""),
        (PRIVATE_ALIAS, ""),
        (TOKEN_VAR, ""),
    ];
    let message = env_error(&every_credential_empty);
    assert!(message.contains("no credentials"), "{message}");

    // An empty half pair, an empty alias and an empty base URL next to a
    // token: the token alone counts, and the base URL is the default.
    let builder = from_env(&[
        (TOKEN_VAR, ACCESS_TOKEN),
        (ID_VAR, CLIENT_ID),
        (SECRET_VAR, ""),
        (PUBLIC_ALIAS, ""),
        (BASE_URL_VAR, ""),
        (BASE_URL_ALIAS, "https://cloud-qa.mongodb.com"),
    ]);
    let message = match builder {
        Ok(builder) => panic!("the client id alone was ignored: {builder:?}"),
        Err(error) => error.to_string(),
    };
    assert_eq!(
        variables_named(&message),
        names(&[ID_VAR, SECRET_VAR]),
        "a client id with an empty secret is half a pair: {message}"
    );

    let client = from_env(&[
        (TOKEN_VAR, ACCESS_TOKEN),
        (ID_VAR, ""),
        (SECRET_VAR, ""),
        (PUBLIC_VAR, ""),
        (PRIVATE_ALIAS, ""),
        (BASE_URL_VAR, ""),
        (BASE_URL_ALIAS, ""),
    ])
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(client.base_url(), DEFAULT_BASE_URL);

    // An empty name next to its alias set: no conflict, the alias counts.
    let builder = from_env(&[
        (PUBLIC_VAR, ""),
        (PUBLIC_ALIAS, PUBLIC_KEY),
        (PRIVATE_VAR, PRIVATE_KEY),
        (PRIVATE_ALIAS, ""),
    ])
    .unwrap();
    let shown = format!("{builder:?}");
    assert!(
        shown.contains("ApiKey") && shown.contains(PUBLIC_KEY),
        "{shown}"
    );
}

#[test]
fn the_base_url_comes_from_the_environment_under_either_name() {
    for vars in [
        [
            (BASE_URL_VAR, "https://cloud-qa.mongodb.com/"),
            (BASE_URL_ALIAS, ""),
        ],
        [
            (BASE_URL_ALIAS, "https://cloud-qa.mongodb.com/"),
            (BASE_URL_VAR, ""),
        ],
        [
            (BASE_URL_VAR, "https://cloud-qa.mongodb.com/"),
            (BASE_URL_ALIAS, "https://cloud-qa.mongodb.com/"),
        ],
    ] {
        let mut vars = vars.to_vec();
        vars.push((TOKEN_VAR, ACCESS_TOKEN));
        let client = from_env(&vars).unwrap().build().unwrap();
        assert_eq!(
            client.base_url(),
            "https://cloud-qa.mongodb.com",
            "{vars:?}"
        );
    }
}

#[test]
fn the_base_url_and_its_alias_set_to_different_values_conflict() {
    let message = env_error(&[
        (TOKEN_VAR, ACCESS_TOKEN),
        (BASE_URL_VAR, "https://cloud.mongodb.com"),
        (BASE_URL_ALIAS, "https://cloud-qa.mongodb.com"),
    ]);
    assert_eq!(
        variables_named(&message),
        names(&[BASE_URL_VAR, BASE_URL_ALIAS]),
        "{message}"
    );
}

// ---------------------------------------------------------------------------
// from_env: the real process environment, in a child process

/// What a run of the test binary restricted to [`from_env_child`] printed.
struct ChildRun {
    success: bool,
    /// The line the helper printed, without its `CHILD ` prefix.
    line: String,
    stdout: String,
}

/// Runs [`from_env_child`] in a new process whose environment is `vars`,
/// the marker and `PATH`, nothing else.
fn run_child(vars: &[(String, String)]) -> ChildRun {
    let output = run_child_test(module_path!(), "from_env_child", |command| {
        command.env_clear().env(CHILD_MARKER, "1");
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command.envs(vars.iter().map(|(name, value)| (name, value)));
    });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let line = child_line(&stdout)
        .unwrap_or_else(|| panic!("the helper printed nothing: {stdout}"))
        .to_owned();
    ChildRun {
        success: output.status.success(),
        line,
        stdout,
    }
}

/// Not a test of its own: run by the `from_env_*` tests in a child process
/// with a controlled environment. Prints one `CHILD ...` line: the error of
/// `ClientBuilder::from_env()`, or the client's base URL and the kind of
/// connection a call returned (a call is made only to 127.0.0.1).
#[test]
#[ignore = "helper run in a child process by the from_env tests"]
fn from_env_child() {
    if std::env::var_os(CHILD_MARKER).is_none() {
        return;
    }
    let client = match ClientBuilder::from_env().and_then(ClientBuilder::build) {
        Ok(client) => client,
        Err(error) => {
            println!("CHILD error {error} | {error:?}");
            return;
        }
    };
    if !client.base_url().starts_with("http://127.0.0.1:") {
        println!("CHILD ok base_url={} call=none", client.base_url());
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = match runtime.block_on(create(&client)) {
        Ok(created) => created.kind().to_owned(),
        Err(error) => format!("failed: {error}"),
    };
    println!("CHILD ok base_url={} call={outcome}", client.base_url());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_env_reads_the_process_environment() {
    let server = atlas().await;
    let vars = owned_pairs(&[
        (TOKEN_VAR, ACCESS_TOKEN),
        (ID_VAR, ""),
        (BASE_URL_VAR, &format!("{}/", server.base_url)),
    ]);
    let child = tokio::task::spawn_blocking(move || run_child(&vars))
        .await
        .unwrap();
    assert!(child.success, "the child failed: {}", child.stdout);
    assert_eq!(
        child.line,
        format!("ok base_url={} call=Kafka", server.base_url),
        "{}",
        child.stdout
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "the child made one call");
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );
}

#[test]
fn from_env_in_a_process_without_credentials_names_the_variables_to_set() {
    let child = run_child(&[]);
    assert!(child.success, "the child failed: {}", child.stdout);
    assert!(
        child
            .line
            .starts_with("error client configuration: no credentials"),
        "{}",
        child.stdout
    );
    assert_eq!(
        variables_named(&child.line),
        names(&[ID_VAR, SECRET_VAR, PUBLIC_VAR, PRIVATE_VAR, TOKEN_VAR]),
        "{}",
        child.line
    );
}

#[test]
fn from_env_in_a_process_with_two_kinds_fails_without_showing_secrets() {
    let child = run_child(&owned_pairs(&[
        (TOKEN_VAR, ACCESS_TOKEN),
        (PUBLIC_ALIAS, PUBLIC_KEY),
        (PRIVATE_ALIAS, PRIVATE_KEY),
    ]));
    assert!(child.success, "the child failed: {}", child.stdout);
    assert!(child.line.starts_with("error "), "{}", child.stdout);
    // The line holds the error's Display and Debug, twice the names.
    assert_eq!(
        variables_named(&child.line),
        names(&[TOKEN_VAR, PUBLIC_ALIAS, PRIVATE_ALIAS]),
        "{}",
        child.line
    );
    assert_no_secret(&child.stdout, &SECRETS, "the child's output");
}

#[test]
fn from_env_in_a_process_reads_the_ops_manager_url_alias() {
    let child = run_child(&owned_pairs(&[
        (ID_VAR, CLIENT_ID),
        (SECRET_VAR, CLIENT_SECRET),
        (BASE_URL_ALIAS, "https://cloud-qa.mongodb.com/"),
    ]));
    assert!(child.success, "the child failed: {}", child.stdout);
    assert_eq!(
        child.line, "ok base_url=https://cloud-qa.mongodb.com call=none",
        "{}",
        child.stdout
    );
}

// ---------------------------------------------------------------------------
// User-Agent

#[test]
fn the_user_agent_names_the_crate_its_version_and_the_platform() {
    assert_eq!(
        atlas_stream_connections::user_agent(),
        format!(
            "atlas-stream-connections/{} ({}; {})",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        )
    );
}

#[tokio::test]
async fn every_request_carries_exactly_our_user_agent() {
    let server = atlas().await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .access_token(ACCESS_TOKEN)
        .build()
        .unwrap();
    create(&client).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("user-agent"),
        Some(atlas_stream_connections::user_agent())
    );
}

#[tokio::test]
async fn a_user_agent_suffix_follows_a_space_on_token_and_api_requests() {
    let server = atlas().await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .service_account(CLIENT_ID, CLIENT_SECRET)
        .user_agent_suffix("my-app/1.0")
        .build()
        .unwrap();
    create(&client).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "a token request, then the call");
    let expected = format!("{} my-app/1.0", atlas_stream_connections::user_agent());
    for request in &requests {
        assert_eq!(
            request.header("user-agent"),
            Some(expected.clone()),
            "{}",
            request.request_line()
        );
    }
}

/// The `User-Agent` line of a request exactly as it arrived (the support
/// server's `header()` trims values).
fn raw_user_agent_line(request: &RawRequest) -> String {
    request
        .head
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("user-agent:"))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn an_empty_user_agent_suffix_adds_nothing_not_even_a_space() {
    let server = atlas().await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .access_token(ACCESS_TOKEN)
        .user_agent_suffix("")
        .build()
        .unwrap();
    create(&client).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        raw_user_agent_line(&requests[0]),
        format!("user-agent: {}", atlas_stream_connections::user_agent()),
        "the header as sent, trailing whitespace included"
    );
}

#[test]
fn a_user_agent_suffix_a_header_cannot_carry_is_a_configuration_error() {
    let message = build_error(
        Client::builder()
            .access_token(ACCESS_TOKEN)
            .user_agent_suffix("my-app/1.0\r\nx-injected: yes"),
    );
    assert!(message.contains("user_agent_suffix"), "{message}");
}

#[tokio::test]
async fn a_caller_supplied_http_client_is_used_and_still_sends_our_user_agent() {
    let server = atlas().await;
    let mut defaults = HeaderMap::new();
    defaults.insert("x-from-caller", HeaderValue::from_static("yes"));
    let http = reqwest::Client::builder()
        .default_headers(defaults)
        .user_agent("callers-own-agent/9")
        .build()
        .unwrap();
    let client = Client::builder()
        .base_url(&server.base_url)
        .access_token(ACCESS_TOKEN)
        .http_client(http)
        .build()
        .unwrap();
    create(&client).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("x-from-caller").as_deref(),
        Some("yes"),
        "the caller's client sent the request"
    );
    assert_eq!(
        requests[0].header("user-agent"),
        Some(atlas_stream_connections::user_agent())
    );
}

// ---------------------------------------------------------------------------
// Timeouts

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout_naming_method_and_path() {
    let server = Server::start(Reply::hang()).await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .access_token(ACCESS_TOKEN)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = create(&client).await.unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "gave up before the timeout: {:?}",
        started.elapsed()
    );
    let Error::Timeout(timeout) = &error else {
        panic!("not a timeout: {error:?}")
    };
    assert_eq!(timeout.request(), ("POST", api_path().as_str()));
    let shown = error.to_string();
    assert!(
        shown.contains("POST") && shown.contains(&api_path()),
        "method and path: {shown}"
    );
    assert!(
        !error.is_retryable(),
        "a timeout may have created the connection"
    );
    assert_eq!(error.status(), None);
}

// ---------------------------------------------------------------------------
// Debug

#[test]
fn debug_of_builders_and_clients_never_shows_a_credential() {
    let builders = [
        Client::builder().access_token(ACCESS_TOKEN),
        Client::builder().api_key(PUBLIC_KEY, PRIVATE_KEY),
        Client::builder().service_account(CLIENT_ID, CLIENT_SECRET),
        from_env(&[(TOKEN_VAR, ACCESS_TOKEN)]).unwrap(),
        from_env(&[(PUBLIC_ALIAS, PUBLIC_KEY), (PRIVATE_ALIAS, PRIVATE_KEY)]).unwrap(),
        from_env(&[(ID_VAR, CLIENT_ID), (SECRET_VAR, CLIENT_SECRET)]).unwrap(),
    ];
    for builder in builders {
        let shown = format!("{builder:?}");
        assert_no_secret(&shown, &SECRETS, "Debug of the builder");
        assert_no_secret(
            &format!("{builder:#?}"),
            &SECRETS,
            "pretty Debug of the builder",
        );
        let client = builder.build().unwrap();
        assert_no_secret(&format!("{client:?}"), &SECRETS, "Debug of the client");
        assert_no_secret(
            &format!("{client:#?}"),
            &SECRETS,
            "pretty Debug of the client",
        );
    }
}

#[tokio::test]
async fn debug_of_a_service_account_client_holding_a_token_never_shows_it() {
    let server = atlas().await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .service_account(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap();
    create(&client).await.unwrap();
    assert_eq!(server.requests().len(), 2, "the client holds a token now");
    assert_no_secret(&format!("{client:?}"), &SECRETS, "Debug of the client");
}

// ---------------------------------------------------------------------------
// Plain http

const INSECURE_VAR: &str = "MONGODB_ATLAS_ALLOW_INSECURE_HTTP";

/// Hosts that are not this machine, over plain http.
const REMOTE_HTTP: [&str; 6] = [
    "http://cloud.mongodb.com",
    "http://10.0.0.5:8080/prefix",
    "http://[2001:db8::1]:8080",
    "http://127.0.0.1.nip.io",
    "http://localhost.example.com",
    "http://[::ffff:10.0.0.1]",
];

/// This machine, over plain http.
const LOOPBACK_HTTP: [(&str, &str); 6] = [
    ("http://localhost:9", "http://localhost:9"),
    ("http://LOCALHOST:9/", "http://localhost:9"),
    ("http://127.0.0.1:9", "http://127.0.0.1:9"),
    ("http://127.1.2.3", "http://127.1.2.3"),
    ("http://127.1:9", "http://127.0.0.1:9"),
    ("http://[::1]:9", "http://[::1]:9"),
];

fn every_credential(builder: ClientBuilder) -> [ClientBuilder; 3] {
    [
        builder.clone().access_token(ACCESS_TOKEN),
        builder.clone().api_key(PUBLIC_KEY, PRIVATE_KEY),
        builder.service_account(CLIENT_ID, CLIENT_SECRET),
    ]
}

#[test]
fn plain_http_to_another_host_is_refused_saying_why_and_how_to_opt_in() {
    for url in REMOTE_HTTP {
        for (builder, kind) in every_credential(Client::builder().base_url(url))
            .into_iter()
            .zip(["access token", "API key", "service account"])
        {
            let message = build_error(builder);
            for needed in [
                "plain http",
                "in clear",
                kind,
                "allow_insecure_http(true)",
                "MONGODB_ATLAS_ALLOW_INSECURE_HTTP=true",
            ] {
                assert!(message.contains(needed), "{url}: no `{needed}`: {message}");
            }
            assert_no_secret(&message, &SECRETS, url);
        }
    }
}

#[test]
fn plain_http_to_this_machine_is_accepted() {
    for (url, normalised) in LOOPBACK_HTTP {
        for builder in every_credential(Client::builder().base_url(url)) {
            let client = builder.build().unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(client.base_url(), normalised);
        }
    }
}

#[test]
fn allow_insecure_http_accepts_plain_http_to_any_host_and_https_needs_nothing() {
    for url in REMOTE_HTTP {
        for builder in every_credential(Client::builder().base_url(url).allow_insecure_http(true)) {
            builder.build().unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        let refused = Client::builder()
            .base_url(url)
            .allow_insecure_http(true)
            .allow_insecure_http(false)
            .access_token(ACCESS_TOKEN);
        build_error(refused);
    }
    Client::builder()
        .base_url("https://10.0.0.5:8443")
        .access_token(ACCESS_TOKEN)
        .build()
        .unwrap();
}

#[tokio::test]
async fn a_refused_service_account_sends_nothing_not_even_for_a_token() {
    // The token URL is the base URL's: refused with it, before any I/O.
    let server = atlas().await;
    let port = server.base_url.rsplit(':').next().unwrap();
    let message = build_error(
        Client::builder()
            .base_url(format!("http://localhost.localdomain.invalid:{port}"))
            .service_account(CLIENT_ID, CLIENT_SECRET),
    );
    assert!(message.contains("service account"), "{message}");
    assert!(server.requests().is_empty());
}

#[test]
fn plain_http_from_the_environment_needs_the_opt_in_variable_too() {
    let remote = "http://opsmanager.internal:8080";
    for base_var in [BASE_URL_VAR, BASE_URL_ALIAS] {
        let builder = from_env(&[(TOKEN_VAR, ACCESS_TOKEN), (base_var, remote)]).unwrap();
        let message = build_error(builder);
        assert!(message.contains(INSECURE_VAR), "{message}");
        for allowed in ["true", "TRUE", " True "] {
            let client = from_env(&[
                (TOKEN_VAR, ACCESS_TOKEN),
                (base_var, remote),
                (INSECURE_VAR, allowed),
            ])
            .unwrap()
            .build()
            .unwrap_or_else(|e| panic!("{allowed:?}: {e}"));
            assert_eq!(client.base_url(), remote);
        }
        for refused in ["false", "FALSE", ""] {
            let builder = from_env(&[
                (TOKEN_VAR, ACCESS_TOKEN),
                (base_var, remote),
                (INSECURE_VAR, refused),
            ])
            .unwrap();
            build_error(builder);
        }
    }
    for bad in ["yes", "1", "on", "truee"] {
        let message = env_error(&[(TOKEN_VAR, ACCESS_TOKEN), (INSECURE_VAR, bad)]);
        assert_eq!(
            variables_named(&message),
            names(&[INSECURE_VAR]),
            "{message}"
        );
        assert!(message.contains("`true` or `false`"), "{message}");
    }
    assert_eq!(
        atlas_stream_connections::ALLOW_INSECURE_HTTP_VARIABLE,
        INSECURE_VAR
    );
}

#[test]
fn from_env_in_a_process_refuses_plain_http_unless_allowed() {
    let remote = "http://opsmanager.internal:8080";
    let child = run_child(&owned_pairs(&[
        (TOKEN_VAR, ACCESS_TOKEN),
        (BASE_URL_ALIAS, remote),
    ]));
    assert!(child.success, "the child failed: {}", child.stdout);
    assert!(
        child
            .line
            .starts_with("error client configuration: base_url"),
        "{}",
        child.stdout
    );
    assert!(child.line.contains(INSECURE_VAR), "{}", child.line);
    let child = run_child(&owned_pairs(&[
        (TOKEN_VAR, ACCESS_TOKEN),
        (BASE_URL_ALIAS, remote),
        (INSECURE_VAR, "true"),
    ]));
    assert_eq!(
        child.line,
        format!("ok base_url={remote} call=none"),
        "{}",
        child.stdout
    );
}

// ---------------------------------------------------------------------------
// Read limits

#[test]
fn a_zero_response_limit_is_a_configuration_error() {
    let message = build_error(
        Client::builder()
            .access_token(ACCESS_TOKEN)
            .max_response_bytes(0),
    );
    assert!(message.contains("max_response_bytes"), "{message}");
    Client::builder()
        .access_token(ACCESS_TOKEN)
        .max_response_bytes(1)
        .build()
        .unwrap();
}

#[test]
fn the_builder_shows_its_limits_and_the_default_is_512_kib() {
    assert_eq!(
        atlas_stream_connections::DEFAULT_MAX_RESPONSE_BYTES,
        512 * 1024
    );
    let shown = format!("{:?}", Client::builder());
    assert!(shown.contains("max_response_bytes: 524288"), "{shown}");
    assert!(shown.contains("allow_insecure_http: false"), "{shown}");
    let shown = format!(
        "{:?}",
        Client::builder()
            .max_response_bytes(1000)
            .allow_insecure_http(true)
    );
    assert!(shown.contains("max_response_bytes: 1000"), "{shown}");
    assert!(shown.contains("allow_insecure_http: true"), "{shown}");
}

// ---------------------------------------------------------------------------
// Base URLs in Debug and errors

#[test]
fn the_builder_debug_hides_user_information_query_and_fragment_of_the_base_url() {
    for (given, expected) in [
        (
            "https://alice:hunter2-pw@cloud.mongodb.com/prefix?apiKey=q-SECRET#frag-SECRET",
            "https://[REDACTED]@cloud.mongodb.com/prefix?[REDACTED]#[REDACTED]",
        ),
        (
            "https://hunter2-pw@cloud.mongodb.com",
            "https://[REDACTED]@cloud.mongodb.com/",
        ),
        (
            "http://127.0.0.1:9/p?token=q-SECRET",
            "http://127.0.0.1:9/p?[REDACTED]",
        ),
        ("alice:hunter2-pw@cloud.mongodb.com", "(not shown)"),
        ("not a url ?q-SECRET", "(not shown)"),
        ("cloud.mongodb.com", "cloud.mongodb.com"),
        ("https://cloud.mongodb.com/", "https://cloud.mongodb.com/"),
    ] {
        let builder = Client::builder().base_url(given).access_token(ACCESS_TOKEN);
        for shown in [format!("{builder:?}"), format!("{builder:#?}")] {
            assert!(shown.contains(expected), "{given}: {shown}");
            for hidden in ["hunter2-pw", "alice", "q-SECRET", "frag-SECRET"] {
                assert!(!shown.contains(hidden), "{given}: {hidden} shown: {shown}");
            }
        }
        // And the refusal, where there is one, shows no more.
        if let Err(error) = builder.build() {
            for shown in [error.to_string(), format!("{error:?}")] {
                for hidden in ["hunter2-pw", "alice", "q-SECRET", "frag-SECRET"] {
                    assert!(!shown.contains(hidden), "{given}: {hidden} in {shown}");
                }
            }
        }
    }
}

#[test]
fn the_client_debug_shows_its_base_url_which_never_holds_credentials_or_a_query() {
    let client = Client::builder()
        .base_url("https://cloud.mongodb.com/prefix/")
        .access_token(ACCESS_TOKEN)
        .build()
        .unwrap();
    let shown = format!("{client:?}");
    assert!(
        shown.contains(r#"base_url: "https://cloud.mongodb.com/prefix""#),
        "{shown}"
    );
    // A base URL with either is refused, so no client ever shows one.
    for bad in [
        "https://alice:hunter2-pw@cloud.mongodb.com",
        "https://cloud.mongodb.com/?apiKey=q-SECRET",
    ] {
        let error = rejected_base_url(bad);
        assert!(!error.to_string().contains("q-SECRET"), "{error}");
    }
}
