//! Sources that are not plain files: standard input, pipes, FIFOs, names that are not UTF-8 or
//! that the user did not choose, and --spool.

mod common;

use common::*;
use kie_upload_emulator::Fault;

#[test]
fn standard_input_is_streamed() {
    let emulator = emulator();
    let client = client(&emulator);
    let data = payload(300_000);
    let out = run_with(
        &emulator,
        KEY,
        &["-", "-n", "piped.bin", "-p", "stdin"],
        &data,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let url = out.stdout.trim();
    assert!(url.ends_with("/stdin/piped.bin"), "{url}");
    assert_eq!(download(&client, url), data);
    assert!(emulator.requests()[0].chunked);
}

#[test]
fn spool_sends_standard_input_with_a_length_and_retries_it() {
    let emulator = emulator();
    let data = payload(100_000);
    let unavailable = Fault::Status {
        status: 503,
        retry_after: Some("0".into()),
    };
    // Without --spool: chunked, not retried, and the advice says what would help.
    emulator.inject(unavailable.clone(), 1);
    let out = run_with(&emulator, KEY, &["-n", "in.bin", "-"], &data);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("pass --spool"), "{}", out.stderr);
    assert_eq!(emulator.attempts(STREAM), 1);
    emulator.clear_requests();
    emulator.inject(unavailable, 1);
    let out = run_with(&emulator, KEY, &["--spool", "-n", "in.bin", "-"], &data);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = emulator.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests
        .iter()
        .all(|r| !r.chunked && r.content_length.is_some()));
    assert_eq!(emulator.stored("uploads/in.bin").unwrap(), data);
    // A server that refuses chunked bodies: the advice is --spool.
    emulator.inject(
        Fault::RefuseChunked {
            status: 411,
            code: None,
        },
        1,
    );
    let out = run_with(&emulator, KEY, &["-n", "in.bin", "-"], &data);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("pass --spool"), "{}", out.stderr);
}

// Unix only: /dev/stdin is a Unix name.
#[cfg(unix)]
#[test]
fn the_same_pipe_named_twice_is_refused_before_reading() {
    let emulator = emulator();
    // `kie-upload /dev/stdin -`: both names are the one pipe of standard input.
    let out = run_with(&emulator, KEY, &["/dev/stdin", "-", "-n", "x"], b"data");
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = run_with(&emulator, KEY, &["/dev/stdin", "-"], b"data");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("same pipe"), "{}", out.stderr);
    assert!(emulator.requests().is_empty());
}

// Unix only: a FIFO (mkfifo) has no counterpart on Windows that a path can name.
#[cfg(unix)]
#[test]
fn verify_refuses_a_pipe_before_sending() {
    use std::io::Write;
    use std::process::Command;
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // Should the tool open the FIFO anyway, this writer lets the upload finish (and the test
    // fail on the exit status) instead of hanging; otherwise it waits, harmlessly, until the end.
    let path = fifo.clone();
    std::thread::spawn(move || {
        if let Ok(mut w) = std::fs::OpenOptions::new().write(true).open(path) {
            let _ = w.write_all(b"x");
        }
    });
    let out = run(&emulator, &["--verify", fifo.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot be read twice"),
        "{}",
        out.stderr
    );
    assert!(emulator.requests().is_empty());
}

// Unix only: Windows names are UTF-16, and one that is not Unicode is not a name wine can store.
#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_still_uploads() {
    use std::os::unix::ffi::OsStrExt;
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    std::fs::write(&path, b"latin-1 name").unwrap();
    let arg = path.as_os_str().to_owned();
    let out = finish(command(&emulator).env("KIE_API_KEY", KEY).arg(&arg), b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.starts_with("warning: "), "{}", out.stderr);
    assert_eq!(
        emulator.stored("uploads/caf\u{fffd}.txt").as_deref(),
        Some(&b"latin-1 name"[..])
    );
    // With -n the name is given, and nothing to warn about.
    let out = finish(
        command(&emulator)
            .env("KIE_API_KEY", KEY)
            .arg(&arg)
            .args(["-n", "cafe.txt"]),
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert!(emulator.stored("uploads/cafe.txt").is_some());
}

#[test]
fn a_name_the_user_did_not_choose_is_warned_about_once() {
    let emulator = emulator();
    let out = run_with(&emulator, KEY, &["-"], b"piped");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let warnings: Vec<_> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(warnings[0].contains("-n NAME"), "{}", warnings[0]);
    // Unix only: /dev/stdin and bash's `<(cmd)` are Unix names.
    #[cfg(unix)]
    names_of_pipes_are_warned_about(&emulator);
    // A name given, or a file's own name: nothing to warn about.
    let out = run_with(&emulator, KEY, &["-", "-n", "x.txt"], b"piped");
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let (_dir, path) = temp_file("own.txt", b"own");
    let out = run(&emulator, &[path.to_str().unwrap()]);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[cfg(unix)]
fn names_of_pipes_are_warned_about(emulator: &kie_upload_emulator::Emulator) {
    use std::process::Command;
    // /dev/stdin is stored as "stdin".
    let out = run_with(emulator, KEY, &["/dev/stdin"], b"piped");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "warning: /dev/stdin: stored as the name \"stdin\"; set the name with -n NAME"
        ),
        "{}",
        out.stderr
    );
    // `<(cmd)` is /dev/fd/63 to bash, stored as "63".
    if Command::new("bash").arg("-c").arg("true").status().is_ok() {
        let bin = env!("CARGO_BIN_EXE_kie-upload");
        let out = finish(
            in_clean_env(Command::new("bash"), emulator)
                .env("KIE_API_KEY", KEY)
                .args(["-c", &format!("exec '{bin}' <(printf substituted)")]),
            b"",
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        let warnings: Vec<_> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("warning: "))
            .collect();
        assert_eq!(warnings.len(), 1, "{}", out.stderr);
        assert!(
            warnings[0].starts_with("warning: /dev/fd/") && warnings[0].contains("-n NAME"),
            "{}",
            warnings[0]
        );
    }
}

/// Issue 24 item 10: `--spool -` or `--reuse -` with TMPDIR missing or a regular file names the
/// temporary folder and what to do (it said "-: reading the source failed (No such file or
/// directory)", blaming standard input).
// Unix only: the temporary folder is TMPDIR's there; Windows reads TMP and TEMP (and the
// message names TMPDIR).
#[cfg(unix)]
#[test]
fn a_spool_without_a_usable_temporary_folder_names_it() {
    let emulator = emulator();
    let (dir, file) = temp_file("plain.txt", b"not a folder");
    let missing = dir.path().join("missing");
    let cache = dir.path().join("cache");
    for tmpdir in [&missing, &file] {
        for flags in [&["--spool"][..], &["--cache-dir", cache.to_str().unwrap()]] {
            let mut command = command(&emulator);
            command
                .env("KIE_API_KEY", KEY)
                .env("TMPDIR", tmpdir)
                .args(flags)
                .args(["-n", "in.txt", "-"]);
            let out = finish(&mut command, b"data");
            assert_eq!(out.code, 1, "{}", out.stderr);
            let line = out
                .stderr
                .lines()
                .find(|l| l.starts_with("error: "))
                .unwrap();
            assert!(line.contains(tmpdir.to_str().unwrap()), "{line}");
            assert!(line.contains("TMPDIR"), "{line}");
            assert!(!line.contains("reading the source"), "{line}");
        }
    }
    assert!(emulator.requests().is_empty());
}

/// Under a file-size limit (`ulimit -f`) smaller than standard input, the spool's write fails:
/// the line says so, and points at the limit, not at TMPDIR (another folder would fail the same).
// Unix only: a file-size limit (prlimit) is Unix's.
#[cfg(unix)]
#[test]
fn a_spool_past_a_file_size_limit_says_so() {
    use std::process::Command;
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("skipped: needs util-linux's prlimit");
        return;
    }
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    for flags in [
        &["--spool"][..],
        &["--cache-dir", cache.path().to_str().unwrap()],
    ] {
        let mut prlimit = Command::new("prlimit");
        prlimit
            .args(["--fsize=4096", "--"])
            .arg(env!("CARGO_BIN_EXE_kie-upload"));
        let out = finish(
            in_clean_env(prlimit, &emulator)
                .env("KIE_API_KEY", KEY)
                .args(flags)
                .args(["-n", "in.bin", "-"]),
            &payload(100_000),
        );
        assert_eq!(out.code, 1, "{}", out.stderr);
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap();
        assert!(line.contains("file too large"), "{line}");
        assert!(line.contains("ulimit -f"), "{line}");
        assert!(!line.contains("TMPDIR"), "{line}");
    }
    assert!(emulator.requests().is_empty());
}
