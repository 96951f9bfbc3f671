//! The Atlas CLI's profiles: the last step of
//! [`ClientBuilder::from_env`](crate::ClientBuilder::from_env)'s discovery,
//! so that someone logged in with `atlas auth login` or `atlas config init`
//! needs no variables.
//!
//! The Atlas CLI keeps its profiles in `config.toml`, in the directory Go's
//! `os.UserConfigDir` names, under `atlascli`: `$XDG_CONFIG_HOME/atlascli`
//! (else `$HOME/.config/atlascli`) on Linux and other Unixes,
//! `$HOME/Library/Application Support/atlascli` on macOS,
//! `%AppData%\atlascli` on Windows. A profile is a table of that file
//! (`[default]`), with the keys the CLI writes: `public_api_key` and
//! `private_api_key`, `client_id` and `client_secret`, `access_token` (and
//! `refresh_token`), `auth_type`, `service`, `ops_manager_url` (alias
//! `base_url`), and others this crate does not read (`org_id`,
//! `project_id`, `output`).
//!
//! Only the subset of TOML the CLI writes (and a person editing it is
//! likely to add) is read, by a small reader of this crate's (the `toml`
//! crate with its parser is five crates and some 58,000 lines, `winnow`'s
//! 40,000 among them, to build for one file of a few keys): comments, `[table]` headers, `key = value` lines whose value is a
//! one-line string, number, boolean, date, array or inline table. A value
//! over several lines is refused with its line number; so is anything else
//! this reader does not know. The file is read only up to
//! [`MAX_CONFIG_BYTES`]. Nothing it holds is ever shown: errors name the
//! file, the line, the profile and the key, never a value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::SecretString;
use crate::config::Credentials;
use crate::error::Error;

/// The variable that names the profile, as the Atlas CLI reads it (its
/// `--profile` flag's variable).
pub const PROFILE_VARIABLE: &str = "MONGODB_ATLAS_PROFILE";

/// The profile used when none is named and the file holds several.
pub const DEFAULT_PROFILE: &str = "default";

/// The largest `config.toml` read: a file of profiles is a few kilobytes;
/// a larger one is refused rather than read.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Where Atlas for Government is, for a profile whose `service` is
/// `cloudgov` (the Atlas CLI's `CloudGovServiceURL`).
const CLOUD_GOV_URL: &str = "https://cloud.mongodbgov.com";

/// The credential and base URL of one profile, and where they come from.
pub(crate) struct Profile {
    pub credential: Credentials,
    pub base_url: Option<String>,
    /// ``profile `NAME` of PATH``, for messages.
    pub origin: String,
}

/// Where the Atlas CLI keeps its profiles (`config.toml`, located as the
/// module docs say) for this process's environment, whether or not the
/// file exists; `None` when the variables that locate it are unset. Its
/// existing says the CLI has been set up here, not that a profile gives a
/// usable credential: [`ClientBuilder::from_env`](crate::ClientBuilder::from_env)
/// says that (the `streams` command asks it when the file exists).
pub fn config_file() -> Option<PathBuf> {
    config_path(&|name| std::env::var(name).ok())
}

/// The Atlas CLI's `config.toml`, located as Go's `os.UserConfigDir` does
/// from the variables `lookup` gives; `None` when they locate nothing.
pub(crate) fn config_path(lookup: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
    let dir = if cfg!(windows) {
        PathBuf::from(get("AppData")?)
    } else if cfg!(target_os = "macos") {
        Path::new(&get("HOME")?).join("Library/Application Support")
    } else {
        match get("XDG_CONFIG_HOME") {
            // Go refuses a relative one; so does the CLI, and so this.
            Some(xdg) => Some(PathBuf::from(xdg)).filter(|p| p.is_absolute())?,
            None => Path::new(&get("HOME")?).join(".config"),
        }
    };
    Some(dir.join("atlascli").join("config.toml"))
}

/// The profile of the file at `path` that the Atlas CLI would use: `named`
/// (the builder's choice or [`PROFILE_VARIABLE`]), else the file's only
/// profile, else [`DEFAULT_PROFILE`]. `Ok(None)` when there is no file.
pub(crate) fn read_profile(path: &Path, named: Option<&str>) -> Result<Option<Profile>, Error> {
    let shown = path.display();
    let Some(text) = read_bounded(path)? else {
        return Ok(None);
    };
    let tables = parse(&text).map_err(|(line, why)| {
        Error::configuration(format!(
            "the Atlas CLI's configuration {shown}, line {line}: {why}"
        ))
    })?;
    let name = match named.filter(|n| !n.is_empty()) {
        // The CLI keeps names in lower case (and viper reads tables so).
        Some(name) => name.to_ascii_lowercase(),
        None if tables.len() == 1 => tables.keys().next().cloned().unwrap_or_default(),
        None => DEFAULT_PROFILE.to_owned(),
    };
    let Some(table) = tables.get(&name) else {
        let names: Vec<&str> = tables.keys().map(String::as_str).collect();
        return Err(Error::configuration(format!(
            "the Atlas CLI's configuration {shown} has no profile `{name}` (it has: {}); \
             name another with {PROFILE_VARIABLE}, or run `atlas auth login --profile {name}`",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        )));
    };
    let origin = format!("profile `{name}` of {shown}");
    let credential = credential(table, &name, &origin)?;
    Ok(Some(Profile {
        base_url: base_url(table, &origin)?,
        credential,
        origin,
    }))
}

/// The file's text; `None` if it does not exist. Larger than
/// [`MAX_CONFIG_BYTES`], unreadable or not UTF-8 is an error.
fn read_bounded(path: &Path) -> Result<Option<String>, Error> {
    use std::io::Read;
    let shown = path.display();
    let failed = |e: std::io::Error| {
        Error::configuration(format!(
            "the Atlas CLI's configuration {shown} cannot be read: {e}"
        ))
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(e)),
    };
    let mut bytes = Vec::new();
    // One byte past the limit tells a file at the limit from a larger one,
    // whatever its metadata says (a pipe, a file that grows).
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(Error::configuration(format!(
            "the Atlas CLI's configuration {shown} is larger than {MAX_CONFIG_BYTES} bytes; \
             it is not read"
        )));
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::configuration(format!(
            "the Atlas CLI's configuration {shown}, line {line}: not UTF-8"
        ))
    })
}

/// A value of a profile: a string (kept as a secret: it may be one), or
/// another kind of value, named for messages. `Debug` shows no string.
#[derive(Debug)]
enum Value {
    Text(SecretString),
    Other(&'static str),
}

/// A profile's keys (in lower case, as viper reads them) and values.
type Table = BTreeMap<String, Value>;

/// What went wrong, and on which line (from 1).
type ParseError = (usize, String);

/// The profiles of a `config.toml`: every table whose header is one key,
/// by its name in lower case. Keys outside such tables (the CLI's global
/// settings, sub-tables) are read and dropped.
fn parse(text: &str) -> Result<BTreeMap<String, Table>, ParseError> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut current: Option<String> = None;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let at = |why: String| (number, why);
        let mut cursor = Cursor(line.trim_start());
        if cursor.at_end() {
            continue;
        }
        if cursor.0.starts_with('[') {
            current = table_header(&mut cursor).map_err(at)?;
            if let Some(name) = &current
                && tables.insert(name.clone(), Table::new()).is_some()
            {
                return Err(at(format!("the table `{name}` is defined twice")));
            }
            continue;
        }
        let (key, value) = key_value(&mut cursor).map_err(at)?;
        if let (Some(table), [key]) = (current.as_ref().and_then(|t| tables.get_mut(t)), &key[..])
            && table.insert(key.to_ascii_lowercase(), value).is_some()
        {
            return Err(at(format!("the key `{key}` is set twice in its table")));
        }
    }
    Ok(tables)
}

/// `[name]`: `Some(name)` in lower case; `[a.b]` or `[[array]]`: `None`
/// (not a profile).
fn table_header(cursor: &mut Cursor) -> Result<Option<String>, String> {
    let array = cursor.eat("[[");
    if !array {
        cursor.eat("[");
    }
    let path = cursor.key_path()?;
    if !cursor.eat(if array { "]]" } else { "]" }) {
        return Err("a table header without its closing `]`".into());
    }
    cursor.end_of_line()?;
    Ok(match (&path[..], array) {
        ([name], false) => Some(name.to_ascii_lowercase()),
        _ => None,
    })
}

/// `key = value`, the key as its dotted parts.
fn key_value(cursor: &mut Cursor) -> Result<(Vec<String>, Value), String> {
    let key = cursor.key_path()?;
    cursor.skip_blank();
    if !cursor.eat("=") {
        return Err("expected `key = value`".into());
    }
    cursor.skip_blank();
    let value = cursor.value()?;
    cursor.end_of_line()?;
    Ok((key, value))
}

/// What is left of a line.
struct Cursor<'a>(&'a str);

impl Cursor<'_> {
    fn skip_blank(&mut self) {
        self.0 = self.0.trim_start_matches([' ', '\t']);
    }

    fn eat(&mut self, prefix: &str) -> bool {
        match self.0.strip_prefix(prefix) {
            Some(rest) => {
                self.0 = rest;
                true
            }
            None => false,
        }
    }

    /// Nothing left but blanks and a comment.
    fn at_end(&self) -> bool {
        let rest = self.0.trim_start_matches([' ', '\t']);
        rest.is_empty() || rest.starts_with('#')
    }

    fn end_of_line(&mut self) -> Result<(), String> {
        match self.at_end() {
            true => Ok(()),
            false => Err("unexpected text after the value or header".into()),
        }
    }

    /// `a`, `"a b"`, `'a'`, `a.b`: a key's parts.
    fn key_path(&mut self) -> Result<Vec<String>, String> {
        let mut parts = Vec::new();
        loop {
            self.skip_blank();
            let part = match self.0.chars().next() {
                Some('"') => self.basic_string()?,
                Some('\'') => self.literal_string()?,
                _ => {
                    let end = self
                        .0
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                        .unwrap_or(self.0.len());
                    if end == 0 {
                        return Err("expected a key".into());
                    }
                    let (bare, rest) = self.0.split_at(end);
                    self.0 = rest;
                    bare.to_owned()
                }
            };
            parts.push(part);
            self.skip_blank();
            if !self.eat(".") {
                return Ok(parts);
            }
        }
    }

    /// A value on one line.
    fn value(&mut self) -> Result<Value, String> {
        if self.0.starts_with("\"\"\"") || self.0.starts_with("'''") {
            return Err("a multi-line string: write the value on one line".into());
        }
        match self.0.chars().next() {
            Some('"') => Ok(Value::Text(self.basic_string()?.into())),
            Some('\'') => Ok(Value::Text(self.literal_string()?.into())),
            Some('[') => self.nested(']').map(|()| Value::Other("an array")),
            Some('{') => self.nested('}').map(|()| Value::Other("an inline table")),
            _ => self.scalar(),
        }
    }

    /// A number, boolean or date: its characters, up to a comment.
    fn scalar(&mut self) -> Result<Value, String> {
        let end = self.0.find('#').unwrap_or(self.0.len());
        let token = self.0[..end].trim_end_matches([' ', '\t']);
        let allowed = |c: char| c.is_ascii_alphanumeric() || "+-_.: ".contains(c);
        if token.is_empty() || !token.chars().all(allowed) {
            return Err("a value that is not a string, number, boolean or date".into());
        }
        self.0 = &self.0[token.len()..];
        Ok(Value::Other(match token {
            "true" | "false" => "a boolean",
            _ => "a number or date",
        }))
    }

    /// An array or inline table, skipped whole: brackets counted outside
    /// strings, on this line.
    fn nested(&mut self, close: char) -> Result<(), String> {
        let mut depth = 0usize;
        loop {
            match self.0.chars().next() {
                None | Some('#') => {
                    return Err(format!(
                        "an array or inline table not closed (`{close}`) on its line: \
                         write it on one line"
                    ));
                }
                Some('"') if !self.0.starts_with("\"\"\"") => drop(self.basic_string()?),
                Some('\'') if !self.0.starts_with("'''") => drop(self.literal_string()?),
                Some(c @ ('"' | '\'')) => {
                    return Err(format!("a multi-line string ({c}{c}{c}) in an array"));
                }
                Some(c) => {
                    self.0 = &self.0[c.len_utf8()..];
                    match c {
                        '[' | '{' => depth += 1,
                        ']' | '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// `'...'`: the text between the quotes, as is.
    fn literal_string(&mut self) -> Result<String, String> {
        let rest = &self.0[1..];
        let end = rest
            .find('\'')
            .ok_or("a string without its closing quote")?;
        let text = &rest[..end];
        if text.chars().any(|c| c.is_control() && c != '\t') {
            return Err("a control character in a string".into());
        }
        self.0 = &rest[end + 1..];
        Ok(text.to_owned())
    }

    /// `"..."`, its escapes read.
    fn basic_string(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = self.0[1..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.0 = &self.0[1 + i + 1..];
                    return Ok(out);
                }
                '\\' => out.push(escape(&mut chars)?),
                c if c.is_control() && c != '\t' => {
                    return Err("a control character in a string".into());
                }
                c => out.push(c),
            }
        }
        Err("a string without its closing quote".into())
    }
}

/// The character of the escape whose `\` has been read.
fn escape(chars: &mut std::str::CharIndices) -> Result<char, String> {
    let hex = |chars: &mut std::str::CharIndices, digits: usize| {
        let text: String = chars.by_ref().take(digits).map(|(_, c)| c).collect();
        u32::from_str_radix(&text, 16)
            .ok()
            .filter(|_| text.len() == digits && text.chars().all(|c| c.is_ascii_hexdigit()))
            .and_then(char::from_u32)
            .ok_or_else(|| "an invalid escape in a string".to_owned())
    };
    match chars.next().map(|(_, c)| c) {
        Some('b') => Ok('\u{8}'),
        Some('t') => Ok('\t'),
        Some('n') => Ok('\n'),
        Some('f') => Ok('\u{c}'),
        Some('r') => Ok('\r'),
        Some('e') => Ok('\u{1b}'),
        Some('"') => Ok('"'),
        Some('\\') => Ok('\\'),
        Some('x') => hex(chars, 2),
        Some('u') => hex(chars, 4),
        Some('U') => hex(chars, 8),
        _ => Err("an invalid escape in a string".into()),
    }
}

/// The string at `key`, unless absent or empty; another kind of value is
/// an error naming the key.
fn text<'t>(table: &'t Table, key: &str, origin: &str) -> Result<Option<&'t str>, Error> {
    match table.get(key) {
        None => Ok(None),
        Some(Value::Text(text)) => Ok(Some(text.expose_secret()).filter(|t| !t.is_empty())),
        Some(Value::Other(kind)) => Err(Error::configuration(format!(
            "`{key}` of the Atlas CLI's {origin} is {kind}, not a string"
        ))),
    }
}

/// The base URL the profile names: `ops_manager_url` (or its alias
/// `base_url`), else Atlas for Government's for `service = "cloudgov"`.
fn base_url(table: &Table, origin: &str) -> Result<Option<String>, Error> {
    if let Some(url) = text(table, "ops_manager_url", origin)?.or(text(table, "base_url", origin)?)
    {
        return Ok(Some(url.to_owned()));
    }
    match text(table, "service", origin)? {
        None | Some("cloud") => Ok(None),
        Some("cloudgov") => Ok(Some(CLOUD_GOV_URL.to_owned())),
        // The CLI refuses it too ("unsupported service"): an Ops Manager
        // profile of the older mongocli.
        Some(_) => Err(Error::configuration(format!(
            "the Atlas CLI's {origin} has a `service` other than `cloud` or `cloudgov`"
        ))),
    }
}

/// The kinds of credential, as the CLI's `auth_type` names them.
const KINDS: [&str; 3] = ["service_account", "user_account", "api_keys"];

/// The profile's credential: the kind its `auth_type` names, else the
/// first kind present in the order the Atlas CLI itself picks (service
/// account, then a login's access token, then an API key).
fn credential(table: &Table, name: &str, origin: &str) -> Result<Credentials, Error> {
    let kind = match text(table, "auth_type", origin)? {
        Some(kind) if KINDS.contains(&kind) => Some(kind),
        Some(_) => {
            return Err(Error::configuration(format!(
                "the Atlas CLI's {origin} has an `auth_type` this crate cannot use (it \
                 knows {}); set the credential in MONGODB_ATLAS_* variables",
                KINDS.join(", ")
            )));
        }
        None => None,
    };
    let candidates = match kind {
        Some(kind) => vec![kind],
        None => KINDS.to_vec(),
    };
    for kind in candidates {
        if let Some(found) = of_kind(table, kind, name, origin)? {
            return Ok(found);
        }
    }
    Err(no_credential(kind, origin))
}

/// The credential of `kind` in the profile, if its keys are set; half a
/// pair is an error naming the key that is set and the one missing.
fn of_kind(
    table: &Table,
    kind: &str,
    name: &str,
    origin: &str,
) -> Result<Option<Credentials>, Error> {
    let pair = |first: &str, second: &str| match (
        text(table, first, origin)?,
        text(table, second, origin)?,
    ) {
        (Some(a), Some(b)) => Ok(Some((a.to_owned(), SecretString::from(b)))),
        (None, None) => Ok(None),
        (a, _) => {
            let (set, missing) = if a.is_some() {
                (first, second)
            } else {
                (second, first)
            };
            Err(Error::configuration(format!(
                "the Atlas CLI's {origin} has `{set}` but no `{missing}`{}",
                KEYRING_NOTE
            )))
        }
    };
    Ok(match kind {
        "service_account" => {
            pair("client_id", "client_secret")?.map(|(client_id, client_secret)| {
                Credentials::ServiceAccount {
                    client_id,
                    client_secret,
                }
            })
        }
        "api_keys" => {
            pair("public_api_key", "private_api_key")?.map(|(public_key, private_key)| {
                Credentials::ApiKey {
                    public_key,
                    private_key,
                }
            })
        }
        _ => match text(table, "access_token", origin)? {
            Some(token) => {
                unexpired(token, name, origin)?;
                Some(Credentials::AccessToken(token.into()))
            }
            None => None,
        },
    })
}

/// Why a profile may hold no secret although the CLI works.
const KEYRING_NOTE: &str = ": recent Atlas CLI versions keep a profile's secrets in the \
    system keyring where there is one, which this crate does not read; set the credential \
    in MONGODB_ATLAS_* variables";

fn no_credential(kind: Option<&str>, origin: &str) -> Error {
    let what = match kind {
        Some(kind) => format!("names `auth_type` {kind} but holds no such credential"),
        None => "holds no credential".to_owned(),
    };
    Error::configuration(format!("the Atlas CLI's {origin} {what}{KEYRING_NOTE}"))
}

/// Refuses the access token of an `atlas auth login` whose `exp` has
/// passed: Atlas would answer `401`. A token that is not a JWT, or has no
/// `exp`, is left for the server to judge. The signature is not checked:
/// only the server can, and only the expiry is read.
fn unexpired(token: &str, name: &str, origin: &str) -> Result<(), Error> {
    let Some(expiry) = jwt_expiry(token) else {
        return Ok(());
    };
    if expiry > SystemTime::now() {
        return Ok(());
    }
    Err(Error::configuration(format!(
        "the access token of the Atlas CLI's {origin} expired at {}; \
         run `atlas auth login --profile {name}` to log in again (this crate does not \
         renew it: the refresh endpoint the CLI uses is not a public API)",
        httpdate::fmt_http_date(expiry)
    )))
}

/// The `exp` claim of a JWT (`header.payload.signature`, base64url), if
/// it is one and has it.
fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let mut parts = token.split('.');
    let (_, payload) = (parts.next()?, parts.next()?);
    let claims: serde_json::Value = serde_json::from_slice(&base64url(payload)?).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    // Past year 9999 is no expiry worth reading (and not one httpdate shows).
    (exp < 253_402_300_800).then(|| UNIX_EPOCH + Duration::from_secs(exp))
}

/// Unpadded base64url (RFC 4648 §5), as JWTs use it.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        bits = (bits << 6) | u32::from(value(c)?);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles(text: &str) -> Result<Vec<(String, Vec<String>)>, ParseError> {
        Ok(parse(text)?
            .into_iter()
            .map(|(name, table)| (name, table.keys().cloned().collect()))
            .collect())
    }

    #[test]
    fn the_files_the_cli_writes_are_read() {
        let text = "telemetry_enabled = true\nversion = 2\n\n[default]\n  org_id = \"5dd5\"\n  \
                    private_api_key = \"k\\u00e9y\"\n  auth_type = 'api_keys'  # a comment\n\n\
                    [Other]\nservice = \"cloud\"\nlist = [1, \"]\", {a = 'x'}]\nt = {a = 1}\n\
                    when = 1979-05-27 07:32:00Z\n[other.sub]\nx = 1\n[[array]]\ny = 2\n";
        assert_eq!(
            profiles(text).unwrap(),
            [
                (
                    "default".into(),
                    vec![
                        "auth_type".into(),
                        "org_id".into(),
                        "private_api_key".into()
                    ]
                ),
                (
                    "other".into(),
                    vec!["list".into(), "service".into(), "t".into(), "when".into()]
                ),
            ]
        );
        let tables = parse(text).unwrap();
        let Some(Value::Text(key)) = tables["default"].get("private_api_key") else {
            panic!("not a string");
        };
        assert_eq!(key.expose_secret(), "kéy");
    }

    #[test]
    fn what_the_reader_does_not_know_is_refused_with_its_line() {
        for (text, line) in [
            ("[default]\nkey = \"\"\"\nsecret\n\"\"\"\n", 2),
            ("[default]\nkey = [\n 1]\n", 2),
            ("[default]\nkey = \"unterminated\n", 2),
            ("[default]\nkey = \"bad \\q bogus\"\n", 2),
            ("[default]\nkey = \"x\" trailing\n", 2),
            ("[default]\nkey\n", 2),
            ("\n\n[default\n", 3),
            ("[default]\n[default]\n", 2),
            ("[default]\na = 1\na = 2\n", 3),
            ("[default]\na = <script>\n", 2),
            ("[default]\na = \"\\uD800\"\n", 2),
        ] {
            let (at, why) = parse(text).unwrap_err();
            assert_eq!(at, line, "{text:?}: {why}");
            for secret in ["secret", "unterminated", "bogus", "script"] {
                assert!(!why.contains(secret), "{why}");
            }
        }
    }

    #[test]
    fn hostile_text_is_an_error_not_a_panic() {
        let deep = format!(
            "[default]\na = {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse(&deep).is_ok());
        for text in [
            "[",
            "[[",
            "\"",
            "a = '",
            "a = \"\\",
            "a = \"\\u12",
            "=",
            "[a.]",
            "a.=1",
            "]",
        ] {
            let _ = parse(text);
        }
    }

    #[test]
    fn jwt_expiry_is_read_from_the_payload() {
        // {"alg":"none"} . {"sub":"a","exp":1700000000} . (no signature)
        let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIiwiZXhwIjoxNzAwMDAwMDAwfQ.";
        assert_eq!(
            jwt_expiry(token),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(jwt_expiry("not-a-jwt"), None);
        assert_eq!(jwt_expiry("a.!!!.c"), None);
        assert_eq!(base64url("aGVsbG8").unwrap(), b"hello");
    }
}
