//! The advice beside an error: [`Hint`], what to do about it, and [`KeySource`], where the API key
//! came from. The error's `Display` says what failed; a hint says what to do, as data, so that a
//! program (the `kie-upload` tool among them) can word it in its own terms.

use std::fmt;
use std::path::PathBuf;

use crate::retry::retryable_status;
use crate::{Error, ErrorKind};

/// Where a client's API key came from, so that advice about a refused key points at the right
/// place: see [`Hint::CheckApiKey`].
///
/// ```
/// use kie_upload::KeySource;
///
/// fn where_to_look(source: &KeySource) -> String {
///     match source {
///         KeySource::Code => "the key your program passes in".to_owned(),
///         KeySource::Env(var) => format!("the variable {var}"),
///         KeySource::File { path, .. } => format!("the file {}", path.display()),
///         _ => "the key's source".to_owned(),
///     }
/// }
/// assert_eq!(where_to_look(&KeySource::Env("KIE_API_KEY")), "the variable KIE_API_KEY");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeySource {
    /// Given in code: [`Client::new`](crate::Client::new) or
    /// [`ClientBuilder::api_key`](crate::ClientBuilder::api_key).
    Code,
    /// Read from this environment variable by
    /// [`ClientBuilder::from_env`](crate::ClientBuilder::from_env): `KIE_API_KEY`.
    Env(&'static str),
    /// Read from a file.
    #[non_exhaustive]
    File {
        /// The file.
        path: PathBuf,
        /// The environment variable that named it (`KIE_API_KEY_FILE`), or `None` when it was
        /// named in code ([`ClientBuilder::api_key_file`](crate::ClientBuilder::api_key_file)).
        var: Option<&'static str>,
    },
}

impl KeySource {
    pub(crate) fn file(path: PathBuf, var: Option<&'static str>) -> KeySource {
        KeySource::File { path, var }
    }
}

/// What to do about an [`Error`](crate::Error): see [`Error::hint`](crate::Error::hint).
///
/// Its `Display` words the advice in this library's terms (the methods to call); a program with
/// other means (flags, a settings page) matches the variant and words it for its own users.
///
/// ```
/// use kie_upload::{Error, Hint, KeySource};
///
/// /// Advice for the user of a tool that takes the key from `--key-file`.
/// fn advice(e: &Error) -> Option<String> {
///     Some(match e.hint()? {
///         Hint::CheckApiKey { source: KeySource::File { path, .. }, .. } => {
///             format!("check the key in {}", path.display())
///         }
///         Hint::RetryLater => "try again in a minute".to_owned(),
///         other => other.to_string(),
///     })
/// }
/// # let _ = advice;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Hint {
    /// No API key was given: give one.
    #[non_exhaustive]
    SetApiKey {
        /// Whether the environment was read for one (`KIE_API_KEY`, `KIE_API_KEY_FILE`), as
        /// [`ClientBuilder::from_env`](crate::ClientBuilder::from_env) does.
        looked_in_env: bool,
    },
    /// The API key was refused, or cannot be a key (a control character, an empty file): check it
    /// where it came from.
    #[non_exhaustive]
    CheckApiKey {
        /// Where the key came from.
        source: KeySource,
    },
    /// Both `KIE_API_KEY` and `KIE_API_KEY_FILE` are set: unset one, or give a key in code.
    ChooseOneApiKey,
    /// The account is out of credits: top it up.
    TopUpCredits,
    /// The file is larger than the service, or a proxy in front of it, accepts: send a smaller one.
    SendSmallerFile,
    /// The base64 endpoint cannot take this source (too large, empty, or of unknown length): use the
    /// stream endpoint ([`Client::upload`](crate::Client::upload)).
    UseStreamEndpoint,
    /// The server does not take `Expect: 100-continue`: turn it off
    /// ([`ClientBuilder::expect_continue`](crate::ClientBuilder::expect_continue)).
    TurnOffExpect,
    /// The base URL is plain `http://` to a remote host, which would send the key in clear text:
    /// use `https://`, or allow it
    /// ([`ClientBuilder::allow_insecure_http`](crate::ClientBuilder::allow_insecure_http)).
    AllowInsecureHttp,
    /// The server wants a `Content-Length`: send the source with a known length (a regular file,
    /// bytes, [`Upload::seekable`](crate::Upload::seekable), [`Upload::length`](crate::Upload::length),
    /// or `Upload::spool` with the `spool` feature).
    SendWithLength,
    /// The source did not hold the length declared for it: fix the length or the source.
    FixSourceLength,
    /// The service stored something other than what was sent: upload the file again.
    UploadAgain,
    /// A proxy refused or failed, or its setting does not parse: check its URL and credentials,
    /// or connect directly. [`Error::proxy_source`](crate::Error::proxy_source) says where it was
    /// set.
    CheckProxy,
    /// The proxy is a SOCKS proxy and the `socks` feature is off: build with the feature, or use an
    /// HTTP proxy. [`Error::proxy_source`](crate::Error::proxy_source) says where it was set.
    EnableSocks,
    /// The server's certificate is not trusted: check the base URL, the clock and the trusted roots
    /// ([`ClientBuilder::root_certs_pem`](crate::ClientBuilder::root_certs_pem)).
    CheckTrustedRoots,
    /// The base URL does not lead to the service (a redirect, a page that is not the service's, a
    /// reply it cannot read): check it.
    CheckBaseUrl,
    /// The host name does not resolve: check the base URL, or the network's DNS.
    CheckHostName,
    /// The connection failed: check the network and the base URL, then retry.
    CheckNetwork,
    /// The network or the server stalled: retry, or raise the timeout
    /// ([`ClientBuilder::timeout`](crate::ClientBuilder::timeout)).
    RaiseTimeout,
    /// The service is busy, rate limited, under maintenance or failing: retry later
    /// ([`Error::retry_after`](crate::Error::retry_after) may say when).
    RetryLater,
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hint::SetApiKey {
                looked_in_env: true,
            } => f.write_str(
                "set KIE_API_KEY or KIE_API_KEY_FILE, or pass a key to ClientBuilder::api_key \
                 (get one at https://kie.ai/api-key)",
            ),
            Hint::SetApiKey { .. } => f.write_str(
                "pass a key to Client::new or ClientBuilder::api_key, or read KIE_API_KEY with \
                 ClientBuilder::from_env (get one at https://kie.ai/api-key)",
            ),
            Hint::CheckApiKey { source } => match source {
                KeySource::Code => f.write_str("check the key given to Client::new or ClientBuilder::api_key"),
                KeySource::Env(var) => write!(f, "check {var}"),
                KeySource::File {
                    path,
                    var: Some(var),
                } => write!(f, "check the key in {} (named by {var})", path.display()),
                KeySource::File { path, var: None } => {
                    write!(f, "check the key in {}", path.display())
                }
            },
            Hint::ChooseOneApiKey => f.write_str(
                "unset KIE_API_KEY or KIE_API_KEY_FILE, or pass a key to ClientBuilder::api_key",
            ),
            Hint::TopUpCredits => f.write_str("the account is out of credits: top it up"),
            Hint::SendSmallerFile => f.write_str(
                "the file is larger than the server or a proxy in front of it accepts: send a \
                 smaller one",
            ),
            Hint::UseStreamEndpoint => {
                f.write_str("use Client::upload or Client::upload_file (the stream endpoint)")
            }
            Hint::TurnOffExpect => f.write_str(
                "the server does not take `Expect: 100-continue`: set \
                 ClientBuilder::expect_continue(false)",
            ),
            Hint::AllowInsecureHttp => f.write_str(
                "use https, or opt in with ClientBuilder::allow_insecure_http(true)",
            ),
            Hint::SendWithLength if cfg!(feature = "spool") => f.write_str(
                "send it with a length: a regular file, bytes, Upload::seekable, Upload::length, \
                 or Upload::spool",
            ),
            Hint::SendWithLength => f.write_str(
                "send it with a length: a regular file, bytes, Upload::seekable or Upload::length \
                 (or Upload::spool with the `spool` feature)",
            ),
            Hint::FixSourceLength => f.write_str("fix the declared length or the source"),
            Hint::UploadAgain => f.write_str("upload the file again"),
            Hint::CheckProxy => f.write_str(
                "check the proxy URL and its credentials (ClientBuilder::proxy, HTTPS_PROXY), or \
                 connect directly (ClientBuilder::no_proxy)",
            ),
            Hint::EnableSocks => f.write_str(
                "build kie-upload with the `socks` feature, or use an http:// proxy",
            ),
            Hint::CheckTrustedRoots => f.write_str(
                "check the base URL, the clock, and the trusted roots (ClientBuilder::root_certs_pem)",
            ),
            Hint::CheckBaseUrl => f.write_str("check the base URL"),
            Hint::CheckHostName => f.write_str("check the base URL, or the network's DNS"),
            Hint::CheckNetwork => f.write_str("check the network and the base URL, then retry"),
            Hint::RaiseTimeout => {
                f.write_str("retry, or raise the timeout (ClientBuilder::timeout)")
            }
            Hint::RetryLater => f.write_str("retry later"),
        }
    }
}

impl Error {
    /// What to do about it, as data: a program matches the [`Hint`] and words it for its users
    /// (its `Display` words it in this library's terms). `None` when there is nothing better to
    /// do than to read the message (a missing file, a cancellation, bad input that says what is
    /// wrong).
    ///
    /// ```
    /// use kie_upload::{Client, Hint, Upload};
    ///
    /// let e = Client::new("").upload(Upload::bytes(b"hi", "notes")).unwrap_err();
    /// assert_eq!(e.to_string(), "invalid input: missing API key");
    /// assert!(matches!(e.hint(), Some(Hint::SetApiKey { looked_in_env: false, .. })));
    /// println!("error: {e}");
    /// if let Some(hint) = e.hint() {
    ///     println!("hint: {hint}"); // pass a key to Client::new or ClientBuilder::api_key, ...
    /// }
    /// ```
    pub fn hint(&self) -> Option<Hint> {
        if let Some(hint) = self.given_hint() {
            return Some(hint.clone());
        }
        let retry = |status: u16| retryable_status(status).then_some(Hint::RetryLater);
        match self.kind() {
            ErrorKind::InvalidInput { .. } | ErrorKind::Io | ErrorKind::Cancelled => None,
            ErrorKind::Transport => Some(match self.ureq_error() {
                Some(ureq::Error::HostNotFound) => Hint::CheckHostName,
                _ => Hint::CheckNetwork,
            }),
            ErrorKind::HostNotFound { .. } => Some(Hint::CheckHostName),
            ErrorKind::Timeout => Some(Hint::RaiseTimeout),
            ErrorKind::Proxy { .. } => Some(Hint::CheckProxy),
            ErrorKind::Tls { .. } => Some(Hint::CheckTrustedRoots),
            ErrorKind::Service { code, .. } => match code {
                401 => Some(Hint::CheckApiKey {
                    source: self.key_source().cloned().unwrap_or(KeySource::Code),
                }),
                402 => Some(Hint::TopUpCredits),
                413 => Some(Hint::SendSmallerFile),
                417 => Some(Hint::TurnOffExpect),
                code => retry(*code),
            },
            ErrorKind::Http { status, .. } => match status {
                413 => Some(Hint::SendSmallerFile),
                401 | 403 | 407 => Some(Hint::CheckProxy),
                417 => Some(Hint::TurnOffExpect),
                status => retry(*status).or(Some(Hint::CheckBaseUrl)),
            },
            ErrorKind::Redirect { .. } | ErrorKind::BadReply { .. } => Some(Hint::CheckBaseUrl),
            // A file that changed between attempts (the only one with a path) needs no fix.
            ErrorKind::SourceLengthMismatch { .. } if self.path().is_some() => {
                Some(Hint::UploadAgain)
            }
            ErrorKind::SourceLengthMismatch { .. } => Some(Hint::FixSourceLength),
            ErrorKind::StoredSizeMismatch { .. } => Some(Hint::UploadAgain),
            ErrorKind::LengthRequired { .. } => Some(Hint::SendWithLength),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NotRetried;
    use std::io;

    fn service(status: u16, code: u16) -> Error {
        Error::new(ErrorKind::Service {
            status,
            code,
            msg: "m".into(),
        })
    }

    #[test]
    fn advice_fits_the_answer() {
        let e = Error::new(ErrorKind::Http {
            status: 413,
            excerpt: "413 Request Entity Too Large".into(),
        });
        assert_eq!(e.hint(), Some(Hint::SendSmallerFile));
        assert!(e
            .hint()
            .unwrap()
            .to_string()
            .contains("larger than the server or a proxy in front of it accepts"));
        assert_eq!(service(200, 413).hint(), Some(Hint::SendSmallerFile));
        assert_eq!(service(200, 402).hint(), Some(Hint::TopUpCredits));
        assert_eq!(service(200, 503).hint(), Some(Hint::RetryLater));
        assert_eq!(service(200, 400).hint(), None);
        // A refused key points where the key came from; from code when nothing says otherwise.
        assert_eq!(
            service(200, 401).hint(),
            Some(Hint::CheckApiKey {
                source: KeySource::Code
            })
        );
        let from_file = KeySource::file("/etc/kie/key".into(), Some("KIE_API_KEY_FILE"));
        let e = service(200, 401).leaving_client("sk-whatever-key", Some(&from_file));
        let hint = e.hint().unwrap();
        assert_eq!(
            hint,
            Hint::CheckApiKey {
                source: from_file.clone()
            }
        );
        assert_eq!(
            hint.to_string(),
            "check the key in /etc/kie/key (named by KIE_API_KEY_FILE)"
        );
        let env = service(200, 401)
            .leaving_client("sk-whatever-key", Some(&KeySource::Env("KIE_API_KEY")));
        assert_eq!(env.hint().unwrap().to_string(), "check KIE_API_KEY");
        // Advice is not in the line.
        assert_eq!(
            service(200, 401).to_string(),
            "the service refused the API key (code 401): m"
        );
    }

    /// Every kind, and every hint, as the library words them: a flag (`--proxy`) would be the
    /// CLI's word, not the library's.
    #[test]
    fn no_display_names_a_flag() {
        let text = |reason: &str| reason.to_owned();
        let mut errors = vec![
            Error::invalid("x"),
            Error::io(None, io::ErrorKind::NotFound.into()),
            Error::transport(ureq::Error::HostNotFound),
            Error::transport(ureq::Error::Io(io::ErrorKind::ConnectionReset.into())),
            Error::new(ErrorKind::Timeout),
            Error::new(ErrorKind::Proxy {
                reason: text("407"),
            }),
            Error::new(ErrorKind::Tls {
                reason: text("unknown issuer"),
            }),
            Error::new(ErrorKind::Redirect {
                status: 302,
                location: text("https://x/"),
            }),
            Error::new(ErrorKind::BadReply {
                status: 200,
                reason: text("not JSON"),
            }),
            Error::new(ErrorKind::SourceLengthMismatch {
                declared: 3,
                actual: 2,
            }),
            Error::new(ErrorKind::SourceLengthMismatch {
                declared: 3,
                actual: 4,
            }),
            Error::new(ErrorKind::StoredSizeMismatch { sent: 3, stored: 2 }),
            Error::new(ErrorKind::LengthRequired { status: 411 }),
            Error::new(ErrorKind::Cancelled),
        ];
        for code in [
            0, 400, 401, 402, 404, 411, 413, 417, 422, 429, 455, 500, 501, 503, 505,
        ] {
            errors.push(service(200, code));
            errors.push(Error::new(ErrorKind::Http {
                status: code.max(300),
                excerpt: text("page"),
            }));
        }
        let mut hints = vec![
            Hint::SetApiKey {
                looked_in_env: true,
            },
            Hint::SetApiKey {
                looked_in_env: false,
            },
            Hint::ChooseOneApiKey,
            Hint::UseStreamEndpoint,
            Hint::AllowInsecureHttp,
            Hint::CheckHostName,
            Hint::EnableSocks,
        ];
        for source in [
            KeySource::Code,
            KeySource::Env("KIE_API_KEY"),
            KeySource::file("k".into(), None),
            KeySource::file("k".into(), Some("KIE_API_KEY_FILE")),
        ] {
            hints.push(Hint::CheckApiKey { source });
        }
        for why in [
            NotRetried::SourceNotRepeatable,
            NotRetried::NoFileName,
            NotRetried::OutOfRetries,
        ] {
            errors.push(service(503, 503).after_attempts(3, Some(why)));
        }
        hints.extend(errors.iter().filter_map(Error::hint));
        let shown = errors
            .iter()
            .map(ToString::to_string)
            .chain(hints.iter().map(ToString::to_string));
        for line in shown {
            assert!(!names_a_flag(&line), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
    }

    /// Whether `text` holds `--` followed by a letter, not inside a longer run of dashes (a PEM
    /// armour line is not a flag).
    fn names_a_flag(text: &str) -> bool {
        let b = text.as_bytes();
        (0..b.len().saturating_sub(2)).any(|i| {
            b[i] == b'-'
                && b[i + 1] == b'-'
                && b[i + 2].is_ascii_alphabetic()
                && (i == 0 || b[i - 1] != b'-')
        })
    }
}
