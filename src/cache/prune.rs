//! Pruning: expired entries deleted without losing another process's new ones.

use super::*;

impl UploadCache {
    /// Deletes the entries that expired, and entry files that are not JSON; returns how many were
    /// removed. Entries other processes write meanwhile, and entries of other versions of this
    /// crate, are kept. A client with the cache calls this about once a day, after an upload.
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
        let aside = self.temporary_path();
        if fs::rename(path, &aside).is_err() {
            return false;
        }
        let prune = prunable(&aside, now);
        if !prune && fs::hard_link(&aside, path).is_err() && !path.exists() {
            let _ = fs::rename(&aside, path);
        }
        let _ = fs::remove_file(&aside);
        prune
    }

    /// Prunes when the last prune (by any process) is a day old.
    pub(crate) fn prune_now_and_then(&self) {
        let marker = self.dir.join(".last-prune");
        let age = fs::metadata(&marker)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if age.is_none_or(|age| age > Duration::from_secs(24 * 60 * 60))
            && fs::write(&marker, b"").is_ok()
        {
            let _ = self.prune();
        }
    }
}

/// Whether prune may delete the entry file: expired, or not JSON at all. Another version's
/// entries, and files it cannot read, are left alone.
fn prunable(path: &Path, now: SystemTime) -> bool {
    let Some(text) = read_small_file(path) else {
        return false;
    };
    match serde_json::from_slice::<serde_json::Value>(&text) {
        Err(_) => true,
        Ok(v) if v.get("version").and_then(|v| v.as_u64()) != Some(u64::from(VERSION)) => false,
        Ok(_) => read_entry(path).is_none_or(|e| expires_at(&e).is_some_and(|until| until <= now)),
    }
}
