//! The one error type: [`Error`], its cause ([`ErrorKind`]), and the context beside it (attempts, why
//! it was not retried, the local path, the wait the server asked for).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::text::printable;

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
///             ErrorKind::Service { code: 401, .. } => eprintln!("check KIE_API_KEY"),
///             ErrorKind::InvalidInput { .. } => eprintln!("fix the input: {e}"),
///             _ if e.is_retryable() => eprintln!("try again later ({} attempts): {e}", e.attempts()),
///             _ => eprintln!("error: {e}"),
///         },
///     }
/// }
/// ```
///
/// `Display` is one line that says what failed and what to do next; the underlying error, when
/// there is one, is [`source()`](std::error::Error::source), not repeated in the line. No error,
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
    /// Whether a transport failure may pass if tried again (a reset may, an unknown host does not).
    transient: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The cause of an [`Error`]: what went wrong, whatever the retries.
///
/// ```
/// use kie_upload::{Error, ErrorKind};
///
/// /// What a program might tell its user, by cause.
/// fn advice(e: &Error) -> &'static str {
///     match e.kind() {
///         ErrorKind::Service { code: 401, .. } => "check the API key",
///         ErrorKind::Service { code: 402, .. } => "top up the account",
///         ErrorKind::Http { status: 413, .. } | ErrorKind::Service { code: 413, .. } => "the file is too large",
///         ErrorKind::Timeout | ErrorKind::Transport => "check the network",
///         ErrorKind::InvalidInput { .. } => "fix the input",
///         _ => "see the message",
///     }
/// }
/// # let _ = advice;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Refused locally before anything was sent: a missing key, an empty or `..` upload path, a
    /// control character in a name, a directory given as a file, a bad base URL or setting.
    InvalidInput {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A local file or the source reader failed; [`Error::path`] names the file, and
    /// [`source()`](std::error::Error::source) is the [`io::Error`].
    Io,
    /// The connection could not be opened, or broke: refused, reset, closed early, or the host is
    /// unknown. The transport's own error is the source.
    Transport,
    /// The network or the server stalled: a connect, a socket read or write, or the wait for the
    /// reply took longer than its bound.
    Timeout,
    /// The proxy refused to open a tunnel to the service (`CONNECT` answered 407, 403, 502, ...)
    /// or did not answer.
    Proxy {
        /// What the proxy answered.
        reason: String,
    },
    /// The TLS handshake failed, typically because the server's certificate is not trusted, is for
    /// another name, or has expired.
    Tls {
        /// What the TLS library said, in words.
        reason: String,
    },
    /// The service refused the upload with its own JSON envelope, whether that came with an HTTP
    /// error status or inside an HTTP 200 reply (the live service's usual way).
    Service {
        /// The HTTP status of the reply (200 when the error came inside the body).
        status: u16,
        /// The service's `code` (the HTTP status when the body had none; 0 when neither says what
        /// went wrong).
        code: u16,
        /// The service's `msg`, cleaned of the API key.
        msg: String,
    },
    /// An HTTP error whose body is not the service's JSON, typically a proxy's or CDN's HTML page.
    Http {
        /// The HTTP status.
        status: u16,
        /// A short excerpt of the body, without markup, cleaned of the API key.
        excerpt: String,
    },
    /// The server answered with a redirect, which is not followed (it would turn the upload into a
    /// body-less `GET` or send the key elsewhere).
    Redirect {
        /// The HTTP status (301, 302, 303, 307 or 308).
        status: u16,
        /// The `Location` it pointed to, cleaned of the API key.
        location: String,
    },
    /// The reply could not be understood: not JSON, not an envelope, a success without a usable
    /// `data`, or larger than the cap.
    BadReply {
        /// The HTTP status of the reply.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
    /// The source held a different number of bytes from the length declared for it, so the upload
    /// was abandoned mid-body: the server saw a truncated request and stored nothing.
    SourceLengthMismatch {
        /// The declared length.
        declared: u64,
        /// How many bytes the source yielded (at least this many when it held more).
        actual: u64,
    },
    /// The service reported storing a different number of bytes from those sent: the stored file is
    /// not the one uploaded. Never a success.
    StoredSizeMismatch {
        /// Bytes of the file that were sent.
        sent: u64,
        /// The `fileSize` the service reported.
        stored: u64,
    },
    /// The server refused a body of unknown length (sent chunked) and wants a `Content-Length`.
    LengthRequired {
        /// The HTTP status of the refusal.
        status: u16,
    },
    /// The upload's progress callback asked to stop. Nothing was stored.
    Cancelled,
}

/// Why a failure worth retrying was not retried (again): see [`Error::not_retried`].
///
/// ```no_run
/// use kie_upload::{Client, NotRetried, Upload};
///
/// # fn main() -> Result<(), kie_upload::Error> {
/// let client = Client::from_env()?;
/// if let Err(e) = client.upload(Upload::reader(std::io::stdin(), "logs").file_name("log.txt")) {
///     if e.not_retried() == Some(NotRetried::SourceNotRepeatable) {
///         eprintln!("standard input cannot be sent twice; save it to a file to get retries");
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotRetried {
    /// The source cannot be read twice: a plain reader, a pipe, a FIFO, a device or standard input.
    SourceNotRepeatable,
    /// The upload has no file name, so the service would store a repeat as a second copy.
    NoFileName,
    /// The retries ran out, or are turned off ([`ClientBuilder::retries`](crate::ClientBuilder::retries)).
    OutOfRetries,
}

impl NotRetried {
    fn explain(self) -> &'static str {
        match self {
            NotRetried::SourceNotRepeatable if cfg!(feature = "spool") => {
                "the source is a reader, pipe or device, which cannot be read twice; upload a \
                 regular file, bytes, Upload::seekable, or use Upload::spool"
            }
            NotRetried::SourceNotRepeatable => {
                "the source is a reader, pipe or device, which cannot be read twice; upload a \
                 regular file, bytes or Upload::seekable"
            }
            NotRetried::NoFileName => {
                "it has no file name, so a repeat could store a second copy; set a file name"
            }
            NotRetried::OutOfRetries => "retries are turned off",
        }
    }
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
                transient: true,
                source: None,
            }),
        }
    }

    /// Bad input, refused before anything was sent.
    pub(crate) fn invalid(reason: impl Into<String>) -> Error {
        let mut e = Error::new(ErrorKind::InvalidInput {
            reason: reason.into(),
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

    /// A failure of the HTTP client: a timeout, a TLS failure, or a broken connection.
    pub(crate) fn transport(error: ureq::Error) -> Error {
        let timed_out = match &error {
            ureq::Error::Timeout(_) => true,
            ureq::Error::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ),
            _ => false,
        };
        if timed_out {
            return Error::new(ErrorKind::Timeout).with_source(error);
        }
        if let Some(reason) = crate::tls::failure(&error) {
            let mut e = Error::new(ErrorKind::Tls { reason }).with_source(error);
            e.inner.transient = false;
            return e;
        }
        if let ureq::Error::ConnectProxyFailed(reason) = &error {
            // A gateway error of the proxy may pass; a refusal (407 and the like) will not.
            let transient = ["502", "503", "504", "did not respond"]
                .iter()
                .any(|s| reason.contains(s));
            let mut e = Error::new(ErrorKind::Proxy {
                reason: reason.clone(),
            })
            .with_source(error);
            e.inner.transient = transient;
            return e;
        }
        let transient = !matches!(
            error,
            ureq::Error::BadUri(_)
                | ureq::Error::Http(_)
                | ureq::Error::HostNotFound
                | ureq::Error::InvalidProxyUrl
                | ureq::Error::RequireHttpsOnly(_)
                | ureq::Error::TlsRequired
        );
        let mut e = Error::new(ErrorKind::Transport).with_source(error);
        e.inner.transient = transient;
        e
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        self.inner.source = Some(source.into());
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
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// How many attempts were made: 0 when the upload was refused locally before anything was sent,
    /// else at least 1.
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Why this failure, which was worth retrying, was not retried (again); `None` when it was not
    /// worth retrying or was retried until it passed or failed otherwise.
    pub fn not_retried(&self) -> Option<NotRetried> {
        self.inner.not_retried
    }

    /// The local file the error concerns, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// How long the server asked to wait before trying again (its `Retry-After`), when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Whether trying the same upload again may succeed: a broken connection or a stall, rate
    /// limiting (429), maintenance (455) or a server or gateway error (500, 502-504). A refusal of
    /// the request itself (bad key, bad input, too large), a TLS failure, a size mismatch, a
    /// cancellation or a local error is not retryable.
    pub fn is_retryable(&self) -> bool {
        match &self.inner.kind {
            ErrorKind::Transport | ErrorKind::Proxy { .. } => self.inner.transient,
            ErrorKind::Timeout => true,
            ErrorKind::Service { status, code, .. } => {
                retryable_status(*code) || (*code == *status && retryable_status(*status))
            }
            ErrorKind::Http { status, .. } => retryable_status(*status),
            _ => false,
        }
    }

    /// Whether the cause is a timeout: a connect, a socket read or write, or the wait for the reply
    /// took longer than its bound.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }
}

fn retryable_status(code: u16) -> bool {
    matches!(code, 429 | 455 | 500 | 502 | 503 | 504)
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
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            ErrorKind::InvalidInput { reason } => write!(f, "invalid input: {reason}")?,
            ErrorKind::Io => match &self.inner.path {
                Some(path) => write!(f, "cannot read {}", path.display())?,
                None => f.write_str("reading the source failed")?,
            },
            ErrorKind::Transport => f.write_str(
                "the connection to the service failed: check the network and the base URL, then retry",
            )?,
            ErrorKind::Timeout => f.write_str(
                "timed out: the network or the server stalled; retry, or raise the timeout",
            )?,
            ErrorKind::Proxy { reason } => write!(
                f,
                "the proxy did not open a tunnel to the service ({}): check the proxy URL and \
                 its credentials (ClientBuilder::proxy, --proxy, HTTPS_PROXY), or connect \
                 directly (no_proxy, --no-proxy)",
                printable(reason)
            )?,
            ErrorKind::Tls { reason } => write!(
                f,
                "TLS failed: {reason}: check the base URL, the clock, and the trusted roots \
                 (ClientBuilder::root_certs_pem, --cacert)"
            )?,
            ErrorKind::Service { code, msg, .. } => {
                let msg = printable(msg);
                match code {
                    401 => write!(
                        f,
                        "the service refused the API key (code 401): {msg}: check KIE_API_KEY"
                    )?,
                    0 => write!(
                        f,
                        "the service refused the upload without an error code: {msg}"
                    )?,
                    _ => {
                        write!(f, "the service refused the upload (code {code}): {msg}")?;
                        f.write_str(match code {
                            402 => ": the account is out of credits",
                            413 => ": the file is larger than the service accepts",
                            417 => {
                                ": set ClientBuilder::expect_continue(false) (kie-upload --no-expect)"
                            }
                            429 => ": rate limited, retry later",
                            455 => ": the service is under maintenance, retry later",
                            c if *c >= 500 => ": a server error, retry later",
                            _ => "",
                        })?
                    }
                }
            }
            ErrorKind::Http { status, excerpt } => {
                write!(
                    f,
                    "HTTP {status} with a body that is not the service's JSON (a proxy or gateway?): \"{}\": ",
                    printable(excerpt)
                )?;
                f.write_str(match status {
                    413 => "the file is larger than the server or a proxy in front of it accepts",
                    401 | 403 | 407 => {
                        "a proxy or firewall in front of the service refused the request; check \
                         the base URL and the proxy settings"
                    }
                    411 => "the server wants a Content-Length",
                    417 => {
                        "the server does not take `Expect: 100-continue`: set \
                         ClientBuilder::expect_continue(false) (kie-upload --no-expect)"

                    }
                    s if retryable_status(*s) => "retry later",
                    _ => "check the base URL",
                })?
            }
            ErrorKind::Redirect { status, location } => write!(
                f,
                "unexpected redirect (HTTP {status}) to {}: set the base URL to the final address",
                printable(location)
            )?,
            ErrorKind::BadReply { status, reason } => write!(
                f,
                "could not read the service's reply (HTTP {status}): {}: check the base URL",
                printable(reason)
            )?,
            ErrorKind::SourceLengthMismatch { declared, actual } if actual < declared => write!(
                f,
                "the source ended after {actual} of its declared {declared} bytes: the upload was \
                 abandoned; fix the declared length or the source"
            )?,
            ErrorKind::SourceLengthMismatch { declared, .. } => write!(
                f,
                "the source holds more than its declared {declared} bytes: the upload was \
                 abandoned; fix the declared length or the source"
            )?,
            ErrorKind::StoredSizeMismatch { sent, stored } => write!(
                f,
                "the service stored {stored} bytes but {sent} were sent: the stored file is \
                 incomplete; upload it again"
            )?,
            ErrorKind::LengthRequired { status } => write!(
                f,
                "the server refused a body of unknown length (HTTP {status}): {}",
                if cfg!(feature = "spool") {
                    "call Upload::spool() to send it with a Content-Length, or set Upload::length"
                } else {
                    "enable the `spool` feature and call Upload::spool(), or set Upload::length"
                }
            )?,
            ErrorKind::Cancelled => {
                f.write_str("the upload was cancelled by its progress callback; nothing was stored")?
            }
        }
        match (self.inner.not_retried, self.inner.attempts) {
            (Some(NotRetried::OutOfRetries), n) if n > 1 => {
                write!(f, " (gave up after {n} attempts)")
            }
            (Some(why), _) => write!(f, " (not retried: {})", why.explain()),
            (None, n) if n > 1 => write!(f, " (after {n} attempts)"),
            (None, _) => Ok(()),
        }
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
    /// Keeps the kind where one fits: the source's own for [`ErrorKind::Io`], `InvalidInput`,
    /// `TimedOut`, `UnexpectedEof` for a short source, `InvalidData` for a bad reply.
    fn from(e: Error) -> io::Error {
        let kind = match e.kind() {
            ErrorKind::InvalidInput { .. } => io::ErrorKind::InvalidInput,
            ErrorKind::Io => e
                .inner
                .source
                .as_deref()
                .and_then(|s| s.downcast_ref::<io::Error>())
                .map_or(io::ErrorKind::Other, io::Error::kind),
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
mod tests {
    use super::*;

    fn service(status: u16, code: u16) -> Error {
        Error::new(ErrorKind::Service {
            status,
            code,
            msg: "m".into(),
        })
    }

    #[test]
    fn error_stays_small() {
        // Every upload's result carries this type; keep it one pointer.
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn retryable_causes() {
        assert!(service(200, 429).is_retryable());
        assert!(service(200, 455).is_retryable());
        assert!(service(503, 503).is_retryable());
        assert!(!service(200, 401).is_retryable());
        assert!(!service(400, 400).is_retryable());
        // A refusal inside a 503 envelope is still a refusal.
        assert!(!service(503, 401).is_retryable());
        // An envelope without a code is a refusal that says nothing more: not retried.
        assert!(!service(200, 0).is_retryable());
        let http = |status| {
            Error::new(ErrorKind::Http {
                status,
                excerpt: String::new(),
            })
        };
        assert!(http(502).is_retryable());
        assert!(!http(413).is_retryable());
        assert!(!Error::invalid("x").is_retryable());
        assert!(!Error::new(ErrorKind::Cancelled).is_retryable());
        assert!(
            Error::transport(ureq::Error::Io(io::ErrorKind::ConnectionReset.into())).is_retryable()
        );
        assert!(!Error::transport(ureq::Error::HostNotFound).is_retryable());
        assert!(Error::transport(ureq::Error::Io(io::ErrorKind::TimedOut.into())).is_timeout());
    }

    #[test]
    fn context_beside_the_kind() {
        let e = service(503, 503).after_attempts(3, Some(NotRetried::OutOfRetries));
        assert_eq!(e.attempts(), 3);
        assert!(matches!(e.kind(), ErrorKind::Service { code: 503, .. }));
        assert!(e.to_string().ends_with("(gave up after 3 attempts)"), "{e}");
        let e = service(503, 503).after_attempts(1, Some(NotRetried::SourceNotRepeatable));
        assert!(
            e.to_string()
                .contains("(not retried: the source is a reader"),
            "{e}"
        );
        assert_eq!(Error::invalid("x").after_attempts(1, None).attempts(), 0);
    }

    #[test]
    fn display_does_not_repeat_the_source() {
        let missing = io::Error::new(io::ErrorKind::NotFound, "No such file or directory");
        let e = Error::io(Some(Path::new("/x/a.jpg")), missing);
        assert_eq!(e.to_string(), "cannot read /x/a.jpg");
        let source = std::error::Error::source(&e).unwrap().to_string();
        assert_eq!(source, "No such file or directory");
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn advice_fits_the_answer() {
        let e = Error::new(ErrorKind::Http {
            status: 413,
            excerpt: "413 Request Entity Too Large".into(),
        });
        assert!(e
            .to_string()
            .ends_with("larger than the server or a proxy in front of it accepts"));
        assert!(service(200, 401).to_string().ends_with("check KIE_API_KEY"));
        assert!(service(200, 413)
            .to_string()
            .contains("larger than the service accepts"));
    }

    #[test]
    fn server_text_is_escaped_when_shown() {
        let e = Error::new(ErrorKind::Service {
            status: 200,
            code: 400,
            msg: "bad \u{1b}]0;pwned\u{7} \u{1b}[2J\u{202e}".into(),
        });
        let shown = e.to_string();
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{202e}'),
            "{shown}"
        );
        assert!(shown.contains("\\u{1b}]0;pwned\\u{7}"), "{shown}");
    }
}
