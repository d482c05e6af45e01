//! Scripted faults: what a test can ask for ([`Fault`]), the script of faults waiting for their
//! requests, and what each kind of fault does: at the request's head, on the connection, as an
//! early answer, as a canned reply instead of the service's, or as a change to the service's own
//! answer.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, Read};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{reason, Action, Head, Reply};
use crate::service::{self, Endpoint, Outcome};
use crate::store::{Published, Store};
use crate::util;

/// The `msg` of [`Fault::ControlChars`].
const CONTROL_CHARS_MSG: &str = "bad \u{1b}]0;pwned\u{7} request \u{1b}[2J\u{202e}txt.exe\u{200b}";

/// A scripted fault for upload requests (see [`Emulator::inject`] and [`Emulator::inject_at`]).
///
/// Faults apply to the three upload endpoints only, never to downloads. A request that meets a
/// fault is still recorded, once, with [`RecordedRequest::fault`] set. Unless a fault says
/// otherwise, it reads the whole request body before it answers.
///
/// [`Emulator::inject`]: crate::Emulator::inject
/// [`Emulator::inject_at`]: crate::Emulator::inject_at
/// [`RecordedRequest::fault`]: crate::RecordedRequest::fault
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this HTTP status and the service's JSON error envelope (`code` = `status`), with
    /// a `Retry-After` header when given. `Status { status: 503, retry_after: Some("0".into()) }`
    /// is a failure to retry at once.
    Status {
        /// The HTTP status and the envelope's `code`.
        status: u16,
        /// The `Retry-After` header's value (seconds, or an HTTP date).
        retry_after: Option<String>,
    },
    /// Answer HTTP 200 with this `code` and `"success": false` in the body.
    BodyCode {
        /// The envelope's `code`.
        code: u16,
        /// The `Retry-After` header's value (seconds, or an HTTP date).
        retry_after: Option<String>,
    },
    /// Read this many bytes of the body, then close the connection without an answer.
    CloseAfter {
        /// Bytes of the body read before the close.
        bytes: u64,
    },
    /// Read this many bytes of the body, then stop reading and hold the connection open (60 s at
    /// most, or until the emulator stops).
    StopReading {
        /// Bytes of the body read before the server stops reading.
        bytes: u64,
    },
    /// Never answer (the connection is held as with [`Fault::StopReading`]).
    NeverAnswer,
    /// Answer with a proxy's HTML error page and this status.
    Html {
        /// The HTTP status.
        status: u16,
    },
    /// Answer HTTP 200 with a body that is not JSON.
    MalformedJson,
    /// Announce a JSON reply and close the connection halfway through it.
    TruncatedJson,
    /// Answer HTTP 200 with a JSON reply of this many bytes.
    HugeReply {
        /// The size of the reply's body.
        bytes: usize,
    },
    /// Answer with a redirect.
    Redirect {
        /// The HTTP status (301, 302, 303, 307, 308).
        status: u16,
        /// The `Location` header.
        location: String,
    },
    /// Store the file but report a `fileSize` one larger than the bytes received.
    WrongSize,
    /// Store the file with the byte at offset `at` changed (when the file is that long), and
    /// answer success as usual: a service that corrupts what it stores, which only a download
    /// compared with the source can tell.
    Corrupt {
        /// The offset of the byte changed.
        at: u64,
    },
    /// Store the file and answer success, but with this `downloadUrl` (`"http://"`,
    /// `"https:///etc/passwd"`, ...) in place of the working one.
    DownloadUrl {
        /// The `downloadUrl` to report.
        url: String,
    },
    /// Store the file and answer normally, one byte at a time with this pause between bytes, then
    /// close the connection.
    Drip {
        /// The pause after each byte.
        pause: Duration,
    },
    /// An early refusal by an auth filter or proxy: read `bytes` bytes of the body (after
    /// `100 Continue`, if the client asked and [`Config::honour_expect`] is on), write a whole
    /// reply with `Connection: close`, and close the socket at once without reading the rest, so
    /// the client's next write fails with a reset or a broken pipe. Nothing is stored.
    ///
    /// With `code: Some(c)` the reply is the service's envelope with `code` `c` and HTTP status
    /// `status` (200 models an error inside a 200 body); with `code: None` it is a proxy's HTML
    /// error page with HTTP status `status` (413 "Request Entity Too Large", say).
    ///
    /// [`Config::honour_expect`]: crate::Config::honour_expect
    RefuseAfter {
        /// Bytes of the body read before the refusal.
        bytes: u64,
        /// The reply's HTTP status.
        status: u16,
        /// The envelope's `code`, or `None` for an HTML page.
        code: Option<u16>,
    },
    /// A refusal at the headers: answer as [`Fault::RefuseAfter`] right after reading the request
    /// head, before any `100 Continue` and without reading any of the body, then close.
    RefuseAtHeaders {
        /// The reply's HTTP status.
        status: u16,
        /// The envelope's `code`, or `None` for an HTML page.
        code: Option<u16>,
    },
    /// nginx refusing a body over `client_max_body_size`: answer as [`Fault::RefuseAtHeaders`]
    /// (a whole reply, framed by its `Content-Length`, with `Connection: close`, before any
    /// `100 Continue`), then keep the connection open without answering more, reading and
    /// dropping whatever the client still sends, until `linger` passes with nothing arriving
    /// (30 s at most, nginx's `lingering_time`), and only then close. nginx's `lingering_timeout`
    /// is 5 s. A client that reads once more after the complete answer waits that long.
    RefuseAtHeadersAndLinger {
        /// The reply's HTTP status (413 for nginx).
        status: u16,
        /// The envelope's `code`, or `None` for nginx's HTML page.
        code: Option<u16>,
        /// How long the connection stays open after the last byte from the client.
        linger: Duration,
    },
    /// A front end that takes no chunked bodies (nginx with `chunked_transfer_encoding off`, some
    /// gateways): a request with `Transfer-Encoding: chunked` is refused at the headers, before
    /// any `100 Continue`, with a whole reply (status 411 "Length Required", say) and a clean,
    /// lingering close; a request with `Content-Length` (or no body) goes to the service as usual.
    RefuseChunked {
        /// The reply's HTTP status.
        status: u16,
        /// The envelope's `code`, or `None` for an HTML page.
        code: Option<u16>,
    },
    /// A slow front end that refuses late: read the body 16 KiB at a time every 20 ms until
    /// `after` has passed, then answer as [`Fault::RefuseAfter`] and close.
    RefuseLate {
        /// How long to read before refusing.
        after: Duration,
        /// The reply's HTTP status.
        status: u16,
        /// The envelope's `code`, or `None` for an HTML page.
        code: Option<u16>,
    },
    /// A broken server that answers success after reading only `bytes` of the body, then closes:
    /// the reply's `data` names a file that was never stored, with `fileSize` when given (none
    /// when `None`). A client must not take this for a stored upload.
    SucceedEarly {
        /// Bytes of the body read before the answer.
        bytes: u64,
        /// The `fileSize` to report, if any.
        file_size: Option<u64>,
    },
    /// Store the upload but answer in the second documented success shape: `data` holds
    /// `fileId`, `originalName`, `uploadPath`, `fileUrl`, `downloadUrl`, `fileSize`, `mimeType`,
    /// `uploadTime` and `expiresAt` (stored time + TTL), and no `fileName`, `filePath` or
    /// `uploadedAt`. `downloadUrl` is the working download URL; `fileUrl` differs from it
    /// (`{base}/files-by-id/<fileId>`) and answers 404.
    QuickstartShape,
    /// Answer with a proxy's debug page that echoes the request headers, `Authorization`
    /// included, so tests can check that a client redacts the key it shows.
    ///
    /// `json: false`: an HTML page with HTTP status `status` whose title and body list the
    /// headers HTML-escaped, with the `Authorization` value percent-encoded in a "retry" link.
    /// `json: true`: the service's envelope with `code` `status` and the `msg`
    /// `"Invalid token in header Authorization: Bearer <key as received>"`, sent like the
    /// service's other errors (see [`Config::errors_in_body`]).
    ///
    /// [`Config::errors_in_body`]: crate::Config::errors_in_body
    EchoHeaders {
        /// The HTTP status (HTML) or the envelope's `code` (JSON).
        status: u16,
        /// The service's JSON envelope instead of an HTML page.
        json: bool,
    },
    /// Answer an error envelope (`code` 400) whose `msg` carries terminal escapes and
    /// bidirectional and zero-width characters:
    /// `"bad \u{1b}]0;pwned\u{7} request \u{1b}[2J\u{202e}txt.exe\u{200b}"`.
    ControlChars,
    /// Store nothing, write these exact bytes as the whole response (status line, headers, body),
    /// then close the connection: any reply the other faults don't give. Say `Connection: close`
    /// in them when the client goes on: without it a client may pool the connection and send its
    /// next request on it as it closes.
    Raw {
        /// The whole response.
        bytes: Vec<u8>,
    },
}

/// The faults waiting for their requests, in the order they were injected, each for one
/// endpoint or for any.
#[derive(Default)]
pub(crate) struct Script {
    waiting: VecDeque<(Option<Endpoint>, Fault)>,
}

impl Script {
    /// Adds `fault` for the next `times` requests to `endpoint` (`None`: to any upload endpoint).
    pub fn add(&mut self, endpoint: Option<Endpoint>, fault: Fault, times: usize) {
        let copies = std::iter::repeat_n((endpoint, fault), times);
        self.waiting.extend(copies);
    }

    /// The first waiting fault that a request to `endpoint` meets, taken out of the script.
    pub fn take(&mut self, endpoint: Endpoint) -> Option<Fault> {
        let i = self
            .waiting
            .iter()
            .position(|(aim, _)| aim.is_none_or(|aim| aim == endpoint))?;
        self.waiting.remove(i).map(|(_, fault)| fault)
    }

    pub fn clear(&mut self) {
        self.waiting.clear();
    }

    /// The faults still waiting, in order.
    pub fn unused(&self) -> Vec<Fault> {
        self.waiting.iter().map(|(_, f)| f.clone()).collect()
    }

    /// The faults still waiting, each with the endpoint it waits for, one a line.
    pub fn describe_unused(&self) -> String {
        let mut out = String::new();
        for (aim, fault) in &self.waiting {
            let aim = aim.map_or("any upload endpoint", Endpoint::path);
            let _ = writeln!(out, "  {fault:?} for {aim}");
        }
        out
    }
}

/// What a fault does at the request's head, before any `100 Continue` and without reading any of
/// the body; `None` when it waits for the body (or for the service).
pub(crate) fn at_headers(fault: &Fault, head: &Head) -> Option<Action> {
    match fault {
        Fault::RefuseAtHeaders { status, code } => Some(Action::Refuse(refusal(*status, *code))),
        Fault::RefuseAtHeadersAndLinger {
            status,
            code,
            linger,
        } => Some(Action::Linger(refusal(*status, *code), *linger)),
        Fault::RefuseChunked { status, code } if head.is_chunked() => {
            Some(Action::Reject(refusal(*status, *code)))
        }
        _ => None,
    }
}

/// What a fault does instead of the service, if it does; `None` lets the service handle the
/// request. `body` is the request body, of which a fault reads what it says it reads (the server
/// reads the rest before an [`Action::Answer`]).
pub(crate) fn instead_of_service(
    fault: &Fault,
    head: &Head,
    body: &mut dyn Read,
    errors_in_body: bool,
) -> Option<Action> {
    on_the_connection(fault, body)
        .or_else(|| early_answer(fault, body))
        .or_else(|| canned_reply(fault, head, errors_in_body))
}

/// Reads and drops up to `n` bytes of the body.
fn read(body: &mut dyn Read, n: u64) {
    let _ = io::copy(&mut body.take(n), &mut io::sink());
}

/// Faults that end or hold the connection without an answer.
fn on_the_connection(fault: &Fault, body: &mut dyn Read) -> Option<Action> {
    let (bytes, action) = match fault {
        Fault::CloseAfter { bytes } => (*bytes, Action::Close),
        Fault::StopReading { bytes } => (*bytes, Action::Hold),
        Fault::NeverAnswer => (u64::MAX, Action::Hold),
        _ => return None,
    };
    read(body, bytes);
    Some(action)
}

/// Faults that answer before the body has all been read, then close the socket at once.
fn early_answer(fault: &Fault, body: &mut dyn Read) -> Option<Action> {
    let reply = match fault {
        Fault::RefuseAfter {
            bytes,
            status,
            code,
        } => {
            read(body, *bytes);
            refusal(*status, *code)
        }
        Fault::RefuseLate {
            after,
            status,
            code,
        } => {
            let started = Instant::now();
            while started.elapsed() < *after {
                read(body, 16 * 1024);
                thread::sleep(Duration::from_millis(20));
            }
            refusal(*status, *code)
        }
        Fault::SucceedEarly { bytes, file_size } => {
            read(body, *bytes);
            early_success(*file_size)
        }
        _ => return None,
    };
    Some(Action::Refuse(reply))
}

/// Faults that answer, after the whole body, with a reply of their own instead of the service's.
fn canned_reply(fault: &Fault, head: &Head, errors_in_body: bool) -> Option<Action> {
    let reply = match fault {
        Fault::Status {
            status,
            retry_after,
        } => with_retry_after(
            injected(*status).into_reply_with_status(*status),
            retry_after,
        ),
        Fault::BodyCode { code, retry_after } => {
            with_retry_after(injected(*code).into_reply_with_status(200), retry_after)
        }
        Fault::Html { status } => gateway_page(*status),
        Fault::MalformedJson => Reply::bytes(
            200,
            "application/json",
            b"{\"success\": true, \"code\": 200, \"data\": {\"fileName\" 'oops'".to_vec(),
        ),
        Fault::TruncatedJson => return Some(Action::AnswerRaw(truncated_json())),
        Fault::HugeReply { bytes } => {
            let pad = "x".repeat(bytes.saturating_sub(40));
            let json = format!(r#"{{"success": true, "code": 200, "pad": "{pad}"}}"#);
            Reply::bytes(200, "application/json", json.into_bytes())
        }
        Fault::Redirect { status, location } => {
            Reply::bytes(*status, "text/plain", Vec::new()).with_header("Location", location)
        }
        Fault::EchoHeaders { status, json: true } => {
            let auth = head.header("Authorization").unwrap_or_default();
            let msg = format!("Invalid token in header Authorization: {auth}");
            Outcome::error(*status, &msg).into_reply(errors_in_body)
        }
        Fault::EchoHeaders {
            status,
            json: false,
        } => echo_page(*status, head),
        Fault::ControlChars => Outcome::error(400, CONTROL_CHARS_MSG).into_reply(errors_in_body),
        Fault::Raw { bytes } => return Some(Action::AnswerRaw(bytes.clone())),
        _ => return None,
    };
    Some(Action::Answer(reply))
}

/// The success reply for a stored upload: the documented shape (with `expiresAt` when the TTL is
/// not the service's), or what the fault makes of it.
pub(crate) fn success(
    fault: Option<&Fault>,
    file: &Published,
    store: &Store,
    base_url: &str,
    ttl: Duration,
) -> Outcome {
    if let Some(Fault::Corrupt { at }) = fault {
        store.corrupt(&file.file_path, *at);
    }
    let mut data = match fault {
        Some(Fault::QuickstartShape) => service::quickstart(file, base_url),
        _ => service::documented(file, ttl),
    };
    match fault {
        Some(Fault::WrongSize) => data["fileSize"] = Value::from(file.size + 1),
        Some(Fault::DownloadUrl { url }) => data["downloadUrl"] = Value::from(url.as_str()),
        _ => {}
    }
    Outcome::ok(data)
}

/// How the service's reply travels: normally, or a byte at a time.
pub(crate) fn deliver(fault: Option<&Fault>, reply: Reply) -> Action {
    match fault {
        Some(Fault::Drip { pause }) => Action::Drip(reply, *pause),
        _ => Action::Answer(reply),
    }
}

/// [`Fault::SucceedEarly`]'s reply: a success naming a file that was never stored.
fn early_success(file_size: Option<u64>) -> Reply {
    let mut data = serde_json::json!({
        "fileName": "early.bin",
        "filePath": "early/early.bin",
        "downloadUrl": "http://127.0.0.1:9/files/early/early.bin",
    });
    if let Some(size) = file_size {
        data["fileSize"] = Value::from(size);
    }
    let body = serde_json::json!({"success": true, "code": 200, "msg": "ok", "data": data});
    Reply::bytes(200, "application/json", body.to_string().into_bytes())
}

/// [`Fault::TruncatedJson`]'s response: a `Content-Length` twice the JSON that follows.
fn truncated_json() -> Vec<u8> {
    let json = br#"{"success": true, "code": 200, "data": {"fileName": "#;
    let mut raw = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        json.len() * 2
    )
    .into_bytes();
    raw.extend_from_slice(json);
    raw
}

/// [`Fault::Html`]'s page: a CDN's gateway error.
fn gateway_page(status: u16) -> Reply {
    let page = format!(
        "<!DOCTYPE html><html><head><title>{status} | Gateway error</title></head>\
         <body><h1>Error {status}</h1><p>The origin web server is not reachable.</p>\
         </body></html>"
    );
    Reply::bytes(status, "text/html", page.into_bytes())
}

fn injected(code: u16) -> Outcome {
    Outcome::error(code, &format!("Injected fault: code {code}"))
}

fn with_retry_after(reply: Reply, retry_after: &Option<String>) -> Reply {
    match retry_after {
        Some(v) => reply.with_header("Retry-After", v),
        None => reply,
    }
}

/// An early refusal: the service's envelope with `code`, or a proxy's HTML page.
fn refusal(status: u16, code: Option<u16>) -> Reply {
    match code {
        Some(code) => {
            let msg = match code {
                401 => "Unauthorized: invalid or missing API key",
                402 => "Insufficient credits",
                413 => "Request entity too large",
                429 => "Too many requests",
                _ => "Request refused",
            };
            Outcome::error(code, msg).into_reply_with_status(status)
        }
        None => {
            let title = format!("{status} {}", reason(status));
            Reply::bytes(
                status,
                "text/html",
                format!(
                    "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n\
                     <center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n\
                     </body>\r\n</html>\r\n"
                )
                .into_bytes(),
            )
            .with_header("Server", "nginx")
        }
    }
}

/// A proxy's debug page listing the request headers (HTML-escaped), with the `Authorization`
/// value percent-encoded in a retry link.
fn echo_page(status: u16, head: &Head) -> Reply {
    let lines: Vec<String> = head
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let auth = head.header("Authorization").unwrap_or_default();
    let mut page = format!(
        "<!DOCTYPE html><html><head><title>{status} {} | {}</title></head><body>\
         <h1>Error {status}</h1><p>The request carried these headers:</p><ul>",
        reason(status),
        html_escape(&lines.join("; "))
    );
    for line in &lines {
        let _ = write!(page, "<li>{}</li>", html_escape(line));
    }
    let _ = write!(
        page,
        "</ul><p><a href=\"/cdn-cgi/retry?authorization={}\">Retry</a></p></body></html>",
        util::percent_encode(auth, b"-._~")
    );
    Reply::bytes(status, "text/html", page.into_bytes())
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(
            html_escape(r#"Bearer a&b<c>"d'"#),
            "Bearer a&amp;b&lt;c&gt;&quot;d&#39;"
        );
    }
}
