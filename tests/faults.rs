//! The fault matrix: every scripted fault of the emulator, with a file (which can be retried) and with
//! a plain reader (which cannot). Each case checks the outcome, the attempts the emulator saw, that
//! the wall time stays within what its timeouts allow (a guard against a hang, with 5 s to spare:
//! how fast each case goes is for the benches), and that the key shows in no error.

mod common;

use std::time::{Duration, Instant};

use common::*;
use kie_upload::{Client, Error, ErrorKind, Event, NotRetried, Upload, UploadedFile, UrlUpload};
use kie_upload_emulator::{Config, Emulator, Fault};

/// Every timeout of the clients here.
const BOUND: Duration = Duration::from_secs(1);

fn client(emulator: &Emulator) -> Client {
    builder(emulator).timeout(BOUND).build().unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Source {
    File,
    Reader,
}

/// What a case must end in.
#[derive(Debug)]
enum Expect {
    /// Success after this many attempts.
    Success(usize),
    /// An error after this many attempts, checked by the function.
    Fails(usize, fn(&Error) -> bool),
}

struct Case {
    fault: Fault,
    times: usize,
    /// Bytes to upload (large ones fill the socket buffers).
    size: usize,
    file: Expect,
    reader: Expect,
    /// How long one failed attempt may take at most.
    per_attempt: Duration,
}

fn run(source: Source, case: &Case) -> (Result<UploadedFile, Error>, usize, Duration) {
    let emulator = emulator();
    let client = client(&emulator);
    emulator.inject(case.fault.clone(), case.times);
    let data = payload(case.size);
    let (_dir, path) = temp_file("fault.bin", &data);
    let started = Instant::now();
    let result = match source {
        Source::File => client.upload_file(&path, "faults"),
        Source::Reader => {
            client.upload(Upload::reader(Unsized(&data[..]), "faults").file_name("fault.bin"))
        }
    };
    let elapsed = started.elapsed();
    if let Ok(file) = &result {
        assert_eq!(download(&client, &file.download_url), data, "{source:?}");
    }
    (result, emulator.attempts(STREAM), elapsed)
}

fn check(case: &Case) {
    for source in [Source::File, Source::Reader] {
        let expect = match source {
            Source::File => &case.file,
            Source::Reader => &case.reader,
        };
        let (result, attempts, elapsed) = run(source, case);
        let what = format!("{:?} with a {source:?}", case.fault);
        let want_attempts = match (expect, &result) {
            (Expect::Success(n), Ok(_)) => *n,
            (Expect::Fails(n, matches), Err(e)) => {
                assert!(matches(e), "{what}: unexpected error {e:?}");
                message(e);
                assert_eq!(e.attempts() as usize, *n, "{what}: {e}");
                *n
            }
            (expect, result) => panic!("{what}: expected {expect:?}, got {result:?}"),
        };
        assert_eq!(attempts, want_attempts, "{what}: attempts the emulator saw");
        // One line of the fault matrix, for `cargo test --test faults -- --nocapture`.
        let outcome = match &result {
            Ok(_) => "success".to_owned(),
            Err(e) => format!("{:?}", e.kind()).chars().take(60).collect(),
        };
        eprintln!(
            "matrix | {:?} | {source:?} | {outcome} | {attempts} | {elapsed:.2?}",
            case.fault
        );
        let bound = case.per_attempt * want_attempts as u32 + Duration::from_secs(5);
        assert!(elapsed < bound, "{what}: took {elapsed:?}, bound {bound:?}");
    }
}

fn status(status: u16) -> Fault {
    Fault::Status {
        status,
        retry_after: None,
    }
}

fn quick(fault: Fault, file: Expect, reader: Expect) -> Case {
    Case {
        fault,
        times: 1,
        size: 100_000,
        file,
        reader,
        per_attempt: Duration::from_millis(500),
    }
}

fn not_retried(e: &Error) -> bool {
    e.not_retried() == Some(NotRetried::SourceNotRepeatable)
}

#[test]
fn server_errors_are_retried_for_files_only() {
    for code in [429, 500, 502, 503, 504] {
        check(&quick(
            status(code),
            Expect::Success(2),
            Expect::Fails(1, not_retried),
        ));
    }
}

#[test]
fn body_codes_are_retried_for_files_only() {
    for code in [429, 455, 500] {
        let fault = Fault::BodyCode {
            code,
            retry_after: None,
        };
        check(&quick(
            fault,
            Expect::Success(2),
            Expect::Fails(1, not_retried),
        ));
    }
}

#[test]
fn retries_run_out() {
    let mut case = quick(
        status(503),
        Expect::Fails(3, |e| {
            e.attempts() == 3
                && e.not_retried() == Some(NotRetried::OutOfRetries)
                && matches!(e.kind(), ErrorKind::Service { code: 503, .. })
                // The line is the same however many attempts were made.
                && e.to_string().starts_with("the service refused the upload (code 503)")
                && !e.to_string().contains("attempt")
        }),
        Expect::Fails(1, not_retried),
    );
    case.times = 10;
    check(&case);
}

#[test]
fn refusals_are_not_retried() {
    for code in [400, 401, 402, 404, 422] {
        let refused = |e: &Error| matches!(e.kind(), ErrorKind::Service { .. });
        check(&quick(
            status(code),
            Expect::Fails(1, refused),
            Expect::Fails(1, refused),
        ));
    }
}

#[test]
fn retry_after_is_honoured_in_seconds() {
    // The HTTP-date form is not read: the backoff applies (half to all of it, with jitter), as
    // without the header, even for a date that has passed.
    let backoff = Duration::from_millis(400);
    for (retry_after, waits_from, waits_to) in [
        ("1", Duration::from_secs(1), Duration::from_secs(1)),
        ("Thu, 01 Jan 1970 00:00:00 GMT", backoff / 2, backoff),
    ] {
        let emulator = emulator();
        let client = builder(&emulator)
            .timeout(BOUND)
            .retry_backoff(backoff)
            .build()
            .unwrap();
        emulator.inject(
            Fault::Status {
                status: 503,
                retry_after: Some(retry_after.into()),
            },
            1,
        );
        let mut waits = Vec::new();
        let started = Instant::now();
        let file = client
            .upload(
                Upload::bytes(b"later", "p")
                    .file_name("later.txt")
                    .on_event(|event| {
                        if let Event::Retry { wait, .. } = event {
                            waits.push(*wait);
                        }
                    }),
            )
            .unwrap();
        assert!(started.elapsed() >= waits_from, "{retry_after}");
        assert!(
            matches!(waits[..], [wait] if wait >= waits_from && wait <= waits_to),
            "{retry_after}: {waits:?}"
        );
        // The retry sent the bytes again, not what the first attempt left of them.
        assert_eq!(download(&client, &file.download_url), b"later");
        assert_eq!(emulator.attempts(STREAM), 2);
    }
}

#[test]
fn a_connection_closed_mid_body() {
    check(&quick(
        Fault::CloseAfter { bytes: 10_000 },
        Expect::Success(2),
        Expect::Fails(1, not_retried),
    ));
}

#[test]
fn a_server_that_stops_reading() {
    let stalled = |e: &Error| e.kind() == &ErrorKind::Timeout;
    check(&Case {
        fault: Fault::StopReading { bytes: 64 * 1024 },
        times: 1,
        // Enough to fill the loopback socket buffers, so a write blocks.
        size: 48 << 20,
        file: Expect::Success(2),
        reader: Expect::Fails(1, stalled),
        // On loopback the kernel keeps taking a few more kilobytes as its buffers grow, and each
        // such partial write restarts the stall clock: about three bounds (see the README).
        per_attempt: BOUND * 7 / 2,
    });
}

#[test]
fn a_server_that_never_answers() {
    check(&Case {
        fault: Fault::NeverAnswer,
        times: 1,
        size: 100_000,
        file: Expect::Success(2),
        reader: Expect::Fails(1, |e| e.kind() == &ErrorKind::Timeout && not_retried(e)),
        per_attempt: BOUND * 2,
    });
}

#[test]
fn a_dripping_reply() {
    check(&Case {
        fault: Fault::Drip {
            pause: Duration::from_millis(30),
        },
        times: 1,
        size: 10_000,
        file: Expect::Success(2),
        reader: Expect::Fails(1, |e| e.kind() == &ErrorKind::Timeout),
        per_attempt: BOUND * 2,
    });
}

#[test]
fn a_proxy_html_page() {
    let page = |e: &Error| matches!(e.kind(), ErrorKind::Http { status: 502, excerpt, .. } if excerpt.contains("Gateway error"));
    check(&quick(
        Fault::Html { status: 502 },
        Expect::Success(2),
        Expect::Fails(1, page),
    ));
    let forbidden = |e: &Error| matches!(e.kind(), ErrorKind::Http { status: 403, .. });
    check(&quick(
        Fault::Html { status: 403 },
        Expect::Fails(1, forbidden),
        Expect::Fails(1, forbidden),
    ));
}

#[test]
fn malformed_truncated_and_huge_replies() {
    let decode = |e: &Error| matches!(e.kind(), ErrorKind::BadReply { .. });
    check(&quick(
        Fault::MalformedJson,
        Expect::Fails(1, decode),
        Expect::Fails(1, decode),
    ));
    check(&quick(
        Fault::HugeReply { bytes: 2 << 20 },
        Expect::Fails(1, decode),
        Expect::Fails(1, decode),
    ));
    // A reply cut short is a broken connection: worth another try when the upload can be repeated.
    check(&quick(
        Fault::TruncatedJson,
        Expect::Success(2),
        Expect::Fails(1, not_retried),
    ));
}

#[test]
fn a_wrong_file_size_is_never_a_success() {
    let mismatch = |e: &Error| {
        matches!(
            e.kind(),
            ErrorKind::StoredSizeMismatch {
                sent: 100_000,
                stored: 100_001,
                ..
            }
        )
    };
    check(&quick(
        Fault::WrongSize,
        Expect::Fails(1, mismatch),
        Expect::Fails(1, mismatch),
    ));
}

#[test]
fn a_redirect_reaches_no_one() {
    let elsewhere = emulator();
    for status in [301, 302, 307, 308] {
        for source in [Source::File, Source::Reader] {
            let case = quick(
                Fault::Redirect {
                    status,
                    location: format!("{}{STREAM}", elsewhere.base_url()),
                },
                Expect::Fails(1, |_| true),
                Expect::Fails(1, |_| true),
            );
            let (result, attempts, _) = run(source, &case);
            let e = result.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::Redirect { status: s, .. } if *s == status),
                "{e:?}"
            );
            assert!(e.to_string().contains("redirect"), "{e}");
            assert!(e.to_string().contains(elsewhere.base_url()), "{e}");
            assert_eq!(attempts, 1);
        }
    }
    // Nothing reached the target, so no Authorization header did either.
    assert!(elsewhere.requests().is_empty());
}

#[test]
fn a_server_that_wants_a_length() {
    let refused = |e: &Error| matches!(e.kind(), ErrorKind::Service { code: 411, .. });
    let wants_length =
        |e: &Error| matches!(e.kind(), ErrorKind::LengthRequired { status: 411, .. });
    check(&quick(
        status(411),
        Expect::Fails(1, refused),
        Expect::Fails(1, wants_length),
    ));
}

#[test]
fn a_seekable_source_is_retried_from_where_it_started() {
    let emulator = emulator();
    let client = client(&emulator);
    emulator.inject(status(503), 2);
    let data = payload(300_000);
    let mut cursor = std::io::Cursor::new(data.clone());
    cursor.set_position(1000);
    let file = client
        .upload(Upload::seekable(cursor, "p").file_name("s.bin"))
        .unwrap();
    assert_eq!(emulator.attempts(STREAM), 3);
    assert_eq!(file.file_size, 299_000);
    assert_eq!(download(&client, &file.download_url), &data[1000..]);
    let sizes: Vec<_> = emulator
        .requests()
        .iter()
        .filter(|r| r.path == STREAM)
        .map(|r| r.content_length)
        .collect();
    assert!(
        sizes.iter().all(|s| s.is_some() && *s == sizes[0]),
        "{sizes:?}"
    );
}

#[test]
fn an_upload_without_a_name_is_not_repeated() {
    let emulator = emulator();
    let client = client(&emulator);
    emulator.inject(status(503), 1);
    let err = client.upload(Upload::bytes(b"anonymous", "p")).unwrap_err();
    assert_eq!(emulator.attempts(STREAM), 1);
    assert_eq!(err.not_retried(), Some(NotRetried::NoFileName));
    // Why it was not retried is beside the cause, not in its line.
    assert!(!err.to_string().contains("retried"), "{err}");
}

#[test]
fn url_and_base64_uploads_are_retried() {
    let emulator = emulator();
    let client = client(&emulator);
    emulator.inject(status(502), 1);
    let file = client
        .upload_base64(Upload::bytes(b"small", "p").file_name("b.txt"))
        .unwrap();
    assert_eq!(emulator.attempts("/api/file-base64-upload"), 2);
    assert_eq!(download(&client, &file.download_url), b"small");

    let source = client
        .upload(Upload::bytes(b"remote", "p").file_name("r.txt"))
        .unwrap();
    emulator.inject(status(503), 1);
    client
        .upload_url(UrlUpload::new(&source.download_url, "q").file_name("r.txt"))
        .unwrap();
    assert_eq!(emulator.attempts("/api/file-url-upload"), 2);
}

#[test]
fn a_url_upload_without_a_name_is_not_repeated() {
    let emulator = emulator();
    let client = client(&emulator);
    let source = client
        .upload(Upload::bytes(b"remote", "p").file_name("r.txt"))
        .unwrap();
    emulator.inject(status(503), 1);
    let err = client
        .upload_url(UrlUpload::new(&source.download_url, "q"))
        .unwrap_err();
    assert_eq!(err.not_retried(), Some(NotRetried::NoFileName));
    assert_eq!(emulator.attempts("/api/file-url-upload"), 1);
}

#[test]
fn errors_in_body_mode_is_retried_the_same() {
    let emulator = emulator_with(Config::new(KEY).errors_in_body(true));
    let client = client(&emulator);
    emulator.inject(
        Fault::BodyCode {
            code: 500,
            retry_after: None,
        },
        1,
    );
    client
        .upload(Upload::bytes(b"x", "p").file_name("x.txt"))
        .unwrap();
    assert_eq!(emulator.attempts(STREAM), 2);
}

#[cfg(feature = "spool")]
#[test]
fn a_spooled_reader_has_a_length_and_is_retried() {
    let emulator = emulator();
    let client = client(&emulator);
    emulator.inject(status(503), 1);
    let data = payload(2 << 20);
    let file = client
        .upload(
            Upload::reader(Unsized(&data[..]), "p")
                .spool()
                .file_name("spooled.bin"),
        )
        .unwrap();
    assert_eq!(download(&client, &file.download_url), data);
    let requests = emulator.requests();
    let uploads: Vec<_> = requests.iter().filter(|r| r.path == STREAM).collect();
    assert_eq!(uploads.len(), 2);
    for r in uploads {
        assert!(!r.chunked);
        assert!(r.content_length.unwrap() > 2 << 20);
    }
}

/// A check of the error a case ends in.
type Check = fn(&Error) -> bool;

fn refused(code: u16) -> impl Fn(&Error) -> bool {
    move |e| {
        matches!(e.kind(), ErrorKind::Service { code: c, .. } if *c == code)
            && e.not_retried().is_none()
    }
}

#[test]
fn early_refusals_are_the_server_s_answer_never_retried() {
    // An auth filter that reads 64 KiB, answers and closes: in a 200 body (the live service's way)
    // and as a real status, for a key, for credits, and a proxy's 413 page.
    let cases: [(Fault, Check); 5] = [
        (
            Fault::RefuseAfter {
                bytes: 64 * 1024,
                status: 200,
                code: Some(401),
            },
            // Given in code: no variable or file to point at.
            |e| refused(401)(e) && e.setting().is_none(),
        ),
        (
            Fault::RefuseAfter {
                bytes: 64 * 1024,
                status: 401,
                code: Some(401),
            },
            |e| refused(401)(e),
        ),
        (
            Fault::RefuseAfter {
                bytes: 64 * 1024,
                status: 200,
                code: Some(402),
            },
            |e| refused(402)(e),
        ),
        (
            Fault::RefuseAfter {
                bytes: 64 * 1024,
                status: 413,
                code: None,
            },
            |e| matches!(e.kind(), ErrorKind::Http { status: 413, .. }),
        ),
        // One that refuses at the headers, before any of the body.
        (
            Fault::RefuseAtHeaders {
                status: 200,
                code: Some(401),
            },
            |e| refused(401)(e),
        ),
    ];
    for (fault, expect) in cases {
        check(&Case {
            fault,
            times: 3,
            size: 8 << 20,
            file: Expect::Fails(1, expect),
            reader: Expect::Fails(1, expect),
            per_attempt: Duration::from_millis(500),
        });
    }
}

#[test]
fn the_quickstart_reply_shape_is_a_success() {
    for source in [Source::File, Source::Reader] {
        let case = quick(
            Fault::QuickstartShape,
            Expect::Success(1),
            Expect::Success(1),
        );
        let (result, attempts, _) = run(source, &case);
        let file = result.unwrap();
        assert_eq!(attempts, 1);
        // downloadUrl won over fileUrl (run() downloaded it and compared the bytes).
        assert!(
            !file.download_url.contains("files-by-id"),
            "{}",
            file.download_url
        );
        assert_eq!(file.file_name, "fault.bin");
        assert_eq!(file.file_path, "faults/fault.bin");
        assert_eq!(file.file_size, 100_000);
        assert!(file.file_id.is_some());
        assert!(file.service_expires_at.is_some());
        assert!(!file.uploaded_at.is_empty());
    }
}

#[test]
fn echoed_headers_and_terminal_escapes_are_refusals_shown_safely() {
    let redacted = |e: &Error| e.to_string().contains("[redacted]");
    check(&quick(
        Fault::EchoHeaders {
            status: 403,
            json: false,
        },
        Expect::Fails(1, redacted),
        Expect::Fails(1, redacted),
    ));
    check(&quick(
        Fault::EchoHeaders {
            status: 401,
            json: true,
        },
        Expect::Fails(1, redacted),
        Expect::Fails(1, redacted),
    ));
    let escaped = |e: &Error| {
        let shown = e.to_string();
        refused(400)(e) && !shown.contains('\u{1b}') && shown.contains("\\u{1b}")
    };
    check(&quick(
        Fault::ControlChars,
        Expect::Fails(1, escaped),
        Expect::Fails(1, escaped),
    ));
}

/// The server behaviours of an early refusal a 48 MiB upload meets after 64 KiB.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// (a) Refuses at the headers and honours `Expect: 100-continue`.
    AtHeaders,
    /// (b) Ignores `Expect`, reads 64 KiB, answers and closes.
    IgnoresExpect,
    /// (c) Sends `100 Continue`, then reads 64 KiB, refuses and closes.
    AfterContinue,
}

/// Uploads 48 MiB (a file or a plain reader) to a server refusing with 401 in the given way, over
/// plain HTTP or TLS: the error must be the answer, with one request, without waiting for a
/// timeout, and the source must not be read much past the refusal. (How fast: the benches.)
fn refused_48_mib(behaviour: Behaviour, tls: bool, source: Source) {
    const SIZE: usize = 48 << 20;
    let config = Config::new(KEY)
        .tls(tls)
        .honour_expect(!matches!(behaviour, Behaviour::IgnoresExpect));
    let emulator = emulator_with(config);
    let fault = match behaviour {
        Behaviour::AtHeaders => Fault::RefuseAtHeaders {
            status: 200,
            code: Some(401),
        },
        _ => Fault::RefuseAfter {
            bytes: 64 * 1024,
            status: 200,
            code: Some(401),
        },
    };
    emulator.inject(fault, 3);
    // A timeout far over the bound below, so that waiting for one cannot pass.
    let client = builder(&emulator)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let data = payload(SIZE);
    let (_dir, path) = temp_file("big.bin", &data);
    let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = std::sync::Arc::clone(&read);
    let progress = move |sent: u64, _| seen.store(sent, std::sync::atomic::Ordering::Relaxed);
    let started = Instant::now();
    let result = match source {
        Source::File => client.upload(Upload::file(&path, "big").on_progress(progress)),
        Source::Reader => client.upload(
            Upload::reader(Unsized(&data[..]), "big")
                .file_name("big.bin")
                .on_progress(progress),
        ),
    };
    let elapsed = started.elapsed();
    let what = format!("{behaviour:?}, tls {tls}, {source:?}");
    let e = result.expect_err(&what);
    assert!(refused(401)(&e), "{what}: {e:?}");
    message(&e);
    assert_eq!(emulator.attempts(STREAM), 1, "{what}");
    assert!(
        elapsed < Duration::from_secs(20),
        "{what}: took {elapsed:?}"
    );
    let read = read.load(std::sync::atomic::Ordering::Relaxed);
    assert!(read < 16 << 20, "{what}: {read} bytes of the source read");
    let server_read = emulator.requests()[0].body_read;
    eprintln!(
        "refusal | {what} | {elapsed:.0?} | source read {} KiB | server read {} KiB",
        read >> 10,
        server_read >> 10
    );
}

#[test]
fn a_48_mib_upload_refused_early_over_http() {
    for behaviour in [
        Behaviour::AtHeaders,
        Behaviour::IgnoresExpect,
        Behaviour::AfterContinue,
    ] {
        for source in [Source::File, Source::Reader] {
            refused_48_mib(behaviour, false, source);
        }
    }
}

#[test]
fn a_48_mib_upload_refused_early_over_https() {
    for behaviour in [
        Behaviour::AtHeaders,
        Behaviour::IgnoresExpect,
        Behaviour::AfterContinue,
    ] {
        for source in [Source::File, Source::Reader] {
            refused_48_mib(behaviour, true, source);
        }
    }
}

#[test]
fn a_success_for_part_of_the_body_is_never_a_success() {
    // A broken server reads 100 bytes and answers success, with no size, the size it read, or a
    // made-up size equal to the whole file.
    let size: usize = 8 << 20;
    for file_size in [None, Some(100), Some(size as u64)] {
        let not_stored = |e: &Error| {
            matches!(
                e.kind(),
                ErrorKind::Transport
                    | ErrorKind::BadReply { .. }
                    | ErrorKind::StoredSizeMismatch { .. }
            )
        };
        check(&Case {
            fault: Fault::SucceedEarly {
                bytes: 100,
                file_size,
            },
            times: 3,
            size,
            file: Expect::Fails(3, not_stored),
            reader: Expect::Fails(1, not_stored),
            per_attempt: Duration::from_millis(500),
        });
    }
}

#[test]
fn a_success_without_a_size_is_not_taken_on_trust() {
    let reply =
        r#"{"success":true,"code":200,"data":{"fileName":"a.txt","downloadUrl":"http://x/a.txt"}}"#;
    let emulator = emulator();
    emulator.inject(
        Fault::Raw {
            bytes: http_reply("200 OK", "application/json", reply),
        },
        1,
    );
    let e = client(&emulator)
        .upload(Upload::bytes(b"xyz", "p").file_name("a.txt"))
        .unwrap_err();
    match e.kind() {
        ErrorKind::BadReply { reason, .. } => assert!(reason.contains("fileSize"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refusal_after_the_reply_timeout_is_still_the_answer() {
    // A slow front end reads for 1.5 s, longer than the reply timeout, then refuses: the reply's
    // deadline runs from when the body stopped, not from the start of the upload.
    let emulator = emulator();
    emulator.inject(
        Fault::RefuseLate {
            after: Duration::from_millis(1500),
            status: 413,
            code: None,
        },
        2,
    );
    let client = builder(&emulator)
        .reply_timeout(Duration::from_secs(1))
        .stall_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let data = payload(32 << 20);
    let (_dir, path) = temp_file("late.bin", &data);
    let e = client.upload_file(&path, "p").unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Http { status: 413, .. }),
        "{e:?}"
    );
    assert_eq!(e.attempts(), 1);
    assert_eq!(emulator.attempts(STREAM), 1);
}

/// Yields `first` bytes, pauses, then ends: its last write (the final chunk) comes after the
/// server has answered and closed.
struct PausesBeforeTheEnd {
    left: usize,
    paused: bool,
}

impl std::io::Read for PausesBeforeTheEnd {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            if !self.paused {
                self.paused = true;
                std::thread::sleep(Duration::from_millis(500));
            }
            return Ok(0);
        }
        let n = buf.len().min(self.left);
        buf[..n].fill(b'p');
        self.left -= n;
        Ok(n)
    }
}

#[test]
fn a_failed_last_write_is_not_a_whole_upload() {
    let emulator = emulator();
    // The server reads 100 bytes, claims all 4000 were stored, and closes.
    emulator.inject(
        Fault::SucceedEarly {
            bytes: 100,
            file_size: Some(4000),
        },
        1,
    );
    let e = client(&emulator)
        .upload(
            Upload::reader(
                PausesBeforeTheEnd {
                    left: 4000,
                    paused: false,
                },
                "p",
            )
            .file_name("a.bin"),
        )
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Transport, "{e:?}");
    assert!(
        std::error::Error::source(&e)
            .unwrap()
            .to_string()
            .contains("before the whole body was sent"),
        "{e:?}"
    );
}
