//! The `kie-upload` binary against the emulator: outputs, exit statuses, and no key in any output.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;
use kie_upload_emulator::Emulator;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `args`, the key in the environment, and `stdin` piped in.
fn run_with(emulator: &Emulator, key: &str, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kie-upload"))
        .args(args)
        .env_remove("KIE_API_KEY")
        .env_remove("KIE_BASE_URL")
        .env("KIE_BASE_URL", emulator.base_url())
        .env("KIE_API_KEY", key)
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
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    // Whatever happened, the key from the environment shows nowhere.
    assert!(
        !run.stdout.contains(KEY),
        "the key leaked to stdout: {}",
        run.stdout
    );
    assert!(
        !run.stderr.contains(KEY),
        "the key leaked to stderr: {}",
        run.stderr
    );
    run
}

fn run(emulator: &Emulator, args: &[&str]) -> Run {
    run_with(emulator, KEY, args, b"")
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
    let origin = client
        .upload_bytes(b"over there", "o.txt", "origin")
        .unwrap();
    let out = run(
        &emulator,
        &[
            "--from-url",
            &origin.download_url,
            "-p",
            "fetched",
            "-n",
            "copy.txt",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.trim().ends_with("/fetched/copy.txt"));
    assert_eq!(download(&client, out.stdout.trim()), b"over there");
}

#[test]
fn a_failed_source_exits_1_and_the_others_still_run() {
    let emulator = emulator();
    let (dir, good) = temp_file("good.txt", b"good");
    let missing = dir.path().join("missing.jpg");
    let out = run(
        &emulator,
        &[
            good.to_str().unwrap(),
            missing.to_str().unwrap(),
            good.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout.lines().count(), 2);
    let errors: Vec<_> = out.stderr.lines().collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].starts_with(&format!("error: {}: ", missing.display())),
        "{}",
        errors[0]
    );
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
    let (_dir, path) = temp_file("a.txt", b"a");
    let a = path.to_str().unwrap();
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
        (vec!["-", "-"], "only once"),
        (vec!["--verify", "-"], "--verify"),
        (vec!["--api-key", "k", a], "KIE_API_KEY"),
        (vec!["--base-url", "http://example.com", a], "clear text"),
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
    let out = run_with(&emulator, "", &[a], b"");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("missing API key"), "{}", out.stderr);
    assert!(emulator.requests().is_empty());
}

#[test]
fn the_key_can_come_from_a_file() {
    let emulator = emulator();
    let (dir, path) = temp_file("a.txt", b"a");
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let out = run_with(
        &emulator,
        "",
        &[
            "--api-key-file",
            key_file.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1);
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
    emulator.inject(
        kie_upload_emulator::Fault::Status {
            status: 503,
            retry_after: Some("0".into()),
        },
        1,
    );
    let out = run(&emulator, &["--retries", "0", path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(emulator.attempts("/api/file-stream-upload"), 1);

    emulator.inject(
        kie_upload_emulator::Fault::Status {
            status: 503,
            retry_after: Some("0".into()),
        },
        1,
    );
    let out = run(&emulator, &["--retries", "1", path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(emulator.attempts("/api/file-stream-upload"), 3);

    emulator.inject(kie_upload_emulator::Fault::NeverAnswer, 1);
    let started = std::time::Instant::now();
    let out = run(
        &emulator,
        &["--timeout", "1", "--retries", "0", path.to_str().unwrap()],
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
