//! `streams`: create, list, read, update, delete and apply Atlas Stream
//! Processing connections from the command line, against Atlas (with
//! `MONGODB_ATLAS_*` credentials in the environment) or, without any,
//! against the crate's embedded local Atlas; or run that local Atlas as a
//! server for other clients.
//!
//! `cargo run --features cli --bin streams -- --help` says everything; the
//! exit status tells usage errors (2), errors Atlas answered with (3) and
//! requests that got no usable answer (4) apart. The binary needs the `cli`
//! feature, so library users never compile it, nor clap.
//!
//! Modules, one concern each: [`args`] (the command line), [`connection`]
//! (the connections to send), [`target`] (where they go), [`ops`] (`list`,
//! `get`, `update`, `delete`), [`apply`] (`streams apply`), [`output`]
//! (what is printed), [`serve`] (`streams local-atlas`).

mod apply;
mod args;
mod connection;
mod ops;
mod output;
mod serve;
mod target;

use std::io::Write;
use std::process::ExitCode;

use atlas_stream_connections::types::StreamsConnection;
use atlas_stream_connections::{CallOptions, Error};
use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command, CreateArgs};
use crate::output::printable;
use crate::target::Target;

/// Why the program stops, with its exit status.
enum Failure {
    Usage(String),
    /// Atlas answered with a success status, so the connection exists, but
    /// the answer could not be read.
    Created(Error),
    /// The embedded Atlas could not start (no loopback socket): like a
    /// network failure, not the user's doing.
    Local(String),
    Api(Error),
    Transport(Error),
    /// What failed was said already (`apply`'s connections): only the
    /// exit status is left.
    Reported(u8),
}

impl Failure {
    fn from_client(error: Error) -> Self {
        if error.server_succeeded().is_some() {
            return Failure::Created(error);
        }
        match &error {
            Error::InvalidInput { .. } | Error::Configuration { .. } => {
                Failure::Usage(error.to_string())
            }
            Error::Api(_)
            | Error::Authentication(_)
            | Error::RateLimited(_)
            | Error::VersionGone(_) => Failure::Api(error),
            _ => Failure::Transport(error),
        }
    }

    /// As [`from_client`](Self::from_client), for a call other than a
    /// create: an answer that could not be read is no sign of a name now
    /// taken, and the call can be made again.
    fn from_call(error: Error) -> Self {
        match Self::from_client(error) {
            Failure::Created(error) => Failure::Transport(error),
            failure => failure,
        }
    }
}

/// The connection the flags or the file describe, for `create` and
/// `update`.
fn wanted_connection(args: &CreateArgs) -> Result<StreamsConnection, Failure> {
    if args.password.is_some() {
        return Err(Failure::Usage(
            "--password is not accepted (it would show in the process list); \
             use --password-env <VAR> or --password-file <PATH>"
                .into(),
        ));
    }
    args.check_kind_flags().map_err(Failure::Usage)?;
    args.check_file_alone().map_err(Failure::Usage)?;
    connection::connection(args).map_err(Failure::Usage)
}

/// The per-call options of `--api-version`.
fn call_options(api_version: Option<&String>) -> CallOptions {
    match api_version {
        Some(version) => CallOptions::new().api_version(version.clone()),
        None => CallOptions::new(),
    }
}

/// `streams create`: builds the connection, sends it, prints the answer.
async fn create(args: &CreateArgs) -> Result<(), Failure> {
    let connection = wanted_connection(args)?;
    let target = Target::new(&args.target).await?;
    let options = call_options(args.api_version.as_ref());
    let created = target
        .client
        .create_stream_connection_with(&target.project, &target.instance, &connection, &options)
        .await
        .map_err(Failure::from_client)?;
    output::print_answer(
        "created",
        args.json,
        &target.project,
        &target.instance,
        &created,
    )
    .map_err(Failure::Usage)
}

/// `streams completions <shell>`: the script, on standard output.
fn completions(shell: clap_complete::Shell) {
    // Made in memory first: clap_complete panics when its writer fails,
    // and standard output may be a closed pipe (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "streams", &mut script);
    let _ = std::io::stdout().write_all(&script);
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // clap prints help and `--version` on standard output (exit 0) and
    // usage errors, with suggestions, on standard error (exit 2).
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Create(args) => create(args).await,
        Command::List(args) => ops::list(args).await,
        Command::Get(args) => ops::get(args).await,
        Command::Update(args) => ops::update(args).await,
        Command::Delete(args) => ops::delete(args).await,
        Command::Apply(args) => apply::apply(args).await,
        Command::LocalAtlas(args) => serve::serve(args).await,
        Command::Completions { shell } => {
            completions(*shell);
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(failure),
    }
}

/// `error`'s message, followed by the causes its message does not already
/// say (`error sending request: client error (Connect): Connection refused`):
/// what failed at the socket is in the innermost. Causes are reqwest's,
/// hyper's and the system's, which hold no secret (the URL is removed,
/// and it holds no credential).
fn with_causes(error: &Error) -> String {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        let text = error.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = error.source();
    }
    message
}

/// Says on standard error why the program stops, and what to do about a
/// connection that may exist; the exit status for it.
fn report(failure: Failure) -> ExitCode {
    let message = match &failure {
        Failure::Reported(status) => return ExitCode::from(*status),
        Failure::Usage(message) | Failure::Local(message) => message.clone(),
        Failure::Created(error) | Failure::Api(error) | Failure::Transport(error) => {
            with_causes(error)
        }
    };
    eprintln!("error: {}", printable(&message));
    match failure {
        Failure::Usage(_) => {
            eprintln!("\nFor more information, try '--help'.");
            ExitCode::from(2)
        }
        Failure::Created(_) => {
            eprintln!(
                "  the connection was created: do not run this again (the name is taken); \
                 look it up in Atlas instead"
            );
            ExitCode::from(5)
        }
        Failure::Api(error) => {
            print_field_violations(&error, "  ");
            ExitCode::from(3)
        }
        Failure::Reported(status) => ExitCode::from(status),
        Failure::Local(_) => ExitCode::from(4),
        Failure::Transport(error) => {
            if target::may_have_arrived(&error) {
                eprintln!(
                    "  the request may have reached Atlas: check whether the connection exists \
                     before running this again"
                );
            }
            ExitCode::from(4)
        }
    }
}

/// The fields Atlas said are at fault, one a line, after `indent`.
fn print_field_violations(error: &Error, indent: &str) {
    let Some(response) = error.response() else {
        return;
    };
    // Read from the wire form: the members' Rust types follow the spec,
    // which may make one optional.
    for field in response.bad_request_fields() {
        let wire = serde_json::to_value(field).unwrap_or_default();
        let text = |name: &str| wire[name].as_str().unwrap_or("").to_owned();
        eprintln!(
            "{indent}{}: {}",
            printable(&text("field")),
            printable(&text("description"))
        );
    }
}
