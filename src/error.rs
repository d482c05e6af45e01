//! The one error type of the crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in an upload.
///
/// Each variant's `Display` says what failed and, where there is one, what to do next. No variant
/// ever holds the API key, so errors are safe to print and log.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The request was refused locally, before any connection was opened: a missing key, an empty or
    /// `..` upload path, a control character in a name, a directory given as a file, a bad base URL.
    InvalidInput(String),

    /// The service answered with its own JSON error envelope, either as an HTTP error status or as
    /// HTTP 200 with `"success": false` and the error in the body's `code`.
    Service {
        /// The HTTP status of the reply (200 when the error came inside the body).
        status: u16,
        /// The service's `code` (the HTTP status when the body carried none).
        code: u16,
        /// The service's `msg`, as sent.
        msg: String,
    },

    /// An HTTP error (or an unexpected redirect) whose body is not the service's JSON, typically a
    /// proxy's or CDN's HTML page.
    Http {
        /// The HTTP status.
        status: u16,
        /// A short excerpt of the body with markup and runs of white space removed.
        excerpt: String,
    },

    /// The connection failed, broke, or stalled past a timeout.
    Transport(ureq::Error),

    /// A local file or the source reader failed.
    Io {
        /// The local file, when the source is one.
        path: Option<PathBuf>,
        /// The underlying error.
        source: io::Error,
    },

    /// The source yielded a different number of bytes from the length declared for it, so the upload
    /// was abandoned mid-body (the server sees a truncated request and stores nothing).
    LengthMismatch {
        /// The declared length of the source.
        declared: u64,
        /// How many bytes the source yielded (at least this many when it ran long).
        actual: u64,
    },

    /// The reply could not be understood: not JSON, a success without `data`, or larger than the cap.
    Decode {
        /// The HTTP status of the reply.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },

    /// The service reported a `fileSize` different from the number of bytes sent: the stored file is
    /// not the one that was uploaded. Never treat this as a success.
    SizeMismatch {
        /// Bytes of the file that were sent.
        sent: u64,
        /// The `fileSize` in the service's reply.
        reported: u64,
    },

    /// The server refused a chunked body (HTTP 411, or a complaint about `Content-Length`): it wants
    /// the length up front.
    LengthRequired {
        /// The HTTP status of the refusal.
        status: u16,
    },

    /// A failure that was retried until the retries ran out, or that was worth retrying but could
    /// not be, because the source cannot be sent twice.
    Retries {
        /// How many attempts were made.
        attempts: u32,
        /// Why it was not retried, when it was worth retrying but the upload could not be repeated.
        not_retried: Option<&'static str>,
        /// The last attempt's error.
        last: Box<Error>,
    },
}

impl Error {
    /// The error of the last attempt: the error inside [`Error::Retries`], else this one.
    pub fn last(&self) -> &Error {
        match self {
            Error::Retries { last, .. } => last.last(),
            e => e,
        }
    }

    /// How many attempts were made: the count in [`Error::Retries`], else 1 (or 0 for an error
    /// refused locally before anything was sent).
    pub fn attempts(&self) -> u32 {
        match self {
            Error::Retries { attempts, .. } => *attempts,
            Error::InvalidInput(_) => 0,
            _ => 1,
        }
    }

    /// Whether trying the same upload again may succeed: a connection failure or stall, a proxy or
    /// gateway error, rate limiting (429), maintenance (455) or a server error (500, 502-504).
    /// A refusal of the request itself (bad key, bad input), a size mismatch or a local error is not
    /// retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => !matches!(
                e,
                ureq::Error::BadUri(_)
                    | ureq::Error::Http(_)
                    | ureq::Error::HostNotFound
                    | ureq::Error::InvalidProxyUrl
                    | ureq::Error::Tls(_)
                    | ureq::Error::RequireHttpsOnly(_)
                    | ureq::Error::TlsRequired
            ),
            Error::Service { status, code, .. } => {
                retryable_status(*code) || (*status != 200 && retryable_status(*status))
            }
            Error::Http { status, .. } => retryable_status(*status),
            Error::Retries { last, .. } => last.is_retryable(),
            _ => false,
        }
    }

    /// Whether this is a timeout: a connect, a socket read or write, or the wait for the reply took
    /// longer than its bound.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Transport(ureq::Error::Timeout(_)) => true,
            Error::Transport(ureq::Error::Io(e)) => {
                matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                )
            }
            Error::Retries { last, .. } => last.is_timeout(),
            _ => false,
        }
    }
}

fn retryable_status(code: u16) -> bool {
    matches!(code, 429 | 455 | 500 | 502 | 503 | 504)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Error::Service { code: 401, msg, .. } => write!(
                f,
                "the service refused the API key (code 401): {msg}: check KIE_API_KEY"
            ),
            Error::Service { code, msg, .. } => {
                write!(f, "the service refused the upload (code {code}): {msg}")?;
                match code {
                    402 => f.write_str(": the account is out of credits"),
                    429 => f.write_str(": rate limited, retry later"),
                    455 => f.write_str(": the service is under maintenance, retry later"),
                    c if *c >= 500 => f.write_str(": a server error, retry later"),
                    _ => Ok(()),
                }
            }
            Error::Http { status, excerpt } if (300..400).contains(status) => write!(
                f,
                "unexpected redirect (HTTP {status}) {excerpt}: set the base URL to the final address"
            ),
            Error::Http { status, excerpt } => write!(
                f,
                "HTTP {status} with a body that is not the service's JSON (a proxy or gateway?): \
                 {excerpt:?}: check the base URL, or retry later"
            ),
            Error::Transport(e) if self.is_timeout() => write!(
                f,
                "timed out: {e}: the network or the server stalled; retry, or raise the timeout"
            ),
            Error::Transport(e) => write!(
                f,
                "transport: {e}: check the network and the base URL, then retry"
            ),
            Error::Io {
                path: Some(path),
                source,
            } => write!(f, "{}: {source}", path.display()),
            Error::Io { path: None, source } => write!(f, "reading the source: {source}"),
            Error::LengthMismatch { declared, actual } if actual < declared => write!(
                f,
                "the source ended after {actual} of its declared {declared} bytes: \
                 the upload was abandoned; fix the declared length or the source"
            ),
            Error::LengthMismatch { declared, .. } => write!(
                f,
                "the source holds more than its declared {declared} bytes: \
                 the upload was abandoned; fix the declared length or the source"
            ),
            Error::Decode { status, reason } => write!(
                f,
                "could not read the service's reply (HTTP {status}): {reason}: check the base URL"
            ),
            Error::SizeMismatch { sent, reported } => write!(
                f,
                "the service stored {reported} bytes but {sent} were sent: \
                 the stored file is incomplete; upload it again"
            ),
            Error::LengthRequired { status } => write!(
                f,
                "the server refused a body of unknown length (HTTP {status}): {}",
                if cfg!(feature = "spool") {
                    "call Upload::spool() to send it with a Content-Length, or set Upload::length"
                } else {
                    "enable the `spool` feature and call Upload::spool(), or set Upload::length"
                }
            ),
            Error::Retries {
                attempts,
                not_retried: None,
                last,
            } => write!(f, "gave up after {attempts} attempts: {last}"),
            Error::Retries {
                not_retried: Some(why),
                last,
                ..
            } => write!(f, "{last} (not retried: {why})"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            Error::Retries { last, .. } => Some(&**last),
            _ => None,
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::InvalidInput(_) => io::ErrorKind::InvalidInput,
            Error::Io { source, .. } => source.kind(),
            Error::LengthMismatch { .. } => io::ErrorKind::UnexpectedEof,
            last if last.is_timeout() => io::ErrorKind::TimedOut,
            Error::Decode { .. } => io::ErrorKind::InvalidData,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stays_small() {
        // Results of every upload carry this type; keep it to a few words.
        assert!(
            std::mem::size_of::<Error>() <= 64,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn retryable_codes() {
        let service = |status, code| Error::Service {
            status,
            code,
            msg: String::new(),
        };
        assert!(service(200, 429).is_retryable());
        assert!(service(200, 455).is_retryable());
        assert!(service(503, 503).is_retryable());
        assert!(!service(200, 401).is_retryable());
        assert!(!service(400, 400).is_retryable());
        assert!(Error::Http {
            status: 502,
            excerpt: String::new()
        }
        .is_retryable());
        assert!(!Error::SizeMismatch {
            sent: 1,
            reported: 0
        }
        .is_retryable());
        assert!(!Error::InvalidInput(String::new()).is_retryable());
    }

    #[test]
    fn retries_wrap_the_last_error() {
        let e = Error::Retries {
            attempts: 3,
            not_retried: None,
            last: Box::new(Error::Http {
                status: 503,
                excerpt: "busy".into(),
            }),
        };
        assert!(
            e.to_string()
                .starts_with("gave up after 3 attempts: HTTP 503"),
            "{e}"
        );
        assert!(e.is_retryable());
        assert_eq!(e.attempts(), 3);
        assert!(matches!(e.last(), Error::Http { status: 503, .. }));
        let e = Error::Retries {
            attempts: 1,
            not_retried: Some("the source is a plain reader"),
            last: Box::new(Error::Http {
                status: 503,
                excerpt: "busy".into(),
            }),
        };
        assert!(
            e.to_string()
                .ends_with("(not retried: the source is a plain reader)"),
            "{e}"
        );
    }

    #[test]
    fn auth_message_says_what_to_do() {
        let e = Error::Service {
            status: 401,
            code: 401,
            msg: "Unauthorized".into(),
        };
        assert_eq!(
            e.to_string(),
            "the service refused the API key (code 401): Unauthorized: check KIE_API_KEY"
        );
    }
}
