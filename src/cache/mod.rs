//! [`UploadCache`]: what this user already uploaded, and for how long the service keeps it, so the
//! same bytes to the same place are not sent again while their upload lives (feature `cache`).
//!
//! How it is kept. One small JSON file per stored name, in one directory. The file's name is the
//! SHA-256 of a versioned prefix, the base URL, the API key, the upload path, the content type and
//! the file name (for an upload without a file name, the content's hash takes the name's place, as
//! the service then picks a new name each time). It holds that name again (a file copied from
//! elsewhere is a miss), the content's SHA-256 and length, the expiry, and the [`UploadedFile`].
//! So:
//! - a lookup reads one file, however many entries there are;
//! - a write goes to a temporary file in the same directory, then is renamed over the entry, which
//!   is atomic on Linux, macOS and Windows: a reader sees the old entry or the new one, never half
//!   of one, and no lock is needed (std has no file locks on Rust 1.85);
//! - other bytes under the same name replace the entry, which drops the old bytes' entry at once,
//!   for every process using the directory; the client also removes it before sending them, so a
//!   failed overwrite cannot leave the old URL trusted;
//! - anything unreadable (half-written by a crash, truncated, corrupt, another version's, a link,
//!   a FIFO) is a miss, never an error, never a hit and never deleted;
//! - pruning moves an expired entry aside under a temporary name before it deletes it, and puts it
//!   back if it turns out to be fresh (another process wrote it meanwhile): it never deletes a new
//!   entry of another process.
//!
//! The key enters only that SHA-256: a real key is long and random, so the name is one-way, and
//! another account's entries never match. The key itself is never written. The folder rules (what
//! is created, deleted, refused) are on [`UploadCache`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{time, Error, UploadedFile, RETENTION};

mod files;
mod prune;
mod reuse;

use files::{check_dir, create_private_dir, is_entry_name, is_stale_temporary, read_small_file};
pub(crate) use reuse::Recall;

/// The cache's own policy: how long an upload is trusted to live when the service does not say (no
/// `expiresAt`), 24 hours from `uploadedAt`. The service documents 3 days
/// ([`RETENTION`](crate::RETENTION)), but one of its pages says "deleted after 24 hours", so the
/// cache takes the shorter and never hands out a dead URL.
const ASSUMED_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// Entry files of this version and no other are read.
const VERSION: u32 = 1;
/// The prefix of an entry's name, versioned so a future scheme cannot collide with this one.
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
/// expiry minus the [`margin`](Self::margin). The result then has [`UploadedFile::reused`] set.
///
/// The expiry is the service's `expiresAt` when it sends one. Otherwise the cache assumes 24 hours
/// from `uploadedAt` (from the reply's arrival without one), not the 3 days the service documents
/// ([`RETENTION`](crate::RETENTION)): one of the service's pages says uploads are deleted after 24
/// hours, and a cache must never hand out a dead URL. It never trusts more than those 3 days,
/// whatever `expiresAt` says, nor a reply that expires before it was uploaded.
///
/// # Its folder
///
/// - **What it creates**: the folder, when the first entry is written, with any missing folders
///   above it, owner-only (mode 0700 on Unix); in it, one entry per upload
///   (`<64 hex digits>.json`, mode 0600), temporary files named `.kie-upload-<16 hex
///   digits>.tmp` that become entries by a rename, and `.last-prune`, whose time is the last
///   [`prune`](Self::prune).
/// - **What it deletes**: entries of this version of this crate that expired or that other bytes
///   replace, and its own temporary files left over an hour by a crash. Nothing else, whatever
///   its name.
/// - **What it does with a folder it is given**: uses it as it is. It never changes the mode of a
///   folder it did not create: a read-only one stays read-only (and nothing is recorded).
/// - **What it refuses** (on Unix): a folder owned by another user, or writable by its group or
///   others without the sticky bit, as ssh refuses a key folder open to others: someone else
///   could put entries there, and an entry is a URL handed out as this user's upload. Nothing is
///   then read from it or written to it; the uploads themselves go on.
///
/// Deleting the folder, or anything in it, is always safe: the next upload is sent again.
///
/// A failure to record an upload (a refused folder, a read-only one, a full disk) never fails the
/// upload: it is an [`Event::CacheFailed`](crate::Event::CacheFailed) for the upload's event
/// hook. A program that runs under a file-size limit (`ulimit -f`) may want to ignore `SIGXFSZ`,
/// as the `kie-upload` command does: otherwise an entry's write past the limit kills the process,
/// after the upload succeeded. A check given with [`Upload::verify`](crate::Upload::verify) runs
/// before an upload is recorded or reused: a copy it rejects is never trusted.
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

/// What makes two uploads the same: the digest of the base URL, the key, the upload path and the
/// content type asked for (the service stores and serves the file with it), then the file name
/// and the bytes.
#[derive(Clone)]
pub(crate) struct Identity {
    digest: Sha256,
    file_name: Option<String>,
    content: Content,
}

/// The bytes of an upload, by their hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Content {
    pub sha256: [u8; 32],
    pub len: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    version: u32,
    /// The entry's own name (its file's, without `.json`).
    name: String,
    sha256: String,
    len: u64,
    /// Seconds since the Unix epoch when the service deletes the file, by this machine's clock.
    expires: u64,
    file: UploadedFile,
}

impl Identity {
    /// An upload to `base_url` (normalised: scheme and host in lower case, no default port).
    pub(crate) fn new(
        base_url: &str,
        api_key: &str,
        upload_path: &str,
        content_type: Option<&str>,
        file_name: Option<&str>,
        content: Content,
    ) -> Identity {
        let mut digest = Sha256::new();
        digest.update(NAME_PREFIX);
        // No content type is "", which no content type is (each has a `/`).
        let content_type = content_type.unwrap_or_default();
        for part in [base_url, api_key, upload_path, content_type] {
            digest.update(part.as_bytes());
            digest.update([0]);
        }
        Identity {
            digest,
            file_name: file_name.map(str::to_owned),
            content,
        }
    }

    /// The same upload under the name the service gave it.
    fn named(&self, file_name: &str) -> Identity {
        Identity {
            file_name: Some(file_name.to_owned()),
            ..self.clone()
        }
    }

    /// The name of its entry: by the file name, or without one by the bytes.
    fn entry_name(&self) -> String {
        let mut digest = self.digest.clone();
        match &self.file_name {
            Some(name) => digest.update([b"n:", name.as_bytes()].concat()),
            None => digest.update([b"h:".as_slice(), &self.content.sha256].concat()),
        }
        hex(&digest.finalize().into())
    }
}

impl UploadCache {
    /// A cache in `dir`, created (owner-only on Unix) when the first entry is written.
    ///
    /// ```
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let dir = tempfile::tempdir()?;
    /// use kie_upload::{Client, Upload, UploadCache};
    ///
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .cache(UploadCache::new(dir.path())).build()?;
    /// client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?;
    /// assert!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.reused);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(dir: impl Into<PathBuf>) -> UploadCache {
        UploadCache {
            dir: dir.into(),
            margin: Duration::from_secs(60 * 60),
        }
    }

    /// A cache in this user's cache folder: [`default_dir`](Self::default_dir).
    ///
    /// ```
    /// let cache = kie_upload::UploadCache::in_default_dir()?; // nothing is created yet
    /// assert!(cache.dir().ends_with("kie-upload"));
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
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
    ///
    /// ```
    /// if let Some(dir) = kie_upload::UploadCache::default_dir() {
    ///     println!("uploads are remembered in {}", dir.display());
    ///     assert!(dir.is_absolute());
    /// }
    /// ```
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
    ///
    /// ```
    /// # use kie_upload::{Client, Upload, UploadCache};
    /// # use std::time::Duration;
    /// # let emu = kie_upload_emulator::Emulator::start(
    /// #     kie_upload_emulator::Config::new("key").ttl(Duration::from_secs(3600)))?;
    /// # let dir = tempfile::tempdir()?;
    /// // Files live an hour here: with a margin of two, no upload is ever reused.
    /// let cache = UploadCache::new(dir.path()).margin(Duration::from_secs(2 * 3600));
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().cache(cache).build()?;
    /// client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?;
    /// assert!(!client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.reused);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The directory the entries are in.
    ///
    /// ```
    /// let cache = kie_upload::UploadCache::new("/var/cache/my-app");
    /// assert_eq!(cache.dir(), std::path::Path::new("/var/cache/my-app"));
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The earlier upload of the same bytes, if it is still trusted.
    pub(crate) fn lookup(&self, id: &Identity, now: SystemTime) -> Option<UploadedFile> {
        check_dir(&self.dir).ok()?;
        let entry = self.entry(id)?;
        if now.checked_add(self.margin)? >= expires_at(&entry)? {
            return None;
        }
        // Without a name, the entry is keyed by the content; the name the service picked must
        // still hold these bytes (an upload under that name may have replaced them).
        if id.file_name.is_none() {
            self.entry(&id.named(&entry.file.file_name))?;
        }
        let mut file = entry.file;
        file.reused = true;
        Some(file)
    }

    /// The entry of this upload: one of this version, at its own name, for these bytes.
    fn entry(&self, id: &Identity) -> Option<Entry> {
        let name = id.entry_name();
        let (sha256, len) = (hex(&id.content.sha256), id.content.len);
        read_entry(&self.entry_path(id))
            .filter(|e| e.name == name && e.sha256 == sha256 && e.len == len)
    }

    /// Drops what the cache holds under this name (other bytes are about to replace it).
    pub(crate) fn forget(&self, id: &Identity) {
        let _ = fs::remove_file(self.entry_path(id));
    }

    /// Records a successful upload; an upload whose expiry cannot be told is not recorded.
    /// Without a file name it is recorded under the name the service picked as well, so that an
    /// upload under that name drops it.
    pub(crate) fn record(&self, id: &Identity, file: &UploadedFile) -> io::Result<()> {
        let Some(expires) = expiry(file, SystemTime::now()) else {
            return Ok(());
        };
        let expires = expires
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        create_private_dir(&self.dir)?;
        if id.file_name.is_none() && !file.file_name.is_empty() {
            self.write(&id.named(&file.file_name), expires, file)?;
        }
        self.write(id, expires, file)
    }

    /// Writes the entry through a temporary file and a rename. An entry for other bytes that the
    /// service stored later is kept: this upload's reply came late, and what the service serves
    /// under the name now is the other one.
    fn write(&self, id: &Identity, expires: u64, file: &UploadedFile) -> io::Result<()> {
        let path = self.entry_path(id);
        let entry = Entry {
            version: VERSION,
            name: id.entry_name(),
            sha256: hex(&id.content.sha256),
            len: id.content.len,
            expires,
            file: UploadedFile {
                reused: false,
                ..file.clone()
            },
        };
        if let Some(there) = read_entry(&path) {
            let other = there.sha256 != entry.sha256 || there.len != entry.len;
            let ours = time::parse_rfc3339(&entry.file.uploaded_at);
            let theirs = time::parse_rfc3339(&there.file.uploaded_at);
            if other && ours.zip(theirs).is_none_or(|(ours, theirs)| ours <= theirs) {
                return Ok(());
            }
        }
        let json = serde_json::to_vec(&entry).map_err(io::Error::other)?;
        files::replace(&self.dir, &path, &json)
    }

    fn entry_path(&self, id: &Identity) -> PathBuf {
        self.dir.join(format!("{}.json", id.entry_name()))
    }
}

/// When the service deletes the file, by this machine's clock: its `expiresAt`, else
/// [`ASSUMED_RETENTION`] after `uploadedAt` (or after now, the reply's arrival, without one), and
/// never more than the [`RETENTION`] the service documents. The file's life counts from `now`,
/// so a service clock ahead of ours cannot stretch it. `None` when a time cannot be read, or the
/// reply cannot be true (it expires before it was uploaded).
fn expiry(file: &UploadedFile, now: SystemTime) -> Option<SystemTime> {
    let from = match file.uploaded_at.as_str() {
        "" => now,
        text => time::parse_rfc3339(text)?,
    };
    let end = match file.service_expires_at.as_deref() {
        Some(text) => time::parse_rfc3339(text)?,
        None => from.checked_add(ASSUMED_RETENTION)?,
    };
    let life = end.duration_since(from).ok()?.min(RETENTION);
    Some(from.checked_add(life)?.min(now.checked_add(life)?))
}

fn expires_at(entry: &Entry) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(entry.expires))
}

fn read_entry(path: &Path) -> Option<Entry> {
    let entry: Entry = serde_json::from_slice(&read_small_file(path)?).ok()?;
    (entry.version == VERSION).then_some(entry)
}

pub(crate) fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
