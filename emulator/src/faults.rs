//! Scripted faults: the canned replies and connection tricks that stand in for the service, and
//! the ones that change how its answer looks or travels.

use std::fmt::Write as _;
use std::io::{self, Read};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{reason, Action, Head, Reply};
use crate::service::{self, Outcome};
use crate::store::Published;
use crate::{util, Fault};

/// The `msg` of [`Fault::ControlChars`].
const CONTROL_CHARS_MSG: &str = "bad \u{1b}]0;pwned\u{7} request \u{1b}[2J\u{202e}txt.exe\u{200b}";

/// What a fault does instead of the service, if it does; `None` lets the service handle the
/// request. `body` is the request body, of which a fault reads what it says it reads (the server
/// reads the rest before an [`Action::Answer`]).
pub(crate) fn instead_of_service(
    fault: &Fault,
    head: &Head,
    body: &mut dyn Read,
    errors_in_body: bool,
) -> Option<Action> {
    let mut read = |n: u64| {
        let _ = io::copy(&mut body.take(n), &mut io::sink());
    };
    Some(match fault {
        Fault::CloseAfter(n) => {
            read(*n);
            Action::Close
        }
        Fault::StopReading(n) => {
            read(*n);
            Action::Hold
        }
        Fault::NeverAnswer => {
            read(u64::MAX);
            Action::Hold
        }
        Fault::RefuseAfter {
            bytes,
            status,
            code,
        } => {
            read(*bytes);
            Action::Refuse(refusal(*status, *code))
        }
        Fault::RefuseAtHeaders { status, code } => Action::Refuse(refusal(*status, *code)),
        Fault::RefuseLate {
            after,
            status,
            code,
        } => {
            let started = Instant::now();
            while started.elapsed() < *after {
                read(16 * 1024);
                thread::sleep(Duration::from_millis(20));
            }
            Action::Refuse(refusal(*status, *code))
        }
        Fault::SucceedEarly { bytes, file_size } => {
            read(*bytes);
            let mut data = serde_json::json!({
                "fileName": "early.bin",
                "filePath": "early/early.bin",
                "downloadUrl": "http://127.0.0.1:9/files/early/early.bin",
            });
            if let Some(size) = file_size {
                data["fileSize"] = Value::from(*size);
            }
            let body = serde_json::json!({"success": true, "code": 200, "msg": "ok", "data": data});
            Action::Refuse(Reply::bytes(
                200,
                "application/json",
                body.to_string().into_bytes(),
            ))
        }

        Fault::Status {
            status,
            retry_after,
        } => Action::Answer(with_retry_after(
            injected(*status).into_reply_with_status(*status),
            retry_after,
        )),
        Fault::BodyCode { code, retry_after } => Action::Answer(with_retry_after(
            injected(*code).into_reply_with_status(200),
            retry_after,
        )),
        Fault::Html(status) => Action::Answer(Reply::bytes(
            *status,
            "text/html",
            format!(
                "<!DOCTYPE html><html><head><title>{status} | Gateway error</title></head>\
                 <body><h1>Error {status}</h1><p>The origin web server is not reachable.</p>\
                 </body></html>"
            )
            .into_bytes(),
        )),
        Fault::MalformedJson => Action::Answer(Reply::bytes(
            200,
            "application/json",
            b"{\"success\": true, \"code\": 200, \"data\": {\"fileName\" 'oops'".to_vec(),
        )),
        Fault::TruncatedJson => {
            let json = br#"{"success": true, "code": 200, "data": {"fileName": "#;
            let mut raw = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                json.len() * 2
            )
            .into_bytes();
            raw.extend_from_slice(json);
            Action::AnswerRaw(raw)
        }
        Fault::HugeReply(n) => {
            let pad = "x".repeat(n.saturating_sub(40));
            Action::Answer(Reply::bytes(
                200,
                "application/json",
                format!(r#"{{"success": true, "code": 200, "pad": "{pad}"}}"#).into_bytes(),
            ))
        }
        Fault::Redirect(status, location) => Action::Answer(
            Reply::bytes(*status, "text/plain", Vec::new()).with_header("Location", location),
        ),
        Fault::EchoHeaders { status, json: true } => {
            let auth = head.header("Authorization").unwrap_or_default();
            let msg = format!("Invalid token in header Authorization: {auth}");
            Action::Answer(Outcome::error(*status, &msg).into_reply(errors_in_body))
        }
        Fault::EchoHeaders {
            status,
            json: false,
        } => Action::Answer(echo_page(*status, head)),
        Fault::ControlChars => {
            Action::Answer(Outcome::error(400, CONTROL_CHARS_MSG).into_reply(errors_in_body))
        }
        Fault::Raw(bytes) => Action::AnswerRaw(bytes.clone()),
        Fault::WrongSize | Fault::Drip(_) | Fault::QuickstartShape => return None,
    })
}

/// The success reply for a stored upload: the documented shape, or the one the fault asks for.
pub(crate) fn success(fault: Option<&Fault>, file: &Published, base_url: &str) -> Outcome {
    let mut data = match fault {
        Some(Fault::QuickstartShape) => service::quickstart(file, base_url),
        _ => service::documented(file),
    };
    if fault == Some(&Fault::WrongSize) {
        data["fileSize"] = Value::from(file.size + 1);
    }
    Outcome::ok(data)
}

/// How the service's reply travels: normally, or a byte at a time.
pub(crate) fn deliver(fault: Option<&Fault>, reply: Reply) -> Action {
    match fault {
        Some(Fault::Drip(pause)) => Action::Drip(reply, *pause),
        _ => Action::Answer(reply),
    }
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
