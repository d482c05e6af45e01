//! [`Client`] and [`ClientBuilder`]: the key, the base URL, the connection pool and its timeouts, and
//! the calls to the service's endpoints.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

use ureq::http::Response;
use ureq::{Agent, Body as ReplyBody, SendBody};

use serde_json::Value;

use crate::base64::{encoded_len, Encoder};
use crate::multipart::{Body, Fields};
use crate::payload::{Failure, Payload, Progress};
use crate::response::{excerpt, parse_reply};
use crate::upload::{
    check_content_type, check_file_name, check_upload_path, ProgressFn, Source, Upload,
};
use crate::{Error, UploadedFile};

/// The service's root, used unless a base URL is given.
pub const DEFAULT_BASE_URL: &str = "https://kieai.redpandaai.co";

/// The largest reply read from the API; the service's replies are a few hundred bytes.
const MAX_REPLY: u64 = 1024 * 1024;

/// Where the endpoints live under the base URL.
const STREAM_ENDPOINT: &str = "/api/file-stream-upload";
const BASE64_ENDPOINT: &str = "/api/file-base64-upload";
const URL_ENDPOINT: &str = "/api/file-url-upload";

/// The largest source the base64 endpoint takes: 10 MB, the service's guidance. Larger files go to
/// the stream endpoint.
pub const BASE64_MAX: u64 = 10_000_000;

/// A client for the kie.ai File Upload API.
///
/// It holds the API key and one connection pool; clone it freely (clones share the pool) and use it
/// from several threads. Its `Debug` output never shows the key.
///
/// ```no_run
/// # fn main() -> Result<(), kie_upload::Error> {
/// let client = kie_upload::Client::new("YOUR_API_KEY");
/// let file = client.upload_file("photo.jpg", "images/user-uploads")?;
/// println!("{} ({} bytes)", file.download_url, file.file_size);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    agent: Agent,
    api_key: String,
    base_url: String,
    timeouts: Timeouts,
}

#[derive(Debug, Clone, Copy)]
struct Timeouts {
    connect: Duration,
    stall: Duration,
    reply: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            stall: Duration::from_secs(60),
            reply: Duration::from_secs(120),
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the real service at [`DEFAULT_BASE_URL`] with default timeouts.
    ///
    /// The key is checked when an upload starts: an empty key fails then with
    /// [`Error::InvalidInput`], before anything is sent.
    pub fn new(api_key: impl Into<String>) -> Client {
        let timeouts = Timeouts::default();
        Client {
            agent: new_agent(timeouts),
            api_key: api_key.into(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeouts,
        }
    }

    /// A builder for a client with another base URL or other timeouts.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: the key from `KIE_API_KEY` (required) and the base
    /// URL from `KIE_BASE_URL` (optional).
    pub fn from_env() -> Result<Client, Error> {
        let mut builder = Client::builder();
        match std::env::var("KIE_API_KEY") {
            Ok(key) if !key.trim().is_empty() => builder = builder.api_key(key.trim()),
            _ => {
                return Err(Error::InvalidInput(
                    "missing API key: set KIE_API_KEY (get one at https://kie.ai/api-key)".into(),
                ))
            }
        }
        if let Ok(url) = std::env::var("KIE_BASE_URL") {
            if !url.trim().is_empty() {
                builder = builder.base_url(url.trim());
            }
        }
        builder.build()
    }

    /// The base URL that endpoints are appended to, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Uploads a local file to `upload_path` under its own name, streamed with a `Content-Length`.
    pub fn upload_file(
        &self,
        path: impl AsRef<Path>,
        upload_path: &str,
    ) -> Result<UploadedFile, Error> {
        self.upload(Upload::file(path).upload_path(upload_path))
    }

    /// Uploads everything `reader` yields as `file_name` in `upload_path`. The size is unknown, so
    /// the body is sent chunked; use [`Client::upload`] with [`Upload::length`] when it is known.
    pub fn upload_reader(
        &self,
        reader: impl Read + Send,
        file_name: &str,
        upload_path: &str,
    ) -> Result<UploadedFile, Error> {
        self.upload(
            Upload::reader(reader)
                .file_name(file_name)
                .upload_path(upload_path),
        )
    }

    /// Uploads bytes held in memory as `file_name` in `upload_path`, with a `Content-Length`.
    pub fn upload_bytes(
        &self,
        bytes: &[u8],
        file_name: &str,
        upload_path: &str,
    ) -> Result<UploadedFile, Error> {
        self.upload(
            Upload::bytes(bytes)
                .file_name(file_name)
                .upload_path(upload_path),
        )
    }

    /// Streams one [`Upload`] to `POST /api/file-stream-upload` and returns the stored file.
    ///
    /// Everything that can be checked locally is checked before a connection is opened. The reply is
    /// checked both by HTTP status and by the body's `success` and `code`, and the `fileSize` the
    /// service reports must equal the bytes sent ([`Error::SizeMismatch`] otherwise).
    pub fn upload(&self, upload: Upload<'_>) -> Result<UploadedFile, Error> {
        let checked = self.check(&upload)?;
        let Upload {
            mut source,
            content_type,
            length,
            mut progress,
            ..
        } = upload;
        let mut file = None;
        let (reader, len, path) = open_source(&mut source, length, &mut file)?;

        let mut text = vec![("uploadPath", checked.upload_path.as_str())];
        if let Some(name) = &checked.file_name {
            text.push(("fileName", name));
        }
        let fields = Fields {
            text: &text,
            file_field: "file",
            // Servers need a filename to treat the part as a file; "blob" is what browsers send.
            file_name: checked.file_name.as_deref().unwrap_or("blob"),
            content_type: content_type.as_deref(),
        };
        let payload = Payload::new(reader, len, progress_ref(&mut progress));
        let mut body = Body::new(&fields, payload).map_err(|e| Error::Io {
            path: path.map(Path::to_path_buf),
            source: e,
        })?;
        let content_type = body.content_type().to_owned();
        let length = body.len();
        let result = self.post(
            STREAM_ENDPOINT,
            &checked.auth,
            &content_type,
            length,
            &mut body,
        );
        conclude(result, body.payload(), path)
    }

    /// Uploads bytes held in memory through `POST /api/file-base64-upload`, as `file_name` in
    /// `upload_path`.
    ///
    /// The base64 endpoint is meant for small files: it sends 4/3 of the file's size, and sources
    /// over [`BASE64_MAX`] bytes are refused with [`Error::InvalidInput`]. Prefer
    /// [`upload_bytes`](Self::upload_bytes), which streams the same bytes to the stream endpoint.
    pub fn upload_base64(
        &self,
        bytes: &[u8],
        file_name: &str,
        upload_path: &str,
    ) -> Result<UploadedFile, Error> {
        self.upload_as_base64(
            Upload::bytes(bytes)
                .file_name(file_name)
                .upload_path(upload_path),
        )
    }

    /// Sends one [`Upload`] through `POST /api/file-base64-upload` instead of the stream endpoint.
    ///
    /// The file is base64-encoded on the fly into the JSON body (never held in memory as text), and
    /// the body has an exact `Content-Length`, so the source's length must be known (a file, bytes,
    /// or a reader with [`Upload::length`]) and at most [`BASE64_MAX`]. When the content type is
    /// known (set, or told by the file name's extension) the data goes as a
    /// `data:<type>;base64,` URL, so the service need not guess it.
    pub fn upload_as_base64(&self, upload: Upload<'_>) -> Result<UploadedFile, Error> {
        let checked = self.check(&upload)?;
        let Upload {
            mut source,
            content_type,
            length,
            mut progress,
            ..
        } = upload;
        let mut file = None;
        let (reader, len, path) = open_source(&mut source, length, &mut file)?;
        let Some(len) = len else {
            return Err(Error::InvalidInput(
                "the base64 endpoint needs a source of known length: set Upload::length, or use \
                 Client::upload (the stream endpoint)"
                    .into(),
            ));
        };
        if len == 0 {
            return Err(Error::InvalidInput(
                "the source is empty, and the base64 endpoint takes no empty data: use \
                 Client::upload (the stream endpoint)"
                    .into(),
            ));
        }
        if len > BASE64_MAX {
            return Err(Error::InvalidInput(format!(
                "{len} bytes is over the base64 endpoint's limit of {BASE64_MAX}: use \
                 Client::upload or upload_file (the stream endpoint) for large files"
            )));
        }
        let mime = content_type.as_deref().or_else(|| {
            checked
                .file_name
                .as_deref()
                .and_then(crate::mime::from_file_name)
        });
        let (head, tail) =
            base64_json_frame(&checked.upload_path, checked.file_name.as_deref(), mime);
        let length = head.len() as u64 + encoded_len(len) + tail.len() as u64;
        let payload = Payload::new(reader, Some(len), progress_ref(&mut progress));
        let mut body = io::Cursor::new(head)
            .chain(Encoder::new(payload))
            .chain(io::Cursor::new(tail));
        let result = self.post(
            BASE64_ENDPOINT,
            &checked.auth,
            "application/json",
            Some(length),
            &mut body,
        );
        conclude(result, body.get_mut().0.get_mut().1.get_mut(), path)
    }

    /// Asks the service to fetch `file_url` itself and store it in `upload_path`, through
    /// `POST /api/file-url-upload`.
    ///
    /// `file_url` must be an absolute `http` or `https` URL; it is sent exactly as given, query string
    /// and percent-escapes included. Without a `file_name` the service derives one from the URL. The
    /// service gives up on a download that takes over 30 seconds, and recommends this endpoint for
    /// files up to about 100 MB.
    pub fn upload_url(
        &self,
        file_url: &str,
        upload_path: &str,
        file_name: Option<&str>,
    ) -> Result<UploadedFile, Error> {
        let auth = self.authorization()?;
        check_remote_url(file_url)?;
        let upload_path = check_upload_path(upload_path)?;
        let mut body = serde_json::Map::new();
        body.insert("fileUrl".into(), file_url.into());
        body.insert("uploadPath".into(), upload_path.into());
        if let Some(name) = file_name {
            check_file_name(name)?;
            body.insert("fileName".into(), name.into());
        }
        let body = serde_json::to_vec(&body).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let length = body.len() as u64;
        let result = self.post(
            URL_ENDPOINT,
            &auth,
            "application/json",
            Some(length),
            &mut body.as_slice(),
        );
        let response = result.map_err(Error::Transport)?;
        read_reply(response).map(|(file, _)| file)
    }

    /// Downloads `url` (a [`UploadedFile::download_url`]) into `out` and returns the number of bytes
    /// written. No credentials are sent: download URLs need none. Streams through a fixed buffer;
    /// each socket read is bounded by the stall timeout, the whole download is not.
    pub fn download_to(&self, url: &str, out: &mut impl Write) -> Result<u64, Error> {
        let response = self.agent.get(url).call().map_err(Error::Transport)?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        if !(200..300).contains(&status) {
            let page = body
                .with_config()
                .limit(MAX_REPLY)
                .read_to_vec()
                .unwrap_or_default();
            return Err(Error::Http {
                status,
                excerpt: excerpt(&page),
            });
        }
        io::copy(&mut body.as_reader(), out).map_err(|e| {
            // A failed socket read comes back wrapped in io::Error; keep it a transport error.
            match e.downcast::<ureq::Error>() {
                Ok(e) => Error::Transport(e),
                Err(e) => Error::Io {
                    path: None,
                    source: e,
                },
            }
        })
    }

    fn authorization(&self) -> Result<String, Error> {
        check_api_key(&self.api_key)?;
        Ok(format!("Bearer {}", self.api_key))
    }

    /// Checks what can be checked of an upload before anything is opened or sent.
    fn check(&self, upload: &Upload<'_>) -> Result<Checked, Error> {
        let auth = self.authorization()?;
        let upload_path = upload.upload_path.as_deref().ok_or_else(|| {
            Error::InvalidInput("missing upload path: set Upload::upload_path".into())
        })?;
        let upload_path = check_upload_path(upload_path)?.to_owned();
        let file_name = upload.effective_file_name()?;
        if let Some(name) = &file_name {
            check_file_name(name)?;
        }
        if let Some(t) = &upload.content_type {
            check_content_type(t)?;
        }
        Ok(Checked {
            auth,
            upload_path,
            file_name,
        })
    }

    /// POSTs `body` to `endpoint` under the base URL, by length when `length` is known, else chunked.
    fn post(
        &self,
        endpoint: &str,
        auth: &str,
        content_type: &str,
        length: Option<u64>,
        body: &mut dyn Read,
    ) -> Result<Response<ReplyBody>, ureq::Error> {
        let mut request = self
            .agent
            .post(format!("{}{endpoint}", self.base_url))
            .header("Authorization", auth)
            .header("Accept", "application/json")
            .header("Content-Type", content_type);
        if let Some(length) = length {
            // With a length ureq sends the body by length instead of chunked; the payload guards it.
            request = request.header("Content-Length", length.to_string());
        }
        request
            .config()
            .timeout_recv_response(Some(self.timeouts.reply))
            .timeout_recv_body(Some(self.timeouts.reply))
            .build()
            .send(SendBody::from_reader(body))
    }
}

/// An upload's settings once checked.
struct Checked {
    auth: String,
    upload_path: String,
    file_name: Option<String>,
}

fn progress_ref<'p>(progress: &'p mut Option<ProgressFn<'_>>) -> Option<Progress<'p>> {
    progress
        .as_mut()
        .map(|p| &mut **p as &mut (dyn FnMut(u64, Option<u64>) + Send))
}

type Opened<'s> = (&'s mut (dyn Read + Send), Option<u64>, Option<&'s Path>);

/// Opens the source: a file is opened (into `file`) and measured; the declared length wins when set.
fn open_source<'s>(
    source: &'s mut Source<'_>,
    length: Option<u64>,
    file: &'s mut Option<File>,
) -> Result<Opened<'s>, Error> {
    Ok(match source {
        Source::File(path) => {
            let (f, len) = open_file(path)?;
            (file.insert(f), length.or(len), Some(path.as_path()))
        }
        Source::Bytes(bytes) => {
            let len = bytes.len() as u64;
            if let Some(declared) = length.filter(|&n| n != len) {
                return Err(Error::InvalidInput(format!(
                    "declared length {declared} differs from the {len} bytes given"
                )));
            }
            (bytes, Some(len), None)
        }
        Source::Reader(reader) => (&mut **reader, length, None),
    })
}

/// Turns the outcome of a request into the stored file or the error it amounts to: the payload's own
/// failure first (a transport error is only its symptom), then the reply, then the size check.
fn conclude(
    result: Result<Response<ReplyBody>, ureq::Error>,
    payload: &mut Payload<'_>,
    path: Option<&Path>,
) -> Result<UploadedFile, Error> {
    if let Some(failure) = payload.take_failure() {
        return Err(match failure {
            Failure::Source(source) => Error::Io {
                path: path.map(Path::to_path_buf),
                source,
            },
            Failure::Length { declared, actual } => Error::LengthMismatch { declared, actual },
        });
    }
    let (file, reported) = read_reply(result.map_err(Error::Transport)?)?;
    let sent = payload.sent();
    if !payload.is_finished() || reported.is_some_and(|r| r != sent) {
        return Err(Error::SizeMismatch {
            sent,
            reported: reported.unwrap_or(file.file_size),
        });
    }
    Ok(file)
}

/// The JSON around the base64 text: `{"fileName":..,"uploadPath":..,"base64Data":"` and `"}`.
/// serde_json writes the small fields; the base64 alphabet needs no escaping in between.
fn base64_json_frame(
    upload_path: &str,
    file_name: Option<&str>,
    mime: Option<&str>,
) -> (Vec<u8>, Vec<u8>) {
    let mut fields = serde_json::Map::new();
    fields.insert("uploadPath".into(), upload_path.into());
    if let Some(name) = file_name {
        fields.insert("fileName".into(), name.into());
    }
    let mut head = Value::Object(fields).to_string();
    head.pop(); // the closing brace
    head.push_str(",\"base64Data\":");
    let data_url = mime
        .map(|m| format!("data:{m};base64,"))
        .unwrap_or_default();
    let mut opening = Value::String(data_url).to_string();
    opening.pop(); // keep the string open for the base64 text
    head.push_str(&opening);
    (head.into_bytes(), b"\"}".to_vec())
}

/// Checks a URL for the service to fetch: absolute `http` or `https`, with a host, no white space.
fn check_remote_url(url: &str) -> Result<(), Error> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    if host.is_none_or(|h| h.rsplit('@').next().unwrap_or_default().is_empty()) {
        return Err(Error::InvalidInput(format!(
            "file URL {url:?} is not an absolute http:// or https:// URL: the service can fetch only those"
        )));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::InvalidInput(format!(
            "file URL {url:?} holds white space or a control character: percent-escape it"
        )));
    }
    Ok(())
}

fn open_file(path: &Path) -> Result<(File, Option<u64>), Error> {
    let io_err = |source| Error::Io {
        path: Some(path.to_path_buf()),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if meta.is_dir() {
        return Err(Error::InvalidInput(format!(
            "{}: is a directory: give a file",
            path.display()
        )));
    }
    let file = File::open(path).map_err(io_err)?;
    // Only a regular file's size is its content's length; a FIFO or a device streams chunked.
    Ok((file, meta.is_file().then_some(meta.len())))
}

/// Reads the reply (at most [`MAX_REPLY`] bytes) and turns it into a file or the error it says.
fn read_reply(mut response: Response<ReplyBody>) -> Result<(UploadedFile, Option<u64>), Error> {
    let status = response.status().as_u16();
    if (300..400).contains(&status) {
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(no location)");
        return Err(Error::Http {
            status,
            excerpt: format!("to {}", excerpt(location.as_bytes())),
        });
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_REPLY)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => Error::Decode {
                status,
                reason: format!("the reply is larger than {MAX_REPLY} bytes"),
            },
            e => Error::Transport(e),
        })?;
    parse_reply(status, &body)
}

fn check_api_key(key: &str) -> Result<(), Error> {
    if key.trim().is_empty() {
        return Err(Error::InvalidInput(
            "missing API key: set KIE_API_KEY or pass one to Client::new".into(),
        ));
    }
    // Never echo the key: it may be a real one with a stray newline.
    if key.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(Error::InvalidInput(
            "the API key holds a control or non-ASCII character (a stray newline?): check KIE_API_KEY"
                .into(),
        ));
    }
    Ok(())
}

fn new_agent(timeouts: Timeouts) -> Agent {
    let config = Agent::config_builder()
        // Error statuses carry the service's message in the body: read it ourselves.
        .http_status_as_error(false)
        // A redirect would turn the POST into a body-less GET or fail; report it instead.
        .max_redirects(0)
        .user_agent(concat!("kie-upload/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(timeouts.connect))
        .timeout_per_read(Some(timeouts.stall))
        .timeout_per_write(Some(timeouts.stall));
    #[cfg(feature = "native-tls")]
    let config = config.tls_config(
        ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::NativeTls)
            .build(),
    );
    config.build().new_agent()
}

/// Builds a [`Client`]: `Client::builder().api_key(key).base_url(url).build()?`.
#[derive(Default)]
pub struct ClientBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    allow_insecure_http: bool,
    timeouts: Timeouts,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

impl ClientBuilder {
    /// The API key, sent as `Authorization: Bearer <key>` to the base URL and nowhere else.
    /// Required.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The service's root; endpoints are appended to it, so it may carry a path prefix
    /// (`http://proxy.local/kie`). Default: [`DEFAULT_BASE_URL`]. A plain `http://` URL is refused
    /// unless its host is loopback or [`allow_insecure_http`](Self::allow_insecure_http) is set.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Allows a plain `http://` base URL on a non-loopback host, which sends the API key across the
    /// network in clear text. Default: `false`.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Sets the connect, stall and reply timeouts all at once.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.connect_timeout(timeout)
            .stall_timeout(timeout)
            .reply_timeout(timeout)
    }

    /// The longest wait to open a connection, TLS handshake included. Default: 30 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// The longest any single socket read or write may wait: a stall detector. An upload that keeps
    /// moving is never cut short, however long it takes. Default: 60 s.
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.stall = timeout;
        self
    }

    /// The longest wait for the service's reply once the body is sent, headers and body together
    /// (each read is also bounded by the stall timeout). Default: 120 s.
    pub fn reply_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.reply = timeout;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let api_key = self.api_key.unwrap_or_default();
        check_api_key(&api_key)?;
        let base_url = self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base_url = check_base_url(base_url, self.allow_insecure_http)?;
        for (what, t) in [
            ("connect", self.timeouts.connect),
            ("stall", self.timeouts.stall),
            ("reply", self.timeouts.reply),
        ] {
            if t.is_zero() {
                return Err(Error::InvalidInput(format!(
                    "the {what} timeout is zero: give a positive duration"
                )));
            }
        }
        Ok(Client {
            agent: new_agent(self.timeouts),
            api_key,
            base_url,
            timeouts: self.timeouts,
        })
    }
}

/// Checks a base URL and returns it without a trailing `/`.
fn check_base_url(url: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let invalid = |why: &str| {
        Err(Error::InvalidInput(format!(
            "base URL {url:?} {why}: give one like {DEFAULT_BASE_URL}"
        )))
    };
    let lower = url.to_ascii_lowercase();
    let (https, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (false, rest)
    } else {
        return invalid("is not an http:// or https:// URL");
    };
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return invalid("holds white space or a control character");
    }
    if url.contains(['?', '#']) {
        return invalid("has a query or fragment");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return invalid("carries credentials; the API key is the only credential");
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return invalid("has no host");
    }
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !https && !loopback && !allow_insecure_http {
        return Err(Error::InvalidInput(format!(
            "base URL {url:?} is plain http to a non-loopback host, which would send the API key \
             in clear text: use https, or opt in with ClientBuilder::allow_insecure_http(true)"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            check_base_url("https://kieai.redpandaai.co/", false).unwrap(),
            "https://kieai.redpandaai.co"
        );
        assert_eq!(
            check_base_url("http://127.0.0.1:8787/proxy/kie", false).unwrap(),
            "http://127.0.0.1:8787/proxy/kie"
        );
        check_base_url("http://localhost:1", false).unwrap();
        check_base_url("http://[::1]:8080", false).unwrap();
        check_base_url("http://example.com", true).unwrap();
        for bad in [
            "http://example.com",
            "http://10.0.0.1:80",
            "ftp://x",
            "kieai.redpandaai.co",
            "https://",
            "https://user:pw@host",
            "https://host/?q=1",
            "https://ho st",
        ] {
            assert!(
                matches!(check_base_url(bad, false), Err(Error::InvalidInput(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let client = Client::new("sk-secret-123");
        assert!(!format!("{client:?}").contains("sk-secret-123"));
        let builder = Client::builder().api_key("sk-secret-123");
        assert!(!format!("{builder:?}").contains("sk-secret-123"));
    }

    #[test]
    fn key_errors_do_not_echo_the_key() {
        let err = check_api_key("sk-secret\n").unwrap_err();
        assert!(!err.to_string().contains("sk-secret"));
        assert!(check_api_key("  ").is_err());
        check_api_key("abc123").unwrap();
    }
}
