//! The cache's files: entries read only when they are small regular files, written owner-only.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::MAX_ENTRY;

/// The entry file's bytes, if it is a regular file (never a FIFO or a link) of an entry's size.
pub(super) fn read_small_file(path: &Path) -> Option<Vec<u8>> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_ENTRY {
        return None;
    }
    let mut text = Vec::new();
    io::Read::read_to_end(
        &mut io::Read::take(fs::File::open(path).ok()?, MAX_ENTRY),
        &mut text,
    )
    .ok()?;
    Some(text)
}

pub(super) fn is_entry_name(name: &str) -> bool {
    name.len() == 69 && name.ends_with(".json") && name[..64].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A temporary file more than an hour old: a write that crashed before its rename.
pub(super) fn is_stale_temporary(path: &Path, name: &str, now: SystemTime) -> bool {
    let old = || {
        let modified = fs::metadata(path).and_then(|m| m.modified()).ok();
        modified.is_some_and(|m| m + Duration::from_secs(3600) < now)
    };
    name.starts_with(".tmp-") && old()
}

pub(super) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    // A directory that was there before keeps its permissions otherwise; one of another user's
    // cannot be changed, which is no reason to fail.
    #[cfg(unix)]
    let _ = fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700));
    Ok(())
}

pub(super) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
