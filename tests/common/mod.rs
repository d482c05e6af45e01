//! Helpers shared by the integration tests: an emulator, a client for it, payloads, temp files, and
//! a canned-reply server for replies the emulator never gives.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use kie_upload::Client;
use kie_upload_emulator::{Config, Emulator};

/// The key every test emulator accepts. Distinctive, so a leak in any output is easy to find.
pub const KEY: &str = "sk-test-5ecret-k3y-9f8e7d";

pub fn emulator() -> Emulator {
    Emulator::start(Config::new(KEY)).expect("start the emulator")
}

pub fn client(emulator: &Emulator) -> Client {
    client_for(emulator.base_url())
}

pub fn client_for(base_url: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        .timeout(Duration::from_secs(10))
        // Keep retried tests quick; the policy itself is what is under test, not the wait.
        .retry_backoff(Duration::from_millis(10))
        .build()
        .expect("build the client")
}

/// `len` bytes of a pattern that does not repeat with any short period.
pub fn payload(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
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

/// A server that answers every request with `reply` (a whole HTTP response) after reading the
/// request, and hands each request's head (headers) to the returned receiver.
pub fn canned_server(reply: Vec<u8>) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0u64;
            let mut chunked = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            if chunked {
                // Read chunks until the zero-length one.
                loop {
                    let mut size = String::new();
                    if reader.read_line(&mut size).unwrap_or(0) == 0 {
                        break;
                    }
                    let n = u64::from_str_radix(size.trim(), 16).unwrap_or(0);
                    let _ = std::io::copy(&mut (&mut reader).take(n + 2), &mut std::io::sink());
                    if n == 0 {
                        break;
                    }
                }
            } else {
                let _ = std::io::copy(&mut (&mut reader).take(length), &mut std::io::sink());
            }
            let _ = tx.send(head);
            let mut stream = stream;
            let _ = stream.write_all(&reply);
            let _ = stream.flush();
        }
    });
    (base, rx)
}

/// A whole HTTP/1.1 response with the given status line, content type and body.
pub fn http_reply(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
