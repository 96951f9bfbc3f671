//! `streams`: create an Atlas Stream Processing connection from the command
//! line, against Atlas (with `MONGODB_ATLAS_*` credentials in the
//! environment) or, without any, against the crate's embedded local Atlas.
//!
//! `cargo run --features local-atlas --bin streams -- --help` says
//! everything; the exit status tells usage errors (2), errors Atlas answered
//! with (3) and requests that got no usable answer (4) apart. The binary
//! needs the `local-atlas` feature, so library users never compile it.

use std::io::Read;
use std::io::Write;
use std::process::ExitCode;

use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::types::{
    StreamsClusterConnection, StreamsConnection, StreamsHttpsConnection,
    StreamsKafkaAuthentication, StreamsKafkaConnection, StreamsSampleConnection,
};
use atlas_stream_connections::{
    ApiResponse, BASE_URL_VARIABLES, CREDENTIAL_VARIABLES, CallOptions, Client, ClientBuilder,
    Error, SecretString,
};

const SAMPLE_PROJECT: &str = "32b6e34b3d91647abb20e7b8";
const SAMPLE_INSTANCE: &str = "sample-instance";

const HELP: &str = "\
streams: create MongoDB Atlas Stream Processing connections

USAGE:
    streams create [OPTIONS] (--file <PATH> | --kind <KIND> --name <NAME> ...)

The connection comes from a JSON file (the body of Atlas's Create One Stream
Connection: {\"type\": \"Kafka\", \"name\": ..., ...}), from standard input with
--file -, or from flags for the common kinds.

OPTIONS:
    --project <ID>             Project id (the API's groupId): 24 lowercase
                               hexadecimal digits
    --instance <NAME>          Stream processing instance name (the API's
                               tenantName)
    --file <PATH>              The connection as JSON; - reads standard input
    --kind <KIND>              Build the connection from flags instead:
                               sample, kafka, cluster or https
    --name <NAME>              Connection name (with --kind)
    --bootstrap-servers <LIST> kafka: comma-separated broker addresses
    --mechanism <NAME>         kafka: SASL mechanism (PLAIN, SCRAM-256, ...)
    --username <NAME>          kafka: SASL user name
    --password-env <VAR>       kafka: read the SASL password from this
                               environment variable (never from a flag)
    --cluster <NAME>           cluster: the Atlas cluster to connect to
    --url <URL>                https: the endpoint
    --api-version <DATE>       Pin the API version (YYYY-MM-DD)
    --json                     Print the created connection as JSON
    -h, --help                 Print this help

WHERE IT GOES:
    With credentials in the environment, the way the Atlas CLI reads them
    (MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET, or
    MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY, or
    MONGODB_ATLAS_ACCESS_TOKEN; MONGODB_ATLAS_BASE_URL to change the host),
    the connection is created in Atlas, and --project and --instance are
    required. With none, an embedded local Atlas starts on 127.0.0.1 (said on
    standard error) and the connection is created there, in project
    32b6e34b3d91647abb20e7b8, instance sample-instance, unless given.

EXIT STATUS:
    0  created
    2  usage error: bad flags, unreadable file, invalid JSON, bad credentials
       configuration
    3  Atlas answered with an error (validation, authentication, conflict,
       rate limit, ...)
    4  no usable answer: network error, timeout, unexpected response
    5  created, but the answer could not be read: do not run it again (the
       name is taken); look the connection up instead

Secrets are never printed: not passwords, keys or tokens, and of free-form
maps (webhook headers, Kafka config) the names only. Text from the server
is printed with control characters escaped.
";

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
}

#[derive(Default)]
struct Options {
    project: Option<String>,
    instance: Option<String>,
    file: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    bootstrap_servers: Option<String>,
    mechanism: Option<String>,
    username: Option<String>,
    password_env: Option<String>,
    cluster: Option<String>,
    url: Option<String>,
    api_version: Option<String>,
    json: bool,
}

/// The options of `create`, or `None` when help was asked for (in the
/// place of the command or of a flag, never as a flag's value).
fn parse(args: &[String]) -> Result<Option<Options>, Failure> {
    let usage = |m: String| Failure::Usage(format!("{m} (see --help)"));
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("-h" | "--help" | "help") => return Ok(None),
        Some("create") => {}
        Some(other) => return Err(usage(format!("unknown command `{other}`"))),
        None => return Err(usage("missing the command `create`".into())),
    }
    let mut o = Options::default();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--json" => {
                o.json = true;
                continue;
            }
            "-h" | "--help" => return Ok(None),
            _ => {}
        }
        let slot = match flag.as_str() {
            "--project" => &mut o.project,
            "--instance" => &mut o.instance,
            "--file" => &mut o.file,
            "--kind" => &mut o.kind,
            "--name" => &mut o.name,
            "--bootstrap-servers" => &mut o.bootstrap_servers,
            "--mechanism" => &mut o.mechanism,
            "--username" => &mut o.username,
            "--password-env" => &mut o.password_env,
            "--cluster" => &mut o.cluster,
            "--url" => &mut o.url,
            "--api-version" => &mut o.api_version,
            "--password" => {
                return Err(usage(
                    "--password is not accepted (it would show in the process list); \
                     use --password-env <VAR>"
                        .into(),
                ));
            }
            other => return Err(usage(format!("unknown option `{other}`"))),
        };
        let value = it
            .next()
            .ok_or_else(|| usage(format!("{flag} needs a value")))?;
        *slot = Some(value.clone());
    }
    if o.file.is_some() == o.kind.is_some() {
        return Err(usage("give exactly one of --file and --kind".into()));
    }
    Ok(Some(o))
}

/// The connection to create, from the file or the flags.
fn connection(o: &Options) -> Result<StreamsConnection, Failure> {
    match &o.file {
        Some(file) => from_file(file),
        None => from_flags(o),
    }
}

/// The connection in `file` (`-`: standard input), as JSON.
fn from_file(file: &str) -> Result<StreamsConnection, Failure> {
    let usage = Failure::Usage;
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| usage(format!("cannot read standard input: {e}")))?;
        text
    } else {
        std::fs::read_to_string(file).map_err(|e| usage(format!("cannot read {file}: {e}")))?
    };
    // serde's message quotes the offending value, which may be a
    // password: say where, and what kind of problem, never what.
    // Syntax is checked on its own first: the connection's decoder reads a
    // kind's fields only once it has its tag, and reports a truncated or
    // broken document as a shape problem without a position.
    let located = |e: serde_json::Error| {
        let what = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "not valid JSON"
            }
            _ => "not a stream connection (a field has the wrong type or shape)",
        };
        // Kinds are told apart after the object is read, which loses the
        // position: it is given only where serde kept it.
        match e.line() {
            0 => usage(format!("{file}: {what}")),
            line => usage(format!(
                "{file}: {what} at line {line}, column {}",
                e.column()
            )),
        }
    };
    serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(located)?;
    serde_json::from_str(&text).map_err(located)
}

/// The connection `--kind` and the flags of that kind describe.
fn from_flags(o: &Options) -> Result<StreamsConnection, Failure> {
    let kind = o.kind.as_deref().unwrap_or_default();
    let name = Some(needs(kind, &o.name, "--name")?);
    Ok(match kind {
        "sample" => StreamsSampleConnection {
            name,
            ..Default::default()
        }
        .into(),
        "cluster" => StreamsClusterConnection {
            name,
            cluster_name: Some(needs(kind, &o.cluster, "--cluster")?),
            ..Default::default()
        }
        .into(),
        "https" => StreamsHttpsConnection {
            name,
            url: Some(needs(kind, &o.url, "--url")?),
            ..Default::default()
        }
        .into(),
        "kafka" => {
            // An unset --password-env variable is reported before a missing flag.
            let authentication = kafka_authentication(o)?;
            StreamsKafkaConnection {
                name,
                bootstrap_servers: Some(needs(kind, &o.bootstrap_servers, "--bootstrap-servers")?),
                authentication,
                ..Default::default()
            }
            .into()
        }
        other => {
            return Err(Failure::Usage(format!(
                "unknown --kind `{other}`: sample, kafka, cluster or https (other kinds: --file)"
            )));
        }
    })
}

/// The value of `flag`, which `--kind kind` needs.
fn needs(kind: &str, value: &Option<String>, flag: &str) -> Result<String, Failure> {
    value
        .clone()
        .ok_or_else(|| Failure::Usage(format!("--kind {kind} needs {flag}")))
}

/// The Kafka SASL settings given, the password read from the variable
/// `--password-env` names; none when no flag of them is given.
fn kafka_authentication(o: &Options) -> Result<Option<StreamsKafkaAuthentication>, Failure> {
    let password = match &o.password_env {
        Some(var) => Some(SecretString::new(std::env::var(var).map_err(|_| {
            Failure::Usage(format!("--password-env {var}: the variable is not set"))
        })?)),
        None => None,
    };
    Ok(
        (o.mechanism.is_some() || o.username.is_some() || password.is_some()).then(|| {
            StreamsKafkaAuthentication {
                mechanism: o.mechanism.clone(),
                username: o.username.clone(),
                password,
                ..Default::default()
            }
        }),
    )
}

/// Whether the variable `name` is set and not empty (the library counts an
/// empty one as unset).
fn is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Whether the environment holds any Atlas credential.
fn has_credentials() -> bool {
    CREDENTIAL_VARIABLES.iter().any(|name| is_set(name))
}

async fn run(args: &[String]) -> Result<(), Failure> {
    if args.is_empty() {
        return Err(Failure::Usage(
            "missing the command `create` (see --help)".into(),
        ));
    }
    let Some(o) = parse(args)? else {
        print!("{HELP}");
        return Ok(());
    };
    let connection = connection(&o)?;
    let target = match has_credentials() {
        true => Target::atlas(&o)?,
        false => Target::local(&o).await?,
    };
    let mut options = CallOptions::new();
    if let Some(version) = &o.api_version {
        options = options.api_version(version.clone());
    }
    let created = target
        .client
        .create_stream_connection_with(&target.project, &target.instance, &connection, &options)
        .await
        .map_err(Failure::from_client)?;
    print_created(&o, &target, &created)
}

/// Where the connection is created: a client, a project and an instance.
struct Target {
    client: Client,
    project: String,
    instance: String,
    /// The embedded Atlas the client talks to, if any, kept alive until the
    /// call is done.
    _local: Option<LocalAtlas>,
}

impl Target {
    /// Atlas, with the credentials of the environment; the project and the
    /// instance must be given.
    fn atlas(o: &Options) -> Result<Self, Failure> {
        let project = o
            .project
            .clone()
            .ok_or_else(|| Failure::Usage("--project is required with Atlas credentials".into()))?;
        let instance = o.instance.clone().ok_or_else(|| {
            Failure::Usage("--instance is required with Atlas credentials".into())
        })?;
        let client = ClientBuilder::from_env()
            .and_then(|b| b.user_agent_suffix("streams-example").build())
            .map_err(Failure::from_client)?;
        Ok(Self {
            client,
            project,
            instance,
            _local: None,
        })
    }

    /// An embedded local Atlas holding the project and instance given, or
    /// the sample ones.
    async fn local(o: &Options) -> Result<Self, Failure> {
        if let Some(name) = BASE_URL_VARIABLES.iter().find(|name| is_set(name)) {
            // Asked for a particular Atlas, without the means to sign in:
            // creating in a local one instead would mislead.
            return Err(Failure::Usage(format!(
                "{name} is set but no credentials are; set MONGODB_ATLAS_CLIENT_ID and \
                 MONGODB_ATLAS_CLIENT_SECRET, an API key pair, or MONGODB_ATLAS_ACCESS_TOKEN"
            )));
        }
        let project = o.project.clone().unwrap_or_else(|| SAMPLE_PROJECT.into());
        let instance = o.instance.clone().unwrap_or_else(|| SAMPLE_INSTANCE.into());
        let local = LocalAtlas::builder()
            .instance(&project, &instance)
            .start()
            .await
            .map_err(|e| Failure::Local(format!("cannot start the local Atlas: {e}")))?;
        eprintln!(
            "note: no MONGODB_ATLAS_* credentials in the environment; started an embedded local \
             Atlas at {} (project {project}, instance {instance})",
            local.base_url()
        );
        let (public, private) = local.api_key();
        let client = Client::builder()
            .base_url(local.base_url())
            .api_key(public, private.clone())
            .user_agent_suffix("streams-example")
            .build()
            .map_err(Failure::from_client)?;
        Ok(Self {
            client,
            project,
            instance,
            _local: Some(local),
        })
    }
}

/// Prints the created connection: as JSON with `--json`, else a summary.
fn print_created(
    o: &Options,
    target: &Target,
    created: &ApiResponse<StreamsConnection>,
) -> Result<(), Failure> {
    // The connection exists from here on: a closed standard output (`| head`)
    // must not turn that into a panic or a failure.
    let mut out = std::io::stdout().lock();
    if o.json {
        // The names of free-form maps' members, not their values: a
        // webhook's `Authorization`, a JAAS config's password.
        let json = atlas_stream_connections::redacted_json(&**created)
            .and_then(|shown| serde_json::to_string_pretty(&shown))
            .map_err(|e| Failure::Usage(format!("cannot print the response: {e}")))?;
        let _ = writeln!(out, "{}", json_printable(&json));
        return Ok(());
    }
    let (project, instance) = (&target.project, &target.instance);
    let _ = writeln!(
        out,
        "created {} connection `{}` in project {project}, instance {instance}",
        printable(created.kind()),
        printable(connection_name(created).as_deref().unwrap_or("(unnamed)"))
    );
    let _ = writeln!(out, "  API version: {}", created.api_version());
    if let Some(sunset) = created.sunset() {
        let _ = writeln!(
            out,
            "  note: Atlas retires this API version on {}",
            printable(sunset)
        );
    }
    Ok(())
}

/// Every kind has a `name`; read it from the wire form, so the command
/// does not list the kinds (which change with the spec).
fn connection_name(connection: &StreamsConnection) -> Option<String> {
    match serde_json::to_value(connection).ok()?.get("name")? {
        serde_json::Value::String(name) => Some(name.clone()),
        _ => None,
    }
}

/// Whether a request that got no usable answer may still have been acted
/// on: the create request itself (not a token request before it) was sent
/// (not refused at connect), or an answer to it began.
fn may_have_arrived(error: &Error) -> bool {
    let create_request = error
        .request()
        .is_some_and(|(method, path)| method == "POST" && path.ends_with("/connections"));
    create_request
        && match error {
            Error::Timeout(e) | Error::Transport(e) => !e.source().is_connect(),
            Error::TooLarge(_) | Error::Decode(_) => true,
            _ => false,
        }
}

/// `json` with the characters [`printable`] escapes written as JSON
/// escapes (`\u007f`), so that it stays JSON: serde_json escapes the C0
/// controls itself, but not DEL, the C1 controls or the reordering marks.
fn json_printable(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c != '\n' && needs_escape(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Control characters (escape sequences start with one) and the invisible
/// characters that reorder or hide text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}' | '\u{feff}'
        )
}

/// `text` safe to print on a terminal: control characters (escape
/// sequences start with one) and the invisible characters that reorder text
/// are shown as `\u{..}` escapes, so a server's string cannot move the
/// cursor, change colours, retitle the window or disguise itself.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    let result = match args {
        Ok(args) => run(&args).await,
        Err(_) => Err(Failure::Usage(
            "an argument is not valid UTF-8 (see --help)".into(),
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(failure),
    }
}

/// Says on standard error why the program stops, and what to do about a
/// connection that may exist; the exit status for it.
fn report(failure: Failure) -> ExitCode {
    let message = match &failure {
        Failure::Usage(message) | Failure::Local(message) => message.clone(),
        Failure::Created(error) | Failure::Api(error) | Failure::Transport(error) => {
            error.to_string()
        }
    };
    eprintln!("error: {}", printable(&message));
    match failure {
        Failure::Usage(_) => ExitCode::from(2),
        Failure::Created(_) => {
            eprintln!(
                "  the connection was created: do not run this again (the name is taken); \
                 look it up in Atlas instead"
            );
            ExitCode::from(5)
        }
        Failure::Api(error) => {
            if let Some(response) = error.response() {
                // Read from the wire form: the members' Rust types follow
                // the spec, which may make one optional.
                for field in response.bad_request_fields() {
                    let wire = serde_json::to_value(field).unwrap_or_default();
                    let text = |name: &str| wire[name].as_str().unwrap_or("").to_owned();
                    eprintln!(
                        "  {}: {}",
                        printable(&text("field")),
                        printable(&text("description"))
                    );
                }
            }
            ExitCode::from(3)
        }
        Failure::Local(_) => ExitCode::from(4),
        Failure::Transport(error) => {
            if may_have_arrived(&error) {
                eprintln!(
                    "  the request may have reached Atlas: check whether the connection exists \
                     before running this again"
                );
            }
            ExitCode::from(4)
        }
    }
}
