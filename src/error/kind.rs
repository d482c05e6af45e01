//! What failed: [`ErrorKind`], what to do about each kind, the one line `Display` shows, and
//! whether trying again may help ([`Error::is_retryable`], the one statement of the retry rules).

use std::fmt;

use super::Error;
use crate::text::printable;
use crate::BASE64_MAX;

/// The cause of an [`Error`]: what went wrong, whatever the retries. Each variant says what to do
/// about it.
///
/// ```
/// use kie_upload::{Error, ErrorKind};
///
/// /// What a program might tell its user, by cause.
/// fn advice(e: &Error) -> &'static str {
///     match e.kind() {
///         ErrorKind::Service { code: 401, .. } | ErrorKind::ApiKey { .. } => "check the API key",
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
    /// Refused locally before anything was sent: an empty or `..` upload path, a control character
    /// in a name, a directory given as a file, a bad base URL, timeout, root certificate or proxy
    /// setting. Fix what the reason says; for a proxy setting, [`Error::setting`] names the
    /// variable that set it (and a SOCKS proxy needs the `socks` feature).
    #[non_exhaustive]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// No API key was given, or the one given cannot be used (its file cannot be read or is
    /// empty, it holds a control character, or both `KIE_API_KEY` and `KIE_API_KEY_FILE` are
    /// set). Give one: [`Client::new`](crate::Client::new),
    /// [`ClientBuilder::api_key`](crate::ClientBuilder::api_key) or
    /// [`api_key_file`](crate::ClientBuilder::api_key_file), or the variables that
    /// [`with_env`](crate::ClientBuilder::with_env) reads; a key is at <https://kie.ai/api-key>.
    /// [`Error::setting`] says where a key that cannot be used came from.
    #[non_exhaustive]
    ApiKey {
        /// What is wrong.
        reason: String,
    },
    /// The base URL is plain `http://` to a host other than `localhost` or a loopback address,
    /// which would send the API key in clear text. Use `https://`, or allow it with
    /// [`ClientBuilder::allow_insecure_http`](crate::ClientBuilder::allow_insecure_http).
    #[non_exhaustive]
    InsecureHttp {
        /// The base URL.
        base_url: String,
    },
    /// The base64 endpoint cannot take this source: its length is unknown, it is empty, or it is
    /// over [`BASE64_MAX`]. Send it to the stream endpoint
    /// ([`Client::upload`](crate::Client::upload)), which takes any size.
    #[non_exhaustive]
    Base64Refused {
        /// The source's length, when known.
        length: Option<u64>,
    },
    /// A local file or the source reader failed; [`Error::path`] names the file, and
    /// [`source()`](std::error::Error::source) (or [`Error::io_error`]) is the
    /// [`io::Error`](std::io::Error).
    Io,
    /// The connection could not be opened, or broke: refused, reset, closed early. The transport's
    /// own error is the source. Check the network and the base URL; most of these are retried.
    Transport,
    /// The service's host name does not resolve: a typo in the base URL, or no DNS. Never
    /// retried. (A proxy's name that does not resolve is [`ErrorKind::Proxy`].)
    #[non_exhaustive]
    HostNotFound {
        /// The name that did not resolve.
        host: String,
    },
    /// The network or the server stalled: a connect, a socket read or write, or the wait for the
    /// reply took longer than its bound. Retried; raise the timeouts
    /// ([`ClientBuilder::timeout`](crate::ClientBuilder::timeout)) for a slow link.
    Timeout,
    /// The proxy could not be reached (its name does not resolve, the connection was refused or
    /// timed out), refused to open a tunnel to the service (`CONNECT` answered 407, 403, 502, a
    /// SOCKS refusal), or did not answer. Check its URL and credentials, or connect directly
    /// ([`ClientBuilder::no_proxy`](crate::ClientBuilder::no_proxy)); [`Error::proxy_url`] says
    /// which proxy and [`Error::setting`] which variable set it.
    #[non_exhaustive]
    Proxy {
        /// What went wrong: `connection refused`, `cannot resolve host proxy.local`, what the
        /// proxy answered.
        reason: String,
    },
    /// The TLS handshake failed, typically because the server's certificate is not trusted, is for
    /// another name, or has expired. Check the base URL, the clock and the trusted roots
    /// ([`ClientBuilder::root_certs_pem`](crate::ClientBuilder::root_certs_pem)).
    #[non_exhaustive]
    Tls {
        /// What the TLS library said, in words.
        reason: String,
    },
    /// The server speaks the other protocol than the base URL's scheme says: plain HTTP where
    /// the URL says `https://`, or TLS where it says `http://` (a port for the other). Nothing
    /// transient happened, so it is never retried: use the other scheme.
    #[non_exhaustive]
    WrongScheme {
        /// The server speaks TLS (use `https://`); else plain HTTP (use `http://`).
        server_speaks_tls: bool,
    },
    /// The service refused the upload with its own JSON envelope, whether that came with an HTTP
    /// error status or inside an HTTP 200 reply (the live service's usual way). By `code`: 401, a
    /// refused key (check it; [`Error::setting`] says where it came from); 402, no credits left
    /// (top up the account); 413, a file too large; 429, 455 and 5xx, busy or failing (retried,
    /// see [`Error::is_retryable`]); others, what `msg` says.
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
    /// An HTTP error whose body is not the service's JSON, typically a proxy's or CDN's HTML page:
    /// 413, a file too large for what stands in front of the service; 401, 403 and 407, a proxy
    /// or gateway that wants credentials; 429 and 5xx, retried; others, check the base URL.
    #[non_exhaustive]
    Http {
        /// The HTTP status.
        status: u16,
        /// A short excerpt of the body, without markup, cleaned of the API key.
        excerpt: String,
    },
    /// The server answered with a redirect, which is not followed (it would turn the upload into a
    /// body-less `GET` or send the key elsewhere). Check the base URL.
    #[non_exhaustive]
    Redirect {
        /// The HTTP status (301, 302, 303, 307 or 308).
        status: u16,
        /// The `Location` it pointed to, cleaned of the API key.
        location: String,
    },
    /// The reply could not be understood: not JSON, not an envelope, a success without a usable
    /// `data`, or larger than the cap. Check the base URL.
    #[non_exhaustive]
    BadReply {
        /// The HTTP status of the reply.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
    /// The source held a different number of bytes from the length declared for it (or a file's
    /// size changed between attempts, [`Error::path`] then names it), so the upload was abandoned
    /// mid-body: the server saw a truncated request and stored nothing. Fix the declared length,
    /// or upload the file again once it is complete.
    #[non_exhaustive]
    SourceLengthMismatch {
        /// The declared length.
        declared: u64,
        /// How many bytes the source yielded (at least this many when it held more).
        actual: u64,
    },
    /// The service reported storing a different number of bytes from those sent: the stored file is
    /// not the one uploaded. Never a success; upload it again.
    #[non_exhaustive]
    StoredSizeMismatch {
        /// Bytes of the file that were sent.
        sent: u64,
        /// The `fileSize` the service reported.
        stored: u64,
    },
    /// The server refused a body of unknown length (sent chunked) and wants a `Content-Length`.
    /// Send the source with a known length: a regular file, bytes,
    /// [`Upload::seekable`](crate::Upload::seekable), [`Upload::length`](crate::Upload::length), or
    /// `Upload::spool` (feature `spool`).
    #[non_exhaustive]
    LengthRequired {
        /// The HTTP status of the refusal.
        status: u16,
    },
    /// The upload's progress callback asked to stop. Nothing was stored.
    Cancelled,
    /// A source of unknown length could not be copied to a temporary file
    /// (`Upload::spool`, feature `spool`, or for the upload cache, which reads a source twice):
    /// the temporary folder ([`std::env::temp_dir`], from `TMPDIR` on Unix) is missing, is not a
    /// folder, cannot be written or is full. [`Error::path`] is that folder, and
    /// [`source()`](std::error::Error::source) the [`io::Error`](std::io::Error). Point `TMPDIR`
    /// at a folder with room. Nothing was sent.
    Spool,
    /// The check given with [`Upload::verify`](crate::Upload::verify) rejected the stored file;
    /// [`source()`](std::error::Error::source) is the check's own error. The upload is not
    /// recorded in the cache, whose copy, if it had one, was dropped and the file sent again
    /// before this was given up.
    Rejected,
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
    /// The server asked for a longer wait ([`Error::retry_after`]) than the client waits between
    /// attempts (30 s): try again once that wait has passed.
    WaitTooLong,
}

impl fmt::Display for Error {
    /// One short line: what failed, without advice, without the attempts (those are
    /// [`Error::attempts`] and [`Error::not_retried`]), and without the source's text (that is
    /// [`source()`](std::error::Error::source)).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            ErrorKind::InvalidInput { reason } => write!(f, "invalid input: {}", printable(reason)),
            ErrorKind::ApiKey { reason } => f.write_str(&printable(reason)),
            ErrorKind::InsecureHttp { base_url } => write!(
                f,
                "base URL {:?} is plain http to a host other than localhost or a loopback \
                 address, which would send the API key in clear text",
                printable(base_url)
            ),
            ErrorKind::Base64Refused { length } => match length {
                None => f.write_str("the base64 endpoint needs a source of known length"),
                Some(0) => f.write_str("the base64 endpoint takes no empty source"),
                Some(n) => write!(f, "{n} bytes is over the base64 limit of {BASE64_MAX}"),
            },
            ErrorKind::Io => match self.path() {
                Some(path) => write!(f, "cannot read {}", path.display()),
                None => f.write_str("reading the source failed"),
            },
            ErrorKind::Transport => f.write_str("the connection to the service failed"),
            ErrorKind::HostNotFound { host } => {
                write!(f, "cannot resolve host {}", printable(host))
            }
            ErrorKind::Timeout => f.write_str("timed out: the network or the server stalled"),
            ErrorKind::Proxy { reason } => self.proxy_line(f, reason),
            ErrorKind::Tls { reason } => write!(f, "TLS failed: {}", printable(reason)),
            ErrorKind::WrongScheme { server_speaks_tls: true } => f.write_str(
                "the server speaks TLS, not plain HTTP: the base URL says http:// for an https:// port",
            ),
            ErrorKind::WrongScheme { .. } => f.write_str(
                "the server speaks plain HTTP, not TLS: the base URL says https:// for an http:// port",
            ),
            ErrorKind::Service { code, msg, .. } => {
                let msg = printable(msg);
                match code {
                    401 => write!(f, "the service refused the API key (code 401): {msg}"),
                    0 => write!(f, "the service refused the upload without a code: {msg}"),
                    _ => write!(f, "the service refused the upload (code {code}): {msg}"),
                }
            }
            ErrorKind::Http { status, excerpt } => write!(
                f,
                "HTTP {status} with a body that is not the service's JSON: \"{}\"",
                printable(excerpt)
            ),
            ErrorKind::Redirect { status, location } => write!(
                f,
                "unexpected redirect (HTTP {status}) to {}",
                printable(location)
            ),
            ErrorKind::BadReply { status, reason } => write!(
                f,
                "could not read the service's reply (HTTP {status}): {}",
                printable(reason)
            ),
            ErrorKind::SourceLengthMismatch { declared, actual } => {
                self.length_line(f, *declared, *actual)
            }
            ErrorKind::StoredSizeMismatch { sent, stored } => write!(
                f,
                "the service stored {stored} bytes but {sent} were sent: the stored file is \
                 incomplete"
            ),
            ErrorKind::LengthRequired { status } => write!(
                f,
                "the server refused a body of unknown length (HTTP {status})"
            ),
            ErrorKind::Cancelled => {
                f.write_str("the upload was cancelled by its progress callback; nothing was stored")
            }
            ErrorKind::Spool => match self.path() {
                Some(dir) => write!(f, "cannot write a temporary file in {}", dir.display()),
                None => f.write_str("cannot write a temporary file"),
            },
            ErrorKind::Rejected => f.write_str("the stored file failed its check"),
        }
    }
}

impl Error {
    /// Which proxy failed, and the variable that set it (a program and its user both know a
    /// variable; a proxy given in code is the program's own to name).
    fn proxy_line(&self, f: &mut fmt::Formatter<'_>, reason: &str) -> fmt::Result {
        f.write_str("the proxy")?;
        if let Some(url) = self.proxy_url() {
            write!(f, " {}", printable(url))?;
        }
        if let Some(var) = self.setting() {
            write!(f, " (set by {var})")?;
        }
        write!(f, " failed: {}", printable(reason))
    }

    /// A source that did not hold its declared length, or a file whose size changed.
    fn length_line(&self, f: &mut fmt::Formatter<'_>, declared: u64, actual: u64) -> fmt::Result {
        match self.path() {
            Some(path) => write!(
                f,
                "{} changed from {declared} to {actual} bytes between attempts",
                path.display()
            )?,
            None if actual < declared => write!(
                f,
                "the source ended after {actual} of its declared {declared} bytes"
            )?,
            None => write!(
                f,
                "the source holds more than its declared {declared} bytes"
            )?,
        }
        f.write_str(": the upload was abandoned")
    }

    /// Whether trying the same upload again may succeed. This is the one statement of the retry
    /// rules; the rest of the documentation links here.
    ///
    /// Worth retrying:
    /// - a connection that could not be opened or broke ([`ErrorKind::Transport`]): refused,
    ///   reset, closed early, or answered before the whole body was sent; but not a URL or proxy
    ///   URL that does not parse, or an `https`-only refusal;
    /// - a stall or timeout ([`ErrorKind::Timeout`]);
    /// - a proxy ([`ErrorKind::Proxy`]) that refused the connection or timed out, or failed to
    ///   open the tunnel with a gateway error (502, 503, 504) or no answer; not a proxy that
    ///   refused the tunnel (407, 403, a SOCKS refusal of its credentials), nor one whose name
    ///   does not resolve;
    /// - the service's envelope ([`ErrorKind::Service`]) whose `code` is 429 (rate limited), 455
    ///   (maintenance), 500, 502, 503 or 504, whether the code came in an HTTP 200 body or, when
    ///   the body has none, as the HTTP status; a refusal code inside an error status (401 in a
    ///   503) is not retried, nor is code 0 (a refusal that gives no code);
    /// - a reply that is not the service's JSON ([`ErrorKind::Http`], a proxy's or CDN's page)
    ///   with HTTP status 429, 455, 500, 502, 503 or 504.
    ///
    /// Never retried: any other status or code (among them 400, 401, 402, 413, 501 and 505), a
    /// redirect, a reply that cannot be read, a refused chunked body, a host name that does not
    /// resolve ([`ErrorKind::HostNotFound`]), a TLS failure, a size mismatch, a cancellation, a
    /// local error or anything refused before it was sent.
    ///
    /// A retryable failure is tried again only when the upload can be repeated safely: its source
    /// can be read again (a regular file, bytes, a seekable reader, a spooled reader; not a plain
    /// reader, a pipe or a device) and it has a file name (a repeat without one could store a
    /// second copy); else [`not_retried`](Error::not_retried) says why not. Up to
    /// [`ClientBuilder::retries`](crate::ClientBuilder::retries) retries (default 2) are made;
    /// each waits for the server's `Retry-After` ([`retry_after`](Error::retry_after)) when it
    /// sent one in whole seconds (its HTTP-date form counts as none) (a wait over 30 s is not waited for: the error comes back at once, with
    /// [`NotRetried::WaitTooLong`]), else for an exponential backoff with jitter from
    /// [`ClientBuilder::retry_backoff`](crate::ClientBuilder::retry_backoff) (default 500 ms,
    /// doubling, at most 10 s).
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().retries(0).build()?;
    /// emu.inject(Fault::BodyCode { code: 455, retry_after: None }, 1); // maintenance
    /// assert!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err().is_retryable());
    /// emu.inject(Fault::BodyCode { code: 402, retry_after: None }, 1); // out of credits
    /// assert!(!client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err().is_retryable());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_retryable(&self) -> bool {
        let retryable = |code| matches!(code, 429 | 455 | 500 | 502 | 503 | 504);
        match self.kind() {
            ErrorKind::Transport | ErrorKind::Proxy { .. } => self.is_transient(),
            ErrorKind::Timeout => true,
            ErrorKind::Service { status, code, .. } => {
                retryable(*code) || (*code == *status && retryable(*status))
            }
            ErrorKind::Http { status, .. } => retryable(*status),
            _ => false,
        }
    }
}
