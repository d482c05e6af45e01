//! The `multipart/form-data` request body, built by hand.
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
use std::io::{self, Cursor, Read};

use super::Fields;
use crate::mime;
use crate::payload::Payload;
use crate::random::random_u64;
use crate::Error;

/// The `filename` of a file part without a name: servers need one to treat the part as a file, and
/// this is what browsers send.
const NO_NAME: &str = "blob";

/// The multipart framing around a payload.
pub(crate) struct Frame<'p, 's> {
    /// The request's `Content-Type` header, with the boundary.
    content_type: String,
    /// The text parts and the file part's head.
    head: Cursor<Vec<u8>>,
    payload: &'p mut Payload<'s>,
    /// The payload has ended: the closing delimiter follows.
    payload_done: bool,
    tail: Cursor<Vec<u8>>,
}

impl<'p, 's> Frame<'p, 's> {
    /// Frames the payload: `uploadPath` and `fileName` as text parts before the file part, so a
    /// server can read them first. Peeks at up to [`mime::SNIFF_LEN`] bytes of the payload to tell
    /// the content type when neither the caller nor the file name does; fails only when that read
    /// fails.
    pub(crate) fn new(fields: &Fields<'_>, payload: &'p mut Payload<'s>) -> Result<Self, Error> {
        let boundary = new_boundary();
        let file_name = fields.file_name.unwrap_or(NO_NAME);
        let named = fields
            .content_type
            .or_else(|| mime::from_file_name(file_name));
        let part_type = match named {
            Some(t) => t,
            None => mime::sniff(payload.peek(mime::SNIFF_LEN)?).unwrap_or(mime::OCTET_STREAM),
        };

        // The field names are plain words: only the file name needs escaping. (Writing to a
        // String cannot fail.)
        let mut head = String::new();
        let mut text_part = |name: &str, value: &str| {
            let disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
            let _ = write!(head, "--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n");
        };
        text_part("uploadPath", fields.upload_path);
        if let Some(name) = fields.file_name {
            text_part("fileName", name);
        }
        let _ = write!(
            head,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
             Content-Type: {part_type}\r\n\r\n",
            escape(file_name),
        );
        let tail = format!("\r\n--{boundary}--\r\n").into_bytes();

        Ok(Frame {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            head: Cursor::new(head.into_bytes()),
            payload,
            payload_done: false,
            tail: Cursor::new(tail),
        })
    }

    /// The `Content-Type` header of the request, with the boundary.
    pub(crate) fn content_type(&self) -> String {
        self.content_type.clone()
    }

    /// The exact length of the body, when the source's length is known.
    pub(crate) fn len(&self) -> Option<u64> {
        self.payload
            .len()
            .map(|n| (self.head.get_ref().len() + self.tail.get_ref().len()) as u64 + n)
    }
}

impl Read for Frame<'_, '_> {
    /// Fills as much of `buf` as it can without waiting twice on the source: part heads, payload and
    /// closing delimiter share one read when they fit, so a small upload leaves in one write
    /// instead of one per segment.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = self.head.read(buf)?;
        while !self.payload_done && filled < buf.len() {
            let n = self.payload.read(&mut buf[filled..])?;
            filled += n;
            self.payload_done = n == 0;
            if n > 0 && !self.payload.is_complete() {
                // More would mean another wait on the source; send what there is.
                return Ok(filled);
            }
        }
        if self.payload_done {
            filled += self.tail.read(&mut buf[filled..])?;
        }
        Ok(filled)
    }
}

/// Escapes a `name` or `filename` parameter value as browsers do (WHATWG HTML, RFC 7578): `"`, CR and
/// LF are percent-escaped; non-ASCII goes as raw UTF-8. One addition: backslashes at the very end
/// become `%5C`, because parsers that read `\"` as an escaped quote (multer, for one) would otherwise
/// take the closing quote into the name and lose the parameter; the exact name still travels in
/// the `fileName` text part.
pub(crate) fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['"', '\r', '\n']) && !value.ends_with('\\') {
        return value.into();
    }
    let kept = value.trim_end_matches('\\');
    let mut out = String::with_capacity(value.len() + 6);
    for c in kept.chars() {
        match c {
            '"' => out.push_str("%22"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    for _ in 0..value.len() - kept.len() {
        out.push_str("%5C");
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
    use crate::testing::Seeded;

    /// Whether the whole body, closing delimiter included, has been produced.
    fn is_done(frame: &Frame<'_, '_>) -> bool {
        frame.payload_done && frame.tail.position() == frame.tail.get_ref().len() as u64
    }
    use crate::source::Opened;

    fn fields<'f>(file_name: Option<&'f str>) -> Fields<'f> {
        Fields {
            upload_path: "dir/sub",
            file_name,
            content_type: None,
        }
    }

    /// Frames `data` (declaring its length or not), produces the body through reads of `chunk`
    /// bytes, and returns it with its boundary and declared length.
    fn produce(
        fields: &Fields<'_>,
        data: &[u8],
        sized: bool,
        chunk: usize,
    ) -> (Vec<u8>, String, Option<u64>) {
        let mut src: &[u8] = data;
        let len = sized.then_some(data.len() as u64);
        let mut payload = Payload::new(
            Opened {
                reader: &mut src,
                path: None,
                len,
            },
            None,
        );
        let mut frame = Frame::new(fields, &mut payload).unwrap();
        let declared = frame.len();
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            let n = frame.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert!(is_done(&frame));
        let boundary = multer::parse_boundary(frame.content_type()).unwrap();
        assert_eq!(payload.sent(), data.len() as u64);
        (out, boundary, declared)
    }

    /// Parses `bytes` with an independent parser (multer): (name, filename, data) per part.
    fn parse(bytes: &[u8], boundary: &str) -> Vec<(String, Option<String>, Vec<u8>)> {
        let chunk: Result<bytes::Bytes, std::io::Error> = Ok(bytes::Bytes::copy_from_slice(bytes));
        let stream = futures_util::stream::iter([chunk]);
        let mut form = multer::Multipart::new(stream, boundary);
        pollster::block_on(async {
            let mut parts = Vec::new();
            while let Some(field) = form.next_field().await.unwrap() {
                let name = field.name().unwrap_or_default().to_owned();
                let filename = field.file_name().map(str::to_owned);
                let data = field.bytes().await.unwrap().to_vec();
                parts.push((name, filename, data));
            }
            parts
        })
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
        assert_eq!(escape("a\\b\\\\"), "a\\b%5C%5C");
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
            Some("a.png"),
            None,
            Some("quote\"d.txt"),
            Some("line\r\nbreak"),
            Some("semi;colon.bin"),
            Some("ünïcødé ə.txt"),
            Some("noext"),
        ];
        let sizes = [0usize, 1, 31, 32, 33, 4095, 65536, 200_001];
        for name in names {
            for &size in &sizes {
                for chunk in [1usize, 7, 8192, 1 << 20] {
                    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
                    let (out, _, declared) = produce(&fields(name), &data, true, chunk);
                    assert_eq!(
                        Some(out.len() as u64),
                        declared,
                        "name {name:?} size {size}"
                    );
                }
            }
        }
    }

    #[test]
    fn independent_parser_reads_the_fields_sent() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 256) as u8).collect();
        for name in [
            "quote\"d.txt",
            "semi;colon.bin",
            "ünï ə.txt",
            "--dash",
            "it's \\ odd",
        ] {
            let (out, boundary, declared) = produce(&fields(Some(name)), &data, false, 8192);
            assert_eq!(declared, None);
            let parts = parse(&out, &boundary);
            assert_eq!(parts.len(), 3, "{name:?}");
            assert_eq!(parts[0].0, "uploadPath");
            assert_eq!(parts[0].2, b"dir/sub");
            assert_eq!(parts[1].0, "fileName");
            assert_eq!(parts[1].2, name.as_bytes());
            assert_eq!(parts[2].0, "file");
            assert_eq!(parts[2].2, data);
            // The raw head carries the name escaped exactly as browsers escape it.
            let head = String::from_utf8_lossy(&out[..out.len().min(600)]).into_owned();
            assert!(
                head.contains(&format!("filename=\"{}\"", escape(name))),
                "{head}"
            );
        }
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
        let mut rng = Seeded(0x1234_5678_9abc_def1);
        for round in 0..1500 {
            let mut name = String::new();
            for _ in 0..rng.below(8) + 1 {
                name.push_str(PIECES[rng.below(PIECES.len())]);
            }
            let (out, boundary, _) = produce(&fields(Some(&name)), &data, true, 4096);
            let parts = parse(&out, &boundary);
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
                "round {round}: the file part lost its filename: {name:?}"
            );
        }
    }

    #[test]
    fn line_breaks_in_names_cannot_split_a_part() {
        // The client refuses control characters; the encoder still escapes them, so a name holding a
        // forged part head stays inside its own parameter.
        let evil = "x\"\r\n\r\n--injected\r\nContent-Disposition: form-data; name=\"uploadPath\"";
        let data = b"payload";
        let mut f = fields(Some(evil));
        f.upload_path = "safe";
        let (out, boundary, _) = produce(&f, data, true, 4096);
        let parts = parse(&out, &boundary);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].2, b"safe");
        assert_eq!(parts[2].0, "file");
        assert_eq!(parts[2].2, data);
        // In the file part's head the name is one escaped parameter, with no line break.
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains(&format!("filename=\"{}\"\r\n", escape(evil))),
            "{text}"
        );
        assert!(!escape(evil).contains(['\r', '\n']));
    }

    #[test]
    fn a_part_without_a_name_is_still_a_file() {
        let (out, boundary, _) = produce(&fields(None), b"x", true, 64);
        let parts = parse(&out, &boundary);
        let names: Vec<_> = parts.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["uploadPath", "file"]);
        assert_eq!(parts[1].1.as_deref(), Some(NO_NAME));
    }

    #[test]
    fn content_type_from_name_then_bytes() {
        let png = b"\x89PNG\r\n\x1a\n rest of the image";
        let find_type = |name: &str, explicit: Option<&str>| {
            let f = Fields {
                upload_path: "p",
                file_name: Some(name),
                content_type: explicit,
            };
            let (out, _, _) = produce(&f, png, false, 3);
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
        let (out, _, _) = produce(&fields(Some("blob")), b"just text", false, 64);
        assert!(String::from_utf8_lossy(&out).contains("Content-Type: application/octet-stream"));
    }
}
