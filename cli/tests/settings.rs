//! Where the settings come from: the key (variable, file), TLS roots, proxies from the environment
//! or flags (uploads through a running proxy: `tunnels.rs`), and credentials that are never
//! echoed.

mod common;

use common::*;
use kie_upload_emulator::{Config, Fault};

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
fn https_with_cacert() {
    let emulator = emulator_with(Config::new(KEY).tls(true));
    let (_dir, path) = temp_file("tls.txt", b"over tls");
    let ca = ca_file(&emulator);
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
