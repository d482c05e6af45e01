//! The base64 and remote-URL endpoints: same result type, same checks, same errors.

mod common;

use std::io::Read;

use common::*;
use kie_upload::{Error, Upload, BASE64_MAX};

#[test]
fn base64_round_trip_with_a_data_url() {
    let emulator = emulator();
    let client = client(&emulator);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(payload(10_000));
    let file = client.upload_base64(&png, "a.png", "images").unwrap();
    assert_eq!(file.file_path, "images/a.png");
    assert_eq!(file.file_size, png.len() as u64);
    assert_eq!(file.mime_type, "image/png");
    assert_eq!(download(&client, &file.download_url), png);

    let r = &emulator.requests()[0];
    assert_eq!(r.path, "/api/file-base64-upload");
    assert!(!r.chunked);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.json_fields["uploadPath"], "images");
    assert_eq!(r.json_fields["fileName"], "a.png");
    let data = &r.json_fields["base64Data"];
    assert!(
        data.starts_with("data:image/png;base64,iVBORw0KGg"),
        "{data}"
    );
}

#[test]
fn base64_of_every_length_mod_3_round_trips() {
    let emulator = emulator();
    let client = client(&emulator);
    for len in [1usize, 2, 3, 4, 5, 49_151, 49_152, 49_153] {
        let data = payload(len);
        let name = format!("n{len}");
        let file = client.upload_base64(&data, &name, "mod3").unwrap();
        assert_eq!(file.file_size, len as u64);
        assert_eq!(download(&client, &file.download_url), data, "len {len}");
        // No extension, no content type: plain base64.
        let last = emulator
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.method == "POST")
            .unwrap();
        assert!(!last.json_fields["base64Data"].starts_with("data:"));
    }
}

#[test]
fn base64_from_a_file_with_progress() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(1_000_001);
    let (_dir, path) = temp_file("doc.txt", &data);
    let mut last = None;
    let file = client
        .upload_as_base64(
            Upload::file(&path)
                .upload_path("docs")
                .on_progress(|sent, total| last = Some((sent, total))),
        )
        .unwrap();
    assert_eq!(file.file_name, "doc.txt");
    assert_eq!(download(&client, &file.download_url), data);
    assert_eq!(last, Some((1_000_001, Some(1_000_001))));
}

#[test]
fn base64_refuses_oversize_empty_and_unknown_length_sources_locally() {
    let emulator = emulator();
    let client = client(&emulator);
    let big = vec![0u8; BASE64_MAX as usize + 1];
    match client.upload_base64(&big, "big.bin", "p") {
        Err(Error::InvalidInput(msg)) => assert!(msg.contains("stream endpoint"), "{msg}"),
        other => panic!("{other:?}"),
    }
    match client.upload_base64(b"", "empty.bin", "p") {
        Err(Error::InvalidInput(msg)) => assert!(msg.contains("empty"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let reader = Unsized(&b"abc"[..]);
    match client.upload_as_base64(Upload::reader(reader).file_name("r").upload_path("p")) {
        Err(Error::InvalidInput(msg)) => assert!(msg.contains("known length"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert!(emulator.requests().is_empty());
}

#[test]
fn invalid_base64_is_a_400() {
    // Our client cannot produce invalid base64, so this speaks to the emulator directly and then
    // checks how the client reads such a reply.
    let emulator = emulator();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut response = agent
        .post(format!("{}/api/file-base64-upload", emulator.base_url()))
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Content-Type", "application/json")
        .send(r#"{"base64Data":"not base64!","uploadPath":"p","fileName":"x"}"#)
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let mut body = String::new();
    response
        .body_mut()
        .as_reader()
        .read_to_string(&mut body)
        .unwrap();
    assert!(
        body.contains(r#""code":400"#) && body.contains("Invalid base64"),
        "{body}"
    );

    let (base, _) = canned_server(http_reply("400 Bad Request", "application/json", &body));
    match client_for(&base).upload_base64(b"x", "x", "p") {
        Err(Error::Service { code: 400, msg, .. }) => assert!(msg.contains("Invalid base64")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn url_upload_fetches_and_keeps_the_url_exactly() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(50_000);
    let source = client.upload_bytes(&data, "src.bin", "origin").unwrap();
    // The emulator serves its own files; a query string and an escape must survive untouched.
    let url = format!("{}?token=a%2Fb&x=1", source.download_url);

    let file = client
        .upload_url(&url, "fetched", Some("copy.bin"))
        .unwrap();
    assert_eq!(file.file_path, "fetched/copy.bin");
    assert_eq!(file.file_size, 50_000);
    assert_eq!(download(&client, &file.download_url), data);
    let r = emulator
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/file-url-upload")
        .unwrap();
    assert_eq!(r.json_fields["fileUrl"], url);
    assert_eq!(r.json_fields["uploadPath"], "fetched");
}

#[test]
fn url_upload_without_a_name_takes_it_from_the_url() {
    let emulator = emulator();
    let client = client(&emulator);
    let source = client
        .upload_bytes(b"hello", "hello.txt", "origin")
        .unwrap();
    let file = client
        .upload_url(&source.download_url, "/fetched/", None)
        .unwrap();
    assert_eq!(file.file_path, "fetched/hello.txt");
    let r = emulator
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/file-url-upload")
        .unwrap();
    assert!(!r.json_fields.contains_key("fileName"));
}

#[test]
fn an_unreachable_url_is_the_service_s_error() {
    let emulator = emulator();
    let client = client(&emulator);
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    match client.upload_url(&format!("http://127.0.0.1:{port}/gone.png"), "p", None) {
        Err(Error::Service { code: 400, msg, .. }) => {
            assert!(msg.contains("Failed to download"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_http_urls_are_refused_locally() {
    let emulator = emulator();
    let client = client(&emulator);
    for url in [
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "/relative/a.png",
        "example.com/a.png",
        "https://",
        "https://exa mple.com/a.png",
    ] {
        match client.upload_url(url, "p", None) {
            Err(Error::InvalidInput(msg)) => assert!(msg.contains("URL"), "{msg}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    assert!(matches!(
        client.upload_url("https://example.com/a.png", "a/../b", None),
        Err(Error::InvalidInput(_))
    ));
    assert!(emulator.requests().is_empty());
}

#[test]
fn url_upload_auth_failure() {
    let emulator = emulator();
    let client = kie_upload::Client::builder()
        .api_key("bad")
        .base_url(emulator.base_url())
        .build()
        .unwrap();
    assert!(matches!(
        client.upload_url("https://example.com/a.png", "p", None),
        Err(Error::Service { code: 401, .. })
    ));
}
