//! A success's `data`, in either shape the service has been seen to use:
//! - `fileName, filePath, downloadUrl, fileSize, mimeType, uploadedAt` (the API reference);
//! - `fileId, originalName, uploadPath, fileUrl, downloadUrl, fileSize, mimeType, uploadTime,
//!   expiresAt` (the quickstart page), where `downloadUrl` wins over `fileUrl`, `originalName` and
//!   `uploadTime` stand in for `fileName` and `uploadedAt`, and `filePath` is `uploadPath/name`.

use serde_json::{Map, Value};

use crate::checks::http_host;
use crate::UploadedFile;

/// The stored file described by a success's `data`, and the `fileSize` it reported; or why the
/// data is unusable.
pub(super) fn stored_file(
    data: &Map<String, Value>,
    upload_path: &str,
) -> Result<(UploadedFile, Option<u64>), String> {
    let text = |name: &str| match data.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    // A success must say where the file is: an absolute http(s) URL with a host, named after the
    // field it came from when it is not.
    let (field, download_url) = match data.get("downloadUrl") {
        Some(Value::String(url)) if !url.is_empty() => ("downloadUrl", url.clone()),
        Some(Value::Null | Value::String(_)) | None => (
            "fileUrl",
            text("fileUrl").ok_or("a success without a downloadUrl")?,
        ),
        Some(_) => return Err("`downloadUrl` is not text".into()),
    };
    if http_host(&download_url.to_ascii_lowercase()).is_none() {
        return Err(format!(
            "the {field} {download_url:?} is not an absolute http(s) URL with a host"
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
        reused: false,
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
pub(super) fn whole_number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            let f = n.as_f64()?;
            // Beyond 2^53 a float no longer holds every whole number exactly.
            let exact =
                f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0;
            exact.then_some(f as u64)
        }),
        // Digits only: `parse` would take a sign.
        Value::String(s) if s.trim().bytes().all(|b| b.is_ascii_digit()) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
