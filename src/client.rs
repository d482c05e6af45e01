//! [`Client`]: the public calls (a download among them), one attempt for any endpoint, and the
//! POST itself.
//!
//! One upload reads straight down. Once: the input is checked and the source prepared
//! (`Upload::check` in `upload.rs`, which has `source.rs` look at the file, open a pipe once or
//! spool a reader). Then each attempt, under the retry policy (`retry.rs`): the source is opened
//! (`source.rs`), wrapped in the payload (`payload.rs`), framed into a body (`body/`), posted here,
//! and the reply read (`reply.rs`) and judged (`envelope/`).

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ureq::http::Response;
use ureq::SendBody;

use crate::body::{url_json, Body, Encoding, Fields, URL_ENDPOINT};
use crate::cache::Recall;
use crate::config::Config;
use crate::envelope::Sent;
use crate::observe::{emit, Event, EventFn};
use crate::payload::{Payload, ProgressRef};
use crate::reply::{self, MAX_REPLY};
use crate::source::Opened;
use crate::text::{excerpt, redact};
use crate::{ClientBuilder, Error, ErrorKind, NotRetried, Upload, UploadedFile, UrlUpload};

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
    pub(crate) config: Arc<Config>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.config.fmt(f)
    }
}

impl Client {
    /// A client for the real service at [`DEFAULT_BASE_URL`](crate::DEFAULT_BASE_URL) with default
    /// settings (the proxy, if any, from the environment).
    ///
    /// The key is checked when an upload starts: an empty or malformed key fails then with
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), before anything is sent. So
    /// does a proxy variable that cannot be honoured (see [`ClientBuilder::proxy`]): every call
    /// is refused with it, none goes around the proxy.
    ///
    /// ```
    /// let client = kie_upload::Client::new("YOUR_API_KEY");
    /// assert_eq!(client.base_url(), kie_upload::DEFAULT_BASE_URL);
    /// ```
    pub fn new(api_key: impl Into<String>) -> Client {
        let config = ClientBuilder::new()
            .api_key(api_key)
            .into_config(false)
            .expect("the default settings are valid");
        Client {
            config: Arc::new(config),
        }
    }

    /// A builder for any other settings.
    ///
    /// ```
    /// let client = kie_upload::Client::builder().api_key("key").retries(5).build()?;
    /// assert_eq!(client.base_url(), kie_upload::DEFAULT_BASE_URL);
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from the environment: `Client::builder().with_env().build()` (see
    /// [`ClientBuilder::with_env`] for the variables).
    ///
    /// ```no_run
    /// // KIE_API_KEY=... my-program
    /// let file = kie_upload::Client::from_env()?.upload_file("photo.jpg", "images")?;
    /// println!("{}", file.download_url);
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::new().with_env().build()
    }

    /// The base URL that endpoints are appended to, without a trailing `/`.
    ///
    /// ```
    /// let client = kie_upload::Client::builder().api_key("key").base_url("https://proxy.local/kie/").build()?;
    /// assert_eq!(client.base_url(), "https://proxy.local/kie");
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// Uploads a local file to `upload_path` under its own name: `upload(Upload::file(path,
    /// upload_path))`.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("photo.jpg");
    /// # std::fs::write(&path, b"jpeg")?;
    /// let file = client.upload_file(&path, "images")?;
    /// assert_eq!((file.file_path.as_str(), file.file_size), ("images/photo.jpg", 4));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn upload_file(
        &self,
        path: impl AsRef<Path>,
        upload_path: impl Into<String>,
    ) -> Result<UploadedFile, Error> {
        self.upload(Upload::file(path, upload_path))
    }

    /// Streams one [`Upload`] as `multipart/form-data` to `POST /api/file-stream-upload`, the
    /// endpoint for files of any size, and returns the stored file.
    ///
    /// Everything that can be checked locally is checked before a connection is opened. The reply
    /// is checked both by HTTP status and by the body's `success` and `code`, and the `fileSize`
    /// the service reports must equal the bytes sent. Failures worth it are retried (see
    /// [`ClientBuilder::retries`]).
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let file = client.upload(Upload::reader(&b"any reader"[..], "logs").file_name("run.log"))?;
    /// assert_eq!(file.file_size, 10);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn upload(&self, upload: Upload<'_>) -> Result<UploadedFile, Error> {
        self.send(upload, Encoding::Multipart)
            .map_err(|e| self.config.finish(e))
    }

    /// Sends one [`Upload`] as base64 in JSON to `POST /api/file-base64-upload`, the endpoint for
    /// small files.
    ///
    /// The file is encoded on the fly into the body (never held in memory as text) and the body
    /// has an exact `Content-Length`, so the source's length must be known (a regular file, bytes,
    /// a seekable reader, or [`Upload::length`]), at least 1 byte and at most
    /// [`BASE64_MAX`](crate::BASE64_MAX): anything else is refused before anything is sent. It sends
    /// 4/3 of the file's size; prefer [`upload`](Self::upload).
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let file = client.upload_base64(Upload::bytes(b"tiny", "icons").file_name("dot.png"))?;
    /// assert_eq!(file.file_size, 4);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn upload_base64(&self, upload: Upload<'_>) -> Result<UploadedFile, Error> {
        self.send(upload, Encoding::Base64)
            .map_err(|e| self.config.finish(e))
    }

    /// Asks the service to fetch a file from the web itself, through `POST /api/file-url-upload`.
    ///
    /// The service gives up on a download that takes over 30 seconds, and recommends this endpoint
    /// for files up to about 100 MB. Failures worth it are retried when the upload has a file name
    /// (without one, a repeat could store a second copy).
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// # use kie_upload::UrlUpload;
    /// # let url = client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.download_url;
    /// // The service downloads `url` itself; nothing passes through this program.
    /// let copy = client.upload_url(UrlUpload::new(url, "copies").file_name("hi.txt"))?;
    /// assert_eq!(copy.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn upload_url(&self, upload: UrlUpload<'_>) -> Result<UploadedFile, Error> {
        self.fetch_url(upload).map_err(|e| self.config.finish(e))
    }

    /// Cuts the secrets out of `text` before it is shown: this client's API key, in any encoding
    /// (as is, percent-, HTML- or JSON-encoded, in any case), and the password of every URL's
    /// user information. The library does this to everything it puts into an error; use it for
    /// any other text that may carry them, such as a label built from a URL the user gave. Pair it
    /// with [`printable`](crate::printable) for a terminal.
    ///
    /// ```
    /// let client = kie_upload::Client::new("sk-0123456789abcdef");
    /// let label = "https://alice:hunter2@files.example/a.png?token=sk-0123456789abcdef";
    /// assert_eq!(
    ///     client.redact(label),
    ///     "https://alice:***@files.example/a.png?token=[redacted]"
    /// );
    /// ```
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.config.api_key).into_owned()
    }

    /// Downloads `url` (a [`UploadedFile::download_url`](crate::UploadedFile::download_url)) into `out` and returns the number of bytes
    /// written. No credentials are sent: download URLs need none. Up to 5 redirects are followed
    /// (a download may be served from elsewhere). Streams through a fixed buffer; each socket read
    /// is bounded by the stall timeout, the whole download is not.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let file = client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?;
    /// let mut back = Vec::new();
    /// assert_eq!(client.download_to(&file.download_url, &mut back)?, 2);
    /// assert_eq!(back, b"hi");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn download_to(&self, url: &str, out: &mut impl Write) -> Result<u64, Error> {
        self.download(url, out).map_err(|e| self.config.finish(e))
    }

    /// [`download_to`](Self::download_to), before its error is finished.
    fn download(&self, url: &str, out: &mut impl Write) -> Result<u64, Error> {
        self.config.usable()?;
        // What an earlier request on this thread saw of its server is not this one's.
        crate::transport::clear_seen();
        let response = self
            .config
            .agent
            .get(url)
            .config()
            .max_redirects(5)
            .build()
            .call()
            .map_err(reply::failure)?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        if !(200..300).contains(&status) {
            let page = body
                .with_config()
                .limit(MAX_REPLY)
                .read_to_vec()
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&page);
            return Err(Error::new(ErrorKind::Http {
                status,
                excerpt: excerpt(&redact(&text, &self.config.api_key)),
            }));
        }
        io::copy(&mut body.as_reader(), out).map_err(|e| {
            // A failed socket read comes back wrapped in io::Error; keep it a transport error.
            match e.downcast::<ureq::Error>() {
                Ok(e) => reply::failure(e),
                Err(e) => Error::io(None, e),
            }
        })
    }

    /// [`upload_url`](Self::upload_url), before its error is finished.
    fn fetch_url(&self, mut upload: UrlUpload<'_>) -> Result<UploadedFile, Error> {
        self.config.check_key()?;
        let upload_path = upload.check()?;
        let body = url_json(&upload.file_url, &upload_path, upload.file_name.as_deref());
        // Without a file name a repeat could store a second copy.
        let cannot_repeat = upload.file_name.is_none().then_some(NotRetried::NoFileName);
        self.config
            .retrying(cannot_repeat, &mut upload.events, |attempt, events| {
                let mut json =
                    Body::new("application/json", Some(body.len() as u64), body.as_slice());
                let response = self.post(attempt, events, URL_ENDPOINT, &mut json);
                let sent = Sent {
                    file: None,
                    chunked: false,
                };
                // The small body is sent: the deadline runs from the reply's arrival.
                reply::judge(response, &sent, &upload_path, &self.config, Instant::now())
            })
    }

    /// One upload of a file to the stream or base64 endpoint, every attempt of it, or the live
    /// upload of the same bytes the cache holds (reached through one seam, [`Recall`]).
    fn send(&self, upload: Upload<'_>, encoding: Encoding) -> Result<UploadedFile, Error> {
        self.config.check_key()?;
        let mut recall = Recall::new(&self.config);
        let mut upload = recall.prepare(upload).check(encoding)?;
        if let Some(file) = recall.lookup(&mut upload)? {
            return Ok(file);
        }
        let fields = Fields {
            upload_path: &upload.upload_path,
            file_name: upload.file_name.as_deref(),
            content_type: upload.content_type.as_deref(),
        };
        let (source, progress) = (&mut upload.source, &mut upload.progress);
        let file = self.config.retrying(
            upload.cannot_repeat,
            &mut upload.events,
            |attempt, events| {
                let opened = source.open()?;
                let mut tap = recall.tap(opened.reader);
                let opened = Opened {
                    reader: &mut tap,
                    ..opened
                };
                let progress = progress.as_mut().map(|p| &mut **p as ProgressRef<'_>);
                let mut payload = Payload::new(opened, progress);
                let mut body = encoding.frame(&fields, &mut payload)?;
                let response = self.post(attempt, events, encoding.endpoint(), &mut body);
                let length = body.length;
                drop(body);
                if let Some(error) = payload.take_error() {
                    return Err(error);
                }
                let sent = Sent {
                    file: Some((payload.sent(), payload.is_whole())),
                    chunked: length.is_none(),
                };
                // The reply's deadline runs from the end of the body (or, when the server answered
                // before it ended, from now).
                let reply_from = payload.done_at().unwrap_or_else(Instant::now);
                drop(payload);
                recall.sent(&tap);
                let judged = reply::judge(
                    response,
                    &sent,
                    fields.upload_path,
                    &self.config,
                    reply_from,
                );
                if judged.is_ok() {
                    self.config.expect.accepted(length);
                }
                judged
            },
        )?;
        // A copy the caller's check rejects is never recorded.
        upload.verified(&file)?;
        recall.record(&mut upload, &file);
        Ok(file)
    }

    /// POSTs `body` to `endpoint` under the base URL, by length when its length is known, else
    /// chunked.
    fn post(
        &self,
        attempt: u32,
        events: &mut Option<EventFn<'_>>,
        endpoint: &str,
        body: &mut Body<'_>,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        emit(events, Event::Attempt { attempt, endpoint });
        let started = Instant::now();
        let mut request = self
            .config
            .agent
            .post(format!("{}{endpoint}", self.config.base_url))
            .header("Authorization", format!("Bearer {}", self.config.api_key))
            .header("Accept", "application/json")
            .header("Content-Type", &body.content_type);
        let length = body.length;
        if let Some(length) = length {
            // With a length ureq sends the body by length instead of chunked; the payload guards it.
            request = request.header("Content-Length", length.to_string());
        }
        let asking = self
            .config
            .expect_continue
            .then(|| self.config.expect.ask(length))
            .flatten();
        if asking.is_some() {
            // A server that refuses at the headers can then answer before the body goes out.
            request = request.header("Expect", "100-continue");
        }
        crate::transport::clear_seen();
        let response = request
            .config()
            .timeout_recv_response(Some(self.config.timeouts.reply))
            .timeout_recv_body(Some(self.config.timeouts.reply))
            .build()
            .send(SendBody::from_reader(&mut *body));
        // The body read without `100 Continue` after asking: the server let the wait run out.
        if let Some(asking) = asking.filter(|_| body.continued == Some(false)) {
            asking.wait_ran_out();
        }
        let response = response?;
        emit(
            events,
            Event::Reply {
                attempt,
                status: response.status().as_u16(),
                elapsed: started.elapsed(),
            },
        );
        Ok(response)
    }
}
