//! A local stand-in for the kie.ai File Upload API, for tests and offline demos.
//!
//! It serves the three upload endpoints (`/api/file-stream-upload`, `/api/file-base64-upload`,
//! `/api/file-url-upload`) with the documented fields and JSON envelope, checks the Bearer key,
//! parses multipart bodies with an independent parser ([multer]), stores files in a temporary
//! directory and serves each `downloadUrl` without credentials until its time to live runs out.
//!
//! It is meant to be as hard on a client as the live service and the front ends before it:
//!
//! - errors come, by default, as HTTP 200 with the error in the body's `code`, as independent
//!   clients found the live service doing ([`Config::errors_in_body`]);
//! - request heads and chunk size lines are bounded (431 or 400, then the connection is closed),
//!   connections beyond [`Config::max_connections`] get a 503, and the base64 endpoint refuses more
//!   than [`BASE64_MAX_DECODED`] bytes;
//! - tests script [`Fault`]s for the next uploads: error statuses, HTML pages from a proxy, early
//!   refusals that close the socket while the client is still sending, stalls, truncated or
//!   malformed replies, the second documented success shape, replies that echo the API key back;
//! - it can serve HTTPS with a throwaway certificate authority ([`Config::tls`]), and
//!   [`ConnectProxy`] is a CONNECT proxy to put in front of it.
//!
//! Requests are handled concurrently (a thread a connection), so a URL upload may fetch from the
//! emulator itself. Every request is recorded for tests to inspect ([`Emulator::requests`]).
//!
//! ```
//! use kie_upload_emulator::{Config, Emulator, Fault};
//!
//! let emulator = Emulator::start(Config::new("test-key"))?;
//! println!("listening on {}", emulator.base_url());
//! // The next two uploads get a 503; the third goes through.
//! emulator.inject(Fault::Status { status: 503, retry_after: None }, 2);
//! assert!(emulator.requests().is_empty());
//! # Ok::<_, std::io::Error>(())
//! ```
//!
//! Nothing here reaches the network beyond 127.0.0.1, except a URL upload of a URL elsewhere.
//!
//! [multer]: https://docs.rs/multer

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rust_2018_idioms)]

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::Duration;

mod faults;
mod form;
mod http;
mod proxy;
mod server;
mod service;
mod store;
mod tls;
mod util;

pub use proxy::ConnectProxy;

/// The service's retention: three days.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// The default cap on connections served at once (see [`Config::max_connections`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// The most bytes the base64 endpoint accepts, counted after decoding: the service's 10 MB.
pub const BASE64_MAX_DECODED: u64 = 10_000_000;

/// How the emulator behaves; built with `mut self -> Self` setters.
#[derive(Clone)]
pub struct Config {
    pub(crate) api_key: String,
    pub(crate) port: u16,
    pub(crate) ttl: Duration,
    pub(crate) errors_in_body: bool,
    pub(crate) max_connections: usize,
    pub(crate) honour_expect: bool,
    pub(crate) tls: bool,
}

impl Config {
    /// Accepts `Authorization: Bearer <api_key>`; every other setting at its default.
    pub fn new(api_key: impl Into<String>) -> Self {
        Config {
            api_key: api_key.into(),
            port: 0,
            ttl: DEFAULT_TTL,
            errors_in_body: true,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            honour_expect: true,
            tls: false,
        }
    }

    /// The port on 127.0.0.1. Default: 0, a free port chosen by the system.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// How long an upload can be downloaded. Default: [`DEFAULT_TTL`] (3 days).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Answer the service's errors with HTTP 200 and the error in the body's `code` (`true`), as
    /// independent clients found the live service doing, or with the error's own HTTP status
    /// (`false`). Default: `true`.
    ///
    /// Only the service's envelope follows this; a fault that names an HTTP status
    /// ([`Fault::Status`], [`Fault::Html`], ...) and the front end's own refusals (431, 503, a bad
    /// chunk) always use a real status.
    pub fn errors_in_body(mut self, on: bool) -> Self {
        self.errors_in_body = on;
        self
    }

    /// How many connections are served at once; one more is answered `503 Service Unavailable`
    /// with `Retry-After: 1` and closed. A URL upload that fetches from the emulator itself needs
    /// a second connection. Default: [`DEFAULT_MAX_CONNECTIONS`] (64).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Answer `Expect: 100-continue` with `HTTP/1.1 100 Continue` before reading the body (`true`),
    /// or ignore the header and just wait for the body (`false`), as many servers do.
    /// Default: `true`.
    pub fn honour_expect(mut self, on: bool) -> Self {
        self.honour_expect = on;
        self
    }

    /// Serve HTTPS instead of HTTP, with a server certificate for `127.0.0.1`, `::1` and
    /// `localhost` signed by a certificate authority made up at start (see
    /// [`Emulator::ca_cert_pem`]). Default: `false`.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key stays out of Debug output, as everywhere in this project.
        f.debug_struct("Config")
            .field("port", &self.port)
            .field("ttl", &self.ttl)
            .field("errors_in_body", &self.errors_in_body)
            .field("max_connections", &self.max_connections)
            .field("honour_expect", &self.honour_expect)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// A scripted fault for the next upload requests (see [`Emulator::inject`]).
///
/// Faults apply to the three upload endpoints only, never to downloads. A request that meets a
/// fault is still recorded, once, with [`RecordedRequest::fault`] set.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Read the body, then answer with this HTTP status and the service's JSON error envelope
    /// (`code` = `status`), with a `Retry-After` header when given.
    Status {
        /// The HTTP status and the envelope's `code`.
        status: u16,
        /// The `Retry-After` header's value (seconds, or an HTTP date).
        retry_after: Option<String>,
    },
    /// Read the body, then answer HTTP 200 with this `code` and `"success": false` in the body.
    BodyCode {
        /// The envelope's `code`.
        code: u16,
        /// The `Retry-After` header's value (seconds, or an HTTP date).
        retry_after: Option<String>,
    },
    /// Read this many bytes of the body, then close the connection without an answer.
    CloseAfter(u64),
    /// Read this many bytes of the body, then stop reading and hold the connection open (60 s at
    /// most, or until the emulator stops).
    StopReading(u64),
    /// Read the whole body and never answer (the connection is held as with
    /// [`Fault::StopReading`]).
    NeverAnswer,
    /// Read the body, then answer with a proxy's HTML error page and this status.
    Html(u16),
    /// Read the body, then answer HTTP 200 with a body that is not JSON.
    MalformedJson,
    /// Read the body, then announce a JSON reply and close the connection halfway through it.
    TruncatedJson,
    /// Read the body, then answer HTTP 200 with a JSON reply of this many bytes.
    HugeReply(usize),
    /// Read the body, then answer with a redirect: this status and `Location`.
    Redirect(u16, String),
    /// Store the file but report a `fileSize` one larger than the bytes received.
    WrongSize,
    /// Store the file and answer normally, one byte at a time with this pause between bytes, then
    /// close the connection.
    Drip(Duration),
    /// An early refusal by an auth filter or proxy: read `bytes` bytes of the body (after
    /// `100 Continue`, if the client asked and [`Config::honour_expect`] is on), write a whole
    /// reply with `Connection: close`, and close the socket at once without reading the rest, so
    /// the client's next write fails with a reset or a broken pipe. Nothing is stored.
    ///
    /// With `code: Some(c)` the reply is the service's envelope with `code` `c` and HTTP status
    /// `status` (200 models an error inside a 200 body); with `code: None` it is a proxy's HTML
    /// error page with HTTP status `status` (413 "Request Entity Too Large", say).
    RefuseAfter {
        /// Bytes of the body read before the refusal.
        bytes: u64,
        /// The reply's HTTP status.
        status: u16,
        /// The envelope's `code`, or `None` for an HTML page.
        code: Option<u16>,
    },
    /// A refusal at the headers: answer as [`Fault::RefuseAfter`] right after reading the request
    /// head, before any `100 Continue` and without reading any of the body, then close.
    RefuseAtHeaders {
        /// The reply's HTTP status.
        status: u16,
        /// The envelope's `code`, or `None` for an HTML page.
        code: Option<u16>,
    },
    /// A slow front end that refuses late: read the body 16 KiB at a time every 20 ms until
    /// `after` has passed, then answer as [`Fault::RefuseAfter`] and close.
    RefuseLate {
        /// How long to read before refusing.
        after: Duration,
        /// The reply's HTTP status.
        status: u16,
        /// The envelope's `code`, or `None` for an HTML page.
        code: Option<u16>,
    },
    /// A broken server that answers success after reading only `bytes` of the body, then closes:
    /// the reply's `data` names a file that was never stored, with `fileSize` when given (none
    /// when `None`). A client must not take this for a stored upload.
    SucceedEarly {
        /// Bytes of the body read before the answer.
        bytes: u64,
        /// The `fileSize` to report, if any.
        file_size: Option<u64>,
    },

    /// Store the upload but answer in the second documented success shape: `data` holds
    /// `fileId`, `originalName`, `uploadPath`, `fileUrl`, `downloadUrl`, `fileSize`, `mimeType`,
    /// `uploadTime` and `expiresAt` (stored time + TTL), and no `fileName`, `filePath` or
    /// `uploadedAt`. `downloadUrl` is the working download URL; `fileUrl` differs from it
    /// (`{base}/files-by-id/<fileId>`) and answers 404.
    QuickstartShape,
    /// Read the body, then answer with a proxy's debug page that echoes the request headers,
    /// `Authorization` included, so tests can check that a client redacts the key it shows.
    ///
    /// `json: false`: an HTML page with HTTP status `status` whose title and body list the
    /// headers HTML-escaped, with the `Authorization` value percent-encoded in a "retry" link.
    /// `json: true`: the service's envelope with `code` `status` and the `msg`
    /// `"Invalid token in header Authorization: Bearer <key as received>"`, sent like the
    /// service's other errors (see [`Config::errors_in_body`]).
    EchoHeaders {
        /// The HTTP status (HTML) or the envelope's `code` (JSON).
        status: u16,
        /// The service's JSON envelope instead of an HTML page.
        json: bool,
    },
    /// Read the body, then answer an error envelope (`code` 400) whose `msg` carries terminal
    /// escapes and bidirectional and zero-width characters:
    /// `"bad \u{1b}]0;pwned\u{7} request \u{1b}[2J\u{202e}txt.exe\u{200b}"`.
    ControlChars,
    /// Read the whole body, store nothing, write these exact bytes as the whole response (status
    /// line, headers, body), then close the connection: any reply the other faults don't give.
    Raw(Vec<u8>),
}

/// One request the emulator received, as it parsed it.
///
/// A connection refused before a request head could be read (a head too large or malformed, or
/// one beyond [`Config::max_connections`]) leaves no record. Its `Debug` output shows the
/// `Authorization` header's value as `[redacted]`.
#[derive(Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request path, prefix included, without the query string.
    pub path: String,
    /// Every header field, in the order received, names as sent and values trimmed (lossy UTF-8).
    pub headers: Vec<(String, String)>,
    /// Whether the right Bearer key came with it.
    pub authorized: bool,
    /// Whether an `Authorization` header came at all.
    pub had_authorization: bool,
    /// The `Content-Length` header, if any.
    pub content_length: Option<u64>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// Whether the request carried `Expect: 100-continue`.
    pub expect_continue: bool,
    /// Bytes of the request body the server read (after chunked decoding), including for faults
    /// that stop reading early.
    pub body_read: u64,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The multipart parts, in order, as the independent parser read them.
    pub parts: Vec<Part>,
    /// The string fields of a JSON body (base64 and URL uploads); `base64Data` is cut to its first
    /// 64 characters.
    pub json_fields: BTreeMap<String, String>,
    /// The fault applied to this request, if one was scripted.
    pub fault: Option<Fault>,
    /// Which connection carried it: requests on one kept-alive connection share the number.
    pub connection: u64,
    /// The HTTP status of the reply (0 when none was sent).
    pub status: u16,
    /// The `code` in the reply's JSON envelope (0 when there was none); for a download, its
    /// HTTP status.
    pub code: u16,
}

impl RecordedRequest {
    /// The value of the first header called `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key stays out of Debug output, as everywhere in this project.
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| match k.eq_ignore_ascii_case("Authorization") {
                true => (k.as_str(), "[redacted]"),
                false => (k.as_str(), v.as_str()),
            })
            .collect();
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &headers)
            .field("authorized", &self.authorized)
            .field("had_authorization", &self.had_authorization)
            .field("content_length", &self.content_length)
            .field("chunked", &self.chunked)
            .field("expect_continue", &self.expect_continue)
            .field("body_read", &self.body_read)
            .field("content_type", &self.content_type)
            .field("parts", &self.parts)
            .field("json_fields", &self.json_fields)
            .field("fault", &self.fault)
            .field("connection", &self.connection)
            .field("status", &self.status)
            .field("code", &self.code)
            .finish()
    }
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Part {
    /// The `name` parameter (empty when there was none).
    pub name: String,
    /// The `filename` parameter, exactly as the parser read it (percent-escapes are not undone).
    pub filename: Option<String>,
    /// The part's `Content-Type`, as sent.
    pub content_type: Option<String>,
    /// The part's value for text parts (lossy UTF-8, the first 64 KiB), empty for the file part.
    pub text: String,
    /// The number of bytes in the part.
    pub size: u64,
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// A running emulator; it stops, and its files are deleted, when dropped.
pub struct Emulator {
    server: server::Server,
}

impl Emulator {
    /// Starts the emulator on 127.0.0.1 and returns once it accepts connections.
    ///
    /// Fails when the port cannot be bound or the temporary directory cannot be made.
    pub fn start(config: Config) -> io::Result<Emulator> {
        Ok(Emulator {
            server: server::Server::start(config)?,
        })
    }

    /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` with [`Config::tls`]: the base URL to
    /// give a client.
    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        self.server.api_key()
    }

    /// Whether it serves HTTPS ([`Config::tls`]).
    pub fn is_tls(&self) -> bool {
        self.server.ca_cert().is_some()
    }

    /// The certificate authority (PEM) that signed the server's certificate, with
    /// [`Config::tls`]: give it to a client as a root to trust.
    ///
    /// ```
    /// use kie_upload_emulator::{Config, Emulator};
    ///
    /// let emulator = Emulator::start(Config::new("test-key").tls(true))?;
    /// assert!(emulator.base_url().starts_with("https://127.0.0.1:"));
    /// assert!(emulator.ca_cert_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.server.ca_cert().map(|ca| ca.pem.as_str())
    }

    /// The file, in the emulator's temporary directory, that holds [`Emulator::ca_cert_pem`].
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.server.ca_cert().map(|ca| ca.path.as_path())
    }

    /// Applies `fault` to the next `times` requests to the upload endpoints (after any faults already
    /// scripted). Downloads are never affected.
    pub fn inject(&self, fault: Fault, times: usize) {
        self.server.inject(fault, times);
    }

    /// Drops the scripted faults not yet applied.
    pub fn clear_faults(&self) {
        self.server.clear_faults();
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// The requests received so far for an endpoint path ending in `endpoint`, such as
    /// `/api/file-stream-upload`: the attempts a client made.
    pub fn attempts(&self, endpoint: &str) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(endpoint))
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.server.clear_requests();
    }

    /// The bytes stored under `file_path` (`uploadPath/fileName`), if any.
    pub fn stored(&self, file_path: &str) -> Option<Vec<u8>> {
        self.server.stored(file_path)
    }

    /// Blocks until the server stops (for the binary, which runs until killed).
    pub fn wait(self) {
        self.server.wait();
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key stays out of Debug output, as everywhere in this project.
        f.debug_struct("Emulator")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}
