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

const ABC: Content = Content {
    sha256: [7; 32],
    len: 3,
};

/// An upload of `content` to `path` with this key, named `name` (or not).
fn upload(key: &str, path: &str, name: Option<&str>, content: Content) -> Identity {
    Identity::new("http://127.0.0.1:1", key, path, None, name, content)
}

fn id(name: Option<&str>) -> Identity {
    upload(&"k".repeat(32), "docs", name, ABC)
}

fn at(rfc3339: &str) -> SystemTime {
    time::parse_rfc3339(rfc3339).unwrap()
}

#[test]
fn an_entry_is_trusted_until_its_expiry_less_the_margin() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path()).margin(Duration::from_secs(600));
    let stored = file("2026-01-01T00:00:00Z", None);
    cache.record(&id(Some("a.txt")), &stored).unwrap();
    // No expiresAt: 24 hours from uploadedAt, less 10 minutes.
    let hit = cache.lookup(&id(Some("a.txt")), at("2026-01-01T23:49:00Z"));
    assert!(matches!(&hit, Some(f) if f.reused && f.download_url == stored.download_url));
    let late = cache.lookup(&id(Some("a.txt")), at("2026-01-01T23:51:00Z"));
    assert!(late.is_none());
    // The service's expiresAt wins, longer or shorter.
    let short = file("2026-01-01T00:00:00Z", Some("2026-01-01T01:00:00Z"));
    cache.record(&id(Some("a.txt")), &short).unwrap();
    let after = cache.lookup(&id(Some("a.txt")), at("2026-01-01T00:51:00Z"));
    assert!(after.is_none());
}

#[test]
fn other_bytes_names_paths_or_keys_miss_and_other_bytes_replace_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let now = at("2026-01-01T01:00:00Z");
    cache
        .record(&id(Some("a.txt")), &file("2026-01-01T00:00:00Z", None))
        .unwrap();
    let other = Content {
        sha256: [8; 32],
        len: 3,
    };
    assert!(cache
        .lookup(&upload(&"k".repeat(32), "docs", Some("a.txt"), other), now)
        .is_none());
    assert!(cache.lookup(&id(Some("b.txt")), now).is_none());
    assert!(cache.lookup(&id(None), now).is_none());
    let elsewhere = upload(&"k".repeat(32), "other", Some("a.txt"), ABC);
    assert!(cache.lookup(&elsewhere, now).is_none());
    let account = upload("another key of some length", "docs", Some("a.txt"), ABC);
    assert!(cache.lookup(&account, now).is_none());
    // The same name with other bytes, stored later, replaces the one entry: the old bytes no
    // longer hit.
    cache
        .record(
            &upload(&"k".repeat(32), "docs", Some("a.txt"), other),
            &file("2026-01-01T00:10:00Z", None),
        )
        .unwrap();
    assert!(cache.lookup(&id(Some("a.txt")), now).is_none());
    assert!(cache
        .lookup(&upload(&"k".repeat(32), "docs", Some("a.txt"), other), now)
        .is_some());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn corrupt_truncated_or_foreign_entries_are_misses() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let now = at("2026-01-01T01:00:00Z");
    let me = id(Some("a.txt"));
    cache
        .record(&me, &file("2026-01-01T00:00:00Z", None))
        .unwrap();
    let path = cache.entry_path(&me);
    let good = fs::read(&path).unwrap();
    for bad in [&good[..good.len() / 2], b"", b"\xff\xfe not json", b"{}"] {
        fs::write(&path, bad).unwrap();
        assert!(cache.lookup(&me, now).is_none());
    }
    // Another name's valid entry copied over this one's file.
    let other = id(Some("b.txt"));
    cache
        .record(&other, &file("2026-01-01T00:00:00Z", None))
        .unwrap();
    fs::copy(cache.entry_path(&other), &path).unwrap();
    assert!(cache.lookup(&me, now).is_none());
}

#[test]
fn pruning_drops_expired_entries_only() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let old = file("2000-01-01T00:00:00Z", None);
    let fresh = file(&time::format_rfc3339(SystemTime::now()), None);
    cache.record(&id(Some("old.txt")), &old).unwrap();
    cache.record(&id(Some("new.txt")), &fresh).unwrap();
    // Not an entry of this crate's, whatever its name: not the cache's to delete.
    fs::write(dir.path().join(format!("{}.json", "0".repeat(64))), b"torn").unwrap();
    assert_eq!(cache.prune().unwrap(), 1);
    let now = SystemTime::now();
    assert!(cache.lookup(&id(Some("new.txt")), now).is_some());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[cfg(unix)]
#[test]
fn the_directory_and_entries_are_the_owner_s_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path().join("nested").join("cache"));
    cache
        .record(&id(Some("a.txt")), &file("2026-01-01T00:00:00Z", None))
        .unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(cache.dir()), 0o700);
    assert_eq!(mode(cache.dir().parent().unwrap()), 0o700);
    assert_eq!(mode(&cache.entry_path(&id(Some("a.txt")))), 0o600);
}

// A hostile review's findings, each seen failing before its fix.

/// An entry file at the right name whose `expires` is out of `SystemTime`'s range (a foreign or
/// corrupt entry, or one written by a hostile process) must be a miss, and prune must survive it:
/// today `UNIX_EPOCH + Duration::from_secs(u64::MAX)` panics in `lookup` and in `prune`.
#[test]
fn an_entry_with_an_absurd_expiry_is_a_miss_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let me = id(Some("a.txt"));
    cache
        .record(&me, &file("2026-01-01T00:00:00Z", None))
        .unwrap();
    let path = cache.entry_path(&me);
    let mut entry: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    entry["expires"] = u64::MAX.into();
    fs::write(&path, serde_json::to_vec(&entry).unwrap()).unwrap();
    let now = at("2026-01-01T01:00:00Z");
    let looked = std::panic::catch_unwind(|| cache.lookup(&me, now).is_none());
    assert!(looked.is_ok(), "lookup panicked on an entry file");
    let pruned = std::panic::catch_unwind(|| cache.prune());
    assert!(pruned.is_ok(), "prune panicked on an entry file");
}

/// A margin larger than any life is a setting that trusts nothing, not a panic in every upload:
/// today `now + self.margin` overflows.
#[test]
fn a_huge_margin_trusts_nothing_and_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path()).margin(Duration::MAX);
    let me = id(Some("a.txt"));
    cache
        .record(&me, &file("2026-01-01T00:00:00Z", None))
        .unwrap();
    let now = at("2026-01-01T01:00:00Z");
    let looked = std::panic::catch_unwind(|| cache.lookup(&me, now).is_none());
    assert!(matches!(looked, Ok(true)), "a huge margin panicked or hit");
}

/// The service sent an `expiresAt` the cache cannot read: the expiry cannot be told, so (as
/// `record`'s own doc says) it must not be recorded; today it silently falls back to `uploadedAt`
/// plus 24 hours, which may be far longer than what the service said.
#[test]
fn an_unreadable_expires_at_is_not_trusted_for_24_hours() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let me = id(Some("a.txt"));
    // Two hours, in a form parse_rfc3339 does not take (no zone).
    let stored = file("2026-01-01T00:00:00Z", Some("2026-01-01T02:00:00"));
    cache.record(&me, &stored).unwrap();
    let later = at("2026-01-01T12:00:00Z");
    assert!(
        cache.lookup(&me, later).is_none(),
        "an entry whose service expiry could not be read was trusted 10 hours after it"
    );
}

/// The service's clock is 48 hours ahead of this machine's (or this machine's is behind: a VM
/// restored from a snapshot, a CI container): an upload made now lives 24 hours from now by this
/// machine's clock, but the entry, kept in the service's absolute time, is trusted for 71 hours.
#[test]
fn a_service_clock_ahead_of_ours_does_not_extend_the_trust() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let me = id(Some("a.txt"));
    let now = SystemTime::now();
    let service_now = now + Duration::from_secs(48 * 3600);
    cache
        .record(&me, &file(&time::format_rfc3339(service_now), None))
        .unwrap();
    let day_later = now + Duration::from_secs(25 * 3600);
    assert!(
        cache.lookup(&me, day_later).is_none(),
        "an upload 25 hours old by our clock (24 hours of assumed life) was trusted"
    );
}

/// Another version's entries (a newer kie-upload sharing the directory) are "misses", but prune
/// deletes them as if they were broken: two versions side by side erase each other's caches.
#[test]
fn prune_keeps_another_version_s_fresh_entries() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let me = id(Some("a.txt"));
    let fresh = file(&time::format_rfc3339(SystemTime::now()), None);
    cache.record(&me, &fresh).unwrap();
    let path = cache.entry_path(&me);
    let mut entry: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    entry["version"] = 2.into();
    entry["newField"] = "from v2".into();
    fs::write(&path, serde_json::to_vec(&entry).unwrap()).unwrap();
    assert_eq!(cache.prune().unwrap(), 0, "prune deleted a fresh v2 entry");
}

/// A FIFO (or any file whose open blocks) at an entry's name is "foreign", so it must be a miss;
/// today `read_entry` opens it for reading and blocks until a writer comes: the upload (and
/// `prune`, which reads every entry) hangs forever. Needs a directory another user can write,
/// or a stray `mkfifo`; the store should open entries without blocking (or check the type first).
#[cfg(unix)]
#[test]
fn a_fifo_at_an_entry_name_is_a_miss_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path());
    let path = cache.entry_path(&id(Some("a.txt")));
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    let (tx, rx) = std::sync::mpsc::channel();
    let looker = cache.clone();
    std::thread::spawn(move || {
        let miss = looker
            .lookup(&id(Some("a.txt")), SystemTime::now())
            .is_none();
        let _ = tx.send(miss);
    });
    let answer = rx.recv_timeout(Duration::from_secs(10));
    if answer.is_err() {
        // Unblock the reader so the test process does not keep a stuck thread.
        drop(fs::OpenOptions::new().write(true).open(&path));
    }
    assert_eq!(answer.ok(), Some(true), "the lookup blocked on a FIFO");
}

/// Issue 24 item 7: the service documents 3 days. An `expiresAt` in year 9999 is trusted 3 days
/// from `uploadedAt` at most (or from the reply's arrival without one), and a reply that expires
/// before it was uploaded is not recorded (both were trusted as they said).
#[test]
fn no_more_than_three_days_and_never_a_reply_that_cannot_be_true() {
    let dir = tempfile::tempdir().unwrap();
    let cache = UploadCache::new(dir.path()).margin(Duration::ZERO);
    let forever = Some("9999-12-31T00:00:00Z");
    cache
        .record(&id(Some("a.txt")), &file("2026-01-01T00:00:00Z", forever))
        .unwrap();
    let hit = |name, at: SystemTime| cache.lookup(&id(Some(name)), at).is_some();
    assert!(hit("a.txt", at("2026-01-03T23:00:00Z")));
    assert!(
        !hit("a.txt", at("2026-01-04T00:00:01Z")),
        "trusted past 3 days"
    );
    let now = SystemTime::now();
    cache
        .record(&id(Some("b.txt")), &file("", forever))
        .unwrap();
    assert!(hit("b.txt", now + Duration::from_secs(2 * 24 * 3600)));
    assert!(!hit("b.txt", now + Duration::from_secs(3 * 24 * 3600 + 60)));
    let backwards = file("2026-01-02T00:00:00Z", Some("2026-01-01T23:00:00Z"));
    cache.record(&id(Some("c.txt")), &backwards).unwrap();
    assert!(
        !hit("c.txt", at("2026-01-01T12:00:00Z")),
        "expired before it was uploaded"
    );
}
