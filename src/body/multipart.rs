//! The `multipart/form-data` request body, built by hand as a [`Read`].
//!
//! The body is a chain: the text parts and the file part's head (a small buffer built up front), the
//! [`Payload`] (the source, guarded and counted), and the closing delimiter. The payload passes
//! straight from the source into the caller's buffer, so memory stays flat and no byte of the file is
//! scanned or copied twice.
//!
//! When the source's length is known the body's exact length is known too, and the payload guards it:
//! a source that ends early or runs long is an error, never a short or long body (ureq spins forever
//! on a body shorter than its `Content-Length`).

use std::fmt::Write as _;
use std::io::{self, Read};

use crate::mime;
use crate::payload::Payload;
use crate::random::random_u64;

/// A text part and the file part, in the order the service should read them.
pub(crate) struct Fields<'f> {
    /// Text fields, sent before the file so a server can read them before the large part.
    pub text: &'f [(&'f str, &'f str)],
    /// The file part's field name (`file`).
    pub file_field: &'f str,
    /// The `filename` parameter of the file part; always present, as servers need it.
    pub file_name: &'f str,
    /// The content type of the file part; guessed from `file_name` and the first bytes when `None`.
    pub content_type: Option<&'f str>,
}

enum State {
    Head,
    Payload,
    Tail,
    Done,
}

/// The request body: a [`Read`] that yields the whole `multipart/form-data` message.
pub(crate) struct Body<'a> {
    content_type: String,
    state: State,
    head: Vec<u8>,
    pos: usize,
    payload: Payload<'a>,
    tail: Vec<u8>,
}

impl<'a> Body<'a> {
    /// Builds the body, peeking at up to [`mime::SNIFF_LEN`] bytes of the payload to guess its type
    /// when neither the caller nor the file name tells it. Fails only when that first read fails.
    pub(crate) fn new(fields: &Fields<'_>, mut payload: Payload<'a>) -> io::Result<Body<'a>> {
        let boundary = new_boundary();
        let part_type = match fields.content_type {
            Some(t) => t,
            None => match mime::from_file_name(fields.file_name) {
                Some(t) => t,
                None => mime::sniff(payload.peek(mime::SNIFF_LEN)?).unwrap_or(mime::OCTET_STREAM),
            },
        };

        let mut head = String::new();
        for (name, value) in fields.text {
            // Writing to a String cannot fail.
            let _ = write!(
                head,
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                escape(name)
            );
        }
        let _ = write!(
            head,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n\
             Content-Type: {part_type}\r\n\r\n",
            escape(fields.file_field),
            escape(fields.file_name),
        );
        let tail = format!("\r\n--{boundary}--\r\n").into_bytes();

        Ok(Body {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            state: State::Head,
            head: head.into_bytes(),
            pos: 0,
            payload,
            tail,
        })
    }

    /// The `Content-Type` header of the request, with the boundary.
    pub(crate) fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The exact length of the body, when the source's length is known.
    pub(crate) fn len(&self) -> Option<u64> {
        self.payload
            .len()
            .map(|n| self.head.len() as u64 + n + self.tail.len() as u64)
    }

    /// The payload, for its count and its failure after the request.
    pub(crate) fn payload(&mut self) -> &mut Payload<'a> {
        &mut self.payload
    }

    /// Whether the whole body, closing delimiter included, has been produced.
    #[cfg(test)]
    pub(crate) fn is_done(&self) -> bool {
        match self.state {
            State::Done => true,
            // A reader that knows the length stops without asking for the end.
            State::Tail => self.pos == self.tail.len(),
            _ => false,
        }
    }

    #[cfg(test)]
    pub(crate) fn boundary(&self) -> &str {
        let (_, boundary) = self.content_type.split_once("boundary=").unwrap();
        boundary
    }
}

impl Read for Body<'_> {
    /// Fills as much of `buf` as it can without waiting twice on the source: part heads, payload and
    /// closing delimiter share one read when they fit, so a small upload leaves in one write
    /// instead of one per segment.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.state {
                State::Head => {
                    filled += copy_from(&self.head, &mut self.pos, &mut buf[filled..]);
                    if self.pos == self.head.len() {
                        self.pos = 0;
                        self.state = State::Payload;
                    }
                }
                State::Payload => {
                    let n = self.payload.read(&mut buf[filled..])?;
                    filled += n;
                    if n == 0 {
                        self.state = State::Tail;
                    } else if !self.payload.is_complete() {
                        // More would mean another wait on the source; send what there is.
                        return Ok(filled);
                    }
                }
                State::Tail => {
                    filled += copy_from(&self.tail, &mut self.pos, &mut buf[filled..]);
                    if self.pos == self.tail.len() {
                        self.state = State::Done;
                    }
                }
                State::Done => break,
            }
        }
        Ok(filled)
    }
}

/// Copies what is left of `src` after `*pos` into `buf` and advances `*pos`.
fn copy_from(src: &[u8], pos: &mut usize, buf: &mut [u8]) -> usize {
    let n = (src.len() - *pos).min(buf.len());
    buf[..n].copy_from_slice(&src[*pos..*pos + n]);
    *pos += n;
    n
}

/// Escapes a `name` or `filename` parameter value as browsers do (WHATWG HTML, RFC 7578): `"`, CR and
/// LF are percent-escaped and nothing else changes; non-ASCII goes as raw UTF-8.
pub(crate) fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['"', '\r', '\n']) {
        return value.into();
    }
    let mut out = String::with_capacity(value.len() + 6);
    for c in value.chars() {
        match c {
            '"' => out.push_str("%22"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out.into()
}

/// A boundary carrying 128 random bits.
fn new_boundary() -> String {
    format!("----kie-upload-{:016x}{:016x}", random_u64(), random_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'f>(text: &'f [(&'f str, &'f str)], file_name: &'f str) -> Fields<'f> {
        Fields {
            text,
            file_field: "file",
            file_name,
            content_type: None,
        }
    }

    fn produce(body: &mut Body<'_>, chunk: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = body.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// Parses `bytes` with the independent `multipart` crate: (name, filename, data) per part.
    fn parse(bytes: &[u8], boundary: &str) -> Vec<(String, Option<String>, Vec<u8>)> {
        let mut form = ::multipart::server::Multipart::with_body(bytes, boundary);
        let mut parts = Vec::new();
        while let Some(mut entry) = form.read_entry().unwrap() {
            let mut data = Vec::new();
            entry.data.read_to_end(&mut data).unwrap();
            parts.push((
                entry.headers.name.to_string(),
                entry.headers.filename.clone(),
                data,
            ));
        }
        parts
    }

    #[test]
    fn escapes_like_the_web_platform_tests() {
        assert_eq!(escape("b\r\nc"), "b%0D%0Ac");
        assert_eq!(escape("b\n\rc"), "b%0A%0Dc");
        assert_eq!(escape("a\"b"), "a%22b");
        assert_eq!(escape("a'b\\c;d"), "a'b\\c;d");
        assert_eq!(escape("ə.txt").as_bytes(), b"\xC9\x99\x2E\x74\x78\x74");
        assert_eq!(escape("%22"), "%22");
        assert_eq!(escape("plain.png"), "plain.png");
    }

    #[test]
    fn boundaries_differ_and_carry_128_bits() {
        let a = new_boundary();
        let b = new_boundary();
        assert_ne!(a, b);
        assert_eq!(a.len(), "----kie-upload-".len() + 32);
        assert!(a.bytes().all(|c| c.is_ascii_graphic()));
    }

    #[test]
    fn declared_length_equals_bytes_produced() {
        let names = [
            "a.png",
            "",
            "quote\"d.txt",
            "line\r\nbreak",
            "semi;colon.bin",
            "ünïcødé ə.txt",
            "noext",
        ];
        let sizes = [0usize, 1, 31, 32, 33, 4095, 65536, 200_001];
        for name in names {
            for &size in &sizes {
                for chunk in [1usize, 7, 8192, 1 << 20] {
                    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
                    let text = [("uploadPath", "dir/sub"), ("fileName", name)];
                    let mut src: &[u8] = &data;
                    let mut body = Body::new(
                        &fields(&text, name),
                        Payload::new(&mut src, Some(size as u64), None),
                    )
                    .unwrap();
                    let declared = body.len().unwrap();
                    let out = produce(&mut body, chunk).unwrap();
                    assert_eq!(out.len() as u64, declared, "name {name:?} size {size}");
                    assert!(body.is_done());
                    assert_eq!(body.payload().sent(), size as u64);
                }
            }
        }
    }

    #[test]
    fn independent_parser_reads_the_fields_sent() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 256) as u8).collect();
        for name in ["quote\"d.txt", "semi;colon.bin", "ünï ə.txt", "--dash"] {
            let text = [("uploadPath", "images/u"), ("fileName", name)];
            let mut src: &[u8] = &data;
            let mut body =
                Body::new(&fields(&text, name), Payload::new(&mut src, None, None)).unwrap();
            assert_eq!(body.len(), None);
            let out = produce(&mut body, 8192).unwrap();
            let parts = parse(&out, body.boundary());
            assert_eq!(parts.len(), 3, "{name:?}");
            assert_eq!(parts[0].0, "uploadPath");
            assert_eq!(parts[0].2, b"images/u");
            assert_eq!(parts[1].0, "fileName");
            assert_eq!(parts[1].2, name.as_bytes());
            assert_eq!(parts[2].0, "file");
            assert_eq!(parts[2].2, data);
            // The parser does not undo %22 and stops a parameter at `;`, so compare the raw head.
            let head = String::from_utf8_lossy(&out[..out.len().min(600)]).into_owned();
            assert!(
                head.contains(&format!("filename=\"{}\"", escape(name))),
                "{head}"
            );
        }
    }

    /// A small deterministic generator, so a failure can be replayed from its seed.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn no_name_makes_an_independent_parser_split_differently() {
        const PIECES: &[&str] = &[
            "\"",
            "\r",
            "\n",
            "\r\n",
            ";",
            "=",
            "\\",
            "'",
            "--",
            "-",
            " ",
            "a",
            "Z",
            "ə",
            "名",
            "%22",
            "%0D",
            "\t",
            "name=\"x\"",
            "\r\n--",
            "\r\n\r\n",
            "Content-Type: text/html",
            "filename*=UTF-8''x",
            "----kie-upload-",
            ".txt",
        ];
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut seed = 0x1234_5678_9abc_def1u64;
        for round in 0..1500 {
            let mut name = String::new();
            for _ in 0..xorshift(&mut seed) % 8 + 1 {
                name.push_str(PIECES[(xorshift(&mut seed) % PIECES.len() as u64) as usize]);
            }
            let text = [("uploadPath", "p"), ("fileName", name.as_str())];
            let mut src: &[u8] = &data;
            let mut body = Body::new(
                &fields(&text, &name),
                Payload::new(&mut src, Some(data.len() as u64), None),
            )
            .unwrap();
            let out = produce(&mut body, 4096).unwrap();
            let parts = parse(&out, body.boundary());
            let names: Vec<_> = parts.iter().map(|p| p.0.as_str()).collect();
            assert_eq!(
                names,
                ["uploadPath", "fileName", "file"],
                "round {round}: {name:?}"
            );
            assert_eq!(parts[1].2, name.as_bytes(), "round {round}");
            assert_eq!(parts[2].2, data, "round {round}: {name:?}");
            assert!(
                parts[2].1.is_some(),
                "round {round}: the file part lost its filename"
            );
        }
    }

    #[test]
    fn line_breaks_in_names_cannot_split_a_part() {
        // The client refuses control characters; the encoder still escapes them, so a name holding a
        // forged part head stays inside its own parameter.
        let evil = "x\"\r\n\r\n--injected\r\nContent-Disposition: form-data; name=\"uploadPath\"";
        let text = [("uploadPath", "safe")];
        let data = b"payload";
        let mut src: &[u8] = data;
        let mut body =
            Body::new(&fields(&text, evil), Payload::new(&mut src, Some(7), None)).unwrap();
        let out = produce(&mut body, 4096).unwrap();
        let parts = parse(&out, body.boundary());
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].2, b"safe");
        assert_eq!(parts[1].0, "file");
        assert_eq!(parts[1].2, data);
        assert!(!String::from_utf8_lossy(&out).contains("\r\n--injected"));
    }

    #[test]
    fn content_type_from_name_then_bytes() {
        let png = b"\x89PNG\r\n\x1a\n rest of the image";
        let find_type = |name: &str, explicit: Option<&str>| {
            let mut src: &[u8] = png;
            let f = Fields {
                text: &[],
                file_field: "file",
                file_name: name,
                content_type: explicit,
            };
            let mut body = Body::new(&f, Payload::new(&mut src, None, None)).unwrap();
            let out = produce(&mut body, 3).unwrap();
            // The sniffed bytes are not lost.
            assert!(out.windows(png.len()).any(|w| w == png));
            let text = String::from_utf8_lossy(&out).into_owned();
            let start = text.find("Content-Type: ").unwrap() + 14;
            text[start..start + text[start..].find('\r').unwrap()].to_string()
        };
        assert_eq!(find_type("pic.jpg", None), "image/jpeg");
        assert_eq!(find_type("pic", None), "image/png");
        assert_eq!(find_type("pic.unknown", None), "image/png");
        assert_eq!(find_type("pic", Some("video/mp4")), "video/mp4");
        let mut src: &[u8] = b"just text";
        let mut body = Body::new(&fields(&[], "blob"), Payload::new(&mut src, None, None)).unwrap();
        let out = produce(&mut body, 64).unwrap();
        assert!(String::from_utf8_lossy(&out).contains("Content-Type: application/octet-stream"));
    }
}
