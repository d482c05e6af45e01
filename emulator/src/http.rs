//! A small HTTP/1.1 server: request heads, Content-Length and chunked bodies, keep-alive, replies.
//!
//! Written here rather than taken from a crate because the fault injection needs the socket itself:
//! closing it mid-body, not reading, never answering, or dripping a reply byte by byte, request by
//! request on a kept-alive connection.

use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;

/// The largest request head read.
const MAX_HEAD: usize = 64 * 1024;

/// A request line and its headers.
pub(crate) struct Head {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub keep_alive: bool,
}

impl Head {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path, without the query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn is_chunked(&self) -> bool {
        self.header("Transfer-Encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header("Content-Length")
            .and_then(|v| v.trim().parse().ok())
    }
}

/// Reads a request head; `Ok(None)` when the client closed the connection between requests.
pub(crate) fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut line = String::new();
    let mut total = 0;
    // Tolerate blank lines between requests (RFC 9112 section 2.2).
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            return Ok(None);
        }
        total += n;
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let (method, target, version) = (method.to_owned(), target.to_owned(), version.to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        total += n;
        if n == 0 || total > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "truncated or huge head",
            ));
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let Some((name, value)) = text.split_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad header line",
            ));
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut head = Head {
        method,
        target,
        headers,
        keep_alive: true,
    };
    let connection = head.header("Connection").map(str::to_ascii_lowercase);
    head.keep_alive = match version.as_str() {
        "HTTP/1.1" => connection.as_deref() != Some("close"),
        _ => connection.as_deref() == Some("keep-alive"),
    };
    Ok(Some(head))
}

/// A request body: by length, chunked, or none. Ends with an error when the connection closes
/// before the body does, so a truncated upload is never mistaken for a whole one.
pub(crate) enum Body<'r, R> {
    Length {
        reader: &'r mut R,
        left: u64,
    },
    Chunked {
        reader: &'r mut R,
        left: u64,
        done: bool,
    },
}

impl<'r, R: BufRead> Body<'r, R> {
    pub fn new(reader: &'r mut R, head: &Head) -> Self {
        if head.is_chunked() {
            Body::Chunked {
                reader,
                left: 0,
                done: false,
            }
        } else {
            Body::Length {
                reader,
                left: head.content_length().unwrap_or(0),
            }
        }
    }
}

fn truncated() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the request body was cut short",
    )
}

impl<R: BufRead> Read for Body<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Body::Length { reader, left } => {
                if *left == 0 || buf.is_empty() {
                    return Ok(0);
                }
                let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                let n = reader.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(truncated());
                }
                *left -= n as u64;
                Ok(n)
            }
            Body::Chunked { reader, left, done } => {
                if *done || buf.is_empty() {
                    return Ok(0);
                }
                if *left == 0 {
                    let mut line = String::new();
                    if reader.read_line(&mut line)? == 0 {
                        return Err(truncated());
                    }
                    let size = line.trim().split(';').next().unwrap_or_default();
                    let size = u64::from_str_radix(size.trim(), 16).map_err(|_| {
                        io::Error::new(io::ErrorKind::InvalidData, "bad chunk size")
                    })?;
                    if size == 0 {
                        // Trailers, up to the empty line.
                        loop {
                            line.clear();
                            if reader.read_line(&mut line)? == 0 {
                                return Err(truncated());
                            }
                            if line.trim().is_empty() {
                                break;
                            }
                        }
                        *done = true;
                        return Ok(0);
                    }
                    *left = size;
                }
                let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                let n = reader.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(truncated());
                }
                *left -= n as u64;
                if *left == 0 {
                    let mut crlf = [0u8; 2];
                    reader.read_exact(&mut crlf).map_err(|_| truncated())?;
                    if &crlf != b"\r\n" {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "chunk without CRLF",
                        ));
                    }
                }
                Ok(n)
            }
        }
    }
}

/// A reply to write: status, headers and a body of known length.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Box<dyn Read + Send>,
    pub length: u64,
}

impl Reply {
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            length: body.len() as u64,
            body: Box::new(io::Cursor::new(body)),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The head of the reply as bytes.
    pub fn head(&self, keep_alive: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n", self.length));
        if !keep_alive {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    pub fn write_to(mut self, out: &mut TcpStream, keep_alive: bool) -> io::Result<()> {
        let mut w = io::BufWriter::with_capacity(64 * 1024, out);
        w.write_all(&self.head(keep_alive))?;
        io::copy(&mut self.body, &mut w)?;
        w.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(text: &str) -> Head {
        read_head(&mut text.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn parses_a_head() {
        let h = head_of("POST /a/b?x=1 HTTP/1.1\r\nContent-Length: 5\r\nX-Y:  z \r\n\r\nhello");
        assert_eq!(h.method, "POST");
        assert_eq!(h.path(), "/a/b");
        assert_eq!(h.content_length(), Some(5));
        assert_eq!(h.header("x-y"), Some("z"));
        assert!(h.keep_alive);
        assert!(!head_of("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!head_of("GET / HTTP/1.0\r\n\r\n").keep_alive);
    }

    #[test]
    fn decodes_chunked_bodies() {
        let text = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
                    5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let mut reader = text.as_bytes();
        let head = read_head(&mut reader).unwrap().unwrap();
        let mut body = String::new();
        Body::new(&mut reader, &head)
            .read_to_string(&mut body)
            .unwrap();
        assert_eq!(body, "hello world");
        assert_eq!(reader, b"NEXT");
    }

    #[test]
    fn a_cut_body_is_an_error() {
        for text in [
            "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        ] {
            let mut reader = text.as_bytes();
            let head = read_head(&mut reader).unwrap().unwrap();
            let mut sink = Vec::new();
            assert!(
                Body::new(&mut reader, &head)
                    .read_to_end(&mut sink)
                    .is_err(),
                "{text:?}"
            );
        }
    }
}
