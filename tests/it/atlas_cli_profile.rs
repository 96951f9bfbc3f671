//! The Atlas CLI's profile as the last step of `from_env_with`'s discovery,
//! and `from_atlas_cli_file`: files written to a directory of the test's
//! own (`XDG_CONFIG_HOME` given through the lookup), calls made to servers
//! on 127.0.0.1 with what the profile holds. No error or `Debug` shows a
//! secret of the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{
    Server, TOKEN_PATH, assert_no_secret, create, create_named, created, owned_pairs, token_reply,
};
use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::{ClientBuilder, Error};

const SECRET: &str = "profile-secret-never-shown";
const TOKEN: &str = "profile-token-never-shown";

/// A directory of this test's own, holding `atlascli/config.toml`: the
/// `XDG_CONFIG_HOME` to give. Removed when dropped.
struct Home(PathBuf);

impl std::ops::Deref for Home {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A [`Home`] whose `config.toml` holds `text`.
fn config_home(text: &str) -> Home {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "atlas-cli-profile-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(dir.join("atlascli")).unwrap();
    std::fs::write(dir.join("atlascli/config.toml"), text).unwrap();
    Home(dir)
}

/// `from_env_with` over `vars` and `XDG_CONFIG_HOME` set to `home`.
fn discover(home: &Path, vars: &[(&str, &str)]) -> Result<ClientBuilder, Error> {
    let mut vars: HashMap<String, String> = owned_pairs(vars).into_iter().collect();
    vars.insert("XDG_CONFIG_HOME".into(), home.display().to_string());
    ClientBuilder::from_env_with(|name| vars.get(name).cloned())
}

/// The message of the configuration error `result` must be, checked for
/// secrets in its `Display` and `Debug`.
fn refused(result: Result<ClientBuilder, Error>) -> String {
    let error = result.expect_err("the profile is refused");
    let shown = format!("{error} {error:?}");
    assert_no_secret(&shown, &[SECRET, TOKEN], "the error");
    match error {
        Error::Configuration { message } => message,
        other => panic!("not a configuration error: {other:?}"),
    }
}

/// A server answering a token request and then creates.
async fn atlas() -> Server {
    Server::serve(|request| {
        if request.target().ends_with(TOKEN_PATH) {
            token_reply(TOKEN, 3600)
        } else {
            created()
        }
    })
    .await
}

#[cfg(not(any(windows, target_os = "macos")))]
#[tokio::test]
async fn a_service_account_profile_needs_no_variables() {
    let server = atlas().await;
    let home = config_home(&format!(
        "telemetry_enabled = false\nversion = 2\n\n[default]\n  auth_type = \"service_account\"\n  \
         client_id = \"mdb_sa_id_1\"\n  client_secret = \"{SECRET}\"\n  ops_manager_url = \"{}/\"\n  \
         org_id = \"5dd5aaef7a3e5a6c5bd12de4\"\n",
        server.base_url
    ));
    let builder = discover(&home, &[]).unwrap();
    let shown = format!("{builder:?}");
    assert_no_secret(&shown, &[SECRET], "Debug of the builder");
    assert!(shown.contains("profile `default` of "), "{shown}");
    create(&builder.build().unwrap()).await.unwrap();
    let requests = server.requests();
    assert!(requests[0].target().ends_with(TOKEN_PATH), "{requests:?}");
    assert_eq!(
        requests[1].header("authorization"),
        Some(format!("Bearer {TOKEN}"))
    );
}

#[cfg(not(any(windows, target_os = "macos")))]
#[tokio::test]
async fn an_api_key_profile_named_by_the_variable_signs_with_digest() {
    let atlas = LocalAtlas::start().await.unwrap();
    let (public, private) = atlas.api_key();
    let home = config_home(&format!(
        "[default]\npublic_api_key = \"someone\"\nprivate_api_key = \"else\"\n\n\
         [Work]\npublic_api_key = '{public}'\nprivate_api_key = \"{}\"\nops_manager_url = \"{}\"\n",
        private.expose_secret(),
        atlas.base_url()
    ));
    let builder = discover(&home, &[("MONGODB_ATLAS_PROFILE", "work")]).unwrap();
    create_named(&builder.build().unwrap(), "events")
        .await
        .unwrap();
    assert_eq!(atlas.calls().len(), 1, "one create, Digest-signed");
}

#[cfg(not(any(windows, target_os = "macos")))]
#[tokio::test]
async fn the_only_profile_is_used_and_variables_override_its_base_url() {
    let server = Server::start(created()).await;
    let home = config_home(&format!(
        "[mine]\naccess_token = \"{TOKEN}\"\nops_manager_url = \"https://cloud.example\"\n"
    ));
    let builder = discover(&home, &[("MONGODB_ATLAS_BASE_URL", &server.base_url)]).unwrap();
    create(&builder.build().unwrap()).await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}"))
    );
}

#[test]
fn credential_variables_win_and_the_file_is_not_read() {
    // The file is malformed: reading it would be an error.
    let home = config_home("[default\n");
    let builder = discover(&home, &[("MONGODB_ATLAS_ACCESS_TOKEN", TOKEN)]).unwrap();
    assert!(!format!("{builder:?}").contains("profile"), "{builder:?}");
    let message = refused(discover(&home, &[]));
    assert!(message.contains("config.toml, line 1"), "{message}");
}

#[cfg(not(any(windows, target_os = "macos")))]
#[test]
fn profiles_are_chosen_as_the_atlas_cli_chooses_them() {
    let two = format!(
        "[default]\naccess_token = \"a\"\n[other]\naccess_token = \"{TOKEN}\"\nservice = \"cloudgov\"\n"
    );
    let home = config_home(&two);
    let default = discover(&home, &[]).unwrap();
    assert!(format!("{default:?}").contains("profile `default`"));
    let other = discover(&home, &[("MONGODB_ATLAS_PROFILE", "Other")]).unwrap();
    let client = other.build().unwrap();
    assert_eq!(client.base_url(), "https://cloud.mongodbgov.com");
    let message = refused(discover(&home, &[("MONGODB_ATLAS_PROFILE", "missing")]));
    assert!(
        message.contains("no profile `missing` (it has: default, other)"),
        "{message}"
    );

    let file = home.join("atlascli/config.toml");
    let named = ClientBuilder::from_atlas_cli_file(&file, Some("OTHER")).unwrap();
    assert!(
        format!("{named:?}").contains("profile `other`"),
        "{named:?}"
    );
    let message = refused(ClientBuilder::from_atlas_cli_file(
        home.join("none.toml"),
        None,
    ));
    assert!(
        message.contains("there is no Atlas CLI configuration at"),
        "{message}"
    );
}

#[test]
fn a_missing_file_is_named_in_the_no_credentials_error() {
    let home = std::env::temp_dir().join("atlas-cli-profile-no-such-dir");
    let message = refused(discover(&home, &[]));
    assert!(
        message.starts_with("no credentials in the environment"),
        "{message}"
    );
    assert!(message.contains("atlas auth login"), "{message}");
    assert!(message.contains("atlascli"), "{message}");
}

#[cfg(not(any(windows, target_os = "macos")))]
#[test]
fn what_a_profile_cannot_give_is_refused_naming_the_key_never_the_value() {
    let cases: [(String, &str); 6] = [
        (
            format!("[default]\npublic_api_key = \"p\"\nx = \"{SECRET}\"\n"),
            "has `public_api_key` but no `private_api_key`",
        ),
        (
            "[default]\nauth_type = \"api_keys\"\npublic_api_key = \"p\"\n".into(),
            "system keyring",
        ),
        (
            "[default]\nauth_type = \"service_account\"\norg_id = \"o\"\n".into(),
            "names `auth_type` service_account but holds no such credential",
        ),
        (
            "[default]\nclient_id = 7\nclient_secret = \"s\"\n".into(),
            "`client_id` of the Atlas CLI's profile `default` of ",
        ),
        (
            format!("[default]\nprivate_api_key = \"{SECRET}\n"),
            "line 2: a string without its closing quote",
        ),
        (
            format!("[default]\nprivate_api_key = \"\"\"\n{SECRET}\n\"\"\"\n"),
            "line 2: a multi-line string",
        ),
    ];
    for (text, expected) in cases {
        let message = refused(discover(&config_home(&text), &[]));
        assert!(message.contains(expected), "{text:?}: {message}");
        assert!(message.contains("config.toml"), "names the file: {message}");
    }
}

#[cfg(not(any(windows, target_os = "macos")))]
#[test]
fn an_expired_login_names_the_profile_and_atlas_auth_login() {
    // {"alg":"none"} . {"sub":"a","exp":1700000000} (November 2023)
    let expired = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIiwiZXhwIjoxNzAwMDAwMDAwfQ.c2ln";
    let home = config_home(&format!(
        "[dev]\nauth_type = \"user_account\"\naccess_token = \"{expired}\"\nrefresh_token = \"{SECRET}\"\n"
    ));
    let message = refused(discover(&home, &[]));
    assert_no_secret(&message, &[expired], "the error");
    assert!(message.contains("profile `dev`"), "{message}");
    assert!(
        message.contains("expired at Tue, 14 Nov 2023 22:13:20 GMT"),
        "{message}"
    );
    assert!(
        message.contains("atlas auth login --profile dev"),
        "{message}"
    );

    // {"alg":"none"} . {"exp":4102444800} (2100): used as is.
    let current = "eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDB9.c2ln";
    let home = config_home(&format!("[dev]\naccess_token = \"{current}\"\n"));
    assert!(discover(&home, &[]).is_ok());
}

#[test]
fn a_file_over_a_mebibyte_is_not_read() {
    let padding = format!("# {}\n", "x".repeat(1023)).repeat(1025);
    let home = config_home(&format!("[default]\naccess_token = \"{TOKEN}\"\n{padding}"));
    let file = home.join("atlascli/config.toml");
    let message = refused(ClientBuilder::from_atlas_cli_file(&file, None));
    assert!(message.contains("larger than 1048576 bytes"), "{message}");
}

#[cfg(not(any(windows, target_os = "macos")))]
#[tokio::test]
async fn a_refused_profile_credential_is_named_with_what_to_do() {
    let refusal = crate::support::Reply::json(
        401,
        "application/json",
        r#"{"error":401,"errorCode":"NOT_ORG_GROUP_CREATOR","detail":"Unauthorized"}"#,
    );
    let server = Server::start(refusal).await;
    let home = config_home(&format!(
        "[mine]\naccess_token = \"{TOKEN}\"\nops_manager_url = \"{}\"\n",
        server.base_url
    ));
    let error = create(&discover(&home, &[]).unwrap().build().unwrap())
        .await
        .unwrap_err();
    let Error::Authentication(response) = &error else {
        panic!("not refused: {error:?}");
    };
    let note = response.note().expect("the refusal names the profile");
    assert!(
        note.contains("the access token of the Atlas CLI's profile `mine` of "),
        "{note}"
    );
    assert!(note.contains("`atlas auth login`"), "{note}");
    assert!(error.to_string().contains(note), "{error}");
    assert_no_secret(&format!("{error} {error:?}"), &[TOKEN], "the error");

    // An API key from a profile: named, without the advice for tokens.
    let home = config_home(&format!(
        "[keys]\npublic_api_key = \"someone\"\nprivate_api_key = \"{SECRET}\"\n\
         ops_manager_url = \"{}\"\n",
        server.base_url
    ));
    let error = create(&discover(&home, &[]).unwrap().build().unwrap())
        .await
        .unwrap_err();
    let note = error.response().and_then(|r| r.note()).unwrap_or_default();
    assert!(
        note.contains("; the credential of the Atlas CLI's profile `keys` of "),
        "{error}"
    );
    assert!(!note.contains("atlas auth login"), "{note}");
    assert_no_secret(&format!("{error} {error:?}"), &[SECRET], "the error");

    // The same refusal of a credential given in code names no profile.
    let error = create(&crate::support::bearer_client(&server.base_url))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Authentication(_)), "{error:?}");
    assert_eq!(error.response().and_then(|r| r.note()), None);
}
