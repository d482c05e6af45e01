//! What goes on the wire: framing, field order, names as an independent parser reads them, headers.

mod common;

use common::*;
use kie_upload::Upload;

#[test]
fn sized_sources_send_content_length() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(5000);
    let (_dir, path) = temp_file("f.bin", &data);
    client.upload_file(&path, "w").unwrap();
    client.upload_bytes(&data, "b.bin", "w").unwrap();
    client
        .upload(
            Upload::reader(Unsized(&data[..]))
                .length(5000)
                .file_name("r.bin")
                .upload_path("w"),
        )
        .unwrap();
    let requests = emulator.requests();
    assert_eq!(requests.len(), 3);
    for r in requests {
        assert!(!r.chunked, "{r:?}");
        let length = r.content_length.expect("a Content-Length");
        // The body is the data plus a few hundred bytes of part heads.
        assert!(length > 5000 && length < 5600, "{length}");
    }
}

#[test]
fn unsized_sources_send_chunked() {
    let emulator = emulator();
    let client = client(&emulator);
    client
        .upload_reader(Unsized(&payload(100_000)[..]), "c.bin", "w")
        .unwrap();
    let r = &emulator.requests()[0];
    assert!(r.chunked);
    assert_eq!(r.content_length, None);
}

#[test]
fn text_fields_come_before_the_file() {
    let emulator = emulator();
    let client = client(&emulator);
    client.upload_bytes(b"data", "order.txt", "/a/b/").unwrap();
    let parts = &emulator.requests()[0].parts;
    let names: Vec<_> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["uploadPath", "fileName", "file"]);
    assert_eq!(parts[0].text, "a/b");
    assert_eq!(parts[1].text, "order.txt");
    assert_eq!(parts[2].filename.as_deref(), Some("order.txt"));
    assert_eq!(parts[2].content_type.as_deref(), Some("text/plain"));
    assert_eq!(parts[2].size, 4);
}

#[test]
fn a_reader_without_a_name_still_sends_a_filename() {
    let emulator = emulator();
    let client = client(&emulator);
    client
        .upload(Upload::reader(Unsized(&b"x"[..])).upload_path("w"))
        .unwrap();
    let parts = &emulator.requests()[0].parts;
    let names: Vec<_> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["uploadPath", "file"]);
    assert_eq!(parts[1].filename.as_deref(), Some("blob"));
    assert_eq!(
        parts[1].content_type.as_deref(),
        Some("application/octet-stream")
    );
}

#[test]
fn awkward_names_arrive_as_sent() {
    let emulator = emulator();
    let client = client(&emulator);
    for name in [
        "quote\"d.txt",
        "semi;colon.txt",
        "ünïcødé ə.txt",
        "it's a \\ name.txt",
        "name=\"x\".txt",
    ] {
        emulator.clear_requests();
        let file = client.upload_bytes(b"payload", name, "names").unwrap();
        assert_eq!(file.file_name, name);
        assert_eq!(file.file_path, format!("names/{name}"));
        assert_eq!(download(&client, &file.download_url), b"payload");
        let parts = &emulator.requests()[0].parts;
        // Three parts, whatever the name holds: nothing split or merged them.
        assert_eq!(parts.len(), 3, "{name:?}: {parts:?}");
        assert_eq!(parts[1].text, name);
        assert_eq!(parts[2].name, "file");
        assert_eq!(parts[2].size, 7);
        // The parser does not undo %22 and stops the parameter at `;`.
        let expected = name.replace('"', "%22");
        let expected = expected.split(';').next().unwrap();
        assert_eq!(parts[2].filename.as_deref(), Some(expected), "{name:?}");
    }
}

#[test]
fn explicit_content_type_wins() {
    let emulator = emulator();
    let client = client(&emulator);
    client
        .upload(
            Upload::bytes(b"\x89PNG\r\n\x1a\nrest")
                .file_name("v.png")
                .upload_path("w")
                .content_type("video/mp4"),
        )
        .unwrap();
    assert_eq!(
        emulator.requests()[0].parts[2].content_type.as_deref(),
        Some("video/mp4")
    );
}

#[test]
fn headers_carry_the_key_and_the_boundary() {
    let (base, heads) = canned_server(http_reply(
        "200 OK",
        "application/json",
        r#"{"success":true,"code":200,"data":{"downloadUrl":"http://x/y","fileSize":3}}"#,
    ));
    let client = client_for(&base);
    client.upload_bytes(b"abc", "h.txt", "w").unwrap();
    let head = heads.recv().unwrap();
    assert!(
        head.starts_with("POST /api/file-stream-upload HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains(&format!("authorization: Bearer {KEY}\r\n"))
            || head.contains(&format!("Authorization: Bearer {KEY}\r\n"))
    );
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("content-type: multipart/form-data; boundary=----kie-upload-"));
    assert!(lower.contains("user-agent: kie-upload/"));
}

#[test]
fn downloads_carry_no_key() {
    let emulator = emulator();
    let client = client(&emulator);
    let file = client.upload_bytes(b"open", "d.txt", "w").unwrap();
    download(&client, &file.download_url);
    let get = emulator.requests().pop().unwrap();
    assert_eq!(get.method, "GET");
    assert!(!get.had_authorization);
}
