//! A local stand-in for the kie.ai File Upload API, for tests and offline demos.
//!
//! It serves the three upload endpoints with the documented fields and JSON envelope, checks the
//! Bearer key, parses multipart bodies with the independent `multipart` crate (Content-Length or
//! chunked), stores files in a temporary directory, and serves each `downloadUrl` without credentials
//! until its time to live runs out. Requests are handled concurrently, so a URL upload may fetch from
//! the emulator itself. Every request is recorded for tests to inspect, and tests can script faults
//! ([`Fault`]) for the next requests.
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

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

mod http;
mod service;
mod util;

use http::{Head, Reply};
use service::Outcome;

/// The service's retention: three days.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// How long a connection held by [`Fault::StopReading`] or [`Fault::NeverAnswer`] stays open at most.
const HOLD: Duration = Duration::from_secs(60);

/// How long an idle kept-alive connection waits for its next request.
const IDLE: Duration = Duration::from_secs(30);

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct Config {
    api_key: String,
    port: u16,
    ttl: Duration,
    errors_in_body: bool,
}

impl Config {
    /// Accepts `Authorization: Bearer <api_key>`; listens on a free port of 127.0.0.1; keeps files
    /// for [`DEFAULT_TTL`]; reports errors by HTTP status.
    pub fn new(api_key: impl Into<String>) -> Self {
        Config {
            api_key: api_key.into(),
            port: 0,
            ttl: DEFAULT_TTL,
            errors_in_body: false,
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

    /// Answer errors with HTTP 200 and the error in the body's `code`, as some clients report the
    /// real service doing. Default: `false` (a real HTTP status).
    pub fn errors_in_body(mut self, on: bool) -> Self {
        self.errors_in_body = on;
        self
    }
}

/// A scripted fault for the next upload requests (see [`Emulator::inject`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this HTTP status and the service's JSON error envelope, with a `Retry-After`
    /// header when given (seconds, or an HTTP date).
    Status {
        /// The HTTP status and the envelope's `code`.
        status: u16,
        /// The `Retry-After` header's value.
        retry_after: Option<String>,
    },
    /// Answer HTTP 200 with this `code` and `"success": false` in the body.
    BodyCode {
        /// The envelope's `code`.
        code: u16,
        /// The `Retry-After` header's value.
        retry_after: Option<String>,
    },
    /// Read this many bytes of the body, then close the connection.
    CloseAfter(u64),
    /// Read this many bytes of the body, then stop reading and hold the connection open.
    StopReading(u64),
    /// Read the whole body and never answer (the connection stays open).
    NeverAnswer,
    /// Answer with a proxy's HTML error page and this status.
    Html(u16),
    /// Answer HTTP 200 with a body that is not JSON.
    MalformedJson,
    /// Announce a JSON reply and close the connection halfway through it.
    TruncatedJson,
    /// Answer HTTP 200 with a JSON reply of this many bytes.
    HugeReply(usize),
    /// Answer with a redirect: this status and `Location`.
    Redirect(u16, String),
    /// Store the file but report a `fileSize` one larger than the bytes received.
    WrongSize,
    /// Answer normally, one byte at a time with this pause between bytes.
    Drip(Duration),
}

/// One request the emulator received, as it parsed it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request path, prefix included.
    pub path: String,
    /// Whether the right Bearer key came with it.
    pub authorized: bool,
    /// Whether an `Authorization` header came at all.
    pub had_authorization: bool,
    /// The `Content-Length` header, if any.
    pub content_length: Option<u64>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
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
    /// The HTTP status of the reply (0 when the fault sent none).
    pub status: u16,
    /// The service `code` in the reply (0 when there was none).
    pub code: u16,
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part {
    /// The `name` parameter.
    pub name: String,
    /// The `filename` parameter, exactly as the parser read it (escapes are not undone).
    pub filename: Option<String>,
    /// The part's `Content-Type`.
    pub content_type: Option<String>,
    /// The part's value for text parts (lossy UTF-8), empty for the file part.
    pub text: String,
    /// The number of bytes in the part.
    pub size: u64,
}

struct Stored {
    disk: PathBuf,
    size: u64,
    mime: String,
    stored_at: SystemTime,
}

struct State {
    config: Config,
    port: u16,
    base_url: String,
    dir: tempfile::TempDir,
    files: Mutex<HashMap<String, Stored>>,
    requests: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<VecDeque<Fault>>,
    next_id: AtomicU64,
    next_connection: AtomicU64,
    fetcher: ureq::Agent,
    stopping: AtomicBool,
}

/// A running emulator; it stops, and its files are deleted, when dropped.
pub struct Emulator {
    state: Arc<State>,
    acceptor: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts the emulator on 127.0.0.1 and returns once it accepts connections.
    pub fn start(config: Config) -> io::Result<Emulator> {
        let listener = TcpListener::bind(("127.0.0.1", config.port))?;
        let port = listener.local_addr()?.port();
        let fetcher = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        let state = Arc::new(State {
            port,
            base_url: format!("http://127.0.0.1:{port}"),
            config,
            dir: tempfile::Builder::new()
                .prefix("kie-upload-emulator")
                .tempdir()?,
            files: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(0),
            next_connection: AtomicU64::new(0),
            fetcher,
            stopping: AtomicBool::new(false),
        });
        let acceptor = {
            let state = Arc::clone(&state);
            thread::Builder::new()
                .name("emulator-accept".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if state.stopping.load(Ordering::SeqCst) {
                            return;
                        }
                        let Ok(stream) = stream else { continue };
                        let state = Arc::clone(&state);
                        // A thread a connection, so a URL upload can fetch from this emulator.
                        let _ = thread::Builder::new()
                            .name("emulator-conn".into())
                            .spawn(move || serve_connection(&state, stream));
                    }
                })?
        };
        Ok(Emulator {
            state,
            acceptor: Some(acceptor),
        })
    }

    /// `http://127.0.0.1:PORT`, the base URL to give a client.
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.state.port
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        &self.state.config.api_key
    }

    /// Applies `fault` to the next `times` requests to the upload endpoints (after any faults already
    /// scripted). Downloads are never affected.
    pub fn inject(&self, fault: Fault, times: usize) {
        let mut faults = lock(&self.state.faults);
        faults.extend(std::iter::repeat_n(fault, times));
    }

    /// Drops the scripted faults not yet applied.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// The requests received so far for an endpoint path ending in `endpoint`, such as
    /// `/api/file-stream-upload`: the attempts a client made.
    pub fn attempts(&self, endpoint: &str) -> usize {
        lock(&self.state.requests)
            .iter()
            .filter(|r| r.path.ends_with(endpoint))
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.state.requests).clear();
    }

    /// The bytes stored under `file_path` (`uploadPath/fileName`), if any.
    pub fn stored(&self, file_path: &str) -> Option<Vec<u8>> {
        let disk = lock(&self.state.files).get(file_path)?.disk.clone();
        std::fs::read(disk).ok()
    }

    /// Blocks until the server stops (for the binary, which runs until killed).
    pub fn wait(mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor with a connection of our own.
        let _ = TcpStream::connect(("127.0.0.1", self.port()));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one connection thread must not take the emulator down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits for the first byte of a next request, giving up when idle too long or stopping.
fn await_request(state: &State, reader: &mut BufReader<TcpStream>) -> bool {
    let started = Instant::now();
    let _ = reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)));
    loop {
        match reader.fill_buf() {
            Ok([]) => return false,
            Ok(_) => break,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if state.stopping.load(Ordering::SeqCst) || started.elapsed() > IDLE {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    let _ = reader.get_ref().set_read_timeout(Some(HOLD));
    true
}

fn serve_connection(state: &State, stream: TcpStream) {
    let connection = state.next_connection.fetch_add(1, Ordering::Relaxed);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    while await_request(state, &mut reader) {
        let head = match http::read_head(&mut reader) {
            Ok(Some(head)) => head,
            _ => return,
        };
        if head
            .header("Expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
        {
            let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let keep_alive = head.keep_alive;
        let mut body = http::Body::new(&mut reader, &head);
        let Some(reply) = handle(state, connection, &head, &mut body, &mut writer) else {
            return; // a fault took the connection
        };
        // Read what is left of the body, so the client sees the reply rather than a reset.
        if io::copy(&mut body, &mut io::sink()).is_err() {
            return;
        }
        if reply.write_to(&mut writer, keep_alive).is_err() || !keep_alive {
            return;
        }
    }
}

/// Handles one request; `None` when a fault has already dealt with the connection.
fn handle(
    state: &State,
    connection: u64,
    head: &Head,
    body: &mut dyn Read,
    writer: &mut TcpStream,
) -> Option<Reply> {
    let path = head.path().to_owned();
    let auth = head.header("Authorization");
    let mut record = RecordedRequest {
        method: head.method.clone(),
        path: path.clone(),
        authorized: auth == Some(&format!("Bearer {}", state.config.api_key)),
        had_authorization: auth.is_some(),
        content_length: head.content_length(),
        chunked: head.is_chunked(),
        content_type: head.header("Content-Type").map(str::to_owned),
        parts: Vec::new(),
        json_fields: BTreeMap::new(),
        fault: None,
        connection,
        status: 0,
        code: 0,
    };

    if head.method == "GET" {
        if let Some(file_path) = path.strip_prefix("/files/") {
            let reply = service::serve_download(state, file_path);
            record.status = reply.status;
            record.code = reply.status;
            // Recorded before the reply goes out, so a client that has its answer sees the record.
            lock(&state.requests).push(record);
            return Some(reply);
        }
    }

    let endpoint = [
        "file-stream-upload",
        "file-base64-upload",
        "file-url-upload",
    ]
    .into_iter()
    .find(|e| path.ends_with(&format!("/api/{e}")));
    let fault = endpoint.and_then(|_| lock(&state.faults).pop_front());
    record.fault = fault.clone();

    // Faults that act on the connection before or instead of the service.
    match &fault {
        Some(Fault::CloseAfter(n)) => {
            let _ = io::copy(&mut body.take(*n), &mut io::sink());
            lock(&state.requests).push(record);
            let _ = writer.shutdown(Shutdown::Both);
            return None;
        }
        Some(Fault::StopReading(n)) => {
            let _ = io::copy(&mut body.take(*n), &mut io::sink());
            lock(&state.requests).push(record);
            hold(state);
            return None;
        }
        Some(Fault::NeverAnswer) => {
            let _ = io::copy(body, &mut io::sink());
            lock(&state.requests).push(record);
            hold(state);
            return None;
        }
        Some(
            fault @ (Fault::Status { .. }
            | Fault::BodyCode { .. }
            | Fault::Html(_)
            | Fault::MalformedJson
            | Fault::HugeReply(_)
            | Fault::Redirect(..)),
        ) => {
            let _ = io::copy(body, &mut io::sink());
            let reply = canned_reply(fault);
            record.status = reply.status;
            lock(&state.requests).push(record);
            return Some(reply);
        }
        Some(Fault::TruncatedJson) => {
            let _ = io::copy(body, &mut io::sink());
            lock(&state.requests).push(record);
            let json = br#"{"success": true, "code": 200, "data": {"fileName": "#;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                json.len() * 2
            );
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(json);
            let _ = writer.shutdown(Shutdown::Both);
            return None;
        }
        _ => {}
    }

    let mut outcome = match endpoint {
        None => Outcome::error(404, "Not found"),
        Some(_) if head.method != "POST" => Outcome::error(405, "Method not allowed"),
        Some(_) if !record.authorized => {
            Outcome::error(401, "Unauthorized: invalid or missing API key")
        }
        Some("file-stream-upload") => service::stream_upload(state, head, body, &mut record.parts),
        Some("file-base64-upload") => {
            service::base64_upload(state, body, &mut record.json_fields).unwrap_or_else(|e| e)
        }
        Some(_) => service::url_upload(state, body, &mut record.json_fields).unwrap_or_else(|e| e),
    };
    if fault == Some(Fault::WrongSize) {
        if let Some(size) = outcome.body["data"]["fileSize"].as_u64() {
            outcome.body["data"]["fileSize"] = Value::from(size + 1);
        }
    }

    record.code = outcome.code;
    record.status = if outcome.status != 200 && state.config.errors_in_body {
        200
    } else {
        outcome.status
    };
    let reply = Reply::bytes(
        record.status,
        "application/json",
        outcome.body.to_string().into_bytes(),
    );
    lock(&state.requests).push(record);
    if let Some(Fault::Drip(pause)) = fault {
        let _ = drip(writer, reply, pause);
        return None;
    }
    Some(reply)
}

fn canned_reply(fault: &Fault) -> Reply {
    let envelope = |code: u16| {
        serde_json::json!({"success": false, "code": code, "msg": format!("Injected fault: code {code}")})
            .to_string()
            .into_bytes()
    };
    match fault {
        Fault::Status {
            status,
            retry_after,
        } => {
            let reply = Reply::bytes(*status, "application/json", envelope(*status));
            match retry_after {
                Some(v) => reply.with_header("Retry-After", v),
                None => reply,
            }
        }
        Fault::BodyCode { code, retry_after } => {
            let reply = Reply::bytes(200, "application/json", envelope(*code));
            match retry_after {
                Some(v) => reply.with_header("Retry-After", v),
                None => reply,
            }
        }
        Fault::Html(status) => Reply::bytes(
            *status,
            "text/html",
            format!(
                "<!DOCTYPE html><html><head><title>{status} | Gateway error</title></head>\
                 <body><h1>Error {status}</h1><p>The origin web server is not reachable.</p>\
                 </body></html>"
            )
            .into_bytes(),
        ),
        Fault::MalformedJson => Reply::bytes(
            200,
            "application/json",
            b"{\"success\": true, \"code\": 200, \"data\": {\"fileName\" 'oops'".to_vec(),
        ),
        Fault::HugeReply(n) => {
            let pad = "x".repeat(n.saturating_sub(40));
            Reply::bytes(
                200,
                "application/json",
                format!(r#"{{"success": true, "code": 200, "pad": "{pad}"}}"#).into_bytes(),
            )
        }
        Fault::Redirect(status, location) => {
            Reply::bytes(*status, "text/plain", Vec::new()).with_header("Location", location)
        }
        _ => Reply::bytes(500, "text/plain", b"unscripted fault".to_vec()),
    }
}

/// Keeps a connection open without reading or writing, until the emulator stops or [`HOLD`] ends.
fn hold(state: &State) {
    let started = Instant::now();
    while !state.stopping.load(Ordering::SeqCst) && started.elapsed() < HOLD {
        thread::sleep(Duration::from_millis(50));
    }
}

fn drip(writer: &mut TcpStream, mut reply: Reply, pause: Duration) -> io::Result<()> {
    let mut bytes = reply.head(true);
    reply.body.read_to_end(&mut bytes)?;
    for b in bytes {
        writer.write_all(&[b])?;
        writer.flush()?;
        thread::sleep(pause);
    }
    Ok(())
}
