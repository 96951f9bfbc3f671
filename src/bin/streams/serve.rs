//! `streams local-atlas`: the crate's local Atlas as a server of its own,
//! for clients this crate did not write (the Atlas CLI, MongoDB's
//! TypeScript client, curl). It prints its address and throwaway
//! credentials as `NAME=value` lines and serves until stopped.

use std::io::Write;
use std::time::Duration;

use atlas_stream_connections::local_atlas::LocalAtlas;

use crate::Failure;
use crate::args::{
    INSTANCE_VARIABLE, LocalAtlasArgs, PROJECT_VARIABLE, Printed, SAMPLE_INSTANCE, SAMPLE_PROJECT,
};

/// The line that ends what is printed: the server accepts connections.
const READY: &str = "# ready";

/// Starts the local Atlas, prints how to reach it, and serves until
/// stopped.
pub async fn serve(args: &LocalAtlasArgs) -> Result<(), Failure> {
    let project = args.project.as_deref().unwrap_or(SAMPLE_PROJECT);
    let instance = args.instance.as_deref().unwrap_or(SAMPLE_INSTANCE);
    if let Some(bad) = [("--project", project), ("--instance", instance)]
        .into_iter()
        .find(|(_, value)| !shell_safe(value))
    {
        return Err(Failure::Usage(format!(
            "{}: only letters, digits, `.`, `_` and `-` (it is printed as NAME=value)",
            bad.0
        )));
    }
    let mut builder = LocalAtlas::builder().port(args.port);
    if let Some((capacity, refill, seconds)) = args.rate_limit {
        builder = builder.rate_limit(capacity, refill, Duration::from_secs(seconds));
    }
    if args.instance.is_some() {
        builder = builder.instance(project, instance);
    }
    let atlas = builder
        .start()
        .await
        .map_err(|e| Failure::Local(format!("cannot start the local Atlas: {e}")))?;
    print_variables(&atlas, project, instance, args.credentials)
        .map_err(|e| Failure::Local(format!("cannot write to standard output: {e}")))?;
    let why = stopped(args.ignore_stdin).await;
    eprintln!("local Atlas at {} stopped: {why}", atlas.base_url());
    Ok(())
}

/// Whether `value` can be printed after `NAME=` and sourced by a shell as
/// it is.
fn shell_safe(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Prints the base URL, the project, the instance and the credentials
/// `printed` says, as `NAME=value` lines under the names
/// `Client::from_env` reads, then [`READY`].
fn print_variables(
    atlas: &LocalAtlas,
    project: &str,
    instance: &str,
    printed: Printed,
) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# streams local-atlas: an Atlas double on 127.0.0.1; throwaway credentials, \
         valid only against it while it runs"
    )?;
    writeln!(out, "MONGODB_ATLAS_BASE_URL={}", atlas.base_url())?;
    writeln!(out, "{PROJECT_VARIABLE}={project}")?;
    writeln!(out, "{INSTANCE_VARIABLE}={instance}")?;
    if printed != Printed::ServiceAccount {
        let (public, private) = atlas.api_key();
        writeln!(out, "MONGODB_ATLAS_PUBLIC_API_KEY={public}")?;
        writeln!(
            out,
            "MONGODB_ATLAS_PRIVATE_API_KEY={}",
            private.expose_secret()
        )?;
    }
    if printed != Printed::ApiKey {
        let (id, secret) = atlas.service_account();
        writeln!(out, "MONGODB_ATLAS_CLIENT_ID={id}")?;
        writeln!(
            out,
            "MONGODB_ATLAS_CLIENT_SECRET={}",
            secret.expose_secret()
        )?;
    }
    writeln!(out, "{READY}")?;
    out.flush()
}

/// Waits for the signal to stop: Ctrl-C (SIGINT), SIGTERM, or standard
/// input closing (unless `ignore_stdin`); says which.
async fn stopped(ignore_stdin: bool) -> &'static str {
    let (eof_tx, eof_rx) = tokio::sync::oneshot::channel();
    if !ignore_stdin {
        // A thread of its own: reading standard input blocks, and the
        // runtime has one thread. What is read is discarded.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            let _ = eof_tx.send(());
        });
    }
    let stdin_closed = async {
        match eof_rx.await {
            Ok(()) => {}
            // Not watching standard input: wait for a signal only.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = terminated() => "terminated",
        () = stdin_closed => "standard input closed",
    }
}

/// SIGTERM, where there is such a thing.
async fn terminated() {
    #[cfg(unix)]
    if let Ok(mut signal) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        signal.recv().await;
        return;
    }
    std::future::pending::<()>().await
}
