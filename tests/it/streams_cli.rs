//! End-to-end tests of the `streams` command: the real binary, spawned, its
//! stdout, stderr and exit status, against the embedded local Atlas (its own,
//! or one this test starts and points it at as "real" Atlas).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::{BASE_URL_VARIABLES, CREDENTIAL_VARIABLES};

use crate::support::{INSTANCE, PROJECT, minimal_kafka_json};

const KAFKA_PASSWORD: &str = "kafka-password-never-printed";

/// The command with no Atlas variables but `env` (nor the two `create`
/// reads for `--project` and `--instance`).
pub(crate) fn streams(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_streams"));
    command.args(args);
    for name in CREDENTIAL_VARIABLES
        .iter()
        .chain(&BASE_URL_VARIABLES)
        .chain(&["MONGODB_ATLAS_PROJECT_ID", "STREAMS_INSTANCE"])
    {
        command.env_remove(name);
    }
    // No Atlas CLI profile either: the CLI's directory, wherever the
    // system keeps it, is one that does not exist (a test that wants a
    // profile gives its own).
    command.env_remove("MONGODB_ATLAS_PROFILE");
    let nowhere = std::env::temp_dir().join("streams-tests-without-atlas-cli");
    for name in ["XDG_CONFIG_HOME", "HOME", "AppData"] {
        command.env(name, &nowhere);
    }
    command.envs(env.iter().copied());
    command
}

pub(crate) struct Run {
    pub(crate) status: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) fn run(mut command: Command, stdin: Option<&str>) -> Run {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the streams binary runs");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("the command ends");
    Run {
        status: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A Kafka connection named `name` whose password is [`KAFKA_PASSWORD`].
fn kafka_json(name: &str) -> String {
    let mut value = minimal_kafka_json(name);
    value["authentication"] =
        serde_json::json!({"mechanism": "PLAIN", "username": "u", "password": KAFKA_PASSWORD});
    value.to_string()
}

pub(crate) fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("streams-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn without_credentials_it_starts_a_local_atlas_and_creates_there() {
    let out = run(
        streams(&["create", "--kind", "sample", "--name", "solar"], &[]),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_stderr_has(&out, "embedded local Atlas");
    assert!(
        out.stdout.contains("created Sample connection `solar`")
            && out.stdout.contains(PROJECT)
            && out.stdout.contains("sample-instance"),
        "{}",
        out.stdout
    );
}

#[test]
fn json_prints_the_created_connection() {
    let out = run(
        streams(
            &["create", "--kind", "sample", "--name", "solar", "--json"],
            &[],
        ),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let created: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(created["type"], "Sample");
    assert_eq!(created["name"], "solar");
    assert!(created["links"].is_array(), "{created}");
}

#[test]
fn a_file_and_stdin_give_the_connection_and_no_secret_is_printed() {
    let file = temp_file("kafka.json", &kafka_json("events"));
    let from_file = run(
        streams(&["create", "--file", file.to_str().unwrap(), "--json"], &[]),
        None,
    );
    let from_stdin = run(
        streams(&["create", "--file", "-", "--json"], &[]),
        Some(&kafka_json("events")),
    );
    std::fs::remove_file(file).ok();
    for out in [from_file, from_stdin] {
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert!(out.stdout.contains("\"Kafka\""), "{}", out.stdout);
        assert!(
            !out.stdout.contains(KAFKA_PASSWORD) && !out.stderr.contains(KAFKA_PASSWORD),
            "the password was printed"
        );
    }
}

#[test]
fn flags_build_a_kafka_connection_with_the_password_from_the_environment() {
    let out = run(
        streams(
            &[
                "create",
                "--kind",
                "kafka",
                "--name",
                "events",
                "--bootstrap-servers",
                "b:9092",
                "--mechanism",
                "PLAIN",
                "--username",
                "u",
                "--password-env",
                "KAFKA_PW",
                "--json",
            ],
            &[("KAFKA_PW", KAFKA_PASSWORD)],
        ),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let created: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(created["bootstrapServers"], "b:9092");
    assert_eq!(created["authentication"]["username"], "u");
    assert!(!out.stdout.contains(KAFKA_PASSWORD));
}

#[test]
fn usage_errors_exit_with_2_and_say_what_is_wrong() {
    let bad_json = temp_file("bad.json", "{ not json");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["create", "--bogus"], "unexpected argument '--bogus'"),
        (vec!["destroy"], "unrecognized subcommand 'destroy'"),
        (vec!["create"], "<--file <PATH>|--kind <KIND>>"),
        (vec![], "Usage: streams <COMMAND>"),
        (
            vec!["create", "--kind", "sample", "--name"],
            "a value is required for '--name <NAME>'",
        ),
        (
            vec![
                "create", "--kind", "sample", "--name", "a", "--file", "x.json",
            ],
            "'--kind <KIND>' cannot be used with '--file <PATH>'",
        ),
        (
            vec!["create", "--kind", "kafka", "--name", "a"],
            "--bootstrap-servers",
        ),
        (
            vec![
                "create",
                "--kind",
                "kafka",
                "--name",
                "a",
                "--password",
                "p",
            ],
            "--password is not accepted (it would show in the process list); use --password-env",
        ),
        (
            vec!["create", "--kind", "ftp", "--name", "a"],
            "invalid value 'ftp' for '--kind <KIND>'",
        ),
        (
            vec!["create", "--file", "/nonexistent/conn.json"],
            "cannot read",
        ),
        (
            vec!["create", "--file", bad_json.to_str().unwrap()],
            "not valid JSON at line 1",
        ),
        (
            vec![
                "create",
                "--kind",
                "sample",
                "--name",
                "a",
                "--project",
                "nothex",
            ],
            "groupId",
        ),
    ];
    for (args, expected) in cases {
        let out = run(streams(&args, &[]), None);
        assert_eq!(out.status, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    std::fs::remove_file(bad_json).ok();
}

#[test]
fn a_wrong_field_type_is_reported_without_its_value() {
    let file = temp_file(
        "secret.json",
        r#"{"type":"Kafka","name":"k","authentication":{"password":"hunter2-secret"},"bootstrapServers":7}"#,
    );
    let out = run(
        streams(&["create", "--file", file.to_str().unwrap()], &[]),
        None,
    );
    std::fs::remove_file(file).ok();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert_stderr_has(&out, "not a stream connection");
    assert!(
        !out.stderr.contains("hunter2"),
        "the value was echoed: {}",
        out.stderr
    );
    let file = temp_file(
        "secret2.json",
        r#"{"type":"Kafka","name":"k","authentication":"hunter2-secret"}"#,
    );
    let out = run(
        streams(&["create", "--file", file.to_str().unwrap()], &[]),
        None,
    );
    std::fs::remove_file(file).ok();
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        !out.stderr.contains("hunter2"),
        "the value was echoed: {}",
        out.stderr
    );
}

#[test]
fn a_base_url_without_credentials_is_a_usage_error_not_a_local_run() {
    let out = run(
        streams(
            &["create", "--kind", "sample", "--name", "a"],
            &[("MONGODB_ATLAS_BASE_URL", "https://cloud.mongodb.com")],
        ),
        None,
    );
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert_stderr_has(&out, "MONGODB_ATLAS_BASE_URL");
    assert!(
        !out.stderr.contains("embedded local Atlas"),
        "{}",
        out.stderr
    );
}

#[test]
fn help_explains_each_command_and_the_exit_statuses() {
    let top = run(streams(&["--help"], &[]), None);
    assert_eq!(top.status, Some(0), "{}", top.stderr);
    for text in ["create", "local-atlas", "completions", "--version"] {
        assert!(top.stdout.contains(text), "help lacks {text}");
    }
    // Each command has its own help, wherever `--help` stands.
    let create = run(streams(&["create", "--help"], &[]), None);
    let inner = run(
        streams(&["create", "--kind", "sample", "--help"], &[]),
        None,
    );
    assert_eq!(create.status, Some(0));
    assert_eq!((inner.status, &inner.stdout), (Some(0), &create.stdout));
    assert_ne!(create.stdout, top.stdout);
    for text in [
        "streams create",
        "--file",
        "--kind",
        "--bootstrap-servers",
        "--protocol",
        "--password-file",
        "MONGODB_ATLAS_",
        "Exit status",
    ] {
        assert!(create.stdout.contains(text), "create's help lacks {text}");
    }
    assert!(
        !create.stdout.contains("--password <"),
        "--password is hidden"
    );
    let serve = run(streams(&["local-atlas", "--help"], &[]), None);
    assert_eq!(serve.status, Some(0), "{}", serve.stderr);
    for text in [
        "throwaway",
        "127.0.0.1",
        "# ready",
        "--credentials",
        "--ignore-stdin",
    ] {
        assert!(
            serve.stdout.contains(text),
            "local-atlas's help lacks {text}"
        );
    }
}

/// A local Atlas the test starts, given to the command as "real" Atlas
/// through the environment.
fn atlas() -> (tokio::runtime::Runtime, LocalAtlas) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let atlas = runtime
        .block_on(LocalAtlas::builder().instance(PROJECT, INSTANCE).start())
        .expect("local Atlas starts");
    (runtime, atlas)
}

#[test]
fn with_credentials_in_the_environment_it_talks_to_that_atlas_with_each_kind() {
    let (runtime, atlas) = atlas();
    let (public, private) = atlas.api_key();
    let (id, secret) = atlas.service_account();
    let base = atlas.base_url().to_string();
    // An access token obtained elsewhere: from the local Atlas's own token
    // endpoint.
    let token = runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{base}/api/oauth/token"))
            .basic_auth(id, Some(secret.expose_secret()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .expect("token request");
        let body: serde_json::Value = response.json().await.expect("token JSON");
        body["access_token"].as_str().expect("a token").to_string()
    });
    let kinds: [(&str, Vec<(&str, &str)>); 3] = [
        (
            "api key",
            vec![
                ("MONGODB_ATLAS_PUBLIC_API_KEY", public),
                ("MONGODB_ATLAS_PRIVATE_API_KEY", private.expose_secret()),
            ],
        ),
        (
            "service account",
            vec![
                ("MONGODB_ATLAS_CLIENT_ID", id),
                ("MONGODB_ATLAS_CLIENT_SECRET", secret.expose_secret()),
            ],
        ),
        ("access token", vec![("MONGODB_ATLAS_ACCESS_TOKEN", &token)]),
    ];
    for (i, (kind, mut env)) in kinds.into_iter().enumerate() {
        env.push(("MONGODB_ATLAS_BASE_URL", &base));
        let name = format!("conn-{i}");
        let out = create_sample(&name, &env);
        assert_eq!(out.status, Some(0), "{kind}: {}", out.stderr);
        assert!(
            !out.stderr.contains("embedded local Atlas"),
            "{kind}: {}",
            out.stderr
        );
        assert!(out.stdout.contains(&name), "{kind}: {}", out.stdout);
    }
    assert_eq!(atlas.connections().len(), 3, "all went to the test's Atlas");
}

#[cfg(not(any(windows, target_os = "macos")))]
#[test]
fn logged_in_with_the_atlas_cli_it_talks_to_the_profiles_atlas() {
    let (_runtime, atlas) = atlas();
    let (public, private) = atlas.api_key();
    let home = std::env::temp_dir().join(format!("streams-atlas-cli-{}", std::process::id()));
    std::fs::create_dir_all(home.join("atlascli")).unwrap();
    std::fs::write(
        home.join("atlascli/config.toml"),
        format!(
            "[default]\npublic_api_key = \"{public}\"\nprivate_api_key = \"{}\"\n\
             ops_manager_url = \"{}\"\n",
            private.expose_secret(),
            atlas.base_url()
        ),
    )
    .unwrap();
    let env = [("XDG_CONFIG_HOME", home.to_str().unwrap())];
    let out = create_sample("from-profile", &env);
    // Without the project, the profile's Atlas is still the target: the
    // error says so rather than creating in a local one.
    let sample = ["create", "--kind", "sample", "--name", "x"];
    let without_project = run(streams(&sample, &env), None);
    let local = run(streams(&[&sample[..], &["--local"]].concat(), &env), None);
    // A file of settings only: no login to use, and the way round it said.
    let settings = "[default]\noutput = \"json\"\n";
    std::fs::write(home.join("atlascli/config.toml"), settings).unwrap();
    let unusable = create_sample("no-login", &env);
    std::fs::remove_dir_all(&home).ok();
    assert_eq!(local.status, Some(0), "{}", local.stderr);
    assert_stderr_has(&local, "note: --local; started an embedded local Atlas");
    assert_eq!(unusable.status, Some(2), "{}", unusable.stderr);
    assert_stderr_has(&unusable, "profile `default`");
    assert_stderr_has(
        &unusable,
        "--local creates in an embedded local Atlas instead",
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_stderr_has(
        &out,
        "signing in to Atlas with the Atlas CLI's profile `default` of ",
    );
    assert!(
        !out.stderr.contains("embedded local Atlas"),
        "{}",
        out.stderr
    );
    assert_eq!(
        atlas.connections().len(),
        1,
        "created in the profile's Atlas"
    );
    assert!(
        !out.stderr.contains(private.expose_secret()),
        "{}",
        out.stderr
    );
    assert_eq!(
        without_project.status,
        Some(2),
        "{}",
        without_project.stderr
    );
    assert_stderr_has(
        &without_project,
        "--project is required with Atlas credentials",
    );
    assert_stderr_has(&without_project, "profile `default`");
    assert_stderr_has(&without_project, "--local creates in an embedded");
}

#[test]
fn atlas_errors_exit_with_3_and_show_the_fields_at_fault() {
    let (_runtime, atlas) = atlas();
    let (public, private) = atlas.api_key();
    let base = atlas.base_url().to_string();
    let env = [
        ("MONGODB_ATLAS_PUBLIC_API_KEY", public),
        ("MONGODB_ATLAS_PRIVATE_API_KEY", private.expose_secret()),
        ("MONGODB_ATLAS_BASE_URL", base.as_str()),
    ];
    assert_eq!(create_sample("dup", &env).status, Some(0));
    let duplicate = create_sample("dup", &env);
    assert_eq!(duplicate.status, Some(3), "{}", duplicate.stderr);
    assert_stderr_has(&duplicate, "409");

    let wrong_key = [
        ("MONGODB_ATLAS_PUBLIC_API_KEY", public),
        ("MONGODB_ATLAS_PRIVATE_API_KEY", "not-the-key"),
        ("MONGODB_ATLAS_BASE_URL", base.as_str()),
    ];
    let refused = create_sample("other", &wrong_key);
    assert_eq!(refused.status, Some(3), "{}", refused.stderr);
    assert_stderr_has(&refused, "401");
    assert!(!refused.stderr.contains("not-the-key"));

    // A kind this crate does not know is sent as it is; Atlas refuses it
    // and names the field.
    let invalid = create_from_json(r#"{"type":"Teleport","name":"k"}"#, &env);
    assert_eq!(invalid.status, Some(3), "{}", invalid.stderr);
    assert_stderr_has(&invalid, "400");
    assert!(
        invalid.stderr.contains("  type:"),
        "the field is named: {}",
        invalid.stderr
    );

    // A wrong field type never leaves: the file is not a connection.
    let wrong = create_from_json(r#"{"type":"Kafka","name":"k","bootstrapServers":42}"#, &env);
    assert_eq!(wrong.status, Some(2), "{}", wrong.stderr);
}

/// Runs `create` of a sample connection `name` in the test project and
/// instance.
/// The environment of a run that authenticates with an access token
/// against the server at `base`.
pub(crate) fn token_env(base: &str) -> [(&'static str, &str); 2] {
    [
        ("MONGODB_ATLAS_ACCESS_TOKEN", "token"),
        ("MONGODB_ATLAS_BASE_URL", base),
    ]
}

/// Fails, showing the whole of standard error, unless it holds `phrase`.
#[track_caller]
pub(crate) fn assert_stderr_has(out: &Run, phrase: &str) {
    assert!(
        out.stderr.contains(phrase),
        "{phrase:?} not in:\n{}",
        out.stderr
    );
}

pub(crate) fn create_sample(name: &str, env: &[(&str, &str)]) -> Run {
    let args = [
        "create",
        "--project",
        PROJECT,
        "--instance",
        INSTANCE,
        "--kind",
        "sample",
        "--name",
        name,
    ];
    run(streams(&args, env), None)
}

/// Runs `create` in the test project and instance with the connection
/// `json` in a file.
fn create_from_json(json: &str, env: &[(&str, &str)]) -> Run {
    let file = temp_file("connection.json", json);
    let args = [
        "create",
        "--project",
        PROJECT,
        "--instance",
        INSTANCE,
        "--file",
        file.to_str().unwrap(),
    ];
    let out = run(streams(&args, env), None);
    std::fs::remove_file(file).ok();
    out
}

#[test]
fn no_answer_exits_with_4() {
    // Refused at connect: it cannot have arrived, and the command does not
    // say it might have.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let base = format!("http://{addr}");
    let out = create_sample("a", &token_env(&base));
    assert_eq!(out.status, Some(4), "{}", out.stderr);
    assert_stderr_has(&out, "transport error");
    assert!(!out.stderr.contains("may have reached"), "{}", out.stderr);
}

/// A server on 127.0.0.1 that answers every request with `status` and the
/// JSON `body`, on a thread of its own; its base URL.
pub(crate) fn answering(status: u16, body: &'static str) -> String {
    recording(status, body).0
}

/// [`answering`], with the bodies of the requests it receives.
pub(crate) fn recording(
    status: u16,
    body: &'static str,
) -> (String, std::sync::mpsc::Receiver<Vec<u8>>) {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut request_body = vec![0; length];
            let _ = reader.read_exact(&mut request_body);
            let _ = sent.send(request_body);
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    (base, received)
}

#[test]
fn json_output_shows_the_names_of_map_members_not_their_values() {
    let base = answering(
        200,
        r#"{"type":"Https","name":"hook","url":"https://example.com",
            "headers":{"Authorization":"Bearer webhook-token-never-printed"},
            "futureSecret":"extra-never-printed"}"#,
    );
    let env = token_env(&base);
    let mut args = vec!["--json"];
    args.splice(
        0..0,
        ["create", "--project", PROJECT, "--instance", INSTANCE],
    );
    args.extend([
        "--kind",
        "https",
        "--name",
        "hook",
        "--url",
        "https://example.com",
    ]);
    let out = run(streams(&args, &env), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let shown: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(shown["headers"]["Authorization"], "[redacted]");
    assert_eq!(shown["futureSecret"], "[redacted]");
    assert_eq!(shown["url"], "https://example.com");
    for secret in ["webhook-token-never-printed", "extra-never-printed"] {
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    }
}

#[test]
fn an_unreadable_success_exits_with_5_and_says_the_connection_exists() {
    let base = answering(200, r#"{"type":"Sample","name":"#);
    let env = token_env(&base);
    let out = create_sample("s", &env);
    assert_eq!(out.status, Some(5), "{}", out.stderr);
    assert_stderr_has(&out, "the connection was created");
    assert_stderr_has(&out, "do not run this again");
}

#[test]
fn server_text_cannot_drive_the_terminal() {
    // An ANSI escape (clear screen, red), a C1 CSI, a fake line and a
    // right-to-left override, in the detail and a field violation.
    let base = answering(
        400,
        "{\"errorCode\":\"INVALID\\u001b[2J\",\"detail\":\"bad\\u001b[31m\\u009b1m\\nok: created\\u202e\",\
          \"badRequestDetail\":{\"fields\":[{\"field\":\"name\\u001b]0;title\\u0007\",\"description\":\"x\"}]}}",
    );
    let env = token_env(&base);
    let out = create_sample("s", &env);
    assert_eq!(out.status, Some(3), "{}", out.stderr);
    for raw in ['\u{1b}', '\u{9b}', '\u{7}', '\u{202e}'] {
        assert!(
            !out.stderr.contains(raw),
            "{raw:?} printed: {:?}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("\nok: created"), "{:?}", out.stderr);
    assert!(out.stderr.contains("\\u{1b}[31m"), "{:?}", out.stderr);
    assert!(
        out.stderr.contains("name\\u{1b}]0;title"),
        "{:?}",
        out.stderr
    );
}

/// What each kind's flags put into the body the command sends.
#[test]
fn each_kinds_flags_reach_the_body_sent() {
    let (base, bodies) = recording(200, r#"{"type":"Sample","name":"any"}"#);
    let env = [
        ("MONGODB_ATLAS_ACCESS_TOKEN", "token"),
        ("MONGODB_ATLAS_BASE_URL", &base),
        ("TEST_KAFKA_PASSWORD", KAFKA_PASSWORD),
    ];
    let kafka = ["--kind", "kafka", "--bootstrap-servers", "b:9092"];
    let cases: [(Vec<&str>, serde_json::Value); 6] = [
        (
            vec!["--kind", "cluster", "--name", "c", "--cluster", "Cluster0"],
            serde_json::json!({"type": "Cluster", "name": "c", "clusterName": "Cluster0"}),
        ),
        (
            vec![
                "--kind",
                "https",
                "--name",
                "h",
                "--url",
                "https://example.com/hook",
            ],
            serde_json::json!({"type": "Https", "name": "h", "url": "https://example.com/hook"}),
        ),
        (
            [
                &kafka[..],
                &["--name", "k1", "--mechanism", "PLAIN", "--username", "u"],
            ]
            .concat(),
            serde_json::json!({"type": "Kafka", "name": "k1", "bootstrapServers": "b:9092",
                "authentication": {"mechanism": "PLAIN", "username": "u"}}),
        ),
        // Any one of the three makes an `authentication`.
        (
            [&kafka[..], &["--name", "k2", "--username", "u"]].concat(),
            serde_json::json!({"type": "Kafka", "name": "k2", "bootstrapServers": "b:9092",
                "authentication": {"username": "u"}}),
        ),
        (
            [&kafka[..], &["--name", "k3", "--mechanism", "PLAIN"]].concat(),
            serde_json::json!({"type": "Kafka", "name": "k3", "bootstrapServers": "b:9092",
                "authentication": {"mechanism": "PLAIN"}}),
        ),
        (
            [
                &kafka[..],
                &["--name", "k4", "--password-env", "TEST_KAFKA_PASSWORD"],
            ]
            .concat(),
            serde_json::json!({"type": "Kafka", "name": "k4", "bootstrapServers": "b:9092",
                "authentication": {"password": KAFKA_PASSWORD}}),
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["create", "--project", PROJECT, "--instance", INSTANCE];
        args.extend_from_slice(&flags);
        let out = run(streams(&args, &env), None);
        assert_eq!(out.status, Some(0), "{flags:?}: {}", out.stderr);
        let sent: serde_json::Value = serde_json::from_slice(&bodies.recv().unwrap()).unwrap();
        assert_eq!(sent, expected, "{flags:?}");
    }
}

/// Plain http is allowed to this machine because nobody else sees it: a
/// proxy from the environment must not be handed the token and the body.
#[test]
fn plain_http_to_this_machine_never_goes_through_a_proxy() {
    let (atlas, atlas_bodies) = recording(200, r#"{"type":"Sample","name":"s"}"#);
    let (proxy, proxy_bodies) = recording(200, r#"{"type":"Sample","name":"s"}"#);
    let env = [
        ("MONGODB_ATLAS_ACCESS_TOKEN", "token"),
        ("MONGODB_ATLAS_BASE_URL", &atlas),
        ("HTTP_PROXY", &proxy),
        ("http_proxy", &proxy),
        ("ALL_PROXY", &proxy),
        ("NO_PROXY", ""),
    ];
    let out = create_sample("s", &env);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    // The proxy records before it answers, and the command has ended.
    assert!(
        proxy_bodies.try_recv().is_err(),
        "the request went through the proxy"
    );
    let sent: serde_json::Value =
        serde_json::from_slice(&atlas_bodies.try_recv().unwrap()).unwrap();
    assert_eq!(sent["name"], "s");
}

#[test]
fn json_output_stays_json_whatever_the_server_puts_in_strings() {
    let base = answering(
        200,
        "{\"type\":\"Sample\",\"name\":\"caf\u{e9} \\u202e x\\u007f\\u009b\\u001b[2J\"}",
    );
    let env = token_env(&base);
    let args = [
        "create",
        "--project",
        PROJECT,
        "--instance",
        INSTANCE,
        "--kind",
        "sample",
        "--name",
        "s",
        "--json",
    ];
    let out = run(streams(&args, &env), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    for raw in ['\u{202e}', '\u{7f}', '\u{9b}', '\u{1b}'] {
        assert!(
            !out.stdout.contains(raw),
            "{raw:?} printed raw: {:?}",
            out.stdout
        );
    }
    let shown: serde_json::Value = serde_json::from_str(&out.stdout).expect("valid JSON");
    assert_eq!(shown["name"], "caf\u{e9} \u{202e} x\u{7f}\u{9b}\u{1b}[2J");
}

#[test]
fn a_closed_standard_output_does_not_turn_a_created_connection_into_a_failure() {
    let base = answering(200, r#"{"type":"Sample","name":"s"}"#);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = streams(
        &[
            "create",
            "--project",
            PROJECT,
            "--instance",
            INSTANCE,
            "--kind",
            "sample",
            "--name",
            "s",
        ],
        &token_env(&base),
    );
    let output = command
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_request_that_may_have_arrived_says_so() {
    // Headers, then the connection closes mid-body: reading failed after
    // the status, which was an error status here, so no exit 5; the
    // request did arrive.
    let base = answering_head("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 100\r\n\r\npartial");
    let out = create_sample("s", &token_env(&base));
    assert_eq!(out.status, Some(4), "{}", out.stderr);
    assert_stderr_has(&out, "may have reached Atlas");
}

/// A server on 127.0.0.1 that reads one request head and answers `head`
/// (status line and headers), then closes; its base URL.
pub(crate) fn answering_head(head: &'static str) -> String {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let _ = stream.write_all(head.as_bytes());
        }
    });
    base
}

#[test]
fn an_oversized_error_answer_may_mean_the_request_arrived_a_failed_token_request_does_not() {
    let huge = "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 999999999\r\n\r\n";
    let base = answering_head(huge);
    let token = token_env(&base);
    let out = create_sample("s", &token);
    assert_eq!(out.status, Some(4), "{}", out.stderr);
    assert_stderr_has(&out, "larger than the client reads");
    assert_stderr_has(&out, "may have reached Atlas");

    // The same answer from the token endpoint: the create request never left.
    let base = answering_head(huge);
    let service_account = [
        ("MONGODB_ATLAS_CLIENT_ID", "mdb_sa_id_x"),
        ("MONGODB_ATLAS_CLIENT_SECRET", "mdb_sa_sk_y"),
        ("MONGODB_ATLAS_BASE_URL", &base),
    ];
    let out = create_sample("s", &service_account);
    assert_ne!(out.status, Some(0), "{}", out.stderr);
    assert_ne!(out.status, Some(5), "{}", out.stderr);
    assert!(!out.stderr.contains("may have reached"), "{}", out.stderr);
    assert!(!out.stderr.contains("was created"), "{}", out.stderr);
}
