//! The base64 endpoint's JSON body, with the file encoded on the fly by a [`Read`] adapter: the file
//! is never held in memory twice, once as bytes and once as a `String`.
//!
//! A hand-written encoder instead of the `base64` crate: it is forty lines, and the streaming adapter
//! would have to be written around that crate anyway.

use std::io::{self, Cursor, Read};

use serde_json::Value;

use super::Fields;
use crate::mime;
use crate::payload::Payload;
use crate::source::read_retrying;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Input bytes encoded per refill; a multiple of 3, so only the last group needs padding.
const BLOCK: usize = 48 * 1024;

/// The length of the base64 text (with padding) for `n` bytes.
pub(crate) fn encoded_len(n: u64) -> u64 {
    n.div_ceil(3) * 4
}

/// Encodes `input` (whose length is a multiple of 3, or the final group) into `out`.
fn encode_into(input: &[u8], out: &mut Vec<u8>) {
    for group in input.chunks(3) {
        let bits = (0..3).fold(0u32, |n, i| n << 8 | u32::from(*group.get(i).unwrap_or(&0)));
        // Each 6 bits a character; those past the group's end are padding.
        out.extend((0..4).map(|i| {
            if i <= group.len() {
                ALPHABET[(bits >> (18 - 6 * i)) as usize & 63]
            } else {
                b'='
            }
        }));
    }
}

/// A [`Read`] that yields the base64 encoding of what `inner` yields, through fixed-size buffers.
pub(crate) struct Encoder<R> {
    inner: R,
    input: Vec<u8>,
    /// Input bytes held over (fewer than 3) until more arrive.
    carry: usize,
    /// Encoded text not yet handed out.
    out: Cursor<Vec<u8>>,
    done: bool,
}

impl<R: Read> Encoder<R> {
    pub(crate) fn new(inner: R) -> Self {
        Encoder {
            inner,
            input: vec![0; BLOCK],
            carry: 0,
            out: Cursor::new(Vec::with_capacity(BLOCK / 3 * 4)),
            done: false,
        }
    }
}

impl<R: Read> Read for Encoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.out.read(buf)?;
            if n > 0 || self.done || buf.is_empty() {
                return Ok(n);
            }
            self.out.get_mut().clear();
            self.out.set_position(0);
            let n = read_retrying(&mut self.inner, &mut self.input[self.carry..])?;
            if n == 0 {
                // The end: the held-over bytes become the padded final group.
                encode_into(&self.input[..self.carry], self.out.get_mut());
                self.carry = 0;
                self.done = true;
                continue;
            }
            let total = self.carry + n;
            let whole = total / 3 * 3;
            encode_into(&self.input[..whole], self.out.get_mut());
            self.input.copy_within(whole..total, 0);
            self.carry = total - whole;
        }
    }
}

/// The base64 endpoint's JSON body around a payload:
/// `{"fileName":..,"uploadPath":..,"base64Data":"<data URL prefix><base64>"}` (see `json_head`).
/// The JSON head, the base64 text, the JSON tail.
pub(crate) type JsonAround<R> = io::Chain<io::Chain<io::Cursor<Vec<u8>>, R>, &'static [u8]>;

/// The end of the JSON body, after the base64 text.
const TAIL: &[u8] = b"\"}";

/// The body around the payload, and its exact length when the payload's is known. When the
/// content type is known (given, or told by the file name's extension) the data goes as a
/// `data:<type>;base64,` URL, so the service need not guess it.
pub(crate) fn body<'p, 's>(
    fields: &Fields<'_>,
    payload: &'p mut Payload<'s>,
) -> (Option<u64>, JsonAround<Encoder<&'p mut Payload<'s>>>) {
    let mime = fields
        .content_type
        .or_else(|| fields.file_name.and_then(mime::from_file_name));
    let head = json_head(fields.upload_path, fields.file_name, mime);
    let len = (payload.len()).map(|n| head.len() as u64 + encoded_len(n) + TAIL.len() as u64);
    let body = io::Cursor::new(head)
        .chain(Encoder::new(payload))
        .chain(TAIL);
    (len, body)
}

/// The JSON before the base64 text: `{"fileName":..,"uploadPath":..,"base64Data":"` with the data
/// URL prefix. serde_json writes the small fields, in its map's sorted order; the base64 alphabet
/// needs no escaping after it.
fn json_head(upload_path: &str, file_name: Option<&str>, mime: Option<&str>) -> Vec<u8> {
    let mut fields = serde_json::json!({ "uploadPath": upload_path });
    if let Some(name) = file_name {
        fields["fileName"] = name.into();
    }
    let mut head = fields.to_string();
    head.pop(); // the closing brace
    head.push_str(",\"base64Data\":");
    let data_url = mime
        .map(|m| format!("data:{m};base64,"))
        .unwrap_or_default();
    let mut opening = Value::String(data_url).to_string();
    opening.pop(); // keep the string open for the base64 text
    head.push_str(&opening);
    head.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(data: &[u8], chunk: usize) -> String {
        /// Yields at most `chunk` bytes a read, as a pipe might.
        struct Trickle<'d>(&'d [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(self.1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut text = String::new();
        Encoder::new(Trickle(data, chunk))
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text.len() as u64, encoded_len(data.len() as u64));
        text
    }

    /// A plain decoder, only to check round trips.
    fn decode(text: &str) -> Vec<u8> {
        let value = |c: u8| ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        let mut out = Vec::new();
        for group in text.as_bytes().chunks(4) {
            let pad = group.iter().filter(|&&c| c == b'=').count();
            let n = group
                .iter()
                .map(|&c| if c == b'=' { 0 } else { value(c) })
                .fold(0, |n, v| n << 6 | v);
            out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
        }
        out
    }

    #[test]
    fn rfc4648_test_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            for chunk in [1, 2, 5, 1 << 16] {
                assert_eq!(encode(plain.as_bytes(), chunk), encoded, "{plain:?}");
            }
        }
    }

    #[test]
    fn round_trips_every_length_mod_3() {
        let data = crate::testing::Seeded(0x2545_f491_4f6c_dd1d).bytes(200_003);
        for len in [
            0,
            1,
            2,
            3,
            4,
            5,
            100,
            101,
            102,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            200_003,
        ] {
            for chunk in [1, 7, 4096, 1 << 20] {
                if chunk == 1 && len > 5000 {
                    continue;
                }
                let text = encode(&data[..len], chunk);
                assert_eq!(decode(&text), &data[..len], "len {len} chunk {chunk}");
            }
        }
    }

    #[test]
    fn the_frame_is_json_around_the_data() {
        let mut head = json_head("a/\"b", Some("x.png"), Some("image/png"));
        // The order the doc comments give.
        assert!(head.starts_with(br#"{"fileName":"x.png","uploadPath":"a/\"b","base64Data":""#));
        head.extend_from_slice(b"QUJD");
        head.extend_from_slice(TAIL);
        let v: Value = serde_json::from_slice(&head).unwrap();
        assert_eq!(v["uploadPath"], "a/\"b");
        assert_eq!(v["fileName"], "x.png");
        assert_eq!(v["base64Data"], "data:image/png;base64,QUJD");
    }

    #[test]
    fn the_frame_declares_its_length() {
        use crate::source::Opened;
        for len in [1usize, 2, 3, 100, 49_153] {
            let data = crate::testing::Seeded(7).bytes(len);
            let mut src: &[u8] = &data;
            let mut payload = Payload::new(
                Opened {
                    reader: &mut src,
                    path: None,
                    len: Some(len as u64),
                },
                None,
            );
            let fields = Fields {
                upload_path: "p",
                file_name: Some("n.png"),
                content_type: None,
            };
            let (declared, mut body) = body(&fields, &mut payload);
            let mut out = Vec::new();
            body.read_to_end(&mut out).unwrap();
            assert_eq!(Some(out.len() as u64), declared);
            let v: Value = serde_json::from_slice(&out).unwrap();
            let text = v["base64Data"].as_str().unwrap();
            let b64 = text.strip_prefix("data:image/png;base64,").unwrap();
            assert_eq!(decode(b64), data);
        }
    }

    #[test]
    fn every_byte_value() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&all, 3)), all);
    }
}
