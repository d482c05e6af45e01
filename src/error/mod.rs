//! The one error type, in one place: [`Error`] and the context beside its cause (attempts, why it
//! was not retried, the local path, the wait the server asked for, which proxy, where a setting
//! came from); the cause itself ([`ErrorKind`]), the line `Display` shows and the retry rules are
//! in `kind.rs`. Nothing here knows the HTTP client, the proxy, TLS or the transport: the code that
//! makes a request turns their failures into a kind (`reply.rs`).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::text::{mask_passwords, redact};

mod kind;

pub use kind::{ErrorKind, NotRetried};

/// Everything that can go wrong in an upload.
///
/// The cause is an [`ErrorKind`], matched the same way after one attempt or several; what to do
/// about each kind is said on it. Beside the cause sit the context ([`attempts`](Error::attempts),
/// [`not_retried`](Error::not_retried), [`path`](Error::path), [`setting`](Error::setting), ...)
/// and the underlying error, [`source()`](std::error::Error::source):
///
/// ```
/// use kie_upload::{Client, ErrorKind, Upload};
///
/// fn report(client: &Client) {
///     match client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")) {
///         Ok(file) => println!("{}", file.download_url),
///         Err(e) => match e.kind() {
///             ErrorKind::Service { code: 401, .. } => match e.setting() {
///                 Some(from) => eprintln!("{e}: check {from}"),
///                 None => eprintln!("{e}: check the key given in code"),
///             },
///             ErrorKind::InvalidInput { .. } => eprintln!("fix the input: {e}"),
///             _ if e.is_retryable() => eprintln!("try again later ({} attempts): {e}", e.attempts()),
///             _ => eprintln!("error: {e}"),
///         },
///     }
/// }
/// ```
///
/// `Display` is one short lowercase line that says what failed: no advice, no count of attempts,
/// and not the text of [`source()`](std::error::Error::source) (or [`io_error`](Error::io_error)).
/// No error, in `Display` or `Debug`, ever holds the API key: text from the network is cleaned of
/// it (in any encoding) before it enters an error, and control and bidirectional characters in it
/// are escaped when shown. A retry's [`Event::Retry`](crate::Event::Retry) carries the error just
/// as the caller would get it.
#[derive(Debug)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    attempts: u32,
    not_retried: Option<NotRetried>,
    path: Option<PathBuf>,
    retry_after: Option<Duration>,
    /// The proxy the error concerns, its credentials masked.
    proxy_url: Option<String>,
    /// Where the key or proxy the error concerns was set: a variable's name, or the key file.
    setting: Option<String>,
    /// Whether a transport or proxy failure may pass if tried again (a reset may, a refusal not).
    transient: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                attempts: 1,
                not_retried: None,
                path: None,
                retry_after: None,
                proxy_url: None,
                setting: None,
                transient: true,
                source: None,
            }),
        }
    }

    /// Refused locally, before anything was sent: no attempt was made.
    pub(crate) fn refused(kind: ErrorKind) -> Error {
        let mut e = Error::new(kind);
        e.inner.attempts = 0;
        e
    }

    /// Bad input, refused before anything was sent. A password in a URL the reason quotes is
    /// masked.
    pub(crate) fn invalid(reason: impl Into<String>) -> Error {
        let reason = mask_passwords(&reason.into()).into_owned();
        Error::refused(ErrorKind::InvalidInput { reason })
    }

    /// A key that is missing or cannot be used.
    pub(crate) fn api_key(reason: impl Into<String>) -> Error {
        let reason = reason.into();
        Error::refused(ErrorKind::ApiKey { reason })
    }

    /// A local file (at `path`, when there is one) or the source reader failed.
    pub(crate) fn io(path: Option<&Path>, source: io::Error) -> Error {
        let mut e = Error::new(ErrorKind::Io).with_source(source);
        e.inner.path = path.map(Path::to_path_buf);
        e
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        self.inner.source = Some(source.into());
        self
    }

    /// Whether this transport or proxy failure may pass if tried again (see
    /// [`is_retryable`](Error::is_retryable)).
    pub(crate) fn transient(mut self, transient: bool) -> Error {
        self.inner.transient = transient;
        self
    }

    pub(crate) fn with_path(mut self, path: &Path) -> Error {
        self.inner.path = Some(path.to_path_buf());
        self
    }

    pub(crate) fn with_retry_after(mut self, wait: Option<Duration>) -> Error {
        self.inner.retry_after = wait;
        self
    }

    /// Records which proxy the error concerns, and the variable that set it.
    pub(crate) fn with_proxy(mut self, url: Option<&str>, var: Option<&str>) -> Error {
        self.inner.proxy_url = url.map(str::to_owned);
        self.inner.setting = var.map(str::to_owned);
        self
    }

    /// Records where the setting the error concerns came from, unless that is known already.
    pub(crate) fn with_setting(mut self, setting: Option<&str>) -> Error {
        if self.inner.setting.is_none() {
            self.inner.setting = setting.map(str::to_owned);
        }
        self
    }

    /// Cuts the key (in any encoding) and URL passwords out of every text the kind holds: the
    /// last step before an error leaves a client, or reaches a retry's event.
    pub(crate) fn redacted(mut self, key: &str) -> Error {
        let clean = |text: &mut String| {
            if let std::borrow::Cow::Owned(clean) = redact(text, key) {
                *text = clean;
            }
        };
        match &mut self.inner.kind {
            ErrorKind::InvalidInput { reason }
            | ErrorKind::ApiKey { reason }
            | ErrorKind::Proxy { reason }
            | ErrorKind::Tls { reason }
            | ErrorKind::BadReply { reason, .. } => clean(reason),
            ErrorKind::Service { msg, .. } => clean(msg),
            ErrorKind::Http { excerpt, .. } => clean(excerpt),
            ErrorKind::Redirect { location, .. } => clean(location),
            ErrorKind::InsecureHttp { base_url } => clean(base_url),
            _ => {}
        }
        self
    }

    /// Records how the retries ended for this error.
    pub(crate) fn after_attempts(
        mut self,
        attempts: u32,
        not_retried: Option<NotRetried>,
    ) -> Error {
        if self.inner.attempts != 0 {
            self.inner.attempts = attempts;
        }
        self.inner.not_retried = not_retried;
        self
    }

    /// The cause.
    ///
    /// ```
    /// use kie_upload::{Client, ErrorKind, Upload};
    ///
    /// let e = Client::new("key").upload(Upload::bytes(b"hi", "")).unwrap_err();
    /// assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }));
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// How many attempts were made: 0 when the upload was refused locally before anything was sent,
    /// else at least 1.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key")).unwrap();
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    /// #     .retry_backoff(std::time::Duration::ZERO).build()?;
    /// // Three answers of 503: the first try and both default retries fail.
    /// emu.inject(Fault::Status { status: 503, retry_after: None }, 3);
    /// let e = client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err();
    /// assert_eq!(e.attempts(), 3);
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Why this failure, which was worth retrying, was not retried (again); `None` when it was not
    /// worth retrying or was retried until it passed or failed otherwise.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key")).unwrap();
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    /// #     .retry_backoff(std::time::Duration::ZERO).build()?;
    /// # use kie_upload::NotRetried;
    /// emu.inject(Fault::Status { status: 503, retry_after: None }, 1);
    /// // A plain reader cannot be read twice, so the 503 is not retried.
    /// let e = client.upload(Upload::reader(&b"hi"[..], "notes").file_name("hi.txt")).unwrap_err();
    /// assert_eq!(e.not_retried(), Some(NotRetried::SourceNotRepeatable));
    /// assert_eq!(e.attempts(), 1);
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn not_retried(&self) -> Option<NotRetried> {
        self.inner.not_retried
    }

    /// Where the API key or the proxy this error concerns was set, when it was not set in code:
    /// the environment variable's name (`KIE_API_KEY`, `HTTPS_PROXY`, ...), or the path of the
    /// file the key was read from. It is set for a key the service refused
    /// ([`ErrorKind::Service`] with code 401) or that cannot be used ([`ErrorKind::ApiKey`]), for
    /// a proxy that failed ([`ErrorKind::Proxy`]) and for a proxy setting refused when the client
    /// was built; `None` for a key or proxy given in code, and for every other error.
    ///
    /// ```
    /// use kie_upload::Client;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let key_file = dir.path().join("kie.key");
    /// std::fs::write(&key_file, "")?;
    /// let e = Client::builder().api_key_file(&key_file).build().unwrap_err();
    /// assert_eq!(e.setting(), key_file.to_str());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn setting(&self) -> Option<&str> {
        self.inner.setting.as_deref()
    }

    /// The URL of the proxy this error concerns, `scheme://host:port` with any credentials shown as
    /// `***@`; `None` when the error is not about a proxy, or the setting did not parse.
    ///
    /// ```
    /// use kie_upload::{Client, Upload};
    ///
    /// // Nothing listens on port 1: the proxy fails, and its password is not shown.
    /// let client = Client::builder().api_key("key").proxy("http://me:pw@127.0.0.1:1").build()?;
    /// let e = client.upload(Upload::bytes(b"hi", "notes")).unwrap_err();
    /// assert_eq!(e.proxy_url(), Some("http://***@127.0.0.1:1"));
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn proxy_url(&self) -> Option<&str> {
        self.inner.proxy_url.as_deref()
    }

    /// The local file the error concerns, when there is one.
    ///
    /// ```
    /// use std::path::Path;
    /// use kie_upload::Client;
    ///
    /// let e = Client::new("key").upload_file("/no/such/file.png", "images").unwrap_err();
    /// assert_eq!(e.path(), Some(Path::new("/no/such/file.png")));
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// How long the server asked to wait before trying again (its `Retry-After`), when it did in
    /// whole seconds; `None` for the header's HTTP-date form, which is not read.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key")).unwrap();
    /// # use std::time::Duration;
    /// emu.inject(Fault::Status { status: 429, retry_after: Some("7".into()) }, 1);
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().retries(0).build()?;
    /// let e = client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err();
    /// assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The [`io::Error`] underneath, when there is one: a local file's or the source reader's for
    /// [`ErrorKind::Io`], the socket's for a connection that broke or stalled. As walkdir's
    /// `Error::io_error`.
    ///
    /// ```
    /// use kie_upload::Client;
    ///
    /// let e = Client::new("sk-example-key").upload_file("/no/such/file.png", "p").unwrap_err();
    /// assert_eq!(e.io_error().map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    /// ```
    pub fn io_error(&self) -> Option<&io::Error> {
        self.inner.source.as_deref()?.downcast_ref::<io::Error>()
    }

    /// Whether a transport or proxy failure may pass if tried again.
    fn is_transient(&self) -> bool {
        self.inner.transient
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for io::Error {
    /// Keeps the kind where one fits: the underlying [`io_error`](Error::io_error)'s own for
    /// [`ErrorKind::Io`] and [`ErrorKind::Transport`], `InvalidInput` for what was refused
    /// locally, `TimedOut`, `UnexpectedEof` for a short source, `InvalidData` for a bad reply.
    fn from(e: Error) -> io::Error {
        let kind = match e.kind() {
            ErrorKind::InvalidInput { .. }
            | ErrorKind::ApiKey { .. }
            | ErrorKind::InsecureHttp { .. }
            | ErrorKind::Base64Refused { .. } => io::ErrorKind::InvalidInput,
            ErrorKind::Io | ErrorKind::Transport => {
                e.io_error().map_or(io::ErrorKind::Other, io::Error::kind)
            }
            ErrorKind::Timeout => io::ErrorKind::TimedOut,
            ErrorKind::SourceLengthMismatch { .. } => io::ErrorKind::UnexpectedEof,
            ErrorKind::BadReply { .. } | ErrorKind::StoredSizeMismatch { .. } => {
                io::ErrorKind::InvalidData
            }
            ErrorKind::Cancelled => io::ErrorKind::Interrupted,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests;
