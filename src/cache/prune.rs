//! Pruning: expired entries deleted without losing another process's new ones, and nothing
//! deleted that this crate did not make.

use super::*;

impl UploadCache {
    /// Deletes the entries that expired, and temporary files of this crate's left by a crash
    /// over an hour ago; returns how many were removed. Nothing else is deleted: not a file that
    /// does not parse as an entry of this version of this crate (another version's, or anyone
    /// else's), not one written by another process meanwhile. A client with the cache calls this
    /// about once a day, after an upload. Fails when the folder is refused (see
    /// [`UploadCache`]).
    ///
    /// ```
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let dir = tempfile::tempdir()?;
    /// # use kie_upload::{Client, Upload, UploadCache};
    /// let cache = UploadCache::new(dir.path());
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .cache(cache.clone()).build()?;
    /// client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?;
    /// assert_eq!(cache.prune()?, 0); // the entry is live: kept
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn prune(&self) -> io::Result<usize> {
        let now = SystemTime::now();
        let mut removed = 0;
        let entries = match check_dir(&self.dir).and_then(|()| fs::read_dir(&self.dir)) {
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
            } else if is_entry_name(name) && prunable(&path, now) {
                removed += usize::from(self.remove_if_prunable(&path, now));
            }
        }
        Ok(removed)
    }

    /// Moves the entry aside and deletes it if it is (still) prunable; a fresh one (written by
    /// another process since it was read) goes back, unless a newer one took its place meanwhile
    /// (a hard link, unlike a rename, never replaces one).
    fn remove_if_prunable(&self, path: &Path, now: SystemTime) -> bool {
        let aside = self.dir.join(files::temporary_name());
        if fs::rename(path, &aside).is_err() {
            return false;
        }
        let prune = prunable(&aside, now);
        if !prune && fs::hard_link(&aside, path).is_err() && fs::symlink_metadata(path).is_err() {
            let _ = fs::rename(&aside, path);
        }
        let _ = fs::remove_file(&aside);
        prune
    }

    /// Prunes when the last prune (by any process) is a day old. The marker is looked at without
    /// following a link and replaced by a rename: whatever someone put at its name, a link or a
    /// FIFO, is never opened.
    pub(crate) fn prune_now_and_then(&self) {
        let marker = self.dir.join(".last-prune");
        let age = fs::symlink_metadata(&marker)
            .ok()
            .filter(fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok());
        if age.is_none_or(|age| age > Duration::from_secs(24 * 60 * 60))
            && check_dir(&self.dir).is_ok()
            && files::replace(&self.dir, &marker, b"").is_ok()
        {
            let _ = self.prune();
        }
    }
}

/// Whether prune may delete the entry file: an entry of this version of this crate, expired.
fn prunable(path: &Path, now: SystemTime) -> bool {
    read_entry(path).is_some_and(|e| expires_at(&e).is_none_or(|until| until <= now))
}
