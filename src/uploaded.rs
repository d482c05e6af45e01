//! [`UploadedFile`]: what every upload returns, and when it expires.

use std::time::{Duration, SystemTime};

use crate::time;

/// How long the service keeps an upload when its reply does not say (no `expiresAt`): three days,
/// as the service documents.
///
/// ```
/// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
/// # let client = kie_upload::Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
/// use std::time::{Duration, SystemTime};
/// use kie_upload::{Upload, RETENTION};
///
/// let file = client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?;
/// assert_eq!(file.service_expires_at, None); // so it lives RETENTION from its upload
/// let left = file.expires_at().unwrap().duration_since(SystemTime::now())?;
/// assert!(left <= RETENTION && left > RETENTION - Duration::from_secs(60));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub const RETENTION: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// A file stored by the service: what every upload call returns.
///
/// The fields are public to read. The type is `#[non_exhaustive]`, so that a field the service adds
/// later can be added here without breaking anyone: a program gets one from an upload, never from
/// a struct literal. With the `serde` feature it is `Serialize` and `Deserialize`, with the
/// service's own field names (`fileName`, `downloadUrl`, ...), so it can be stored and read back.
///
/// The service has answered in more than one shape; the client reads each of them into this one
/// (see the crate docs). Text fields come as the service sent them, cleaned of the API key: pass
/// them through [`printable`](crate::printable) before showing them on a terminal.
///
/// ```
/// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
/// # let client = kie_upload::Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
/// let file = client.upload(kie_upload::Upload::bytes(b"<svg/>", "images").file_name("a.svg"))?;
/// assert_eq!((file.file_path.as_str(), file.file_size), ("images/a.svg", 6));
/// println!("{} until {:?}", file.download_url, file.expires_at_rfc3339());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
#[non_exhaustive]
pub struct UploadedFile {
    /// The file's name on the service.
    #[cfg_attr(feature = "serde", serde(default))]
    pub file_name: String,
    /// Where the service stored it: the upload path and the file name.
    #[cfg_attr(feature = "serde", serde(default))]
    pub file_path: String,
    /// Where anyone can download it, without credentials, until it expires.
    pub download_url: String,
    /// Size in bytes, as the service counted it (always equal to the bytes sent for the stream and
    /// base64 endpoints: a difference is an error).
    #[cfg_attr(feature = "serde", serde(default))]
    pub file_size: u64,
    /// The MIME type the service detected (empty when it did not say).
    #[cfg_attr(feature = "serde", serde(default))]
    pub mime_type: String,
    /// When the service stored it, as RFC 3339 text (`2025-01-01T12:00:00.000Z`); empty when it did
    /// not say.
    #[cfg_attr(feature = "serde", serde(default))]
    pub uploaded_at: String,
    /// The service's own expiry time, when it sends one (RFC 3339). Prefer
    /// [`expires_at()`](Self::expires_at), which falls back to `uploaded_at` plus [`RETENTION`].
    #[cfg_attr(
        feature = "serde",
        serde(default, rename = "expiresAt", skip_serializing_if = "Option::is_none")
    )]
    pub service_expires_at: Option<String>,
    /// The service's file identifier, when it sends one.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub file_id: Option<String>,
    /// Whether this is an earlier upload of the same bytes, returned by an
    /// `UploadCache` without sending anything (feature `cache`); `false` for
    /// a file just uploaded. Not part of the service's reply, and not serialized.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub reused: bool,
}

impl UploadedFile {
    /// When the file will be deleted: the service's `expiresAt` when it sent one, else `uploadedAt`
    /// plus three days. `None` when neither time can be parsed.
    ///
    /// ```
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = kie_upload::Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// # use std::time::{Duration, SystemTime};
    /// let file = client.upload(kie_upload::Upload::bytes(b"hi", "notes").file_name("hi.txt"))?;
    /// let left = file.expires_at().unwrap().duration_since(SystemTime::now())?;
    /// assert!(left > Duration::from_secs(60 * 60));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn expires_at(&self) -> Option<SystemTime> {
        let service = self.service_expires_at.as_deref();
        service
            .and_then(time::parse_rfc3339)
            .or_else(|| time::parse_rfc3339(&self.uploaded_at).map(|t| t + RETENTION))
    }

    /// [`expires_at()`](Self::expires_at) as RFC 3339 text in UTC, for display and JSON output.
    ///
    /// ```
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = kie_upload::Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let file = client.upload(kie_upload::Upload::bytes(b"hi", "notes").file_name("hi.txt"))?;
    /// let expires = file.expires_at_rfc3339().unwrap(); // such as 2026-01-04T12:00:00.000Z
    /// assert!(expires.ends_with('Z') && expires > file.uploaded_at);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn expires_at_rfc3339(&self) -> Option<String> {
        self.expires_at().map(time::format_rfc3339)
    }

    /// Whether the file has expired by `now`; `false` when the expiry is unknown.
    ///
    /// ```
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = kie_upload::Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// # use std::time::SystemTime;
    /// let file = client.upload(kie_upload::Upload::bytes(b"hi", "notes").file_name("hi.txt"))?;
    /// assert!(!file.is_expired_at(SystemTime::now()));
    /// assert!(file.is_expired_at(SystemTime::now() + kie_upload::RETENTION));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.expires_at().is_some_and(|t| t <= now)
    }
}

#[cfg(test)]
#[cfg(feature = "serde")]
mod tests {
    use super::*;

    #[test]
    fn serde_uses_the_service_s_names_and_reads_them_back() {
        let file = UploadedFile {
            file_name: "a.png".into(),
            file_path: "images/a.png".into(),
            download_url: "https://tempfile.redpandaai.co/kieai/1/images/a.png".into(),
            file_size: 154_832,
            mime_type: "image/png".into(),
            uploaded_at: "2025-01-01T12:00:00.000Z".into(),
            service_expires_at: None,
            file_id: None,
            reused: true,
        };
        let json = serde_json::to_value(&file).unwrap();
        let mut names: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "downloadUrl",
                "fileName",
                "filePath",
                "fileSize",
                "mimeType",
                "uploadedAt"
            ]
        );
        let back: UploadedFile = serde_json::from_value(json).unwrap();
        assert_eq!(
            back,
            UploadedFile {
                reused: false,
                ..file
            }
        );
        let quickstart: UploadedFile = serde_json::from_str(
            r#"{"downloadUrl":"https://x/a","expiresAt":"2025-01-02T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            quickstart.service_expires_at.as_deref(),
            Some("2025-01-02T00:00:00Z")
        );
    }
}
