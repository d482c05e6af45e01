//! Sources named by a path that are not regular files: a pipe or FIFO is read once and never
//! retried (a retry would store an empty file or block in `open()` forever), and a file that says
//! it is empty but holds data (`/proc`) is streamed whole.
#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

use common::*;
use kie_upload::{ErrorKind, NotRetried, Upload};
use kie_upload_emulator::Fault;

fn unavailable() -> Fault {
    Fault::Status {
        status: 503,
        retry_after: None,
    }
}

/// Writes `data` into a named FIFO from another thread (which blocks until a reader opens it).
fn feed_fifo(path: &Path, data: Vec<u8>) -> thread::JoinHandle<()> {
    let path = path.to_owned();
    thread::spawn(move || {
        let mut fifo = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        let _ = fifo.write_all(&data);
    })
}

fn make_fifo(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("fifo");
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    path
}

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
    assert_eq!(e.not_retried(), Some(NotRetried::SourceNotRepeatable));
    assert!(e.to_string().contains("cannot be read twice"), "{e}");
    assert_eq!(emulator.attempts(STREAM), 1);
}

#[test]
// `cat` is waited for below; only a failing assertion in between would skip that, and `cat` ends
// with its input anyway.
#[allow(clippy::zombie_processes)]
fn an_anonymous_pipe_named_as_a_file_is_not_retried_into_an_empty_file() {
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
    assert_eq!(e.not_retried(), Some(NotRetried::SourceNotRepeatable));
    assert_eq!(emulator.attempts(STREAM), 1);
    assert!(
        emulator.stored("pipes/piped.bin").is_none(),
        "an empty retry was stored"
    );
    drop(reader);
}

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
