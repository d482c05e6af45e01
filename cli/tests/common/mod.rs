//! Helpers shared by the CLI's tests: an emulator, a library client for it (to seed and read back
//! uploads), payloads, temporary files, and a whole HTTP reply for `Fault::Raw`.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::time::Duration;

use kie_upload::Client;
use kie_upload_emulator::{Config, Emulator};

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

/// A library client of `emulator`, for what a test does besides running the binary.
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
