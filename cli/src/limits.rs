//! The limits the tool runs under, met without dying, hanging or failing uploads: a file-size
//! limit (`ulimit -f`) fails a write instead of killing the process, the open-file limit is
//! raised toward its hard limit and the workers fitted to it, and a file found before its upload
//! is opened without blocking, only if it is still a regular file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Descriptors one upload may hold at once: its source, its connection, and with `--verify` the
/// download's connection and the local file again.
#[cfg(unix)]
const PER_JOB: u64 = 4;
/// Descriptors kept for everything else: the standard streams, idle pooled connections, the
/// cache's files, standard input's spool.
#[cfg(unix)]
const RESERVE: u64 = 32;

/// Makes a write past a file-size limit fail with `EFBIG`, an error like any other, instead of
/// killing the process with SIGXFSZ after an upload succeeded and before its URL was printed.
/// Called first thing in `main`, before any thread starts.
#[cfg(unix)]
pub(crate) fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler and touches no memory;
    // std offers no safe way to do it.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

#[cfg(not(unix))]
pub(crate) fn ignore_file_size_signal() {}

/// The workers `jobs` uploads at once can have under the open-file limit: the soft limit is
/// raised toward the hard one as far as they need (as many tools do), and the jobs lowered to
/// what is left, so that no upload fails for want of a descriptor.
#[cfg(unix)]
pub(crate) fn fit_jobs(jobs: usize) -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let want = RESERVE.saturating_add(PER_JOB.saturating_mul(jobs as u64));
    let mut limit = getrlimit(Resource::Nofile);
    let Some(soft) = limit.current.filter(|&soft| soft < want) else {
        return jobs;
    };
    limit.current = Some(limit.maximum.map_or(want, |hard| hard.min(want)));
    let soft = match setrlimit(Resource::Nofile, limit) {
        Ok(()) => limit.current.unwrap_or(soft),
        Err(_) => soft,
    };
    let fit = soft.saturating_sub(RESERVE) / PER_JOB;
    jobs.min(usize::try_from(fit).unwrap_or(usize::MAX)).max(1)
}

#[cfg(not(unix))]
pub(crate) fn fit_jobs(jobs: usize) -> usize {
    jobs
}

/// A regular file found before its upload (by `-r`'s walk, or when the plan looked at a SRC),
/// opened only when its upload starts: a batch holds no more files open than it has workers.
pub(crate) struct Found {
    path: PathBuf,
    file: Option<File>,
}

impl Found {
    pub(crate) fn new(path: &Path) -> Found {
        Found {
            path: path.to_path_buf(),
            file: None,
        }
    }

    fn file(&mut self) -> io::Result<&mut File> {
        if self.file.is_none() {
            self.file = Some(open_found(&self.path)?);
        }
        Ok(self.file.as_mut().expect("opened just above"))
    }
}

impl Read for Found {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file()?.read(buf)
    }
}

impl Seek for Found {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file()?.seek(pos)
    }
}

/// Opens a file found earlier as a regular file, without blocking: a FIFO put at its name since
/// (with no writer, its open would wait forever, which no timeout covers) opens at once and is
/// refused, as is anything else that is no longer a regular file, checked on the descriptor
/// itself. A regular file that replaced it (an editor's save) is what the user now has there,
/// and is sent.
#[cfg(unix)]
pub(crate) fn open_found(path: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = File::from(rustix::fs::open(path, flags, Mode::empty())?);
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(
            "is no longer the regular file found before its upload",
        ));
    }
    Ok(file)
}

#[cfg(not(unix))]
pub(crate) fn open_found(path: &Path) -> io::Result<File> {
    File::open(path)
}
