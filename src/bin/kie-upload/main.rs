//! `kie-upload`: upload files (or standard input) to the kie.ai File Upload API from a shell script
//! or a CI job, and print their download URLs. Built with `--features cli`.
//!
//! Exit status: 0 when every upload succeeded, 1 when any failed (the others still run), 2 for a
//! usage or configuration error, with nothing sent.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kie_upload::{Client, Error, Upload, UploadedFile, BASE64_MAX};

const USAGE: &str = "\
Usage: kie-upload [OPTIONS] <SRC>...

Uploads each SRC to the kie.ai File Upload API and prints its download URL, one per line, in the
order given. Uploads are kept for 3 days.

Arguments:
  <SRC>...               a file path, or - for standard input (streamed; size unknown)

Options:
  -p, --upload-path DIR  destination folder on the service (API field uploadPath; default: uploads)
  -n, --name NAME        file name on the service (API field fileName); only with a single SRC
      --base64           use /api/file-base64-upload (small files, at most 10 MB)
      --from-url URL     ask the service to fetch URL itself (/api/file-url-upload); takes no SRC
      --base-url URL     service root, may carry a path prefix
                         (env KIE_BASE_URL; default https://kieai.redpandaai.co)
      --api-key-file F   read the key from a file (default: env KIE_API_KEY; never a key in argv)
      --timeout SECS     stall bound: give up when a connect, a socket read or write, or the wait
                         for the reply makes no progress for SECS
      --retries N        retries for sources that can be re-read (files), default 2
  -j, --jobs N           parallel uploads when several SRC are given (default 4)
      --json             print one JSON object per line per upload: the service's data fields
                         plus expiresAt
      --verify           download each uploaded file back and compare it with the local file
  -q, --quiet            no progress display
  -h, --help             print this help
  -V, --version          print the version

Exit status: 0 all uploads succeeded, 1 any failed, 2 usage or configuration error.";

/// A source as given on the command line, and how its upload ended.
type Outcome = (String, Result<UploadedFile, Error>);

/// A usage or configuration error: reported with exit status 2, before anything is sent.
struct Usage(String);

impl<T: Into<String>> From<T> for Usage {
    fn from(msg: T) -> Self {
        Usage(msg.into())
    }
}

#[derive(Debug)]
struct Options {
    sources: Vec<String>,
    upload_path: String,
    name: Option<String>,
    base64: bool,
    from_url: Option<String>,
    base_url: Option<String>,
    api_key_file: Option<PathBuf>,
    timeout: Option<u64>,
    retries: u32,
    jobs: usize,
    json: bool,
    verify: bool,
    quiet: bool,
}

fn main() -> ExitCode {
    match try_main() {
        Ok(code) => code,
        Err(Usage(msg)) => {
            eprintln!("error: {msg}");
            eprintln!("Try 'kie-upload --help' for more information.");
            ExitCode::from(2)
        }
    }
}

fn try_main() -> Result<ExitCode, Usage> {
    let Some(options) = parse_args(std::env::args_os().skip(1))? else {
        return Ok(ExitCode::SUCCESS); // --help or --version
    };
    let client = build_client(&options)?;
    let outcomes = if let Some(url) = &options.from_url {
        let result = client.upload_url(url, &options.upload_path, options.name.as_deref());
        vec![(url.clone(), result)]
    } else {
        upload_sources(&client, &options)?
    };

    let mut failed = false;
    let mut stdout = io::stdout().lock();
    for (source, result) in outcomes {
        let result = result.and_then(|file| {
            if options.verify {
                verify(&client, Path::new(&source), &file)?;
            }
            Ok(file)
        });
        match result {
            Ok(file) => {
                let line = if options.json {
                    json_line(&source, &file)
                } else {
                    file.download_url.clone()
                };
                // A closed pipe (`| head`) is not worth a panic; stop printing.
                if writeln!(stdout, "{line}").is_err() {
                    break;
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("error: {source}: {}", describe(&e));
            }
        }
    }
    let _ = stdout.flush();
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Option<Options>, Usage> {
    use lexopt::prelude::*;

    let mut o = Options {
        sources: Vec::new(),
        upload_path: "uploads".into(),
        name: None,
        base64: false,
        from_url: None,
        base_url: None,
        api_key_file: None,
        timeout: None,
        retries: 2,
        jobs: 4,
        json: false,
        verify: false,
        quiet: false,
    };
    let mut parser = lexopt::Parser::from_args(args);
    let text = |v: OsString, flag: &str| {
        v.into_string()
            .map_err(|_| Usage(format!("{flag} must be valid UTF-8")))
    };
    while let Some(arg) = parser.next().map_err(|e| Usage(e.to_string()))? {
        match arg {
            Short('p') | Long("upload-path") => {
                o.upload_path = text(parser.value().map_err(|e| e.to_string())?, "--upload-path")?
            }
            Short('n') | Long("name") => {
                o.name = Some(text(parser.value().map_err(|e| e.to_string())?, "--name")?)
            }
            Long("base64") => o.base64 = true,
            Long("from-url") => {
                o.from_url = Some(text(
                    parser.value().map_err(|e| e.to_string())?,
                    "--from-url",
                )?)
            }
            Long("base-url") => {
                o.base_url = Some(text(
                    parser.value().map_err(|e| e.to_string())?,
                    "--base-url",
                )?)
            }
            Long("api-key-file") => {
                o.api_key_file = Some(parser.value().map_err(|e| e.to_string())?.into())
            }
            Long("timeout") => o.timeout = Some(number(&mut parser, "--timeout")?),
            Long("retries") => o.retries = number(&mut parser, "--retries")?,
            Short('j') | Long("jobs") => o.jobs = number(&mut parser, "--jobs")?,
            Long("json") => o.json = true,
            Long("verify") => o.verify = true,
            Short('q') | Long("quiet") => o.quiet = true,
            Short('h') | Long("help") => {
                println!("{USAGE}");
                return Ok(None);
            }
            Short('V') | Long("version") => {
                println!("kie-upload {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            Long("api-key") => {
                return Err(
                    "there is no --api-key: a key in argv shows in `ps` and shell history; \
                     set KIE_API_KEY or use --api-key-file FILE"
                        .into(),
                )
            }
            Value(v) => o.sources.push(text(v, "SRC")?),
            _ => return Err(arg.unexpected().to_string().into()),
        }
    }

    if o.from_url.is_some() {
        if !o.sources.is_empty() {
            return Err("--from-url takes no SRC: the service fetches the URL itself".into());
        }
        if o.base64 || o.verify {
            return Err("--from-url goes with neither --base64 nor --verify".into());
        }
    } else if o.sources.is_empty() {
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
    if o.jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    if o.timeout == Some(0) {
        return Err("--timeout must be at least 1 second".into());
    }
    Ok(Some(o))
}

fn number<T: std::str::FromStr>(parser: &mut lexopt::Parser, flag: &str) -> Result<T, Usage> {
    let value = parser.value().map_err(|e| e.to_string())?;
    value
        .to_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Usage(format!("{flag} takes a whole number, not {value:?}")))
}

fn build_client(o: &Options) -> Result<Client, Usage> {
    let key = match &o.api_key_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("--api-key-file {}: {e}", path.display()))?
            .trim()
            .to_owned(),
        None => std::env::var("KIE_API_KEY")
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    if key.is_empty() {
        return Err(match &o.api_key_file {
            Some(path) => format!("--api-key-file {} is empty", path.display()),
            None => "missing API key: set KIE_API_KEY or pass --api-key-file FILE".into(),
        }
        .into());
    }
    let mut builder = Client::builder().api_key(key).retries(o.retries);
    let base_url = o
        .base_url
        .clone()
        .or_else(|| std::env::var("KIE_BASE_URL").ok())
        .filter(|u| !u.trim().is_empty());
    if let Some(url) = base_url {
        builder = builder.base_url(url.trim());
    }
    if let Some(secs) = o.timeout {
        builder = builder.timeout(Duration::from_secs(secs));
    }
    builder.build().map_err(|e| Usage(describe(&e)))
}

/// Uploads every SRC, `--jobs` at a time, and returns the results in the order given.
fn upload_sources(client: &Client, o: &Options) -> Result<Vec<Outcome>, Usage> {
    let bars = Bars::new(o.quiet);
    // Standard input goes alone: it is the one source that must be read as it comes.
    let mut stdin_result = None;
    if let Some(at) = o.sources.iter().position(|s| s == "-") {
        let progress = bars.add("-", None);
        stdin_result = Some((at, upload_stdin(client, o, progress)));
    }
    let files: Vec<&String> = o.sources.iter().filter(|s| *s != "-").collect();
    let uploads = files.iter().map(|path| {
        let size = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let bar = bars.add(path, size);
        let mut upload = Upload::file(path)
            .upload_path(&o.upload_path)
            .on_progress(move |sent, _| bar.set(sent));
        if let Some(name) = &o.name {
            upload = upload.file_name(name);
        }
        upload
    });
    let results = if o.base64 {
        // The base64 endpoint is for small files: one at a time is plenty.
        uploads.map(|u| client.upload_as_base64(u)).collect()
    } else {
        client.upload_all(uploads, o.jobs)
    };
    bars.finish();

    let mut outcomes: Vec<_> = files.into_iter().cloned().zip(results).collect();
    if let Some((at, result)) = stdin_result {
        outcomes.insert(at, ("-".to_owned(), result));
    }
    Ok(outcomes)
}

fn upload_stdin(client: &Client, o: &Options, progress: Bar) -> Result<UploadedFile, Error> {
    let stdin = io::stdin();
    if o.base64 {
        // The base64 body needs its length up front: hold at most the limit plus one byte, so an
        // oversized input still gets the library's clear refusal.
        let mut bytes = Vec::new();
        stdin
            .lock()
            .take(BASE64_MAX + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io { path: None, source })?;
        let mut upload = Upload::bytes(&bytes).upload_path(&o.upload_path);
        if let Some(name) = &o.name {
            upload = upload.file_name(name);
        }
        return client.upload_as_base64(upload.on_progress(move |sent, _| progress.set(sent)));
    }
    let mut upload = Upload::reader(stdin).upload_path(&o.upload_path);
    if let Some(name) = &o.name {
        upload = upload.file_name(name);
    }
    client.upload(upload.on_progress(move |sent, _| progress.set(sent)))
}

/// Downloads `file` back and compares it, byte for byte, with the local file at `path`.
fn verify(client: &Client, path: &Path, file: &UploadedFile) -> Result<(), Error> {
    struct Compare {
        local: io::BufReader<File>,
        offset: u64,
        /// The local bytes matching one write, kept between writes.
        expected: Vec<u8>,
    }
    impl Write for Compare {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.expected.resize(buf.len(), 0);
            let expected = &mut self.expected;
            let n = read_full(&mut self.local, expected)?;
            if n < buf.len() || expected[..] != buf[..] {
                let at = self.offset
                    + buf
                        .iter()
                        .zip(&expected[..n])
                        .position(|(a, b)| a != b)
                        .unwrap_or(n) as u64;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the downloaded copy differs from the local file at byte {at}"),
                ));
            }
            self.offset += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let io_err = |source| Error::Io {
        path: Some(path.to_path_buf()),
        source,
    };
    let local = File::open(path).map_err(io_err)?;
    let local_len = local.metadata().map_err(io_err)?.len();
    let mut compare = Compare {
        local: io::BufReader::with_capacity(64 * 1024, local),
        offset: 0,
        expected: Vec::new(),
    };
    let got = client.download_to(&file.download_url, &mut compare)?;
    if got != local_len {
        return Err(io_err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the downloaded copy has {got} bytes, the local file {local_len}"),
        )));
    }
    Ok(())
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The service's data fields plus `expiresAt` (and the source it came from), as one line of JSON.
fn json_line(source: &str, file: &UploadedFile) -> String {
    let mut value = serde_json::to_value(file).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        if let Some(expires) = file.expires_at_rfc3339() {
            object.insert("expiresAt".into(), expires.into());
        }
        object.insert("source".into(), source.into());
    }
    value.to_string()
}

/// The error as one line: the library's message, which already says what to do next.
fn describe(e: &Error) -> String {
    e.to_string().replace(['\n', '\r'], " ")
}

/// Progress bars on standard error, only when it is a terminal and `--quiet` is not given.
struct Bars {
    multi: Option<MultiProgress>,
}

/// One source's progress: a bar when the size is known, a spinner with a byte count otherwise.
#[derive(Clone)]
struct Bar(Option<ProgressBar>);

impl Bar {
    fn set(&self, sent: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(sent);
        }
    }
}

impl Bars {
    fn new(quiet: bool) -> Bars {
        let show = !quiet && io::stderr().is_terminal();
        Bars {
            multi: show.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    fn add(&self, name: &str, size: Option<u64>) -> Bar {
        let Some(multi) = &self.multi else {
            return Bar(None);
        };
        let bar = match size {
            Some(len) => ProgressBar::new(len).with_style(
                ProgressStyle::with_template(
                    "{msg:24!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg:24!} {spinner} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        let bar = multi.add(bar.with_message(name.to_owned()));
        if size.is_none() {
            // A spinner must turn while standard input is quiet; bars move with the bytes.
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        Bar(Some(bar))
    }

    fn finish(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}
