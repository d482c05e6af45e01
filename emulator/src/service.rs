//! The service itself: the three upload endpoints, their checks, and the JSON envelope they answer
//! with.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};

use crate::form::{self, Parts};
use crate::http::{Head, Reply};
use crate::store::{Incoming, Published, Store};
use crate::{util, Part, RecordedRequest, BASE64_MAX_DECODED, DEFAULT_TTL};

/// The largest JSON body the base64 endpoint reads: room for [`BASE64_MAX_DECODED`] bytes encoded
/// (4 characters for 3 bytes) twice over, for JSON escapes (`\/`) and line breaks. Anything longer
/// cannot be a payload the service takes, so it is refused without being read into memory.
const BASE64_BODY_CAP: u64 = BASE64_MAX_DECODED.div_ceil(3) * 4 * 2 + 64 * 1024;

/// The largest JSON body the URL endpoint reads.
const URL_BODY_CAP: u64 = 1024 * 1024;

/// The most of a text part kept in the record.
const MAX_TEXT_PART: usize = 64 * 1024;

/// The three upload endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Stream,
    Base64,
    Url,
}

impl Endpoint {
    const ALL: [Endpoint; 3] = [Endpoint::Stream, Endpoint::Base64, Endpoint::Url];

    /// The endpoint a request path ends in, whatever prefix comes before `/api/`.
    pub fn of(path: &str) -> Option<Endpoint> {
        Endpoint::ALL
            .into_iter()
            .find(|endpoint| path.ends_with(endpoint.path()))
    }

    /// Its path, as the documentation gives it.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Stream => "/api/file-stream-upload",
            Endpoint::Base64 => "/api/file-base64-upload",
            Endpoint::Url => "/api/file-url-upload",
        }
    }
}

/// The service's answer before it is sent: its JSON envelope, whose `code` sets the HTTP status
/// unless errors go in the body.
pub(crate) struct Outcome {
    pub code: u16,
    pub body: Value,
}

impl Outcome {
    /// `{"success": true, "code": 200, "msg": ..., "data": data}`.
    pub fn ok(data: Value) -> Self {
        Outcome {
            code: 200,
            body: json!({"success": true, "code": 200, "msg": "File uploaded successfully", "data": data}),
        }
    }

    /// `{"success": false, "code": code, "msg": msg}`.
    pub fn error(code: u16, msg: &str) -> Self {
        Outcome {
            code,
            body: json!({"success": false, "code": code, "msg": msg}),
        }
    }

    /// The reply: with `errors_in_body`, every error goes as HTTP 200 with its `code` in the body;
    /// otherwise the HTTP status is the `code`.
    pub fn into_reply(self, errors_in_body: bool) -> Reply {
        let status = if errors_in_body { 200 } else { self.code };
        self.into_reply_with_status(status)
    }

    /// The reply with this HTTP status, whatever the `code`.
    pub fn into_reply_with_status(self, status: u16) -> Reply {
        Reply::bytes(
            status,
            "application/json",
            self.body.to_string().into_bytes(),
        )
        .with_code(self.code)
    }
}

/// `data` in the shape most of the documentation shows; with a TTL other than the service's own
/// ([`DEFAULT_TTL`]), an `expiresAt` too, so a client does not take the file for one kept three days.
pub(crate) fn documented(file: &Published, ttl: Duration) -> Value {
    let mut data = json!({
        "fileName": file.file_name,
        "filePath": file.file_path,
        "downloadUrl": file.download_url,
        "fileSize": file.size,
        "mimeType": file.mime,
        "uploadedAt": util::rfc3339(file.stored_at),
    });
    if ttl != DEFAULT_TTL {
        data["expiresAt"] = Value::from(util::rfc3339(file.expires_at));
    }
    data
}

/// `data` in the quickstart page's shape: `fileUrl` and `downloadUrl` both present and different,
/// and an `expiresAt`.
pub(crate) fn quickstart(file: &Published, base_url: &str) -> Value {
    json!({
        "fileId": file.file_id,
        "originalName": file.file_name,
        "uploadPath": file.upload_path,
        "fileUrl": format!("{base_url}/files-by-id/{}", file.file_id),
        "downloadUrl": file.download_url,
        "fileSize": file.size,
        "mimeType": file.mime,
        "uploadTime": util::rfc3339(file.stored_at),
        "expiresAt": util::rfc3339(file.expires_at),
    })
}

/// The endpoints' logic and what it needs: the key, the store, and an HTTP client for URL uploads.
pub(crate) struct Service {
    api_key: String,
    store: Store,
    /// Fetches URLs elsewhere, trusting the usual public roots.
    fetcher: ureq::Agent,
    /// Fetches this machine's own URLs, trusting the emulator's CA when it serves HTTPS.
    local_fetcher: ureq::Agent,
}

impl Service {
    pub fn new(api_key: String, store: Store, ca: Option<&CertificateDer<'static>>) -> Service {
        let agent = |local: bool, roots: Option<ureq::tls::RootCerts>| {
            let mut tls = ureq::tls::TlsConfig::builder();
            if let Some(roots) = roots {
                tls = tls.root_certs(roots);
            }
            let mut config = ureq::Agent::config_builder()
                // The service gives a URL 30 seconds.
                .timeout_global(Some(Duration::from_secs(30)))
                .http_status_as_error(false)
                .tls_config(tls.build());
            if local {
                // This machine is reached directly, whatever proxy the environment names.
                config = config.proxy(None);
            }
            config.build().new_agent()
        };
        let own_roots = ca.map(|der| {
            ureq::tls::RootCerts::new_with_certs(
                &[ureq::tls::Certificate::from_der(der).to_owned()],
            )
        });
        Service {
            api_key,
            store,
            fetcher: agent(false, None),
            local_fetcher: agent(true, own_roots),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether an `Authorization` header value carries the right key.
    pub fn is_authorized(&self, authorization: Option<&str>) -> bool {
        authorization.and_then(|v| v.strip_prefix("Bearer ")) == Some(self.api_key.as_str())
    }

    /// One upload request: the method and key checks, then the endpoint. An `Err` is the error
    /// reply. What the request carried is noted in `record`.
    pub fn upload(
        &self,
        endpoint: Endpoint,
        head: &Head,
        body: &mut (dyn Read + Send),
        record: &mut RecordedRequest,
    ) -> Result<Published, Outcome> {
        if head.method != "POST" {
            return Err(Outcome::error(405, "Method not allowed"));
        }
        if !record.authorized {
            return Err(Outcome::error(
                401,
                "Unauthorized: invalid or missing API key",
            ));
        }
        match endpoint {
            Endpoint::Stream => self.stream_upload(head, body, &mut record.parts),
            Endpoint::Base64 => self.base64_upload(head, body, &mut record.json_fields),
            Endpoint::Url => self.url_upload(body, &mut record.json_fields),
        }
    }

    /// `/api/file-stream-upload`: `file`, `uploadPath` and `fileName` as multipart parts.
    fn stream_upload(
        &self,
        head: &Head,
        body: &mut (dyn Read + Send),
        parts: &mut Vec<Part>,
    ) -> Result<Published, Outcome> {
        let malformed =
            |why: &str| Outcome::error(400, &format!("Malformed multipart body: {why}"));
        let boundary = head
            .header("Content-Type")
            .and_then(form::boundary)
            .ok_or_else(|| {
                Outcome::error(
                    400,
                    "Content-Type must be multipart/form-data with a boundary",
                )
            })?;
        let mut fields = StreamFields {
            store: &self.store,
            parts,
            current: None,
            text: Vec::new(),
            file: None,
            file_part_name: String::new(),
            upload_path: None,
            file_name: None,
        };
        form::read(body, &boundary, &mut fields).map_err(|e| malformed(&e))?;
        // A body cut short after a well-formed end is still cut short: store nothing.
        io::copy(body, &mut io::sink()).map_err(|e| malformed(&e.to_string()))?;
        let Some(file) = fields.file.take() else {
            return Err(Outcome::error(400, "Missing required parameter: file"));
        };
        let Some(upload_path) = fields
            .upload_path
            .take()
            .filter(|p| !p.trim_matches('/').is_empty())
        else {
            return Err(Outcome::error(
                400,
                "Missing required parameter: uploadPath",
            ));
        };
        self.publish(
            file,
            &upload_path,
            fields.file_name.as_deref(),
            &fields.file_part_name,
        )
    }

    /// `/api/file-base64-upload`: `base64Data` (plain, or a `data:` URL), `uploadPath`, `fileName`.
    /// At most [`BASE64_MAX_DECODED`] decoded bytes, decoded straight to disk.
    fn base64_upload(
        &self,
        head: &Head,
        body: &mut (dyn Read + Send),
        fields: &mut BTreeMap<String, String>,
    ) -> Result<Published, Outcome> {
        let too_large = || {
            Outcome::error(
                413,
                "File too large: the base64 endpoint takes at most 10 MB",
            )
        };
        if head.content_length().is_some_and(|n| n > BASE64_BODY_CAP) {
            return Err(too_large());
        }
        let upload = read_json_upload(body, fields, "base64Data", BASE64_BODY_CAP)
            .map_err(|e| e.unwrap_or_else(too_large))?;
        let payload = match upload.source.strip_prefix("data:") {
            Some(rest) => match rest.split_once(',') {
                Some((meta, payload)) if meta.ends_with(";base64") => payload,
                _ => {
                    return Err(Outcome::error(
                        400,
                        "Invalid base64 data: malformed data URL",
                    ))
                }
            },
            None => &upload.source,
        };
        // Line breaks and spaces are tolerated, as by most decoders.
        let text: Cow<'_, str> = if payload.bytes().any(|b| b.is_ascii_whitespace()) {
            Cow::Owned(payload.split_ascii_whitespace().collect())
        } else {
            Cow::Borrowed(payload)
        };
        if decoded_len(&text) > BASE64_MAX_DECODED {
            return Err(too_large());
        }
        let mut decoder =
            base64::read::DecoderReader::new(text.as_bytes(), &STANDARD_PAD_INDIFFERENT);
        let incoming = self
            .store
            .receive(&mut decoder)
            .map_err(|e| match e.kind() {
                io::ErrorKind::InvalidData => Outcome::error(400, "Invalid base64 data"),
                _ => Outcome::error(500, &format!("Could not store the file: {e}")),
            })?;
        let name = upload.file_name.as_deref();
        self.publish(incoming, &upload.upload_path, name, name.unwrap_or(""))
    }

    /// `/api/file-url-upload`: fetches `fileUrl` (30 s bound), then stores it.
    fn url_upload(
        &self,
        body: &mut (dyn Read + Send),
        fields: &mut BTreeMap<String, String>,
    ) -> Result<Published, Outcome> {
        let upload = read_json_upload(body, fields, "fileUrl", URL_BODY_CAP)
            .map_err(|e| e.unwrap_or_else(|| Outcome::error(413, "Request body too large")))?;
        let url = upload.source.as_str();
        let lower = url.to_ascii_lowercase();
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            return Err(Outcome::error(
                400,
                "Invalid fileUrl: must be an http or https URL",
            ));
        }
        let failed =
            |why: String| Outcome::error(400, &format!("Failed to download file from URL: {why}"));
        let fetcher = match is_loopback_url(url) {
            true => &self.local_fetcher,
            false => &self.fetcher,
        };
        let response = fetcher.get(url).call().map_err(|e| failed(e.to_string()))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(failed(format!("HTTP {status}")));
        }
        let mut reader = response.into_body().into_reader();
        let incoming = self
            .store
            .receive(&mut reader)
            .map_err(|e| failed(e.to_string()))?;
        let url_name = url
            .split(['?', '#'])
            .next()
            .and_then(|u| u.rsplit('/').next())
            .and_then(util::unescape_path)
            .filter(|n| !n.is_empty() && !n.contains(':'));
        let name = upload.file_name.or(url_name);
        self.publish(
            incoming,
            &upload.upload_path,
            name.as_deref(),
            name.as_deref().unwrap_or(""),
        )
    }

    fn publish(
        &self,
        incoming: Incoming,
        upload_path: &str,
        file_name: Option<&str>,
        ext_hint: &str,
    ) -> Result<Published, Outcome> {
        self.store
            .publish(incoming, upload_path, file_name, ext_hint)
            .map_err(|e| Outcome::error(500, &format!("Could not store the file: {e}")))
    }
}

/// Collects the parts of a stream upload as they arrive: the file part goes to disk, text parts
/// to memory (the first 64 KiB).
struct StreamFields<'a> {
    store: &'a Store,
    parts: &'a mut Vec<Part>,
    /// The file part being received, if the current part is one.
    current: Option<Incoming>,
    /// The current text part's first bytes.
    text: Vec<u8>,
    file: Option<Incoming>,
    /// The `filename` of the file part, for the extension of a made-up name.
    file_part_name: String,
    upload_path: Option<String>,
    file_name: Option<String>,
}

impl Parts for StreamFields<'_> {
    fn begin(&mut self, part: &Part) -> io::Result<()> {
        self.text.clear();
        self.current = match part.name == "file" {
            true => Some(self.store.incoming()?),
            false => None,
        };
        Ok(())
    }

    fn data(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.current {
            Some(file) => file.write(bytes),
            None => {
                let room = MAX_TEXT_PART.saturating_sub(self.text.len());
                self.text.extend_from_slice(&bytes[..bytes.len().min(room)]);
                Ok(())
            }
        }
    }

    fn end(&mut self, mut part: Part) -> io::Result<()> {
        match self.current.take() {
            Some(file) => {
                self.file_part_name = part.filename.clone().unwrap_or_default();
                // A second file part replaces the first, whose file is then deleted.
                self.file = Some(file);
            }
            None => {
                part.text = String::from_utf8_lossy(&self.text).into_owned();
                match part.name.as_str() {
                    "uploadPath" => self.upload_path = Some(part.text.clone()),
                    "fileName" => self.file_name = Some(part.text.clone()),
                    _ => {}
                }
            }
        }
        self.parts.push(part);
        Ok(())
    }
}

/// The number of bytes `text` decodes to, without decoding it (padding optional). Text that is
/// not base64 gets a guess; the decoder refuses it later.
fn decoded_len(text: &str) -> u64 {
    let digits = text.trim_end_matches('=').len() as u64;
    digits / 4 * 3 + (digits % 4 * 3 / 4)
}

/// Whether a URL names this machine (`127.0.0.1`, `localhost` or `[::1]`).
fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host == "127.0.0.1" || host == "::1" || host.eq_ignore_ascii_case("localhost")
}

/// The fields every JSON upload request carries: the one naming the source (`base64Data` or
/// `fileUrl`), `uploadPath`, and the optional `fileName`.
struct JsonUpload {
    source: String,
    upload_path: String,
    file_name: Option<String>,
}

/// Reads a JSON upload request of at most `cap` bytes, noting its string fields in `fields`.
/// `Err(None)` when the body is longer than `cap`; `Err(Some(reply))` for any other error.
fn read_json_upload(
    request: &mut (dyn Read + Send),
    fields: &mut BTreeMap<String, String>,
    source_field: &str,
    cap: u64,
) -> Result<JsonUpload, Option<Outcome>> {
    let mut capped = Capped {
        inner: request,
        left: cap,
        over: false,
    };
    // Read whole, then parsed: the text and the parsed value are held at once, as they would be
    // with a streaming parse (its scratch buffer), and parsing a slice is several times faster.
    let mut text = Vec::new();
    let read = capped.read_to_end(&mut text);
    if capped.over {
        return Err(None);
    }
    read.map_err(|e| {
        Some(Outcome::error(
            400,
            &format!("Could not read the body: {e}"),
        ))
    })?;
    let body: Value = serde_json::from_slice(&text)
        .map_err(|e| Some(Outcome::error(400, &format!("Invalid JSON body: {e}"))))?;
    drop(text);
    if let Some(object) = body.as_object() {
        for (k, v) in object {
            if let Some(text) = v.as_str() {
                let text = if k == "base64Data" {
                    text.chars().take(64).collect()
                } else {
                    text.to_owned()
                };
                fields.insert(k.clone(), text);
            }
        }
    }
    let text_field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                Some(Outcome::error(
                    400,
                    &format!("Missing required parameter: {name}"),
                ))
            })
    };
    Ok(JsonUpload {
        source: text_field(source_field)?,
        upload_path: text_field("uploadPath")?,
        file_name: text_field("fileName").ok(),
    })
}

/// A reader that hands out at most `left` bytes and notes whether more were there.
struct Capped<'a> {
    inner: &'a mut (dyn Read + Send),
    left: u64,
    over: bool,
}

impl Read for Capped<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.over = true;
            return Err(io::Error::other("the body is too large"));
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        base64::read::DecoderReader::new(text.as_bytes(), &STANDARD_PAD_INDIFFERENT)
            .read_to_end(&mut out)
            .ok()?;
        Some(out)
    }

    #[test]
    fn decodes_base64_with_or_without_padding() {
        assert_eq!(decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(decode("Zm9vYg==").unwrap(), b"foob");
        assert_eq!(decode("Zm9vYg").unwrap(), b"foob");
        assert_eq!(decode("").unwrap(), b"");
        assert!(decode("Zm9v!").is_none());
        assert!(decode("Z").is_none());
        assert!(decode("Zm==Zm").is_none());
    }

    #[test]
    fn counts_decoded_bytes_without_decoding() {
        for bytes in 0..20usize {
            let text = "QUJD".repeat(bytes / 3 + 1);
            let encoded: String = text.chars().take((bytes * 4).div_ceil(3)).collect();
            assert_eq!(decoded_len(&encoded), bytes as u64, "{encoded}");
            let padded = format!("{encoded}{}", "=".repeat((4 - encoded.len() % 4) % 4));
            assert_eq!(decoded_len(&padded), bytes as u64, "{padded}");
        }
    }

    #[test]
    fn tells_loopback_urls() {
        for url in [
            "https://127.0.0.1:8443/files/a",
            "http://localhost/x",
            "https://[::1]:9/a",
            "https://user@127.0.0.1/a",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://example.com/127.0.0.1",
            "http://10.0.0.1/",
            "https://localhost.example/",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn finds_endpoints_under_any_prefix() {
        assert_eq!(
            Endpoint::of("/api/file-stream-upload"),
            Some(Endpoint::Stream)
        );
        assert_eq!(Endpoint::of("/v2/api/file-url-upload"), Some(Endpoint::Url));
        assert_eq!(Endpoint::of("/api/file-upload"), None);
    }
}
