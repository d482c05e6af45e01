//! HTTP/1.1 on the wire: bounded request heads (parsed by `httparse`), Content-Length and chunked
//! bodies, replies, and what becomes of the connection after a request.
//!
//! The server is written here rather than taken from a crate because fault injection needs the
//! socket itself: closing it mid-body, not reading, never answering, or dripping a reply byte by
//! byte, request by request on a kept-alive connection.

use std::fmt::Write as _;
use std::io::{self, BufRead, Read, Write};
use std::time::Duration;

/// The longest request line or header line, as many front ends allow.
pub(crate) const MAX_LINE: usize = 8 * 1024;

/// The largest request head, all lines together.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// The most header fields in a head.
const MAX_HEADERS: usize = 128;

/// The longest chunk size line (size and extensions) or trailer line.
const MAX_CHUNK_LINE: usize = 4 * 1024;

/// A request line and its headers.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub keep_alive: bool,
}

/// Why a request head could not be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// A line over [`MAX_LINE`], a head over [`MAX_HEAD`], or too many fields: 431.
    TooLarge,
    /// Not HTTP: 400.
    Malformed(String),
    /// The connection failed or closed mid-head: nothing to answer.
    Io,
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

    /// Whether a `Transfer-Encoding` header names `chunked`.
    pub fn is_chunked(&self) -> bool {
        self.header("Transfer-Encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    /// The `Content-Length` header, when it is a number.
    pub fn content_length(&self) -> Option<u64> {
        self.header("Content-Length")
            .and_then(|v| v.trim().parse().ok())
    }

    /// Whether the client sent `Expect: 100-continue`.
    pub fn expects_continue(&self) -> bool {
        self.header("Expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
    }

    /// How the body is delimited (RFC 9112 section 6.3); an `Err` is answered 400.
    pub fn framing(&self) -> Result<Framing, &'static str> {
        if let Some(te) = self.header("Transfer-Encoding") {
            let last = te.rsplit(',').next().unwrap_or_default().trim();
            return if last.eq_ignore_ascii_case("chunked") {
                Ok(Framing::Chunked)
            } else {
                Err("Transfer-Encoding without chunked last")
            };
        }
        let mut lengths = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().parse::<u64>());
        let Some(first) = lengths.next() else {
            return Ok(Framing::Length(0));
        };
        let first = first.map_err(|_| "invalid Content-Length")?;
        if lengths.any(|other| other != Ok(first)) {
            return Err("conflicting Content-Length headers");
        }
        Ok(Framing::Length(first))
    }
}

/// Reads a request head, never holding more than [`MAX_HEAD`] bytes of it; `Ok(None)` when the
/// client closed the connection between requests.
pub(crate) fn read_head(reader: &mut impl BufRead) -> Result<Option<Head>, HeadError> {
    let mut raw = Vec::new();
    let mut line_len = 0; // bytes of the current line so far, without its LF
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(HeadError::Io),
        };
        if buf.is_empty() {
            return match raw.is_empty() {
                true => Ok(None),
                false => Err(HeadError::Io),
            };
        }
        let mut used = 0;
        let mut complete = false;
        for &b in buf {
            used += 1;
            // Blank lines before the request line are tolerated (RFC 9112 section 2.2).
            if raw.is_empty() && (b == b'\r' || b == b'\n') {
                continue;
            }
            raw.push(b);
            if b == b'\n' {
                let blank = line_len == 0 || (line_len == 1 && raw[raw.len() - 2] == b'\r');
                if blank {
                    complete = true;
                    break;
                }
                line_len = 0;
            } else {
                line_len += 1;
            }
            if line_len > MAX_LINE || raw.len() > MAX_HEAD {
                reader.consume(used);
                return Err(HeadError::TooLarge);
            }
        }
        reader.consume(used);
        if complete {
            break;
        }
    }
    parse_head(&raw).map(Some)
}

fn parse_head(raw: &[u8]) -> Result<Head, HeadError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut fields);
    match request.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(HeadError::Malformed("incomplete head".into()))
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(e) => return Err(HeadError::Malformed(e.to_string())),
    }
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_owned();
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), text(h.value)))
        .collect();
    let has_token = |token: &str| {
        headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Connection"))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    let keep_alive = match request.version {
        Some(1) => !has_token("close"),
        _ => has_token("keep-alive"),
    };
    Ok(Head {
        method: request.method.unwrap_or_default().to_owned(),
        target: request.path.unwrap_or_default().to_owned(),
        keep_alive,
        headers,
    })
}

/// How a request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Length(u64),
    Chunked,
}

/// A request body read from the connection: by length or chunked.
///
/// It ends with an error when the connection closes before the body does, so a truncated upload
/// is never mistaken for a whole one. Once it has failed it keeps failing.
pub(crate) struct Body<'r, R> {
    reader: &'r mut R,
    chunked: bool,
    /// Bytes left: of the whole body (by length) or of the current chunk.
    left: u64,
    done: bool,
    read: u64,
    failure: Option<Failure>,
}

/// How a body failed: its framing was broken (answered 400), or it was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A bad chunk size line, a missing CRLF after a chunk, or a huge trailer.
    Framing(&'static str),
    /// The connection closed before the body ended.
    CutShort,
    /// Any other I/O error (a timeout, a reset).
    Io,
}

impl<'r, R: BufRead> Body<'r, R> {
    pub fn new(reader: &'r mut R, framing: Framing) -> Self {
        let (chunked, left) = match framing {
            Framing::Length(n) => (false, n),
            Framing::Chunked => (true, 0),
        };
        Body {
            reader,
            chunked,
            left,
            done: false,
            read: 0,
            failure: None,
        }
    }

    /// Bytes of the body handed out so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// Why the body failed, if it did.
    #[cfg(test)]
    pub fn failure(&self) -> Option<Failure> {
        self.failure
    }

    /// Reads and discards the rest of the body.
    pub fn drain(&mut self) -> Result<(), Failure> {
        match io::copy(self, &mut io::sink()) {
            Ok(_) => Ok(()),
            Err(_) => Err(self.failure.unwrap_or(Failure::Io)),
        }
    }

    fn read_by_length(&mut self, buf: &mut [u8]) -> Result<usize, Failure> {
        if self.left == 0 {
            self.done = true;
            return Ok(0);
        }
        let n = read_some(self.reader, buf, self.left)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn read_chunked(&mut self, buf: &mut [u8]) -> Result<usize, Failure> {
        if self.left == 0 {
            let size = self.read_chunk_size()?;
            if size == 0 {
                self.read_trailers()?;
                self.done = true;
                return Ok(0);
            }
            self.left = size;
        }
        let n = read_some(self.reader, buf, self.left)?;
        self.left -= n as u64;
        if self.left == 0 {
            let mut crlf = [0u8; 2];
            self.reader
                .read_exact(&mut crlf)
                .map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => Failure::CutShort,
                    _ => Failure::Io,
                })?;
            if &crlf != b"\r\n" {
                return Err(Failure::Framing("chunk without CRLF"));
            }
        }
        Ok(n)
    }

    fn read_chunk_size(&mut self) -> Result<u64, Failure> {
        let line = read_line(self.reader, MAX_CHUNK_LINE)?;
        let size = line.split(|&b| b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size)
            .map_err(|_| Failure::Framing("bad chunk size"))?
            .trim_matches([' ', '\t']);
        if size.is_empty() || size.len() > 16 {
            return Err(Failure::Framing("bad chunk size"));
        }
        u64::from_str_radix(size, 16).map_err(|_| Failure::Framing("bad chunk size"))
    }

    fn read_trailers(&mut self) -> Result<(), Failure> {
        let mut total = 0;
        loop {
            let line = read_line(self.reader, MAX_CHUNK_LINE)?;
            total += line.len();
            if total > MAX_HEAD {
                return Err(Failure::Framing("trailers too large"));
            }
            if line.is_empty() {
                return Ok(());
            }
        }
    }
}

impl<R: BufRead> Read for Body<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(failure) = self.failure {
            return Err(failure_error(failure));
        }
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let result = match self.chunked {
            true => self.read_chunked(buf),
            false => self.read_by_length(buf),
        };
        match result {
            Ok(n) => {
                self.read += n as u64;
                Ok(n)
            }
            Err(failure) => {
                self.failure = Some(failure);
                Err(failure_error(failure))
            }
        }
    }
}

fn failure_error(failure: Failure) -> io::Error {
    match failure {
        Failure::Framing(why) => io::Error::new(io::ErrorKind::InvalidData, why),
        Failure::CutShort => io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the request body was cut short",
        ),
        Failure::Io => io::Error::other("the connection failed"),
    }
}

/// One line without its CRLF (or bare LF), at most `limit` bytes; longer lines are a framing error.
fn read_line(reader: &mut impl BufRead, limit: usize) -> Result<Vec<u8>, Failure> {
    let mut line = Vec::new();
    loop {
        let buf = match reader.fill_buf() {
            Ok([]) => return Err(Failure::CutShort),
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(Failure::Io),
        };
        let (used, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..used]);
        reader.consume(used);
        if line.len() > limit + 2 {
            return Err(Failure::Framing("line too long in a chunked body"));
        }
        if found {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(line);
        }
    }
}

/// Reads into `buf` from `reader`, at most `left` (> 0) bytes; never 0.
fn read_some(reader: &mut impl Read, buf: &mut [u8], left: u64) -> Result<usize, Failure> {
    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
    loop {
        match reader.read(&mut buf[..want]) {
            Ok(0) => return Err(Failure::CutShort),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(Failure::Io),
        }
    }
}

/// A reply to write: status, headers and a body of known length.
pub(crate) struct Reply {
    pub status: u16,
    /// The `code` of the JSON envelope it carries, for the record (0 when none).
    pub code: u16,
    pub headers: Vec<(String, String)>,
    pub body: Box<dyn Read + Send>,
    pub length: u64,
}

impl Reply {
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            code: 0,
            headers: vec![("Content-Type".into(), content_type.into())],
            length: body.len() as u64,
            body: Box::new(io::Cursor::new(body)),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_code(mut self, code: u16) -> Reply {
        self.code = code;
        self
    }

    /// The head of the reply as bytes.
    pub fn head(&self, keep_alive: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        let _ = write!(head, "Content-Length: {}\r\n", self.length);
        if !keep_alive {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    pub fn write_to(mut self, out: &mut impl Write, keep_alive: bool) -> io::Result<()> {
        let mut w = io::BufWriter::with_capacity(64 * 1024, out);
        w.write_all(&self.head(keep_alive))?;
        io::copy(&mut self.body, &mut w)?;
        w.flush()
    }

    /// The whole reply as bytes, for a drip.
    pub fn into_bytes(mut self, keep_alive: bool) -> io::Result<Vec<u8>> {
        let mut bytes = self.head(keep_alive);
        self.body.read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// What becomes of the connection once a request has been handled.
pub(crate) enum Action {
    /// Read the rest of the body, then answer (keeping the connection if the client asked).
    Answer(Reply),
    /// Read the rest of the body, write these bytes as the whole response, then close.
    AnswerRaw(Vec<u8>),
    /// Read the rest of the body, then write the reply a byte at a time with this pause, then
    /// close.
    Drip(Reply, Duration),
    /// Write the reply now, without reading the rest of the body, and close the socket at once
    /// (a fault's early refusal: the client's next write meets a reset).
    Refuse(Reply),
    /// A front end's refusal (bad framing): write the reply, then close without a reset.
    Reject(Reply),
    /// Write the reply now, without reading the body, then keep the connection open, reading and
    /// dropping what comes, until this long passes without a byte (nginx's lingering close).
    Linger(Reply, Duration),
    /// Close the socket at once, without an answer.
    Close,
    /// Neither read nor write; hold the connection open until it times out.
    Hold,
}

impl Action {
    /// The HTTP status and envelope code it sends, for the record.
    pub fn status_and_code(&self) -> (u16, u16) {
        match self {
            Action::Answer(r)
            | Action::Drip(r, _)
            | Action::Refuse(r)
            | Action::Reject(r)
            | Action::Linger(r, _) => (r.status, r.code),
            Action::AnswerRaw(bytes) => (raw_status(bytes), 0),
            Action::Close | Action::Hold => (0, 0),
        }
    }
}

/// The status in a raw response's status line, or 0.
fn raw_status(bytes: &[u8]) -> u16 {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(line)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The reason phrase for a status, as nginx and friends write it.
pub(crate) fn reason(status: u16) -> &'static str {
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
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Request Entity Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
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

    fn body_of(text: &str) -> (Result<Vec<u8>, Option<Failure>>, u64, Vec<u8>) {
        let mut reader = text.as_bytes();
        let head = read_head(&mut reader).unwrap().unwrap();
        let mut body = Body::new(&mut reader, head.framing().unwrap());
        let mut out = Vec::new();
        let result = body.read_to_end(&mut out).map_err(|_| body.failure());
        let read = body.bytes_read();
        (result.map(|_| out), read, reader.to_vec())
    }

    #[test]
    fn parses_a_head() {
        let h = head_of("\r\nPOST /a/b?x=1 HTTP/1.1\r\nContent-Length: 5\r\nX-Y:  z \r\n\r\nhello");
        assert_eq!(h.method, "POST");
        assert_eq!(h.path(), "/a/b");
        assert_eq!(h.content_length(), Some(5));
        assert_eq!(h.header("x-y"), Some("z"));
        assert_eq!(h.framing(), Ok(Framing::Length(5)));
        assert!(h.keep_alive);
        assert!(!head_of("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(!head_of("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(head_of("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(head_of("POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n").expects_continue());
    }

    #[test]
    fn a_closed_connection_is_no_head() {
        assert!(read_head(&mut &b""[..]).unwrap().is_none());
        assert!(matches!(
            read_head(&mut &b"GET / HTTP/1.1\r\nHost:"[..]),
            Err(HeadError::Io)
        ));
    }

    #[test]
    fn long_lines_and_heads_are_too_large() {
        let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_LINE));
        let long_header = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_LINE));
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X-Y: 0123456789\r\n".repeat(5000)
        );
        for text in [long_line, long_header, many] {
            assert!(matches!(
                read_head(&mut text.as_bytes()),
                Err(HeadError::TooLarge)
            ));
        }
        let fits = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_LINE - 10));
        assert!(read_head(&mut fits.as_bytes()).unwrap().is_some());
    }

    #[test]
    fn garbage_is_malformed() {
        for text in [
            "GET\r\n\r\n",
            "GET / HTTP/1.1\r\nno colon\r\n\r\n",
            "\x01\x02 / HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(
                    read_head(&mut text.as_bytes()),
                    Err(HeadError::Malformed(_))
                ),
                "{text:?}"
            );
        }
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let framing = |text: &str| head_of(text).framing();
        assert_eq!(
            framing(
                "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n"
            ),
            Ok(Framing::Chunked)
        );
        assert!(framing("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").is_err());
        assert!(framing("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(
            framing("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").is_err()
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n"),
            Ok(Framing::Length(2))
        );
        assert_eq!(framing("GET / HTTP/1.1\r\n\r\n"), Ok(Framing::Length(0)));
    }

    #[test]
    fn decodes_chunked_bodies() {
        let (body, read, rest) = body_of(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
             5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT",
        );
        assert_eq!(body.unwrap(), b"hello world");
        assert_eq!(read, 11);
        assert_eq!(rest, b"NEXT");
    }

    #[test]
    fn bad_chunk_sizes_are_framing_errors() {
        for size in [
            "zz",
            "",
            "-1",
            "1 2",
            &"f".repeat(17),
            &"0".repeat(MAX_CHUNK_LINE + 10),
        ] {
            let text = format!(
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nabc\r\n0\r\n\r\n"
            );
            let (body, _, _) = body_of(&text);
            assert!(
                matches!(body, Err(Some(Failure::Framing(_)))),
                "{size:?}: {body:?}"
            );
        }
        let (body, _, _) =
            body_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n");
        assert!(matches!(body, Err(Some(Failure::Framing(_)))));
    }

    #[test]
    fn a_cut_body_is_an_error() {
        for text in [
            "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        ] {
            let (body, _, _) = body_of(text);
            assert_eq!(body.unwrap_err(), Some(Failure::CutShort), "{text:?}");
        }
    }

    #[test]
    fn raw_replies_report_their_status() {
        assert_eq!(raw_status(b"HTTP/1.1 418 I'm a teapot\r\n\r\n"), 418);
        assert_eq!(raw_status(b"garbage"), 0);
    }
}
