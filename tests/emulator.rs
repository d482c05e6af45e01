//! The emulator on its own terms, spoken to without the client: the documented errors for requests
//! the client would never send.

mod common;

use std::io::Read;

use common::*;
use serde_json::Value;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// POSTs `body` with `content_type` and the right key; returns the status and the JSON reply.
fn post(
    path: &str,
    emulator: &kie_upload_emulator::Emulator,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let mut response = agent()
        .post(format!("{}{path}", emulator.base_url()))
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Content-Type", content_type)
        .send(body)
        .unwrap();
    let mut text = String::new();
    response
        .body_mut()
        .as_reader()
        .read_to_string(&mut text)
        .unwrap();
    (
        response.status().as_u16(),
        serde_json::from_str(&text).unwrap(),
    )
}

fn multipart(parts: &[(&str, Option<&str>, &str)]) -> String {
    let mut body = String::new();
    for (name, filename, value) in parts {
        body.push_str("--XyZ\r\nContent-Disposition: form-data; name=\"");
        body.push_str(name);
        body.push('"');
        if let Some(f) = filename {
            body.push_str(&format!("; filename=\"{f}\""));
        }
        body.push_str("\r\n\r\n");
        body.push_str(value);
        body.push_str("\r\n");
    }
    body.push_str("--XyZ--\r\n");
    body
}

#[test]
fn missing_fields_get_the_documented_400() {
    let emulator = emulator();
    let form = "multipart/form-data; boundary=XyZ";
    let cases = [
        (
            "/api/file-stream-upload",
            form,
            multipart(&[("file", Some("a.txt"), "data")]),
            "Missing required parameter: uploadPath",
        ),
        (
            "/api/file-stream-upload",
            form,
            multipart(&[("uploadPath", None, "p")]),
            "Missing required parameter: file",
        ),
        (
            "/api/file-base64-upload",
            "application/json",
            r#"{"uploadPath":"p"}"#.to_owned(),
            "Missing required parameter: base64Data",
        ),
        (
            "/api/file-base64-upload",
            "application/json",
            r#"{"base64Data":"aGk="}"#.to_owned(),
            "Missing required parameter: uploadPath",
        ),
        (
            "/api/file-url-upload",
            "application/json",
            r#"{"uploadPath":"p"}"#.to_owned(),
            "Missing required parameter: fileUrl",
        ),
    ];
    for (path, content_type, body, msg) in cases {
        let (status, reply) = post(path, &emulator, content_type, &body);
        assert_eq!(status, 400, "{path}: {reply}");
        assert_eq!(reply["success"], false);
        assert_eq!(reply["code"], 400);
        assert_eq!(reply["msg"], msg);
        assert!(reply.get("data").is_none());
    }
}

#[test]
fn a_data_url_and_plain_base64_both_work() {
    let emulator = emulator();
    for data in ["aGVsbG8=", "data:text/plain;base64,aGVsbG8="] {
        let body = format!(r#"{{"base64Data":"{data}","uploadPath":"b","fileName":"h.txt"}}"#);
        let (status, reply) = post(
            "/api/file-base64-upload",
            &emulator,
            "application/json",
            &body,
        );
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["data"]["fileSize"], 5);
        assert_eq!(emulator.stored("b/h.txt").unwrap(), b"hello");
    }
}

#[test]
fn wrong_methods_and_paths() {
    let emulator = emulator();
    let mut response = agent()
        .get(format!("{}/api/file-stream-upload", emulator.base_url()))
        .header("Authorization", format!("Bearer {KEY}"))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let _ = response.body_mut().read_to_string();
    let response = agent()
        .get(format!("{}/files/nothing/here.txt", emulator.base_url()))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[test]
fn a_missing_key_is_401() {
    let emulator = emulator();
    let mut response = agent()
        .post(format!("{}/api/file-url-upload", emulator.base_url()))
        .header("Content-Type", "application/json")
        .send(r#"{"fileUrl":"http://127.0.0.1:1/x","uploadPath":"p"}"#)
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let reply: Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(reply["code"], 401);
    assert!(!emulator.requests()[0].had_authorization);
}

#[test]
fn a_truncated_body_stores_nothing() {
    use std::io::Write;
    let emulator = emulator();
    let body = multipart(&[
        ("uploadPath", None, "p"),
        ("fileName", None, "cut.txt"),
        ("file", Some("cut.txt"), "0123456789"),
    ]);
    let mut stream =
        std::net::TcpStream::connect(emulator.base_url().trim_start_matches("http://")).unwrap();
    write!(
        stream,
        "POST /api/file-stream-upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n",
        body.len() + 100
    )
    .unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    assert!(emulator.stored("p/cut.txt").is_none());
}
