//! [`Client`]: the calls to the service's three endpoints, each attempt, and downloads.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde_json::Value;
use ureq::http::Response;
use ureq::{Agent, Body as ReplyBody, SendBody};

use crate::base64::{encoded_len, Encoder};
use crate::builder::{check_api_key, check_remote_url, new_agent, Timeouts};
use crate::multipart::{Body, Fields};
use crate::payload::{Failure, Payload, Progress};
use crate::response::{excerpt, read_reply, MAX_REPLY};
use crate::retry::{Failed, RetryPolicy};
use crate::upload::{
    check_content_type, check_file_name, check_upload_path, ProgressFn, Source, Upload,
};
use crate::{ClientBuilder, Error, UploadedFile};

/// The service's root, used unless a base URL is given.
pub const DEFAULT_BASE_URL: &str = "https://kieai.redpandaai.co";

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
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the real service at [`DEFAULT_BASE_URL`] with default timeouts and retries.
    ///
    /// The key is checked when an upload starts: an empty key fails then with
    /// [`Error::InvalidInput`], before anything is sent.
    pub fn new(api_key: impl Into<String>) -> Client {
        let timeouts = Timeouts::default();
        Client::from_parts(
            new_agent(timeouts),
            api_key.into(),
            DEFAULT_BASE_URL.to_owned(),
            timeouts,
            RetryPolicy::default(),
        )
    }

    pub(crate) fn from_parts(
        agent: Agent,
        api_key: String,
        base_url: String,
        timeouts: Timeouts,
        retry: RetryPolicy,
    ) -> Client {
        Client {
            agent,
            api_key,
            base_url,
            timeouts,
            retry,
        }
    }

    /// A builder for a client with another base URL, other timeouts or other retries.
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
    /// the body is sent chunked and cannot be retried; use [`Client::upload`] with
    /// [`Upload::length`] or [`Upload::seekable`] when more is known.
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
    /// service reports must equal the bytes sent ([`Error::SizeMismatch`] otherwise). Failures worth
    /// it are retried (see [`ClientBuilder::retries`]); on a retry, progress starts again from 0.
    pub fn upload(&self, upload: Upload<'_>) -> Result<UploadedFile, Error> {
        self.run(upload, Self::stream_attempt)
    }

    /// Checks an upload, spools it when asked, and runs `attempt` under the retry policy.
    fn run<'a>(
        &self,
        mut upload: Upload<'a>,
        attempt: fn(&Self, &mut Upload<'a>, &Checked) -> Result<UploadedFile, Failed>,
    ) -> Result<UploadedFile, Error> {
        let checked = self.check(&upload)?;
        spool_if_asked(&mut upload)?;
        let repeatable = upload.repeatable(checked.file_name.as_deref());
        self.retry
            .run(repeatable, || attempt(self, &mut upload, &checked))
    }

    fn stream_attempt(
        &self,
        upload: &mut Upload<'_>,
        checked: &Checked,
    ) -> Result<UploadedFile, Failed> {
        let mut slot = Slot::default();
        let (reader, len, path) = open_source(&mut upload.source, upload.length, &mut slot)?;
        let mut text = vec![("uploadPath", checked.upload_path.as_str())];
        if let Some(name) = &checked.file_name {
            text.push(("fileName", name));
        }
        let fields = Fields {
            text: &text,
            file_field: "file",
            // Servers need a filename to treat the part as a file; "blob" is what browsers send.
            file_name: checked.file_name.as_deref().unwrap_or("blob"),
            content_type: upload.content_type.as_deref(),
        };
        let payload = Payload::new(reader, len, progress_ref(&mut upload.progress));
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
    /// a seekable reader, or a reader with [`Upload::length`]), at least 1 byte and at most
    /// [`BASE64_MAX`]. When the content type is known (set, or told by the file name's extension)
    /// the data goes as a `data:<type>;base64,` URL, so the service need not guess it.
    pub fn upload_as_base64(&self, upload: Upload<'_>) -> Result<UploadedFile, Error> {
        self.run(upload, Self::base64_attempt)
    }

    fn base64_attempt(
        &self,
        upload: &mut Upload<'_>,
        checked: &Checked,
    ) -> Result<UploadedFile, Failed> {
        let mut slot = Slot::default();
        let (reader, len, path) = open_source(&mut upload.source, upload.length, &mut slot)?;
        let len =
            match len {
                None => return Err(Error::InvalidInput(
                    "the base64 endpoint needs a source of known length: set Upload::length, or \
                     use Client::upload (the stream endpoint)"
                        .into(),
                )
                .into()),
                Some(0) => {
                    return Err(Error::InvalidInput(
                        "the source is empty, and the base64 endpoint takes no empty data: use \
                     Client::upload (the stream endpoint)"
                            .into(),
                    )
                    .into())
                }
                Some(len) if len > BASE64_MAX => {
                    return Err(Error::InvalidInput(format!(
                        "{len} bytes is over the base64 endpoint's limit of {BASE64_MAX}: use \
                     Client::upload or upload_file (the stream endpoint) for large files"
                    ))
                    .into())
                }
                Some(len) => len,
            };
        let mime = upload.content_type.as_deref().or_else(|| {
            checked
                .file_name
                .as_deref()
                .and_then(crate::mime::from_file_name)
        });
        let (head, tail) =
            base64_json_frame(&checked.upload_path, checked.file_name.as_deref(), mime);
        let length = head.len() as u64 + encoded_len(len) + tail.len() as u64;
        let payload = Payload::new(reader, Some(len), progress_ref(&mut upload.progress));
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
    /// files up to about 100 MB. Failures worth it are retried: the request is small and repeating
    /// it stores the same file again.
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
        let body = Value::Object(body).to_string().into_bytes();
        self.retry.run(Ok(()), || {
            let result = self.post(
                URL_ENDPOINT,
                &auth,
                "application/json",
                Some(body.len() as u64),
                &mut body.as_slice(),
            );
            let (result, retry_after) = read_reply(result.map_err(Error::Transport)?);
            result
                .map(|(file, _)| file)
                .map_err(|error| Failed { error, retry_after })
        })
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

/// With the `spool` feature, copies a plain reader to an anonymous temporary file when asked to.
fn spool_if_asked(upload: &mut Upload<'_>) -> Result<(), Error> {
    #[cfg(feature = "spool")]
    if upload.spool {
        if let Source::Reader(reader) = &mut upload.source {
            let file = crate::upload::spool(&mut **reader, upload.length)?;
            upload.source = Source::Seekable(Box::new(file), None);
        }
    }
    // Without the feature there is nothing to do, and `upload` would be unused.
    let _ = upload;
    Ok(())
}

type Opened<'s> = (&'s mut (dyn Read + Send), Option<u64>, Option<&'s Path>);

/// What an attempt reads from: the opened file, or a copy of the byte slice's reference, so that
/// reading does not use up the slice kept for a retry.
#[derive(Default)]
struct Slot<'s> {
    file: Option<File>,
    bytes: &'s [u8],
}

/// Opens the source for one attempt: a file is opened and measured, a byte slice is read through a
/// copy of its reference, a seekable source is rewound to where it started; the declared length
/// wins when set.
fn open_source<'s>(
    source: &'s mut Source<'_>,
    length: Option<u64>,
    slot: &'s mut Slot<'s>,
) -> Result<Opened<'s>, Error> {
    Ok(match source {
        Source::File(path) => {
            let (f, len) = open_file(path)?;
            (slot.file.insert(f), length.or(len), Some(path.as_path()))
        }
        Source::Bytes(bytes) => {
            let len = bytes.len() as u64;
            if let Some(declared) = length.filter(|&n| n != len) {
                return Err(Error::InvalidInput(format!(
                    "declared length {declared} differs from the {len} bytes given"
                )));
            }
            slot.bytes = bytes;
            (&mut slot.bytes, Some(len), None)
        }
        Source::Seekable(reader, start) => {
            let io_err = |source| Error::Io { path: None, source };
            let from = match *start {
                Some(from) => from,
                None => *start.insert(reader.stream_position().map_err(io_err)?),
            };
            let end = reader.seek(SeekFrom::End(0)).map_err(io_err)?;
            reader.seek(SeekFrom::Start(from)).map_err(io_err)?;
            let len = length.unwrap_or(end.saturating_sub(from));
            (&mut **reader, Some(len), None)
        }
        Source::Reader(reader) => (&mut **reader, length, None),
    })
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

/// Turns the outcome of one attempt into the stored file or the error it amounts to: the payload's
/// own failure first (a transport error is only its symptom), then the reply, then the size check.
fn conclude(
    result: Result<Response<ReplyBody>, ureq::Error>,
    payload: &mut Payload<'_>,
    path: Option<&Path>,
) -> Result<UploadedFile, Failed> {
    if let Some(failure) = payload.take_failure() {
        return Err(match failure {
            Failure::Source(source) => Error::Io {
                path: path.map(Path::to_path_buf),
                source,
            },
            Failure::Length { declared, actual } => Error::LengthMismatch { declared, actual },
        }
        .into());
    }
    let (reply, retry_after) = read_reply(result.map_err(Error::Transport)?);
    let (file, reported) = reply.map_err(|error| {
        let error = match error {
            // A chunked body refused for want of a length.
            e if payload.len().is_none() && wants_length(&e) => Error::LengthRequired {
                status: status_of(&e),
            },
            e => e,
        };
        Failed { error, retry_after }
    })?;
    let sent = payload.sent();
    if !payload.is_finished() || reported.is_some_and(|r| r != sent) {
        return Err(Error::SizeMismatch {
            sent,
            reported: reported.unwrap_or(file.file_size),
        }
        .into());
    }
    Ok(file)
}

/// Whether a refusal says the server wants a `Content-Length`.
fn wants_length(error: &Error) -> bool {
    match error {
        Error::Http { status: 411, .. } | Error::Service { code: 411, .. } => true,
        Error::Http { excerpt: text, .. } | Error::Service { msg: text, .. } => {
            text.to_ascii_lowercase().contains("content-length")
        }
        _ => false,
    }
}

fn status_of(error: &Error) -> u16 {
    match error {
        Error::Http { status, .. } | Error::Service { status, .. } => *status,
        _ => 0,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let client = Client::new("sk-secret-123");
        assert!(!format!("{client:?}").contains("sk-secret-123"));
        let builder = Client::builder().api_key("sk-secret-123");
        assert!(!format!("{builder:?}").contains("sk-secret-123"));
    }

    #[test]
    fn base64_frame_is_json_around_the_data() {
        let (head, tail) = base64_json_frame("a/\"b", Some("x.png"), Some("image/png"));
        let mut whole = head;
        whole.extend_from_slice(b"QUJD");
        whole.extend_from_slice(&tail);
        let v: Value = serde_json::from_slice(&whole).unwrap();
        assert_eq!(v["uploadPath"], "a/\"b");
        assert_eq!(v["fileName"], "x.png");
        assert_eq!(v["base64Data"], "data:image/png;base64,QUJD");
    }
}
