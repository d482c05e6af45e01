//! The other endpoints and checks: --base64, --from-url and --verify.

mod common;

use common::*;

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
    // It says what it checked: in the summary (a time under a second in milliseconds), in -v's
    // log, and in --json lines.
    let summary = out.stderr.trim();
    assert!(
        summary.starts_with("kie-upload: 1 stored (1 verified), 0 failed, ")
            && (summary.contains(" ms (") || summary.contains(" s (")),
        "{summary}"
    );
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
