//! The upload cache (feature `cache`): the same bytes to the same place are not sent again while
//! their upload lives, and nothing else is ever taken for them.

mod common;

use std::fs;
use std::time::Duration;

use common::{
    builder, builder_for, client, emulator, emulator_with, payload, temp_file, KEY, STREAM,
};
use kie_upload::{Client, Upload, UploadCache};
use kie_upload_emulator::Config;

fn cached(emulator: &kie_upload_emulator::Emulator, dir: &std::path::Path) -> Client {
    builder(emulator)
        .cache(UploadCache::new(dir))
        .build()
        .expect("build the client")
}

#[test]
fn a_second_upload_of_the_same_file_sends_nothing() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let (_dir, path) = temp_file("photo.bin", &payload(300_000));
    let client = cached(&emulator, cache.path());

    let first = client.upload_file(&path, "images").unwrap();
    assert!(!first.reused);
    let again = client.upload_file(&path, "images").unwrap();
    assert!(again.reused, "the second upload was sent again");
    assert_eq!(again.download_url, first.download_url);
    assert_eq!(again.file_size, 300_000);
    assert_eq!(
        emulator.attempts(STREAM),
        1,
        "the emulator saw a second request"
    );

    // Another client (another process would do the same) with the same cache reuses it too, and
    // so does the base64 endpoint: the service stores the same file either way.
    let other = cached(&emulator, cache.path());
    assert!(other.upload_file(&path, "images").unwrap().reused);
    assert!(
        other
            .upload_base64(Upload::file(&path, "images"))
            .unwrap()
            .reused
    );
    assert_eq!(emulator.requests().len(), 1);
}

#[test]
fn other_bytes_under_the_same_name_upload_and_drop_the_old_entry() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let client = cached(&emulator, cache.path());
    let up = |bytes: &[u8]| {
        client
            .upload(Upload::bytes(bytes, "docs").file_name("a.txt"))
            .unwrap()
    };
    assert!(!up(b"first").reused);
    assert!(
        !up(b"second").reused,
        "other bytes were taken for the first"
    );
    assert_eq!(
        emulator.stored("docs/a.txt").as_deref(),
        Some(&b"second"[..])
    );
    // The first bytes' entry is gone with the overwrite: the service no longer serves them there.
    assert!(!up(b"first").reused);
    assert!(up(b"first").reused);
    assert_eq!(emulator.attempts(STREAM), 3);
}

#[test]
fn another_name_path_base_url_or_key_misses() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let client = cached(&emulator, cache.path());
    let bytes = payload(1000);
    let send = |client: &Client, path: &str, name: &str| {
        client
            .upload(Upload::bytes(&bytes, path).file_name(name))
            .unwrap()
            .reused
    };
    assert!(!send(&client, "docs", "a.bin"));
    assert!(send(&client, "docs", "a.bin"));
    assert!(!send(&client, "docs", "b.bin"), "another name hit");
    assert!(!send(&client, "other", "a.bin"), "another upload path hit");

    // Another emulator: another base URL, whose service never saw the file.
    let second = emulator_with(Config::new(KEY));
    let elsewhere = builder(&second)
        .cache(UploadCache::new(cache.path()))
        .build()
        .unwrap();
    assert!(!send(&elsewhere, "docs", "a.bin"), "another base URL hit");

    // Another key (another account) on the same base URL.
    let other_key = "sk-another-account-key-0123456789";
    let shared = emulator_with(Config::new(other_key));
    let mine = builder(&shared)
        .api_key(other_key)
        .cache(UploadCache::new(cache.path()));
    let theirs = builder_for(shared.base_url()).cache(UploadCache::new(cache.path()));
    assert!(!send(&mine.build().unwrap(), "docs", "k.bin"));
    // The same bytes, name and base URL with the test key: refused by this emulator, so a hit
    // would be the only way to succeed.
    let refused = theirs
        .build()
        .unwrap()
        .upload(Upload::bytes(&bytes, "docs").file_name("k.bin"));
    assert!(refused.is_err(), "another key's entry was reused");
}

#[test]
fn an_entry_past_its_margin_misses_and_the_service_expiry_is_honoured() {
    // The emulator keeps files 2 hours and says so in expiresAt: with a margin of 1 hour the entry
    // is trusted, with 3 hours it is not (the assumed 24 hours would have trusted it).
    let emulator = emulator_with(Config::new(KEY).ttl(Duration::from_secs(2 * 3600)));
    let cache = tempfile::tempdir().unwrap();
    let (_dir, path) = temp_file("clip.bin", &payload(5000));
    let with_margin = |hours: u64| {
        builder(&emulator)
            .cache(UploadCache::new(cache.path()).margin(Duration::from_secs(hours * 3600)))
            .build()
            .unwrap()
    };
    let first = with_margin(1).upload_file(&path, "clips").unwrap();
    assert!(
        first.service_expires_at.is_some(),
        "the emulator sent no expiresAt"
    );
    assert!(with_margin(1).upload_file(&path, "clips").unwrap().reused);
    assert!(!with_margin(3).upload_file(&path, "clips").unwrap().reused);
    assert_eq!(emulator.attempts(STREAM), 2);
}

#[test]
fn a_reader_is_spooled_and_reused_and_the_key_never_reaches_the_cache() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let client = cached(&emulator, cache.path());
    let bytes = payload(70_000);
    let send = || {
        client
            .upload(Upload::reader(common::Unsized(&bytes[..]), "logs").file_name("log.bin"))
            .unwrap()
    };
    let first = send();
    assert_eq!(common::download(&client, &first.download_url), bytes);
    assert!(send().reused);
    assert_eq!(emulator.attempts(STREAM), 1);
    let entries = fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path());
    for entry in entries.filter(|p| p.extension().is_some_and(|x| x == "json")) {
        let text = fs::read(entry).unwrap();
        let text = String::from_utf8_lossy(&text);
        assert!(!text.contains(KEY), "the key is in the cache: {text}");
        assert!(text.contains(&first.download_url));
    }
}

#[test]
fn a_corrupt_entry_is_survived() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let client = cached(&emulator, cache.path());
    let (_dir, path) = temp_file("a.bin", &payload(100));
    client.upload_file(&path, "x").unwrap();
    for entry in fs::read_dir(cache.path()).unwrap() {
        fs::write(entry.unwrap().path(), b"{\"version\":1,").unwrap();
    }
    assert!(!client.upload_file(&path, "x").unwrap().reused);
    assert!(client.upload_file(&path, "x").unwrap().reused);
    assert_eq!(emulator.attempts(STREAM), 2);
}

#[test]
fn without_a_cache_every_upload_is_sent() {
    let emulator = emulator();
    let plain = client(&emulator);
    let (_dir, path) = temp_file("a.bin", &payload(100));
    assert!(!plain.upload_file(&path, "x").unwrap().reused);
    assert!(!plain.upload_file(&path, "x").unwrap().reused);
    assert_eq!(emulator.attempts(STREAM), 2);
}

/// The bytes and name of file `i` of process `p` in the shared-cache test: names below 100 are
/// shared by every process (with the same bytes), the others are the process's own.
fn shared_file(p: usize, i: usize) -> (String, Vec<u8>) {
    let name = if i < 100 {
        format!("s{i}.bin")
    } else {
        format!("p{p}-{i}.bin")
    };
    let bytes = format!("{name} holds these bytes").into_bytes();
    (name, bytes)
}

#[test]
fn eight_processes_share_one_cache_without_losing_an_entry_or_a_wrong_url() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..8)
        .map(|p| {
            std::process::Command::new(&exe)
                .args(["--exact", "cache_child_process", "--ignored", "--nocapture"])
                .env(
                    "KIE_TEST_CACHE_CHILD",
                    format!("{p} {} {}", emulator.base_url(), cache.path().display()),
                )
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = common::within(Duration::from_secs(120), move || {
            child.wait_with_output().unwrap()
        });
        assert!(
            out.status.success(),
            "a child failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        for line in String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("url "))
        {
            let (name, url) = line.split_once(' ').unwrap();
            assert!(
                url.ends_with(&format!("/cached/{name}")),
                "{name} got {url}"
            );
        }
    }
    // Every entry is there: a ninth client sends nothing for any of the 900 files.
    let sent = emulator.attempts(STREAM);
    assert!(sent >= 900, "only {sent} uploads for 900 files");
    let client = cached(&emulator, cache.path());
    for p in 0..8 {
        for i in 0..200 {
            let (name, bytes) = shared_file(p, i);
            let file = client
                .upload(Upload::bytes(&bytes, "cached").file_name(&name))
                .unwrap();
            assert!(file.reused, "the entry of {name} was lost");
        }
    }
    assert_eq!(emulator.attempts(STREAM), sent);
}

/// One process of the shared-cache test: uploads its 200 files, printing each URL. Run only by
/// that test (it sets the variable).
#[test]
#[ignore = "run as a child process by eight_processes_share_one_cache_..."]
fn cache_child_process() {
    let spec = std::env::var("KIE_TEST_CACHE_CHILD").expect("run by the shared-cache test");
    let mut parts = spec.splitn(3, ' ');
    let p: usize = parts.next().unwrap().parse().unwrap();
    let (base_url, dir) = (parts.next().unwrap(), parts.next().unwrap());
    let client = builder_for(base_url)
        .cache(UploadCache::new(dir))
        .build()
        .unwrap();
    for i in 0..200 {
        let (name, bytes) = shared_file(p, i);
        let file = client
            .upload(Upload::bytes(&bytes, "cached").file_name(&name))
            .unwrap();
        println!("url {name} {}", file.download_url);
    }
}

// A hostile review's findings, each seen failing before its fix.

/// A racing overwrite: process A's upload of bytes A is stored, but its reply is slow; meanwhile
/// process B overwrites the same name with bytes B and records them. A then records A over B's
/// entry, although the service now serves B. Every later upload of A "reuses" a URL that serves B
/// (for the rest of the day), where without the cache the next upload of A would have repaired it.
#[test]
fn a_late_record_does_not_undo_a_racing_overwrite() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let (a_bytes, b_bytes) = (payload(2000), payload(3000));
    // A's request only: stored at once, answered one byte every 5 ms.
    emulator.inject(
        kie_upload_emulator::Fault::Drip {
            pause: Duration::from_millis(5),
        },
        1,
    );
    let (base, dir) = (emulator.base_url().to_owned(), cache.path().to_owned());
    let a = a_bytes.clone();
    let slow = std::thread::spawn(move || {
        builder_for(&base)
            .cache(UploadCache::new(dir))
            .build()
            .unwrap()
            .upload(Upload::bytes(&a, "docs").file_name("a.bin"))
            .unwrap()
    });
    let started = std::time::Instant::now();
    while emulator.stored("docs/a.bin").as_deref() != Some(&a_bytes[..]) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "A never stored"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let b = cached(&emulator, cache.path());
    assert!(
        !b.upload(Upload::bytes(&b_bytes, "docs").file_name("a.bin"))
            .unwrap()
            .reused
    );
    slow.join().unwrap();
    assert_eq!(emulator.stored("docs/a.bin").as_deref(), Some(&b_bytes[..]));
    let again = b
        .upload(Upload::bytes(&a_bytes, "docs").file_name("a.bin"))
        .unwrap();
    assert!(
        common::download(&b, &again.download_url) == a_bytes,
        "reused: {}; the URL returned for A serves B's bytes",
        again.reused
    );
}

/// An upload without a name is keyed by its content, so an overwrite of the name the service
/// picked for it (the caller reuses `file_name` from the result to update the file in place)
/// never drops it: the next name-less upload of the first bytes reuses a URL that serves others.
#[test]
fn an_overwrite_of_a_picked_name_drops_the_nameless_entry() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let client = cached(&emulator, cache.path());
    let (first, second) = (payload(1500), payload(2500));
    let nameless = client.upload(Upload::bytes(&first, "docs")).unwrap();
    let updated = client
        .upload(Upload::bytes(&second, "docs").file_name(nameless.file_name.clone()))
        .unwrap();
    assert_eq!(
        updated.download_url, nameless.download_url,
        "not the same file"
    );
    let again = client.upload(Upload::bytes(&first, "docs")).unwrap();
    assert!(
        common::download(&client, &again.download_url) == first,
        "reused: {}; the URL returned for the first bytes serves the second",
        again.reused
    );
}

/// A declared length that differs from the file is an error without a cache
/// (`SourceLengthMismatch`, documented on `Upload::length`); with an entry for the whole file it
/// becomes a success that returns the whole file, as if the declaration were right.
#[test]
fn a_wrong_declared_length_is_refused_even_when_cached() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let client = cached(&emulator, cache.path());
    let (_dir, path) = temp_file("a.bin", &payload(100));
    client.upload_file(&path, "x").unwrap();
    let result = client.upload(Upload::file(&path, "x").length(50));
    assert!(
        matches!(
            result.as_ref().map_err(|e| e.kind()),
            Err(kie_upload::ErrorKind::SourceLengthMismatch { .. })
        ),
        "a 100-byte file declared as 50 bytes: {result:?}"
    );
}

/// Another content type is not the same upload: the service stores (and serves) the file with the
/// type it was sent with, so a reuse hands back a file typed as the earlier upload was.
#[test]
fn another_content_type_is_another_upload() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let client = cached(&emulator, cache.path());
    let bytes = payload(1000);
    let send = |t: &str| {
        client
            .upload(
                Upload::bytes(&bytes, "docs")
                    .file_name("a.bin")
                    .content_type(t),
            )
            .unwrap()
    };
    send("text/plain");
    assert!(
        !send("image/png").reused,
        "an upload asking for image/png got the text/plain upload back"
    );
}

/// Two spellings of one base URL (scheme or host case, an explicit default port; the same backend
/// under two brand hosts) are two identities for one service: an overwrite through one spelling
/// does not drop the other's entry, which then hands out a URL that serves the new bytes.
#[test]
fn an_overwrite_through_another_spelling_of_the_base_url_drops_the_entry() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let lower = cached(&emulator, cache.path());
    let upper = builder_for(&emulator.base_url().replacen("http://", "HTTP://", 1))
        .cache(UploadCache::new(cache.path()))
        .build()
        .unwrap();
    let (first, second) = (payload(1200), payload(1300));
    lower
        .upload(Upload::bytes(&first, "docs").file_name("a.bin"))
        .unwrap();
    upper
        .upload(Upload::bytes(&second, "docs").file_name("a.bin"))
        .unwrap();
    assert_eq!(emulator.stored("docs/a.bin").as_deref(), Some(&second[..]));
    let again = lower
        .upload(Upload::bytes(&first, "docs").file_name("a.bin"))
        .unwrap();
    assert!(
        common::download(&lower, &again.download_url) == first,
        "reused: {}; the URL returned for the first bytes serves the second",
        again.reused
    );
}

/// A file is hashed through the same open file the upload then reads, on every attempt: a file
/// replaced by rename (as editors and build tools save) between the hash and a retry is not sent
/// as the new file. Where a file that is open cannot be replaced (wine, FAT; NTFS allows it with
/// the POSIX semantics Rust asks for), the refusal itself shows that the retry holds it open.
#[test]
fn the_hash_and_every_attempt_read_one_open_file() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let client = cached(&emulator, cache.path());
    let (dir, path) = temp_file("a.bin", &payload(1000));
    let replacement = dir.path().join("new.bin");
    std::fs::write(&replacement, payload(1001)).unwrap();
    emulator.inject(
        kie_upload_emulator::Fault::Status {
            status: 503,
            retry_after: Some("0".into()),
        },
        1,
    );
    let (from, to) = (replacement.clone(), path.clone());
    let renamed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let result = std::sync::Arc::clone(&renamed);
    client
        .upload(Upload::file(&path, "x").on_event(move |e| {
            if matches!(e, kie_upload::Event::Retry { .. }) {
                *result.lock().unwrap() = Some(std::fs::rename(&from, &to));
            }
        }))
        .unwrap();
    match renamed
        .lock()
        .unwrap()
        .take()
        .expect("the upload was retried")
    {
        Ok(()) => assert_eq!(std::fs::read(&path).unwrap().len(), 1001),
        Err(e) if cfg!(windows) => {
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}")
        }
        Err(e) => panic!("cannot rename over the source: {e}"),
    }
    assert_eq!(
        emulator.stored("x/a.bin").map(|b| b.len()),
        Some(1000),
        "the retry reopened the path and sent the replacement"
    );
}

// Issue 24: a cache folder that is not the cache's alone. Each test failed before its fix.

/// Issue 24 item 1: a `.last-prune` planted as a symbolic link is replaced, never followed: the
/// file it points to keeps its bytes (it was truncated to 0 bytes).
#[cfg(unix)]
#[test]
fn a_last_prune_link_is_not_followed() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let (_dir, victim) = temp_file("notes.txt", b"the user's notes");
    // Old enough for a prune to be due, by the marker's time as a link would have it read.
    age(&victim, Duration::from_secs(2 * 24 * 3600));
    std::os::unix::fs::symlink(&victim, cache.path().join(".last-prune")).unwrap();
    let client = cached(&emulator, cache.path());
    client
        .upload(Upload::bytes(b"hi", "x").file_name("hi.txt"))
        .unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"the user's notes");
}

/// Issue 24 item 1: a `.last-prune` planted as a FIFO without a writer does not block the upload
/// (it blocked in `open()` forever, after the upload had succeeded).
#[cfg(unix)]
#[test]
fn a_last_prune_fifo_does_not_block() {
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let fifo = cache.path().join(".last-prune");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // Old enough for a prune to be due (`touch` sets the time without opening it).
    assert!(std::process::Command::new("touch")
        .args(["-d", "2 days ago"])
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let client = cached(&emulator, cache.path());
    let done = common::within(Duration::from_secs(20), move || {
        client
            .upload(Upload::bytes(b"hi", "x").file_name("hi.txt"))
            .is_ok()
    });
    assert!(done);
}

/// Sets a file's modification time `ago` into the past.
fn age(path: &std::path::Path, ago: Duration) {
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - ago)
        .unwrap();
}

/// Issue 24 item 2: given a folder that holds the user's files, pruning deletes the cache's own
/// expired entries and nothing else: not the user's `.tmp-*` files, nor a JSON file of theirs
/// named like an entry (all three were deleted).
#[test]
fn prune_deletes_only_what_the_cache_made() {
    // Three seconds: an entry's expiry is kept in whole seconds, rounded down, so a one-second
    // life could end before the prune that the first upload runs, and nothing be left to prune.
    let emulator = emulator_with(Config::new(KEY).ttl(Duration::from_secs(3)));
    let cache = tempfile::tempdir().unwrap();
    let theirs = [
        ".tmp-draft.txt".to_owned(),
        ".tmp-1234-abcd".to_owned(),
        format!("{}.json", "ab".repeat(32)),
    ];
    for name in &theirs {
        let path = cache.path().join(name);
        fs::write(&path, b"{\"the user's\": true}").unwrap();
        age(&path, Duration::from_secs(3 * 3600));
    }
    let client = cached(&emulator, cache.path());
    client
        .upload(Upload::bytes(b"hi", "x").file_name("hi.txt"))
        .unwrap();
    // The cache's entries: JSON files other than the user's.
    let entries = || {
        fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json") && !theirs.contains(name))
            .count()
    };
    assert_eq!(
        entries(),
        1,
        "the upload was recorded and outlived its first prune"
    );
    std::thread::sleep(Duration::from_millis(3100));
    assert_eq!(UploadCache::new(cache.path()).prune().unwrap(), 1);
    assert_eq!(entries(), 0);
    for name in &theirs {
        assert!(cache.path().join(name).exists(), "prune deleted {name}");
    }
}

/// The permission bits of `path`.
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Issue 24 item 3: a folder given to the cache is used as it is: a shared 1777 one, a 2775 one
/// and a read-only one keep their modes (each was made 0700).
#[cfg(unix)]
#[test]
fn a_given_folder_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = emulator();
    let parent = tempfile::tempdir().unwrap();
    for (i, given) in [0o1777, 0o2755, 0o755, 0o500].into_iter().enumerate() {
        let dir = parent.path().join(format!("c{i}"));
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(given)).unwrap();
        let client = cached(&emulator, &dir);
        let upload = || Upload::bytes(b"hi", "x").file_name(format!("{i}.txt"));
        client.upload(upload()).unwrap();
        client.upload(upload()).unwrap();
        assert_eq!(mode(&dir), given, "the mode of a folder given changed");
    }
}

/// Issue 24 item 3: a folder others can write to without the sticky bit, or one owned by another
/// user (when the test can make one: as root), is refused: nothing is recorded or reused, and
/// `prune` says why (the folder was made 0700 and used).
#[cfg(unix)]
#[test]
fn a_folder_open_to_others_or_another_user_s_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = emulator();
    let parent = tempfile::tempdir().unwrap();
    let open = parent.path().join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let mut refused = vec![(open, "without the sticky bit")];
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    if status.lines().any(|l| l.starts_with("Uid:\t0\t")) {
        let theirs = parent.path().join("theirs");
        fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        refused.push((theirs, "another user"));
    }
    for (dir, why) in refused {
        let before = mode(&dir);
        let client = cached(&emulator, &dir);
        let upload = || Upload::bytes(b"hi", "x").file_name("hi.txt");
        assert!(!client.upload(upload()).unwrap().reused);
        assert!(!client.upload(upload()).unwrap().reused, "{dir:?} was used");
        assert_eq!(mode(&dir), before);
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            0,
            "{dir:?} was written"
        );
        let err = UploadCache::new(&dir).prune().unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
}

/// Issue 22 item 4 and issue 24 item 4, in the library: a check ([`Upload::verify`]) that rejects
/// a fresh upload fails it with `ErrorKind::Rejected`, and nothing is recorded; one that rejects
/// a copy the cache would reuse drops it (with an event), and the file is sent again and checked
/// again. Without a cache the check runs too.
#[test]
fn a_copy_the_check_rejects_is_never_recorded_or_reused() {
    use kie_upload::{ErrorKind, Event};
    let emulator = emulator();
    let cache = tempfile::tempdir().unwrap();
    let client = cached(&emulator, cache.path());
    let upload = |ok: bool| {
        Upload::bytes(b"hi", "x")
            .file_name("hi.txt")
            .verify(move |_| if ok { Ok(()) } else { Err("bad copy") })
    };
    let err = client.upload(upload(false)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Rejected);
    let why = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(why.as_deref(), Some("bad copy"));
    assert!(!client.upload(upload(true)).unwrap().reused, "recorded");

    let (mut checks, mut rejected) = (0, Vec::new());
    let file = client
        .upload(
            Upload::bytes(b"hi", "x")
                .file_name("hi.txt")
                .verify(|file| {
                    checks += 1;
                    if file.reused {
                        Err("gone")
                    } else {
                        Ok(())
                    }
                })
                .on_event(|e| {
                    if let Event::ReuseRejected { error } = e {
                        rejected.push(error.kind().clone());
                    }
                }),
        )
        .unwrap();
    assert!(!file.reused);
    assert_eq!((checks, rejected), (2, vec![ErrorKind::Rejected]));
    assert_eq!(emulator.attempts(STREAM), 3);
    assert!(client.upload(upload(true)).unwrap().reused);

    let plain = common::client(&emulator);
    assert_eq!(
        plain.upload(upload(false)).unwrap_err().kind(),
        &ErrorKind::Rejected
    );
}

/// Issue 24 item 11, in the library: a cache that cannot be written is an event for the caller,
/// and the upload still succeeds (it was silent).
#[test]
fn a_cache_that_cannot_be_written_is_an_event() {
    let emulator = emulator();
    let (_dir, file) = temp_file("plain.txt", b"not a folder");
    let client = cached(&emulator, &file.join("cache"));
    let mut failed = Vec::new();
    let upload = Upload::bytes(b"hi", "x").file_name("hi.txt").on_event(|e| {
        if let kie_upload::Event::CacheFailed { error } = e {
            failed.push(error.to_string());
        }
    });
    assert!(client.upload(upload).is_ok());
    assert_eq!(failed.len(), 1, "{failed:?}");
}
