//! The service's reply: the JSON envelope, [`UploadedFile`], and the expiry time.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use ureq::http::Response;

use crate::retry::parse_retry_after;
use crate::time;
use crate::Error;

/// The largest reply read from the API; the service's replies are a few hundred bytes.
pub(crate) const MAX_REPLY: u64 = 1024 * 1024;

/// How long the service keeps an upload when it does not say.
pub const RETENTION: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// A file stored by the service: what every upload call returns.
///
/// Field names follow the service's JSON (`fileName`, `downloadUrl`, ...) when serialized, so the value
/// can be stored and read back. Parsing is tolerant: unknown fields are ignored, `fileUrl` is accepted
/// for `downloadUrl`, and `fileSize` may be a number or a numeric string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedFile {
    /// The file's name on the service.
    #[serde(default)]
    pub file_name: String,
    /// Where the service stored it: the upload path and the file name.
    #[serde(default)]
    pub file_path: String,
    /// Where anyone can download it, without credentials, until it expires.
    #[serde(alias = "fileUrl")]
    pub download_url: String,
    /// Size in bytes, as the service counted it.
    #[serde(default, deserialize_with = "number_or_string")]
    pub file_size: u64,
    /// The MIME type the service detected.
    #[serde(default)]
    pub mime_type: String,
    /// When the service stored it, as RFC 3339 text (`2025-01-01T12:00:00.000Z`).
    #[serde(default)]
    pub uploaded_at: String,
    /// The service's own expiry time, when it sends one (RFC 3339). Prefer
    /// [`expires_at()`](Self::expires_at), which falls back to `uploaded_at` plus [`RETENTION`].
    #[serde(default, rename = "expiresAt", skip_serializing_if = "Option::is_none")]
    pub service_expires_at: Option<String>,
    /// The service's file identifier, when it sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
}

impl UploadedFile {
    /// When the file will be deleted: the service's `expiresAt` when it sent one, else `uploadedAt`
    /// plus three days. `None` when neither time can be parsed.
    pub fn expires_at(&self) -> Option<SystemTime> {
        if let Some(t) = self
            .service_expires_at
            .as_deref()
            .and_then(time::parse_rfc3339)
        {
            return Some(t);
        }
        time::parse_rfc3339(&self.uploaded_at).map(|t| t + RETENTION)
    }

    /// [`expires_at()`](Self::expires_at) as RFC 3339 text in UTC, for display and JSON output.
    pub fn expires_at_rfc3339(&self) -> Option<String> {
        self.expires_at().map(time::format_rfc3339)
    }

    /// Whether the file has expired by `now`; `false` when the expiry is unknown.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at().is_some_and(|t| t <= now)
    }
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(0),
        v => lenient_u64(&v).ok_or_else(|| serde::de::Error::custom("fileSize is not a number")),
    }
}

/// A whole number sent as a JSON number or as numeric text, as the service's fields may be.
fn lenient_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A reply understood: the stored file and the `fileSize` the service reported, or the error.
pub(crate) type Parsed = Result<(UploadedFile, Option<u64>), Error>;

/// Reads a reply (at most [`MAX_REPLY`] bytes) and turns it into a stored file (with the `fileSize`
/// it reported) or the error it says, along with any `Retry-After` it carried.
pub(crate) fn read_reply(mut response: Response<ureq::Body>) -> (Parsed, Option<Duration>) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    if (300..400).contains(&status) {
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(no location)");
        let error = Error::Http {
            status,
            excerpt: format!("to {}", excerpt(location.as_bytes())),
        };
        return (Err(error), retry_after);
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_REPLY)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => Error::Decode {
                status,
                reason: format!("the reply is larger than {MAX_REPLY} bytes"),
            },
            e => Error::Transport(e),
        });
    (
        body.and_then(|body| parse_reply(status, &body)),
        retry_after,
    )
}

/// What the service said, with its HTTP status: a stored file, or the error it amounts to.
pub(crate) fn parse_reply(status: u16, body: &[u8]) -> Parsed {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) | Err(_) if !(200..300).contains(&status) => {
            return Err(Error::Http {
                status,
                excerpt: excerpt(body),
            })
        }
        Ok(_) => {
            return Err(Error::Decode {
                status,
                reason: "the reply is JSON but not an object".into(),
            })
        }
        Err(e) => {
            return Err(Error::Decode {
                status,
                reason: format!("the reply is not JSON ({e}): {:?}", excerpt(body)),
            })
        }
    };

    let success = value.get("success").and_then(Value::as_bool);
    let code = value
        .get("code")
        .and_then(lenient_u64)
        .and_then(|c| u16::try_from(c).ok());
    let msg = value
        .get("msg")
        .or_else(|| value.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let is_envelope = success.is_some() || code.is_some() || msg.is_some();

    if !(200..300).contains(&status) {
        if !is_envelope {
            return Err(Error::Http {
                status,
                excerpt: excerpt(body),
            });
        }
        return Err(Error::Service {
            status,
            code: code.filter(|&c| c != 200).unwrap_or(status),
            msg: msg.unwrap_or_else(|| "no message".into()),
        });
    }
    if success == Some(false) || code.is_some_and(|c| c != 200) {
        return Err(Error::Service {
            status,
            code: code.filter(|&c| c != 200).unwrap_or(500),
            msg: msg.unwrap_or_else(|| "no message".into()),
        });
    }

    let Some(data) = value.get("data").filter(|d| !d.is_null()) else {
        return Err(Error::Decode {
            status,
            reason: "a success without `data`".into(),
        });
    };
    let reported_size = data.get("fileSize").and_then(lenient_u64);
    let file = UploadedFile::deserialize(data).map_err(|e| Error::Decode {
        status,
        reason: format!("unexpected `data`: {e}"),
    })?;
    if file.download_url.is_empty() {
        return Err(Error::Decode {
            status,
            reason: "`data` has an empty downloadUrl".into(),
        });
    }
    Ok((file, reported_size))
}

/// A short, printable excerpt of a body that is not the service's JSON: markup, control characters
/// and runs of white space removed, at most 160 characters.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]);
    // Prefer the page's title when it has one; a proxy's error page says what it is there.
    let lower = text.to_ascii_lowercase();
    let source = match (lower.find("<title>"), lower.find("</title>")) {
        (Some(a), Some(b)) if b > a + 7 => &text[a + 7..b],
        _ => &text[..],
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

#[cfg(test)]
mod tests {
    use super::*;

    const SUCCESS: &str = r#"{"success": true, "code": 200, "msg": "File uploaded successfully",
        "data": {"fileName": "uploaded-image.png", "filePath": "images/user-uploads/uploaded-image.png",
        "downloadUrl": "https://tempfile.redpandaai.co/xxx/images/user-uploads/uploaded-image.png",
        "fileSize": 154832, "mimeType": "image/png", "uploadedAt": "2025-01-01T12:00:00.000Z"}}"#;

    #[test]
    fn parses_the_documented_success() {
        let (f, size) = parse_reply(200, SUCCESS.as_bytes()).unwrap();
        assert_eq!(f.file_name, "uploaded-image.png");
        assert_eq!(f.file_path, "images/user-uploads/uploaded-image.png");
        assert!(f.download_url.ends_with("/uploaded-image.png"));
        assert_eq!(f.file_size, 154832);
        assert_eq!(size, Some(154832));
        assert_eq!(f.mime_type, "image/png");
        assert_eq!(
            f.expires_at_rfc3339().as_deref(),
            Some("2025-01-04T12:00:00.000Z")
        );
    }

    #[test]
    fn accepts_aliases_and_ignores_unknown_fields() {
        let body = r#"{"success":true,"code":200,"data":{"fileUrl":"https://x/y.bin",
            "fileId":"abc","fileSize":"12","expiresAt":"2025-01-02T00:00:00Z","extra":[1,2]}}"#;
        let (f, size) = parse_reply(200, body.as_bytes()).unwrap();
        assert_eq!(f.download_url, "https://x/y.bin");
        assert_eq!(f.file_id.as_deref(), Some("abc"));
        assert_eq!(f.file_size, 12);
        assert_eq!(size, Some(12));
        assert_eq!(
            f.expires_at_rfc3339().as_deref(),
            Some("2025-01-02T00:00:00.000Z")
        );
    }

    #[test]
    fn serializes_with_the_service_field_names() {
        let (f, _) = parse_reply(200, SUCCESS.as_bytes()).unwrap();
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["downloadUrl"], f.download_url.as_str());
        assert_eq!(json["fileSize"], 154832);
        assert!(json.get("expiresAt").is_none());
        let back: UploadedFile = serde_json::from_value(json).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn errors_by_status_and_in_body() {
        let body = br#"{"success": false, "code": 401, "msg": "Unauthorized"}"#;
        for status in [200, 401] {
            match parse_reply(status, body) {
                Err(Error::Service { code: 401, msg, .. }) => assert_eq!(msg, "Unauthorized"),
                other => panic!("{other:?}"),
            }
        }
        match parse_reply(500, br#"{"code": 500, "msg": "boom"}"#) {
            Err(Error::Service {
                status: 500,
                code: 500,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn html_pages_become_http_errors_with_a_clean_excerpt() {
        let page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway | example.com</title>\
            </head><body><h1>Bad\n\n gateway</h1></body></html>";
        match parse_reply(502, page) {
            Err(Error::Http { status, excerpt }) => {
                assert_eq!(status, 502);
                assert_eq!(excerpt, "502 Bad Gateway | example.com");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_reply(200, b"<html>ok</html>"),
            Err(Error::Decode { status: 200, .. })
        ));
    }

    #[test]
    fn success_without_data_is_not_a_success() {
        assert!(matches!(
            parse_reply(200, br#"{"success": true, "code": 200}"#),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            parse_reply(200, br#"{"success": true, "data": {"downloadUrl": ""}}"#),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn mangled_replies_never_pass_as_success() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
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
        for round in 0..5000 {
            let mut body = SUCCESS.as_bytes().to_vec();
            for _ in 0..next() % 4 + 1 {
                let at = (next() % (body.len() as u64 + 1)) as usize;
                match next() % 3 {
                    0 => body.truncate(at),
                    1 => {
                        let token = TOKENS[(next() % TOKENS.len() as u64) as usize];
                        body.splice(at..at, token.iter().copied());
                    }
                    _ => {
                        if at < body.len() {
                            body[at] = next() as u8;
                        }
                    }
                }
            }
            let status = [200u16, 201, 400, 401, 429, 500, 502][(next() % 7) as usize];
            if let Ok((file, _)) = parse_reply(status, &body) {
                // Whatever was accepted was a 2xx object with a non-error envelope and a URL.
                assert!((200..300).contains(&status), "round {round}");
                let v: Value = serde_json::from_slice(&body).unwrap();
                assert_ne!(v.get("success"), Some(&Value::Bool(false)), "round {round}");
                assert!(!file.download_url.is_empty(), "round {round}");
                assert_eq!(
                    v["data"]["downloadUrl"]
                        .as_str()
                        .or(v["data"]["fileUrl"].as_str()),
                    Some(file.download_url.as_str())
                );
            }
        }
    }

    #[test]
    fn excerpt_is_short_and_printable() {
        let long = "x\u{7}y ".repeat(500);
        let e = excerpt(long.as_bytes());
        assert!(e.chars().count() <= 161);
        assert!(!e.chars().any(char::is_control));
    }
}
