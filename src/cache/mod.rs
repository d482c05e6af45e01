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

use crate::{random, time, Error, UploadedFile};

mod reuse;
pub(crate) use reuse::Tap;

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
mod tests;
