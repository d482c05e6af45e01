//! The three endpoints and downloads as a client sees them: the documented fields, replies and
//! errors, in both ways of reporting errors.

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;
use kie_upload_emulator::Config;

#[test]
fn a_stream_upload_is_stored_and_downloadable() {
    let emulator = emulator();
    let file = payload(300_000);
    let (status, reply) = post(&emulator, STREAM, FORM, &stream_body("f.bin", &file));
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["success"], true);
    assert_eq!(reply["code"], 200);
    let data = &reply["data"];
    assert_eq!(data["fileName"], "f.bin");
    assert_eq!(data["filePath"], "p/f.bin");
    assert_eq!(data["fileSize"], 300_000);
    assert_eq!(data["mimeType"], "application/octet-stream");
    assert!(data["uploadedAt"].as_str().unwrap().ends_with('Z'));
    let url = data["downloadUrl"].as_str().unwrap();
    assert_eq!(url, format!("{}/files/p/f.bin", emulator.base_url()));
    assert_eq!(get(&emulator, url), (200, file.clone()));
    assert_eq!(emulator.stored("p/f.bin").unwrap(), file);

    let request = &emulator.requests()[0];
    assert!(request.authorized);
    assert_eq!(request.status, 200);
    assert_eq!(request.code, 200);
    let names: Vec<&str> = request.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["uploadPath", "fileName", "file"]);
    assert_eq!(request.parts[0].text, "p");
    assert_eq!(request.parts[2].filename.as_deref(), Some("f.bin"));
    assert_eq!(request.parts[2].size, 300_000);
    assert_eq!(request.parts[2].text, "");
    assert_eq!(request.body_read, request.content_length.unwrap());
}

#[test]
fn filenames_are_recorded_as_sent() {
    let emulator = emulator();
    let body = multipart(&[
        ("uploadPath", None, b"p"),
        ("file", Some("a%22b%0D%0Ac;'\\.txt"), b"x"),
    ]);
    let (status, reply) = post(&emulator, STREAM, FORM, &body);
    assert_eq!(status, 200, "{reply}");
    let part = &emulator.requests()[0].parts[1];
    assert_eq!(part.filename.as_deref(), Some("a%22b%0D%0Ac;'\\.txt"));
    // No fileName field: the service picks a name and keeps the extension.
    let name = reply["data"]["fileName"].as_str().unwrap();
    assert!(name.ends_with(".txt") && name.len() > 8, "{name}");
}

#[test]
fn missing_fields_get_the_documented_400_in_both_modes() {
    let cases = [
        (
            STREAM,
            FORM,
            multipart(&[("file", Some("a.txt"), b"data")]),
            "Missing required parameter: uploadPath",
        ),
        (
            STREAM,
            FORM,
            multipart(&[("uploadPath", None, b"p")]),
            "Missing required parameter: file",
        ),
        (
            BASE64,
            "application/json",
            br#"{"uploadPath":"p"}"#.to_vec(),
            "Missing required parameter: base64Data",
        ),
        (
            BASE64,
            "application/json",
            br#"{"base64Data":"aGk="}"#.to_vec(),
            "Missing required parameter: uploadPath",
        ),
        (
            URL,
            "application/json",
            br#"{"uploadPath":"p"}"#.to_vec(),
            "Missing required parameter: fileUrl",
        ),
        (
            BASE64,
            "application/json",
            br#"{"base64Data":"aGk!","uploadPath":"p"}"#.to_vec(),
            "Invalid base64 data",
        ),
    ];
    for errors_in_body in [true, false] {
        let emulator = start(Config::new(KEY).errors_in_body(errors_in_body));
        for (path, content_type, body, msg) in &cases {
            let (status, reply) = post(&emulator, path, content_type, body);
            assert_eq!(
                status,
                if errors_in_body { 200 } else { 400 },
                "{path}: {reply}"
            );
            assert_eq!(reply["success"], false);
            assert_eq!(reply["code"], 400);
            assert_eq!(reply["msg"], *msg);
            assert!(reply.get("data").is_none());
        }
        assert!(emulator.requests().iter().all(|r| r.code == 400));
    }
}

#[test]
fn a_data_url_and_plain_base64_both_work() {
    let emulator = emulator();
    for data in [
        "aGVsbG8=",
        "aGVsbG8",
        "data:text/plain;base64,aGVsbG8=",
        "aGVs\nbG8=",
    ] {
        let body = format!(r#"{{"base64Data":"{data}","uploadPath":"b","fileName":"h.txt"}}"#);
        let body = body.replace('\n', "\\n");
        let (status, reply) = post(&emulator, BASE64, "application/json", body.as_bytes());
        assert_eq!(status, 200, "{data}: {reply}");
        assert_eq!(reply["data"]["fileSize"], 5);
        assert_eq!(reply["data"]["mimeType"], "text/plain");
        assert_eq!(emulator.stored("b/h.txt").unwrap(), b"hello");
    }
    let fields = &emulator.requests()[0].json_fields;
    assert_eq!(fields["base64Data"], "aGVsbG8=");
    assert_eq!(fields["uploadPath"], "b");
}

#[test]
fn a_url_upload_fetches_from_the_emulator_itself() {
    let emulator = emulator();
    let (_, first) = post(
        &emulator,
        STREAM,
        FORM,
        &stream_body("src.txt", b"fetch me"),
    );
    let url = first["data"]["downloadUrl"].as_str().unwrap();
    let body = format!(r#"{{"fileUrl":"{url}","uploadPath":"copies"}}"#);
    let (status, reply) = post(&emulator, URL, "application/json", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["fileName"], "src.txt");
    assert_eq!(emulator.stored("copies/src.txt").unwrap(), b"fetch me");

    let body = format!(r#"{{"fileUrl":"{url}.missing","uploadPath":"copies"}}"#);
    let (_, reply) = post(&emulator, URL, "application/json", body.as_bytes());
    assert_eq!(reply["code"], 400);
    assert!(
        reply["msg"].as_str().unwrap().contains("HTTP 404"),
        "{reply}"
    );
}

#[test]
fn wrong_methods_paths_and_keys() {
    for errors_in_body in [true, false] {
        let emulator = start(Config::new(KEY).errors_in_body(errors_in_body));
        let agent = agent(&emulator);
        let mut response = agent
            .get(format!("{}{STREAM}", emulator.base_url()))
            .header("Authorization", format!("Bearer {KEY}"))
            .call()
            .unwrap();
        let reply: serde_json::Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(reply["code"], 405);
        assert_eq!(
            response.status().as_u16(),
            if errors_in_body { 200 } else { 405 }
        );

        let response = agent
            .get(format!("{}/files/nothing/here.txt", emulator.base_url()))
            .call()
            .unwrap();
        // Downloads are not the service's envelope: a real 404 either way.
        assert_eq!(response.status().as_u16(), 404);

        let mut response = agent
            .post(format!("{}{URL}", emulator.base_url()))
            .header("Content-Type", "application/json")
            .send(r#"{"fileUrl":"http://127.0.0.1:1/x","uploadPath":"p"}"#)
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            if errors_in_body { 200 } else { 401 }
        );
        let reply: serde_json::Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(reply["code"], 401);
        assert_eq!(reply["success"], false);
        let last = emulator.requests().pop().unwrap();
        assert!(!last.had_authorization && !last.authorized);
        assert_eq!(last.code, 401);
    }
}

#[test]
fn a_truncated_body_stores_nothing() {
    let emulator = emulator();
    let body = stream_body("cut.txt", b"0123456789");
    let mut stream = raw(&emulator);
    let head = post_head(
        STREAM,
        &format!(
            "Content-Type: {FORM}\r\nContent-Length: {}\r\n",
            body.len() + 100
        ),
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    stream.tcp().shutdown(std::net::Shutdown::Write).unwrap();
    // The client has only shut its side: it still gets an answer.
    let reply = read_reply(&mut stream, true).unwrap();
    assert_eq!(reply.json()["code"], 400, "{}", reply.text());
    assert!(emulator.stored("p/cut.txt").is_none());
    assert_eq!(emulator.requests()[0].body_read, body.len() as u64);
}

#[test]
fn chunked_uploads_and_keep_alive() {
    let emulator = emulator();
    let body = stream_body("c.txt", b"chunky");
    let (a, b) = body.split_at(10);
    let mut stream = raw(&emulator);
    for round in 0..2 {
        let head = post_head(
            STREAM,
            &format!("Content-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n"),
        );
        stream.write_all(head.as_bytes()).unwrap();
        write!(stream, "{:x}\r\n", a.len()).unwrap();
        stream.write_all(a).unwrap();
        write!(stream, "\r\n{:X};ext=1\r\n", b.len()).unwrap();
        stream.write_all(b).unwrap();
        stream.write_all(b"\r\n0\r\n\r\n").unwrap();
        let reply = read_reply(&mut stream, true).unwrap();
        assert_eq!(reply.status, 200, "round {round}: {}", reply.text());
        assert_eq!(reply.json()["data"]["fileSize"], 6);
    }
    let requests = emulator.requests();
    assert!(requests
        .iter()
        .all(|r| r.chunked && r.content_length.is_none()));
    assert_eq!(requests[0].connection, requests[1].connection);
    assert_eq!(requests[1].body_read, body.len() as u64);
    assert_eq!(emulator.stored("p/c.txt").unwrap(), b"chunky");
}

#[test]
fn uploads_can_be_overwritten() {
    let emulator = emulator();
    let (_, first) = post(&emulator, STREAM, FORM, &stream_body("t.txt", b"one"));
    let (_, second) = post(&emulator, STREAM, FORM, &stream_body("t.txt", b"two"));
    assert_eq!(first["data"]["downloadUrl"], second["data"]["downloadUrl"]);
    let url = second["data"]["downloadUrl"].as_str().unwrap();
    assert_eq!(get(&emulator, url), (200, b"two".to_vec()));
}

#[test]
fn uploads_expire_after_their_ttl() {
    // Only waits longer than the TTL: nothing here must happen within it, however slow the
    // machine.
    let ttl = Duration::from_millis(200);
    let emulator = start(Config::new(KEY).ttl(ttl));
    let (_, reply) = post(&emulator, STREAM, FORM, &stream_body("t.txt", b"one"));
    let url = reply["data"]["downloadUrl"].as_str().unwrap();
    std::thread::sleep(ttl * 2);
    assert_eq!(get(&emulator, url).0, 404);
    assert!(emulator.stored("p/t.txt").is_none());
}

/// The date and the milliseconds into the day of an RFC 3339 time such as
/// `2025-01-01T12:00:00.123Z`.
fn day_and_ms(t: &str) -> (&str, u64) {
    let (date, time) = t.trim_end_matches('Z').split_once('T').unwrap();
    let (hms, ms) = time.split_once('.').unwrap();
    let secs = hms
        .split(':')
        .fold(0, |acc, n| acc * 60 + n.parse::<u64>().unwrap());
    (date, secs * 1000 + ms.parse::<u64>().unwrap())
}

#[test]
fn the_documented_shape_tells_a_ttl_that_is_not_the_services() {
    // The service's own three days: the documented shape, without expiresAt.
    let (_, reply) = post(&emulator(), STREAM, FORM, &stream_body("a.txt", b"a"));
    assert!(reply["data"]["expiresAt"].is_null(), "{reply}");
    // Any other TTL: expiresAt is the upload's time plus the TTL.
    let emulator = start(Config::new(KEY).ttl(Duration::from_secs(1)));
    let (_, reply) = post(&emulator, STREAM, FORM, &stream_body("a.txt", b"a"));
    let data = &reply["data"];
    let uploaded = day_and_ms(data["uploadedAt"].as_str().unwrap());
    let expires = day_and_ms(data["expiresAt"].as_str().expect("an expiresAt"));
    if uploaded.0 == expires.0 {
        assert_eq!(expires.1 - uploaded.1, 1000, "{data}");
    }
}

#[test]
fn attempts_count_requests_per_endpoint() {
    let emulator = emulator();
    post(&emulator, STREAM, FORM, &stream_body("a.txt", b"a"));
    post(
        &emulator,
        BASE64,
        "application/json",
        br#"{"base64Data":"YQ==","uploadPath":"p"}"#,
    );
    post(&emulator, STREAM, FORM, &stream_body("b.txt", b"b"));
    assert_eq!(emulator.attempts(STREAM), 2);
    assert_eq!(emulator.attempts(BASE64), 1);
    emulator.clear_requests();
    assert_eq!(emulator.attempts(STREAM), 0);
}

#[test]
fn a_body_that_does_not_match_its_boundary_is_400() {
    let emulator = emulator();
    let body = stream_body("b.txt", b"boundary").repeat(1000);
    let (_, reply) = post(
        &emulator,
        STREAM,
        "multipart/form-data; boundary=Other",
        &body,
    );
    assert_eq!(reply["code"], 400);
    assert!(
        reply["msg"]
            .as_str()
            .unwrap()
            .starts_with("Malformed multipart body"),
        "{reply}"
    );
    let (_, reply) = post(&emulator, STREAM, "text/plain", b"not a form");
    assert_eq!(
        reply["msg"],
        "Content-Type must be multipart/form-data with a boundary"
    );
}

#[test]
fn emulators_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<kie_upload_emulator::Emulator>();
    shareable::<kie_upload_emulator::RecordedRequest>();
}

#[test]
fn headers_are_recorded_and_the_key_stays_out_of_debug() {
    let emulator = emulator();
    let head = "User-Agent: probe/1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n";
    let mut request = post_head(URL, head).into_bytes();
    request.extend_from_slice(b"{}");
    let reply = exchange(&emulator, &request);
    assert_eq!(reply.json()["code"], 400);
    let request = &emulator.requests()[0];
    assert_eq!(request.header("user-agent"), Some("probe/1"));
    assert_eq!(
        request.header("AUTHORIZATION"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        request.headers[0],
        ("Host".to_owned(), "127.0.0.1".to_owned())
    );
    let debug = format!("{request:?}");
    assert!(
        !debug.contains(KEY) && debug.contains("[redacted]"),
        "{debug}"
    );
}
