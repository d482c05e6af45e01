//! The service's reply: read (capped, under one deadline), cleaned of the API key, and understood in
//! every shape the service has been seen to use; the result is the stored file or the error it
//! amounts to.
//!
//! A reply is a success only when its `success` is the JSON `true` (with no `code`, or `code` 200),
//! or when `success` is absent and `code` is 200. Its `data` may come in two shapes:
//! - `fileName, filePath, downloadUrl, fileSize, mimeType, uploadedAt` (the API reference);
//! - `fileId, originalName, uploadPath, fileUrl, downloadUrl, fileSize, mimeType, uploadTime,
//!   expiresAt` (the quickstart page), where `downloadUrl` wins over `fileUrl`, `originalName` and
//!   `uploadTime` stand in for `fileName` and `uploadedAt`, and `filePath` is `uploadPath/name`.

use std::borrow::Cow;
use std::io::{self, Read};

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};
use ureq::http::Response;

use crate::text::redact;
use crate::{time, Error, ErrorKind, UploadedFile};

/// The largest reply read from the API; the service's replies are a few hundred bytes.
pub(crate) const MAX_REPLY: u64 = 1024 * 1024;

/// What the request sent, for judging the reply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent {
    /// For a file upload: the bytes of the source sent, and whether that was all of it. `None` for
    /// a URL upload, where the service counts the bytes itself.
    pub file: Option<(u64, bool)>,
    /// Whether the body went chunked (its length was unknown).
    pub chunked: bool,
}

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
    // string once decoded by `parse` (a `\u0025` is a `%` that may start a percent-encoded key).
    let text = redact(&text, ctx.key);
    let (mut file, reported) = match parse(status, &text, ctx.upload_path, ctx.key) {
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

/// What a reply says, with its HTTP status: the stored file and the `fileSize` it reported, or the
/// error it amounts to. `text` is already cleaned of the key.
fn parse(
    status: u16,
    text: &str,
    upload_path: &str,
    key: &str,
) -> Result<(UploadedFile, Option<u64>), ErrorKind> {
    let ok_status = (200..300).contains(&status);
    let value: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(mut map)) => {
            map.values_mut().for_each(|v| redact_strings(v, key));
            map
        }
        _ if !ok_status => {
            return Err(ErrorKind::Http {
                status,
                excerpt: excerpt(text),
            })
        }
        Ok(_) => {
            return Err(ErrorKind::BadReply {
                status,
                reason: "the reply is JSON but not an object".into(),
            })
        }
        Err(e) => {
            return Err(ErrorKind::BadReply {
                status,
                reason: format!("the reply is not JSON ({e}): {:?}", excerpt(text)),
            })
        }
    };

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

/// The stored file described by a success's `data`, in either documented shape.
fn stored_file(
    data: &Map<String, Value>,
    upload_path: &str,
) -> Result<(UploadedFile, Option<u64>), String> {
    let text = |name: &str| match data.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let download_url = match data.get("downloadUrl") {
        Some(Value::String(url)) if !url.is_empty() => url.clone(),
        Some(Value::Null | Value::String(_)) | None => {
            text("fileUrl").ok_or("a success without a downloadUrl")?
        }
        Some(_) => return Err("`downloadUrl` is not text".into()),
    };
    let lower = download_url.to_ascii_lowercase();
    if !lower.starts_with("https://") && !lower.starts_with("http://") {
        return Err(format!(
            "the downloadUrl {download_url:?} is not an http(s) URL"
        ));
    }
    let reported = match data.get("fileSize") {
        None | Some(Value::Null) => None,
        Some(size) => Some(
            whole_number(size)
                .ok_or_else(|| format!("the fileSize {size} is not a whole number of bytes"))?,
        ),
    };
    let file_path = text("filePath");
    let file_name = text("fileName")
        .or_else(|| text("originalName"))
        .or_else(|| last_segment(file_path.as_deref()?))
        .or_else(|| last_segment(download_url.split(['?', '#']).next()?))
        .unwrap_or_default();
    let file_path = file_path.unwrap_or_else(|| {
        let folder = text("uploadPath").unwrap_or_else(|| upload_path.to_owned());
        format!("{}/{file_name}", folder.trim_end_matches('/'))
    });
    let file_id = match data.get("fileId") {
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        Some(Value::Number(id)) => Some(id.to_string()),
        _ => None,
    };
    let file = UploadedFile {
        file_name,
        file_path,
        download_url,
        file_size: reported.unwrap_or(0),
        mime_type: text("mimeType").unwrap_or_default(),
        uploaded_at: text("uploadedAt")
            .or_else(|| text("uploadTime"))
            .unwrap_or_default(),
        service_expires_at: text("expiresAt"),
        file_id,
    };
    Ok((file, reported))
}

/// The last `/`-separated segment of a path or URL, if it is not empty.
fn last_segment(path: &str) -> Option<String> {
    let last = path.rsplit('/').next()?;
    (!last.is_empty() && !last.contains(':')).then(|| last.to_owned())
}

/// A whole, non-negative number sent as a JSON integer, an integral float (`1000.0`), or digits in
/// a string. Fractions, negatives, and numbers too large to be exact are refused.
fn whole_number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            let f = n.as_f64()?;
            // Beyond 2^53 a float no longer holds every whole number exactly.
            let exact =
                f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0;
            exact.then_some(f as u64)
        }),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        }
        _ => None,
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

/// Reads a `Retry-After` value: whole seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = time::parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A short excerpt of a body that is not the service's JSON: the page's title when it has one,
/// markup and runs of white space removed, at most 160 characters.
pub(crate) fn excerpt(text: &str) -> String {
    let text = &text[..floor_char_boundary(text, 16 * 1024)];
    // Prefer the page's title when it has one; a proxy's error page says what it is there.
    let lower = text.to_ascii_lowercase();
    let source = match (lower.find("<title>"), lower.find("</title>")) {
        (Some(a), Some(b)) if b > a + 7 => &text[a + 7..b],
        _ => text,
    };
    const MAX_CHARS: usize = 160;
    let mut out = String::new();
    let mut count = 0;
    let mut in_tag = false;
    let mut space = false;
    for c in source.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                space = true;
            }
            _ if in_tag => {}
            c if c.is_whitespace() || c.is_control() => space = true,
            c => {
                let gap = space && count > 0;
                if count + usize::from(gap) >= MAX_CHARS {
                    out.push('…');
                    break;
                }
                if gap {
                    out.push(' ');
                    count += 1;
                }
                space = false;
                out.push(c);
                count += 1;
            }
        }
    }
    out
}

/// The largest char boundary at or below `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Seeded;

    const DOCUMENTED: &str = r#"{"success": true, "code": 200, "msg": "File uploaded successfully",
        "data": {"fileName": "uploaded-image.png", "filePath": "images/user-uploads/uploaded-image.png",
        "downloadUrl": "https://tempfile.redpandaai.co/xxx/images/user-uploads/uploaded-image.png",
        "fileSize": 154832, "mimeType": "image/png", "uploadedAt": "2025-01-01T12:00:00.000Z"}}"#;

    const QUICKSTART: &str = r#"{"success": true, "code": 200, "msg": "File uploaded successfully",
        "data": {"fileId": "abc123", "originalName": "photo.jpg", "uploadPath": "images/user-uploads",
        "fileUrl": "https://kieai.redpandaai.co/files/abc123",
        "downloadUrl": "https://kieai.redpandaai.co/download/abc123", "fileSize": 1000.0,
        "mimeType": "image/jpeg", "uploadTime": "2025-01-01T12:00:00.000Z",
        "expiresAt": "2025-01-02T12:00:00.000Z"}}"#;

    fn ok(status: u16, body: &str) -> (UploadedFile, Option<u64>) {
        parse(status, body, "sent/path", "").unwrap_or_else(|e| panic!("{e:?}: {body}"))
    }

    fn err(status: u16, body: &str) -> ErrorKind {
        match parse(status, body, "sent/path", "") {
            Err(kind) => kind,
            Ok(file) => panic!("a success: {file:?} from {body}"),
        }
    }

    #[test]
    fn every_documented_shape() {
        struct Row {
            body: &'static str,
            name: &'static str,
            path: &'static str,
            url: &'static str,
            size: Option<u64>,
            uploaded_at: &'static str,
            expires: &'static str,
        }
        let rows = [
            Row {
                body: DOCUMENTED,
                name: "uploaded-image.png",
                path: "images/user-uploads/uploaded-image.png",
                url: "https://tempfile.redpandaai.co/xxx/images/user-uploads/uploaded-image.png",
                size: Some(154832),
                uploaded_at: "2025-01-01T12:00:00.000Z",
                expires: "2025-01-04T12:00:00.000Z",
            },
            Row {
                body: QUICKSTART,
                name: "photo.jpg",
                path: "images/user-uploads/photo.jpg",
                url: "https://kieai.redpandaai.co/download/abc123",
                size: Some(1000),
                uploaded_at: "2025-01-01T12:00:00.000Z",
                expires: "2025-01-02T12:00:00.000Z",
            },
            // The alias page: fileUrl alone, fileId, expiresAt, the size as text, no envelope code.
            Row {
                body: r#"{"success":true,"data":{"fileUrl":"https://x/y.bin","fileId":"abc",
                    "fileSize":"12","expiresAt":"2025-01-02T00:00:00Z","extra":[1,2]}}"#,
                name: "y.bin",
                path: "sent/path/y.bin",
                url: "https://x/y.bin",
                size: Some(12),
                uploaded_at: "",
                expires: "2025-01-02T00:00:00.000Z",
            },
            // success absent, code 200; a byte-order mark is taken off before parsing (by judge).
            Row {
                body: r#"{"code":"200","data":{"downloadUrl":"http://h/a","filePath":"p/a.txt"}}"#,
                name: "a.txt",
                path: "p/a.txt",
                url: "http://h/a",
                size: None,
                uploaded_at: "",
                expires: "",
            },
        ];
        for row in rows {
            let (file, size) = ok(200, row.body);
            assert_eq!(file.file_name, row.name, "{}", row.body);
            assert_eq!(file.file_path, row.path, "{}", row.body);
            assert_eq!(file.download_url, row.url, "{}", row.body);
            assert_eq!(size, row.size, "{}", row.body);
            assert_eq!(file.uploaded_at, row.uploaded_at, "{}", row.body);
            assert_eq!(
                file.expires_at_rfc3339().unwrap_or_default(),
                row.expires,
                "{}",
                row.body
            );
        }
    }

    #[test]
    fn what_is_not_a_success() {
        let refusals = [
            (
                r#"{"success": false, "code": 401, "msg": "Unauthorized"}"#,
                401,
            ),
            (
                r#"{"success": "true", "code": 200, "data": {"downloadUrl": "https://x"}}"#,
                0,
            ),
            (r#"{"success": "false", "code": 200}"#, 0),
            (
                r#"{"success": true, "code": 402, "msg": "no credits", "data": {"downloadUrl": "https://x"}}"#,
                402,
            ),
            (r#"{"success": false, "code": 200, "msg": "odd"}"#, 0),
            (r#"{"success": false, "msg": "no code"}"#, 0),
            (
                r#"{"success": true, "code": "x", "data": {"downloadUrl": "https://x"}}"#,
                0,
            ),
            (r#"{"code": 500, "msg": "boom"}"#, 500),
        ];
        for (body, want) in refusals {
            match err(200, body) {
                ErrorKind::Service {
                    status: 200, code, ..
                } => assert_eq!(code, want, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        for bad in [
            r#"{"success": true, "code": 200}"#,
            r#"{"success": true, "data": {"downloadUrl": ""}}"#,
            r#"{"success": true, "data": {"downloadUrl": 5, "fileUrl": "https://x"}}"#,
            r#"{"success": true, "data": {"downloadUrl": "ftp://x/a"}}"#,
            r#"{"success": true, "data": {"downloadUrl": "https://x", "fileSize": 1000.5}}"#,
            r#"{"success": true, "data": {"downloadUrl": "https://x", "fileSize": -1}}"#,
            r#"{"success": true, "data": {"downloadUrl": "https://x", "fileSize": 1e999}}"#,
            r#"{"success": true, "data": {"downloadUrl": "https://x", "fileSize": 18446744073709551616}}"#,
            r#"{"success": true, "data": {"downloadUrl": "https://x", "fileSize": "12a"}}"#,
            r#"{"data": {"downloadUrl": "https://x"}}"#,
            r#"[1, 2]"#,
        ] {
            assert!(matches!(err(200, bad), ErrorKind::BadReply { .. }), "{bad}");
        }
    }

    #[test]
    fn errors_by_status() {
        let body = r#"{"success": false, "code": 401, "msg": "Unauthorized"}"#;
        assert_eq!(
            err(401, body),
            ErrorKind::Service {
                status: 401,
                code: 401,
                msg: "Unauthorized".into()
            }
        );
        assert_eq!(
            err(503, r#"{"success": false, "msg": "busy"}"#),
            ErrorKind::Service {
                status: 503,
                code: 503,
                msg: "busy".into()
            }
        );
        let page = "<!DOCTYPE html><html><head><title>502 Bad Gateway | example.com</title>\
            </head><body><h1>Bad\n\n gateway</h1></body></html>";
        assert_eq!(
            err(502, page),
            ErrorKind::Http {
                status: 502,
                excerpt: "502 Bad Gateway | example.com".into()
            }
        );
        assert!(matches!(
            err(200, "<html>ok</html>"),
            ErrorKind::BadReply { status: 200, .. }
        ));
    }

    #[test]
    fn whole_numbers() {
        let n = |s: &str| whole_number(&serde_json::from_str(s).unwrap());
        assert_eq!(n("1000"), Some(1000));
        assert_eq!(n("1000.0"), Some(1000));
        assert_eq!(n("\" 12 \""), Some(12));
        assert_eq!(n("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "1000.5", "-1", "-0.5", "\"-1\"", "\"1e3\"", "\"\"", "1e300", "null", "true", "[]",
        ] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_767);
        assert_eq!(parse_retry_after(" 5 ", now), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn excerpt_is_short_and_printable() {
        let long = "x\u{7}y ".repeat(500);
        let e = excerpt(&long);
        assert!(e.chars().count() <= 161);
        assert!(!e.chars().any(char::is_control));
        // A multi-byte character across the 16 KiB cut is not split.
        let wide = "é".repeat(10_000);
        assert!(!excerpt(&wide).is_empty());
    }

    /// What a correct reader must make of `data` when the reply is a success: the URL (downloadUrl
    /// wins, else fileUrl) and the reported size, or `None` when the data is unusable.
    fn expected(data: &Map<String, Value>) -> Option<(String, Option<u64>)> {
        let url = match data.get("downloadUrl") {
            Some(Value::String(u)) if !u.is_empty() => u.clone(),
            Some(Value::Null | Value::String(_)) | None => match data.get("fileUrl") {
                Some(Value::String(u)) if !u.is_empty() => u.clone(),
                _ => return None,
            },
            Some(_) => return None,
        };
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return None;
        }
        let size = match data.get("fileSize") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Some(Value::Number(n)) => {
                let f = n.as_f64()?;
                (f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0).then_some(f as u64)
            }
            Some(Value::String(s)) => {
                let t = s.trim();
                (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok())?
            }
            Some(_) => return None,
        };
        Some((url, size))
    }

    #[test]
    fn random_shapes_never_succeed_with_a_wrong_url_or_size() {
        let mut rng = Seeded(0x9e37_79b9_7f4a_7c15);
        let values = |rng: &mut Seeded, field: &str| -> Value {
            match rng.below(9) {
                0 => Value::Null,
                1 => Value::Bool(rng.below(2) == 0),
                2 => Value::from(rng.next_u64() % 5000),
                3 => Value::from((rng.next_u64() % 5000) as f64 + [0.0, 0.5][rng.below(2)]),
                4 => Value::from(-((rng.next_u64() % 50) as i64)),
                5 => Value::from((rng.next_u64() % 5000).to_string()),
                6 => Value::from(format!("https://h/{field}/{}", rng.below(100))),
                7 => Value::from(""),
                _ => Value::Array(vec![]),
            }
        };
        let fields = [
            "fileName",
            "filePath",
            "downloadUrl",
            "fileUrl",
            "fileSize",
            "mimeType",
            "uploadedAt",
            "fileId",
            "originalName",
            "uploadPath",
            "uploadTime",
            "expiresAt",
        ];
        let mut successes = 0;
        for round in 0..20_000 {
            let base: Value = serde_json::from_str([DOCUMENTED, QUICKSTART][rng.below(2)]).unwrap();
            let mut reply = base.as_object().unwrap().clone();
            let data = reply.get_mut("data").unwrap().as_object_mut().unwrap();
            for field in fields {
                match rng.below(4) {
                    0 => {
                        data.remove(field);
                    }
                    1 => {
                        data.insert(field.into(), values(&mut rng, field));
                    }
                    _ => {}
                }
            }
            let data = data.clone();
            match rng.below(6) {
                0 => {
                    reply.remove("success");
                }
                1 => {
                    reply.insert("success".into(), values(&mut rng, "success"));
                }
                2 => {
                    reply.insert("code".into(), values(&mut rng, "code"));
                }
                3 => {
                    reply.remove("code");
                }
                _ => {}
            }
            let body = Value::Object(reply.clone()).to_string();
            let status = [200u16, 201, 400, 401, 500][rng.below(5)];
            if let Ok((file, size)) = parse(status, &body, "p", "") {
                successes += 1;
                assert!((200..300).contains(&status), "round {round}: {body}");
                let success = reply.get("success");
                let code = reply.get("code").filter(|c| !c.is_null());
                assert!(
                    (success == Some(&Value::Bool(true))
                        && code.is_none_or(|c| whole_number(c) == Some(200)))
                        || (success.is_none() && code.and_then(whole_number) == Some(200)),
                    "round {round}: {body}"
                );
                let (url, want_size) = expected(&data)
                    .unwrap_or_else(|| panic!("round {round}: unusable data passed: {body}"));
                assert_eq!(file.download_url, url, "round {round}: {body}");
                assert_eq!(size, want_size, "round {round}: {body}");
            }
        }
        assert!(
            successes > 1000,
            "{successes} successes: the test exercises too little"
        );
    }

    #[test]
    fn mangled_replies_never_pass_as_success() {
        const TOKENS: &[&[u8]] = &[
            b"null",
            b"false",
            b"\"\"",
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b"0",
            b"-1",
            b"\"x\"",
            b"\xff",
            b"\\u0000",
            b"1e999",
            b"\"code\"",
            b"\"success\"",
        ];
        let mut rng = Seeded(0x5151_aaaa_0101_7777);
        for round in 0..5000 {
            let mut body = DOCUMENTED.as_bytes().to_vec();
            for _ in 0..rng.below(4) + 1 {
                let at = rng.below(body.len() + 1);
                match rng.below(3) {
                    0 => body.truncate(at),
                    1 => {
                        let token = TOKENS[rng.below(TOKENS.len())];
                        body.splice(at..at, token.iter().copied());
                    }
                    _ => {
                        if at < body.len() {
                            body[at] = rng.next_u64() as u8;
                        }
                    }
                }
            }
            let status = [200u16, 201, 400, 401, 429, 500, 502][rng.below(7)];
            let text = String::from_utf8_lossy(&body);
            if let Ok((file, _)) = parse(status, &text, "p", "") {
                assert!((200..300).contains(&status), "round {round}");
                let v: Value = serde_json::from_str(&text).unwrap();
                let code_200 = v.get("code").and_then(whole_number) == Some(200);
                match v.get("success") {
                    Some(Value::Bool(true)) => {}
                    None => assert!(code_200, "round {round}"),
                    other => panic!("round {round}: success {other:?}"),
                }
                assert_eq!(
                    v["data"]["downloadUrl"]
                        .as_str()
                        .filter(|u| !u.is_empty())
                        .or(v["data"]["fileUrl"].as_str()),
                    Some(file.download_url.as_str()),
                    "round {round}"
                );
            }
        }
    }
}
