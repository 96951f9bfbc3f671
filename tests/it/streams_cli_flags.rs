//! The `streams` command line as clap gives it: `--version`, suggestions,
//! `--name=value`, flags that do not belong to the kind, completions,
//! SASL_SSL Kafka from flags alone, errors that name a file's wrong field
//! by its path and a transport error by its cause. The real binary,
//! spawned, against servers on 127.0.0.1.

use crate::streams_cli::{
    Run, assert_stderr_has, create_sample, recording, run, streams, temp_file, token_env,
};
use crate::support::{INSTANCE, PROJECT};

const KAFKA_PASSWORD: &str = "kafka-password-never-printed";

/// Fails unless `out` is a usage error: exit 2, `phrase` on standard
/// error, nothing on standard output.
#[track_caller]
fn assert_usage_error(out: &Run, phrase: &str) {
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert_stderr_has(out, phrase);
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout);
}

#[test]
fn version_is_the_crates() {
    for flag in ["--version", "-V"] {
        let out = run(streams(&[flag], &[]), None);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(
            out.stdout.trim(),
            format!("streams {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn typos_get_a_suggestion() {
    let flag = run(
        streams(
            &["create", "--kind", "sample", "--name", "a", "--jsno"],
            &[],
        ),
        None,
    );
    assert_usage_error(&flag, "a similar argument exists: '--json'");
    let command = run(streams(&["creat"], &[]), None);
    assert_usage_error(&command, "a similar subcommand exists: 'create'");
    let kind = run(
        streams(&["create", "--kind", "kafak", "--name", "a"], &[]),
        None,
    );
    assert_usage_error(&kind, "a similar value exists: 'kafka'");
}

#[test]
fn a_flag_that_needs_a_value_does_not_take_the_next_flag() {
    let out = run(
        streams(&["create", "--kind", "sample", "--name", "--json"], &[]),
        None,
    );
    assert_usage_error(&out, "a value is required for '--name <NAME>'");
}

#[test]
fn name_equals_value_is_a_value_even_when_it_looks_like_a_flag() {
    let out = run(
        streams(&["create", "--kind=sample", "--name=--json", "--json"], &[]),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let created: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(created["name"], "--json");
}

#[test]
fn a_flag_of_another_kind_is_an_error_naming_the_flag_and_the_kind() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "--kind",
                "kafka",
                "--bootstrap-servers",
                "b:9092",
                "--url",
                "https://x",
            ],
            "--url does not apply to --kind kafka (it is a flag of --kind https)",
        ),
        (
            &["--kind", "sample", "--bootstrap-servers", "b:9092"],
            "--bootstrap-servers does not apply to --kind sample",
        ),
        (
            &[
                "--kind",
                "https",
                "--url",
                "https://x",
                "--protocol",
                "SASL_SSL",
            ],
            "--protocol does not apply to --kind https",
        ),
        (
            &["--kind", "cluster", "--cluster", "C", "--password-env", "P"],
            "--password-env does not apply to --kind cluster",
        ),
        (
            &["--kind", "sample", "--cluster", "C"],
            "--cluster does not apply to --kind sample (it is a flag of --kind cluster)",
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["create", "--name", "a"];
        args.extend_from_slice(flags);
        assert_usage_error(&run(streams(&args, &[("P", "p")]), None), expected);
    }
    let file = temp_file("whole.json", r#"{"type":"Sample","name":"s"}"#);
    let with_file = run(
        streams(
            &[
                "create",
                "--file",
                file.to_str().unwrap(),
                "--url",
                "https://x",
            ],
            &[],
        ),
        None,
    );
    std::fs::remove_file(file).ok();
    assert_usage_error(&with_file, "--url cannot be used with --file");
}

#[test]
fn completions_are_scripts_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _streams"),
        ("zsh", "#compdef streams"),
        ("fish", "complete -c streams"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[streams]"),
    ] {
        let out = run(streams(&["completions", shell], &[]), None);
        assert_eq!(out.status, Some(0), "{shell}: {}", out.stderr);
        assert!(out.stdout.contains(marker), "{shell}: {}", out.stdout);
        for flag in ["bootstrap-servers", "password-file", "local-atlas"] {
            assert!(out.stdout.contains(flag), "{shell} lacks {flag}");
        }
    }
    assert_usage_error(
        &run(streams(&["completions", "tcsh"], &[]), None),
        "invalid value 'tcsh'",
    );
}

/// `--protocol`, `--mechanism`, `--username` and a password from
/// `--password-env`, `--password-file` or standard input build a SASL_SSL
/// Kafka connection; `--broker-certificate` reads the PEM file.
#[test]
fn flags_alone_build_a_sasl_ssl_kafka_connection() {
    let (base, bodies) = recording(200, r#"{"type":"Kafka","name":"k"}"#);
    let env = [
        ("MONGODB_ATLAS_ACCESS_TOKEN", "token"),
        ("MONGODB_ATLAS_BASE_URL", base.as_str()),
        ("KAFKA_PW", KAFKA_PASSWORD),
    ];
    let password_file = temp_file("password", &format!("{KAFKA_PASSWORD}\n"));
    let certificate = temp_file("broker.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    let sources: [(&[&str], Option<String>); 3] = [
        (&["--password-env", "KAFKA_PW"], None),
        (&["--password-file", password_file.to_str().unwrap()], None),
        (
            &["--password-file", "-"],
            Some(format!("{KAFKA_PASSWORD}\r\n")),
        ),
    ];
    for (password, stdin) in sources {
        let mut args = vec![
            "create",
            "--project",
            PROJECT,
            "--instance",
            INSTANCE,
            "--kind",
            "kafka",
            "--name",
            "k",
            "--bootstrap-servers",
            "b:9093",
            "--protocol",
            "SASL_SSL",
            "--mechanism",
            "SCRAM-512",
            "--username",
            "u",
            "--broker-certificate",
            certificate.to_str().unwrap(),
        ];
        args.extend_from_slice(password);
        let out = run(streams(&args, &env), stdin.as_deref());
        assert_eq!(out.status, Some(0), "{password:?}: {}", out.stderr);
        let sent: serde_json::Value = serde_json::from_slice(&bodies.recv().unwrap()).unwrap();
        let expected = serde_json::json!({
            "type": "Kafka", "name": "k", "bootstrapServers": "b:9093",
            "security": {"protocol": "SASL_SSL",
                "brokerPublicCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n"},
            "authentication": {"mechanism": "SCRAM-512", "username": "u",
                "password": KAFKA_PASSWORD},
        });
        assert_eq!(sent, expected, "{password:?}");
        assert!(!out.stdout.contains(KAFKA_PASSWORD) && !out.stderr.contains(KAFKA_PASSWORD));
    }
    std::fs::remove_file(password_file).ok();
    std::fs::remove_file(certificate).ok();
}

#[test]
fn password_sources_are_one_at_a_time_and_never_empty() {
    let kafka = [
        "create",
        "--kind",
        "kafka",
        "--name",
        "k",
        "--bootstrap-servers",
        "b",
    ];
    let both = [&kafka[..], &["--password-env", "P", "--password-file", "-"]].concat();
    assert_usage_error(
        &run(streams(&both, &[("P", "p")]), None),
        "'--password-env <VAR>' cannot be used with '--password-file <PATH>'",
    );
    let empty = [&kafka[..], &["--password-file", "-"]].concat();
    assert_usage_error(&run(streams(&empty, &[]), Some("\n")), "the file is empty");
    let missing = [&kafka[..], &["--password-file", "/nonexistent/pw"]].concat();
    assert_usage_error(
        &run(streams(&missing, &[]), None),
        "--password-file: cannot read",
    );
}

/// A field of the wrong type is named by its JSON path, its value never
/// shown: nested, `type` first or last, in a free-form map. (The first
/// case's `7` would show as `` `7` `` in serde's message.)
#[test]
fn a_wrong_field_type_names_its_json_path_not_its_value() {
    let cases = [
        (
            r#"{"type":"Kafka","name":"k","authentication":{"password":"hunter2-pw","username":7},"bootstrapServers":"b"}"#,
            "field `authentication.username`: ",
        ),
        (
            r#"{"name":"k","authentication":{"password":"hunter2-pw","username":["hunter2-list"]},"type":"Kafka"}"#,
            "field `authentication.username`: ",
        ),
        (
            r#"{"name":"k","headers":{"Authorization":"hunter2-header"},"url":42,"type":"Https"}"#,
            "field `url`: ",
        ),
        (
            r#"{"type":"Https","name":"k","url":"u","headers":{"Authorization":{"hunter2":1}}}"#,
            "field `headers.Authorization`: ",
        ),
        (
            r#"{"type":"Kafka","name":"k","authentication":"hunter2-string"}"#,
            "field `authentication`: ",
        ),
    ];
    for (json, expected) in cases {
        let file = temp_file("typed.json", json);
        let out = run(
            streams(&["create", "--file", file.to_str().unwrap()], &[]),
            None,
        );
        std::fs::remove_file(file).ok();
        assert_usage_error(&out, expected);
        assert_stderr_has(&out, "not a stream connection");
        assert_stderr_has(&out, "invalid type: ");
        assert!(
            !out.stderr.contains("hunter2"),
            "a value shown: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("`7`"), "a value shown: {}", out.stderr);
    }
}

#[test]
fn a_transport_error_shows_its_cause() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let out = create_sample("a", &token_env(&base));
    assert_eq!(out.status, Some(4), "{}", out.stderr);
    assert_stderr_has(&out, "error sending request");
    assert!(
        out.stderr.to_lowercase().contains("connection refused"),
        "no cause: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("token"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}
