//! Where a command's calls go: Atlas, with the credentials of the
//! environment or of the Atlas CLI's profile, or an embedded local Atlas
//! when there are none.

use atlas_stream_connections::local_atlas::LocalAtlas;
use atlas_stream_connections::{
    BASE_URL_VARIABLES, CREDENTIAL_VARIABLES, Client, ClientBuilder, Error, atlas_cli,
};

use crate::Failure;
use crate::args::{SAMPLE_INSTANCE, SAMPLE_PROJECT, TargetArgs};

/// A client, a project and an instance.
pub struct Target {
    pub client: Client,
    pub project: String,
    pub instance: String,
    /// The embedded Atlas the client talks to, if any, kept alive until the
    /// call is done.
    _local: Option<LocalAtlas>,
}

/// Whether the variable `name` is set and not empty (the library counts an
/// empty one as unset).
fn is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

impl Target {
    /// A local Atlas with `--local`; else Atlas when the environment holds
    /// a credential, or when the Atlas CLI keeps profiles (the library reads
    /// the one the CLI would use when the variables hold none); else a
    /// local Atlas.
    pub async fn new(args: &TargetArgs) -> Result<Self, Failure> {
        if args.local {
            return Self::local(args).await;
        }
        let in_variables = CREDENTIAL_VARIABLES.iter().any(|name| is_set(name));
        let logged_in = || atlas_cli::config_file().is_some_and(|file| file.is_file());
        if !in_variables && !logged_in() {
            return Self::local(args).await;
        }
        let builder = ClientBuilder::from_env().map_err(|error| {
            // A login the library cannot use (expired, secrets in the
            // keyring, no such profile) is said, with the way round it.
            let failure = Failure::from_client(error);
            match (failure, in_variables) {
                (Failure::Usage(why), false) => Failure::Usage(format!(
                    "{why}\n(the Atlas CLI keeps profiles here, so Atlas is the target; \
                     --local creates in an embedded local Atlas instead)"
                )),
                (failure, _) => failure,
            }
        })?;
        Self::atlas(args, builder)
    }

    /// Atlas, with the credentials `builder` has; the project and the
    /// instance must be given.
    fn atlas(args: &TargetArgs, builder: ClientBuilder) -> Result<Self, Failure> {
        let required = |value: &Option<String>, flag: &str| {
            value.clone().ok_or_else(|| {
                Failure::Usage(format!(
                    "{flag} is required with Atlas credentials (--local creates in an \
                     embedded local Atlas instead)"
                ))
            })
        };
        // Said before anything can fail for want of a flag: with a profile,
        // the user may not know that Atlas, not a local one, is the target.
        if let Some(origin) = builder.credential_origin() {
            eprintln!("note: signing in to Atlas with the Atlas CLI's {origin}");
        }
        let project = required(&args.project, "--project")?;
        let instance = required(&args.instance, "--instance")?;
        let client = builder
            .user_agent_suffix("streams-example")
            .build()
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
    async fn local(args: &TargetArgs) -> Result<Self, Failure> {
        let named_base = BASE_URL_VARIABLES.iter().find(|name| is_set(name));
        if let (Some(name), false) = (named_base, args.local) {
            // Asked for a particular Atlas, without the means to sign in:
            // creating in a local one instead would mislead.
            return Err(Failure::Usage(format!(
                "{name} is set but no credentials are; set MONGODB_ATLAS_CLIENT_ID and \
                 MONGODB_ATLAS_CLIENT_SECRET, an API key pair, or MONGODB_ATLAS_ACCESS_TOKEN \
                 (or pass --local for the local Atlas double)"
            )));
        }
        let project = args
            .project
            .clone()
            .unwrap_or_else(|| SAMPLE_PROJECT.into());
        let instance = args
            .instance
            .clone()
            .unwrap_or_else(|| SAMPLE_INSTANCE.into());
        let local = LocalAtlas::builder()
            .instance(&project, &instance)
            .start()
            .await
            .map_err(|e| Failure::Local(format!("cannot start the local Atlas: {e}")))?;
        let why = match args.local {
            true => "--local",
            false => "no MONGODB_ATLAS_* credentials in the environment, nor an Atlas CLI login",
        };
        eprintln!(
            "note: {why}; started an embedded local Atlas at {} (project {project}, instance \
             {instance})",
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

/// Whether a request that got no usable answer may still have been acted
/// on: the create request itself (not a token request before it) was sent
/// (not refused at connect), or an answer to it began.
pub fn may_have_arrived(error: &Error) -> bool {
    let create_request = error
        .request()
        .is_some_and(|(method, path)| method == "POST" && path.ends_with("/connections"));
    create_request
        && match error {
            Error::Timeout(e) | Error::Transport(e) => !e.source().is_some_and(|s| s.is_connect()),
            Error::TooLarge(_) | Error::Decode(_) => true,
            _ => false,
        }
}
