//! Every way an upload can fail: refused locally with nothing sent, refused by the service, a proxy's
//! page, a truncated source, a reply that does not add up. None of them passes as a success, none
//! hangs, none shows the key, and none lets a server's text steer the terminal.

mod common;

use std::io::{self, Read};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use kie_upload::{Client, Error, ErrorKind, Upload, UploadedFile, UrlUpload};
use kie_upload_emulator::{Config, Fault};

/// The message of an error refused locally: bad input, or (for the key) an unusable key.
fn invalid(result: Result<UploadedFile, Error>) -> String {
    match result {
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::InvalidInput { .. } | ErrorKind::ApiKey { .. }
            ) =>
        {
            assert_eq!(e.attempts(), 0);
            message(&e)
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

fn named<'a>(bytes: &'a [u8], name: &str, upload_path: &str) -> Upload<'a> {
    Upload::bytes(bytes, upload_path).file_name(name)
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
    assert_eq!(keyless.to_string(), "missing API key");
    // What to do is the kind's: give a key. None was set anywhere.
    assert!(matches!(keyless.kind(), ErrorKind::ApiKey { .. }));
    assert_eq!((keyless.setting(), keyless.attempts()), (None, 0));
    let empty_key = Client::builder()
        .api_key("")
        .base_url(emulator.base_url())
        .build()
        .unwrap_err();
    assert!(matches!(empty_key.kind(), ErrorKind::ApiKey { .. }));

    let cases: Vec<(&str, Result<_, _>)> = vec![
        (
            "missing API key",
            Client::new("").upload(named(b"x", "a", "p")),
        ),
        ("empty upload path", client.upload(named(b"x", "a.txt", ""))),
        (
            "empty upload path",
            client.upload(named(b"x", "a.txt", "///")),
        ),
        (
            "`..` segment",
            client.upload(named(b"x", "a.txt", "a/../b")),
        ),
        ("`..` segment", client.upload(named(b"x", "a.txt", ".."))),
        (
            "control character",
            client.upload(named(b"x", "a.txt", "a\nb")),
        ),
        (
            "control character",
            client.upload(named(b"x", "a\r\nb.txt", "p")),
        ),
        (
            "control character",
            client.upload(named(b"x", "a\0.txt", "p")),
        ),
        ("is a path", client.upload(named(b"x", "../a.txt", "p"))),
        ("empty file name", client.upload(named(b"x", "", "p"))),
        ("is a directory", client.upload_file(dir.path(), "p")),
        (
            "not a MIME type",
            client.upload(Upload::bytes(b"x", "p").content_type("x\r\ny")),
        ),
        (
            "declared length",
            client.upload(Upload::bytes(b"xyz", "p").length(5)),
        ),
        (
            "not an absolute http",
            client.upload_url(UrlUpload::new("file:///etc/passwd", "p")),
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
fn a_missing_file_names_its_path_once() {
    let emulator = emulator();
    let client = client(&emulator);
    let (dir, _) = temp_file("x.bin", b"x");
    let missing = dir.path().join("nope.jpg");
    let e = client.upload_file(&missing, "p").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Io);
    assert_eq!(e.path(), Some(missing.as_path()));
    let msg = message(&e);
    assert_eq!(msg.matches("nope.jpg").count(), 1, "{msg}");
    let source = std::error::Error::source(&e).unwrap();
    let source = source.downcast_ref::<io::Error>().unwrap();
    assert_eq!(source.kind(), io::ErrorKind::NotFound);
    assert_eq!(
        e.io_error().map(io::Error::kind),
        Some(io::ErrorKind::NotFound)
    );
    assert!(emulator.requests().is_empty());
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    for host in ["http://upload.example.com", "http://evil.localhost:8080"] {
        let err = Client::builder()
            .api_key(KEY)
            .base_url(host)
            .build()
            .unwrap_err();
        assert!(message(&err).contains("clear text"), "{err}");
        assert!(
            matches!(err.kind(), ErrorKind::InsecureHttp { base_url, .. } if base_url == host),
            "{err:?}"
        );
        assert_eq!(err.attempts(), 0);
    }
    Client::builder()
        .api_key(KEY)
        .base_url("http://upload.example.com")
        .allow_insecure_http(true)
        .build()
        .unwrap();
}

#[test]
fn absurd_durations_are_refused_not_panicked_on() {
    for builder in [
        Client::builder().timeout(Duration::from_secs(u64::MAX)),
        Client::builder().reply_timeout(Duration::MAX),
        Client::builder().retry_backoff(Duration::from_secs(u64::MAX)),
    ] {
        let err = builder.api_key(KEY).build().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidInput { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("maximum"), "{err}");
    }
}

#[test]
fn a_wrong_key_is_refused_by_status_and_inside_a_200() {
    for errors_in_body in [false, true] {
        let emulator = emulator_with(Config::new(KEY).errors_in_body(errors_in_body));
        let client = builder(&emulator).api_key("wrong-key").build().unwrap();
        let e = client.upload(named(b"x", "a.txt", "p")).unwrap_err();
        let status = if errors_in_body { 200 } else { 401 };
        match e.kind() {
            ErrorKind::Service {
                status: s,
                code: 401,
                msg,
                ..
            } => {
                assert_eq!(*s, status);
                assert!(msg.contains("Unauthorized"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        message(&e);
        // The key was given in code: no variable or file to point at.
        assert_eq!(e.setting(), None);
        assert!(!e.is_retryable());
        assert_eq!(emulator.requests()[0].status, status);
    }
}

#[test]
fn a_proxy_error_page_is_an_http_error() {
    let page = "<!DOCTYPE html><html><head><title>502: Bad gateway</title></head>\
                <body><h1>Bad gateway</h1><p>The origin is unreachable.</p></body></html>";
    let emulator = emulator();
    emulator.inject(
        Fault::Raw {
            bytes: http_reply("502 Bad Gateway", "text/html", page),
        },
        3,
    );
    let err = client(&emulator)
        .upload(named(b"x", "a.txt", "p"))
        .unwrap_err();
    // A 502 is worth retrying: the default two retries were made.
    assert_eq!(err.attempts(), 3);
    assert!(
        matches!(err.kind(), ErrorKind::Http { status: 502, excerpt, .. } if excerpt == "502: Bad gateway"),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        err.not_retried(),
        Some(kie_upload::NotRetried::OutOfRetries)
    );
    let msg = message(&err);
    assert_eq!(
        msg,
        "HTTP 502 with a body that is not the service's JSON: \"502: Bad gateway\""
    );
}

#[test]
fn a_redirect_is_reported_not_followed() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    target.set_nonblocking(true).unwrap();
    let location = format!("http://{}/elsewhere", target.local_addr().unwrap());
    let reply = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
    );
    let emulator = emulator();
    emulator.inject(
        Fault::Raw {
            bytes: reply.into_bytes(),
        },
        1,
    );
    let err = client(&emulator)
        .upload(named(b"x", "a.txt", "p"))
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Redirect { status: 307, location: l, .. } if *l == location),
        "{err:?}"
    );
    // Nothing, and so no key, went to the redirect target.
    assert!(target.accept().is_err());
}

#[test]
fn a_wrong_file_size_is_never_a_success() {
    let reply = r#"{"success":true,"code":200,"data":{"fileName":"a.txt","downloadUrl":"http://x/a.txt","fileSize":2}}"#;
    let emulator = emulator();
    emulator.inject(
        Fault::Raw {
            bytes: http_reply("200 OK", "application/json", reply),
        },
        1,
    );
    let e = client(&emulator)
        .upload(named(b"xyz", "a.txt", "p"))
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::StoredSizeMismatch {
                sent: 3,
                stored: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    message(&e);
}

#[test]
fn a_success_without_a_usable_url_is_a_bad_reply() {
    let emulator = emulator();
    let client = client(&emulator);
    for (field, url) in [
        ("downloadUrl", "http://"),
        ("downloadUrl", "https:///etc/passwd"),
        ("downloadUrl", "ftp://x/y"),
        ("downloadUrl", "/files/a.txt"),
        ("fileUrl", "https://:443/a.txt"),
    ] {
        let reply = format!(
            r#"{{"success":true,"code":200,"data":{{"fileName":"a.txt","{field}":"{url}","fileSize":1}}}}"#
        );
        emulator.inject(
            Fault::Raw {
                bytes: http_reply("200 OK", "application/json", &reply),
            },
            1,
        );
        let e = client.upload(named(b"x", "a.txt", "p")).expect_err(url);
        match e.kind() {
            ErrorKind::BadReply { reason, .. } => {
                assert!(reason.contains(field), "{url}: {reason}")
            }
            other => panic!("{url}: {other:?}"),
        }
        message(&e);
    }
}

#[test]
fn an_oversized_reply_is_refused() {
    let huge = format!(r#"{{"success":true,"pad":"{}"}}"#, "x".repeat(2 << 20));
    let emulator = emulator();
    emulator.inject(
        Fault::Raw {
            bytes: http_reply("200 OK", "application/json", &huge),
        },
        1,
    );
    let e = client(&emulator)
        .upload(named(b"x", "a.txt", "p"))
        .unwrap_err();
    match e.kind() {
        ErrorKind::BadReply { reason, .. } => assert!(reason.contains("larger than"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_short_declared_length_fails_without_hanging() {
    let emulator = emulator();
    let client = client(&emulator);
    let result = within(Duration::from_secs(20), move || {
        client.upload(
            Upload::reader(Unsized(&payload(100_000)[..]), "p")
                .length(150_000)
                .file_name("short.bin"),
        )
    });
    let e = result.unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::SourceLengthMismatch {
                declared: 150_000,
                actual: 100_000,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(message(&e).contains("ended after 100000"));
    assert!(emulator.stored("p/short.bin").is_none());
}

#[test]
fn a_long_declared_length_fails_without_hanging() {
    let emulator = emulator();
    let client = client(&emulator);
    let result = within(Duration::from_secs(20), move || {
        client.upload(
            Upload::reader(Unsized(&payload(100_000)[..]), "p")
                .length(60_000)
                .file_name("long.bin"),
        )
    });
    let e = result.unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::SourceLengthMismatch {
                declared: 60_000,
                ..
            }
        ),
        "{e:?}"
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
        let mut upload = Upload::reader(FailsAfter(300_000), "p").file_name("broken.bin");
        if let Some(n) = length {
            upload = upload.length(n);
        }
        let e = client.upload(upload).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Io);
        assert_eq!(e.path(), None);
        let cause = std::error::Error::source(&e).unwrap().to_string();
        assert!(cause.contains("the tape snapped"), "{cause}");
        message(&e);
        assert!(emulator.stored("p/broken.bin").is_none());
        // The same client, and its pool, still works.
        let file = client.upload(named(b"after", "ok.txt", "p")).unwrap();
        assert_eq!(download(&client, &file.download_url), b"after");
    }
}

#[test]
fn a_cancelled_upload_is_never_a_success() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(4 << 20);
    let e = client
        .upload(
            Upload::bytes(&data, "p")
                .file_name("cancel.bin")
                .on_progress(|sent, _| {
                    if sent >= 1 << 20 {
                        kie_upload::Progress::Cancel
                    } else {
                        kie_upload::Progress::Continue
                    }
                }),
        )
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Cancelled);
    assert!(!e.is_retryable());
    assert!(emulator.stored("p/cancel.bin").is_none());
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
    let client = builder_for(&base)
        .timeout(Duration::from_secs(1))
        .retries(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = within(Duration::from_secs(20), move || {
        client.upload(Upload::bytes(payload(64 * 1024), "p").file_name("a.bin"))
    })
    .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Timeout, "{err:?}");
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
    let emulator = emulator();
    emulator.inject(
        Fault::Raw {
            bytes: http_reply("400 Bad Request", "application/json", reply),
        },
        1,
    );
    let e = client(&emulator)
        .upload(named(b"x", "a.txt", "p"))
        .unwrap_err();
    assert!(matches!(
        e.kind(),
        ErrorKind::Service {
            status: 400,
            code: 400,
            ..
        }
    ));
    assert!(message(&e).contains("Missing required parameter: uploadPath"));
}

#[test]
fn a_refusal_without_a_code_is_the_service_s_message_not_retried() {
    for body in [
        r#"{"success":false,"code":200,"msg":"quota rules changed"}"#,
        r#"{"success":false,"msg":"quota rules changed"}"#,
        r#"{"success":"false","code":200,"msg":"quota rules changed","data":{"downloadUrl":"http://x/a"}}"#,
    ] {
        let emulator = emulator();
        emulator.inject(
            Fault::Raw {
                bytes: http_reply("200 OK", "application/json", body),
            },
            3,
        );
        let e = client(&emulator)
            .upload(named(b"x", "a.txt", "p"))
            .unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Service { code: 0, .. }),
            "{body}: {e:?}"
        );
        assert!(message(&e).contains("quota rules changed"), "{e}");
        assert_eq!(e.attempts(), 1, "{body}");
        assert_eq!(emulator.attempts(STREAM), 1, "{body}");
    }
}

#[test]
fn an_echoed_key_is_redacted_everywhere() {
    for (fault, status) in [
        (
            Fault::EchoHeaders {
                status: 403,
                json: false,
            },
            403,
        ),
        (
            Fault::EchoHeaders {
                status: 401,
                json: true,
            },
            200,
        ),
    ] {
        let emulator = emulator();
        emulator.inject(fault.clone(), 1);
        let e = client(&emulator)
            .upload(named(b"x", "a.txt", "p"))
            .unwrap_err();
        let msg = message(&e);
        assert!(msg.contains("[redacted]"), "{fault:?}: {msg}");
        match e.kind() {
            ErrorKind::Http { status: s, .. } | ErrorKind::Service { status: s, .. } => {
                assert_eq!(*s, status)
            }
            other => panic!("{other:?}"),
        }
    }
    // In a redirect's Location, and percent- or HTML-encoded.
    let encoded: String = KEY.bytes().map(|b| format!("%{b:02x}")).collect();
    let emulator = emulator();
    emulator.inject(
        Fault::Raw {
            bytes: format!(
                "HTTP/1.1 302 Found\r\nLocation: https://x/?t={encoded}&k=Bearer%20{KEY}\r\n\
                 Content-Length: 0\r\n\r\n"
            )
            .into_bytes(),
        },
        1,
    );
    let e = client(&emulator)
        .upload(named(b"x", "a.txt", "p"))
        .unwrap_err();
    let msg = message(&e);
    assert!(!msg.contains(&encoded), "{msg}");
}

#[test]
fn terminal_escapes_from_the_server_are_shown_escaped() {
    let emulator = emulator();
    emulator.inject(Fault::ControlChars, 1);
    let e = client(&emulator)
        .upload(named(b"x", "a.txt", "p"))
        .unwrap_err();
    let shown = message(&e);
    assert!(
        !shown.contains(['\u{1b}', '\u{7}', '\u{202e}', '\u{200b}']),
        "{shown:?}"
    );
    assert!(shown.contains("\\u{1b}]0;pwned\\u{7}"), "{shown}");
    // The message itself is kept as sent, for a program to inspect.
    match e.kind() {
        ErrorKind::Service { msg, .. } => assert!(msg.contains('\u{1b}')),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_key_hidden_in_layered_encodings_is_redacted_too() {
    let hex_escaped: String = KEY.bytes().map(|b| format!("\\u00{b:02x}")).collect();
    let percent_in_json = format!("\\u0025{:02x}{}", KEY.as_bytes()[0], &KEY[1..]);
    let html_padded = format!("&#0000000{};{}", KEY.as_bytes()[0], &KEY[1..]);
    let html_no_semicolon = format!("&#x{:x}{}", KEY.as_bytes()[0], &KEY[1..]);
    for (reply, status) in [
        // JSON that decodes to a percent-encoded key, or to an HTML-encoded one.
        (
            format!(r#"{{"success":false,"code":401,"msg":"bad token {percent_in_json}"}}"#),
            "200 OK",
        ),
        (
            format!(
                r#"{{"success":false,"code":401,"msg":"bad {hex_escaped} \u0026#{};{}"}}"#,
                KEY.as_bytes()[0],
                &KEY[1..]
            ),
            "200 OK",
        ),
        // HTML references with leading zeros, or without their `;`, and an upper-cased echo.
        (format!("<p>Bearer {html_padded}</p>"), "403 Forbidden"),
        (
            format!("<p>Bearer {html_no_semicolon}</p>"),
            "403 Forbidden",
        ),
        (
            format!("<p>BEARER {}</p>", KEY.to_ascii_uppercase()),
            "403 Forbidden",
        ),
    ] {
        let emulator = emulator();
        let kind = if reply.starts_with('{') {
            "application/json"
        } else {
            "text/html"
        };
        emulator.inject(
            Fault::Raw {
                bytes: http_reply(status, kind, &reply),
            },
            1,
        );
        let e = client(&emulator)
            .upload(named(b"x", "a.txt", "p"))
            .unwrap_err();
        let shown = format!("{e} {e:?}");
        let upper = KEY.to_ascii_uppercase();
        for leak in [KEY, &upper[..], &KEY[1..]] {
            assert!(!shown.contains(leak), "{reply}: {shown}");
        }
        assert!(shown.contains("[redacted]"), "{reply}: {shown}");
    }
}

/// Regression (issue 16 item 4): a password in a URL's user information, echoed by the service or
/// quoted by the library's own checks, was shown as sent; and the key inside a URL the library
/// quoted reached the error unredacted.
#[test]
fn a_url_password_is_masked_wherever_it_is_shown() {
    let emulator = emulator();
    let client = client(&emulator);
    let echo = r#"{"success":false,"code":400,"msg":"Failed to download https://alice:hunter2@files.example/a.png"}"#;
    emulator.inject(
        Fault::Raw {
            bytes: http_reply("200 OK", "application/json", echo),
        },
        1,
    );
    let e = client
        .upload_url(UrlUpload::new("https://files.example/a.png", "p").file_name("a.png"))
        .unwrap_err();
    let msg = message(&e);
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{msg}");
    assert!(
        msg.contains("https://alice:***@files.example/a.png"),
        "{msg}"
    );

    // A URL the library quotes in a refusal, with a password and the key in its query.
    let url = format!("https://alice:hunter2@files.example/a b.png?token={KEY}");
    let e = client.upload_url(UrlUpload::new(&url, "p")).unwrap_err();
    let msg = message(&e);
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{msg}");
    assert!(msg.contains("alice:***@files.example"), "{msg}");
    let e = Client::builder()
        .api_key(KEY)
        .base_url("https://alice:hunter2@files.example")
        .build()
        .unwrap_err();
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");

    // The same redaction, public for labels a program builds itself.
    assert_eq!(
        client.redact(&url),
        "https://alice:***@files.example/a b.png?token=[redacted]"
    );
}

/// Every kind of error these tests can produce: none names the key (checked by `message`) or a
/// command-line flag (`assert_no_flag`): the library speaks in its own terms.
#[test]
fn no_library_message_names_a_flag() {
    let emulator = emulator();
    let client = builder(&emulator).retries(0).build().unwrap();
    let mut errors: Vec<Error> = Vec::new();
    let raw = |reply: Vec<u8>, upload: Upload<'_>| {
        emulator.inject(Fault::Raw { bytes: reply }, 1);
        client.upload(upload).unwrap_err()
    };
    for code in [400, 401, 402, 413, 417, 429, 455, 500, 501, 503, 505] {
        let body = format!(r#"{{"success":false,"code":{code},"msg":"m"}}"#);
        errors.push(raw(
            http_reply("200 OK", "application/json", &body),
            named(b"x", "a.txt", "p"),
        ));
    }
    for status in [
        "401 No", "403 No", "407 No", "411 No", "413 No", "417 No", "502 No",
    ] {
        errors.push(raw(
            http_reply(status, "text/html", "<p>page</p>"),
            named(b"x", "a.txt", "p"),
        ));
    }
    // `Connection: close`, as the emulator closes after any raw reply: without it the client
    // pools the connection, and under load its next request could go out on it as it closes and
    // fail without meeting its fault, so every later fault met the upload after its own.
    errors.push(raw(
        b"HTTP/1.1 302 Found\r\nLocation: http://x/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_vec(),
        named(b"x", "a.txt", "p"),
    ));
    errors.push(raw(
        http_reply("200 OK", "text/plain", "hello"),
        named(b"x", "a.txt", "p"),
    ));
    let size_two = r#"{"success":true,"code":200,"data":{"fileName":"a.txt","downloadUrl":"http://x/a.txt","fileSize":2}}"#;
    errors.push(raw(
        http_reply("200 OK", "application/json", size_two),
        named(b"xyz", "a.txt", "p"),
    ));
    errors.push(raw(
        http_reply(
            "411 Length Required",
            "application/json",
            r#"{"success":false,"code":411,"msg":"m"}"#,
        ),
        // Large enough to go chunked rather than by a length learned from a first read.
        Upload::reader(Unsized(&payload(1 << 20)[..]), "p").file_name("a.txt"),
    ));
    errors.push(
        client
            .upload(
                Upload::reader(Unsized(&b"xyz"[..]), "p")
                    .length(5)
                    .file_name("a"),
            )
            .unwrap_err(),
    );
    errors.push(
        client
            .upload(named(b"xyz", "a.txt", "p").on_progress(|_, _| kie_upload::Progress::Cancel))
            .unwrap_err(),
    );
    errors.push(
        client
            .upload_file("/nonexistent/kie/a.jpg", "p")
            .unwrap_err(),
    );
    errors.push(Client::new("").upload(named(b"x", "a", "p")).unwrap_err());
    errors.push(client.upload(named(b"x", "a", "")).unwrap_err());
    errors.push(
        Client::builder()
            .api_key(KEY)
            .base_url("http://upload.example.com")
            .build()
            .unwrap_err(),
    );
    let big = vec![0u8; kie_upload::BASE64_MAX as usize + 1];
    errors.push(client.upload_base64(named(&big, "a", "p")).unwrap_err());
    // A port nothing listens on, and a server that never answers.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let refused = builder_for(&closed_url).retries(0).build().unwrap();
    errors.push(refused.upload(named(b"x", "a.txt", "p")).unwrap_err());
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let stalled = builder_for(&silent_url)
        .timeout(Duration::from_millis(300))
        .retries(0)
        .build()
        .unwrap();
    errors.push(
        within(Duration::from_secs(20), move || {
            stalled.upload(named(b"x", "a.txt", "p"))
        })
        .unwrap_err(),
    );
    drop(silent);
    // A proxy that refuses the tunnel, and a certificate nobody trusts.
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = proxy.accept() {
            use std::io::Write;
            let mut head = [0u8; 1024];
            let _ = stream.read(&mut head);
            let _ = stream.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    let tls = emulator_with(Config::new(KEY).tls(true));
    let proxied = builder(&tls).proxy(proxy_url).retries(0).build().unwrap();
    errors.push(proxied.upload(named(b"x", "a.txt", "p")).unwrap_err());
    let untrusting = builder_for(tls.base_url()).retries(0).build().unwrap();
    errors.push(untrusting.upload(named(b"x", "a.txt", "p")).unwrap_err());

    let mut kinds = std::collections::BTreeSet::new();
    for e in &errors {
        message(e);
        let kind = format!("{:?}", e.kind());
        kinds.insert(kind.split([' ', '{']).next().unwrap().to_owned());
    }
    let all = [
        "ApiKey",
        "BadReply",
        "Base64Refused",
        "Cancelled",
        "Http",
        "InsecureHttp",
        "InvalidInput",
        "Io",
        "LengthRequired",
        "Proxy",
        "Redirect",
        "Service",
        "SourceLengthMismatch",
        "StoredSizeMismatch",
        "Timeout",
        "Tls",
        "Transport",
    ];
    assert_eq!(kinds.iter().map(String::as_str).collect::<Vec<_>>(), all);
}

/// A key file or CA bundle that never ends (`/dev/zero`), or is far larger than any real one, is
/// refused with its name, after a bounded read rather than once memory runs out.
#[cfg(unix)]
#[test]
fn a_key_file_or_ca_bundle_without_bound_is_refused_with_its_name() {
    let key = within(Duration::from_secs(20), || {
        Client::builder()
            .api_key_file("/dev/zero")
            .build()
            .unwrap_err()
    });
    assert!(matches!(key.kind(), ErrorKind::ApiKey { .. }), "{key:?}");
    assert_eq!(key.setting(), Some("/dev/zero"));
    let shown = message(&key);
    assert!(
        shown.contains("/dev/zero") && shown.contains("4 KiB"),
        "{shown}"
    );

    let (_dir, big) = temp_file("key.txt", &[b'k'; 4097]);
    let e = Client::builder().api_key_file(&big).build().unwrap_err();
    assert!(message(&e).contains("key.txt"), "{e}");
    let (_dir, at_bound) = temp_file("key.txt", &[b'k'; 4096]);
    Client::builder().api_key_file(&at_bound).build().unwrap();

    let roots = within(Duration::from_secs(20), || {
        Client::builder()
            .api_key(KEY)
            .root_certs_file("/dev/zero")
            .build()
            .unwrap_err()
    });
    assert!(
        matches!(roots.kind(), ErrorKind::InvalidInput { .. }),
        "{roots:?}"
    );
    let shown = message(&roots);
    assert!(
        shown.contains("/dev/zero") && shown.contains("8 MiB"),
        "{shown}"
    );
}
