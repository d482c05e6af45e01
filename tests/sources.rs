//! Sources named by a path that are not regular files: a pipe or FIFO is read once and never
//! retried (a retry would store an empty file or block in `open()` forever), and a file that says
//! it is empty but holds data (`/proc`) is streamed whole. And files that change between attempts.

mod common;

use std::io::Write;
use std::path::Path;
use std::thread;
use std::time::Duration;

use common::*;
use kie_upload::{ErrorKind, Upload};
use kie_upload_emulator::Fault;

#[cfg(unix)]
fn unavailable() -> Fault {
    Fault::Status {
        status: 503,
        retry_after: None,
    }
}

/// Writes `data` into a named FIFO from another thread (which blocks until a reader opens it).
#[cfg(unix)]
fn feed_fifo(path: &Path, data: Vec<u8>) -> thread::JoinHandle<()> {
    let path = path.to_owned();
    thread::spawn(move || {
        let mut fifo = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        let _ = fifo.write_all(&data);
    })
}

#[cfg(unix)]
fn make_fifo(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    path
}

// Unix only: a FIFO (mkfifo) has no counterpart on Windows that a path can name.
#[cfg(unix)]
#[test]
fn a_fifo_uploads_once_with_its_bytes() {
    let emulator = emulator();
    let client = client(&emulator);
    let dir = tempfile::tempdir().unwrap();
    let fifo = make_fifo(dir.path());
    let data = payload(300_000);
    let writer = feed_fifo(&fifo, data.clone());
    let file = client.upload(Upload::file(&fifo, "pipes")).unwrap();
    writer.join().unwrap();
    assert_eq!(file.file_name, "fifo");
    assert_eq!(download(&client, &file.download_url), data);
    assert!(emulator.requests()[0].chunked, "a FIFO's length is unknown");
}

// Unix only: a FIFO (mkfifo) has no counterpart on Windows that a path can name.
#[cfg(unix)]
#[test]
fn a_fifo_is_never_reopened_for_a_retry() {
    let emulator = emulator();
    let client = client(&emulator);
    let dir = tempfile::tempdir().unwrap();
    let fifo = make_fifo(dir.path());
    emulator.inject(unavailable(), 1);
    let writer = feed_fifo(&fifo, payload(50_000));
    // Reopening would block in open() forever: the bound catches that.
    let e = within(Duration::from_secs(20), move || {
        client.upload(Upload::file(&fifo, "pipes")).unwrap_err()
    });
    writer.join().unwrap();
    assert!(
        matches!(e.kind(), ErrorKind::Service { code: 503, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.not_retried(),
        Some(kie_upload::NotRetried::SourceNotRepeatable)
    );
    assert!(!e.to_string().contains("retried"), "{e}");
    assert_eq!(emulator.attempts(STREAM), 1);
}

// Linux only: the pipe is named through /proc/self/fd.
#[cfg(target_os = "linux")]
#[test]
// `cat` is waited for below; only a failing assertion in between would skip that, and `cat` ends
// with its input anyway.
#[allow(clippy::zombie_processes)]
fn an_anonymous_pipe_named_as_a_file_is_not_retried_into_an_empty_file() {
    use std::os::fd::AsRawFd;
    use std::process::Command;
    let emulator = emulator();
    let client = client(&emulator);
    // A child's output pipe, fed from its standard input by `cat`.
    let mut cat = Command::new("cat")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut writer = cat.stdin.take().unwrap();
    let reader = cat.stdout.take().unwrap();
    let feeder = thread::spawn(move || {
        let _ = writer.write_all(&payload(100_000));
    });
    // What `<(cmd)` and /dev/stdin name: the pipe through /proc/self/fd.
    let path = format!("/proc/self/fd/{}", reader.as_raw_fd());
    emulator.inject(unavailable(), 1);
    let e = client
        .upload(Upload::file(&path, "pipes").file_name("piped.bin"))
        .unwrap_err();
    feeder.join().unwrap();
    assert_eq!(
        e.not_retried(),
        Some(kie_upload::NotRetried::SourceNotRepeatable)
    );
    assert_eq!(emulator.attempts(STREAM), 1);
    assert!(
        emulator.stored("pipes/piped.bin").is_none(),
        "an empty retry was stored"
    );
    drop(reader);
}

// Linux only: /proc.
#[cfg(target_os = "linux")]
#[test]
fn a_file_that_says_it_is_empty_but_holds_data_uploads_whole() {
    let emulator = emulator();
    let client = client(&emulator);
    // /proc files report a size of 0; this one's content is fixed for the process.
    let path = "/proc/self/cmdline";
    assert_eq!(std::fs::metadata(path).unwrap().len(), 0);
    let file = client.upload(Upload::file(path, "proc")).unwrap();
    let stored = emulator.stored("proc/cmdline").unwrap();
    assert!(!stored.is_empty());
    assert_eq!(file.file_size, stored.len() as u64);
    assert!(emulator.requests()[0].chunked);
}

/// A 503 with `Retry-After: 0`, so the retry comes at once.
fn unavailable_now() -> Fault {
    Fault::Status {
        status: 503,
        retry_after: Some("0".into()),
    }
}

/// Uploads the file at `path`, failed once by a 503, with `swap` run when the retry is announced
/// (between the attempts). Bounded: a retry that blocks is released by `release` and fails the
/// test.
fn upload_swapped_on_retry(
    path: &Path,
    swap: impl FnMut() + Send + 'static,
    release: impl FnOnce(),
) -> (
    kie_upload_emulator::Emulator,
    Result<kie_upload::UploadedFile, kie_upload::Error>,
) {
    let emulator = emulator();
    let client = client(&emulator);
    emulator.inject(unavailable_now(), 1);
    let (tx, rx) = std::sync::mpsc::channel();
    let path = path.to_owned();
    let mut swap = swap;
    let worker = thread::spawn(move || {
        let upload = Upload::file(&path, "swapped").on_event(move |event| {
            if let kie_upload::Event::Retry { .. } = event {
                swap();
            }
        });
        let _ = tx.send(client.upload(upload));
    });
    let result = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(result) => result,
        Err(_) => {
            release();
            let _ = worker.join();
            panic!("the retry blocked: it reopened the path");
        }
    };
    worker.join().unwrap();
    (emulator, result)
}

#[test]
fn a_retry_sends_the_file_it_opened_even_when_another_is_renamed_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.bin");
    let original = payload(70_000);
    std::fs::write(&path, &original).unwrap();
    let other = dir.path().join("other.bin");
    std::fs::write(
        &other,
        payload(90_000).iter().map(|b| !b).collect::<Vec<_>>(),
    )
    .unwrap();
    let (to, from) = (path.clone(), other.clone());
    let renamed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let outcome = std::sync::Arc::clone(&renamed);
    let swap = move || *outcome.lock().unwrap() = Some(std::fs::rename(&from, &to));
    let (emulator, result) = upload_swapped_on_retry(&path, swap, || {});
    let file = result.unwrap();
    assert_eq!(emulator.attempts(STREAM), 2);
    // Where an open file cannot be replaced (wine, FAT), the refusal shows the retry holds it.
    match renamed
        .lock()
        .unwrap()
        .take()
        .expect("the upload was retried")
    {
        Ok(()) => {}
        Err(e) if cfg!(windows) => {
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}")
        }
        Err(e) => panic!("cannot rename over the source: {e}"),
    }
    let stored = emulator.stored("swapped/report.bin").unwrap();
    assert!(stored == original, "the retry sent the other file's bytes");
    assert_eq!(file.file_size, original.len() as u64);
}

// Unix only: a FIFO (mkfifo) has no counterpart on Windows that a path can name.
#[cfg(unix)]
#[test]
fn a_retry_never_opens_a_fifo_renamed_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.bin");
    let original = payload(70_000);
    std::fs::write(&path, &original).unwrap();
    let fifo = make_fifo(dir.path());
    let (to, from) = (path.clone(), fifo);
    let release = path.clone();
    let (emulator, result) = upload_swapped_on_retry(
        &path,
        move || std::fs::rename(&from, &to).unwrap(),
        // A reader blocked in open() is let go by a writer.
        move || drop(std::fs::OpenOptions::new().write(true).open(release)),
    );
    result.unwrap();
    let stored = emulator.stored("swapped/report.bin").unwrap();
    assert!(stored == original, "the retry sent other bytes");
}

#[test]
fn a_file_whose_size_changed_between_attempts_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.log");
    std::fs::write(&path, payload(10_000)).unwrap();
    let appended = path.clone();
    let (emulator, result) = upload_swapped_on_retry(
        &path,
        move || {
            let mut log = std::fs::OpenOptions::new()
                .append(true)
                .open(&appended)
                .unwrap();
            log.write_all(b"one more line\n").unwrap();
        },
        || {},
    );
    let e = result.unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::SourceLengthMismatch {
                declared: 10_000,
                actual: 10_014,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.path(), Some(path.as_path()));
    assert!(e.to_string().contains("changed"), "{e}");
    assert!(emulator.stored("swapped/growing.log").is_none());
}

#[test]
fn an_empty_file_goes_with_a_content_length() {
    let emulator = emulator();
    let client = client(&emulator);
    // A front end that refuses chunked bodies takes it.
    emulator.inject(
        Fault::RefuseChunked {
            status: 411,
            code: None,
        },
        1,
    );
    let (_dir, path) = temp_file("empty.txt", b"");
    let file = client.upload(Upload::file(&path, "empty")).unwrap();
    assert_eq!(file.file_size, 0);
    assert_eq!(emulator.stored("empty/empty.txt").unwrap(), b"");
    let request = &emulator.requests()[0];
    assert!(!request.chunked, "{request:?}");
    assert!(request.content_length.is_some(), "{request:?}");
    assert_eq!(request.parts.last().unwrap().size, 0);
}
