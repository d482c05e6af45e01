//! Uploads through the real client to the emulator over loopback, and the bytes that come back.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::*;
use kie_upload::{ErrorKind, Upload, RETENTION};

#[test]
fn file_round_trip() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(300_000);
    let (_dir, path) = temp_file("photo.bin", &data);

    let file = client.upload_file(&path, "/images/user-uploads/").unwrap();

    assert_eq!(file.file_name, "photo.bin");
    assert_eq!(file.file_path, "images/user-uploads/photo.bin");
    assert_eq!(file.file_size, data.len() as u64);
    assert_eq!(download(&client, &file.download_url), data);
    assert_eq!(
        emulator.stored("images/user-uploads/photo.bin").unwrap(),
        data
    );
}

#[test]
fn bytes_round_trip() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(70_001);
    let file = client
        .upload(Upload::bytes(&data, "blobs").file_name("a.bin"))
        .unwrap();
    assert_eq!(file.file_path, "blobs/a.bin");
    assert_eq!(download(&client, &file.download_url), data);
}

#[test]
fn owned_bytes_round_trip_by_length_and_are_sent_whole_again_on_a_retry() {
    let emulator = emulator();
    let client = client(&emulator);
    emulator.inject(
        kie_upload_emulator::Fault::Status {
            status: 503,
            retry_after: Some("0".into()),
        },
        1,
    );
    // Buffers made on the way and handed over: nothing outlives the iterator.
    let uploads = (0..2u8).map(|i| {
        let data = payload(70_001 + usize::from(i));
        Upload::bytes(data, "owned").file_name(format!("{i}.bin"))
    });
    let mut results = Vec::new();
    client.upload_all(uploads, 1, |i, result| results.push((i, result)));
    assert_eq!(results.len(), 2);
    for (i, result) in results {
        let file = result.unwrap();
        let data = payload(70_001 + i);
        assert_eq!(file.file_size, data.len() as u64);
        assert!(download(&client, &file.download_url) == data, "upload {i}");
    }
    assert_eq!(emulator.attempts(STREAM), 3, "one retry");
    for request in emulator.requests().iter().filter(|r| r.path == STREAM) {
        assert!(
            !request.chunked && request.content_length.is_some(),
            "{request:?}"
        );
    }
}

#[test]
fn reader_of_unknown_length_round_trip() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(1_000_003);
    let file = client
        .upload(Upload::reader(Unsized(&data[..]), "streams").file_name("stream.bin"))
        .unwrap();
    assert_eq!(file.file_size, data.len() as u64);
    assert_eq!(download(&client, &file.download_url), data);
}

#[test]
fn empty_source_round_trip() {
    let emulator = emulator();
    let client = client(&emulator);
    let file = client
        .upload(Upload::bytes(b"", "blobs").file_name("empty.txt"))
        .unwrap();
    assert_eq!(file.file_size, 0);
    assert!(download(&client, &file.download_url).is_empty());
}

#[test]
fn progress_adds_up_to_the_size() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(1 << 20);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&calls);
    client
        .upload(
            Upload::bytes(&data, "p")
                .file_name("p.bin")
                .on_progress(move |sent, total| seen.lock().unwrap().push((sent, total))),
        )
        .unwrap();
    let calls = calls.lock().unwrap();
    assert_eq!(calls.last(), Some(&(1 << 20, Some(1 << 20))));
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0));
    // At most one call per 64 KiB, plus the last.
    assert!(calls.len() <= 17, "{} calls", calls.len());
}

#[test]
fn progress_of_a_reader_ends_at_its_size() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(200_000);
    let mut last = None;
    client
        .upload(
            Upload::reader(Unsized(&data[..]), "p")
                .file_name("r.bin")
                .on_progress(|sent, total| last = Some((sent, total))),
        )
        .unwrap();
    assert_eq!(last, Some((200_000, None)));
}

#[test]
fn base_url_with_a_path_prefix() {
    let emulator = emulator();
    let client = builder_for(&format!("{}/proxy/kie/", emulator.base_url()))
        .build()
        .unwrap();
    client
        .upload(Upload::bytes(b"hi", "x").file_name("a.txt"))
        .unwrap();
    assert_eq!(
        emulator.requests()[0].path,
        "/proxy/kie/api/file-stream-upload"
    );
}

#[test]
fn same_path_and_name_overwrites() {
    let emulator = emulator();
    let client = client(&emulator);
    let first = client
        .upload(Upload::bytes(b"first", "dir").file_name("same.txt"))
        .unwrap();
    let second = client
        .upload(Upload::bytes(b"second!", "dir").file_name("same.txt"))
        .unwrap();
    assert_eq!(first.file_path, second.file_path);
    assert_eq!(download(&client, &second.download_url), b"second!");
}

#[test]
fn without_a_file_name_the_service_picks_one() {
    let emulator = emulator();
    let client = client(&emulator);
    let file = client
        .upload(Upload::reader(Unsized(&b"abc"[..]), "anon"))
        .unwrap();
    assert!(file.file_path.starts_with("anon/"));
    assert!(file.file_name.len() >= 8, "{}", file.file_name);
    assert_eq!(download(&client, &file.download_url), b"abc");
}

#[test]
fn mime_type_and_expiry_come_back() {
    let emulator = emulator();
    let client = client(&emulator);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(payload(1000));
    let file = client
        .upload(Upload::bytes(&png, "images").file_name("pic"))
        .unwrap();
    assert_eq!(file.mime_type, "image/png");
    let expires = file.expires_at().unwrap();
    let now = SystemTime::now();
    assert!(expires > now + RETENTION - Duration::from_secs(60));
    assert!(expires <= now + RETENTION + Duration::from_secs(1));
    assert!(!file.is_expired_at(now));
}

#[test]
fn download_is_gone_after_the_ttl() {
    let emulator =
        emulator_with(kie_upload_emulator::Config::new(KEY).ttl(Duration::from_millis(200)));
    let client = client(&emulator);
    let file = client
        .upload(Upload::bytes(b"short-lived", "tmp").file_name("t.txt"))
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let mut sink = Vec::new();
    let err = client
        .download_to(&file.download_url, &mut sink)
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Http { status: 404, .. }),
        "{err:?}"
    );
}

#[test]
fn one_client_serves_several_threads() {
    let emulator = emulator();
    let client = client(&emulator);
    std::thread::scope(|s| {
        for i in 0..4 {
            let client = &client;
            s.spawn(move || {
                let data = payload(10_000 + i);
                let file = client
                    .upload(Upload::bytes(&data, "threads").file_name(format!("t{i}.bin")))
                    .unwrap();
                assert_eq!(download(client, &file.download_url), data);
            });
        }
    });
}

#[test]
fn a_download_follows_redirects() {
    use std::io::{BufRead, BufReader, Write};
    let emulator = emulator();
    let client = client(&emulator);
    let file = client
        .upload(Upload::bytes(b"moved", "r").file_name("m.txt"))
        .unwrap();
    // A server that only points elsewhere, as a CDN in front of storage may.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let moved = format!("http://{}/moved", listener.local_addr().unwrap());
    let target = file.download_url.clone();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let reply =
            format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 5\r\n\r\nmoved");
        (&stream).write_all(reply.as_bytes()).unwrap();
    });
    assert_eq!(download(&client, &moved), b"moved");
}
