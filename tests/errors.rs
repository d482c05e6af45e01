//! Every way an upload can fail: refused locally with nothing sent, refused by the service, a proxy's
//! page, a truncated source, a reply that does not add up. None of them passes as a success, none
//! hangs, and none shows the key.

mod common;

use std::io::{self, Read};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use kie_upload::{Client, Error, Upload};
use kie_upload_emulator::{Config, Emulator};

/// Asserts the error shows no key in `Display` or `Debug`, and returns its message.
fn message(err: &Error) -> String {
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "the key leaked: {shown}");
    err.to_string()
}

fn invalid(result: Result<kie_upload::UploadedFile, Error>) -> String {
    match result {
        Err(e @ Error::InvalidInput(_)) => message(&e),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn validation_errors_send_nothing() {
    let emulator = emulator();
    let client = client(&emulator);
    let (dir, _) = temp_file("x.bin", b"x");

    let keyless = Client::builder()
        .base_url(emulator.base_url())
        .build()
        .unwrap_err();
    assert!(keyless.to_string().contains("missing API key"), "{keyless}");
    let empty_key = Client::builder()
        .api_key("")
        .base_url(emulator.base_url())
        .build()
        .unwrap_err();
    assert!(matches!(empty_key, Error::InvalidInput(_)));

    let cases: Vec<(&str, Result<_, _>)> = vec![
        (
            "missing API key",
            Client::new("").upload_bytes(b"x", "a", "p"),
        ),
        ("empty upload path", client.upload_bytes(b"x", "a.txt", "")),
        (
            "empty upload path",
            client.upload_bytes(b"x", "a.txt", "///"),
        ),
        ("`..` segment", client.upload_bytes(b"x", "a.txt", "a/../b")),
        ("`..` segment", client.upload_bytes(b"x", "a.txt", "..")),
        (
            "control character",
            client.upload_bytes(b"x", "a.txt", "a\nb"),
        ),
        (
            "control character",
            client.upload_bytes(b"x", "a\r\nb.txt", "p"),
        ),
        (
            "control character",
            client.upload_bytes(b"x", "a\0.txt", "p"),
        ),
        ("is a path", client.upload_bytes(b"x", "../a.txt", "p")),
        ("empty file name", client.upload_bytes(b"x", "", "p")),
        ("is a directory", client.upload_file(dir.path(), "p")),
        (
            "missing upload path",
            client.upload(Upload::bytes(b"x").file_name("a")),
        ),
        (
            "not a MIME type",
            client.upload(Upload::bytes(b"x").upload_path("p").content_type("x\r\ny")),
        ),
        (
            "declared length",
            client.upload(Upload::bytes(b"xyz").upload_path("p").length(5)),
        ),
    ];
    for (expected, result) in cases {
        let msg = invalid(result);
        assert!(
            msg.contains(expected),
            "{msg:?} should mention {expected:?}"
        );
    }
    assert!(emulator.requests().is_empty(), "{:?}", emulator.requests());
}

#[test]
fn a_missing_file_names_its_path() {
    let emulator = emulator();
    let client = client(&emulator);
    let (dir, _) = temp_file("x.bin", b"x");
    let missing = dir.path().join("nope.jpg");
    match client.upload_file(&missing, "p") {
        Err(e @ Error::Io { .. }) => {
            let msg = message(&e);
            assert!(msg.contains("nope.jpg"), "{msg}");
            let Error::Io { path, source } = e else {
                unreachable!()
            };
            assert_eq!(path.as_deref(), Some(missing.as_path()));
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(emulator.requests().is_empty());
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let err = Client::builder()
        .api_key(KEY)
        .base_url("http://upload.example.com")
        .build()
        .unwrap_err();
    assert!(message(&err).contains("clear text"), "{err}");
    Client::builder()
        .api_key(KEY)
        .base_url("http://upload.example.com")
        .allow_insecure_http(true)
        .build()
        .unwrap();
}

#[test]
fn a_wrong_key_is_refused_by_status() {
    let emulator = emulator();
    let client = Client::builder()
        .api_key("wrong-key")
        .base_url(emulator.base_url())
        .build()
        .unwrap();
    match client.upload_bytes(b"x", "a.txt", "p") {
        Err(
            e @ Error::Service {
                status: 401,
                code: 401,
                ..
            },
        ) => {
            assert!(message(&e).contains("check KIE_API_KEY"), "{e}");
            assert!(!e.is_retryable());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(emulator.requests()[0].status, 401);
}

#[test]
fn a_wrong_key_is_refused_inside_a_200() {
    let emulator = Emulator::start(Config::new(KEY).errors_in_body(true)).unwrap();
    let client = Client::builder()
        .api_key("wrong-key")
        .base_url(emulator.base_url())
        .build()
        .unwrap();
    match client.upload_bytes(b"x", "a.txt", "p") {
        Err(Error::Service {
            status: 200,
            code: 401,
            msg,
        }) => assert!(msg.contains("Unauthorized")),
        other => panic!("{other:?}"),
    }
    assert_eq!(emulator.requests()[0].status, 200);
}

#[test]
fn a_proxy_error_page_is_an_http_error() {
    let page = "<!DOCTYPE html><html><head><title>502: Bad gateway</title></head>\
                <body><h1>Bad gateway</h1><p>The origin is unreachable.</p></body></html>";
    let (base, _) = canned_server(http_reply("502 Bad Gateway", "text/html", page));
    let err = client_for(&base)
        .upload_bytes(b"x", "a.txt", "p")
        .unwrap_err();
    // A 502 is worth retrying: the default two retries were made.
    assert_eq!(err.attempts(), 3);
    match err.last() {
        Error::Http {
            status: 502,
            excerpt,
        } => assert_eq!(excerpt, "502: Bad gateway"),
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
    assert!(message(&err).starts_with("gave up after 3 attempts: HTTP 502"));
}

#[test]
fn a_redirect_is_reported_not_followed() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    target.set_nonblocking(true).unwrap();
    let location = format!("http://{}/elsewhere", target.local_addr().unwrap());
    let reply = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
    );
    let (base, _) = canned_server(reply.into_bytes());
    let err = client_for(&base)
        .upload_bytes(b"x", "a.txt", "p")
        .unwrap_err();
    match &err {
        Error::Http {
            status: 307,
            excerpt,
        } => assert!(excerpt.contains(&location)),
        other => panic!("{other:?}"),
    }
    // Nothing, and so no key, went to the redirect target.
    assert!(target.accept().is_err());
}

#[test]
fn a_wrong_file_size_is_never_a_success() {
    let reply = r#"{"success":true,"code":200,"data":{"fileName":"a.txt","downloadUrl":"http://x/a.txt","fileSize":2}}"#;
    let (base, _) = canned_server(http_reply("200 OK", "application/json", reply));
    match client_for(&base).upload_bytes(b"xyz", "a.txt", "p") {
        Err(
            e @ Error::SizeMismatch {
                sent: 3,
                reported: 2,
            },
        ) => {
            assert!(!e.is_retryable());
            message(&e);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_oversized_reply_is_refused() {
    let huge = format!(r#"{{"success":true,"pad":"{}"}}"#, "x".repeat(2 << 20));
    let (base, _) = canned_server(http_reply("200 OK", "application/json", &huge));
    match client_for(&base).upload_bytes(b"x", "a.txt", "p") {
        Err(Error::Decode { reason, .. }) => assert!(reason.contains("larger than"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_short_declared_length_fails_without_hanging() {
    let emulator = emulator();
    let client = client(&emulator);
    let result = within(Duration::from_secs(20), move || {
        client.upload(
            Upload::reader(Unsized(&payload(100_000)[..]))
                .length(150_000)
                .file_name("short.bin")
                .upload_path("p"),
        )
    });
    match result {
        Err(
            e @ Error::LengthMismatch {
                declared: 150_000,
                actual: 100_000,
            },
        ) => {
            assert!(message(&e).contains("ended after 100000"));
        }
        other => panic!("{other:?}"),
    }
    assert!(emulator.stored("p/short.bin").is_none());
}

#[test]
fn a_long_declared_length_fails_without_hanging() {
    let emulator = emulator();
    let client = client(&emulator);
    let result = within(Duration::from_secs(20), move || {
        client.upload(
            Upload::reader(Unsized(&payload(100_000)[..]))
                .length(60_000)
                .file_name("long.bin")
                .upload_path("p"),
        )
    });
    assert!(
        matches!(
            result,
            Err(Error::LengthMismatch {
                declared: 60_000,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(emulator.stored("p/long.bin").is_none());
}

/// A reader that fails after `good` bytes.
struct FailsAfter(usize);

impl Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("the tape snapped"));
        }
        let n = buf.len().min(self.0);
        buf[..n].fill(b'z');
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn a_failing_source_is_an_io_error_and_the_client_recovers() {
    let emulator = emulator();
    let client = client(&emulator);
    for length in [None, Some(1_000_000)] {
        let mut upload = Upload::reader(FailsAfter(300_000))
            .file_name("broken.bin")
            .upload_path("p");
        if let Some(n) = length {
            upload = upload.length(n);
        }
        match client.upload(upload) {
            Err(e @ Error::Io { path: None, .. }) => {
                assert!(message(&e).contains("the tape snapped"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert!(emulator.stored("p/broken.bin").is_none());
        // The same client, and its pool, still works.
        let file = client.upload_bytes(b"after", "ok.txt", "p").unwrap();
        assert_eq!(download(&client, &file.download_url), b"after");
    }
}

#[test]
fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Accept, read nothing, answer nothing; hold the socket open.
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(2).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(held);
    });
    let client = Client::builder()
        .api_key(KEY)
        .base_url(&base)
        .timeout(Duration::from_secs(1))
        .retries(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = within(Duration::from_secs(20), move || {
        client.upload_bytes(&payload(64 * 1024), "a.bin", "p")
    })
    .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(message(&err).contains("timed out"));
}

#[test]
fn a_service_error_keeps_its_message() {
    let reply = r#"{"success":false,"code":400,"msg":"Missing required parameter: uploadPath"}"#;
    let (base, _) = canned_server(http_reply("400 Bad Request", "application/json", reply));
    match client_for(&base).upload_bytes(b"x", "a.txt", "p") {
        Err(
            e @ Error::Service {
                status: 400,
                code: 400,
                ..
            },
        ) => {
            assert!(message(&e).contains("Missing required parameter: uploadPath"));
        }
        other => panic!("{other:?}"),
    }
}
