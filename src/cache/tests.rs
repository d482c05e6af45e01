//! The cache's store: trust, misses, corrupt entries, pruning and permissions.

use super::*;

fn file(uploaded_at: &str, expires_at: Option<&str>) -> UploadedFile {
    let mut json = serde_json::json!({
        "fileName": "a.txt", "filePath": "docs/a.txt",
        "downloadUrl": "https://files.example/docs/a.txt", "fileSize": 3,
        "mimeType": "text/plain", "uploadedAt": uploaded_at,
    });
    if let Some(e) = expires_at {
        json["expiresAt"] = e.into();
    }
    serde_json::from_value(json).unwrap()
}

fn id(name: Option<&str>) -> Identity<'_> {
    Identity {
        base_url: "http://127.0.0.1:1",
        key_fingerprint: key_fingerprint("k".repeat(32).as_str()),
        upload_path: "docs",
        file_name: name,
    }
}

const ABC: Content = Content {
    sha256: [7; 32],
    len: 3,
};

fn at(rfc3339: &str) -> SystemTime {
    time::parse_rfc3339(rfc3339).unwrap()
}

#[test]
fn an_entry_is_trusted_until_its_expiry_less_the_margin() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path()).margin(Duration::from_secs(600));
    let stored = file("2026-01-01T00:00:00Z", None);
    cache.record(&id(Some("a.txt")), &ABC, &stored).unwrap();
    // No expiresAt: 24 hours from uploadedAt, less 10 minutes.
    let hit = cache.lookup(&id(Some("a.txt")), &ABC, at("2026-01-01T23:49:00Z"));
    assert!(matches!(&hit, Lookup::Hit(f) if f.reused && f.download_url == stored.download_url));
    let late = cache.lookup(&id(Some("a.txt")), &ABC, at("2026-01-01T23:51:00Z"));
    assert!(matches!(late, Lookup::Miss));
    // The service's expiresAt wins, longer or shorter.
    let short = file("2026-01-01T00:00:00Z", Some("2026-01-01T01:00:00Z"));
    cache.record(&id(Some("a.txt")), &ABC, &short).unwrap();
    let after = cache.lookup(&id(Some("a.txt")), &ABC, at("2026-01-01T00:51:00Z"));
    assert!(matches!(after, Lookup::Miss));
}

#[test]
fn other_bytes_names_paths_or_keys_miss_and_other_bytes_replace_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let now = at("2026-01-01T01:00:00Z");
    cache
        .record(
            &id(Some("a.txt")),
            &ABC,
            &file("2026-01-01T00:00:00Z", None),
        )
        .unwrap();
    let other = Content {
        sha256: [8; 32],
        len: 3,
    };
    assert!(matches!(
        cache.lookup(&id(Some("a.txt")), &other, now),
        Lookup::Miss
    ));
    assert!(matches!(
        cache.lookup(&id(Some("b.txt")), &ABC, now),
        Lookup::Miss
    ));
    assert!(matches!(cache.lookup(&id(None), &ABC, now), Lookup::Miss));
    let mut elsewhere = id(Some("a.txt"));
    elsewhere.upload_path = "other";
    assert!(matches!(cache.lookup(&elsewhere, &ABC, now), Lookup::Miss));
    let mut account = id(Some("a.txt"));
    account.key_fingerprint = key_fingerprint("another key of some length");
    assert!(matches!(cache.lookup(&account, &ABC, now), Lookup::Miss));
    // The same name with other bytes replaces the one entry: the old bytes no longer hit.
    cache
        .record(
            &id(Some("a.txt")),
            &other,
            &file("2026-01-01T00:00:00Z", None),
        )
        .unwrap();
    assert!(matches!(
        cache.lookup(&id(Some("a.txt")), &ABC, now),
        Lookup::Miss
    ));
    assert!(matches!(
        cache.lookup(&id(Some("a.txt")), &other, now),
        Lookup::Hit(_)
    ));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn corrupt_truncated_or_foreign_entries_are_misses() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let now = at("2026-01-01T01:00:00Z");
    let me = id(Some("a.txt"));
    cache
        .record(&me, &ABC, &file("2026-01-01T00:00:00Z", None))
        .unwrap();
    let path = cache.entry_path(&me, &ABC);
    let good = fs::read(&path).unwrap();
    for bad in [&good[..good.len() / 2], b"", b"\xff\xfe not json", b"{}"] {
        fs::write(&path, bad).unwrap();
        assert!(matches!(cache.lookup(&me, &ABC, now), Lookup::Miss));
    }
    // Another name's valid entry copied over this one's file.
    let other = id(Some("b.txt"));
    cache
        .record(&other, &ABC, &file("2026-01-01T00:00:00Z", None))
        .unwrap();
    fs::copy(cache.entry_path(&other, &ABC), &path).unwrap();
    assert!(matches!(cache.lookup(&me, &ABC, now), Lookup::Miss));
}

#[test]
fn pruning_drops_expired_and_broken_entries_only() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let old = file("2000-01-01T00:00:00Z", None);
    let fresh = file(&time::format_rfc3339(SystemTime::now()), None);
    cache.record(&id(Some("old.txt")), &ABC, &old).unwrap();
    cache.record(&id(Some("new.txt")), &ABC, &fresh).unwrap();
    fs::write(dir.path().join(format!("{}.json", "0".repeat(64))), b"torn").unwrap();
    assert_eq!(cache.prune().unwrap(), 2);
    let now = SystemTime::now();
    assert!(matches!(
        cache.lookup(&id(Some("new.txt")), &ABC, now),
        Lookup::Hit(_)
    ));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[cfg(unix)]
#[test]
fn the_directory_and_entries_are_the_owner_s_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path().join("nested").join("cache"));
    cache
        .record(
            &id(Some("a.txt")),
            &ABC,
            &file("2026-01-01T00:00:00Z", None),
        )
        .unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(cache.dir()), 0o700);
    assert_eq!(mode(&cache.entry_path(&id(Some("a.txt")), &ABC)), 0o600);
}
