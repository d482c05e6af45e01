//! What failed: [`ErrorKind`], the cause of an [`Error`], [`NotRetried`], and the one line that
//! `Display` shows for them.

use std::fmt;

use crate::text::printable;
use crate::Error;

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
    #[non_exhaustive]
    InvalidInput {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A local file or the source reader failed; [`Error::path`] names the file, and
    /// [`source()`](std::error::Error::source) (or [`Error::io_error`]) is the
    /// [`io::Error`](std::io::Error).
    Io,
    /// The connection could not be opened, or broke: refused, reset, closed early. The transport's
    /// own error is the source.
    Transport,
    /// The service's host name does not resolve: a typo in the base URL, or no DNS. Never
    /// retried. (A proxy's name that does not resolve is [`ErrorKind::Proxy`].)
    #[non_exhaustive]
    HostNotFound {
        /// The name that did not resolve.
        host: String,
    },
    /// The network or the server stalled: a connect, a socket read or write, or the wait for the
    /// reply took longer than its bound.
    Timeout,
    /// The proxy could not be reached (its name does not resolve, the connection was refused or
    /// timed out), refused to open a tunnel to the service (`CONNECT` answered 407, 403, 502, a
    /// SOCKS refusal), or did not answer. [`Error::proxy_url`] says which proxy and
    /// [`Error::proxy_source`] where it was set.
    #[non_exhaustive]
    Proxy {
        /// What went wrong: `connection refused`, `cannot resolve host proxy.local`, what the
        /// proxy answered.
        reason: String,
    },
    /// The TLS handshake failed, typically because the server's certificate is not trusted, is for
    /// another name, or has expired.
    #[non_exhaustive]
    Tls {
        /// What the TLS library said, in words.
        reason: String,
    },
    /// The service refused the upload with its own JSON envelope, whether that came with an HTTP
    /// error status or inside an HTTP 200 reply (the live service's usual way).
    #[non_exhaustive]
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
    #[non_exhaustive]
    Http {
        /// The HTTP status.
        status: u16,
        /// A short excerpt of the body, without markup, cleaned of the API key.
        excerpt: String,
    },
    /// The server answered with a redirect, which is not followed (it would turn the upload into a
    /// body-less `GET` or send the key elsewhere).
    #[non_exhaustive]
    Redirect {
        /// The HTTP status (301, 302, 303, 307 or 308).
        status: u16,
        /// The `Location` it pointed to, cleaned of the API key.
        location: String,
    },
    /// The reply could not be understood: not JSON, not an envelope, a success without a usable
    /// `data`, or larger than the cap.
    #[non_exhaustive]
    BadReply {
        /// The HTTP status of the reply.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
    /// The source held a different number of bytes from the length declared for it, so the upload
    /// was abandoned mid-body: the server saw a truncated request and stored nothing.
    #[non_exhaustive]
    SourceLengthMismatch {
        /// The declared length.
        declared: u64,
        /// How many bytes the source yielded (at least this many when it held more).
        actual: u64,
    },
    /// The service reported storing a different number of bytes from those sent: the stored file is
    /// not the one uploaded. Never a success.
    #[non_exhaustive]
    StoredSizeMismatch {
        /// Bytes of the file that were sent.
        sent: u64,
        /// The `fileSize` the service reported.
        stored: u64,
    },
    /// The server refused a body of unknown length (sent chunked) and wants a `Content-Length`.
    #[non_exhaustive]
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
    /// Why, in a few words, for the end of the error's line.
    fn explain(self) -> &'static str {
        match self {
            NotRetried::SourceNotRepeatable => {
                "the source is a reader, pipe or device, which cannot be read twice"
            }
            NotRetried::NoFileName => "no file name, so a repeat could store a second copy",
            NotRetried::OutOfRetries => "retries are turned off",
        }
    }
}

impl fmt::Display for Error {
    /// One short line: what failed, without advice (that is [`Error::hint`]) and without the
    /// source's text (that is [`source()`](std::error::Error::source)).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            ErrorKind::InvalidInput { reason } => write!(f, "invalid input: {}", printable(reason))?,
            ErrorKind::Io => match self.path() {
                Some(path) => write!(f, "cannot read {}", path.display())?,
                None => f.write_str("reading the source failed")?,
            },
            ErrorKind::Transport => f.write_str("the connection to the service failed")?,
            ErrorKind::HostNotFound { host } => {
                write!(f, "cannot resolve host {}", printable(host))?
            }
            ErrorKind::Timeout => f.write_str("timed out: the network or the server stalled")?,
            ErrorKind::Proxy { reason } => self.proxy_line(f, reason)?,
            ErrorKind::Tls { reason } => write!(f, "TLS failed: {}", printable(reason))?,
            ErrorKind::Service { code, msg, .. } => {
                let msg = printable(msg);
                match code {
                    401 => write!(f, "the service refused the API key (code 401): {msg}")?,
                    0 => write!(f, "the service refused the upload without an error code: {msg}")?,
                    _ => write!(f, "the service refused the upload (code {code}): {msg}")?,
                }
            }
            ErrorKind::Http { status, excerpt } => write!(
                f,
                "HTTP {status} with a body that is not the service's JSON (a proxy or gateway?): \"{}\"",
                printable(excerpt)
            )?,
            ErrorKind::Redirect { status, location } => write!(
                f,
                "unexpected redirect (HTTP {status}) to {}",
                printable(location)
            )?,
            ErrorKind::BadReply { status, reason } => write!(
                f,
                "could not read the service's reply (HTTP {status}): {}",
                printable(reason)
            )?,
            ErrorKind::SourceLengthMismatch { declared, actual } if self.path().is_some() => {
                let path = self.path().unwrap_or(std::path::Path::new(""));
                write!(
                    f,
                    "{} changed from {declared} to {actual} bytes between attempts: the upload \
                     was abandoned",
                    path.display()
                )?
            }
            ErrorKind::SourceLengthMismatch { declared, actual } if actual < declared => write!(
                f,
                "the source ended after {actual} of its declared {declared} bytes: the upload was \
                 abandoned"
            )?,
            ErrorKind::SourceLengthMismatch { declared, .. } => write!(
                f,
                "the source holds more than its declared {declared} bytes: the upload was abandoned"
            )?,
            ErrorKind::StoredSizeMismatch { sent, stored } => write!(
                f,
                "the service stored {stored} bytes but {sent} were sent: the stored file is \
                 incomplete"
            )?,
            ErrorKind::LengthRequired { status } => write!(
                f,
                "the server refused a body of unknown length (HTTP {status})"
            )?,
            ErrorKind::Cancelled => {
                f.write_str("the upload was cancelled by its progress callback; nothing was stored")?
            }
        }
        match (self.not_retried(), self.attempts()) {
            (Some(NotRetried::OutOfRetries), n) if n > 1 => {
                write!(f, " (gave up after {n} attempts)")
            }
            (Some(why), _) => write!(f, " (not retried: {})", why.explain()),
            (None, n) if n > 1 => write!(f, " (after {n} attempts)"),
            (None, _) => Ok(()),
        }
    }
}

impl Error {
    /// The line of a proxy's failure: which proxy, and where it was set when a variable set it.
    fn proxy_line(&self, f: &mut fmt::Formatter<'_>, reason: &str) -> fmt::Result {
        f.write_str("the proxy")?;
        if let Some(url) = self.proxy_url() {
            write!(f, " {}", printable(url))?;
        }
        // A variable is named (both a program and its user know it); a proxy given in code is the
        // program's own, which words it from `proxy_source()`.
        if let Some(source @ crate::ProxySource::Env(_)) = self.proxy_source() {
            write!(f, " (set by {source})")?;
        }
        write!(f, " failed: {}", printable(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
