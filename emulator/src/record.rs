//! What the emulator saw: [`RecordedRequest`] and its multipart [`Part`]s.

use std::collections::BTreeMap;

use crate::Fault;

/// One request the emulator received, as it parsed it.
///
/// A connection refused before a request head could be read (a head too large or malformed, or
/// one beyond [`Config::max_connections`](crate::Config::max_connections)) leaves no record. Its `Debug` output shows the
/// `Authorization` header's value as `[redacted]`.
#[derive(Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request path, prefix included, without the query string.
    pub path: String,
    /// Every header field, in the order received, names as sent and values trimmed (lossy UTF-8).
    pub headers: Vec<(String, String)>,
    /// Whether the right Bearer key came with it.
    pub authorized: bool,
    /// Whether an `Authorization` header came at all.
    pub had_authorization: bool,
    /// The `Content-Length` header, if any. With `chunked` this tells how the body was framed: an
    /// empty body sent by length has `Some(0)` and `chunked` false; one sent chunked has `chunked`
    /// true (and, normally, no `Content-Length`).
    pub content_length: Option<u64>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// Whether the request carried `Expect: 100-continue`.
    pub expect_continue: bool,
    /// Bytes of the request body the server read (after chunked decoding), including for faults
    /// that stop reading early.
    pub body_read: u64,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The multipart parts, in order, as the independent parser read them.
    pub parts: Vec<Part>,
    /// The string fields of a JSON body (base64 and URL uploads); `base64Data` is cut to its first
    /// 64 characters.
    pub json_fields: BTreeMap<String, String>,
    /// The fault applied to this request, if one was scripted.
    pub fault: Option<Fault>,
    /// Which connection carried it: requests on one kept-alive connection share the number.
    pub connection: u64,
    /// The HTTP status of the reply (0 when none was sent).
    pub status: u16,
    /// The `code` in the reply's JSON envelope (0 when there was none); for a download, its
    /// HTTP status.
    pub code: u16,
}

impl RecordedRequest {
    /// The value of the first header called `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key stays out of Debug output, as everywhere in this project.
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| match k.eq_ignore_ascii_case("Authorization") {
                true => (k.as_str(), "[redacted]"),
                false => (k.as_str(), v.as_str()),
            })
            .collect();
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &headers)
            .field("authorized", &self.authorized)
            .field("had_authorization", &self.had_authorization)
            .field("content_length", &self.content_length)
            .field("chunked", &self.chunked)
            .field("expect_continue", &self.expect_continue)
            .field("body_read", &self.body_read)
            .field("content_type", &self.content_type)
            .field("parts", &self.parts)
            .field("json_fields", &self.json_fields)
            .field("fault", &self.fault)
            .field("connection", &self.connection)
            .field("status", &self.status)
            .field("code", &self.code)
            .finish()
    }
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Part {
    /// The `name` parameter (empty when there was none).
    pub name: String,
    /// The `filename` parameter, exactly as the parser read it (percent-escapes are not undone).
    pub filename: Option<String>,
    /// The part's `Content-Type`, as sent.
    pub content_type: Option<String>,
    /// The part's value for text parts (lossy UTF-8, the first 64 KiB), empty for the file part.
    pub text: String,
    /// The number of bytes in the part.
    pub size: u64,
}
