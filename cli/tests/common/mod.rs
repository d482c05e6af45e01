//! Helpers shared by the CLI's tests: the binary run in a clean environment with a bound on its
//! time (and a check that no output holds the key), an emulator, a library client for it (to seed
//! and read back uploads), payloads, temporary files, and a whole HTTP reply for `Fault::Raw`.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kie_upload::{Client, Upload};

#[cfg(unix)]
pub mod pty;
use kie_upload_emulator::{Config, Emulator};

/// The key every test emulator accepts. Distinctive, so a leak in any output is easy to find.
pub const KEY: &str = "sk-test-5ecret-k3y-9f8e7d";

/// The stream endpoint's path.
pub const STREAM: &str = "/api/file-stream-upload";

/// The system's words for a missing file, as the tool shows them after a colon: Unix's, or on
/// Windows its own ("the system cannot find the file specified") or wine's ("file not found").
pub const NO_SUCH_FILE: &[&str] = if cfg!(windows) {
    &["cannot find the file", "file not found"]
} else {
    &["no such file"]
};

/// Whether `text` holds `before` followed by the system's words for a missing file.
pub fn says_missing(text: &str, before: &str) -> bool {
    NO_SUCH_FILE
        .iter()
        .any(|words| text.contains(&format!("{before}{words}")))
}

/// An emulator with the live service's defaults (errors inside HTTP 200 replies).
pub fn emulator() -> Emulator {
    emulator_with(Config::new(KEY))
}

pub fn emulator_with(config: Config) -> Emulator {
    Emulator::start(config).expect("start the emulator")
}

/// A library client of `emulator`, for what a test does besides running the binary.
/// The file holding a TLS emulator's CA, for `--cacert` or `SSL_CERT_FILE`.
pub fn ca_file(emulator: &Emulator) -> String {
    let path = emulator.ca_cert_path().expect("a TLS emulator");
    path.to_str().expect("a UTF-8 path").to_owned()
}

pub fn client(emulator: &Emulator) -> Client {
    let builder = Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .no_proxy()
        .timeout(Duration::from_secs(10));
    match emulator.ca_cert_pem() {
        Some(pem) => builder.root_certs_pem(pem),
        None => builder,
    }
    .build()
    .expect("build the client")
}

/// `len` bytes of a pattern that does not repeat with any short period (xorshift64, seeded).
pub fn payload(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A temporary file holding `bytes`, named `name` inside a fresh temporary directory.
pub fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    (dir, path)
}

pub fn download(client: &Client, url: &str) -> Vec<u8> {
    let mut out = Vec::new();
    client.download_to(url, &mut out).expect("download");
    out
}

/// A whole HTTP/1.1 response with the given status line, content type and body, for
/// `Fault::Raw`.
pub fn http_reply(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What one run of the binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The binary with a clean environment: the emulator's base URL, no proxy, no other settings.
pub fn command(emulator: &Emulator) -> Command {
    in_clean_env(Command::new(env!("CARGO_BIN_EXE_kie-upload")), emulator)
}

/// `command` with the environment [`command`] gives the binary. On Windows a test that sets one
/// of these variables again gets the spelling removed here (std's `Command` compares names
/// case-insensitively there and keeps the first spelling): `HTTPS_PROXY`, not `https_proxy`.
pub fn in_clean_env(mut command: Command, emulator: &Emulator) -> Command {
    for var in [
        "KIE_API_KEY",
        "KIE_API_KEY_FILE",
        "KIE_BASE_URL",
        "SSL_CERT_FILE",
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(var);
    }
    command.env("KIE_BASE_URL", emulator.base_url());
    command
}

/// Runs the binary with `args`, `key` in the environment (unless empty), and `stdin` piped in.
pub fn run_with(emulator: &Emulator, key: &str, args: &[&str], stdin: &[u8]) -> Run {
    let mut command = command(emulator);
    if !key.is_empty() {
        command.env("KIE_API_KEY", key);
    }
    finish(command.args(args), stdin)
}

/// How long one run of the tool may take before the test kills it and fails.
pub const RUN_BOUND: Duration = Duration::from_secs(30);

pub fn finish(command: &mut Command, stdin: &[u8]) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kie-upload");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let collect = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = collect(Box::new(child.stdout.take().unwrap()));
    let stderr = collect(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kie-upload did not finish within {RUN_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    writer.join().unwrap();
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    // Whatever happened, the key shows nowhere, and nothing panicked.
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!text.contains(KEY), "the key leaked to {name}: {text}");
        assert!(!text.contains("panicked"), "{name}: {text}");
    }
    run
}

pub fn run(emulator: &Emulator, args: &[&str]) -> Run {
    run_with(emulator, KEY, args, b"")
}

pub fn upload_bytes(emulator: &Emulator, data: &[u8], name: &str, upload_path: &str) -> String {
    client(emulator)
        .upload(Upload::bytes(data, upload_path).file_name(name))
        .unwrap()
        .download_url
}

/// Spawns the binary with its standard output (or error) a pipe whose reader is already gone, as
/// after `| head -0`.
pub fn spawn_with_closed(emulator: &Emulator, args: &[&str], close_stderr: bool) -> Child {
    // A pipe whose only reader has already exited: the tool itself, printing its version (`true`
    // would do, but Windows has none).
    let mut reader = Command::new(env!("CARGO_BIN_EXE_kie-upload"))
        .arg("--version")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut writer = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    // Written to until it says its reader is gone: a child another test spawned at that moment
    // may hold a copy of the reading end until it execs (under load, long enough for the tool to
    // write before it closes).
    let bound = Instant::now() + Duration::from_secs(10);
    while writer.write_all(b"x").is_ok() {
        assert!(Instant::now() < bound, "the pipe's reader never went away");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut command = command(emulator);
    command
        .env("KIE_API_KEY", KEY)
        .args(args)
        .stdin(Stdio::null());
    if close_stderr {
        command.stdout(Stdio::null()).stderr(writer);
    } else {
        command.stdout(writer).stderr(Stdio::piped());
    }
    command.spawn().unwrap()
}

/// The exit status and standard error of a child spawned by [`spawn_with_closed`].
pub fn wait_with_stderr(mut child: Child) -> (Option<i32>, String) {
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).unwrap();
    }
    (child.wait().unwrap().code(), stderr)
}
