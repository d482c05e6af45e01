//! `kie-upload-emulator`: runs the local stand-in for the kie.ai File Upload API until stopped
//! (SIGTERM, SIGINT, SIGHUP or Ctrl-C), so programs and scripts can be tried without a key or a
//! network. Stopped so, it deletes its stored files (and its `--port-file`) before it exits.
//!
//! It prints `listening on URL` (and, with `--tls`, `CA certificate: PATH` on the next line) once
//! it accepts connections, so a script can wait for that line, or for `--port-file`.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use kie_upload_emulator::{Config, Emulator};

const USAGE: &str = "usage: kie-upload-emulator [--port PORT] --api-key KEY [--ttl SECS] [--tls]
                           [--errors-as-status] [--max-connections N] [--ignore-expect]
                           [--answer-delay MS] [--port-file FILE]

  --port PORT            port on 127.0.0.1 (default 8787; 0 picks a free one)
  --api-key KEY          the Bearer key to accept (default: env KIE_API_KEY)
  --ttl SECS             how long uploads can be downloaded (default 259200, 3 days); any other
                         value also shows in each reply's expiresAt
  --tls                  serve HTTPS with a throwaway CA, whose certificate path is printed
  --errors-as-status     answer errors with their HTTP status; by default they come as HTTP 200
                         with the error in the body's code, as the live service does
  --errors-in-body       the default; accepted for compatibility
  --max-connections N    connections served at once; more get 503 (default 64)
  --ignore-expect        never answer `Expect: 100-continue` (default: answer it)
  --answer-delay MS      wait MS milliseconds before every answer, 100 Continue included, as a
                         long link would (default 0)
  --port-file FILE       once listening (and the lines above are printed), write the port
                         number and a newline to FILE, atomically (a temporary file renamed, so
                         it is never seen half written); removed on exit

It runs until stopped by SIGTERM, SIGINT (Ctrl-C) or SIGHUP, and then deletes what it stored.";

/// The one-line reminder after a usage error.
const SHORT_USAGE: &str = "usage: kie-upload-emulator --api-key KEY [OPTIONS]; see --help";

/// What the command line asks for.
struct Options {
    config: Config,
    port: u16,
    port_file: Option<PathBuf>,
}

/// The settings as the flags give them, before the key is known.
struct Flags {
    port: u16,
    api_key: Option<String>,
    ttl: Option<Duration>,
    errors_in_body: bool,
    tls: bool,
    honour_expect: bool,
    max_connections: Option<usize>,
    answer_delay: Duration,
    port_file: Option<PathBuf>,
}

impl Flags {
    fn into_options(self) -> Result<Options, String> {
        let api_key = self
            .api_key
            .filter(|k| !k.is_empty())
            .ok_or("missing API key: pass --api-key KEY or set KIE_API_KEY")?;
        let mut config = Config::new(api_key)
            .port(self.port)
            .errors_in_body(self.errors_in_body)
            .honour_expect(self.honour_expect)
            .answer_delay(self.answer_delay)
            .tls(self.tls);
        if let Some(ttl) = self.ttl {
            config = config.ttl(ttl);
        }
        if let Some(n) = self.max_connections {
            config = config.max_connections(n);
        }
        Ok(Options {
            config,
            port: self.port,
            port_file: self.port_file,
        })
    }
}

fn main() -> ExitCode {
    let options = match parse(std::env::args_os().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("error: {msg} ({SHORT_USAGE})");
            return ExitCode::from(2);
        }
    };
    match serve(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The options, or `None` for `--help`; an `Err` is a usage error.
fn parse(args: impl Iterator<Item = OsString>) -> Result<Option<Options>, String> {
    let mut args = args
        .map(|arg| {
            arg.into_string()
                .map_err(|bad| format!("argument {:?} is not valid UTF-8", bad.to_string_lossy()))
        })
        .collect::<Result<Vec<String>, String>>()?
        .into_iter();
    let mut flags = Flags {
        port: 8787,
        api_key: std::env::var("KIE_API_KEY").ok(),
        ttl: None,
        errors_in_body: true,
        tls: false,
        honour_expect: true,
        max_connections: None,
        answer_delay: Duration::ZERO,
        port_file: None,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => flags.port = number(&flag, &value()?, "a number from 0 to 65535")?,
            "--api-key" => flags.api_key = Some(value()?),
            "--ttl" => {
                let secs = number(&flag, &value()?, "a whole number of seconds")?;
                flags.ttl = Some(Duration::from_secs(secs));
            }
            "--errors-as-status" => flags.errors_in_body = false,
            "--errors-in-body" => flags.errors_in_body = true,
            "--tls" => flags.tls = true,
            "--ignore-expect" => flags.honour_expect = false,
            "--max-connections" => {
                flags.max_connections = Some(number(&flag, &value()?, "a whole number")?);
            }
            "--answer-delay" => {
                let ms = number(&flag, &value()?, "a whole number of milliseconds")?;
                flags.answer_delay = Duration::from_millis(ms);
            }
            "--port-file" => flags.port_file = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    flags.into_options().map(Some)
}

/// `text` as a number, or a usage error saying what `flag` takes.
fn number<T: std::str::FromStr>(flag: &str, text: &str, what: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("{flag} takes {what}"))
}

/// Serves until a signal comes, then stops the emulator (which deletes its files) and removes the
/// port file.
fn serve(options: Options) -> Result<(), String> {
    let (stop, stopped) = mpsc::channel();
    // Before the emulator starts, so that a signal right after `listening on` is not lost.
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .map_err(|e| format!("cannot handle signals: {e}"))?;
    if let Some(path) = &options.port_file {
        remove_if_there(path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    }
    let port = options.port;
    let emulator = Emulator::start(options.config)
        .map_err(|e| format!("cannot listen on port {port}: {e}"))?;
    let result = announce(&emulator, options.port_file.as_deref());
    if result.is_ok() {
        let _ = stopped.recv();
    }
    drop(emulator);
    if let Some(path) = &options.port_file {
        let _ = remove_if_there(path);
    }
    result
}

/// Prints where the emulator listens, then writes the port file: a script that waited for the
/// file finds the printed lines already out (standard output is line-buffered).
fn announce(emulator: &Emulator, port_file: Option<&Path>) -> Result<(), String> {
    println!("listening on {}", emulator.base_url());
    if let Some(path) = emulator.ca_cert_path() {
        println!("CA certificate: {}", path.display());
    }
    if let Some(path) = port_file {
        write_atomically(path, &format!("{}\n", emulator.port()))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`, so a reader sees
/// either no file or the whole text.
fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

fn remove_if_there(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
