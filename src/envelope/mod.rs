//! The service's envelope, as pure rules: a reply's status and text, with what the request sent,
//! make the stored file or the error they amount to. Nothing here reads a socket: `reply.rs` reads
//! the answer and hands its text over.
//!
//! A reply is a success only when its `success` is the JSON `true` (with no `code`, or `code` 200),
//! or when `success` is absent and `code` is 200. Its `data` is read in `data.rs`.

use std::borrow::Cow;
use std::io;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::text::{excerpt, redact};
use crate::{Error, ErrorKind, UploadedFile};

mod data;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

use data::{stored_file, whole_number};

/// What the request sent, for judging the reply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent {
    /// For a file upload: the bytes of the source sent, and whether that was all of it. `None` for
    /// a URL upload, where the service counts the bytes itself.
    pub file: Option<(u64, bool)>,
    /// Whether the body went chunked (its length was unknown).
    pub chunked: bool,
}

/// The stored file a reply describes, or the error it amounts to: the reply's status, its text
/// (without a byte-order mark, the key already cut out of it) and the wait its `Retry-After`
/// asked for, given what was sent (and the upload path, for a reply that names no path). `key` is
/// cut out of every JSON string once decoded (a `\u0025` is a `%` that may start an encoded key).
pub(crate) fn judge(
    status: u16,
    text: &str,
    retry_after: Option<Duration>,
    sent: &Sent,
    upload_path: &str,
    key: &str,
) -> Result<UploadedFile, Error> {
    let (mut file, reported) = match parse(status, text, upload_path, key) {
        Ok(parsed) => parsed,
        Err(kind) => {
            let kind = match kind {
                kind if sent.chunked && wants_length(&kind) => ErrorKind::LengthRequired { status },
                kind => kind,
            };
            return Err(Error::new(kind).with_retry_after(retry_after));
        }
    };

    if let Some((_, false)) = sent.file {
        return Err(Error::new(ErrorKind::Transport).with_source(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the server answered before the whole body was sent",
        )));
    }
    // Without the size it stored, nothing says the service has the whole file.
    let Some(stored) = reported else {
        return Err(Error::new(ErrorKind::BadReply {
            status,
            reason: "a success without a fileSize, so nothing says the whole file was stored"
                .into(),
        }));
    };
    if let Some((sent, true)) = sent.file.filter(|&(sent, _)| sent != stored) {
        return Err(Error::new(ErrorKind::StoredSizeMismatch { sent, stored }));
    }
    file.file_size = stored;
    Ok(file)
}

/// What a reply says, with its HTTP status: the stored file and the `fileSize` it reported, or the
/// error it amounts to. `text` is already cleaned of the key.
fn parse(
    status: u16,
    text: &str,
    upload_path: &str,
    key: &str,
) -> Result<(UploadedFile, Option<u64>), ErrorKind> {
    let ok_status = (200..300).contains(&status);
    let value = json_object(status, text, key)?;

    let success = value.get("success");
    let code = value.get("code").filter(|c| !c.is_null());
    let msg = value
        .get("msg")
        .or_else(|| value.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_owned();
    let code_number = code
        .and_then(whole_number)
        .and_then(|c| u16::try_from(c).ok());
    let is_envelope = success.is_some()
        || code.is_some()
        || value.contains_key("msg")
        || value.contains_key("message");

    if !ok_status {
        if !is_envelope {
            return Err(ErrorKind::Http {
                status,
                excerpt: excerpt(text),
            });
        }
        let code = code_number.filter(|&c| c != 200).unwrap_or(status);
        return Err(ErrorKind::Service { status, code, msg });
    }
    let succeeded = match (success, code_number) {
        (Some(Value::Bool(true)), _) if code.is_none() => true,
        (Some(Value::Bool(true)) | None, Some(200)) => true,
        _ => false,
    };
    if !succeeded {
        if !is_envelope {
            return Err(ErrorKind::BadReply {
                status,
                reason: "the reply says neither success nor code".into(),
            });
        }
        // An envelope that says "not a success" without saying why is a refusal all the same.
        let code = code_number.filter(|&c| c != 200).unwrap_or(0);
        return Err(ErrorKind::Service { status, code, msg });
    }

    let bad = |reason: &str| ErrorKind::BadReply {
        status,
        reason: reason.to_owned(),
    };
    let Some(Value::Object(data)) = value.get("data") else {
        return Err(bad("a success without `data`"));
    };
    stored_file(data, upload_path).map_err(|why| bad(&why))
}

/// The reply's JSON object, each string cleaned of the key; or, for a text that is not one, the
/// error it amounts to: a page under an error status, a bad reply under a success status.
fn json_object(status: u16, text: &str, key: &str) -> Result<Map<String, Value>, ErrorKind> {
    match serde_json::from_str(text) {
        Ok(Value::Object(mut map)) => {
            map.values_mut().for_each(|v| redact_strings(v, key));
            Ok(map)
        }
        // nginx's page for a plain-HTTP request to its TLS port (an http:// URL for it).
        _ if status == 400 && text.contains("plain HTTP request was sent to HTTPS port") => {
            Err(ErrorKind::WrongScheme {
                server_speaks_tls: true,
            })
        }
        _ if !(200..300).contains(&status) => Err(ErrorKind::Http {
            status,
            excerpt: excerpt(text),
        }),
        Ok(_) => Err(ErrorKind::BadReply {
            status,
            reason: "the reply is JSON but not an object".into(),
        }),
        Err(e) => Err(ErrorKind::BadReply {
            status,
            reason: format!("the reply is not JSON ({e}): {:?}", excerpt(text)),
        }),
    }
}

/// Cuts the key out of every string in `value`, as JSON decoded it.
fn redact_strings(value: &mut Value, key: &str) {
    match value {
        Value::String(text) => {
            if let Cow::Owned(clean) = redact(text, key) {
                *text = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_strings(v, key)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_strings(v, key)),
        _ => {}
    }
}

/// Whether a refusal says the server wants a `Content-Length`.
fn wants_length(kind: &ErrorKind) -> bool {
    match kind {
        ErrorKind::Http { status: 411, .. } | ErrorKind::Service { code: 411, .. } => true,
        ErrorKind::Http { excerpt: text, .. } | ErrorKind::Service { msg: text, .. } => {
            text.to_ascii_lowercase().contains("content-length")
        }
        _ => false,
    }
}
