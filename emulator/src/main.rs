//! `kie-upload-emulator`: runs the local stand-in for the kie.ai File Upload API until killed, so
//! programs and scripts can be tried without a key or a network.
//!
//! It prints `listening on URL` (and, with `--tls`, `CA certificate: PATH` on the next line) once
//! it accepts connections, so a script can wait for that line.

use std::process::ExitCode;
use std::time::Duration;

use kie_upload_emulator::{Config, Emulator};

const USAGE: &str = "usage: kie-upload-emulator [--port PORT] --api-key KEY [--ttl SECS] [--tls]
                           [--errors-as-status] [--max-connections N] [--ignore-expect]
                           [--answer-delay MS]

  --port PORT            port on 127.0.0.1 (default 8787; 0 picks a free one)
  --api-key KEY          the Bearer key to accept (default: env KIE_API_KEY)
  --ttl SECS             how long uploads can be downloaded (default 259200, 3 days)
  --tls                  serve HTTPS with a throwaway CA, whose certificate path is printed
  --errors-as-status     answer errors with their HTTP status; by default they come as HTTP 200
                         with the error in the body's code, as the live service does
  --errors-in-body       the default; accepted for compatibility
  --max-connections N    connections served at once; more get 503 (default 64)
  --ignore-expect        never answer `Expect: 100-continue` (default: answer it)
  --answer-delay MS      wait MS milliseconds before every answer, 100 Continue included, as a
                         long link would (default 0)";

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
    let mut errors_in_body = true;
    let mut tls = false;
    let mut honour_expect = true;
    let mut max_connections = None;
    let mut answer_delay = Duration::ZERO;
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
            "--errors-as-status" => errors_in_body = false,
            "--errors-in-body" => {}
            "--tls" => tls = true,
            "--ignore-expect" => honour_expect = false,
            "--max-connections" => {
                let n: usize = value("--max-connections")?
                    .parse()
                    .map_err(|_| "--max-connections takes a whole number".to_owned())?;
                max_connections = Some(n);
            }
            "--answer-delay" => {
                let ms: u64 = value("--answer-delay")?.parse().map_err(|_| {
                    "--answer-delay takes a whole number of milliseconds".to_owned()
                })?;
                answer_delay = Duration::from_millis(ms);
            }
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
        .errors_in_body(errors_in_body)
        .honour_expect(honour_expect)
        .answer_delay(answer_delay)
        .tls(tls);
    if let Some(ttl) = ttl {
        config = config.ttl(ttl);
    }
    if let Some(n) = max_connections {
        config = config.max_connections(n);
    }
    let emulator =
        Emulator::start(config).map_err(|e| format!("cannot listen on port {port}: {e}"))?;
    println!("listening on {}", emulator.base_url());
    if let Some(path) = emulator.ca_cert_path() {
        println!("CA certificate: {}", path.display());
    }
    emulator.wait();
    Ok(())
}
