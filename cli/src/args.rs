//! The command line: flags parsed into [`Options`], and the usage errors that end the program with
//! exit status 2 before anything is sent.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::filter::Filter;
use crate::flags;

/// `--help`: what the tool does, its arguments, every flag (from [`crate::flags`]), the
/// environment, the exit status and examples.
pub(crate) fn usage() -> String {
    format!(
        "{USAGE_HEAD}\nOptions:\n{}\n{USAGE_TAIL}",
        flags::option_list()
    )
}

const USAGE_HEAD: &str = "\
Usage: kie-upload [OPTIONS] <SRC>...
       kie-upload [OPTIONS] --from-url URL

Uploads each SRC to the kie.ai File Upload API and prints its download URL, one
per line, in the order given, each as soon as it and those before it are done.
Uploads are kept for 3 days.

Arguments:
  <SRC>...               a file, or - for standard input (streamed; size
                         unknown); with -r, a folder
";

const USAGE_TAIL: &str = "\
Environment:
  KIE_API_KEY            the API key
  KIE_API_KEY_FILE       a file holding the API key; setting both this and
                         KIE_API_KEY is an error. --api-key-file wins over
                         both.
  KIE_BASE_URL           the service root; --base-url wins
  SSL_CERT_FILE          a PEM file of CA certificates; --cacert wins
  https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY
                         the proxy for an https:// base URL: the first one
                         set, in this order (set but empty: no proxy);
                         --proxy and --no-proxy win
  http_proxy, all_proxy, ALL_PROXY
                         the same for an http:// base URL; upper-case
                         HTTP_PROXY is not read, as in curl (on Windows,
                         where the two are one variable, it counts, except
                         in a CGI program)
  no_proxy, NO_PROXY     hosts reached directly: a name covers the names
                         under it, * every host

Exit status:
  0    every upload succeeded
  1    an upload failed, or its result could not be written; the others ran
  2    a usage or configuration error; nothing was sent
  130  interrupted by Ctrl-C (143: by SIGTERM); the last line says what was
       stored

Examples:
  kie-upload photo.jpg                       print the download URL
  kie-upload -p images/2026 *.png            several files, 16 at a time
  tar cz src | kie-upload -n src.tar.gz -    standard input, streamed
  kie-upload -r -p site public/              a folder, with its folders
  kie-upload -r --include '**.css' public/   only the style sheets under it
  kie-upload -r --dry-run public/            what would go where
  find . -name '*.log' -print0 | kie-upload --null --files-from -
  kie-upload --json report.pdf | jq -r .expiresAt
  kie-upload --verify backup.tar             download it back and compare
  kie-upload --from-url https://example.com/a.png -n a.png

See kie-upload(1) for more.";

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

pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, Usage> {
    use lexopt::prelude::*;

    let mut o = Options {
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
    };
    let args: Vec<OsString> = args.into_iter().collect();
    if let Some((arg, long)) = flags::long_with_one_dash(&args) {
        return Err(format!("unknown option {arg}: did you mean --{long}?").into());
    }
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('p') | Long("upload-path") => o.upload_path = text(&mut parser, "--upload-path")?,
            Short('n') | Long("name") => o.name = Some(text(&mut parser, "--name")?),
            Long("base64") => o.base64 = true,
            Long("from-url") => o.from_url = Some(text(&mut parser, "--from-url")?),
            Long("base-url") => o.base_url = Some(text(&mut parser, "--base-url")?),
            Long("api-key-file") => o.api_key_file = Some(parser.value()?.into()),
            Long("cacert") => o.cacert = Some(parser.value()?.into()),
            Long("proxy") => o.proxy = Some(ProxyFlag::Url(text(&mut parser, "--proxy")?)),
            Long("no-proxy") => o.proxy = Some(ProxyFlag::Off),
            Long("no-expect") => o.no_expect = true,

            Long("timeout") => o.timeout = Some(number(&mut parser, "--timeout")?),
            Long("retries") => o.retries = number(&mut parser, "--retries")?,
            Short('j') | Long("jobs") => o.jobs = number(&mut parser, "--jobs")?,
            Long("json") => o.json = true,
            Long("verify") => o.verify = true,
            Short('r') | Long("recursive") => o.recursive = true,
            Short('L') | Long("follow") => o.follow = true,
            Long("include") => o.filter.include(&text(&mut parser, "--include")?)?,
            Long("exclude") => o.filter.exclude(&text(&mut parser, "--exclude")?)?,
            Long("files-from") => o.files_from = Some(parser.value()?),
            Long("null") => o.null = true,
            Long("dry-run") => o.dry_run = true,
            Long("spool") => o.spool = true,
            Long("reuse") => o.reuse = true,
            Long("cache-dir") => {
                o.cache_dir = Some(parser.value()?.into());
                o.reuse = true;
            }
            Long("allow-insecure-http") => o.allow_insecure_http = true,
            Long("completions") => {
                let shell = text(&mut parser, "--completions")?;
                return match crate::completions::script(&shell) {
                    Some(script) => Ok(Command::Completions(script)),
                    None => {
                        let mut why =
                            format!("--completions takes bash, zsh or fish, not {shell:?}");
                        if let Some(near) = flags::nearest_word(&shell, &["bash", "zsh", "fish"]) {
                            why.push_str(&format!(": did you mean {near}?"));
                        }
                        Err(why.into())
                    }
                };
            }
            Short('v') | Long("verbose") => o.verbose = true,
            Short('q') | Long("quiet") => o.quiet = true,
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Long("api-key") => {
                return Err(
                    "there is no --api-key: a key in argv shows in `ps` and shell history; \
                            set KIE_API_KEY or use --api-key-file FILE"
                        .into(),
                )
            }
            Value(v) => o.sources.push(v),
            Long(name) => {
                return Err(match flags::nearest(name) {
                    Some(near) => format!("unknown option --{name}: did you mean --{near}?"),
                    None => format!("unknown option --{name}"),
                }
                .into())
            }
            Short(c) => {
                return Err(match flags::other_case(c) {
                    Some(near) => format!("unknown option -{c}: did you mean -{near}?"),
                    None => format!("unknown option -{c}"),
                }
                .into())
            }
        }
    }
    // The flags' own values first: they are wrong whatever else is given.
    if o.jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    if o.timeout == Some(0) {
        return Err("--timeout must be at least 1 second".into());
    }
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
    Ok(Command::Upload(Box::new(o)))
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
