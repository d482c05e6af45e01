//! The `kie-upload` binary against the emulator: outputs, exit statuses, shells and pipes, and no
//! key (or terminal escape from the server) in any output.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use kie_upload::Upload;
use kie_upload_emulator::{Config, ConnectProxy, Emulator, Fault};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The binary with a clean environment: the emulator's base URL, no proxy, no other settings.
fn command(emulator: &Emulator) -> Command {
    in_clean_env(Command::new(env!("CARGO_BIN_EXE_kie-upload")), emulator)
}

/// `command` with the environment [`command`] gives the binary.
fn in_clean_env(mut command: Command, emulator: &Emulator) -> Command {
    for var in [
        "KIE_API_KEY",
        "KIE_API_KEY_FILE",
        "KIE_BASE_URL",
        "SSL_CERT_FILE",
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(var);
    }
    command.env("KIE_BASE_URL", emulator.base_url());
    command
}

/// Runs the binary with `args`, `key` in the environment (unless empty), and `stdin` piped in.
fn run_with(emulator: &Emulator, key: &str, args: &[&str], stdin: &[u8]) -> Run {
    let mut command = command(emulator);
    if !key.is_empty() {
        command.env("KIE_API_KEY", key);
    }
    finish(command.args(args), stdin)
}

/// How long one run of the tool may take before the test kills it and fails.
const RUN_BOUND: Duration = Duration::from_secs(30);

fn finish(command: &mut Command, stdin: &[u8]) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kie-upload");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let collect = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = collect(Box::new(child.stdout.take().unwrap()));
    let stderr = collect(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kie-upload did not finish within {RUN_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    writer.join().unwrap();
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    // Whatever happened, the key shows nowhere, and nothing panicked.
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!text.contains(KEY), "the key leaked to {name}: {text}");
        assert!(!text.contains("panicked"), "{name}: {text}");
    }
    run
}

fn run(emulator: &Emulator, args: &[&str]) -> Run {
    run_with(emulator, KEY, args, b"")
}

fn upload_bytes(emulator: &Emulator, data: &[u8], name: &str, upload_path: &str) -> String {
    client(emulator)
        .upload(Upload::bytes(data, upload_path).file_name(name))
        .unwrap()
        .download_url
}

#[test]
fn several_files_in_parallel_print_urls_in_order() {
    let emulator = emulator();
    let client = client(&emulator);
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    let mut sources = Vec::new();
    for i in 0..6 {
        let data = payload(1000 + 50_000 * (6 - i));
        let path = dir.path().join(format!("f{i}.bin"));
        std::fs::write(&path, &data).unwrap();
        paths.push(path.to_string_lossy().into_owned());
        sources.push(data);
    }
    let mut args = vec!["--jobs", "3", "-p", "batch", "-q"];
    args.extend(paths.iter().map(String::as_str));
    let out = run(&emulator, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let urls: Vec<_> = out.stdout.lines().collect();
    assert_eq!(urls.len(), 6);
    for (i, url) in urls.iter().enumerate() {
        assert!(url.ends_with(&format!("/batch/f{i}.bin")), "{url}");
        assert_eq!(download(&client, url), sources[i]);
    }
    // No terminal, so no progress display either.
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

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
fn json_lines_carry_the_data_fields_and_expiry() {
    let emulator = emulator();
    let (_dir, path) = temp_file("j.txt", b"json please");
    let path = path.to_string_lossy().into_owned();
    let out = run(&emulator, &["--json", &path]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<_> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1);
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["fileName"], "j.txt");
    assert_eq!(v["filePath"], "uploads/j.txt");
    assert_eq!(v["fileSize"], 11);
    assert!(v["downloadUrl"]
        .as_str()
        .unwrap()
        .starts_with(emulator.base_url()));
    assert!(v["uploadedAt"].as_str().unwrap().ends_with('Z'));
    assert!(v["expiresAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["source"], path);
}

#[test]
fn json_lines_report_failures_too_in_order() {
    let emulator = emulator();
    let (dir, good) = temp_file("good.txt", b"good");
    let missing = dir.path().join("missing.txt");
    let (good, missing) = (good.to_str().unwrap(), missing.to_str().unwrap());
    let out = run(&emulator, &["--json", "-j", "1", good, missing]);
    assert_eq!(out.code, 1);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(lines[0]["source"], good);
    assert_eq!(lines[1]["source"], missing);
    assert!(lines[1]["error"].as_str().unwrap().contains("No such file"));
    assert_eq!(lines[1]["code"], serde_json::Value::Null);

    // A refusal carries the service's code.
    let out = run_with(&emulator, "not-the-key", &["--json", good], b"");
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["code"], 401);
    assert!(v["error"].as_str().unwrap().contains("check KIE_API_KEY"));
}

#[test]
fn verify_downloads_and_compares() {
    let emulator = emulator();
    let (_dir, path) = temp_file("v.bin", &payload(200_000));
    let out = run(&emulator, &["--verify", path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let gets = emulator
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(gets, 1);
    // It says what it checked: in -v's log, and in --json lines.
    assert!(!out.stderr.contains("verified"), "{}", out.stderr);
    let out = run(
        &emulator,
        &["--verify", "-v", "--json", path.to_str().unwrap()],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("{}: verified: 200000 bytes match", path.display())),
        "{}",
        out.stderr
    );
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["verified"], true);
    let out = run(&emulator, &["--json", path.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v.get("verified"), None);
}

#[test]
fn base64_and_its_limit() {
    let emulator = emulator();
    let client = client(&emulator);
    let (dir, small) = temp_file("small.txt", b"tiny file");
    let out = run(&emulator, &["--base64", small.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(download(&client, out.stdout.trim()), b"tiny file");
    assert_eq!(emulator.attempts("/api/file-base64-upload"), 1);

    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![0u8; 10_000_001]).unwrap();
    let out = run(&emulator, &["--base64", big.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.contains("stream endpoint"), "{}", out.stderr);
    assert_eq!(emulator.attempts("/api/file-base64-upload"), 1);

    let out = run_with(
        &emulator,
        KEY,
        &["--base64", "-", "-n", "in.txt"],
        b"from stdin",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(download(&client, out.stdout.trim()), b"from stdin");
}

#[test]
fn from_url_asks_the_service_to_fetch() {
    let emulator = emulator();
    let client = client(&emulator);
    let origin = upload_bytes(&emulator, b"over there", "o.txt", "origin");
    let out = run(
        &emulator,
        &["--from-url", &origin, "-p", "fetched", "-n", "copy.txt"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.trim().ends_with("/fetched/copy.txt"));
    assert_eq!(download(&client, out.stdout.trim()), b"over there");
}

#[test]
fn a_failed_source_exits_1_names_it_once_and_the_others_still_run() {
    let emulator = emulator();
    let (dir, good) = temp_file("good.txt", b"good");
    let missing = dir.path().join("missing.jpg");
    let out = run(
        &emulator,
        &[
            good.to_str().unwrap(),
            missing.to_str().unwrap(),
            "-p",
            "one",
        ],
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout.lines().count(), 1);
    let errors: Vec<_> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert_eq!(errors[0].matches("missing.jpg").count(), 1, "{}", errors[0]);
    assert!(errors[0].contains("No such file"), "{}", errors[0]);
}

#[test]
fn a_wrong_key_says_what_to_check() {
    let emulator = emulator();
    let (_dir, path) = temp_file("photo.jpg", b"\xff\xd8\xff");
    let out = run_with(&emulator, "not-the-key", &[path.to_str().unwrap()], b"");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("the service refused the API key (code 401)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("check KIE_API_KEY"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors_exit_2_with_nothing_sent() {
    let emulator = emulator();
    let (dir, path) = temp_file("a.txt", b"a");
    let a = path.to_str().unwrap();
    std::fs::create_dir(dir.path().join("d1")).unwrap();
    std::fs::create_dir(dir.path().join("d2")).unwrap();
    let x1 = dir.path().join("d1/x.txt");
    let x2 = dir.path().join("d2/x.txt");
    std::fs::write(&x1, b"one").unwrap();
    std::fs::write(&x2, b"two").unwrap();
    let (x1, x2) = (x1.to_str().unwrap(), x2.to_str().unwrap());
    for (args, expect) in [
        (vec!["--bogus", a], "--bogus"),
        (vec![], "no SRC"),
        (vec!["-n", "x.txt", a, a], "--name"),
        (
            vec!["--from-url", "https://example.com/a", a],
            "--from-url takes no SRC",
        ),
        (vec!["--jobs", "zero", a], "--jobs"),
        (vec!["--jobs", "0", a], "--jobs"),
        (vec!["--timeout", "0", a], "--timeout"),
        (vec!["--timeout", "18446744073709551615", a], "maximum"),
        (vec!["-", "-"], "only once"),
        (vec!["--verify", "-"], "--verify"),
        (vec!["--api-key", "k", a], "KIE_API_KEY"),
        (vec!["--base-url", "http://example.com", a], "clear text"),
        (vec!["-p", "", a], "empty upload path"),
        (vec!["-p", "../x", a], "`..` segment"),
        (vec!["-p", "a\\..\\b", a], "`..` segment"),
        (vec!["-n", "a/b", a], "is a path"),
        (vec!["-n", "", a], "empty file name"),
        (vec!["--from-url", "ftp://x/a.png"], "not an absolute http"),
        (
            vec!["--proxy", "http://user:s3cret@bad host:1", a],
            "not a proxy URL",
        ),
        (vec![x1, x2], "uploads/x.txt"),
    ] {
        let out = run(&emulator, &args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("error: "),
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(expect), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    // Two sources that would overwrite each other are both named.
    let out = run(&emulator, &[x1, x2]);
    assert!(
        out.stderr.contains(x1) && out.stderr.contains(x2),
        "{}",
        out.stderr
    );
    let out = run_with(&emulator, "", &[a], b"");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("missing API key"), "{}", out.stderr);
    assert!(emulator.requests().is_empty());
}

#[test]
fn verify_refuses_a_pipe_before_sending() {
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

#[test]
fn the_key_can_come_from_a_file() {
    let emulator = emulator();
    let (dir, path) = temp_file("a.txt", b"a");
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let a = path.to_str().unwrap();
    let key_file = key_file.to_str().unwrap();

    let out = run_with(&emulator, "", &["--api-key-file", key_file, a], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1);

    // KIE_API_KEY_FILE, documented next to KIE_API_KEY.
    let out = finish(
        command(&emulator).env("KIE_API_KEY_FILE", key_file).arg(a),
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Both variables at once is an error naming them, unless --api-key-file settles it.
    let both = || {
        let mut c = command(&emulator);
        c.env("KIE_API_KEY_FILE", key_file)
            .env("KIE_API_KEY", "other");
        c
    };
    let out = finish(both().arg(a), b"");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("KIE_API_KEY") && out.stderr.contains("KIE_API_KEY_FILE"),
        "{}",
        out.stderr
    );
    let out = finish(both().args(["--api-key-file", key_file, a]), b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn help_and_version() {
    let emulator = emulator();
    let out = run(&emulator, &["--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("--upload-path DIR"));
    let out = run(&emulator, &["-V"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("kie-upload "));
}

#[test]
fn retries_and_timeout_reach_the_library() {
    let emulator = emulator();
    let (_dir, path) = temp_file("r.txt", b"retry me");
    let unavailable = Fault::Status {
        status: 503,
        retry_after: Some("0".into()),
    };
    emulator.inject(unavailable.clone(), 1);
    let out = run(&emulator, &["--retries", "0", path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(emulator.attempts(STREAM), 1);

    emulator.inject(unavailable, 1);
    let out = run(&emulator, &["--retries", "1", path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(emulator.attempts(STREAM), 3);

    emulator.inject(Fault::NeverAnswer, 1);
    let started = Instant::now();
    let out = run(
        &emulator,
        &["--timeout", "1", "--retries", "0", path.to_str().unwrap()],
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn verbose_logs_attempts_statuses_and_retries() {
    let emulator = emulator();
    let (_dir, path) = temp_file("v.txt", b"loud");
    emulator.inject(
        Fault::Status {
            status: 503,
            retry_after: Some("0".into()),
        },
        1,
    );
    let out = run(&emulator, &["-v", path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let log = &out.stderr;
    assert!(
        log.contains("attempt 1: POST /api/file-stream-upload"),
        "{log}"
    );
    assert!(log.contains("attempt 1: HTTP 503 after"), "{log}");
    assert!(
        log.contains("attempt 1 failed:") && log.contains("retrying in 0 ms"),
        "{log}"
    );
    assert!(log.contains("attempt 2: HTTP 200 after"), "{log}");
    assert_eq!(out.stdout.lines().count(), 1);
}

/// Spawns the binary with its standard output (or error) a pipe whose reader is already gone, as
/// after `| head -0`.
fn spawn_with_closed(emulator: &Emulator, args: &[&str], close_stderr: bool) -> Child {
    // A pipe whose only reader, `true`, has already exited.
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let writer = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    let mut command = command(emulator);
    command
        .env("KIE_API_KEY", KEY)
        .args(args)
        .stdin(Stdio::null());
    if close_stderr {
        command.stdout(Stdio::null()).stderr(writer);
    } else {
        command.stdout(writer).stderr(Stdio::piped());
    }
    command.spawn().unwrap()
}

/// The exit status and standard error of a child spawned by [`spawn_with_closed`].
fn wait_with_stderr(mut child: Child) -> (Option<i32>, String) {
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).unwrap();
    }
    (child.wait().unwrap().code(), stderr)
}

#[test]
fn a_closed_standard_output_is_a_quiet_failure_and_errors_still_show() {
    let emulator = emulator();
    let (dir, good) = temp_file("good.txt", b"good");
    let missing = dir.path().join("missing.bin");
    // `kie-upload good missing | head -0`
    let child = spawn_with_closed(
        &emulator,
        &["-j", "1", good.to_str().unwrap(), missing.to_str().unwrap()],
        false,
    );
    let (code, stderr) = wait_with_stderr(child);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("missing.bin"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");

    // Every upload stored, but its result could not be written: still a failure.
    let child = spawn_with_closed(&emulator, &[good.to_str().unwrap()], false);
    let (code, stderr) = wait_with_stderr(child);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    // `kie-upload --help | head -0`
    let (code, stderr) = wait_with_stderr(spawn_with_closed(&emulator, &["--help"], false));
    assert_eq!(code, Some(1));
    assert!(stderr.is_empty(), "{stderr}");

    // An error printed to a closed standard error.
    let child = spawn_with_closed(&emulator, &[missing.to_str().unwrap()], true);
    assert_eq!(wait_with_stderr(child).0, Some(1));
}

#[test]
fn a_full_disk_on_standard_output_is_a_failure() {
    let emulator = emulator();
    let (dir, good) = temp_file("good.txt", b"good");
    let missing = dir.path().join("missing.bin");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = command(&emulator)
        .env("KIE_API_KEY", KEY)
        .args(["-j", "1", good.to_str().unwrap(), missing.to_str().unwrap()])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the results"), "{stderr}");
    assert!(stderr.contains("missing.bin"), "{stderr}");
}

#[test]
fn each_result_is_printed_as_soon_as_it_and_those_before_are_done() {
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.txt");
    std::fs::write(&first, b"quick").unwrap();
    let fifo = dir.path().join("slow");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut child = command(&emulator)
        .env("KIE_API_KEY", KEY)
        .args(["-j", "2", first.to_str().unwrap(), fifo.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writer.write_all(b"slow start").unwrap();
    // The first URL arrives while the second source is still open.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    assert!(line.ends_with("/uploads/first.txt"), "{line}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the batch ended before the FIFO did"
    );
    drop(writer);
    let line = lines.next().unwrap().unwrap();
    assert!(line.ends_with("/uploads/slow"), "{line}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_name_that_is_not_utf8_still_uploads() {
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
fn server_text_cannot_steer_the_terminal() {
    let emulator = emulator();
    let (_dir, path) = temp_file("a.txt", b"abc");
    let hostile = format!(
        r#"{{"success":true,"code":200,"data":{{"fileName":"a\u001b]0;pwned\u0007.txt","filePath":"uploads/a.txt","downloadUrl":"{}/files/a\u202e.txt\u001b[2J","fileSize":3}}}}"#,
        emulator.base_url()
    );
    for json in [false, true] {
        emulator.inject(
            Fault::Raw {
                bytes: http_reply("200 OK", "application/json", &hostile),
            },
            1,
        );
        let mut args = vec![path.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = run(&emulator, &args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            !out.stdout.contains(['\u{1b}', '\u{7}', '\u{202e}']),
            "{:?}",
            out.stdout
        );
        if json {
            // Still JSON, and the exact name is there for a program that decodes it.
            let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
            assert_eq!(v["fileName"], "a\u{1b}]0;pwned\u{7}.txt");
        }
    }
    emulator.inject(Fault::ControlChars, 1);
    let out = run(&emulator, &[path.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        !out.stderr
            .contains(['\u{1b}', '\u{7}', '\u{202e}', '\u{200b}']),
        "{:?}",
        out.stderr
    );
}

#[test]
fn https_with_cacert() {
    let emulator = emulator_with(Config::new(KEY).tls(true));
    let (_dir, path) = temp_file("tls.txt", b"over tls");
    let ca = emulator
        .ca_cert_path()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let out = run(&emulator, &["--cacert", &ca, path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("https://"), "{}", out.stdout);
    // Without the CA the certificate is refused in words, and not retried.
    let out = run(&emulator, &[path.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("unknown issuer"), "{}", out.stderr);
    assert_eq!(emulator.attempts(STREAM), 1);
    // SSL_CERT_FILE does what --cacert does.
    let out = finish(
        command(&emulator)
            .env("KIE_API_KEY", KEY)
            .env("SSL_CERT_FILE", &ca)
            .arg(&path),
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn the_proxy_comes_from_the_environment_unless_a_flag_says_otherwise() {
    let emulator = emulator_with(Config::new(KEY).tls(true));
    let proxy = ConnectProxy::start().unwrap();
    let (_dir, path) = temp_file("p.txt", b"proxied");
    let ca = emulator
        .ca_cert_path()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let with_env = |proxy_url: &str| {
        let mut c = command(&emulator);
        c.env("KIE_API_KEY", KEY)
            .env("HTTPS_PROXY", proxy_url)
            .args(["--cacert", &ca]);
        c
    };
    // The environment's proxy is used by default.
    let out = finish(with_env(&proxy.url()).arg(&path), b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(proxy.tunnels().len(), 1);
    // A proxy in the environment that does not exist: --no-proxy ignores it.
    let out = finish(
        with_env("http://127.0.0.1:1").arg("--no-proxy").arg(&path),
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = finish(with_env("http://127.0.0.1:1").arg(&path), b"");
    assert_eq!(out.code, 1, "{}", out.stderr);
    // --proxy wins over the environment.
    let out = finish(
        with_env("http://127.0.0.1:1")
            .args(["--proxy", &proxy.url()])
            .arg(&path),
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(proxy.tunnels().len(), 2);
}

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

#[test]
fn credentials_in_a_url_are_not_echoed() {
    let emulator = emulator();
    emulator.inject(
        Fault::Status {
            status: 400,
            retry_after: None,
        },
        1,
    );
    let out = run(
        &emulator,
        &[
            "--json",
            "--from-url",
            "https://user:hunter2@example.com/a.png",
            "-n",
            "a.png",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    assert!(
        out.stdout.contains("https://user:***@example.com/a.png"),
        "{}",
        out.stdout
    );
    // Nor a proxy's password.
    let out = run(
        &emulator,
        &["--proxy", "http://user:s3cret@bad host:1", "x"],
    );
    assert_eq!(out.code, 2);
    assert!(!out.stderr.contains("s3cret"), "{}", out.stderr);
}

/// A folder for `-r` tests: `top.txt`, `sub/b.txt`, `sub/a.txt`, `sub/deeper/c.txt`.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
    for (name, data) in [
        ("top.txt", "top"),
        ("sub/b.txt", "bee"),
        ("sub/a.txt", "ay"),
        ("sub/deeper/c.txt", "sea"),
    ] {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    dir
}

#[test]
fn recursive_uploads_every_file_under_a_folder_to_its_folder_in_sorted_order() {
    let emulator = emulator();
    let dir = tree();
    let root = dir.path().to_str().unwrap();
    let out = run(&emulator, &["-r", "-j", "3", "-p", "site/", "--json", root]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let paths: Vec<_> = lines
        .iter()
        .map(|v| v["filePath"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "site/sub/a.txt",
            "site/sub/b.txt",
            "site/sub/deeper/c.txt",
            "site/top.txt"
        ]
    );
    assert_eq!(lines[0]["source"], format!("{root}/sub/a.txt"));
    assert_eq!(emulator.stored("site/sub/deeper/c.txt").unwrap(), b"sea");

    // Without -r a folder fails, in the one error format, and the other sources still run.
    let (_other, file) = temp_file("f.txt", b"f");
    let out = run(&emulator, &[root, file.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("error: {root}: is a directory: use -r")),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout.lines().count(), 1);
}

#[test]
fn symbolic_links_are_skipped_unless_follow_and_a_loop_is_reported() {
    let emulator = emulator();
    let dir = tree();
    let root = dir.path().to_str().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("o.txt"), b"outside").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("sub/linked")).unwrap();
    // A loop: a link back to the top.
    std::os::unix::fs::symlink("../..", dir.path().join("sub/deeper/up")).unwrap();

    let out = run(&emulator, &["-r", "-q", root]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 4);
    assert!(
        out.stderr.contains("2 symbolic links not followed"),
        "{}",
        out.stderr
    );
    assert!(emulator.stored("uploads/sub/linked/o.txt").is_none());

    let out = run(&emulator, &["-r", "-L", "-q", root]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 5, "{}", out.stdout);
    assert_eq!(
        emulator.stored("uploads/sub/linked/o.txt").unwrap(),
        b"outside"
    );
    let errors: Vec<_> = out.stderr.lines().collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].starts_with(&format!("error: {root}/sub/deeper/up: symbolic link loop")),
        "{}",
        errors[0]
    );
}

#[test]
fn names_the_service_cannot_store_are_reported_before_anything_is_sent() {
    let emulator = emulator();
    let dir = tree();
    let root = dir.path().to_str().unwrap();
    std::fs::write(
        dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt")),
        b"x",
    )
    .unwrap();
    std::fs::write(dir.path().join("sub/bell\x07.txt"), b"x").unwrap();
    let out = run(&emulator, &["-r", root]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("caf\\xe9.txt") || out.stderr.contains("caf"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("not UTF-8"), "{}", out.stderr);
    assert!(out.stderr.contains("control character"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Try 'kie-upload --help'"),
        "{}",
        out.stderr
    );
    assert!(emulator.requests().is_empty());
}

#[test]
fn dry_run_prints_source_upload_path_name_and_size_and_sends_nothing() {
    let emulator = emulator();
    let dir = tree();
    let root = dir.path().to_str().unwrap();
    let out = run(&emulator, &["-r", "--dry-run", "-p", "p", root]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<_> = out.stdout.lines().collect();
    assert_eq!(lines[0], format!("{root}/sub/a.txt\tp/sub\ta.txt\t2"));
    assert_eq!(lines[3], format!("{root}/top.txt\tp\ttop.txt\t3"));
    let out = run(&emulator, &["-r", "--dry-run", "--json", root]);
    let v: serde_json::Value = serde_json::from_str(out.stdout.lines().nth(2).unwrap()).unwrap();
    assert_eq!(v["uploadPath"], "uploads/sub/deeper");
    assert_eq!(v["fileName"], "c.txt");
    assert_eq!(v["size"], 3);
    assert!(emulator.requests().is_empty());
}

/// Open descriptors of process `pid`: how many are files under `dir`, and how many in all.
fn open_files(pid: u32, dir: &std::path::Path) -> (usize, usize) {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return (0, 0);
    };
    let (mut under, mut all) = (0, 0);
    for entry in entries.flatten() {
        all += 1;
        if std::fs::read_link(entry.path()).is_ok_and(|target| target.starts_with(dir)) {
            under += 1;
        }
    }
    (under, all)
}

/// The peak resident memory (`VmHWM`) of process `pid`, in KiB.
fn peak_memory_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn ten_thousand_files_go_in_bounded_memory_with_few_files_open() {
    const FILES: usize = 10_000;
    const JOBS: usize = 8;
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    for d in 0..100 {
        let sub = dir.path().join(format!("d{d:02}"));
        std::fs::create_dir(&sub).unwrap();
        for f in 0..FILES / 100 {
            std::fs::write(sub.join(format!("f{f:02}.txt")), format!("{d}/{f}")).unwrap();
        }
    }
    // Standard input comes last and is held open, so the process is still there, every file
    // done, when its peak memory is read.
    let mut child = command(&emulator)
        .env("KIE_API_KEY", KEY)
        .args(["-r", "-j", "8", "-q"])
        .arg(dir.path())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut count = 0;
        for line in BufReader::new(stdout).lines() {
            let _ = line;
            count += 1;
            if count == FILES {
                let _ = tx.send(());
            }
        }
    });
    let bound = Instant::now() + Duration::from_secs(600);
    let (mut most_under, mut most_all) = (0, 0);
    loop {
        let (under, all) = open_files(pid, dir.path());
        most_under = most_under.max(under);
        most_all = most_all.max(all);
        if rx.try_recv().is_ok() {
            break;
        }
        if child.try_wait().unwrap().is_some() || Instant::now() > bound {
            let _ = child.kill();
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("the batch ended or stalled before its {FILES} results: {stderr}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let peak = peak_memory_kib(pid).unwrap();
    drop(stdin);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{stderr}");
    // Every file once, and a few more attempts for uploads retried after a transient failure
    // (56 of 10,001 once, with every feature on and the machine loaded; most likely a pooled
    // connection the emulator closed as idle just as it was reused).
    let attempts = emulator.attempts(STREAM);
    assert!(
        (FILES + 1..=FILES + 1 + FILES / 50).contains(&attempts),
        "{attempts} attempts for {} sources",
        FILES + 1
    );
    eprintln!("peak {peak} KiB, at most {most_under} source files and {most_all} descriptors open");
    assert!(peak <= 32 * 1024, "peak memory {peak} KiB");
    assert!(
        most_under <= JOBS + 8,
        "{most_under} source files open at once"
    );
    // Every descriptor, sockets and standard streams included.
    assert!(
        most_all <= 2 * JOBS + 8,
        "{most_all} descriptors open at once"
    );
}

#[test]
fn a_batch_ends_with_one_summary_line_unless_quiet() {
    let emulator = emulator();
    let (dir, a) = temp_file("a.txt", b"aaaa");
    let b = dir.path().join("b.txt");
    std::fs::write(&b, b"bbbbbb").unwrap();
    let missing = dir.path().join("missing.txt");
    let args = [
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        missing.to_str().unwrap(),
    ];
    let out = run(&emulator, &args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("kie-upload: 2 stored, 1 failed, 10 B in ") && last.ends_with("/s)"),
        "{last}"
    );
    assert_eq!(
        out.stderr.lines().filter(|l| l.contains("stored")).count(),
        1
    );
    let mut quiet = args.to_vec();
    quiet.push("-q");
    let out = run(&emulator, &quiet);
    assert!(!out.stderr.contains("stored"), "{}", out.stderr);
    // One source is not a batch.
    let out = run(&emulator, &args[..1]);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

/// Runs the binary with `args` on a terminal 200 columns wide (through `script`), with a FIFO
/// among the sources that the test feeds slowly, and returns what the terminal showed.
fn on_a_terminal(emulator: &Emulator, args: &[&str], fifo: &std::path::Path) -> String {
    let bin = env!("CARGO_BIN_EXE_kie-upload");
    let line = std::iter::once(bin)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = in_clean_env(Command::new("script"), emulator)
        .env("KIE_API_KEY", KEY)
        // Wider than 80: each line is drawn padded to the width, so what it holds shows apart.
        .args([
            "-qec",
            &format!("stty cols 200 rows 24; exec {line}"),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let fifo = fifo.to_path_buf();
    std::thread::spawn(move || {
        if let Ok(mut w) = std::fs::OpenOptions::new().write(true).open(fifo) {
            for _ in 0..8 {
                let _ = w.write_all(&[b'x'; 1000]);
                std::thread::sleep(Duration::from_millis(150));
            }
        }
    });
    let mut shown = Vec::new();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let _ = stdout.read_to_end(&mut shown);
        shown
    });
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > RUN_BOUND {
            let _ = child.kill();
            panic!("kie-upload on a terminal did not finish within {RUN_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    String::from_utf8_lossy(&reader.join().unwrap()).into_owned()
}

/// Terminal output without its escape sequences, split where the cursor moves to a new line and
/// where a line's padding (20 spaces or more) starts.
fn screen_lines(shown: &str) -> Vec<String> {
    let mut lines = vec![String::new()];
    let mut chars = shown.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ parameters final-byte; a cursor move starts another line.
                if chars.next_if_eq(&'[').is_some() {
                    for p in chars.by_ref() {
                        if p.is_ascii_alphabetic() {
                            if matches!(p, 'A' | 'B' | 'E' | 'F' | 'J' | 'K') {
                                lines.push(String::new());
                            }
                            break;
                        }
                    }
                }
            }
            '\r' | '\n' => lines.push(String::new()),
            c => lines.last_mut().unwrap().push(c),
        }
    }
    let padding = " ".repeat(20);
    lines
        .iter()
        .flat_map(|l| l.split(padding.as_str()))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_progress_display_shows_the_batch_total_in_80_columns_on_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    }
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    // Wide characters take two columns each; the line must still fit.
    let big = dir.path().join("写真写真写真写真写真写真.bin");
    std::fs::write(&big, payload(300_000)).unwrap();
    let fifo = dir.path().join("slow");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let shown = on_a_terminal(
        &emulator,
        &["-j", "1", big.to_str().unwrap(), fifo.to_str().unwrap()],
        &fifo,
    );
    let lines = screen_lines(&shown);
    assert!(lines.iter().any(|l| l.contains("1/2 files")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("真.bin")), "{lines:#?}");
    // The display's lines (the URLs on standard output show on the terminal too).
    for line in lines.iter().filter(|l| !l.starts_with("http://")) {
        let columns: usize = line.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
        assert!(columns <= 80, "{columns} columns: {line:?}");
    }
}

/// The flags an option list defines: `-x` and `--long` at the start of its lines (after the
/// indent), as `--help` and the README write them.
fn flags_of_option_lines(text: &str) -> std::collections::BTreeSet<String> {
    let mut flags = std::collections::BTreeSet::new();
    for line in text.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        for word in line.split_whitespace() {
            let word = word.trim_end_matches(',');
            if word.starts_with('-') && word.len() > 1 && word != "-" {
                flags.insert(word.to_owned());
            } else {
                break;
            }
        }
    }
    flags
}

#[test]
fn help_man_page_completions_and_readme_name_the_same_flags() {
    let emulator = emulator();
    let help = run(&emulator, &["--help"]).stdout;
    let options = help
        .split("\nOptions:\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    let from_help = flags_of_option_lines(options);
    assert!(
        from_help.contains("--recursive") && from_help.contains("-L"),
        "{from_help:?}"
    );

    // The man page: `\fB\-r\fR, \fB\-\-recursive\fR` after each `.TP` of OPTIONS.
    let man =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/kie-upload.1")).unwrap();
    let section = man
        .split(".SH OPTIONS")
        .nth(1)
        .unwrap()
        .split(".SH ")
        .next()
        .unwrap();
    let mut from_man = std::collections::BTreeSet::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line == ".TP" {
            let head = lines.next().unwrap().replace("\\-", "-");
            for part in head.split("\\fB").skip(1) {
                let flag = part.split("\\fR").next().unwrap();
                from_man.insert(flag.to_owned());
            }
        }
    }

    // The README's flag list: the text block that starts with the usage line.
    // The repository's README, beside this package; not in the published package.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .unwrap_or_else(|_| format!("```text\nkie-upload [OPTIONS] <SRC>...\n{options}\n```"));
    let block = readme
        .split("```text\nkie-upload [OPTIONS] <SRC>...\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let from_readme = flags_of_option_lines(block);

    assert_eq!(from_man, from_help, "the man page against --help");
    assert_eq!(from_readme, from_help, "the README against --help");
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&emulator, &["--completions", shell]);
        assert_eq!(script.code, 0, "{}", script.stderr);
        let mut from_script = std::collections::BTreeSet::new();
        match shell {
            "fish" => {
                for line in script.stdout.lines().filter(|l| l.starts_with("complete ")) {
                    let words: Vec<_> = line.split_whitespace().collect();
                    for pair in words.windows(2) {
                        match pair[0] {
                            "-s" => from_script.insert(format!("-{}", pair[1])),
                            "-l" => from_script.insert(format!("--{}", pair[1])),
                            _ => false,
                        };
                    }
                }
            }
            "bash" => {
                let words = script.stdout.split("compgen -W \"-").nth(1).unwrap();
                let words = format!("-{}", words.split('"').next().unwrap());
                from_script.extend(words.split_whitespace().map(str::to_owned));
            }
            _ => {
                for line in script.stdout.lines() {
                    let line = line.trim_start().trim_start_matches('\'');
                    let spec = line.split('[').next().unwrap();
                    let spec = spec.rsplit(['{', ')']).next().unwrap();
                    for flag in spec.trim_end_matches(['}', '\'']).split(',') {
                        if flag.starts_with('-') {
                            from_script.insert(flag.to_owned());
                        }
                    }
                }
            }
        }
        assert_eq!(
            from_script, from_help,
            "the {shell} completions against --help"
        );
    }
    // And the parser knows every flag the help names.
    for flag in &from_help {
        let out = run(&emulator, &[flag.as_str(), "--bogus-flag-for-the-test"]);
        assert!(
            !out.stderr.contains(&format!("invalid option '{flag}'")),
            "{flag}: {}",
            out.stderr
        );
    }
}

#[test]
fn help_has_environment_exit_status_and_examples_within_80_columns() {
    let emulator = emulator();
    let help = run(&emulator, &["--help"]).stdout;
    for section in ["\nEnvironment:\n", "\nExit status:\n", "\nExamples:\n"] {
        assert!(help.contains(section), "{section}");
    }
    for var in [
        "KIE_API_KEY",
        "KIE_API_KEY_FILE",
        "KIE_BASE_URL",
        "SSL_CERT_FILE",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    ] {
        assert!(help.contains(var), "{var}");
    }
    for line in help.lines() {
        assert!(
            line.chars().count() < 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    // The completion scripts are valid shell (bash's, when there is one to check them).
    let bash = run(&emulator, &["--completions", "bash"]).stdout;
    if let Ok(mut check) = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        check
            .stdin
            .take()
            .unwrap()
            .write_all(bash.as_bytes())
            .unwrap();
        let done = check.wait_with_output().unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let out = run(&emulator, &["--completions", "tcsh"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("Try 'kie-upload --help'"),
        "{}",
        out.stderr
    );
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
    // /dev/stdin is stored as "stdin".
    let out = run_with(&emulator, KEY, &["/dev/stdin"], b"piped");
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
            in_clean_env(Command::new("bash"), &emulator)
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
    // A name given, or a file's own name: nothing to warn about.
    let out = run_with(&emulator, KEY, &["-", "-n", "x.txt"], b"piped");
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let (_dir, path) = temp_file("own.txt", b"own");
    let out = run(&emulator, &[path.to_str().unwrap()]);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn every_failed_source_line_starts_with_error_and_its_source() {
    let emulator = emulator();
    let (dir, good) = temp_file("good.txt", b"good");
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("missing.txt");
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    let sources = [&good, &empty, &missing, &folder];
    let args: Vec<&str> = ["--base64", "-q"]
        .into_iter()
        .chain(sources.iter().map(|p| p.to_str().unwrap()))
        .collect();
    let out = run(&emulator, &args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let errors: Vec<_> = out.stderr.lines().collect();
    assert_eq!(errors.len(), 3, "{}", out.stderr);
    for (line, source) in errors.iter().zip([&empty, &missing, &folder]) {
        let prefix = format!("error: {}: ", source.display());
        assert!(line.starts_with(&prefix), "{line}");
        assert_eq!(line.matches(source.to_str().unwrap()).count(), 1, "{line}");
    }
    assert!(errors[0].contains("leave out --base64"), "{}", errors[0]);
    assert!(
        errors[2].ends_with("is a directory: use -r"),
        "{}",
        errors[2]
    );
    // A failure the service reports has the same shape, with advice in flags.
    let out = run_with(&emulator, "not-the-key", &[good.to_str().unwrap()], b"");
    assert!(
        out.stderr
            .starts_with(&format!("error: {}: the service refused", good.display())),
        "{}",
        out.stderr
    );
}

#[test]
fn advice_names_the_flags_and_where_the_key_really_came_from() {
    let emulator = emulator();
    let (dir, path) = temp_file("a.txt", b"a");
    let a = path.to_str().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, "not-the-key\n").unwrap();
    let key_file = key_file.to_str().unwrap();
    let out = run_with(&emulator, "", &["--api-key-file", key_file, a], b"");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("check the key in {key_file} (--api-key-file)")),
        "{}",
        out.stderr
    );
    let out = finish(
        command(&emulator).env("KIE_API_KEY_FILE", key_file).arg(a),
        b"",
    );
    assert!(
        out.stderr.contains(&format!(
            "check the key in {key_file} (named by KIE_API_KEY_FILE)"
        )),
        "{}",
        out.stderr
    );
    let out = run_with(&emulator, "not-the-key", &[a], b"");
    assert!(out.stderr.contains("check KIE_API_KEY"), "{}", out.stderr);
    let out = run_with(&emulator, "", &[a], b"");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--api-key-file FILE"), "{}", out.stderr);
    // Plain http to a remote host: the flag that allows it exists.
    let out = run(
        &emulator,
        &["--base-url", "http://example.com", "--dry-run", a],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("pass --allow-insecure-http"),
        "{}",
        out.stderr
    );
    let out = run(
        &emulator,
        &[
            "--base-url",
            "http://example.com",
            "--allow-insecure-http",
            "--dry-run",
            a,
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(emulator.requests().iter().all(|r| r.method != "GET"));
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

/// Whether a message names a Rust item: a path (`::`), or a type or method of the library.
fn names_a_rust_item(text: &str) -> bool {
    text.contains("::")
        || [
            "Client",
            "Upload",
            "ClientBuilder",
            "Error",
            "allow_insecure_http",
            "spool()",
        ]
        .iter()
        .any(|item| text.contains(item))
}

#[test]
fn no_message_of_the_tool_names_a_rust_item() {
    let emulator = emulator();
    let (dir, path) = temp_file("a.txt", b"abc");
    let a = path.to_str().unwrap();
    let mut shown = Vec::new();
    let mut check = |what: &str, out: Run| {
        assert_ne!(out.code, 0, "{what}: {}", out.stderr);
        assert!(!names_a_rust_item(&out.stderr), "{what}: {}", out.stderr);
        assert!(!names_a_rust_item(&out.stdout), "{what}: {}", out.stdout);
        shown.push(what.to_owned());
    };
    // InvalidInput, as usage errors: a missing key, a bad upload path, plain http.
    check("no key", run_with(&emulator, "", &[a], b""));
    check("bad path", run(&emulator, &["-p", "../x", a]));
    check(
        "plain http",
        run(&emulator, &["--base-url", "http://example.com", a]),
    );
    check("both keys", {
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, KEY).unwrap();
        finish(
            command(&emulator)
                .env("KIE_API_KEY", KEY)
                .env("KIE_API_KEY_FILE", &key_file)
                .arg(a),
            b"",
        )
    });
    // Io: a source that is gone.
    check("missing", run(&emulator, &["--json", "missing-file.txt"]));
    // Base64 of a source of unknown length, and of an empty one.
    check(
        "base64 stdin",
        run_with(&emulator, KEY, &["--base64", "-n", "x", "-"], b""),
    );
    // Transport: nothing listens.
    check(
        "transport",
        run(
            &emulator,
            &["--base-url", "http://127.0.0.1:1", "--retries", "0", a],
        ),
    );
    // Timeout.
    emulator.inject(Fault::NeverAnswer, 1);
    check(
        "timeout",
        run(&emulator, &["--timeout", "1", "--retries", "0", a]),
    );
    // Service: a refused key, no credits, a busy service.
    check(
        "service 401",
        run_with(&emulator, "not-the-key", &["--json", a], b""),
    );
    for code in [402, 413, 417, 500] {
        emulator.inject(
            Fault::BodyCode {
                code,
                retry_after: None,
            },
            3,
        );
        check(
            &format!("code {code}"),
            run(&emulator, &["--json", "--retries", "0", a]),
        );
    }
    // Http, Redirect, BadReply, StoredSizeMismatch, LengthRequired.
    emulator.inject(Fault::Html { status: 502 }, 3);
    check("html", run(&emulator, &["--retries", "0", a]));
    emulator.inject(
        Fault::Redirect {
            status: 302,
            location: "https://elsewhere.example/".into(),
        },
        1,
    );
    check("redirect", run(&emulator, &[a]));
    emulator.inject(Fault::MalformedJson, 1);
    check("bad reply", run(&emulator, &[a]));
    emulator.inject(Fault::WrongSize, 3);
    check("stored size", run(&emulator, &["--retries", "0", a]));
    emulator.inject(
        Fault::RefuseChunked {
            status: 411,
            code: None,
        },
        1,
    );
    check(
        "length required",
        run_with(&emulator, KEY, &["-n", "x", "-"], b"stdin"),
    );
    // Tls: a certificate not trusted.
    let tls = emulator_with(Config::new(KEY).tls(true));
    check("tls", run(&tls, &[a]));
    // Proxy: one that refuses the tunnel.
    check(
        "proxy",
        finish(
            in_clean_env(Command::new(env!("CARGO_BIN_EXE_kie-upload")), &tls)
                .env("KIE_API_KEY", KEY)
                .args(["--proxy", "http://127.0.0.1:1", "--retries", "0", a]),
            b"",
        ),
    );
    // A SOCKS proxy without the feature, from the flag and from the environment.
    check(
        "socks flag",
        run(&emulator, &["--proxy", "socks5://127.0.0.1:1", a]),
    );
    check(
        "socks env",
        finish(
            command(&emulator)
                .env("KIE_API_KEY", KEY)
                .env("ALL_PROXY", "socks5://127.0.0.1:1")
                .arg(a),
            b"",
        ),
    );
    assert!(shown.len() > 15);
}

#[test]
fn proxy_advice_names_the_flag_or_the_variable_that_set_it() {
    let emulator = emulator_with(Config::new(KEY).tls(true));
    let (_dir, path) = temp_file("p.txt", b"p");
    let a = path.to_str().unwrap();
    let out = run(
        &emulator,
        &["--proxy", "http://127.0.0.1:1", "--retries", "0", a],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("given to --proxy"), "{}", out.stderr);
    let out = finish(
        command(&emulator)
            .env("KIE_API_KEY", KEY)
            .env("HTTPS_PROXY", "http://127.0.0.1:1")
            .args(["--retries", "0", a]),
        b"",
    );
    assert!(
        out.stderr.contains("(set by HTTPS_PROXY)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("in HTTPS_PROXY, or connect directly with --no-proxy"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_key_in_a_from_url_never_shows_in_the_tools_own_labels() {
    let emulator = emulator();
    let url = format!("https://alice:pw@example.com/a.png?token={KEY}");
    emulator.inject(
        Fault::Status {
            status: 400,
            retry_after: None,
        },
        1,
    );
    // `finish` fails the test if the key shows anywhere; the password must not show either.
    for args in [
        vec!["--json", "-v", "--from-url", url.as_str(), "-n", "a.png"],
        vec!["--dry-run", "--json", "--from-url", url.as_str()],
    ] {
        let out = run(&emulator, &args);
        assert!(
            !out.stdout.contains(":pw@") && !out.stderr.contains(":pw@"),
            "{}",
            out.stderr
        );
        assert!(out.stdout.contains("\"source\""), "{}", out.stdout);
    }
    // A usage error quoting the URL.
    let spaced = format!("https://example.com/a b.png?token={KEY}");
    let out = run(&emulator, &["--from-url", &spaced]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn reuse_prints_the_live_upload_and_sends_nothing_again() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let (dir, path) = temp_file("r.bin", &payload(50_000));
    let other = dir.path().join("s.bin");
    std::fs::write(&other, payload(60_000)).unwrap();
    let (path, other) = (path.to_str().unwrap(), other.to_str().unwrap());

    let first = run(&emulator, &["--cache-dir", cache_dir, path]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(emulator.attempts(STREAM), 1);
    // The same file again, in a batch with a new one: the URL again, one new request only, and
    // the summary and -v say what was reused.
    let again = run(
        &emulator,
        &[
            "--reuse",
            "--cache-dir",
            cache_dir,
            "-v",
            "--json",
            path,
            other,
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        emulator.attempts(STREAM),
        2,
        "the reused file was sent again"
    );
    let lines: Vec<serde_json::Value> = again
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["downloadUrl"], first.stdout.trim());
    assert_eq!(lines[0]["reused"], true);
    assert_eq!(lines[1].get("reused"), None);
    assert!(
        again.stderr.contains("reused, nothing sent; expires in"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("2 stored (1 reused), 0 failed"),
        "{}",
        again.stderr
    );
    // --verify downloads a reused file back, which also proves its URL still serves.
    let verified = run(
        &emulator,
        &[
            "--reuse",
            "--cache-dir",
            cache_dir,
            "--verify",
            "--json",
            path,
        ],
    );
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    let v: serde_json::Value = serde_json::from_str(verified.stdout.trim()).unwrap();
    assert_eq!(
        (v["reused"].clone(), v["verified"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(emulator.attempts(STREAM), 2);
    // Standard input is spooled and reused too; without --reuse nothing is reused.
    let data = payload(7_000);
    let stdin_args = ["--cache-dir", cache_dir, "-n", "in.bin", "-"];
    let one = run_with(&emulator, KEY, &stdin_args, &data);
    let two = run_with(&emulator, KEY, &stdin_args, &data);
    assert_eq!((one.code, two.code), (0, 0), "{}{}", one.stderr, two.stderr);
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(emulator.attempts(STREAM), 3);
    assert_eq!(run(&emulator, &[path]).code, 0);
    assert_eq!(emulator.attempts(STREAM), 4);
    // --from-url is never reused: the service fetches that URL, whose bytes never pass here.
    let refused = run(
        &emulator,
        &["--reuse", "--from-url", "https://example.com/a.png"],
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
}
