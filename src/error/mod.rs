//! The one error type: [`Error`] and the context beside its cause (attempts, why it was not retried,
//! the local path, the wait the server asked for, where the key came from). The cause is in
//! `kind.rs`, the advice in `hint.rs`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::text::{mask_passwords, redact};
use crate::{ErrorKind, Hint, KeySource, NotRetried};

/// Everything that can go wrong in an upload.
///
/// The cause is an [`ErrorKind`], matched the same way after one attempt or several:
///
/// ```
/// use kie_upload::{Client, ErrorKind, Upload};
///
/// fn report(client: &Client) {
///     match client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")) {
///         Ok(file) => println!("{}", file.download_url),
///         Err(e) => match e.kind() {
///             ErrorKind::Service { code: 401, .. } => eprintln!("the key was refused: {e}"),
///             ErrorKind::InvalidInput { .. } => eprintln!("fix the input: {e}"),
///             _ if e.is_retryable() => eprintln!("try again later ({} attempts): {e}", e.attempts()),
///             _ => match e.hint() {
///                 Some(hint) => eprintln!("error: {e}\nhint: {hint}"),
///                 None => eprintln!("error: {e}"),
///             },
///         },
///     }
/// }
/// ```
///
/// `Display` is one short line that says what failed; what to do about it is [`Error::hint`], a
/// [`Hint`] a program can word in its own terms; the underlying error, when there is one, is
/// [`source()`](std::error::Error::source) (and [`io_error`](Error::io_error)), not repeated in
/// the line. No error,
/// in `Display` or `Debug`, ever holds the API key: text from the network is cleaned of it (in any
/// encoding) before it enters an error, and control and bidirectional characters in it are escaped
/// when shown.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    attempts: u32,
    not_retried: Option<NotRetried>,
    path: Option<PathBuf>,
    retry_after: Option<Duration>,
    /// The proxy the error concerns, and where it was set.
    proxy: Option<crate::proxy::About>,
    /// Whether a transport failure may pass if tried again (a reset may, an unknown host does not).
    transient: bool,
    /// Advice set where the error was made, when the kind alone cannot say it.
    hint: Option<Hint>,
    /// Where the client's key came from, for the advice on a refused key.
    key_source: Option<KeySource>,
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
                proxy: None,
                transient: true,
                hint: None,
                key_source: None,
                source: None,
            }),
        }
    }

    /// Bad input, refused before anything was sent. A password in a URL the reason quotes is
    /// masked.
    pub(crate) fn invalid(reason: impl Into<String>) -> Error {
        let reason: String = reason.into();
        let mut e = Error::new(ErrorKind::InvalidInput {
            reason: mask_passwords(&reason).into_owned(),
        });
        e.inner.attempts = 0;
        e
    }

    /// A local file (at `path`, when there is one) or the source reader failed.
    pub(crate) fn io(path: Option<&Path>, source: io::Error) -> Error {
        let mut e = Error::new(ErrorKind::Io).with_source(source);
        e.inner.path = path.map(Path::to_path_buf);
        e
    }

    /// Whether this transport or proxy failure may pass if tried again (see
    /// [`is_retryable`](Error::is_retryable)).
    pub(crate) fn transient(mut self, transient: bool) -> Error {
        self.inner.transient = transient;
        self
    }

    /// Records which proxy the error concerns (for a proxy failure or a refused proxy setting).
    pub(crate) fn with_proxy(mut self, about: &crate::proxy::About) -> Error {
        self.inner.proxy = Some(about.clone());
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        self.inner.source = Some(source.into());
        self
    }

    /// Sets the advice, where the kind alone cannot say it.
    pub(crate) fn with_hint(mut self, hint: Hint) -> Error {
        self.inner.hint = Some(hint);
        self
    }

    /// Records where the client's key came from, and cuts the key (in any encoding) and URL
    /// passwords out of every text the kind holds: the last step before an error leaves a client.
    pub(crate) fn leaving_client(mut self, key: &str, source: Option<&KeySource>) -> Error {
        if self.inner.key_source.is_none() {
            self.inner.key_source = source.cloned();
        }
        let clean = |text: &mut String| {
            if let std::borrow::Cow::Owned(clean) = redact(text, key) {
                *text = clean;
            }
        };
        match &mut self.inner.kind {
            ErrorKind::InvalidInput { reason }
            | ErrorKind::Proxy { reason }
            | ErrorKind::Tls { reason }
            | ErrorKind::BadReply { reason, .. } => clean(reason),
            ErrorKind::Service { msg, .. } => clean(msg),
            ErrorKind::Http { excerpt, .. } => clean(excerpt),
            ErrorKind::Redirect { location, .. } => clean(location),
            _ => {}
        }
        self
    }

    /// Names the local file the error is about.
    pub(crate) fn with_path(mut self, path: &Path) -> Error {
        self.inner.path = Some(path.to_path_buf());
        self
    }

    pub(crate) fn with_retry_after(mut self, wait: Option<Duration>) -> Error {
        self.inner.retry_after = wait;
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

    /// Where the proxy this error concerns was set: for [`ErrorKind::Proxy`], and for an
    /// [`ErrorKind::InvalidInput`] that refused the proxy setting (a URL that does not parse, or a
    /// SOCKS proxy without the `socks` feature). `None` for errors that are not about a proxy.
    ///
    /// ```
    /// use kie_upload::{Client, ProxySource};
    ///
    /// let e = Client::builder().api_key("key").proxy("ftp://proxy.example:21").build().unwrap_err();
    /// assert_eq!(e.proxy_source(), Some(ProxySource::Builder));
    /// ```
    pub fn proxy_source(&self) -> Option<crate::ProxySource> {
        self.inner.proxy.as_ref().map(|p| p.source)
    }

    /// The URL of the proxy this error concerns, `scheme://host:port` with any credentials shown as
    /// `***@`; `None` when the error is not about a proxy, or the setting did not parse.
    ///
    /// ```
    /// use kie_upload::Client;
    ///
    /// use kie_upload::Upload;
    ///
    /// // Nothing listens on port 1: the proxy fails, and its password is not shown.
    /// let client = Client::builder().api_key("key").proxy("http://me:pw@127.0.0.1:1").build()?;
    /// let e = client.upload(Upload::bytes(b"hi", "notes")).unwrap_err();
    /// assert_eq!(e.proxy_url(), Some("http://***@127.0.0.1:1"));
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn proxy_url(&self) -> Option<&str> {
        self.inner.proxy.as_ref().and_then(|p| p.url.as_deref())
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

    /// How long the server asked to wait before trying again (its `Retry-After`), when it did.
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
        let source = self.inner.source.as_deref()?;
        if let Some(e) = source.downcast_ref::<io::Error>() {
            return Some(e);
        }
        match source.downcast_ref::<ureq::Error>()? {
            ureq::Error::Io(e) => Some(e),
            _ => None,
        }
    }

    /// Whether a transport or proxy failure may pass if tried again.
    pub(crate) fn is_transient(&self) -> bool {
        self.inner.transient
    }

    /// The advice set where the error was made, if any.
    pub(crate) fn given_hint(&self) -> Option<&Hint> {
        self.inner.hint.as_ref()
    }

    /// Where the client's key came from, once the error has left the client.
    pub(crate) fn key_source(&self) -> Option<&KeySource> {
        self.inner.key_source.as_ref()
    }

    /// The HTTP client's error underneath, when there is one.
    pub(crate) fn ureq_error(&self) -> Option<&ureq::Error> {
        self.inner.source.as_deref()?.downcast_ref::<ureq::Error>()
    }

    /// Whether the cause is a timeout: a connect, a socket read or write, or the wait for the reply
    /// took longer than its bound.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key")).unwrap();
    /// # use std::time::Duration;
    /// emu.inject(Fault::NeverAnswer, 1);
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .reply_timeout(Duration::from_millis(200)).retries(0).build()?;
    /// let e = client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err();
    /// assert!(e.is_timeout());
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("attempts", &self.inner.attempts);
        if let Some(why) = self.inner.not_retried {
            d.field("not_retried", &why);
        }
        if let Some(path) = &self.inner.path {
            d.field("path", path);
        }
        if let Some(wait) = self.inner.retry_after {
            d.field("retry_after", &wait);
        }
        if let Some(proxy) = &self.inner.proxy {
            d.field("proxy", proxy);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
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
    /// [`ErrorKind::Io`] and [`ErrorKind::Transport`], `InvalidInput`,
    /// `TimedOut`, `UnexpectedEof` for a short source, `InvalidData` for a bad reply.
    fn from(e: Error) -> io::Error {
        let kind = match e.kind() {
            ErrorKind::InvalidInput { .. } => io::ErrorKind::InvalidInput,
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

mod transport;

#[cfg(test)]
mod tests;
