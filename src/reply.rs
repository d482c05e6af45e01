//! The outcome of one request as ureq hands it over: a failure turned into an error kind
//! ([`failure`]), or the service's answer read: a redirect reported with its `Location`, the body
//! read (capped, under one deadline) and cleaned of the API key, then handed to the envelope's
//! rules (`envelope/`), with the `Retry-After` it carried.

use std::io;
use std::time::Instant;

use ureq::http::Response;

use crate::config::Config;
use crate::envelope::{self, Sent};
use crate::retry::parse_retry_after;
use crate::source::read_retrying;
use crate::text::redact;
use crate::{Error, ErrorKind, UploadedFile};

/// The largest reply read from the API; the service's replies are a few hundred bytes.
pub(crate) const MAX_REPLY: u64 = 1024 * 1024;

/// Reads the reply to one request (or takes its failure) and turns it into the stored file, or
/// the error it says (with the `Retry-After` it carried). `upload_path` is the one sent, for a
/// reply that names no path; reading the reply must be over by the reply timeout after
/// `reply_from`; the key is cut out of everything the server sends.
pub(crate) fn judge(
    response: Result<Response<ureq::Body>, ureq::Error>,
    sent: &Sent,
    upload_path: &str,
    config: &Config,
    reply_from: Instant,
) -> Result<UploadedFile, Error> {
    let mut response = response.map_err(failure)?;
    let key = &config.api_key;
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name)?.to_str().ok();
    let retry_after = header("retry-after").and_then(parse_retry_after);
    if (300..400).contains(&status) {
        let location = header("location").unwrap_or("(no location)");
        return Err(Error::new(ErrorKind::Redirect {
            status,
            location: redact(location, key).into_owned(),
        })
        .with_retry_after(retry_after));
    }
    let deadline = reply_from + config.timeouts.reply;
    let body = read_capped(response.body_mut(), status, deadline)?;
    let text = String::from_utf8_lossy(body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&body));
    // The key is cut out of the raw text here (for pages that are not JSON), and out of each JSON
    // string once decoded by the envelope (a `\u0025` is a `%` that may start a percent-encoded key).
    let text = redact(&text, key);
    envelope::judge(status, &text, retry_after, sent, upload_path, key)
}

/// Reads a reply's body, at most [`MAX_REPLY`] bytes, giving up at `deadline` (checked between
/// reads, each of which the stall timeout bounds).
fn read_capped(body: &mut ureq::Body, status: u16, deadline: Instant) -> Result<Vec<u8>, Error> {
    let mut reader = body.with_config().limit(MAX_REPLY).reader();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if Instant::now() > deadline {
            return Err(Error::new(ErrorKind::Timeout).with_source(io::Error::new(
                io::ErrorKind::TimedOut,
                "the reply did not arrive within the reply timeout",
            )));
        }
        match read_retrying(&mut reader, &mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => {
                return Err(match e.downcast::<ureq::Error>() {
                    Ok(ureq::Error::BodyExceedsLimit(_)) => Error::new(ErrorKind::BadReply {
                        status,
                        reason: format!("the reply is larger than {MAX_REPLY} bytes"),
                    }),
                    Ok(e) => failure(e),
                    Err(e) => failure(ureq::Error::Io(e)),
                })
            }
        }
    }
}

/// A failure of the HTTP client as an error: a timeout, a name that did not resolve, a TLS or
/// proxy failure, or a broken connection, each marked as worth retrying or not. A socket's
/// [`io::Error`] is kept as the source itself, so that [`Error::io_error`] finds it.
pub(crate) fn failure(error: ureq::Error) -> Error {
    // The server answered in the other protocol (the connection saw it): whatever ureq or TLS
    // made of those bytes, that is the cause, and nothing transient.
    if let Some(server_speaks_tls) = crate::transport::seen().other_protocol {
        return Error::new(ErrorKind::WrongScheme { server_speaks_tls })
            .with_source(error)
            .transient(false);
    }
    let timed_out = match &error {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(e) => matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ),
        _ => false,
    };
    // Our own links of the chain say what they know: a failure on the way to the proxy, a name
    // that did not resolve, each as the client's error already.
    let error = match error {
        ureq::Error::Other(e) => match e.downcast::<Error>() {
            Ok(known) => return *known,
            Err(e) => ureq::Error::Other(e),
        },
        ureq::Error::ConnectProxyFailed(_) => return crate::proxy::failure(error),
        other => other,
    };
    let (kind, transient) = if timed_out {
        (ErrorKind::Timeout, true)
    } else if let Some(reason) = crate::tls::failure(&error) {
        (ErrorKind::Tls { reason }, false)
    } else {
        let transient = !matches!(
            error,
            ureq::Error::BadUri(_)
                | ureq::Error::Http(_)
                | ureq::Error::HostNotFound
                | ureq::Error::InvalidProxyUrl
                | ureq::Error::RequireHttpsOnly(_)
                | ureq::Error::TlsRequired
        );
        (ErrorKind::Transport, transient)
    };
    let e = Error::new(kind).transient(transient);
    match error {
        ureq::Error::Io(io) => e.with_source(io),
        error => e.with_source(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_s_io_error_is_reachable_and_kept() {
        let reset = || failure(ureq::Error::Io(io::ErrorKind::ConnectionReset.into()));
        assert_eq!(reset().kind(), &ErrorKind::Transport);
        assert!(reset().is_retryable());
        assert_eq!(
            reset().io_error().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
        assert_eq!(
            io::Error::from(reset()).kind(),
            io::ErrorKind::ConnectionReset
        );
        let stalled = failure(ureq::Error::Io(io::ErrorKind::TimedOut.into()));
        assert_eq!(stalled.kind(), &ErrorKind::Timeout);
        assert_eq!(
            stalled.io_error().map(io::Error::kind),
            Some(io::ErrorKind::TimedOut)
        );
        let unknown = failure(ureq::Error::HostNotFound);
        assert!(unknown.io_error().is_none());
        assert!(!unknown.is_retryable());
    }
}
