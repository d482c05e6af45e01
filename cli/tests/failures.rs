//! Failures: exit statuses, one line per failed source, advice in flags, retries and -v, and no
//! Rust type or library word in anything the tool says.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use kie_upload_emulator::{Config, Fault};

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
    assert!(says_missing(errors[0], ""), "{}", errors[0]);
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

/// What a line of the tool must not hold: the system's error number, the HTTP or TLS library's
/// own prefixes, a Rust type's name (a word with a capital inside, as `UnknownIssuer`), or
/// parentheses inside parentheses.
fn library_words(line: &str) -> Option<String> {
    for word in [
        "os error",
        "io:",
        "protocol:",
        "timeout:",
        "invalid input:",
        "Some(",
        "None",
    ] {
        if line.contains(word) {
            return Some(format!("{word:?}"));
        }
    }
    let camel = line.split(|c: char| !c.is_ascii_alphanumeric()).find(|w| {
        let units = ["KiB", "MiB", "GiB"];
        !units.contains(w)
            && w.as_bytes()
                .windows(2)
                .any(|p| p[0].is_ascii_lowercase() && p[1].is_ascii_uppercase())
    });
    if let Some(word) = camel {
        return Some(format!("a type's name, {word}"));
    }
    let mut depth = 0;
    for c in line.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth > 1 {
            return Some("parentheses inside parentheses".into());
        }
    }
    None
}

#[test]
fn failures_are_said_in_words_with_the_path_once() {
    let plain = emulator();
    let tls = emulator_with(Config::new(KEY).tls(true));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("photo.jpg");
    std::fs::write(&file, b"jpeg").unwrap();
    let (f, d) = (file.to_str().unwrap(), dir.path().to_str().unwrap());
    let missing = format!("{d}/missing.jpg");
    let key_file = format!("{d}/no-such.key");
    let empty_key = dir.path().join("empty.key");
    std::fs::write(&empty_key, "").unwrap();
    let empty_key = empty_key.to_str().unwrap();
    let plain_https = format!("https://127.0.0.1:{}", plain.port());
    let tls_http = format!("http://127.0.0.1:{}", tls.port());
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("a missing file", vec![&missing], &missing),
        ("a missing folder with -r", vec!["-r", &missing], &missing),
        ("a folder without -r", vec![d], d),
        (
            "nothing listens",
            vec!["--base-url", "http://127.0.0.1:1", "--retries", "0", f],
            "",
        ),
        (
            "https to a plain port",
            vec!["--base-url", &plain_https, f],
            "",
        ),
        ("http to a TLS port", vec!["--base-url", &tls_http, f], ""),
        (
            "an untrusted certificate",
            vec!["--base-url", tls.base_url(), "--retries", "0", f],
            "",
        ),
        (
            "a key file that is not there",
            vec!["--api-key-file", &key_file, f],
            &key_file,
        ),
        (
            "an empty key file",
            vec!["--api-key-file", empty_key, f],
            empty_key,
        ),
        (
            "a CA file that is not there",
            vec!["--cacert", &missing, f],
            &missing,
        ),
        (
            "a proxy that refuses",
            vec!["--proxy", "http://127.0.0.1:1", "--retries", "0", f],
            "",
        ),
        ("a mistyped flag", vec!["--josn", f], ""),
        (
            "an unknown scheme",
            vec!["--base-url", "ftp://example.com", f],
            "",
        ),
    ];
    for (what, args, path) in cases {
        let out = if what.contains("key file") {
            // The key from the file only.
            run_with(&plain, "", &args, b"")
        } else {
            run(&plain, &args)
        };
        assert_ne!(out.code, 0, "{what}: {}", out.stderr);
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{what}: no error line in {}", out.stderr));
        // Temporary folders have random names with capitals inside.
        let shown = line.replace(d, "DIR");
        if let Some(bad) = library_words(&shown) {
            panic!("{what}: {bad} in {line}");
        }
        if !path.is_empty() {
            assert_eq!(
                line.matches(path).count(),
                1,
                "{what}: the path once in {line}"
            );
        }
    }
}

/// Issue 24 item 12: a `Retry-After` longer than the tool waits between attempts (30 s) fails at
/// once and says when to retry (the tool waited 30 s, then retried anyway).
#[test]
fn a_retry_after_past_the_wait_fails_at_once_and_says_when() {
    let emulator = emulator();
    let (_dir, path) = temp_file("a.txt", b"a");
    let fault = Fault::Status {
        status: 503,
        retry_after: Some("99999".into()),
    };
    emulator.inject(fault, 3);
    let out = run(&emulator, &[path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(emulator.attempts(STREAM), 1);
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap();
    assert!(line.contains("retry in 28 hours"), "{line}");
}
