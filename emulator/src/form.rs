//! `multipart/form-data` bodies, parsed by multer on the connection's own thread.
//!
//! multer is async but needs no runtime: pollster drives it. The blocking request body reaches it
//! as a stream of chunks read through a fixed buffer, one chunk a poll, so the parser never holds
//! more than a chunk or two of a part, however large the upload.

use std::io::{self, Read};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::Part;

/// The size of each chunk read from the body.
const CHUNK: usize = 64 * 1024;

/// The most body read without the parser handing anything out. While a part streams, it holds
/// back only what could be the start of a boundary; more means it is looking for a boundary or
/// the end of a part's head that is not there (a wrong boundary, say), and would keep the whole
/// body in memory looking for it.
const MAX_UNPARSED: u64 = 1024 * 1024;

/// What the form reader hands the parts to, as they arrive.
pub(crate) trait Parts {
    /// A part begins (its size is still 0).
    fn begin(&mut self, part: &Part) -> io::Result<()>;
    /// The next bytes of the current part.
    fn data(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// The current part has ended; `part.size` counts its bytes.
    fn end(&mut self, part: Part) -> io::Result<()>;
}

/// The boundary of a `multipart/form-data` content type, if it is one.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    multer::parse_boundary(content_type).ok()
}

/// Reads a multipart body up to its closing boundary, handing each part to `parts`; an `Err` says
/// what was malformed (or how the body or `parts` failed).
pub(crate) fn read(
    body: &mut (dyn Read + Send),
    boundary: &str,
    parts: &mut dyn Parts,
) -> Result<(), String> {
    let pulled = AtomicU64::new(0);
    let parsed = AtomicU64::new(0);
    let mut form = multer::Multipart::new(Chunks::new(body, &pulled, &parsed), boundary);
    // What the parser has handed out stands for all that was read so far.
    let progress = || parsed.store(pulled.load(Ordering::Relaxed), Ordering::Relaxed);
    pollster::block_on(async {
        while let Some(mut field) = form.next_field().await.map_err(describe)? {
            progress();
            let mut part = Part {
                name: field.name().unwrap_or_default().to_owned(),
                filename: field.file_name().map(str::to_owned),
                content_type: field
                    .headers()
                    .get("content-type")
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                text: String::new(),
                size: 0,
            };
            parts.begin(&part).map_err(|e| e.to_string())?;
            while let Some(chunk) = field.chunk().await.map_err(describe)? {
                progress();
                part.size += chunk.len() as u64;
                parts.data(&chunk).map_err(|e| e.to_string())?;
            }
            parts.end(part).map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// multer's message and its causes: "failed to read stream: the request body was cut short".
fn describe(e: multer::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// A blocking reader as a stream of chunks.
///
/// multer pulls from its stream until it is pending, so a reader that is always ready would be
/// read whole into its buffer. After each chunk this stream says "pending" once (and wakes the
/// executor at once), so the parser takes one chunk at a time.
///
/// It also refuses to read on when the parser has taken [`MAX_UNPARSED`] bytes without handing
/// anything out.
struct Chunks<'r> {
    body: &'r mut (dyn Read + Send),
    /// Bytes read from the body.
    pulled: &'r AtomicU64,
    /// `pulled` as of the last time the parser handed something out.
    parsed: &'r AtomicU64,
    just_yielded: bool,
    ended: bool,
}

impl<'r> Chunks<'r> {
    fn new(body: &'r mut (dyn Read + Send), pulled: &'r AtomicU64, parsed: &'r AtomicU64) -> Self {
        Chunks {
            body,
            pulled,
            parsed,
            just_yielded: false,
            ended: false,
        }
    }
}

impl Stream for Chunks<'_> {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        if this.just_yielded {
            this.just_yielded = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let unparsed = this.pulled.load(Ordering::Relaxed) - this.parsed.load(Ordering::Relaxed);
        if unparsed > MAX_UNPARSED {
            this.ended = true;
            let why = "no boundary or end of a part's head in 1 MiB";
            return Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::InvalidData, why))));
        }
        let mut buf = vec![0u8; CHUNK];
        loop {
            match this.body.read(&mut buf) {
                Ok(0) => {
                    this.ended = true;
                    return Poll::Ready(None);
                }
                Ok(n) => {
                    buf.truncate(n);
                    this.pulled.fetch_add(n as u64, Ordering::Relaxed);
                    this.just_yielded = true;
                    return Poll::Ready(Some(Ok(buf)));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the reader hands over, and the most bytes handed over in one piece.
    #[derive(Default)]
    struct Seen {
        parts: Vec<Part>,
        bytes: Vec<u8>,
        largest_piece: usize,
    }

    impl Parts for Seen {
        fn begin(&mut self, _: &Part) -> io::Result<()> {
            self.bytes.clear();
            Ok(())
        }
        fn data(&mut self, bytes: &[u8]) -> io::Result<()> {
            self.largest_piece = self.largest_piece.max(bytes.len());
            self.bytes.extend_from_slice(bytes);
            Ok(())
        }
        fn end(&mut self, part: Part) -> io::Result<()> {
            self.parts.push(part);
            Ok(())
        }
    }

    #[test]
    fn parts_arrive_in_order_with_their_heads() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"uploadPath\"\r\n\r\ndocs\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a%22b.txt\"\r\n\
                    Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
        let mut seen = Seen::default();
        read(&mut body.as_bytes(), "XyZ", &mut seen).unwrap();
        assert_eq!(seen.parts.len(), 2);
        assert_eq!(seen.parts[0].name, "uploadPath");
        assert_eq!(seen.parts[0].size, 4);
        assert_eq!(seen.parts[1].filename.as_deref(), Some("a%22b.txt"));
        assert_eq!(seen.parts[1].content_type.as_deref(), Some("text/plain"));
        assert_eq!(seen.bytes, b"hello");
    }

    #[test]
    fn a_large_part_streams_through_in_pieces() {
        let payload = vec![7u8; 3 << 20];
        let mut body =
            b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
                .to_vec();
        body.extend_from_slice(&payload);
        body.extend_from_slice(b"\r\n--B--\r\n");
        let mut seen = Seen::default();
        read(&mut body.as_slice(), "B", &mut seen).unwrap();
        assert_eq!(seen.parts[0].size, payload.len() as u64);
        // One chunk at a time: never the whole part at once.
        assert!(seen.largest_piece <= 2 * CHUNK, "{}", seen.largest_piece);
    }

    #[test]
    fn a_body_without_its_boundary_is_not_read_whole() {
        let mut body = b"--Other\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n".to_vec();
        body.resize(64 << 20, b'x');
        let mut reader = body.as_slice();
        let err = read(&mut reader, "XyZ", &mut Seen::default()).unwrap_err();
        assert!(err.contains("1 MiB"), "{err}");
        // It stopped soon after the limit, leaving the rest unread.
        assert!(reader.len() > 60 << 20, "{}", reader.len());
    }

    #[test]
    fn a_cut_body_is_an_error() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhel";
        assert!(read(&mut body.as_bytes(), "XyZ", &mut Seen::default()).is_err());
    }

    #[test]
    fn boundaries_come_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("application/json"), None);
    }
}
