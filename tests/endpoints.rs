//! The base64 and remote-URL endpoints: same result type, same checks, same errors.

mod common;

use common::*;
use kie_upload::{ErrorKind, Upload, UrlUpload, BASE64_MAX};
use kie_upload_emulator::Fault;

#[test]
fn base64_round_trip_with_a_data_url() {
    let emulator = emulator();
    let client = client(&emulator);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(payload(10_000));
    let file = client
        .upload_base64(Upload::bytes(&png, "images").file_name("a.png"))
        .unwrap();
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
        let file = client
            .upload_base64(Upload::bytes(&data, "mod3").file_name(&name))
            .unwrap();
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
        .upload_base64(
            Upload::file(&path, "docs").on_progress(|sent, total| last = Some((sent, total))),
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
    // The kind says what to do (use the stream endpoint) and carries the length; the line says
    // what failed.
    let refused = |upload: Upload<'_>, length: Option<u64>, expect: &str| {
        let e = client.upload_base64(upload).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Base64Refused { length: l, .. } if *l == length),
            "{e:?}"
        );
        assert_eq!(e.attempts(), 0);
        assert!(message(&e).contains(expect), "{e}");
    };
    refused(
        Upload::bytes(&big, "p").file_name("big.bin"),
        Some(BASE64_MAX + 1),
        "over the base64 limit",
    );
    refused(
        Upload::bytes(b"", "p").file_name("empty.bin"),
        Some(0),
        "empty",
    );
    refused(
        Upload::reader(Unsized(&b"abc"[..]), "p").file_name("r"),
        None,
        "known length",
    );
    // A file whose size reads as 0 although it holds data: its length is not known.
    #[cfg(target_os = "linux")]
    refused(Upload::file("/proc/self/status", "p"), None, "known length");
    assert!(emulator.requests().is_empty());
}

#[test]
fn the_service_s_base64_refusal_is_read() {
    let body = r#"{"success":false,"code":400,"msg":"Invalid base64 data"}"#;
    let emulator = emulator();
    emulator.inject(
        Fault::Raw {
            bytes: http_reply("200 OK", "application/json", body),
        },
        1,
    );
    let e = client(&emulator)
        .upload_base64(Upload::bytes(b"x", "p").file_name("x"))
        .unwrap_err();
    match e.kind() {
        ErrorKind::Service { code: 400, msg, .. } => assert!(msg.contains("Invalid base64")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn url_upload_fetches_and_keeps_the_url_exactly() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(50_000);
    let source = client
        .upload(Upload::bytes(&data, "origin").file_name("src.bin"))
        .unwrap();
    // The emulator serves its own files; a query string and an escape must survive untouched.
    let url = format!("{}?token=a%2Fb&x=1", source.download_url);

    let file = client
        .upload_url(UrlUpload::new(&url, "fetched").file_name("copy.bin"))
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
        .upload(Upload::bytes(b"hello", "origin").file_name("hello.txt"))
        .unwrap();
    let file = client
        .upload_url(UrlUpload::new(&source.download_url, "/fetched/"))
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
    let e = client
        .upload_url(UrlUpload::new(
            format!("http://127.0.0.1:{port}/gone.png"),
            "p",
        ))
        .unwrap_err();
    match e.kind() {
        ErrorKind::Service { code: 400, msg, .. } => {
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
        let e = client.upload_url(UrlUpload::new(url, "p")).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::InvalidInput { .. }),
            "{url}: {e:?}"
        );
        assert!(e.to_string().contains("URL"), "{e}");
    }
    let e = client
        .upload_url(UrlUpload::new("https://example.com/a.png", "a/../b"))
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }));
    assert!(emulator.requests().is_empty());
}

#[test]
fn url_upload_auth_failure() {
    let emulator = emulator();
    let client = builder(&emulator).api_key("bad").build().unwrap();
    let e = client
        .upload_url(UrlUpload::new("https://example.com/a.png", "p"))
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Service { code: 401, .. }),
        "{e:?}"
    );
}
