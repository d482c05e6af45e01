//! Internals opened up for the benches in `benches/`; not part of the API and free to change.

use std::io::{self, Read};

use crate::multipart::{Body, Fields};
use crate::payload::Payload;

/// The multipart body the stream endpoint sends for `source`, as a [`Read`], with the same fields a
/// real upload has.
pub fn multipart_body<'a>(
    source: &'a mut (dyn Read + Send),
    len: Option<u64>,
    file_name: &str,
) -> io::Result<impl Read + 'a> {
    let text = [("uploadPath", "bench"), ("fileName", file_name)];
    let fields = Fields {
        text: &text,
        file_field: "file",
        file_name,
        content_type: None,
    };
    Body::new(&fields, Payload::new(source, len, None))
}
