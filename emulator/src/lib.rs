//! A local stand-in for the kie.ai File Upload API, for tests and offline demos.
//!
//! It serves the three upload endpoints with the documented fields and JSON envelope, checks the
//! Bearer key, parses multipart bodies with the independent `multipart` crate (Content-Length or
//! chunked), stores files in a temporary directory, and serves each `downloadUrl` without credentials
//! until its time to live runs out. Requests are handled concurrently, so a URL upload may fetch from
//! the emulator itself. Every request is recorded for tests to inspect.
//!
//! ```
//! let emulator = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("test-key"))?;
//! println!("listening on {}", emulator.base_url());
//! assert!(emulator.requests().is_empty());
//! # Ok::<_, std::io::Error>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response, ResponseBox, Server};

mod util;

/// The service's retention: three days.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// The largest JSON body (base64 and URL uploads) the emulator reads.
const MAX_JSON_BODY: u64 = 64 * 1024 * 1024;

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
    /// The HTTP status of the reply.
    pub status: u16,
    /// The service `code` in the reply.
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
    base_url: String,
    dir: tempfile::TempDir,
    files: Mutex<HashMap<String, Stored>>,
    requests: Mutex<Vec<RecordedRequest>>,
    next_id: AtomicU64,
    fetcher: ureq::Agent,
}

/// A running emulator; it stops, and its files are deleted, when dropped.
pub struct Emulator {
    state: Arc<State>,
    server: Arc<Server>,
    acceptor: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts the emulator on 127.0.0.1 and returns once it accepts connections.
    pub fn start(config: Config) -> io::Result<Emulator> {
        let server = Server::http(("127.0.0.1", config.port)).map_err(io::Error::other)?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| io::Error::other("the server has no IP address"))?;
        let fetcher = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        let state = Arc::new(State {
            base_url: format!("http://127.0.0.1:{port}"),
            config,
            dir: tempfile::Builder::new()
                .prefix("kie-upload-emulator")
                .tempdir()?,
            files: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            fetcher,
        });
        let server = Arc::new(server);
        let acceptor = {
            let (server, state) = (Arc::clone(&server), Arc::clone(&state));
            thread::Builder::new()
                .name("emulator-accept".into())
                .spawn(move || {
                    for request in server.incoming_requests() {
                        let state = Arc::clone(&state);
                        // One thread a request, so a URL upload can fetch from this emulator.
                        let _ = thread::Builder::new()
                            .name("emulator-request".into())
                            .spawn(move || handle(&state, request));
                    }
                })?
        };
        Ok(Emulator {
            state,
            server,
            acceptor: Some(acceptor),
        })
    }

    /// `http://127.0.0.1:PORT`, the base URL to give a client.
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.state
            .base_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        &self.state.config.api_key
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.state.requests).clear();
    }

    /// The bytes stored under `file_path` (`uploadPath/fileName`), if any.
    pub fn stored(&self, file_path: &str) -> Option<Vec<u8>> {
        let disk = lock(&self.state.files).get(file_path)?.disk.clone();
        fs::read(disk).ok()
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
        self.server.unblock();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one request thread must not take the emulator down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What one request amounts to before it is answered.
struct Outcome {
    status: u16,
    code: u16,
    body: Value,
}

impl Outcome {
    fn ok(data: Value) -> Self {
        Outcome {
            status: 200,
            code: 200,
            body: json!({"success": true, "code": 200, "msg": "File uploaded successfully", "data": data}),
        }
    }

    fn error(code: u16, msg: &str) -> Self {
        Outcome {
            status: code,
            code,
            body: json!({"success": false, "code": code, "msg": msg}),
        }
    }
}

fn header<'r>(request: &'r Request, name: &'static str) -> Option<&'r str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

fn handle(state: &State, mut request: Request) {
    let path = request
        .url()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let auth = header(&request, "Authorization").map(str::to_owned);
    let mut record = RecordedRequest {
        method: request.method().to_string(),
        path: path.clone(),
        authorized: auth.as_deref() == Some(&format!("Bearer {}", state.config.api_key)),
        had_authorization: auth.is_some(),
        content_length: header(&request, "Content-Length").and_then(|v| v.trim().parse().ok()),
        chunked: header(&request, "Transfer-Encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked")),
        content_type: header(&request, "Content-Type").map(str::to_owned),
        parts: Vec::new(),
        json_fields: BTreeMap::new(),
        status: 0,
        code: 0,
    };

    if request.method() == &Method::Get {
        if let Some(file_path) = path.strip_prefix("/files/") {
            let response = serve_download(state, file_path);
            record.status = response.status_code().0;
            record.code = record.status;
            // Recorded before the reply goes out, so a client that has its answer sees the record.
            lock(&state.requests).push(record);
            let _ = request.respond(response);
            return;
        }
    }

    let endpoint = [
        "file-stream-upload",
        "file-base64-upload",
        "file-url-upload",
    ]
    .into_iter()
    .find(|e| path.ends_with(&format!("/api/{e}")));
    let outcome = match endpoint {
        None => Outcome::error(404, "Not found"),
        Some(_) if request.method() != &Method::Post => Outcome::error(405, "Method not allowed"),
        Some(_) if !record.authorized => {
            Outcome::error(401, "Unauthorized: invalid or missing API key")
        }
        Some("file-stream-upload") => stream_upload(state, &mut request, &mut record.parts),
        Some("file-base64-upload") => base64_upload(state, &mut request, &mut record.json_fields),
        Some(_) => url_upload(state, &mut request, &mut record.json_fields),
    };
    // Read what is left of the body, so the client sees the reply rather than a reset.
    let _ = io::copy(request.as_reader(), &mut io::sink());

    record.code = outcome.code;
    record.status = if outcome.status != 200 && state.config.errors_in_body {
        200
    } else {
        outcome.status
    };
    let json_header = Header::from_bytes("Content-Type", "application/json").expect("valid header");
    let response = Response::from_string(outcome.body.to_string())
        .with_status_code(record.status)
        .with_header(json_header);
    lock(&state.requests).push(record);
    let _ = request.respond(response);
}

fn serve_download(state: &State, escaped: &str) -> ResponseBox {
    let text =
        |status: u16, body: &str| Response::from_string(body).with_status_code(status).boxed();
    let Some(file_path) = util::unescape_path(escaped) else {
        return text(400, "bad path");
    };
    let found = {
        let mut files = lock(&state.files);
        let expired = files
            .get(&file_path)
            .is_some_and(|f| f.stored_at.elapsed().unwrap_or_default() >= state.config.ttl);
        if expired {
            if let Some(f) = files.remove(&file_path) {
                let _ = fs::remove_file(f.disk);
            }
        }
        files
            .get(&file_path)
            .map(|f| (f.disk.clone(), f.mime.clone(), f.size))
    };
    let Some((disk, mime, size)) = found else {
        return text(404, "Not found");
    };
    match File::open(disk) {
        Ok(file) => {
            let mut response =
                Response::new(200.into(), Vec::new(), file, Some(size as usize), None);
            if let Ok(h) = Header::from_bytes("Content-Type", mime) {
                response.add_header(h);
            }
            response.boxed()
        }
        Err(_) => text(404, "Not found"),
    }
}

/// A file written to the store's directory but not yet visible under a path.
struct Incoming {
    disk: PathBuf,
    size: u64,
    head: Vec<u8>,
}

fn receive(state: &State, data: &mut dyn Read) -> io::Result<Incoming> {
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let disk = state.dir.path().join(format!("blob-{id}"));
    let mut out = File::create(&disk)?;
    let mut head = Vec::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    let result = (|| loop {
        let n = match data.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if head.len() < 32 {
            let take = n.min(32 - head.len());
            head.extend_from_slice(&buf[..take]);
        }
        out.write_all(&buf[..n])?;
        size += n as u64;
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&disk);
        return Err(e);
    }
    Ok(Incoming { disk, size, head })
}

fn discard(incoming: Option<Incoming>) {
    if let Some(i) = incoming {
        let _ = fs::remove_file(i.disk);
    }
}

/// Makes `incoming` visible as `upload_path/file_name` (replacing what was there) and describes it.
fn publish(
    state: &State,
    incoming: Incoming,
    upload_path: &str,
    file_name: Option<&str>,
    ext_hint: &str,
) -> Outcome {
    let upload_path = upload_path.trim_matches('/');
    let file_name = match file_name.filter(|n| !n.is_empty()) {
        Some(n) => n.to_owned(),
        None => {
            let ext = ext_hint
                .rsplit_once('.')
                .map(|(_, e)| format!(".{e}"))
                .unwrap_or_default();
            format!("{}{ext}", util::random_hex(16))
        }
    };
    let file_path = format!("{upload_path}/{file_name}");
    let mime = util::detect_mime(&incoming.head, &file_name);
    let now = SystemTime::now();
    let data = json!({
        "fileName": file_name,
        "filePath": file_path,
        "downloadUrl": format!("{}/files/{}", state.base_url, util::escape_path(&file_path)),
        "fileSize": incoming.size,
        "mimeType": mime,
        "uploadedAt": util::rfc3339(now),
    });
    let old = lock(&state.files).insert(
        file_path,
        Stored {
            disk: incoming.disk,
            size: incoming.size,
            mime,
            stored_at: now,
        },
    );
    if let Some(old) = old {
        let _ = fs::remove_file(old.disk);
    }
    Outcome::ok(data)
}

fn stream_upload(state: &State, request: &mut Request, parts: &mut Vec<Part>) -> Outcome {
    let boundary = header(request, "Content-Type").and_then(|ct| {
        let (kind, params) = ct.split_once(';')?;
        if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
            return None;
        }
        params.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
    });
    let Some(boundary) = boundary else {
        return Outcome::error(
            400,
            "Content-Type must be multipart/form-data with a boundary",
        );
    };

    let mut form = multipart::server::Multipart::with_body(request.as_reader(), boundary);
    let mut upload_path = None;
    let mut file_name = None;
    let mut file: Option<Incoming> = None;
    let mut part_filename = String::new();
    loop {
        let mut entry = match form.read_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(e) => {
                discard(file);
                return Outcome::error(400, &format!("Malformed multipart body: {e}"));
            }
        };
        let name = entry.headers.name.to_string();
        let mut part = Part {
            name: name.clone(),
            filename: entry.headers.filename.clone(),
            content_type: entry.headers.content_type.as_ref().map(ToString::to_string),
            text: String::new(),
            size: 0,
        };
        if name == "file" {
            match receive(state, &mut entry.data) {
                Ok(incoming) => {
                    part.size = incoming.size;
                    part_filename = part.filename.clone().unwrap_or_default();
                    discard(file.replace(incoming));
                }
                Err(e) => {
                    discard(file);
                    return Outcome::error(400, &format!("Malformed multipart body: {e}"));
                }
            }
        } else {
            let mut value = Vec::new();
            if let Err(e) = (&mut entry.data).take(64 * 1024).read_to_end(&mut value) {
                discard(file);
                return Outcome::error(400, &format!("Malformed multipart body: {e}"));
            }
            part.size = value.len() as u64;
            part.text = String::from_utf8_lossy(&value).into_owned();
            match name.as_str() {
                "uploadPath" => upload_path = Some(part.text.clone()),
                "fileName" => file_name = Some(part.text.clone()),
                _ => {}
            }
        }
        parts.push(part);
    }
    let Some(file) = file else {
        return Outcome::error(400, "Missing required parameter: file");
    };
    let Some(upload_path) = upload_path.filter(|p| !p.trim_matches('/').is_empty()) else {
        discard(Some(file));
        return Outcome::error(400, "Missing required parameter: uploadPath");
    };
    publish(
        state,
        file,
        &upload_path,
        file_name.as_deref(),
        &part_filename,
    )
}

fn read_json(
    request: &mut Request,
    fields: &mut BTreeMap<String, String>,
) -> Result<Value, Outcome> {
    let mut body = Vec::new();
    request
        .as_reader()
        .take(MAX_JSON_BODY)
        .read_to_end(&mut body)
        .map_err(|e| Outcome::error(400, &format!("Could not read the body: {e}")))?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| Outcome::error(400, &format!("Invalid JSON body: {e}")))?;
    if let Some(object) = value.as_object() {
        for (k, v) in object {
            if let Some(text) = v.as_str() {
                let text = if k == "base64Data" {
                    text.chars().take(64).collect()
                } else {
                    text.to_owned()
                };
                fields.insert(k.clone(), text);
            }
        }
    }
    Ok(value)
}

fn text_field<'v>(body: &'v Value, name: &str) -> Result<&'v str, Outcome> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Outcome::error(400, &format!("Missing required parameter: {name}")))
}

fn base64_upload(
    state: &State,
    request: &mut Request,
    fields: &mut BTreeMap<String, String>,
) -> Outcome {
    let result = (|| {
        let body = read_json(request, fields)?;
        let data = text_field(&body, "base64Data")?;
        let upload_path = text_field(&body, "uploadPath")?;
        let file_name = body.get("fileName").and_then(Value::as_str);
        let payload = match data.strip_prefix("data:") {
            Some(rest) => match rest.split_once(',') {
                Some((meta, payload)) if meta.ends_with(";base64") => payload,
                _ => {
                    return Err(Outcome::error(
                        400,
                        "Invalid base64 data: malformed data URL",
                    ))
                }
            },
            None => data,
        };
        let bytes = util::base64_decode(payload)
            .ok_or_else(|| Outcome::error(400, "Invalid base64 data"))?;
        let incoming = receive(state, &mut bytes.as_slice())
            .map_err(|e| Outcome::error(500, &format!("Could not store the file: {e}")))?;
        Ok(publish(
            state,
            incoming,
            upload_path,
            file_name,
            file_name.unwrap_or(""),
        ))
    })();
    result.unwrap_or_else(|e| e)
}

fn url_upload(
    state: &State,
    request: &mut Request,
    fields: &mut BTreeMap<String, String>,
) -> Outcome {
    let result = (|| {
        let body = read_json(request, fields)?;
        let url = text_field(&body, "fileUrl")?;
        let upload_path = text_field(&body, "uploadPath")?;
        let file_name = body.get("fileName").and_then(Value::as_str);
        let lower = url.to_ascii_lowercase();
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            return Err(Outcome::error(
                400,
                "Invalid fileUrl: must be an http or https URL",
            ));
        }
        let response =
            state.fetcher.get(url).call().map_err(|e| {
                Outcome::error(400, &format!("Failed to download file from URL: {e}"))
            })?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(Outcome::error(
                400,
                &format!("Failed to download file from URL: HTTP {status}"),
            ));
        }
        let mut reader = response.into_body().into_reader();
        let incoming = receive(state, &mut reader)
            .map_err(|e| Outcome::error(400, &format!("Failed to download file from URL: {e}")))?;
        let url_name = url
            .split(['?', '#'])
            .next()
            .and_then(|u| u.rsplit('/').next())
            .and_then(util::unescape_path)
            .filter(|n| !n.is_empty() && !n.contains(':'));
        let name = file_name
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .or(url_name);
        Ok(publish(
            state,
            incoming,
            upload_path,
            name.as_deref(),
            name.as_deref().unwrap_or(""),
        ))
    })();
    result.unwrap_or_else(|e| e)
}
