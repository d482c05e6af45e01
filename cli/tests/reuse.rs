//! --reuse and --cache-dir: a live upload of the same bytes is printed, not sent again.

mod common;

use common::*;

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

/// Issue 24 item 6: under a file-size limit smaller than a cache entry, the entry's write fails
/// like any error: the URL is printed and the run succeeds (SIGXFSZ killed the process after the
/// upload, exit 153, with no URL printed).
#[test]
fn a_file_size_limit_fails_the_cache_write_not_the_tool() {
    use std::process::Command;
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("skipped: needs util-linux's prlimit");
        return;
    }
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let (_dir, path) = temp_file("a.txt", b"hi");
    let mut prlimit = Command::new("prlimit");
    prlimit
        .args(["--fsize=64", "--"])
        .arg(env!("CARGO_BIN_EXE_kie-upload"));
    let out = finish(
        in_clean_env(prlimit, &emulator)
            .env("KIE_API_KEY", KEY)
            .arg("--cache-dir")
            .args([cache.path(), &path]),
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.trim().ends_with("/a.txt"), "{}", out.stdout);
}
