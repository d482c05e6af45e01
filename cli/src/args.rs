//! The command line: flags parsed into [`Options`], and the usage errors that end the program with
//! exit status 2 before anything is sent. The flags themselves, their forms and their help, are
//! the table in [`crate::flags`].

use std::ffi::OsString;
use std::path::PathBuf;

use crate::filter::Filter;
use crate::flags;

/// A usage or configuration error: reported with exit status 2, before anything is sent.
#[derive(Debug)]
pub(crate) struct Usage(pub String);

impl From<String> for Usage {
    fn from(msg: String) -> Self {
        Usage(msg)
    }
}

impl From<&str> for Usage {
    fn from(msg: &str) -> Self {
        Usage(msg.to_owned())
    }
}

impl From<lexopt::Error> for Usage {
    fn from(e: lexopt::Error) -> Self {
        Usage(e.to_string())
    }
}

/// The proxy the command line asks for.
#[derive(Debug, Clone)]
pub(crate) enum ProxyFlag {
    Url(String),
    Off,
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) struct Options {
    pub sources: Vec<OsString>,
    pub upload_path: String,
    pub name: Option<String>,
    pub base64: bool,
    pub from_url: Option<String>,
    pub base_url: Option<String>,
    pub api_key_file: Option<PathBuf>,
    pub cacert: Option<PathBuf>,
    pub proxy: Option<ProxyFlag>,
    pub no_expect: bool,
    pub timeout: Option<u64>,
    pub retries: u32,
    pub jobs: usize,
    pub json: bool,
    pub verify: bool,
    pub recursive: bool,
    pub follow: bool,
    /// `--include` and `--exclude`, in the order given.
    pub filter: Filter,
    /// `--files-from FILE`, and `--null`.
    pub files_from: Option<OsString>,
    pub null: bool,
    pub dry_run: bool,
    pub spool: bool,
    pub reuse: bool,
    pub cache_dir: Option<PathBuf>,
    pub allow_insecure_http: bool,
    pub verbose: bool,
    pub quiet: bool,
}

/// What to do.
pub(crate) enum Command {
    Upload(Box<Options>),
    /// `--completions SHELL`: the script to print.
    Completions(String),
    Help,
    Version,
}

impl Default for Options {
    /// No SRC yet, and each flag's default: upload path `uploads`, 2 retries, 16 jobs, the rest
    /// off or unset.
    fn default() -> Options {
        Options {
            sources: Vec::new(),
            upload_path: "uploads".into(),
            name: None,
            base64: false,
            from_url: None,
            base_url: None,
            api_key_file: None,
            cacert: None,
            proxy: None,
            no_expect: false,
            timeout: None,
            retries: 2,
            jobs: 16,
            json: false,
            verify: false,
            recursive: false,
            follow: false,
            filter: Filter::default(),
            files_from: None,
            null: false,
            dry_run: false,
            spool: false,
            reuse: false,
            cache_dir: None,
            allow_insecure_http: false,
            verbose: false,
            quiet: false,
        }
    }
}

/// Reads the command line: each flag [`crate::flags`] knows, by its short or long form, and the
/// SRC; then the checks of what was given together.
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, Usage> {
    use lexopt::prelude::*;

    let args: Vec<OsString> = args.into_iter().collect();
    if let Some((arg, long)) = flags::long_with_one_dash(&args) {
        return Err(format!("unknown option {arg}: did you mean --{long}?").into());
    }
    let mut o = Options::default();
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next()? {
        let long = match arg {
            Value(v) => {
                o.sources.push(v);
                continue;
            }
            Long(name) => known_long(name)?,
            Short(c) => known_short(c)?,
        };
        if let Some(command) = set(&mut o, long, &mut parser)? {
            return Ok(command);
        }
    }
    // The flags' own values first: they are wrong whatever else is given.
    check_values(&o)?;
    add_files_from(&mut o)?;
    check_together(&o)?;
    Ok(Command::Upload(Box::new(o)))
}

/// The flag `--name` means, as the table spells it; or why there is none, with the flag that was
/// perhaps meant.
fn known_long(name: &str) -> Result<&'static str, Usage> {
    if name == "api-key" {
        return Err(
            "there is no --api-key: a key in argv shows in `ps` and shell history; \
                    set KIE_API_KEY or use --api-key-file FILE"
                .into(),
        );
    }
    flags::long(name).ok_or_else(|| {
        match flags::nearest(name) {
            Some(near) => format!("unknown option --{name}: did you mean --{near}?"),
            None => format!("unknown option --{name}"),
        }
        .into()
    })
}

/// The long name of the flag `-c`; or why there is none, with the letter in the other case when
/// that is one.
fn known_short(c: char) -> Result<&'static str, Usage> {
    flags::long_of_short(c).ok_or_else(|| {
        match flags::other_case(c) {
            Some(near) => format!("unknown option -{c}: did you mean -{near}?"),
            None => format!("unknown option -{c}"),
        }
        .into()
    })
}

/// Sets what the flag named `long` asks for, its value read from `parser` when it takes one. A
/// flag that is a command of its own (`--help`, `--version`, `--completions`) is returned.
fn set(o: &mut Options, long: &str, parser: &mut lexopt::Parser) -> Result<Option<Command>, Usage> {
    match long {
        "upload-path" => o.upload_path = text(parser, "--upload-path")?,
        "name" => o.name = Some(text(parser, "--name")?),
        "base64" => o.base64 = true,
        "from-url" => o.from_url = Some(text(parser, "--from-url")?),
        "base-url" => o.base_url = Some(text(parser, "--base-url")?),
        "api-key-file" => o.api_key_file = Some(parser.value()?.into()),
        "cacert" => o.cacert = Some(parser.value()?.into()),
        "proxy" => o.proxy = Some(ProxyFlag::Url(text(parser, "--proxy")?)),
        "no-proxy" => o.proxy = Some(ProxyFlag::Off),
        "no-expect" => o.no_expect = true,
        "timeout" => o.timeout = Some(number(parser, "--timeout")?),
        "retries" => o.retries = number(parser, "--retries")?,
        "jobs" => o.jobs = number(parser, "--jobs")?,
        "json" => o.json = true,
        "verify" => o.verify = true,
        "recursive" => o.recursive = true,
        "follow" => o.follow = true,
        "include" => o.filter.include(&text(parser, "--include")?)?,
        "exclude" => o.filter.exclude(&text(parser, "--exclude")?)?,
        "files-from" => o.files_from = Some(parser.value()?),
        "null" => o.null = true,
        "dry-run" => o.dry_run = true,
        "spool" => o.spool = true,
        "reuse" => o.reuse = true,
        "cache-dir" => {
            o.cache_dir = Some(parser.value()?.into());
            o.reuse = true;
        }
        "allow-insecure-http" => o.allow_insecure_http = true,
        "verbose" => o.verbose = true,
        "quiet" => o.quiet = true,
        "completions" => return completions(&text(parser, "--completions")?).map(Some),
        "help" => return Ok(Some(Command::Help)),
        "version" => return Ok(Some(Command::Version)),
        // The table and this match list the same flags (a test below holds them together).
        _ => unreachable!("--{long} is in the flag table, but sets nothing"),
    }
    Ok(None)
}

/// `--completions SHELL`: the script for that shell, or the shells there are.
fn completions(shell: &str) -> Result<Command, Usage> {
    match crate::completions::script(shell) {
        Some(script) => Ok(Command::Completions(script)),
        None => {
            let mut why = format!("--completions takes bash, zsh or fish, not {shell:?}");
            if let Some(near) = flags::nearest_word(shell, &["bash", "zsh", "fish"]) {
                why.push_str(&format!(": did you mean {near}?"));
            }
            Err(why.into())
        }
    }
}

/// The values that are wrong whatever else is given.
fn check_values(o: &Options) -> Result<(), Usage> {
    if o.jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    if o.timeout == Some(0) {
        return Err("--timeout must be at least 1 second".into());
    }
    Ok(())
}

/// `--files-from`: the names in its list added to the SRC given; `--null` only with it.
fn add_files_from(o: &mut Options) -> Result<(), Usage> {
    if let Some(list) = &o.files_from {
        let read = crate::filter::files_from(list, o.null)?;
        if read.is_empty() && o.sources.is_empty() {
            crate::output::eprint_line(&format!(
                "warning: --files-from {}: no names in it; nothing to upload",
                kie_upload::printable(&list.to_string_lossy())
            ));
        }
        o.sources.extend(read);
        if list == "-" && o.sources.iter().any(|s| s == "-") {
            return Err(
                "--files-from - reads the names from standard input, so - cannot also be a SRC"
                    .into(),
            );
        }
    } else if o.null {
        return Err("--null goes with --files-from: it says how the names are separated".into());
    }
    Ok(())
}

/// What goes with what: the flags that need another, those that exclude each other, and the SRC
/// they allow.
fn check_together(o: &Options) -> Result<(), Usage> {
    if !o.filter.is_empty() && !o.recursive {
        return Err(
            "--include and --exclude go with -r: they choose among the files found under a \
             folder"
                .into(),
        );
    }
    if o.from_url.is_some() {
        if !o.sources.is_empty() {
            return Err("--from-url takes no SRC: the service fetches the URL itself".into());
        }
        if o.base64 || o.verify || o.reuse {
            return Err("--from-url goes with neither --base64, --verify nor --reuse".into());
        }
    } else if o.sources.is_empty() && o.files_from.is_none() {
        return Err(
            "no SRC given: name files to upload, - for standard input, or --from-url URL".into(),
        );
    }
    if o.name.is_some() && o.sources.len() > 1 {
        return Err(format!(
            "--name names one upload, but {} SRC were given",
            o.sources.len()
        )
        .into());
    }
    if o.sources.iter().filter(|s| *s == "-").count() > 1 {
        return Err("standard input (-) can be given only once".into());
    }
    if o.verify && o.sources.iter().any(|s| s == "-") {
        return Err("--verify cannot check standard input: its bytes are gone once sent".into());
    }
    if o.follow && !o.recursive {
        return Err("-L (--follow) goes with -r: it follows symbolic links inside folders".into());
    }
    Ok(())
}

/// A flag's value as UTF-8 text.
fn text(parser: &mut lexopt::Parser, flag: &str) -> Result<String, Usage> {
    parser
        .value()?
        .into_string()
        .map_err(|_| Usage(format!("{flag} must be valid UTF-8")))
}

/// A flag's value as a whole number.
fn number<T: std::str::FromStr>(parser: &mut lexopt::Parser, flag: &str) -> Result<T, Usage> {
    let value = parser.value()?;
    let text = value.to_str().unwrap_or_default();
    text.parse().map_err(|_| {
        Usage(
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                format!("{flag}: {text} is too large")
            } else {
                format!("{flag} takes a whole number, not {value:?}")
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_in_the_table_sets_something() {
        for flag in flags::FLAGS {
            let mut parser = lexopt::Parser::from_args([format!("--{}", flag.long), "1".into()]);
            assert!(matches!(parser.next(), Ok(Some(lexopt::Arg::Long(_)))));
            // A refused value is fine; a flag the match does not know would panic.
            let _ = set(&mut Options::default(), flag.long, &mut parser);
        }
    }
}
