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
    client
        .upload(Upload::bytes(&data, "w").file_name("b.bin"))
        .unwrap();
    client
        .upload(
            Upload::reader(Unsized(&data[..]), "w")
                .length(5000)
                .file_name("r.bin"),
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
        .upload(Upload::reader(Unsized(&payload(100_000)[..]), "w").file_name("c.bin"))
        .unwrap();
    let r = &emulator.requests()[0];
    assert!(r.chunked);
    assert_eq!(r.content_length, None);
}

#[test]
fn text_fields_come_before_the_file() {
    let emulator = emulator();
    let client = client(&emulator);
    client
        .upload(Upload::bytes(b"data", "/a/b/").file_name("order.txt"))
        .unwrap();
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
        .upload(Upload::reader(Unsized(&b"x"[..]), "w"))
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
        let file = client
            .upload(Upload::bytes(b"payload", "names").file_name(name))
            .unwrap();
        assert_eq!(file.file_name, name);
        assert_eq!(file.file_path, format!("names/{name}"));
        assert_eq!(download(&client, &file.download_url), b"payload");
        let parts = &emulator.requests()[0].parts;
        // Three parts, whatever the name holds: nothing split or merged them.
        assert_eq!(parts.len(), 3, "{name:?}: {parts:?}");
        assert_eq!(parts[1].text, name);
        assert_eq!(parts[2].name, "file");
        assert_eq!(parts[2].size, 7);
        // The parser reads the whole quoted name, and does not undo the browser's %22.
        let expected = name.replace('"', "%22");
        assert_eq!(
            parts[2].filename.as_deref(),
            Some(expected.as_str()),
            "{name:?}"
        );
    }
}

#[test]
fn explicit_content_type_wins() {
    let emulator = emulator();
    let client = client(&emulator);
    client
        .upload(
            Upload::bytes(b"\x89PNG\r\n\x1a\nrest", "w")
                .file_name("v.png")
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
    let emulator = emulator();
    let client = client(&emulator);
    client
        .upload(Upload::bytes(b"abc", "w").file_name("h.txt"))
        .unwrap();
    let r = &emulator.requests()[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", STREAM));
    assert!(
        r.authorized,
        "the emulator did not see `Authorization: Bearer {KEY}`"
    );
    let content_type = r.content_type.as_deref().unwrap_or_default();
    assert!(
        content_type.starts_with("multipart/form-data; boundary=----kie-upload-"),
        "{content_type}"
    );
    let agent = r.header("user-agent").unwrap_or_default();
    assert!(agent.starts_with("kie-upload/"), "{agent}");
}

#[test]
fn small_bodies_go_without_expect_and_large_ones_ask_first() {
    let emulator = emulator();
    let client = client(&emulator);
    // The threshold is the body's length: the file plus a few hundred bytes of framing.
    client
        .upload(Upload::bytes(payload((1 << 20) - 1000), "w").file_name("small.bin"))
        .unwrap();
    client
        .upload(Upload::bytes(payload(1 << 20), "w").file_name("large.bin"))
        .unwrap();
    client
        .upload(Upload::reader(Unsized(&b"abc"[..]), "w").file_name("stream.bin"))
        .unwrap();
    let expect: Vec<_> = emulator
        .requests()
        .iter()
        .map(|r| r.expect_continue)
        .collect();
    assert_eq!(expect, [false, true, true]);
    let quiet = builder(&emulator).expect_continue(false).build().unwrap();
    emulator.clear_requests();
    quiet
        .upload(Upload::bytes(payload(2 << 20), "w").file_name("large.bin"))
        .unwrap();
    assert!(!emulator.requests()[0].expect_continue);
}

#[test]
fn downloads_carry_no_key() {
    let emulator = emulator();
    let client = client(&emulator);
    let file = client
        .upload(Upload::bytes(b"open", "w").file_name("d.txt"))
        .unwrap();
    download(&client, &file.download_url);
    let get = emulator.requests().pop().unwrap();
    assert_eq!(get.method, "GET");
    assert!(!get.had_authorization);
}
