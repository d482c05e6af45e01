//! The service itself: the three upload endpoints, storage, and downloads.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use serde_json::{json, Value};

use crate::http::{Head, Reply};
use crate::{lock, util, Part, State, Stored};

/// The largest JSON body (base64 and URL uploads) the emulator reads.
const MAX_JSON_BODY: u64 = 64 * 1024 * 1024;

/// What one request amounts to before it is answered.
pub(crate) struct Outcome {
    pub status: u16,
    pub code: u16,
    pub body: Value,
}

impl Outcome {
    fn ok(data: Value) -> Self {
        Outcome {
            status: 200,
            code: 200,
            body: json!({"success": true, "code": 200, "msg": "File uploaded successfully", "data": data}),
        }
    }

    pub(crate) fn error(code: u16, msg: &str) -> Self {
        Outcome {
            status: code,
            code,
            body: json!({"success": false, "code": code, "msg": msg}),
        }
    }
}

pub(crate) fn serve_download(state: &State, escaped: &str) -> Reply {
    let text =
        |status: u16, body: &str| Reply::bytes(status, "text/plain", body.as_bytes().to_vec());
    let Some(file_path) = util::unescape_path(escaped) else {
        return text(400, "bad path");
    };
    let found = {
        let mut files = lock(&state.files);
        let expired = files
            .get(&file_path)
            .is_some_and(|f| f.stored_at.elapsed().unwrap_or_default() >= state.config.ttl);
        if expired {
            if let Some(f) = files.remove(&file_path) {
                let _ = fs::remove_file(f.disk);
            }
        }
        files
            .get(&file_path)
            .map(|f| (f.disk.clone(), f.mime.clone(), f.size))
    };
    let Some((disk, mime, size)) = found else {
        return text(404, "Not found");
    };
    match File::open(disk) {
        Ok(file) => Reply {
            status: 200,
            headers: vec![("Content-Type".into(), mime)],
            body: Box::new(file),
            length: size,
        },
        Err(_) => text(404, "Not found"),
    }
}

/// A file written to the store's directory but not yet visible under a path.
struct Incoming {
    disk: PathBuf,
    size: u64,
    head: Vec<u8>,
}

fn receive(state: &State, data: &mut dyn Read) -> io::Result<Incoming> {
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let disk = state.dir.path().join(format!("blob-{id}"));
    let mut out = File::create(&disk)?;
    let mut head = Vec::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    let result = (|| loop {
        let n = match data.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if head.len() < 32 {
            let take = n.min(32 - head.len());
            head.extend_from_slice(&buf[..take]);
        }
        out.write_all(&buf[..n])?;
        size += n as u64;
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&disk);
        return Err(e);
    }
    Ok(Incoming { disk, size, head })
}

fn discard(incoming: Option<Incoming>) {
    if let Some(i) = incoming {
        let _ = fs::remove_file(i.disk);
    }
}

/// Makes `incoming` visible as `upload_path/file_name` (replacing what was there) and describes it.
fn publish(
    state: &State,
    incoming: Incoming,
    upload_path: &str,
    file_name: Option<&str>,
    ext_hint: &str,
) -> Outcome {
    let upload_path = upload_path.trim_matches('/');
    let file_name = match file_name.filter(|n| !n.is_empty()) {
        Some(n) => n.to_owned(),
        None => {
            let ext = ext_hint
                .rsplit_once('.')
                .map(|(_, e)| format!(".{e}"))
                .unwrap_or_default();
            format!("{}{ext}", util::random_hex(16))
        }
    };
    let file_path = format!("{upload_path}/{file_name}");
    let mime = util::detect_mime(&incoming.head, &file_name);
    let now = SystemTime::now();
    let data = json!({
        "fileName": file_name,
        "filePath": file_path,
        "downloadUrl": format!("{}/files/{}", state.base_url, util::escape_path(&file_path)),
        "fileSize": incoming.size,
        "mimeType": mime,
        "uploadedAt": util::rfc3339(now),
    });
    let old = lock(&state.files).insert(
        file_path,
        Stored {
            disk: incoming.disk,
            size: incoming.size,
            mime,
            stored_at: now,
        },
    );
    if let Some(old) = old {
        let _ = fs::remove_file(old.disk);
    }
    Outcome::ok(data)
}

pub(crate) fn stream_upload(
    state: &State,
    head: &Head,
    body: &mut dyn Read,
    parts: &mut Vec<Part>,
) -> Outcome {
    let boundary = head.header("Content-Type").and_then(|ct| {
        let (kind, params) = ct.split_once(';')?;
        if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
            return None;
        }
        params.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
    });
    let Some(boundary) = boundary else {
        return Outcome::error(
            400,
            "Content-Type must be multipart/form-data with a boundary",
        );
    };

    let mut form = multipart::server::Multipart::with_body(&mut *body, boundary);
    let mut upload_path = None;
    let mut file_name = None;
    let mut file: Option<Incoming> = None;
    let mut part_filename = String::new();
    loop {
        let mut entry = match form.read_entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => break,
            Err(e) => {
                discard(file);
                return Outcome::error(400, &format!("Malformed multipart body: {e}"));
            }
        };
        let name = entry.headers.name.to_string();
        let mut part = Part {
            name: name.clone(),
            filename: entry.headers.filename.clone(),
            content_type: entry.headers.content_type.as_ref().map(ToString::to_string),
            text: String::new(),
            size: 0,
        };
        if name == "file" {
            match receive(state, &mut entry.data) {
                Ok(incoming) => {
                    part.size = incoming.size;
                    part_filename = part.filename.clone().unwrap_or_default();
                    discard(file.replace(incoming));
                }
                Err(e) => {
                    discard(file);
                    return Outcome::error(400, &format!("Malformed multipart body: {e}"));
                }
            }
        } else {
            let mut value = Vec::new();
            if let Err(e) = (&mut entry.data).take(64 * 1024).read_to_end(&mut value) {
                discard(file);
                return Outcome::error(400, &format!("Malformed multipart body: {e}"));
            }
            part.size = value.len() as u64;
            part.text = String::from_utf8_lossy(&value).into_owned();
            match name.as_str() {
                "uploadPath" => upload_path = Some(part.text.clone()),
                "fileName" => file_name = Some(part.text.clone()),
                _ => {}
            }
        }
        parts.push(part);
    }
    drop(form);
    // A body cut short after a well-formed end is still cut short: store nothing.
    if let Err(e) = io::copy(body, &mut io::sink()) {
        discard(file);
        return Outcome::error(400, &format!("Malformed multipart body: {e}"));
    }
    let Some(file) = file else {
        return Outcome::error(400, "Missing required parameter: file");
    };
    let Some(upload_path) = upload_path.filter(|p| !p.trim_matches('/').is_empty()) else {
        discard(Some(file));
        return Outcome::error(400, "Missing required parameter: uploadPath");
    };
    publish(
        state,
        file,
        &upload_path,
        file_name.as_deref(),
        &part_filename,
    )
}

fn read_json(
    request: &mut dyn Read,
    fields: &mut BTreeMap<String, String>,
) -> Result<Value, Outcome> {
    let mut body = Vec::new();
    request
        .take(MAX_JSON_BODY)
        .read_to_end(&mut body)
        .map_err(|e| Outcome::error(400, &format!("Could not read the body: {e}")))?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| Outcome::error(400, &format!("Invalid JSON body: {e}")))?;
    if let Some(object) = value.as_object() {
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
    Ok(value)
}

fn text_field<'v>(body: &'v Value, name: &str) -> Result<&'v str, Outcome> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Outcome::error(400, &format!("Missing required parameter: {name}")))
}

/// The fields every JSON upload request carries: the one naming the source (`base64Data` or
/// `fileUrl`), `uploadPath`, and the optional `fileName`.
struct JsonUpload {
    source: String,
    upload_path: String,
    file_name: Option<String>,
}

fn read_json_upload(
    request: &mut dyn Read,
    fields: &mut BTreeMap<String, String>,
    source_field: &str,
) -> Result<JsonUpload, Outcome> {
    let body = read_json(request, fields)?;
    Ok(JsonUpload {
        source: text_field(&body, source_field)?.to_owned(),
        upload_path: text_field(&body, "uploadPath")?.to_owned(),
        file_name: body
            .get("fileName")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
    })
}

/// `/api/file-base64-upload`; an `Err` is the error reply.
pub(crate) fn base64_upload(
    state: &State,
    request: &mut dyn Read,
    fields: &mut BTreeMap<String, String>,
) -> Result<Outcome, Outcome> {
    let upload = read_json_upload(request, fields, "base64Data")?;
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
    let bytes =
        util::base64_decode(payload).ok_or_else(|| Outcome::error(400, "Invalid base64 data"))?;
    let incoming = receive(state, &mut bytes.as_slice())
        .map_err(|e| Outcome::error(500, &format!("Could not store the file: {e}")))?;
    let name = upload.file_name.as_deref();
    Ok(publish(
        state,
        incoming,
        &upload.upload_path,
        name,
        name.unwrap_or(""),
    ))
}

/// `/api/file-url-upload`: fetches the URL (30 s bound); an `Err` is the error reply.
pub(crate) fn url_upload(
    state: &State,
    request: &mut dyn Read,
    fields: &mut BTreeMap<String, String>,
) -> Result<Outcome, Outcome> {
    let upload = read_json_upload(request, fields, "fileUrl")?;
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
    let response = state
        .fetcher
        .get(url)
        .call()
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(failed(format!("HTTP {status}")));
    }
    let mut reader = response.into_body().into_reader();
    let incoming = receive(state, &mut reader).map_err(|e| failed(e.to_string()))?;
    let url_name = url
        .split(['?', '#'])
        .next()
        .and_then(|u| u.rsplit('/').next())
        .and_then(util::unescape_path)
        .filter(|n| !n.is_empty() && !n.contains(':'));
    let name = upload.file_name.or(url_name);
    Ok(publish(
        state,
        incoming,
        &upload.upload_path,
        name.as_deref(),
        name.as_deref().unwrap_or(""),
    ))
}
