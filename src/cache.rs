//! [`UploadCache`]: what this user already uploaded, and for how long the service keeps it, so the
//! same bytes to the same place are not sent again while their upload lives (feature `cache`).
//!
//! How it is kept. One small JSON file per stored name, in one directory. The file's name is the
//! SHA-256 of a versioned prefix, the base URL, the key's fingerprint, the upload path and the file
//! name (for an upload without a file name, the content's hash takes the name's place, as the
//! service then picks a new name each time). It holds all of those again (a file copied from
//! elsewhere, or a collision, is a miss), the content's SHA-256 and length, the expiry, and the
//! [`UploadedFile`]. So:
//! - a lookup reads one file, however many entries there are;
//! - a write goes to a temporary file in the same directory, then is renamed over the entry, which
//!   is atomic on Linux, macOS and Windows: a reader sees the old entry or the new one, never half
//!   of one, and no lock is needed (std has no file locks on Rust 1.85);
//! - other bytes under the same name replace the entry, which drops the old bytes' entry at once,
//!   for every process using the directory; the client also removes it before sending them, so a
//!   failed overwrite cannot leave the old URL trusted;
//! - anything unreadable (half-written by a crash, truncated, corrupt, another version's) is a
//!   miss, never an error and never a hit;
//! - pruning moves an expired entry aside under a temporary name before it deletes it, and puts it
//!   back if it turns out to be fresh (another process wrote it meanwhile): it never deletes a new
//!   entry of another process.
//!
//! The key's fingerprint is the SHA-256 of a versioned prefix and the key: a real key is long and
//! random, so this is one-way, and another account's entries never match. The key itself is never
//! written. The directory is created owner-only on Unix: a download URL needs no credentials.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::upload::Checked;
use crate::{random, time, Client, Error, UploadedFile};

/// How long an upload is assumed to live when the service does not say (no `expiresAt`): 24 hours
/// from `uploadedAt`. The service's pages disagree (3 days on the endpoint pages, "deleted after
/// 24 hours" on the quickstart), so the cache takes the shorter and never hands out a dead URL.
pub const ASSUMED_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// Entry files of this version and no other are read.
const VERSION: u32 = 1;
/// The prefixes of the two hashes, versioned so a future scheme cannot collide with this one.
const KEY_PREFIX: &[u8] = b"kie-upload api key fingerprint v1\0";
const NAME_PREFIX: &[u8] = b"kie-upload cache entry v1\0";
/// An entry file is small; anything larger is not one of ours.
const MAX_ENTRY: u64 = 64 * 1024;

/// A record of live uploads in a directory, shared by every client and process that uses it.
///
/// Give it to [`ClientBuilder::cache`](crate::ClientBuilder::cache); then
/// [`Client::upload`](crate::Client::upload) and
/// [`upload_base64`](crate::Client::upload_base64) return the earlier upload, without sending a
/// byte, when the same bytes (SHA-256 and length) went to the same upload path under the same file
/// name, through the same base URL with the same key, and that upload is still trusted: until its
/// expiry (the service's `expiresAt`, else `uploadedAt` plus [`ASSUMED_RETENTION`]) minus the
/// [`margin`](Self::margin). The result then has [`UploadedFile::reused`] set.
///
/// Uploading other bytes under a name the cache holds replaces what the service serves at that
/// URL, and drops the old entry. The service warns that a CDN may go on serving the old bytes for
/// a while after such an overwrite.
///
/// ```no_run
/// # fn main() -> Result<(), kie_upload::Error> {
/// use kie_upload::{Client, UploadCache};
///
/// let client = Client::builder()
///     .api_key("YOUR_API_KEY")
///     .cache(UploadCache::in_default_dir()?)
///     .build()?;
/// let first = client.upload_file("photo.jpg", "images")?;
/// let again = client.upload_file("photo.jpg", "images")?; // nothing sent
/// assert!(again.reused && again.download_url == first.download_url);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct UploadCache {
    dir: PathBuf,
    margin: Duration,
}

/// What makes two uploads the same, apart from their bytes.
pub(crate) struct Identity<'a> {
    pub base_url: &'a str,
    pub key_fingerprint: [u8; 32],
    pub upload_path: &'a str,
    pub file_name: Option<&'a str>,
}

/// The bytes of an upload, by their hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Content {
    pub sha256: [u8; 32],
    pub len: u64,
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The same bytes, still trusted.
    Hit(UploadedFile),
    /// Nothing trusted for these bytes under this name.
    Miss,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    version: u32,
    base_url: String,
    key_fingerprint: String,
    upload_path: String,
    file_name: Option<String>,
    sha256: String,
    len: u64,
    /// Seconds since the Unix epoch when the service deletes the file.
    expires: u64,
    file: UploadedFile,
}

impl UploadCache {
    /// A cache in `dir`, created (owner-only on Unix) when the first entry is written.
    pub fn new(dir: impl Into<PathBuf>) -> UploadCache {
        UploadCache {
            dir: dir.into(),
            margin: Duration::from_secs(60 * 60),
        }
    }

    /// A cache in this user's cache folder: [`default_dir`](Self::default_dir).
    pub fn in_default_dir() -> Result<UploadCache, Error> {
        Self::default_dir().map(UploadCache::new).ok_or_else(|| {
            Error::invalid(
                "no cache folder for this user (no XDG_CACHE_HOME, HOME or LOCALAPPDATA): give one",
            )
        })
    }

    /// This user's cache folder for kie-upload: `$XDG_CACHE_HOME/kie-upload` or
    /// `~/.cache/kie-upload` on Linux and other Unix systems, `~/Library/Caches/kie-upload` on
    /// macOS, `%LOCALAPPDATA%\kie-upload` on Windows. `None` when the variables it needs are unset.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let base = if cfg!(windows) {
            var("LOCALAPPDATA")
        } else if cfg!(target_os = "macos") {
            var("HOME").map(|h| h.join("Library").join("Caches"))
        } else {
            var("XDG_CACHE_HOME")
                .filter(|p| p.is_absolute())
                .or_else(|| var("HOME").map(|h| h.join(".cache")))
        };
        base.map(|b| b.join("kie-upload"))
    }

    /// How long before its expiry an entry stops being trusted, so a URL handed out still serves
    /// for at least this long. Default: 1 hour.
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The directory the entries are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Deletes the entries that expired (by the service's clock as the entries record it), and
    /// files left half-written; returns how many were removed. Entries other processes write
    /// meanwhile are kept.
    pub fn prune(&self) -> io::Result<usize> {
        let now = SystemTime::now();
        let mut removed = 0;
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        for dirent in entries {
            let path = dirent?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if is_stale_temporary(&path, name, now) {
                removed += usize::from(fs::remove_file(&path).is_ok());
            } else if is_entry_name(name) && read_entry(&path).is_none_or(|e| expired(&e, now)) {
                removed += usize::from(self.remove_if_expired(&path, now));
            }
        }
        Ok(removed)
    }

    /// Moves the entry aside, and deletes it if it is (still) expired or unreadable; a fresh one
    /// (written by another process since it was read) goes back, unless a newer one took its place.
    fn remove_if_expired(&self, path: &Path, now: SystemTime) -> bool {
        let aside = self.temporary_path();
        if fs::rename(path, &aside).is_err() {
            return false;
        }
        if read_entry(&aside).is_none_or(|e| expired(&e, now)) || path.exists() {
            return fs::remove_file(&aside).is_ok();
        }
        let _ = fs::rename(&aside, path);
        false
    }

    pub(crate) fn lookup(&self, id: &Identity<'_>, content: &Content, now: SystemTime) -> Lookup {
        let Some(entry) = read_entry(&self.entry_path(id, content)) else {
            return Lookup::Miss;
        };
        let same = entry.base_url == id.base_url
            && entry.key_fingerprint == hex(&id.key_fingerprint)
            && entry.upload_path == id.upload_path
            && entry.file_name.as_deref() == id.file_name
            && entry.sha256 == hex(&content.sha256)
            && entry.len == content.len;
        let trusted_until = UNIX_EPOCH + Duration::from_secs(entry.expires);
        if same && now + self.margin < trusted_until {
            let mut file = entry.file;
            file.reused = true;
            Lookup::Hit(file)
        } else {
            Lookup::Miss
        }
    }

    /// Drops what the cache holds under this name (other bytes are about to replace it).
    pub(crate) fn forget(&self, id: &Identity<'_>, content: &Content) {
        let _ = fs::remove_file(self.entry_path(id, content));
    }

    /// Records a successful upload; an upload whose expiry cannot be told is not recorded.
    pub(crate) fn record(
        &self,
        id: &Identity<'_>,
        content: &Content,
        file: &UploadedFile,
    ) -> io::Result<()> {
        let Some(expires) = expiry(file) else {
            return Ok(());
        };
        let entry = Entry {
            version: VERSION,
            base_url: id.base_url.to_owned(),
            key_fingerprint: hex(&id.key_fingerprint),
            upload_path: id.upload_path.to_owned(),
            file_name: id.file_name.map(str::to_owned),
            sha256: hex(&content.sha256),
            len: content.len,
            expires: expires
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            file: UploadedFile {
                reused: false,
                ..file.clone()
            },
        };
        let json = serde_json::to_vec(&entry).map_err(io::Error::other)?;
        create_private_dir(&self.dir)?;
        let temporary = self.temporary_path();
        let written = write_private(&temporary, &json)
            .and_then(|()| fs::rename(&temporary, self.entry_path(id, content)));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }

    fn entry_path(&self, id: &Identity<'_>, content: &Content) -> PathBuf {
        let mut h = Sha256::new();
        h.update(NAME_PREFIX);
        for part in [id.base_url, &hex(&id.key_fingerprint), id.upload_path] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        match id.file_name {
            Some(name) => h.update([b"n:", name.as_bytes()].concat()),
            None => h.update([b"h:".as_slice(), &content.sha256].concat()),
        }
        self.dir.join(format!("{}.json", hex(&h.finalize().into())))
    }

    fn temporary_path(&self) -> PathBuf {
        self.dir.join(format!(
            ".tmp-{}-{:016x}",
            std::process::id(),
            random::random_u64()
        ))
    }
}

/// An upload the cache has not got: recorded once it succeeds with the bytes hashed before it.
pub(crate) struct Pending<'c> {
    cache: &'c UploadCache,
    base_url: &'c str,
    key_fingerprint: [u8; 32],
    content: Content,
}

impl Client {
    /// Looks the upload up in the client's cache: the earlier upload when it is still trusted;
    /// otherwise what to record once this one succeeds (`None` without a cache), with any entry
    /// under the name dropped (other bytes are about to replace it).
    pub(crate) fn reuse(
        &self,
        upload: &mut Checked<'_>,
    ) -> Result<Result<UploadedFile, Option<Pending<'_>>>, Error> {
        let Some(cache) = &self.config.cache else {
            return Ok(Err(None));
        };
        let pending = Pending {
            cache,
            base_url: &self.config.base_url,
            key_fingerprint: key_fingerprint(self.config.api_key()),
            content: upload.source.content()?,
        };
        let id = pending.identity(upload);
        match cache.lookup(&id, &pending.content, SystemTime::now()) {
            Lookup::Hit(file) => return Ok(Ok(file)),
            Lookup::Miss => cache.forget(&id, &pending.content),
        }
        Ok(Err(Some(pending)))
    }
}

impl Pending<'_> {
    fn identity<'u>(&'u self, upload: &'u Checked<'_>) -> Identity<'u> {
        Identity {
            base_url: self.base_url,
            key_fingerprint: self.key_fingerprint,
            upload_path: &upload.upload_path,
            file_name: upload.file_name.as_deref(),
        }
    }

    /// Records `file`, if the last attempt sent the very bytes hashed before the upload (a file
    /// changed in between is never recorded under the wrong hash). A failure to write the entry
    /// costs only a later repeat, so it is not the upload's error.
    pub(crate) fn record(&self, upload: &Checked<'_>, sent: Option<Content>, file: &UploadedFile) {
        if sent == Some(self.content) {
            let _ = self
                .cache
                .record(&self.identity(upload), &self.content, file);
        }
    }
}

/// A reader that hashes what passes through it: the content of a source as an attempt sends it.
pub(crate) struct Tap<'r> {
    inner: &'r mut (dyn io::Read + Send),
    hasher: Sha256,
    len: u64,
}

impl<'r> Tap<'r> {
    pub(crate) fn new(inner: &'r mut (dyn io::Read + Send)) -> Self {
        Tap {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// What passed through so far.
    pub(crate) fn content(&self) -> Content {
        Content {
            sha256: self.hasher.clone().finalize().into(),
            len: self.len,
        }
    }
}

impl io::Read for Tap<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// The fingerprint of an API key that entries are matched on.
pub(crate) fn key_fingerprint(api_key: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(KEY_PREFIX);
    h.update(api_key.as_bytes());
    h.finalize().into()
}

/// When the service deletes the file: its `expiresAt`, else `uploadedAt` plus
/// [`ASSUMED_RETENTION`].
fn expiry(file: &UploadedFile) -> Option<SystemTime> {
    let service = file
        .service_expires_at
        .as_deref()
        .and_then(time::parse_rfc3339);
    service.or_else(|| time::parse_rfc3339(&file.uploaded_at).map(|t| t + ASSUMED_RETENTION))
}

fn expired(entry: &Entry, now: SystemTime) -> bool {
    UNIX_EPOCH + Duration::from_secs(entry.expires) <= now
}

fn read_entry(path: &Path) -> Option<Entry> {
    let file = fs::File::open(path).ok()?;
    let mut text = Vec::new();
    io::Read::read_to_end(&mut io::Read::take(file, MAX_ENTRY + 1), &mut text).ok()?;
    let entry: Entry = serde_json::from_slice(&text).ok()?;
    (entry.version == VERSION).then_some(entry)
}

fn is_entry_name(name: &str) -> bool {
    name.len() == 69 && name.ends_with(".json") && name[..64].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A temporary file more than an hour old: a write that crashed before its rename.
fn is_stale_temporary(path: &Path, name: &str, now: SystemTime) -> bool {
    let old = || {
        let modified = fs::metadata(path).and_then(|m| m.modified()).ok();
        modified.is_some_and(|m| m + Duration::from_secs(3600) < now)
    };
    name.starts_with(".tmp-") && old()
}

pub(crate) fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
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
        assert!(
            matches!(&hit, Lookup::Hit(f) if f.reused && f.download_url == stored.download_url)
        );
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
}
