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
/// like any error: the URL is printed, the run succeeds and the cache's failure is said (SIGXFSZ
/// killed the process after the upload, exit 153, with no URL printed).
// Unix only: a file-size limit (prlimit, SIGXFSZ) is Unix's.
#[cfg(unix)]
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
    assert!(
        out.stderr.contains("cannot record uploads in the cache"),
        "{}",
        out.stderr
    );
}

/// Issue 24 item 4: a copy `--verify` rejects is never reused. A fresh upload the service
/// corrupts fails `--verify` and is not recorded, so the next `--reuse` sends the file again (it
/// printed the corrupt copy's URL and sent nothing). A recorded copy that `--verify` then
/// rejects, corrupt or lost, is dropped and the file uploaded again in the same run.
#[test]
fn a_copy_verify_rejects_is_never_reused() {
    use kie_upload_emulator::Fault;
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let (dir, path) = temp_file("v.bin", &payload(1000));
    let path = path.to_str().unwrap();
    emulator.inject(Fault::Corrupt { at: 100 }, 1);
    let bad = run(&emulator, &["--cache-dir", cache_dir, "--verify", path]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("differs from the local file at byte 100"),
        "{}",
        bad.stderr
    );
    let again = run(&emulator, &["--cache-dir", cache_dir, path]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(emulator.attempts(STREAM), 2, "the rejected copy was reused");

    // Recorded without --verify, corrupt or lost (its URL answers 404), then checked.
    let lost = format!("{}/files/nowhere/w.bin", emulator.base_url());
    for (i, fault) in [Fault::Corrupt { at: 5 }, Fault::DownloadUrl { url: lost }]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("w{i}.bin"));
        std::fs::write(&path, payload(2000 + i)).unwrap();
        let path = path.to_str().unwrap();
        emulator.inject(fault, 1);
        assert_eq!(run(&emulator, &["--cache-dir", cache_dir, path]).code, 0);
        let sent = emulator.attempts(STREAM);
        let args = ["--cache-dir", cache_dir, "--verify", "--json", "-v", path];
        let checked = run(&emulator, &args);
        assert_eq!(checked.code, 0, "{}", checked.stderr);
        assert_eq!(emulator.attempts(STREAM), sent + 1, "not uploaded again");
        let v: serde_json::Value = serde_json::from_str(checked.stdout.trim()).unwrap();
        assert_eq!((v.get("reused"), &v["verified"]), (None, &true.into()));
        assert!(
            checked.stderr.contains("uploading it again"),
            "{}",
            checked.stderr
        );
        // The good copy is the one kept.
        let reused = run(&emulator, &args);
        let v: serde_json::Value = serde_json::from_str(reused.stdout.trim()).unwrap();
        assert_eq!((&v["reused"], &v["verified"]), (&true.into(), &true.into()));
        assert_eq!(emulator.attempts(STREAM), sent + 1);
    }
}

/// Issue 24 item 5: `--verify` whose download answers 404 says the stored copy is gone (it said
/// "HTTP 404 with a body that is not the service's JSON ...: check the base URL", although the
/// base URL worked).
#[test]
fn verify_of_a_copy_that_is_gone_says_so() {
    use kie_upload_emulator::Fault;
    let emulator = emulator();
    let (_dir, path) = temp_file("a.txt", b"hello");
    let url = format!("{}/files/nowhere/a.txt", emulator.base_url());
    emulator.inject(Fault::DownloadUrl { url }, 1);
    let out = run(&emulator, &["--verify", path.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap();
    assert!(line.contains("the stored copy is gone"), "{line}");
    assert!(!line.contains("base URL"), "{line}");
}

/// Issue 24 items 11 and 3: a cache that cannot be written (here, under a regular file), or a
/// folder refused because others can write to it, is said once on standard error, with why; the
/// uploads themselves succeed. `-v` says why for each upload. (Both were silent, and the second
/// folder was made 0700 and used.)
// Unix only: a folder others can write to, and the sticky bit, are Unix's modes.
#[cfg(unix)]
#[test]
fn a_cache_that_cannot_be_written_is_said_once() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = emulator();
    let (dir, a) = temp_file("a.txt", b"a");
    let b = dir.path().join("b.txt");
    std::fs::write(&b, b"b").unwrap();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let cases = [
        (a.join("cache"), "not a directory"),
        (open.clone(), "without the sticky bit"),
    ];
    for (cache, why) in cases {
        let args = [
            "--cache-dir".as_ref(),
            cache.as_os_str(),
            a.as_os_str(),
            b.as_os_str(),
        ];
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        let out = run(&emulator, &args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.stdout.lines().count(), 2);
        let said: Vec<&str> = out.stderr.lines().filter(|l| l.contains(why)).collect();
        assert_eq!(said.len(), 1, "{}", out.stderr);
        assert!(said[0].starts_with("warning: "), "{}", said[0]);
        let verbose = run(&emulator, &[&["-v"], &args[..]].concat());
        assert_eq!(verbose.code, 0, "{}", verbose.stderr);
        assert!(
            verbose.stderr.lines().filter(|l| l.contains(why)).count() >= 2,
            "{}",
            verbose.stderr
        );
    }
    assert_eq!(std::fs::read_dir(&open).unwrap().count(), 0);
}
