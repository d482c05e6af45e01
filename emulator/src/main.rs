//! `kie-upload-emulator`: runs the local stand-in for the kie.ai File Upload API until killed, so
//! programs and scripts can be tried without a key or a network.

use std::process::ExitCode;
use std::time::Duration;

use kie_upload_emulator::{Config, Emulator};

const USAGE: &str =
    "usage: kie-upload-emulator [--port PORT] --api-key KEY [--ttl SECS] [--errors-in-body]

  --port PORT        port on 127.0.0.1 (default 8787; 0 picks a free one)
  --api-key KEY      the Bearer key to accept (default: env KIE_API_KEY)
  --ttl SECS         how long uploads can be downloaded (default 259200, 3 days)
  --errors-in-body   answer errors with HTTP 200 and the error in the body's code";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut port = 8787u16;
    let mut api_key = std::env::var("KIE_API_KEY").ok();
    let mut ttl = None;
    let mut errors_in_body = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                port = value("--port")?
                    .parse()
                    .map_err(|_| "--port takes a number from 0 to 65535".to_owned())?
            }
            "--api-key" => api_key = Some(value("--api-key")?),
            "--ttl" => {
                let secs: u64 = value("--ttl")?
                    .parse()
                    .map_err(|_| "--ttl takes a whole number of seconds".to_owned())?;
                ttl = Some(Duration::from_secs(secs));
            }
            "--errors-in-body" => errors_in_body = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let api_key = api_key
        .filter(|k| !k.is_empty())
        .ok_or("missing API key: pass --api-key KEY or set KIE_API_KEY")?;
    let mut config = Config::new(api_key)
        .port(port)
        .errors_in_body(errors_in_body);
    if let Some(ttl) = ttl {
        config = config.ttl(ttl);
    }
    let emulator =
        Emulator::start(config).map_err(|e| format!("cannot listen on port {port}: {e}"))?;
    println!("listening on {}", emulator.base_url());
    emulator.wait();
    Ok(())
}
