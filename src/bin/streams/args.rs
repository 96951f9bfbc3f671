//! The command line, declared with clap's derive: each flag once, with its
//! help. clap gives `--version`, typo suggestions, `--name=value`, help per
//! command and usage errors (exit status 2); what clap cannot say (a flag
//! that does not apply to the chosen kind) is checked in [`CreateArgs::check_kind_flags`].

use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum, ValueHint};

/// The project and instance used when none is given, against the embedded
/// local Atlas.
pub const SAMPLE_PROJECT: &str = "32b6e34b3d91647abb20e7b8";
pub const SAMPLE_INSTANCE: &str = "sample-instance";

/// The variable the Atlas CLI reads for its default project, read here for
/// `--project` (and printed by `local-atlas`).
pub const PROJECT_VARIABLE: &str = "MONGODB_ATLAS_PROJECT_ID";
/// This command's own variable for `--instance` (the Atlas CLI has none).
pub const INSTANCE_VARIABLE: &str = "STREAMS_INSTANCE";

const EXIT_STATUS: &str = "\
Exit status:
  0  created
  2  usage error: bad flags, unreadable file, invalid JSON, bad credentials
     configuration
  3  Atlas answered with an error (validation, authentication, conflict,
     rate limit, ...)
  4  no usable answer: network error, timeout, unexpected response
  5  created, but the answer could not be read: do not run it again (the
     name is taken); look the connection up instead";

const WHERE_IT_GOES: &str = "\
With credentials in the environment, the way the Atlas CLI reads them
(MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET, or
MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY, or
MONGODB_ATLAS_ACCESS_TOKEN; MONGODB_ATLAS_BASE_URL to change the host), or
without them when logged in with the Atlas CLI (its profile:
MONGODB_ATLAS_PROFILE, else the only one, else default; said on standard
error), the connection is created in Atlas, and --project and --instance
are required. With neither, or with --local, an embedded local Atlas starts
on 127.0.0.1 (said on standard error) and the connection is created there,
in project
32b6e34b3d91647abb20e7b8, instance sample-instance, unless given.

The connection comes from a JSON file (the body of Atlas's Create One Stream
Connection: {\"type\": \"Kafka\", \"name\": ..., ...}), from standard input
with --file -, or from flags for the common kinds.

Secrets are never printed: not passwords, keys or tokens, and of free-form
maps (webhook headers, Kafka config) the names only. Passwords are never
flag values (the process list shows those): --password-env or
--password-file. Text from the server is printed with control characters
escaped.";

/// `streams`: create, read, update, delete and apply MongoDB Atlas Stream
/// Processing connections.
#[derive(Parser)]
#[command(
    name = "streams",
    version,
    about = "Manage MongoDB Atlas Stream Processing connections, in Atlas or in a local Atlas",
    propagate_version = true,
    after_help = "`streams <COMMAND> --help` says more of each command."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a connection, in Atlas (with MONGODB_ATLAS_* credentials or an
    /// Atlas CLI login) or in an embedded local Atlas
    #[command(after_long_help = format!("{WHERE_IT_GOES}\n\n{EXIT_STATUS}"))]
    Create(Box<CreateArgs>),
    /// List the connections of an instance (every page)
    #[command(after_long_help = format!("{TARGET_HELP}\n\n{LIST_HELP}\n\n{EXIT_STATUS_OPS}"))]
    List(ListArgs),
    /// Show one connection (write-only fields are never returned)
    #[command(after_long_help = format!("{TARGET_HELP}\n\n{EXIT_STATUS_OPS}"))]
    Get(GetArgs),
    /// Replace a connection with the one the flags or --file describe (by
    /// its name)
    #[command(after_long_help = format!("{TARGET_HELP}\n\n{UPDATE_HELP}\n\n{EXIT_STATUS_OPS}"))]
    Update(Box<CreateArgs>),
    /// Delete a connection (--wait: until it is gone)
    #[command(after_long_help = format!("{TARGET_HELP}\n\n{DELETE_HELP}\n\n{EXIT_STATUS_OPS}"))]
    Delete(DeleteArgs),
    /// Make an instance hold the connections of a JSON file: create what is
    /// missing, update what differs, leave the rest
    #[command(after_long_help = format!("{TARGET_HELP}\n\n{APPLY_HELP}\n\n{EXIT_STATUS_APPLY}"))]
    Apply(ApplyArgs),
    /// Run the local Atlas as a server on 127.0.0.1 until stopped, printing
    /// its address and throwaway credentials
    #[command(after_long_help = LOCAL_ATLAS_HELP)]
    LocalAtlas(LocalAtlasArgs),
    /// Print a completion script for a shell
    #[command(
        after_help = "For example: streams completions bash > ~/.local/share/bash-completion/completions/streams"
    )]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const JSON_HELP: &str =
    "Print the connection Atlas returns as JSON (free-form maps' values shown as [redacted])";

/// Where a command's calls go: the same flags for every command.
#[derive(Args)]
pub struct TargetArgs {
    /// Project id (the API's groupId): 24 lowercase hexadecimal digits
    #[arg(long, value_name = "ID", env = PROJECT_VARIABLE, hide_env_values = true)]
    pub project: Option<String>,
    /// Stream processing instance name (the API's tenantName)
    #[arg(long, value_name = "NAME", env = INSTANCE_VARIABLE, hide_env_values = true)]
    pub instance: Option<String>,
    /// Use an embedded local Atlas (started for this command alone), even
    /// with credentials or an Atlas CLI login
    #[arg(long)]
    pub local: bool,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print a JSON array of the connections (free-form maps' values shown
    /// as "[redacted]")
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct GetArgs {
    /// The connection's name
    pub name: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Pin the API version (YYYY-MM-DD)
    #[arg(long, value_name = "DATE")]
    pub api_version: Option<String>,
    #[arg(long, help = JSON_HELP)]
    pub json: bool,
}

#[derive(Args)]
pub struct DeleteArgs {
    /// The connection's name
    pub name: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Wait until the connection is gone (Atlas may finish a deletion
    /// later); a connection that does not exist is then no error
    #[arg(long)]
    pub wait: bool,
    /// With --wait: the longest wait (30s, 10m, 1h; a bare number is
    /// seconds)
    #[arg(long, value_name = "DURATION", requires = "wait", value_parser = parse_duration, default_value = "20m")]
    pub wait_timeout: Duration,
    /// Print {"name": ..., "status": "deleted" | "accepted"}
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ApplyArgs {
    /// A JSON file: one connection object, or an array of them; - reads
    /// standard input
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub file: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Only compare: say what would be created or updated, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also update existing connections whose only possible difference is
    /// a write-only field (a password), which Atlas never returns to compare
    #[arg(long)]
    pub update_secrets: bool,
    /// How many connections are applied at a time
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Do not wait for each connection to be READY
    #[arg(long)]
    pub no_wait: bool,
    /// The longest wait for each connection to be READY (30s, 10m, 1h; a
    /// bare number is seconds)
    #[arg(long, value_name = "DURATION", conflicts_with = "no_wait", value_parser = parse_duration, default_value = "20m")]
    pub wait_timeout: Duration,
    /// Print one JSON object per connection, a line each, as each is done
    #[arg(long)]
    pub json: bool,
}

/// A duration as people write it: `30s`, `10m`, `1h`, `1h30m`, or a bare
/// number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration (30s, 10m, 1h, 1h30m, or seconds)");
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map(Duration::from_secs).map_err(|_| bad());
    }
    let (mut total, mut number) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let value: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total = value
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    match number.is_empty() && !text.is_empty() {
        true => Ok(Duration::from_secs(total)),
        false => Err(bad()),
    }
}

const TARGET_HELP: &str = "\
The target is chosen as for `streams create` (see `streams create --help`):
Atlas with MONGODB_ATLAS_* credentials or an Atlas CLI login (then --project
and --instance are required), else, or with --local, an embedded local Atlas
started for this one command, empty but for what the command itself does.
To run several commands against one local Atlas, start `streams local-atlas`
and export what it prints.";

const LIST_HELP: &str = "\
One line per connection: its name, kind and state (when Atlas reports one).
With --json, a JSON array of the connections as Atlas returns them.";

const UPDATE_HELP: &str = "\
The connection is built as for `streams create` (flags of one kind, or
--file), and its name says which connection to replace. Atlas takes the
whole connection, not a patch: fields left out may be reset. Passwords are
sent only when given (--password-env, --password-file, or in the file).";

const DELETE_HELP: &str = "\
Atlas accepts a deletion and may finish it later (the connection is then
DELETING). --wait sends the deletion again while Atlas is still deploying the
connection, then waits until it is gone.";

const APPLY_HELP: &str = r#"The file holds one connection, or an array of connections, each as for
`streams create --file` (the body of Create One Stream Connection), each
with a name. For each, by name: one that does not exist is created, one
that differs in a field the file sets is updated, one that matches is left
alone; then (unless --no-wait) apply waits until Atlas reports it READY.
Connections Atlas holds that the file does not name are left alone.

Write-only fields (passwords) cannot be compared, since Atlas never returns
them: they are sent with a create, and with an update made for another
difference. --update-secrets updates every existing connection that sets
one, so that a changed password reaches Atlas.

Output: a line per connection as it is done, in no particular order,
  created|updated|unchanged <name> [<state>]
with the fields that differ below it (secrets shown as "[redacted]"):
  authentication.username: "a" -> "b"
and "secrets sent" when write-only fields went with the create or update;
then a summary line with the counts and the number of 429 (rate limit)
answers absorbed. --dry-run says "would create" and "would update" instead.
Throttled calls are waited out, not failures.

With --json, one JSON object a line per connection, as each is done:
  {"name": "events", "action": "created" | "updated" | "unchanged",
   "dryRun": false, "secretsSent": true, "state": "READY",
   "changes": [{"field": "bootstrapServers", "stored": "a:9092",
                "wanted": "b:9092"}],
   "throttled": 0}
"stored" is absent when Atlas holds no such field, "state" when Atlas
reports none; a connection that failed has "error" (and "status", the HTTP
status, when Atlas answered) instead of "action". No summary line: the
exit status says whether any failed.

On a terminal, standard error shows the progress (applied 37/200, 3
throttled)."#;

const EXIT_STATUS_OPS: &str = "\
Exit status:
  0  done
  2  usage error: bad flags, unreadable file, invalid JSON, bad credentials
     configuration
  3  Atlas answered with an error (not found, validation, authentication,
     rate limit, ...)
  4  no usable answer: network error, timeout, unexpected response";

const EXIT_STATUS_APPLY: &str = "\
Exit status:
  0  every connection was applied (or, with --dry-run, compared)
  2  usage error: bad flags, unreadable or invalid file (the error names
     the JSON path at fault, never a value), a connection without a name,
     two with the same name, bad credentials configuration
  3  some connections failed: Atlas refused them, or they did not become
     READY in time (each is listed on standard error)
  4  some connections got no usable answer (network error, timeout)";

/// The kinds flags can build; others come from a file.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    Sample,
    Kafka,
    Cluster,
    Https,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sample => "sample",
            Kind::Kafka => "kafka",
            Kind::Cluster => "cluster",
            Kind::Https => "https",
        }
    }
}

#[derive(Args)]
#[command(group(ArgGroup::new("source").required(true).args(["file", "kind"])))]
pub struct CreateArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The connection as JSON; - reads standard input
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub file: Option<String>,
    /// Build the connection from flags instead (other kinds: --file)
    #[arg(long, value_enum, requires = "name")]
    pub kind: Option<Kind>,
    /// Connection name (with --kind)
    #[arg(long, requires = "kind")]
    pub name: Option<String>,
    /// Pin the API version (YYYY-MM-DD; a later date gets the newest
    /// version not after it)
    #[arg(long, value_name = "DATE")]
    pub api_version: Option<String>,
    // Not a doc comment: rustdoc would read `[redacted]` as a link.
    #[arg(long, help = JSON_HELP)]
    pub json: bool,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// cluster: the Atlas cluster to connect to
    #[arg(long, value_name = "NAME", help_heading = "Cluster")]
    pub cluster: Option<String>,
    /// https: the endpoint
    #[arg(long, value_name = "URL", help_heading = "Https")]
    pub url: Option<String>,
    /// Refused: a password given as a flag shows in the process list
    #[arg(long, hide = true, num_args = 0..=1, value_name = "PASSWORD")]
    pub password: Option<Option<String>>,
}

/// The flags of `--kind kafka`.
#[derive(Args)]
#[command(next_help_heading = "Kafka")]
pub struct KafkaArgs {
    /// kafka: comma-separated broker addresses
    #[arg(long, value_name = "LIST")]
    pub bootstrap_servers: Option<String>,
    /// kafka: transport (security.protocol): SASL_SSL, SASL_PLAINTEXT or SSL
    #[arg(long, value_name = "PROTOCOL")]
    pub protocol: Option<String>,
    /// kafka: a PEM file of the broker's public certificate, to trust over
    /// SSL (security.brokerPublicCertificate)
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub broker_certificate: Option<String>,
    /// kafka: SASL mechanism: PLAIN, SCRAM-256, SCRAM-512 or OAUTHBEARER
    #[arg(long, value_name = "NAME")]
    pub mechanism: Option<String>,
    /// kafka: SASL user name
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    /// kafka: read the SASL password from this environment variable
    #[arg(long, value_name = "VAR", group = "kafka_password", value_hint = ValueHint::Other)]
    pub password_env: Option<String>,
    /// kafka: read the SASL password from this file (- for standard input);
    /// one trailing newline is dropped
    #[arg(long, value_name = "PATH", group = "kafka_password", value_hint = ValueHint::FilePath)]
    pub password_file: Option<String>,
}

impl CreateArgs {
    /// The flags given that belong to a kind other than `--kind`'s: an
    /// error naming the first, the kind, and the kind it is for.
    pub fn check_kind_flags(&self) -> Result<(), String> {
        let Some(kind) = self.kind else {
            return Ok(());
        };
        let k = &self.kafka;
        let given = [
            (
                "--bootstrap-servers",
                Kind::Kafka,
                k.bootstrap_servers.is_some(),
            ),
            ("--protocol", Kind::Kafka, k.protocol.is_some()),
            (
                "--broker-certificate",
                Kind::Kafka,
                k.broker_certificate.is_some(),
            ),
            ("--mechanism", Kind::Kafka, k.mechanism.is_some()),
            ("--username", Kind::Kafka, k.username.is_some()),
            ("--password-env", Kind::Kafka, k.password_env.is_some()),
            ("--password-file", Kind::Kafka, k.password_file.is_some()),
            ("--cluster", Kind::Cluster, self.cluster.is_some()),
            ("--url", Kind::Https, self.url.is_some()),
        ];
        match given.iter().find(|(_, of, set)| *set && *of != kind) {
            Some((flag, of, _)) => Err(format!(
                "{flag} does not apply to --kind {} (it is a flag of --kind {})",
                kind.name(),
                of.name()
            )),
            None => Ok(()),
        }
    }

    /// The kind flags given with `--file`, which describes the whole
    /// connection: an error naming the first.
    pub fn check_file_alone(&self) -> Result<(), String> {
        if self.file.is_none() {
            return Ok(());
        }
        let k = &self.kafka;
        let kind_flags = [
            ("--bootstrap-servers", k.bootstrap_servers.is_some()),
            ("--protocol", k.protocol.is_some()),
            ("--broker-certificate", k.broker_certificate.is_some()),
            ("--mechanism", k.mechanism.is_some()),
            ("--username", k.username.is_some()),
            ("--password-env", k.password_env.is_some()),
            ("--password-file", k.password_file.is_some()),
            ("--cluster", self.cluster.is_some()),
            ("--url", self.url.is_some()),
        ];
        match kind_flags.iter().find(|(_, set)| *set) {
            Some((flag, _)) => Err(format!(
                "{flag} cannot be used with --file (the file holds the whole connection); \
                 use it with --kind"
            )),
            None => Ok(()),
        }
    }
}

const LOCAL_ATLAS_HELP: &str = "\
Prints, on standard output, lines NAME=value that a shell can source and
that Client::from_env and `streams create` read, between comment lines:

  # streams local-atlas ...
  MONGODB_ATLAS_BASE_URL=http://127.0.0.1:<port>
  MONGODB_ATLAS_PROJECT_ID=<project>
  STREAMS_INSTANCE=<instance>
  MONGODB_ATLAS_PUBLIC_API_KEY=<public key>      (API key: HTTP Digest)
  MONGODB_ATLAS_PRIVATE_API_KEY=<private key>
  MONGODB_ATLAS_CLIENT_ID=<client id>            (service account: POST
  MONGODB_ATLAS_CLIENT_SECRET=<client secret>     /api/oauth/token)
  # ready

The line `# ready` comes last, once the server accepts connections.
Client::from_env takes exactly one credential: --credentials api-key or
--credentials service-account prints only that one.

The credentials are throwaway: random for this run, valid only against this
server, which holds nothing but what it is sent and forgets it when it
stops. It listens on 127.0.0.1 only, and serves until interrupted (Ctrl-C,
SIGTERM) or, unless --ignore-stdin, until its standard input closes (so a
program that started it through a pipe cannot leave it behind).

The server is the crate's local Atlas: the connections resource (create,
list, get, update, delete) validated against the spec, with deployment
states and, with --rate-limit, Atlas's token-bucket rate limit (429 with
Retry-After), Digest and service-account authentication, API versions
resolved as Atlas resolves them (Accept: application/vnd.atlas.2025-03-12+json
is served by the newest version not after that date).";

/// Which credentials `local-atlas` prints.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Printed {
    /// The API key and the service account
    All,
    /// The API key only (HTTP Digest)
    ApiKey,
    /// The service account only (OAuth client credentials)
    ServiceAccount,
}

#[derive(Args)]
pub struct LocalAtlasArgs {
    /// Declare this project's instance (with --instance); without, every
    /// project and instance exists
    #[arg(long, value_name = "ID", requires = "instance")]
    pub project: Option<String>,
    /// Declare this instance (in --project, or the sample project); once
    /// one is declared, others are 404
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// The port on 127.0.0.1 (0: a free one, printed)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Which credentials to print
    #[arg(long, value_enum, default_value = "all")]
    pub credentials: Printed,
    /// Keep serving when standard input closes (to run it in the
    /// background, where standard input is often /dev/null)
    #[arg(long)]
    pub ignore_stdin: bool,
    /// Limit requests per project as Atlas does, with a token bucket:
    /// CAPACITY,REFILL,SECONDS (`100,10,1`: 100 at once, then 10 a second)
    #[arg(long, value_name = "CAPACITY,REFILL,SECONDS", value_parser = rate_limit)]
    pub rate_limit: Option<(u32, u32, u64)>,
}

/// `--rate-limit`'s value: three positive numbers.
fn rate_limit(value: &str) -> Result<(u32, u32, u64), String> {
    let numbers: Vec<&str> = value.split(',').collect();
    let [capacity, refill, seconds] = numbers[..] else {
        return Err("three numbers: CAPACITY,REFILL,SECONDS".into());
    };
    let positive = |what: &str, text: &str| -> Result<u64, String> {
        text.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{what} must be a positive whole number"))
    };
    let small = |what: &str, n: u64| u32::try_from(n).map_err(|_| format!("{what} is too large"));
    let capacity = small("CAPACITY", positive("CAPACITY", capacity)?)?;
    let refill = small("REFILL", positive("REFILL", refill)?)?;
    Ok((capacity, refill, positive("SECONDS", seconds)?))
}
