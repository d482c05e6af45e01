//! Helpers shared by the emulator's tests: emulators, raw HTTP over plain or TLS sockets, ureq
//! agents, multipart bodies.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use kie_upload_emulator::{Config, Emulator};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;

/// The key every test emulator accepts. Distinctive, so a leak in any output is easy to find.
pub const KEY: &str = "sk-test-5ecret-k3y-9f8e7d";

pub const STREAM: &str = "/api/file-stream-upload";
pub const BASE64: &str = "/api/file-base64-upload";
pub const URL: &str = "/api/file-url-upload";

/// An emulator with the default settings (errors in the body).
pub fn emulator() -> Emulator {
    start(Config::new(KEY))
}

pub fn start(config: Config) -> Emulator {
    Emulator::start(config).expect("start the emulator")
}

/// A ureq agent that reports every status as a response, uses no proxy from the environment, and
/// trusts the emulator's CA when it has one.
pub fn agent(emulator: &Emulator) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(20)));
    if let Some(pem) = emulator.ca_cert_pem() {
        config = config.tls_config(trusting(pem));
    }
    config.build().new_agent()
}

/// ureq's TLS settings with the emulator's CA as the only root.
pub fn trusting(pem: &str) -> ureq::tls::TlsConfig {
    let ca = ureq::tls::Certificate::from_pem(pem.as_bytes()).expect("a PEM certificate");
    ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
        .build()
}

/// POSTs `body` with `content_type` and the right key; returns the HTTP status and the JSON reply.
pub fn post(emulator: &Emulator, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let mut response = agent(emulator)
        .post(format!("{}{path}", emulator.base_url()))
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Content-Type", content_type)
        .send(body)
        .expect("a response");
    let text = response.body_mut().read_to_string().expect("a body");
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    (response.status().as_u16(), json)
}

/// GETs a URL with no credentials; returns the status and the body.
pub fn get(emulator: &Emulator, url: &str) -> (u16, Vec<u8>) {
    let mut response = agent(emulator).get(url).call().expect("a response");
    let body = response
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .expect("a body");
    (response.status().as_u16(), body)
}

/// A multipart body with boundary `XyZ`: `(name, filename, value)` for each part.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, value) in parts {
        body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"");
        body.extend_from_slice(name.as_bytes());
        body.push(b'"');
        if let Some(f) = filename {
            body.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    body
}

pub const FORM: &str = "multipart/form-data; boundary=XyZ";

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

/// A stream upload of `file` to `uploadPath` `p` with this `fileName`.
pub fn stream_body(file_name: &str, file: &[u8]) -> Vec<u8> {
    multipart(&[
        ("uploadPath", None, b"p"),
        ("fileName", None, file_name.as_bytes()),
        ("file", Some(file_name), file),
    ])
}

/// A raw connection to the emulator, plain or TLS (trusting its CA), with a 10 s read timeout.
pub fn raw(emulator: &Emulator) -> Box<dyn Stream> {
    let tcp = TcpStream::connect(("127.0.0.1", emulator.port())).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    match emulator.ca_cert_pem() {
        None => Box::new(tcp),
        Some(pem) => Box::new(tls_client(pem, tcp)),
    }
}

/// A socket that can be read and written, plain or TLS, with the TCP socket underneath at hand.
pub trait Stream: Read + Write + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Stream for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Stream for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref()
    }
}

/// A rustls client over `tcp` that trusts only the CA in `pem`, for `127.0.0.1`.
pub fn tls_client(
    pem: &str,
    tcp: TcpStream,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM certificate"))
        .expect("a CA certificate");
    let provider = Arc::new(kie_upload_emulator::ring_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("127.0.0.1").unwrap().to_owned();
    let session = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    rustls::StreamOwned::new(session, tcp)
}

/// A reply read off the wire.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.text()))
    }
}

/// Reads one reply: `100 Continue` interim replies are skipped when `skip_continue`, the body is
/// read by `Content-Length`, or to the end of the stream without one.
pub fn read_reply(stream: &mut dyn Read, skip_continue: bool) -> io::Result<RawReply> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, line.clone()))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':').expect("a header line");
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let mut reply = RawReply {
            status,
            headers,
            body: Vec::new(),
        };
        if status == 100 && skip_continue {
            continue;
        }
        if status != 100 {
            match reply
                .header("Content-Length")
                .map(|v| v.parse::<u64>().unwrap())
            {
                Some(n) => {
                    (&mut reader).take(n).read_to_end(&mut reply.body)?;
                }
                None => {
                    reader.read_to_end(&mut reply.body)?;
                }
            }
        }
        return Ok(reply);
    }
}

/// Sends `request` on a new raw connection and reads the reply.
pub fn exchange(emulator: &Emulator, request: &[u8]) -> RawReply {
    let mut stream = raw(emulator);
    stream.write_all(request).expect("send the request");
    stream.flush().unwrap();
    read_reply(&mut stream, true).expect("a reply")
}

/// The head of an authorized POST to `path` with these extra header lines (each ending in CRLF).
pub fn post_head(path: &str, extra: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n{extra}\r\n")
}

/// Writes `chunk` over and over until a write fails (or `limit` bytes went); true if one failed.
pub fn write_until_error(stream: &mut dyn Write, limit: usize) -> bool {
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < limit {
        if stream
            .write_all(&chunk)
            .and_then(|()| stream.flush())
            .is_err()
        {
            return true;
        }
        sent += chunk.len();
    }
    false
}

/// Whether the peer has closed: a read returns end of stream or an error.
pub fn is_closed(stream: &mut dyn Read) -> bool {
    let mut buf = [0u8; 1];
    !matches!(stream.read(&mut buf), Ok(n) if n > 0)
}
