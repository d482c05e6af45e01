//! The front end's limits as a client meets them on the wire: oversized heads, bad chunks, the
//! connection cap, `Expect: 100-continue`, and the base64 endpoint's 10 MB.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use kie_upload_emulator::{Config, BASE64_MAX_DECODED};

#[test]
fn a_20_kib_header_is_431_and_the_connection_closes() {
    let emulator = emulator();
    let mut stream = raw(&emulator);
    let head = post_head(
        STREAM,
        &format!("X-Big: {}\r\nContent-Length: 0\r\n", "a".repeat(20 * 1024)),
    );
    stream.write_all(head.as_bytes()).unwrap();
    let reply = read_reply(&mut stream, true).unwrap();
    assert_eq!(reply.status, 431);
    assert_eq!(reply.header("Connection"), Some("close"));
    assert_eq!(reply.json()["code"], 431);
    assert!(is_closed(&mut stream));
    // A refused head leaves no record.
    assert!(emulator.requests().is_empty());
}

#[test]
fn a_head_over_64_kib_is_431_even_with_short_lines() {
    let emulator = emulator();
    let headers: String = (0..80)
        .map(|i| format!("X-H{i}: {}\r\n", "b".repeat(1000)))
        .collect();
    let reply = exchange(&emulator, post_head(STREAM, &headers).as_bytes());
    assert_eq!(reply.status, 431);
}

#[test]
fn a_long_request_line_is_431() {
    let emulator = emulator();
    let request = format!(
        "GET /files/{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(9000)
    );
    assert_eq!(exchange(&emulator, request.as_bytes()).status, 431);
}

#[test]
fn a_tls_hello_on_the_plain_port_gets_nginx_s_400_page() {
    // What a client with an https:// URL sends first: a TLS record (0x16, version 3.1) holding a
    // hello. nginx answers it in plain HTTP, as a malformed request, and closes.
    let emulator = emulator();
    let mut stream = raw(&emulator);
    stream
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x03])
        .unwrap();
    let reply = read_reply(&mut stream, true).unwrap();
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("Server"), Some("nginx"));
    assert!(String::from_utf8_lossy(&reply.body).contains("<center>nginx</center>"));
    assert!(is_closed(&mut stream));
    assert!(emulator.requests().is_empty());
}

#[test]
fn a_malformed_head_is_400() {
    let emulator = emulator();
    for request in [
        "POST /api/file-stream-upload HTTP/1.1\r\nno colon here\r\n\r\n",
        "NOT HTTP AT ALL\r\n\r\n",
    ] {
        let reply = exchange(&emulator, request.as_bytes());
        assert_eq!(reply.status, 400, "{request:?}");
        assert_eq!(reply.header("Connection"), Some("close"));
    }
}

#[test]
fn a_bad_chunk_size_is_400_and_the_connection_closes() {
    let long = format!("{}1", "0".repeat(6000));
    for size in ["zz", "-5", "1 2", long.as_str()] {
        let emulator = emulator();
        let mut stream = raw(&emulator);
        let head = post_head(
            STREAM,
            &format!("Content-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n"),
        );
        stream.write_all(head.as_bytes()).unwrap();
        write!(stream, "{size}\r\n--XyZ\r\n").unwrap();
        stream.flush().unwrap();
        let reply = read_reply(&mut stream, true).unwrap();
        assert_eq!(
            reply.status,
            400,
            "{}: {}",
            &size[..size.len().min(10)],
            reply.text()
        );
        assert_eq!(reply.header("Connection"), Some("close"));
        assert_eq!(reply.json()["code"], 400);
        assert!(is_closed(&mut stream));
        let request = &emulator.requests()[0];
        assert_eq!((request.status, request.code), (400, 400));
        assert!(request.chunked);
    }
}

#[test]
fn conflicting_lengths_are_400() {
    let emulator = emulator();
    let head = post_head(STREAM, "Content-Length: 3\r\nContent-Length: 4\r\n");
    let reply = exchange(&emulator, format!("{head}abcd").as_bytes());
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("Content-Length"), "{}", reply.text());
}

#[test]
fn connections_beyond_the_cap_get_503_with_retry_after() {
    let emulator = start(Config::new(KEY).max_connections(2));
    let first = raw(&emulator);
    let _second = raw(&emulator);
    let request = "GET /files/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let reply = exchange(&emulator, request.as_bytes());
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("Retry-After"), Some("1"));
    assert_eq!(reply.header("Connection"), Some("close"));
    let envelope = reply.json();
    assert_eq!(
        (envelope["success"].as_bool(), envelope["code"].as_u64()),
        (Some(false), Some(503))
    );

    // Once a connection ends, its place is free again.
    drop(first);
    let started = Instant::now();
    loop {
        let status = exchange(&emulator, request.as_bytes()).status;
        if status == 404 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the place never came free"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let emulator = emulator();
    let body = stream_body("e.txt", b"expected");
    let mut stream = raw(&emulator);
    let head = post_head(
        STREAM,
        &format!(
            "Content-Type: {FORM}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n",
            body.len()
        ),
    );
    stream.write_all(head.as_bytes()).unwrap();
    let interim = read_reply(&mut stream, false).unwrap();
    assert_eq!(interim.status, 100);
    stream.write_all(&body).unwrap();
    let reply = read_reply(&mut stream, false).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let request = &emulator.requests()[0];
    assert!(request.expect_continue);
    assert_eq!(request.body_read, body.len() as u64);
}

#[test]
fn expect_100_continue_can_be_ignored() {
    let emulator = start(Config::new(KEY).honour_expect(false));
    let body = stream_body("e.txt", b"expected");
    let mut stream = raw(&emulator);
    let head = post_head(
        STREAM,
        &format!(
            "Content-Type: {FORM}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n",
            body.len()
        ),
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .tcp()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        stream.read(&mut byte).is_err(),
        "the server answered before the body came"
    );
    stream
        .tcp()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(&body).unwrap();
    let reply = read_reply(&mut stream, false).unwrap();
    assert_eq!(
        reply.status,
        200,
        "no 100 Continue comes first: {}",
        reply.text()
    );
    assert!(emulator.requests()[0].expect_continue);
}

#[test]
fn answer_delay_holds_back_every_answer_and_the_100_continue() {
    let delay = Duration::from_millis(150);
    let emulator = start(Config::new(KEY).answer_delay(delay));
    let body = stream_body("d.txt", b"delayed");
    let mut stream = raw(&emulator);
    let head = post_head(
        STREAM,
        &format!(
            "Content-Type: {FORM}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n",
            body.len()
        ),
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).unwrap();
    assert_eq!(read_reply(&mut stream, false).unwrap().status, 100);
    assert!(started.elapsed() >= delay, "the 100 Continue came at once");
    let started = Instant::now();
    stream.write_all(&body).unwrap();
    let reply = read_reply(&mut stream, false).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(started.elapsed() >= delay, "the answer came at once");
    // Downloads too.
    let url = reply.json()["data"]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = Instant::now();
    assert_eq!(get(&emulator, &url), (200, b"delayed".to_vec()));
    assert!(started.elapsed() >= delay, "the download came at once");
}

/// A base64 upload of `bytes` bytes of `A`, encoded by repetition (a debug build's encoder would
/// take seconds over 10 MB).
fn base64_request(bytes: usize) -> Vec<u8> {
    let tail = base64::engine::general_purpose::STANDARD.encode(&b"AAA"[..bytes % 3]);
    let data = format!("{}{tail}", "QUFB".repeat(bytes / 3));
    format!(r#"{{"base64Data":"{data}","uploadPath":"big","fileName":"b.bin"}}"#).into_bytes()
}

#[test]
fn the_base64_endpoint_takes_10_mb_decoded_and_no_more() {
    let just_over = base64_request(BASE64_MAX_DECODED as usize + 1);
    for errors_in_body in [true, false] {
        let emulator = start(Config::new(KEY).errors_in_body(errors_in_body));
        let (status, reply) = post(&emulator, BASE64, "application/json", &just_over);
        assert_eq!(status, if errors_in_body { 200 } else { 413 });
        assert_eq!(reply["success"], false);
        assert_eq!(reply["code"], 413);
        assert_eq!(
            reply["msg"],
            "File too large: the base64 endpoint takes at most 10 MB"
        );
        assert!(emulator.stored("big/b.bin").is_none());
        assert_eq!(emulator.requests()[0].code, 413);
    }

    let emulator = emulator();
    let (status, reply) = post(
        &emulator,
        BASE64,
        "application/json",
        &base64_request(BASE64_MAX_DECODED as usize),
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["fileSize"], BASE64_MAX_DECODED);
}

#[test]
fn a_base64_body_announced_far_too_large_is_refused_unread() {
    let emulator = start(Config::new(KEY).errors_in_body(false));
    let length = 40usize << 20;
    let mut stream = raw(&emulator);
    let head = post_head(
        BASE64,
        &format!("Content-Type: application/json\r\nContent-Length: {length}\r\n"),
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..length / chunk.len() {
        stream.write_all(&chunk).unwrap();
    }
    let reply = read_reply(&mut stream, true).unwrap();
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["code"], 413);
    // The body was drained, not parsed, and the connection stays usable.
    assert_eq!(emulator.requests()[0].body_read, length as u64);
}
