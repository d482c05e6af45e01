//! Helpers shared by the integration tests: an emulator, a client for it, payloads from one seeded
//! generator, temporary files, a bound on how long a call may take, and child processes for
//! tests that set proxy variables.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::Read;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use kie_upload::{Client, ClientBuilder, Error};
use kie_upload_emulator::{Config, Emulator};

pub mod child;

/// The key every test emulator accepts. Distinctive, so a leak in any output is easy to find.
pub const KEY: &str = "sk-test-5ecret-k3y-9f8e7d";

/// The stream endpoint's path.
pub const STREAM: &str = "/api/file-stream-upload";

/// An emulator with the live service's defaults (errors inside HTTP 200 replies).
pub fn emulator() -> Emulator {
    emulator_with(Config::new(KEY))
}

pub fn emulator_with(config: Config) -> Emulator {
    Emulator::start(config).expect("start the emulator")
}

/// A builder for a client of `emulator`: its base URL (and CA, over TLS), no proxy from the
/// environment, short timeouts and backoff.
pub fn builder(emulator: &Emulator) -> ClientBuilder {
    let builder = builder_for(emulator.base_url());
    match emulator.ca_cert_pem() {
        Some(pem) => builder.root_certs_pem(pem),
        None => builder,
    }
}

pub fn builder_for(base_url: &str) -> ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        // Keep retried tests quick; the policy itself is what is under test, not the wait.
        .retry_backoff(Duration::from_millis(10))
}

pub fn client(emulator: &Emulator) -> Client {
    builder(emulator).build().expect("build the client")
}

/// The one seeded generator of the integration tests (xorshift64), so a failure replays.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// `len` bytes of a pattern that does not repeat with any short period.
pub fn payload(len: usize) -> Vec<u8> {
    Rng(0x9e37_79b9_7f4a_7c15).bytes(len)
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

/// A reader that hides its length, as a pipe or socket would.
pub struct Unsized<R>(pub R);

impl<R: Read> Read for Unsized<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

/// Runs `f` on a thread and fails the test if it has not returned within `limit`.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"))
}

/// Asserts the error shows no key in `Display` or `Debug` (or in its causes), and returns its
/// message.
pub fn message(err: &Error) -> String {
    let mut shown = format!("{err} {err:?}");
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        shown.push_str(&format!(" {c} {c:?}"));
        cause = c.source();
    }
    assert!(!shown.contains(KEY), "the key leaked: {shown}");
    assert_no_flag(err);
    err.to_string()
}

/// Asserts the error's line, as the library words it, names no command-line flag (`--` and a
/// letter): flags are the CLI's words, not the library's.
pub fn assert_no_flag(err: &Error) {
    let text = err.to_string();
    let b = text.as_bytes();
    let flag = (0..b.len().saturating_sub(2)).any(|i| {
        b[i] == b'-' && b[i + 1] == b'-' && b[i + 2].is_ascii_alphabetic()
            // A longer run of dashes (a PEM armour line) is not a flag.
            && (i == 0 || b[i - 1] != b'-')
    });
    assert!(!flag, "a library message names a flag: {text}");
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
