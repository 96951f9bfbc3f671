//! `streams list`, `get`, `update` and `delete`: one operation each on the
//! connections that exist, at the target `create` would use.

use std::io::Write;

use atlas_stream_connections::Wait;
use futures_util::StreamExt as _;

use crate::args::{CreateArgs, DeleteArgs, GetArgs, ListArgs};
use crate::output::{self, printable};
use crate::target::Target;
use crate::{Failure, call_options, wanted_connection};

/// `streams list`: every connection of the instance, a page after the
/// other, printed as each arrives (a JSON array with `--json`).
pub async fn list(args: &ListArgs) -> Result<(), Failure> {
    let target = Target::new(&args.target).await?;
    let mut connections = std::pin::pin!(
        target
            .client
            .list_stream_connections(&target.project, &target.instance)
    );
    let mut count = 0usize;
    // A closed standard output (`| head`) ends the listing quietly: there
    // is no one left to tell.
    let print = |text: &str| writeln!(std::io::stdout(), "{text}").is_ok();
    // With --json, `[` goes out with the first element (or at the end):
    // a listing that fails at once leaves nothing on standard output.
    let mut opened = false;
    // With --json, each element is printed when the next arrives, since
    // only then is it known to need a comma.
    let mut pending: Option<String> = None;
    while let Some(connection) = connections.next().await {
        let connection = connection.map_err(Failure::from_call)?;
        count += 1;
        let text = match args.json {
            true => {
                let element = indented(&output::pretty_json(&connection).map_err(Failure::Usage)?);
                match pending.replace(element) {
                    Some(previous) => format!("{previous},"),
                    None => continue,
                }
            }
            false => output::list_line(&connection),
        };
        if args.json && !std::mem::replace(&mut opened, true) && !print("[") {
            return Ok(());
        }
        if !print(&text) {
            return Ok(());
        }
    }
    if args.json {
        if !opened && !print("[") {
            return Ok(());
        }
        if let Some(last) = pending {
            print(&last);
        }
        print("]");
    } else if count == 0 {
        eprintln!(
            "no connections in project {}, instance {}",
            target.project, target.instance
        );
    }
    Ok(())
}

/// `json`'s lines indented by two spaces, as an array's elements.
fn indented(json: &str) -> String {
    json.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `streams get <name>`.
pub async fn get(args: &GetArgs) -> Result<(), Failure> {
    let target = Target::new(&args.target).await?;
    let options = call_options(args.api_version.as_ref());
    let connection = target
        .client
        .get_stream_connection_with(&target.project, &target.instance, &args.name, &options)
        .await
        .map_err(Failure::from_call)?;
    output::print_connection(args.json, &target.project, &target.instance, &connection)
        .map_err(Failure::Usage)
}

/// `streams update`: the connection of the flags or the file replaces the
/// one of its name.
pub async fn update(args: &CreateArgs) -> Result<(), Failure> {
    let connection = wanted_connection(args)?;
    let name = connection.name().ok_or_else(|| {
        Failure::Usage("the connection has no `name`, which says which connection to update".into())
    })?;
    let target = Target::new(&args.target).await?;
    let options = call_options(args.api_version.as_ref());
    let updated = target
        .client
        .update_stream_connection_with(
            &target.project,
            &target.instance,
            &name,
            &connection,
            &options,
        )
        .await
        .map_err(Failure::from_call)?;
    output::print_answer(
        "updated",
        args.json,
        &target.project,
        &target.instance,
        &updated,
    )
    .map_err(Failure::Usage)
}

/// `streams delete <name>`: the deletion accepted, or, with `--wait`, done.
pub async fn delete(args: &DeleteArgs) -> Result<(), Failure> {
    let target = Target::new(&args.target).await?;
    let (project, instance, name) = (&target.project, &target.instance, &args.name);
    if args.wait {
        let wait = Wait::new().timeout(args.wait_timeout);
        target
            .client
            .delete_stream_connection_and_wait(project, instance, name, &wait)
            .await
    } else {
        target
            .client
            .delete_stream_connection(project, instance, name)
            .await
    }
    .map_err(Failure::from_call)?;
    let status = match args.wait {
        true => "deleted",
        false => "accepted",
    };
    let text = match (args.json, args.wait) {
        (true, _) => output::json_line(&serde_json::json!({"name": name, "status": status})),
        (false, true) => format!(
            "deleted connection `{}` in project {project}, instance {instance}",
            printable(name)
        ),
        (false, false) => format!(
            "deletion of connection `{}` in project {project}, instance {instance} accepted \
             (Atlas may finish it later; --wait waits until it is gone)",
            printable(name)
        ),
    };
    // Done whether or not standard output can still be written.
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(())
}
