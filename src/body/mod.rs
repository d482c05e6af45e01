//! The request bodies, built around the payload: one small interface ([`Encoding::frame`]) for the
//! two bodies that carry a file (multipart for the stream endpoint, base64 in JSON for the base64
//! endpoint), and the URL endpoint's small JSON body.

use std::io::{self, Read};

use crate::payload::Payload;
use crate::Error;

mod base64;
mod multipart;

/// The stream endpoint: multipart, any size.
pub(crate) const STREAM_ENDPOINT: &str = "/api/file-stream-upload";
/// The base64 endpoint: JSON, small files.
pub(crate) const BASE64_ENDPOINT: &str = "/api/file-base64-upload";
/// The URL endpoint: JSON with the URL the service fetches.
pub(crate) const URL_ENDPOINT: &str = "/api/file-url-upload";

/// How the file travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `multipart/form-data` to the stream endpoint.
    Multipart,
    /// Base64 inside JSON to the base64 endpoint.
    Base64,
}

/// The checked text fields that go with the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'f> {
    /// The API's `uploadPath`, already trimmed of `/`.
    pub upload_path: &'f str,
    /// The API's `fileName`, when there is one.
    pub file_name: Option<&'f str>,
    /// The content type given by the caller.
    pub content_type: Option<&'f str>,
}

/// A request body: a [`Read`] that yields the whole message, its `Content-Type`, and its exact
/// length when the payload's is known.
pub(crate) struct Body<'p> {
    pub content_type: String,
    pub length: Option<u64>,
    reader: Box<dyn Read + 'p>,
    /// Whether `100 Continue` had come when ureq first read the body: a body read without it
    /// after asking means the server let the wait run out.
    pub continued: Option<bool>,
}

impl Encoding {
    /// The endpoint this encoding goes to.
    pub(crate) fn endpoint(self) -> &'static str {
        match self {
            Encoding::Multipart => STREAM_ENDPOINT,
            Encoding::Base64 => BASE64_ENDPOINT,
        }
    }

    /// Frames `payload` with `fields` into a request body. The multipart body may read the first
    /// bytes of the payload ahead to tell its content type; that read is the only way this fails.
    pub(crate) fn frame<'p, 's>(
        self,
        fields: &Fields<'_>,
        payload: &'p mut Payload<'s>,
    ) -> Result<Body<'p>, Error> {
        Ok(match self {
            Encoding::Multipart => {
                let frame = multipart::Frame::new(fields, payload)?;
                Body::new(frame.content_type(), frame.len(), frame)
            }
            Encoding::Base64 => {
                let (length, body) = base64::body(fields, payload);
                Body::new("application/json", length, body)
            }
        })
    }
}

impl<'p> Body<'p> {
    pub(crate) fn new(
        content_type: impl Into<String>,
        length: Option<u64>,
        reader: impl Read + 'p,
    ) -> Body<'p> {
        Body {
            content_type: content_type.into(),
            length,
            reader: Box::new(reader),
            continued: None,
        }
    }
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.continued
            .get_or_insert_with(|| crate::transport::seen().continued);
        self.reader.read(buf)
    }
}

/// The URL endpoint's body: `{"fileUrl":..,"uploadPath":..,"fileName":..}`.
pub(crate) fn url_json(file_url: &str, upload_path: &str, file_name: Option<&str>) -> Vec<u8> {
    let mut body = serde_json::json!({ "fileUrl": file_url, "uploadPath": upload_path });
    if let Some(name) = file_name {
        body["fileName"] = name.into();
    }
    body.to_string().into_bytes()
}

/// Hands `read` the multipart body the stream endpoint sends for `source`, framed exactly as an
/// upload frames it: for the encoder bench, behind the internal `_bench` feature (not part of the
/// API, free to change).
#[cfg(feature = "_bench")]
pub fn bench_multipart<T>(
    source: &mut (dyn Read + Send),
    len: Option<u64>,
    file_name: &str,
    read: impl FnOnce(&mut dyn Read) -> T,
) -> T {
    let opened = crate::source::Opened {
        reader: source,
        path: None,
        len,
    };
    let mut payload = Payload::new(opened, None);
    let fields = Fields {
        upload_path: "bench",
        file_name: Some(file_name),
        content_type: None,
    };
    let mut body = Encoding::Multipart
        .frame(&fields, &mut payload)
        .expect("the first read of a source in memory does not fail");
    read(&mut body)
}
