//! Every scripted fault, as a client sees it on the wire.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;
use kie_upload_emulator::{Config, Emulator, Fault};

/// The head of a stream upload announcing `length` bytes of body.
fn upload_head(length: usize, extra: &str) -> String {
    post_head(
        STREAM,
        &format!("Content-Type: {FORM}\r\nContent-Length: {length}\r\n{extra}"),
    )
}

/// Sends a small stream upload on a raw connection and reads the reply.
fn small_upload(emulator: &Emulator) -> RawReply {
    let body = stream_body("s.txt", b"small");
    let mut request = upload_head(body.len(), "").into_bytes();
    request.extend_from_slice(&body);
    exchange(emulator, &request)
}

#[test]
fn refuse_after_closes_the_socket_while_the_client_is_still_sending() {
    let emulator = emulator();
    let fault = Fault::RefuseAfter {
        bytes: 64 * 1024,
        status: 401,
        code: Some(401),
    };
    emulator.inject(fault.clone(), 1);
    let mut stream = raw(&emulator);
    stream
        .write_all(upload_head(200 << 20, "").as_bytes())
        .unwrap();
    assert!(
        write_until_error(&mut stream, 200 << 20),
        "writing went on after the refusal"
    );
    // The reply is not lost: it waits in the socket behind the reset.
    let reply = read_reply(&mut stream, true).expect("the refusal");
    assert_eq!(reply.status, 401);
    assert_eq!(reply.header("Connection"), Some("close"));
    let envelope = reply.json();
    assert_eq!(envelope["success"], false);
    assert_eq!(envelope["code"], 401);

    let requests = emulator.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].fault, Some(fault));
    assert_eq!(requests[0].body_read, 64 * 1024);
    assert_eq!((requests[0].status, requests[0].code), (401, 401));
    assert!(emulator.stored("p/s.txt").is_none());
}

#[test]
fn refuse_after_can_be_a_proxy_page_or_an_error_in_a_200() {
    let emulator = emulator();
    emulator.inject(
        Fault::RefuseAfter {
            bytes: 0,
            status: 413,
            code: None,
        },
        1,
    );
    emulator.inject(
        Fault::RefuseAfter {
            bytes: 10,
            status: 200,
            code: Some(402),
        },
        1,
    );
    let page = small_upload(&emulator);
    assert_eq!(page.status, 413);
    assert!(page
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));
    assert!(
        page.text()
            .contains("<title>413 Request Entity Too Large</title>"),
        "{}",
        page.text()
    );

    let in_body = small_upload(&emulator);
    assert_eq!(in_body.status, 200);
    assert_eq!(in_body.json()["code"], 402);
    assert_eq!(in_body.header("Connection"), Some("close"));
    let requests = emulator.requests();
    assert_eq!(requests[0].body_read, 0);
    assert_eq!(requests[1].body_read, 10);
    assert_eq!((requests[1].status, requests[1].code), (200, 402));
}

#[test]
fn refuse_after_comes_after_100_continue() {
    let emulator = emulator();
    emulator.inject(
        Fault::RefuseAfter {
            bytes: 1000,
            status: 401,
            code: Some(401),
        },
        1,
    );
    let mut stream = raw(&emulator);
    stream
        .write_all(upload_head(10 << 20, "Expect: 100-continue\r\n").as_bytes())
        .unwrap();
    assert_eq!(read_reply(&mut stream, false).unwrap().status, 100);
    assert!(write_until_error(&mut stream, 10 << 20));
    assert_eq!(read_reply(&mut stream, false).unwrap().status, 401);
    assert_eq!(emulator.requests()[0].body_read, 1000);
}

#[test]
fn refuse_at_headers_answers_before_any_body_and_before_100_continue() {
    let emulator = emulator();
    let fault = Fault::RefuseAtHeaders {
        status: 401,
        code: Some(401),
    };
    emulator.inject(fault.clone(), 2);
    for expect in ["Expect: 100-continue\r\n", ""] {
        let mut stream = raw(&emulator);
        stream
            .write_all(upload_head(1 << 30, expect).as_bytes())
            .unwrap();
        // No body is sent, and the answer comes anyway: the refusal, not a 100.
        let reply = read_reply(&mut stream, false).unwrap();
        assert_eq!(reply.status, 401, "{expect:?}");
        assert_eq!(reply.json()["code"], 401);
        assert_eq!(reply.header("Connection"), Some("close"));
        assert!(is_closed(&mut stream));
    }
    let requests = emulator.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].expect_continue && !requests[1].expect_continue);
    assert!(requests
        .iter()
        .all(|r| r.body_read == 0 && r.fault == Some(fault.clone())));
}

#[test]
fn quickstart_shape_has_both_urls_and_an_expiry() {
    let emulator = start(Config::new(KEY).ttl(Duration::from_secs(86_400)));
    emulator.inject(Fault::QuickstartShape, 1);
    let (status, reply) = post(
        &emulator,
        STREAM,
        FORM,
        &stream_body("q.png", b"\x89PNG quick"),
    );
    assert_eq!(status, 200, "{reply}");
    let data = reply["data"].as_object().unwrap();
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "downloadUrl",
            "expiresAt",
            "fileId",
            "fileSize",
            "fileUrl",
            "mimeType",
            "originalName",
            "uploadPath",
            "uploadTime"
        ]
    );
    assert_eq!(data["originalName"], "q.png");
    assert_eq!(data["uploadPath"], "p");
    assert_eq!(data["fileSize"], 10);
    assert_eq!(data["mimeType"], "image/png");
    let download_url = data["downloadUrl"].as_str().unwrap();
    let file_url = data["fileUrl"].as_str().unwrap();
    assert_ne!(download_url, file_url);
    assert_eq!(
        file_url,
        format!(
            "{}/files-by-id/{}",
            emulator.base_url(),
            data["fileId"].as_str().unwrap()
        )
    );
    assert_eq!(
        get(&emulator, download_url),
        (200, b"\x89PNG quick".to_vec())
    );
    assert_eq!(get(&emulator, file_url).0, 404);
    // A TTL of one day: the same time of day, the next date.
    let (uploaded, expires) = (
        data["uploadTime"].as_str().unwrap(),
        data["expiresAt"].as_str().unwrap(),
    );
    assert_eq!(uploaded.len(), "2025-01-01T12:00:00.000Z".len());
    assert_eq!(uploaded[10..], expires[10..]);
    assert_ne!(uploaded[..10], expires[..10]);
    // The next upload has the documented shape again.
    let (_, reply) = post(&emulator, STREAM, FORM, &stream_body("q.png", b"again"));
    assert!(reply["data"]["fileName"].is_string() && reply["data"]["fileId"].is_null());
}

#[test]
fn echo_headers_shows_the_key_html_escaped_and_percent_encoded() {
    let key = "sk-a&b<c>\"d";
    let emulator = start(Config::new(key));
    emulator.inject(
        Fault::EchoHeaders {
            status: 502,
            json: false,
        },
        1,
    );
    let body = stream_body("e.txt", b"echo");
    let mut request = post_head(
        STREAM,
        &format!("Content-Type: {FORM}\r\nContent-Length: {}\r\n", body.len()),
    )
    .replace(KEY, key)
    .into_bytes();
    request.extend_from_slice(&body);
    let reply = exchange(&emulator, &request);
    assert_eq!(reply.status, 502);
    let page = reply.text();
    let title = &page[page.find("<title>").unwrap()..page.find("</title>").unwrap()];
    assert!(
        title.contains("Authorization: Bearer sk-a&amp;b&lt;c&gt;&quot;d"),
        "{title}"
    );
    assert!(
        page.contains("<li>Authorization: Bearer sk-a&amp;b&lt;c&gt;&quot;d</li>"),
        "{page}"
    );
    assert!(page.contains("Bearer%20sk-a%26b%3Cc%3E%22d"), "{page}");
    assert!(!page.contains(key));
    assert_eq!(emulator.requests()[0].body_read, body.len() as u64);
}

#[test]
fn echo_headers_as_json_quotes_the_key_in_msg() {
    for errors_in_body in [true, false] {
        let emulator = start(Config::new(KEY).errors_in_body(errors_in_body));
        emulator.inject(
            Fault::EchoHeaders {
                status: 401,
                json: true,
            },
            1,
        );
        let (status, reply) = post(&emulator, STREAM, FORM, &stream_body("e.txt", b"echo"));
        assert_eq!(status, if errors_in_body { 200 } else { 401 });
        assert_eq!(reply["code"], 401);
        assert_eq!(
            reply["msg"],
            format!("Invalid token in header Authorization: Bearer {KEY}")
        );
    }
}

#[test]
fn control_chars_come_in_an_error_message() {
    let emulator = emulator();
    emulator.inject(Fault::ControlChars, 1);
    let (status, reply) = post(&emulator, STREAM, FORM, &stream_body("c.txt", b"c"));
    assert_eq!(status, 200);
    assert_eq!(reply["code"], 400);
    assert_eq!(
        reply["msg"],
        "bad \u{1b}]0;pwned\u{7} request \u{1b}[2J\u{202e}txt.exe\u{200b}"
    );
    assert!(emulator.stored("p/c.txt").is_none());
}

#[test]
fn raw_bytes_are_the_whole_response() {
    let emulator = emulator();
    let bytes = b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 3\r\nX-Odd: yes\r\n\r\nabc".to_vec();
    emulator.inject(
        Fault::Raw {
            bytes: bytes.clone(),
        },
        1,
    );
    let body = stream_body("r.txt", b"raw");
    let mut stream = raw(&emulator);
    stream
        .write_all(upload_head(body.len(), "").as_bytes())
        .unwrap();
    stream.write_all(&body).unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    assert_eq!(received, bytes);
    let request = &emulator.requests()[0];
    assert_eq!(
        (request.status, request.body_read),
        (418, body.len() as u64)
    );
    assert!(emulator.stored("p/r.txt").is_none());
}

#[test]
fn status_and_body_code_faults() {
    let emulator = emulator();
    emulator.inject(
        Fault::Status {
            status: 503,
            retry_after: Some("7".into()),
        },
        1,
    );
    emulator.inject(
        Fault::BodyCode {
            code: 429,
            retry_after: None,
        },
        1,
    );
    let reply = small_upload(&emulator);
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("Retry-After"), Some("7"));
    assert_eq!(reply.json()["code"], 503);
    let reply = small_upload(&emulator);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["code"], 429);
    assert_eq!(reply.json()["success"], false);
    assert_eq!(small_upload(&emulator).status, 200);
    let codes: Vec<(u16, u16)> = emulator
        .requests()
        .iter()
        .map(|r| (r.status, r.code))
        .collect();
    assert_eq!(codes, [(503, 503), (200, 429), (200, 200)]);
}

#[test]
fn replies_that_are_not_the_service() {
    let emulator = emulator();
    emulator.inject(Fault::Html { status: 502 }, 1);
    emulator.inject(Fault::MalformedJson, 1);
    emulator.inject(Fault::HugeReply { bytes: 2 << 20 }, 1);
    emulator.inject(
        Fault::Redirect {
            status: 307,
            location: "http://127.0.0.1:1/elsewhere".into(),
        },
        1,
    );
    let html = small_upload(&emulator);
    assert_eq!(html.status, 502);
    assert!(html.text().contains("<title>502"));
    let malformed = small_upload(&emulator);
    assert_eq!(malformed.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&malformed.body).is_err());
    let huge = small_upload(&emulator);
    assert!(huge.body.len() >= 2 << 20);
    let redirect = small_upload(&emulator);
    assert_eq!(redirect.status, 307);
    assert_eq!(
        redirect.header("Location"),
        Some("http://127.0.0.1:1/elsewhere")
    );
}

#[test]
fn truncated_json_announces_more_than_it_sends() {
    let emulator = emulator();
    emulator.inject(Fault::TruncatedJson, 1);
    let body = stream_body("t.txt", b"t");
    let mut stream = raw(&emulator);
    stream
        .write_all(upload_head(body.len(), "").as_bytes())
        .unwrap();
    stream.write_all(&body).unwrap();
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received);
    let text = String::from_utf8_lossy(&received);
    let (head, json) = text.split_once("\r\n\r\n").unwrap();
    let announced: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(json.len() < announced, "{text}");
    assert_eq!(emulator.requests()[0].status, 200);
}

#[test]
fn close_after_closes_without_an_answer() {
    let emulator = emulator();
    emulator.inject(Fault::CloseAfter { bytes: 100 }, 1);
    let mut stream = raw(&emulator);
    stream
        .write_all(upload_head(10 << 20, "").as_bytes())
        .unwrap();
    assert!(write_until_error(&mut stream, 10 << 20));
    assert!(read_reply(&mut stream, true).is_err());
    let request = &emulator.requests()[0];
    assert_eq!((request.status, request.body_read), (0, 100));
}

#[test]
fn stop_reading_and_never_answer_hold_the_connection() {
    let emulator = emulator();
    emulator.inject(Fault::StopReading { bytes: 1000 }, 1);
    emulator.inject(Fault::NeverAnswer, 1);

    let mut stream = raw(&emulator);
    stream
        .tcp()
        .set_write_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    stream
        .write_all(upload_head(64 << 20, "").as_bytes())
        .unwrap();
    // The server stops reading: the socket buffers fill and a write stalls.
    assert!(write_until_error(&mut stream, 64 << 20));

    let mut stream = raw(&emulator);
    stream
        .tcp()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let body = stream_body("n.txt", b"never");
    stream
        .write_all(upload_head(body.len(), "").as_bytes())
        .unwrap();
    stream.write_all(&body).unwrap();
    let mut byte = [0u8; 1];
    let err = stream.read(&mut byte).unwrap_err();
    assert!(matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));

    let requests = emulator.requests();
    assert_eq!(requests[0].body_read, 1000);
    assert_eq!(requests[1].body_read, body.len() as u64);
    assert!(requests.iter().all(|r| r.status == 0));
}

#[test]
fn wrong_size_and_drip_change_only_the_reply() {
    let emulator = emulator();
    emulator.inject(Fault::WrongSize, 1);
    emulator.inject(
        Fault::Drip {
            pause: Duration::from_millis(1),
        },
        1,
    );
    let (_, reply) = post(&emulator, STREAM, FORM, &stream_body("w.txt", b"four"));
    assert_eq!(reply["data"]["fileSize"], 5);
    assert_eq!(emulator.stored("p/w.txt").unwrap(), b"four");
    let (status, reply) = post(&emulator, STREAM, FORM, &stream_body("d.txt", b"drip"));
    assert_eq!(status, 200);
    assert_eq!(reply["data"]["fileSize"], 4);
}

#[test]
fn faults_apply_to_uploads_only_and_in_order() {
    let emulator = emulator();
    let (_, reply) = post(&emulator, STREAM, FORM, &stream_body("a.txt", b"a"));
    let url = reply["data"]["downloadUrl"].as_str().unwrap().to_owned();
    emulator.inject(
        Fault::Status {
            status: 500,
            retry_after: None,
        },
        2,
    );
    assert_eq!(get(&emulator, &url), (200, b"a".to_vec()));
    assert_eq!(small_upload(&emulator).status, 500);
    emulator.clear_faults();
    assert_eq!(small_upload(&emulator).status, 200);
    let faulted = emulator
        .requests()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    assert_eq!(faulted, 1);
}

#[test]
fn inject_at_aims_a_fault_at_one_endpoint() {
    let emulator = emulator();
    let unavailable = Fault::Status {
        status: 503,
        retry_after: Some("0".into()),
    };
    let broken = Fault::Status {
        status: 500,
        retry_after: None,
    };
    emulator.inject_at(BASE64, unavailable.clone(), 1);
    emulator.inject(broken.clone(), 1);
    // A stream upload passes the base64 endpoint's fault by and meets the one for any endpoint.
    assert_eq!(small_upload(&emulator).status, 500);
    assert_eq!(small_upload(&emulator).status, 200);
    let (status, reply) = post(
        &emulator,
        BASE64,
        "application/json",
        br#"{"base64Data":"YQ==","uploadPath":"p"}"#,
    );
    assert_eq!((status, reply["code"].as_u64()), (503, Some(503)));
    let requests = emulator.requests();
    let faults: Vec<_> = requests.iter().map(|r| r.fault.clone()).collect();
    assert_eq!(faults, [Some(broken), None, Some(unavailable)]);
    assert!(emulator.unused_faults().is_empty());
    emulator.assert_faults_used();
}

#[test]
fn a_fault_no_request_met_is_reported() {
    let emulator = emulator();
    emulator.inject_at(URL, Fault::MalformedJson, 2);
    emulator.inject(Fault::ControlChars, 1);
    // A stream upload passes the URL endpoint's faults by.
    assert_eq!(small_upload(&emulator).json()["code"], 400);
    assert_eq!(
        emulator.unused_faults(),
        [Fault::MalformedJson, Fault::MalformedJson]
    );
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        emulator.assert_faults_used()
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("MalformedJson for /api/file-url-upload"),
        "{message}"
    );
    emulator.clear_faults();
    emulator.assert_faults_used();
}

#[test]
#[should_panic(expected = "is not an upload endpoint")]
fn inject_at_refuses_a_path_that_is_no_upload_endpoint() {
    emulator().inject_at("/api/file-stream-uplaod", Fault::MalformedJson, 1);
}

#[test]
fn refuse_at_headers_and_linger_answers_at_once_then_holds_the_connection() {
    for tls in [false, true] {
        let emulator = start(Config::new(KEY).tls(tls));
        let fault = Fault::RefuseAtHeadersAndLinger {
            status: 413,
            code: None,
            linger: Duration::from_millis(700),
        };
        emulator.inject(fault.clone(), 1);
        // From before the request: the server's linger starts after it, so the close comes at
        // least `linger` after this, however slow the machine.
        let started = std::time::Instant::now();
        let mut stream = raw(&emulator);
        stream
            .write_all(upload_head(24 << 20, "Expect: 100-continue\r\n").as_bytes())
            .unwrap();
        // The whole answer, framed by its Content-Length, comes without any body sent.
        let reply = read_reply(&mut stream, false).unwrap();
        assert_eq!(reply.status, 413, "tls {tls}");
        assert!(reply.text().contains("413 Request Entity Too Large"));
        assert_eq!(reply.header("Connection"), Some("close"));
        // Whatever the client still sends is drained, then the connection is closed (no earlier
        // than the linger, checked below; the read's timeout only guards against a hang).
        stream.write_all(&[b'x'; 1000]).unwrap();
        stream.flush().unwrap();
        stream
            .tcp()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(0) => {}
            Ok(_) => panic!("tls {tls}: bytes after the answer"),
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "tls {tls}: never closed"
            ),
        }
        assert!(started.elapsed() >= Duration::from_millis(700), "tls {tls}");
        let request = &emulator.requests()[0];
        assert_eq!(request.fault, Some(fault));
        assert_eq!((request.status, request.body_read), (413, 0));
        assert!(emulator.stored("p/s.txt").is_none());
    }
}

#[test]
fn refuse_chunked_refuses_only_a_chunked_body() {
    let emulator = emulator();
    let fault = Fault::RefuseChunked {
        status: 411,
        code: None,
    };
    emulator.inject(fault.clone(), 2);
    // Chunked, with Expect: refused at once, before any 100 Continue.
    let mut stream = raw(&emulator);
    let chunked = format!("Content-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n");
    let head = post_head(STREAM, &format!("{chunked}Expect: 100-continue\r\n"));
    stream.write_all(head.as_bytes()).unwrap();
    let reply = read_reply(&mut stream, false).unwrap();
    assert_eq!(reply.status, 411);
    assert!(
        reply.text().contains("411 Length Required"),
        "{}",
        reply.text()
    );
    // By length, even an empty file: the service takes it.
    let body = stream_body("empty.txt", b"");
    let (status, reply) = post(&emulator, STREAM, FORM, &body);
    assert_eq!(
        (status, reply["code"].as_u64()),
        (200, Some(200)),
        "{reply}"
    );
    assert_eq!(emulator.stored("p/empty.txt").unwrap(), b"");
    let requests = emulator.requests();
    assert!(requests[0].chunked && requests[0].content_length.is_none());
    assert_eq!((requests[0].status, requests[0].body_read), (411, 0));
    assert!(!requests[1].chunked);
    assert_eq!(requests[1].content_length, Some(body.len() as u64));
    assert!(requests.iter().all(|r| r.fault == Some(fault.clone())));
}

#[test]
fn download_url_stores_the_file_but_reports_another_url() {
    let emulator = emulator();
    for url in ["http://", "https:///etc/passwd"] {
        emulator.inject(Fault::DownloadUrl { url: url.into() }, 1);
        let (status, reply) = post(&emulator, STREAM, FORM, &stream_body("u.txt", b"url"));
        assert_eq!((status, reply["success"].as_bool()), (200, Some(true)));
        assert_eq!(reply["data"]["downloadUrl"], url);
        assert_eq!(reply["data"]["fileSize"], 3);
        assert_eq!(emulator.stored("p/u.txt").unwrap(), b"url");
    }
    emulator.assert_faults_used();
}
