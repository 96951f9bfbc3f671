//! `streams list`, `get`, `update`, `delete` and `apply`: the real binary,
//! run once per step against one local Atlas that this test starts on
//! 127.0.0.1 and gives the command as "real" Atlas through the
//! environment, so that state lasts from one run to the next, and the
//! server's own view (what it holds, the writes it was sent) can be
//! checked beside what the command prints.

use std::process::Command;

use atlas_stream_connections::local_atlas::LocalAtlas;
use serde_json::{Value, json};

use crate::streams_cli::{Run, assert_stderr_has, run, streams};
use crate::support::{INSTANCE, PROJECT};

/// Write-only values of the connections applied: never printed.
const KAFKA_PASSWORD: &str = "ops-kafka-password-never-printed";
const HEADER_SECRET: &str = "Bearer ops-header-secret-never-printed";
/// The variable `update --password-env` reads.
const PASSWORD_VARIABLE: &str = "STREAMS_OPS_TEST_PASSWORD";

/// A local Atlas, and the runtime that serves it.
struct Atlas {
    // Dropped before the runtime that serves it.
    atlas: LocalAtlas,
    _runtime: tokio::runtime::Runtime,
}

impl Atlas {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let atlas = runtime
            .block_on(LocalAtlas::builder().instance(PROJECT, INSTANCE).start())
            .expect("local Atlas starts");
        Atlas {
            atlas,
            _runtime: runtime,
        }
    }

    /// `streams args`, signed in to this Atlas with its service account,
    /// in the test project and instance; secrets never in the output.
    /// (A service account: its token reaches a local Atlas that does not
    /// serve reads, whose `404` to an unauthenticated read leaves a Digest
    /// client without a challenge.)
    #[track_caller]
    fn streams(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let out = run(self.command(args), stdin);
        assert_no_secret(&out);
        assert!(
            !out.stderr.contains("embedded local Atlas"),
            "went to a local Atlas of its own: {}",
            out.stderr
        );
        out
    }

    /// The command of [`streams`](Self::streams), not yet run.
    fn command(&self, args: &[&str]) -> Command {
        let (id, secret) = self.atlas.service_account();
        self.command_with(
            args,
            &[
                ("MONGODB_ATLAS_CLIENT_ID", id),
                ("MONGODB_ATLAS_CLIENT_SECRET", secret.expose_secret()),
            ],
        )
    }

    /// `streams args` signed in with `credentials`, in the test project
    /// and instance.
    fn command_with(&self, args: &[&str], credentials: &[(&str, &str)]) -> Command {
        let mut env = vec![
            ("MONGODB_ATLAS_BASE_URL", self.atlas.base_url()),
            ("MONGODB_ATLAS_PROJECT_ID", PROJECT),
            ("STREAMS_INSTANCE", INSTANCE),
            (PASSWORD_VARIABLE, KAFKA_PASSWORD),
        ];
        env.extend_from_slice(credentials);
        streams(args, &env)
    }

    /// A bearer token from this Atlas's token endpoint, so that a run
    /// sends its calls and nothing else.
    fn access_token(&self) -> String {
        let (id, secret) = self.atlas.service_account();
        let url = format!("{}/api/oauth/token", self.atlas.base_url());
        self._runtime.block_on(async {
            let response = reqwest::Client::new()
                .post(url)
                .basic_auth(id, Some(secret.expose_secret()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
                .send()
                .await
                .expect("token request");
            let body: Value = response.json().await.expect("token JSON");
            body["access_token"].as_str().expect("a token").to_owned()
        })
    }

    /// `streams apply --file <a file of connections> extra...`.
    #[track_caller]
    fn apply(&self, connections: &Value, extra: &[&str]) -> Run {
        let file = temp_file("apply.json", &connections.to_string());
        let mut args = vec!["apply", "--file", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = self.streams(&args, None);
        std::fs::remove_file(file).ok();
        out
    }

    /// The requests that changed (or could change) something: every call
    /// but a read.
    fn writes(&self) -> usize {
        self.atlas
            .calls()
            .iter()
            .filter(|call| call.method != "GET")
            .count()
    }

    /// `streams list --json`, parsed: the connections' names, sorted.
    #[track_caller]
    fn listed_names(&self) -> Vec<String> {
        let out = self.streams(&["list", "--json"], None);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        let listed: Vec<Value> = serde_json::from_str(&out.stdout).expect("a JSON array");
        let mut names: Vec<String> = listed
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

/// A file holding `text`, of a name no other test of this run uses (the
/// tests of the binary run at once, in one process).
fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("streams-ops-{}-{n}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[track_caller]
fn assert_no_secret(out: &Run) {
    for secret in [KAFKA_PASSWORD, HEADER_SECRET, "ops-header-secret"] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "a secret was printed:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

/// Three connections, two of them with write-only values: a Kafka one
/// whose user name is `username`, a webhook with an `Authorization`
/// header, a sample.
fn three(username: &str) -> Value {
    json!([
        {
            "type": "Kafka",
            "name": "events",
            "bootstrapServers": "broker-1:9092",
            "authentication": {
                "mechanism": "PLAIN",
                "username": username,
                "password": KAFKA_PASSWORD,
            },
        },
        {
            "type": "Https",
            "name": "hook",
            "url": "https://example.com/hook",
            "headers": {"Authorization": HEADER_SECRET},
        },
        {"type": "Sample", "name": "solar"},
    ])
}

/// The lines of `stdout` that start with `prefix`.
fn lines_starting<'a>(stdout: &'a str, prefix: &str) -> Vec<&'a str> {
    stdout.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn apply_creates_the_connections_of_a_file_with_a_line_each_and_a_summary() {
    let atlas = Atlas::start();
    let out = atlas.apply(&three("a"), &[]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let mut created = lines_starting(&out.stdout, "created ");
    created.sort();
    assert_eq!(created.len(), 3, "one line per connection:\n{}", out.stdout);
    for (line, name) in created.iter().zip(["events", "hook", "solar"]) {
        assert!(line.starts_with(&format!("created {name}")), "{line}");
    }
    // The fields given, under each; a secret as `[redacted]`.
    assert!(
        out.stdout.contains("  bootstrapServers: \"broker-1:9092\""),
        "{}",
        out.stdout
    );
    // Write-only values are sent, and said to be, never shown.
    assert!(
        out.stdout.contains("created events")
            && out
                .stdout
                .contains("\n  secrets sent (write-only: never shown)\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("password"), "{}", out.stdout);
    // Standard error is no terminal: no progress.
    assert!(!out.stderr.contains("applied"), "{}", out.stderr);
    assert!(
        out.stdout.ends_with(
            "3 created, 0 updated, 0 unchanged, 0 failed; 0 rate-limited (429) answers waited out\n"
        ),
        "{}",
        out.stdout
    );
    // The server holds them, with the password it was sent.
    let mut held: Vec<String> = atlas
        .atlas
        .connections()
        .iter()
        .map(|c| c.connection.name().unwrap())
        .collect();
    held.sort();
    assert_eq!(held, ["events", "hook", "solar"]);
    // Standard input is a file too.
    let other = json!({"type": "Sample", "name": "lunar"});
    let from_stdin = atlas.streams(&["apply", "--file", "-"], Some(&other.to_string()));
    assert_eq!(from_stdin.status, Some(0), "{}", from_stdin.stderr);
    assert!(
        from_stdin.stdout.starts_with("created lunar"),
        "{}",
        from_stdin.stdout
    );
    assert_eq!(atlas.atlas.connections().len(), 4);
}

/// Needs the local Atlas to serve reads and updates.
#[test]
fn apply_again_writes_nothing_and_a_changed_field_is_the_one_update() {
    let atlas = Atlas::start();
    let first = atlas.apply(&three("a"), &[]);
    assert_eq!(first.status, Some(0), "{}", first.stderr);
    let writes = atlas.writes();

    let again = atlas.apply(&three("a"), &[]);
    assert_eq!(again.status, Some(0), "{}", again.stderr);
    assert_eq!(
        lines_starting(&again.stdout, "unchanged ").len(),
        3,
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .contains("0 created, 0 updated, 3 unchanged, 0 failed"),
        "{}",
        again.stdout
    );
    assert_eq!(atlas.writes(), writes, "an unchanged apply wrote");
    assert_eq!(atlas.listed_names(), ["events", "hook", "solar"]);

    let changed = atlas.apply(&three("b"), &[]);
    assert_eq!(changed.status, Some(0), "{}", changed.stderr);
    let updated = lines_starting(&changed.stdout, "updated ");
    assert_eq!(updated.len(), 1, "{}", changed.stdout);
    assert!(updated[0].starts_with("updated events"), "{}", updated[0]);
    assert!(
        changed
            .stdout
            .contains("\n  authentication.username: \"a\" -> \"b\"\n"),
        "the change is shown under it: {}",
        changed.stdout
    );
    assert_eq!(
        lines_starting(&changed.stdout, "unchanged ").len(),
        2,
        "{}",
        changed.stdout
    );
    assert!(
        changed
            .stdout
            .contains("0 created, 1 updated, 2 unchanged, 0 failed"),
        "{}",
        changed.stdout
    );
    assert_eq!(atlas.writes(), writes + 1, "exactly one update");
    let events = atlas.streams(&["get", "events", "--json"], None);
    let events: Value = serde_json::from_str(&events.stdout).unwrap();
    assert_eq!(events["authentication"]["username"], "b");

    // A password cannot be compared: --update-secrets sends it to the
    // connection that has one (a webhook's headers are returned, and
    // compared).
    let secrets = atlas.apply(&three("b"), &["--update-secrets"]);
    assert_eq!(secrets.status, Some(0), "{}", secrets.stderr);
    let updated = lines_starting(&secrets.stdout, "updated ");
    assert_eq!(updated.len(), 1, "{}", secrets.stdout);
    assert!(updated[0].starts_with("updated events"), "{}", updated[0]);
    assert!(
        secrets
            .stdout
            .contains("\n  secrets sent (write-only: never shown)\n"),
        "{}",
        secrets.stdout
    );
    assert_eq!(
        lines_starting(&secrets.stdout, "unchanged ").len(),
        2,
        "{}",
        secrets.stdout
    );
    assert_eq!(atlas.writes(), writes + 2);
}

/// A `429` is waited out and counted, never a failure. Needs the local
/// Atlas to serve reads.
#[test]
fn throttled_calls_are_waited_out_and_counted() {
    let atlas = Atlas::start();
    assert_eq!(atlas.apply(&three("a"), &[]).status, Some(0));
    // With a token already obtained, the run's requests are its calls
    // alone: the first two are throttled.
    let token = atlas.access_token();
    let throttled = atlas_stream_connections::local_atlas::Failure::TooManyRequests {
        retry_after: std::time::Duration::ZERO,
    };
    atlas.atlas.respond_next(2, throttled);
    let file = temp_file("throttled.json", &three("a").to_string());
    let command = atlas.command_with(
        &["apply", "--file", file.to_str().unwrap(), "--json"],
        &[("MONGODB_ATLAS_ACCESS_TOKEN", &token)],
    );
    let out = run(command, None);
    std::fs::remove_file(file).ok();
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let counted: u64 = out
        .stdout
        .lines()
        .map(|line| {
            let outcome: Value = serde_json::from_str(line).unwrap();
            assert_eq!(outcome["action"], "unchanged", "{outcome}");
            outcome["throttled"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(counted, 2, "{}", out.stdout);
}

/// On a terminal (a pseudo-terminal of util-linux's `script`), standard
/// error shows the progress as outcomes arrive, then clears it.
#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_the_progress_is_shown() {
    let atlas = Atlas::start();
    let file = temp_file("progress.json", &three("a").to_string());
    let inner = atlas.command(&["apply", "--file", file.to_str().unwrap()]);
    let line = format!(
        "'{}' apply --file '{}'",
        inner.get_program().to_str().unwrap(),
        file.to_str().unwrap()
    );
    let mut outer = Command::new("script");
    outer.args(["-qec", &line, "/dev/null"]);
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => outer.env(name, value),
            None => outer.env_remove(name),
        };
    }
    let out = run(outer, None);
    std::fs::remove_file(file).ok();
    assert_eq!(out.status, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert_no_secret(&out);
    // Both streams go to the terminal: the progress is drawn over in place
    // after the first and the second outcome, and erased before each line.
    for progress in ["applied 1/3, 0 throttled", "applied 2/3, 0 throttled"] {
        assert!(
            out.stdout.contains(&format!("\r\x1b[2K{progress}")),
            "{:?}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("applied 3/3"), "{:?}", out.stdout);
    assert!(out.stdout.contains("3 created"), "{:?}", out.stdout);
}

#[test]
fn a_dry_run_of_creates_says_what_would_be_created_and_writes_nothing() {
    let atlas = Atlas::start();
    let out = atlas.apply(&three("a"), &["--dry-run"]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(
        lines_starting(&out.stdout, "would create ").len(),
        3,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  url: \"https://example.com/hook\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("dry run, nothing changed: 3 to create, 0 to update, 0 unchanged, 0 failed"),
        "{}",
        out.stdout
    );
    assert_eq!(atlas.writes(), 0);
    assert!(atlas.atlas.connections().is_empty());
}

/// Needs the local Atlas to serve reads (and lists).
#[test]
fn a_dry_run_of_an_update_shows_the_change_and_changes_nothing() {
    let atlas = Atlas::start();
    assert_eq!(atlas.apply(&three("a"), &[]).status, Some(0));
    let before = atlas.streams(&["list", "--json"], None);
    assert_eq!(before.status, Some(0), "{}", before.stderr);
    let writes = atlas.writes();

    let out = atlas.apply(&three("b"), &["--dry-run"]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("would update events"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("  authentication.username: \"a\" -> \"b\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("dry run, nothing changed: 0 to create, 1 to update, 2 unchanged"),
        "{}",
        out.stdout
    );
    assert_eq!(atlas.writes(), writes);
    let after = atlas.streams(&["list", "--json"], None);
    assert_eq!(after.stdout, before.stdout, "the dry run changed something");
}

#[test]
fn json_output_is_one_object_per_connection_without_secrets() {
    let atlas = Atlas::start();
    let out = atlas.apply(&three("a"), &["--json"]);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let outcomes: Vec<Value> = out
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(outcomes.len(), 3, "{}", out.stdout);
    let events = outcomes
        .iter()
        .find(|o| o["name"] == "events")
        .expect("events has a line");
    assert_eq!(events["action"], "created");
    assert_eq!(events["dryRun"], false);
    assert_eq!(events["secretsSent"], true);
    assert_eq!(events["throttled"], 0);
    let changes = events["changes"].as_array().unwrap();
    let change = |field: &str| {
        changes
            .iter()
            .find(|c| c["field"] == field)
            .unwrap_or_else(|| panic!("no change of {field}: {events}"))
    };
    assert_eq!(change("bootstrapServers")["wanted"], "broker-1:9092");
    assert!(change("bootstrapServers").get("stored").is_none());
    assert_eq!(change("authentication.username")["wanted"], "a");
    // A write-only value is no change apply can see: it is said to be sent.
    assert!(
        changes
            .iter()
            .all(|c| c["field"] != "authentication.password"),
        "{events}"
    );
    let hook = outcomes.iter().find(|o| o["name"] == "hook").unwrap();
    assert_eq!(hook["action"], "created");
    // Its headers are sent and compared (Atlas returns them), shown
    // redacted; they are no write-only field.
    assert_eq!(hook["secretsSent"], false);
    assert!(!out.stdout.contains(HEADER_SECRET), "{}", out.stdout);
    let solar = outcomes.iter().find(|o| o["name"] == "solar").unwrap();
    assert_eq!(solar["secretsSent"], false);
    assert!(!out.stdout.contains("rate-limited"), "no summary line");
}

#[test]
fn a_connection_that_fails_is_listed_with_its_cause_and_the_others_are_applied() {
    let atlas = Atlas::start();
    // A kind this crate does not know is sent as it is: Atlas refuses it.
    let file = json!([
        {"type": "Sample", "name": "solar"},
        {"type": "Teleport", "name": "beam"},
    ]);
    let out = atlas.apply(&file, &[]);
    assert_eq!(out.status, Some(3), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("created solar"), "{}", out.stdout);
    assert!(out.stdout.contains("failed beam"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("1 created, 0 updated, 0 unchanged, 1 failed"),
        "{}",
        out.stdout
    );
    assert_stderr_has(&out, "error: 1 of 2 connections failed:");
    assert_stderr_has(&out, "  beam: POST ");
    assert_stderr_has(&out, "400");
    assert_stderr_has(&out, "    type:");
    let json = atlas.apply(&file, &["--json"]);
    let beam: Value = json
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|o| o["name"] == "beam")
        .expect("a line for beam");
    assert_eq!(beam["status"], 400, "{beam}");
    assert!(beam["error"].as_str().unwrap().contains("400"), "{beam}");
    assert!(beam.get("action").is_none(), "{beam}");
}

/// Needs the local Atlas to serve reads, lists, updates and deletes.
#[test]
fn get_list_update_and_delete_round_trip() {
    let atlas = Atlas::start();
    assert_eq!(atlas.apply(&three("a"), &[]).status, Some(0));

    let list = atlas.streams(&["list"], None);
    assert_eq!(list.status, Some(0), "{}", list.stderr);
    let mut lines: Vec<&str> = list.stdout.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 3, "{}", list.stdout);
    assert!(lines[0].starts_with("events  Kafka"), "{}", lines[0]);
    assert!(lines[1].starts_with("hook  Https"), "{}", lines[1]);
    assert!(lines[2].starts_with("solar  Sample"), "{}", lines[2]);
    assert_eq!(atlas.listed_names(), ["events", "hook", "solar"]);

    let get = atlas.streams(&["get", "events"], None);
    assert_eq!(get.status, Some(0), "{}", get.stderr);
    assert!(
        get.stdout.starts_with(&format!(
            "Kafka connection `events` in project {PROJECT}, instance {INSTANCE}\n"
        )),
        "{}",
        get.stdout
    );
    assert!(
        get.stdout
            .contains("\n  bootstrapServers: \"broker-1:9092\"\n"),
        "{}",
        get.stdout
    );
    let hook = atlas.streams(&["get", "hook", "--json"], None);
    assert_eq!(hook.status, Some(0), "{}", hook.stderr);
    let hook: Value = serde_json::from_str(&hook.stdout).unwrap();
    assert_eq!(hook["url"], "https://example.com/hook");

    let update = atlas.streams(
        &[
            "update",
            "--kind",
            "kafka",
            "--name",
            "events",
            "--bootstrap-servers",
            "broker-2:9092",
            "--mechanism",
            "PLAIN",
            "--username",
            "a",
            "--password-env",
            PASSWORD_VARIABLE,
        ],
        None,
    );
    assert_eq!(update.status, Some(0), "{}", update.stderr);
    assert!(
        update
            .stdout
            .starts_with("updated Kafka connection `events`"),
        "{}",
        update.stdout
    );
    let events = atlas.streams(&["get", "events", "--json"], None);
    let events: Value = serde_json::from_str(&events.stdout).unwrap();
    assert_eq!(events["bootstrapServers"], "broker-2:9092");

    let accepted = atlas.streams(&["delete", "hook"], None);
    assert_eq!(accepted.status, Some(0), "{}", accepted.stderr);
    assert!(accepted.stdout.contains("accepted"), "{}", accepted.stdout);
    let deleted = atlas.streams(&["delete", "solar", "--wait", "--json"], None);
    assert_eq!(deleted.status, Some(0), "{}", deleted.stderr);
    let deleted: Value = serde_json::from_str(&deleted.stdout).unwrap();
    assert_eq!(deleted, json!({"name": "solar", "status": "deleted"}));
    // --wait: a connection already gone is no error; without, Atlas's 404.
    let gone = atlas.streams(&["delete", "solar", "--wait"], None);
    assert_eq!(gone.status, Some(0), "{}", gone.stderr);
    let missing = atlas.streams(&["get", "solar"], None);
    assert_eq!(missing.status, Some(3), "{}", missing.stderr);
    assert_stderr_has(&missing, "404");

    let names = atlas.listed_names();
    assert!(
        names == ["events"] || names == ["events", "hook"],
        "hook may still be DELETING, solar is gone: {names:?}"
    );
}

/// Needs the local Atlas to serve lists, a page at a time.
#[test]
fn list_goes_through_every_page() {
    let atlas = Atlas::start();
    // One more than a page holds.
    let count = atlas_stream_connections::MAX_ITEMS_PER_PAGE as usize + 1;
    let many: Vec<Value> = (0..count)
        .map(|i| json!({"type": "Sample", "name": format!("s{i:04}")}))
        .collect();
    let applied = atlas.apply(&Value::Array(many), &["--concurrency", "16", "--no-wait"]);
    assert_eq!(applied.status, Some(0), "{}", applied.stderr);
    assert_eq!(atlas.atlas.connections().len(), count);
    let list = atlas.streams(&["list"], None);
    assert_eq!(list.status, Some(0), "{}", list.stderr);
    let mut names: Vec<&str> = list
        .stdout
        .lines()
        .map(|line| line.split("  ").next().unwrap())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "every connection, once");
}

/// The workflow the README shows: `streams local-atlas` running, its
/// printed variables exported, and one command after the other against
/// it (with the API key: HTTP Digest). Needs the local Atlas to serve
/// reads and lists.
#[test]
fn commands_share_a_streams_local_atlas_through_its_printed_variables() {
    use std::io::{BufRead, BufReader};
    let mut server = streams(&["local-atlas", "--credentials", "api-key"], &[])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("streams local-atlas runs");
    let mut printed = BufReader::new(server.stdout.take().unwrap());
    let mut variables = Vec::new();
    loop {
        let mut line = String::new();
        assert_ne!(printed.read_line(&mut line).unwrap(), 0, "ended early");
        let line = line.trim_end();
        if line == "# ready" {
            break;
        }
        if let Some((name, value)) = line.split_once('=') {
            variables.push((name.to_owned(), value.to_owned()));
        }
    }
    let env: Vec<(&str, &str)> = variables
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let file = temp_file("shared.json", &three("a").to_string());
    let apply = ["apply", "--file", file.to_str().unwrap()];
    let first = run(streams(&apply, &env), None);
    let second = run(streams(&apply, &env), None);
    let list = run(streams(&["list"], &env), None);
    std::fs::remove_file(&file).ok();
    drop(server.stdin.take());
    assert!(server.wait().unwrap().success());
    for out in [&first, &second, &list] {
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_no_secret(out);
    }
    assert!(first.stdout.contains("3 created"), "{}", first.stdout);
    assert!(second.stdout.contains("3 unchanged"), "{}", second.stdout);
    assert_eq!(list.stdout.lines().count(), 3, "{}", list.stdout);
}

#[test]
fn a_malformed_file_is_refused_naming_the_file_and_the_json_path_never_a_value() {
    let cases: [(&str, &str); 6] = [
        (
            r#"[{"type":"Sample","name":"a"},{"type":"Kafka","name":"k","bootstrapServers":"b:1","authentication":{"password":9876543210}}]"#,
            "connection 1 (from 0) is not a stream connection: field `[1].authentication.password`: ",
        ),
        (
            r#"{"type":"Kafka","name":"k","bootstrapServers":9876543210}"#,
            "not a stream connection: field `bootstrapServers`: ",
        ),
        ("[{\"type\": \"Sample\",", "not valid JSON at line 1"),
        (
            r#""9876543210""#,
            "expected a connection (a JSON object) or an array of them",
        ),
        (
            r#"[{"type":"Sample","name":"a"},{"type":"Sample","name":"a"}]"#,
            "two connections are named `a`",
        ),
        (
            r#"[{"type":"Sample"}]"#,
            "connection 0 (from 0) has no name",
        ),
    ];
    for (text, phrase) in cases {
        let file = temp_file("malformed.json", text);
        let path = file.to_str().unwrap();
        let out = run(streams(&["apply", "--local", "--file", path], &[]), None);
        std::fs::remove_file(&file).ok();
        assert_eq!(out.status, Some(2), "{text}: {}", out.stderr);
        assert_stderr_has(&out, phrase);
        assert_stderr_has(&out, &format!("error: {path}: "));
        if phrase.contains("field `") {
            assert_stderr_has(&out, "invalid type: integer, expected a string");
        }
        assert!(!out.stderr.contains("9876543210"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
    let missing = run(
        streams(&["apply", "--local", "--file", "/nonexistent/x.json"], &[]),
        None,
    );
    assert_eq!(missing.status, Some(2), "{}", missing.stderr);
    assert_stderr_has(&missing, "cannot read /nonexistent/x.json");
}

#[test]
fn bad_flags_are_usage_errors() {
    let cases: [(&[&str], &str); 7] = [
        (&["apply"], "--file <PATH>"),
        (
            &["apply", "--file", "x", "--wait-timeout", "5x"],
            "not a duration",
        ),
        (
            &["apply", "--file", "x", "--no-wait", "--wait-timeout", "1m"],
            "cannot be used with",
        ),
        (
            &["apply", "--file", "x", "--concurrency", "0"],
            "--concurrency",
        ),
        (&["delete"], "<NAME>"),
        (&["get"], "<NAME>"),
        (&["delete", "x", "--wait-timeout", "1m"], "--wait"),
    ];
    for (args, phrase) in cases {
        let out = run(streams(args, &[]), None);
        assert_eq!(out.status, Some(2), "{args:?}: {}", out.stderr);
        assert_stderr_has(&out, phrase);
    }
    let nameless = temp_file("nameless.json", r#"{"type":"Sample"}"#);
    let update = run(
        streams(
            &["update", "--local", "--file", nameless.to_str().unwrap()],
            &[],
        ),
        None,
    );
    std::fs::remove_file(nameless).ok();
    assert_eq!(update.status, Some(2), "{}", update.stderr);
    assert_stderr_has(&update, "no `name`");
}

#[test]
fn durations_read_as_people_write_them() {
    // Through the command: a wait this long is accepted, then not needed
    // (the local Atlas reports no pending state).
    let atlas = Atlas::start();
    for (i, duration) in ["90", "30s", "10m", "1h30m"].into_iter().enumerate() {
        let name = format!("s{i}");
        let connection = json!({"type": "Sample", "name": name});
        let out = atlas.apply(&connection, &["--wait-timeout", duration]);
        assert_eq!(out.status, Some(0), "{duration}: {}", out.stderr);
        assert!(
            out.stdout.starts_with(&format!("created {name}")),
            "{}",
            out.stdout
        );
    }
    for bad in ["", "m", "10d", "1.5h", "99999999999999999999h"] {
        let out = run(
            streams(&["apply", "--file", "-", "--wait-timeout", bad], &[]),
            None,
        );
        assert_eq!(out.status, Some(2), "{bad:?}: {}", out.stderr);
        assert_stderr_has(&out, "--wait-timeout");
    }
}

#[test]
fn help_and_completions_know_the_commands() {
    let top = run(streams(&["--help"], &[]), None);
    assert_eq!(top.status, Some(0), "{}", top.stderr);
    for command in ["list", "get", "update", "delete", "apply"] {
        assert!(
            top.stdout.contains(&format!("\n  {command} ")),
            "help lacks {command}: {}",
            top.stdout
        );
    }
    let apply = run(streams(&["apply", "--help"], &[]), None);
    assert_eq!(apply.status, Some(0), "{}", apply.stderr);
    for text in [
        "--dry-run",
        "--update-secrets",
        "--concurrency",
        "--no-wait",
        "--wait-timeout",
        "--json",
        "\"action\"",
        "Exit status",
    ] {
        assert!(apply.stdout.contains(text), "apply's help lacks {text}");
    }
    let bash = run(streams(&["completions", "bash"], &[]), None);
    assert_eq!(bash.status, Some(0), "{}", bash.stderr);
    for text in ["apply", "--dry-run", "--wait-timeout"] {
        assert!(bash.stdout.contains(text), "completions lack {text}");
    }
}
