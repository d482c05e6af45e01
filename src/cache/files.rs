//! The cache's files: its folder checked before it is trusted, entries read only when they are
//! small regular files (opened without following a link or blocking on a FIFO), and the names
//! only this crate gives its files.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::MAX_ENTRY;
use crate::random;

/// The file's bytes, if it is a regular file (never a FIFO or a link) of an entry's size.
pub(super) fn read_small_file(path: &Path) -> Option<Vec<u8>> {
    let mut text = Vec::new();
    let file = open_regular(path).ok()?;
    file.take(MAX_ENTRY + 1).read_to_end(&mut text).ok()?;
    (text.len() as u64 <= MAX_ENTRY).then_some(text)
}

/// Opens `path` for reading if it is a regular file: never through a link, and never waiting for
/// a FIFO's writer (another user may plant either in a shared folder, or swap one in after a
/// look at the name).
#[cfg(unix)]
fn open_regular(path: &Path) -> io::Result<fs::File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = fs::File::from(rustix::fs::open(path, flags, Mode::empty())?);
    match file.metadata()?.is_file() {
        true => Ok(file),
        false => Err(io::ErrorKind::InvalidInput.into()),
    }
}

#[cfg(not(unix))]
fn open_regular(path: &Path) -> io::Result<fs::File> {
    if !fs::symlink_metadata(path)?.is_file() {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    fs::File::open(path)
}

pub(super) fn is_entry_name(name: &str) -> bool {
    name.len() == 69 && name.ends_with(".json") && is_hex(&name[..64])
}

/// A temporary file's name: one this crate alone makes.
pub(super) fn temporary_name() -> String {
    format!(".kie-upload-{:016x}.tmp", random::random_u64())
}

/// A temporary file of this crate's, more than an hour old: a write that crashed before its
/// rename. Nothing else is taken for one: not another name, a link or a folder, nor (on Unix)
/// a file of another user's.
pub(super) fn is_stale_temporary(path: &Path, name: &str, now: SystemTime) -> bool {
    let ours = name.len() == 32
        && name.starts_with(".kie-upload-")
        && name.ends_with(".tmp")
        && is_hex(&name[12..28]);
    let meta = ours.then(|| fs::symlink_metadata(path).ok()).flatten();
    let Some(meta) = meta.filter(fs::Metadata::is_file) else {
        return false;
    };
    #[cfg(unix)]
    if std::os::unix::fs::MetadataExt::uid(&meta) != rustix::process::geteuid().as_raw() {
        return false;
    }
    let modified = meta.modified().ok();
    modified.is_some_and(|m| m + Duration::from_secs(3600) < now)
}

fn is_hex(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Creates the folder, and any missing above it, owner-only (0700 on Unix); a folder that was
/// there is used as it is. Then checks it may be trusted.
pub(super) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    check_dir(dir)
}

/// Refuses a folder that another user could have put entries in, as ssh refuses a key folder
/// open to others: one owned by another user, or writable by its group or others without the
/// sticky bit (which keeps others from replacing this user's files).
#[cfg(unix)]
pub(super) fn check_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(dir)?;
    let why = if meta.uid() != rustix::process::geteuid().as_raw() {
        format!("it belongs to another user (uid {})", meta.uid())
    } else if meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0 {
        let mode = meta.mode() & 0o7777;
        format!("others can write to it (mode {mode:o}) without the sticky bit")
    } else {
        return Ok(());
    };
    let why = format!("the folder is refused: {why}");
    Err(io::Error::new(io::ErrorKind::PermissionDenied, why))
}

#[cfg(not(unix))]
pub(super) fn check_dir(dir: &Path) -> io::Result<()> {
    fs::metadata(dir).map(drop)
}

/// Writes `bytes` to a new temporary file in `dir` (owner-only), then renames it over `path`: a
/// reader sees the old file or the new one, never half of one, and a link or FIFO at `path` is
/// replaced, never followed.
pub(super) fn replace(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = dir.join(temporary_name());
    let written = write_new(&temporary, bytes).and_then(|()| fs::rename(&temporary, path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
