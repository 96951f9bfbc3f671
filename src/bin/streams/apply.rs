//! `streams apply --file <path>`: the library's apply, with a line per
//! connection as each is done, a summary, and progress on a terminal.

use std::io::{IsTerminal, Write};

use atlas_stream_connections::apply::{Action, Applied, ApplyOptions, ApplyOutcome};
use atlas_stream_connections::{Error, Wait};
use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::args::ApplyArgs;
use crate::output::{json_line, printable};
use crate::target::Target;
use crate::{Failure, connection, print_field_violations, with_causes};

/// Applies the file's connections and reports each outcome; fails (after
/// listing them) when any connection failed.
pub async fn apply(args: &ApplyArgs) -> Result<(), Failure> {
    let connections = connection::many_from_file(&args.file).map_err(Failure::Usage)?;
    let target = Target::new(&args.target).await?;
    let wait = (!args.no_wait).then(|| Wait::new().timeout(args.wait_timeout));
    let options = ApplyOptions::new()
        .dry_run(args.dry_run)
        .update_secrets(args.update_secrets)
        .concurrency(usize::from(args.concurrency))
        .wait(wait);
    let total = connections.len();
    let outcomes = target
        .client
        .apply_stream_connections(&target.project, &target.instance, connections, &options)
        .map_err(|error| match error {
            // A connection without a name, two of the same: the file's.
            Error::InvalidInput {
                parameter: "connections" | "name",
                ..
            } => Failure::Usage(format!("{}: {error}", args.file)),
            error => Failure::from_client(error),
        })?;
    let mut outcomes = std::pin::pin!(outcomes);
    let mut progress = Progress::new(total);
    let mut tally = Tally::default();
    let mut failed = Vec::new();
    while let Some(outcome) = outcomes.next().await {
        tally.add(&outcome);
        let text = match args.json {
            true => json_line(&outcome_json(&outcome)),
            false => outcome_text(&outcome),
        };
        progress.clear();
        // Standard output may be closed (`| head`): the apply goes on, and
        // the exit status still tells.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
        drop(out);
        progress.show(tally.done(), tally.throttled);
        if let Err(error) = outcome.result {
            failed.push((outcome.name, error));
        }
    }
    progress.clear();
    if !args.json {
        let _ = writeln!(std::io::stdout(), "{}", tally.summary(args.dry_run));
    }
    if failed.is_empty() {
        return Ok(());
    }
    eprintln!("error: {} of {total} connections failed:", failed.len());
    let mut status = 3;
    for (name, error) in &failed {
        eprintln!("  {}: {}", printable(name), printable(&with_causes(error)));
        print_field_violations(error, "    ");
        // A connection that did not become READY got its answers.
        let no_answer = !matches!(error, Error::State(_))
            && matches!(
                Failure::from_client(error.clone()),
                Failure::Transport(_) | Failure::Created(_)
            );
        if no_answer {
            status = 4;
        }
    }
    Err(Failure::Reported(status))
}

/// What the outcomes so far add up to.
#[derive(Default)]
struct Tally {
    created: usize,
    updated: usize,
    unchanged: usize,
    failed: usize,
    /// The `429` answers waited out, over every connection.
    throttled: u64,
}

impl Tally {
    fn add(&mut self, outcome: &ApplyOutcome) {
        self.throttled += u64::from(outcome.throttled);
        match &outcome.result {
            Ok(applied) => match applied.action {
                Action::Created => self.created += 1,
                Action::Updated => self.updated += 1,
                // A later version's actions count as no change.
                _ => self.unchanged += 1,
            },
            Err(_) => self.failed += 1,
        }
    }

    fn done(&self) -> usize {
        self.created + self.updated + self.unchanged + self.failed
    }

    fn summary(&self, dry_run: bool) -> String {
        let counts = match dry_run {
            true => format!(
                "dry run, nothing changed: {} to create, {} to update, {} unchanged, {} failed",
                self.created, self.updated, self.unchanged, self.failed
            ),
            false => format!(
                "{} created, {} updated, {} unchanged, {} failed",
                self.created, self.updated, self.unchanged, self.failed
            ),
        };
        format!(
            "{counts}; {} rate-limited (429) answers waited out",
            self.throttled
        )
    }
}

/// The line of a connection done, and below it the fields that differ
/// (their values as the library redacts them).
fn outcome_text(outcome: &ApplyOutcome) -> String {
    let name = printable(&outcome.name);
    let applied = match &outcome.result {
        Ok(applied) => applied,
        Err(_) => return format!("failed {name}"),
    };
    let verb = match (applied.dry_run, applied.action) {
        (true, Action::Created) => "would create",
        (true, Action::Updated) => "would update",
        (_, action) => action.as_str(),
    };
    let mut text = format!("{verb} {name}");
    if let Some(state) = applied.state() {
        text.push(' ');
        text.push_str(&printable(state.as_str()));
    }
    if applied.secrets_sent {
        text.push_str(match applied.dry_run {
            true => "\n  secrets would be sent (write-only: never shown)",
            false => "\n  secrets sent (write-only: never shown)",
        });
    }
    for change in &applied.changes {
        let line = match applied.action {
            // Every field of a new connection is a change: its name and
            // kind are no news.
            Action::Created if matches!(change.field.as_str(), "name" | "type") => continue,
            Action::Created => format!("{}: {}", change.field, change.wanted),
            _ => change.to_string(),
        };
        text.push_str("\n  ");
        text.push_str(&printable(&line));
    }
    text
}

/// A connection's outcome as one JSON object (documented in `streams
/// apply --help`).
fn outcome_json(outcome: &ApplyOutcome) -> Value {
    let mut object = json!({ "name": outcome.name });
    match &outcome.result {
        Ok(applied) => applied_json(applied, &mut object),
        Err(error) => error_json(error, &mut object),
    }
    object["throttled"] = json!(outcome.throttled);
    object
}

fn applied_json(applied: &Applied, object: &mut Value) {
    object["action"] = json!(applied.action.as_str());
    object["dryRun"] = json!(applied.dry_run);
    object["secretsSent"] = json!(applied.secrets_sent);
    if let Some(state) = applied.state() {
        object["state"] = json!(state.as_str());
    }
    let changes: Vec<Value> = applied
        .changes
        .iter()
        .map(|change| {
            let mut shown = json!({ "field": change.field, "wanted": change.wanted });
            if let Some(stored) = &change.stored {
                shown["stored"] = stored.clone();
            }
            shown
        })
        .collect();
    object["changes"] = Value::Array(changes);
}

fn error_json(error: &Error, object: &mut Value) {
    object["error"] = json!(with_causes(error));
    if let Some(status) = error.status() {
        object["status"] = json!(status.as_u16());
    }
}

/// The progress line on standard error, when it is a terminal: redrawn
/// as each outcome arrives, cleared before anything else is printed.
struct Progress {
    total: usize,
    shown: bool,
    terminal: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self {
            total,
            shown: false,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, done: usize, throttled: u64) {
        if !self.terminal || done >= self.total {
            return;
        }
        // `\r` and "erase line": the line is redrawn in place.
        eprint!(
            "\r\x1b[2Kapplied {done}/{}, {throttled} throttled",
            self.total
        );
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }
}
