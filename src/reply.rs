//! The service's answer to one POST, read from ureq: a redirect reported with its `Location`, the
//! body read (capped, under one deadline) and cleaned of the API key, then handed to the envelope's
//! rules (`envelope/`), with the `Retry-After` it carried.

use std::io::{self, Read};
use std::time::{Instant, SystemTime};

use ureq::http::Response;

use crate::envelope::{self, Reply, Sent};
use crate::retry::parse_retry_after;
use crate::text::redact;
use crate::{Error, ErrorKind, UploadedFile};

/// The largest reply read from the API; the service's replies are a few hundred bytes.
pub(crate) const MAX_REPLY: u64 = 1024 * 1024;

/// What a reply is judged against.
pub(crate) struct Context<'a> {
    /// The API key, cut out of everything the server sends.
    pub key: &'a str,
    /// The upload path sent, for a reply that names no path.
    pub upload_path: &'a str,
    /// When reading the reply must be over.
    pub deadline: Instant,
}

/// Reads the reply to one request and turns it into the stored file, or the error it says (with
/// the `Retry-After` it carried).
pub(crate) fn judge(
    mut response: Response<ureq::Body>,
    sent: &Sent,
    ctx: &Context<'_>,
) -> Result<UploadedFile, Error> {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now()));
    if (300..400).contains(&status) {
        let location = header("location").unwrap_or_else(|| "(no location)".to_owned());
        return Err(Error::new(ErrorKind::Redirect {
            status,
            location: redact(&location, ctx.key).into_owned(),
        })
        .with_retry_after(retry_after));
    }
    let body = read_capped(response.body_mut(), status, ctx.deadline)?;
    let text = String::from_utf8_lossy(body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&body));
    // The key is cut out of the raw text here (for pages that are not JSON), and out of each JSON
    // string once decoded by the envelope (a `\u0025` is a `%` that may start a percent-encoded key).
    let text = redact(&text, ctx.key);
    let reply = Reply {
        status,
        text: &text,
        retry_after,
    };
    envelope::judge(&reply, sent, ctx.upload_path, ctx.key)
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
        match reader.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(match e.downcast::<ureq::Error>() {
                    Ok(ureq::Error::BodyExceedsLimit(_)) => Error::new(ErrorKind::BadReply {
                        status,
                        reason: format!("the reply is larger than {MAX_REPLY} bytes"),
                    }),
                    Ok(e) => Error::transport(e),
                    Err(e) => Error::transport(ureq::Error::Io(e)),
                })
            }
        }
    }
}
