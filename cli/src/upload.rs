//! Each upload as the library gets it: its source opened as late as it can be, its name, its
//! progress line, the check that learns it is stored (and runs `--verify`), what an interrupted
//! run must know about it, and its `-v` log.

use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use kie_upload::{printable, Client, Event, Progress, Upload, UploadCache, BASE64_MAX};

use crate::args::Options;
use crate::interrupt;
use crate::limits::Found;
use crate::output::{eprint_line, Output};
use crate::plan::{is_system_path, Planned};
use crate::progress::{Bars, FileBar};
use crate::verbose::log_event;
use crate::verify::verify;
use crate::words::io_words;

/// The upload of a local file: one the plan found to be a regular file is opened when its upload
/// starts, without blocking, and only if it still is one; a pipe or device named on purpose
/// (`<(cmd)`, `/dev/stdin`), and a file under /dev or /proc that says it is empty but holds data,
/// go to the library by their path.
pub(crate) fn from_file<'a>(path: &Path, p: &Planned) -> Upload<'a> {
    match p.size {
        Some(_) if !is_system_path(path) => Upload::seekable(Found::new(path), &p.upload_path),
        _ => Upload::file(path, &p.upload_path),
    }
}

/// The settings every upload gets: its name, progress display, `--verify` as its check (run on
/// its worker, before the cache records it or reuses it), what the output must know should the
/// run be interrupted (when its whole body is out; when it is stored), the cache's failure said
/// once, and the `-v` log. `index` is the source's place in the plan.
pub(crate) fn settings<'a>(
    upload: Upload<'a>,
    (index, p): (usize, &Planned),
    o: &Options,
    bars: &Bars,
    client: &Client,
    out: &'a Output,
) -> Upload<'a> {
    let upload = match &p.name {
        Some(name) => upload.file_name(name),
        None => upload,
    };
    let upload = with_progress(upload, bars.file(&p.label, p.size), index, out);
    let upload = with_check(upload, (index, p), o, client, out);
    with_events(upload, &p.label, o)
}

/// The upload's progress: drawn on its line, if any; the output told when the whole body is out;
/// and Ctrl-C, which every upload hears at its next report.
fn with_progress<'a>(
    upload: Upload<'a>,
    mut bar: Option<FileBar>,
    index: usize,
    out: &'a Output,
) -> Upload<'a> {
    let mut whole = false;
    upload.on_progress(move |sent, total| {
        if let Some(bar) = &mut bar {
            bar.set(sent);
        }
        if interrupt::requested().is_some() {
            return Progress::Cancel;
        }
        if !whole && total.is_some_and(|total| sent >= total) {
            whole = true;
            out.body_sent(index);
        }
        Progress::Continue
    })
}

/// The check the library runs once the service has stored the file. It runs for every upload,
/// `--verify` or not: it is where a worker learns that its file is stored, which the output keeps
/// in case the run is interrupted before its turn.
fn with_check<'a>(
    upload: Upload<'a>,
    (index, p): (usize, &Planned),
    o: &Options,
    client: &Client,
    out: &'a Output,
) -> Upload<'a> {
    let check = match (o.verify, &p.path) {
        (true, Some(path)) => Some((client.clone(), path.clone(), p.label.clone())),
        _ => None,
    };
    let (size, verbose) = (p.size, o.verbose);
    upload.verify(move |file| {
        // The service has said it stored the file: so an interrupted run says, even while the
        // check below downloads it (after Ctrl-C the batch ends with what is stored, unchecked;
        // a later --verify checks a reused copy again).
        out.stored_early(index, size, false, file);
        if let Some((client, path, label)) = &check {
            if interrupt::requested().is_none() {
                let bytes = verify(client, path, file)?;
                if verbose {
                    let label = printable(label);
                    eprint_line(&format!(
                        "kie-upload: {label}: verified: {bytes} bytes match"
                    ));
                }
                out.stored_early(index, size, true, file);
            }
        }
        Ok::<_, String>(())
    })
}

/// The upload's events: the cache's failure to record it (said once in a run), and with `-v`
/// every event in words.
fn with_events<'a>(upload: Upload<'a>, label: &str, o: &Options) -> Upload<'a> {
    let (label, verbose) = (label.to_owned(), o.verbose);
    let cache_dir = o.cache_dir.clone().or_else(UploadCache::default_dir);
    upload.on_event(move |e| {
        if let (Event::CacheFailed { error }, Some(dir)) = (e, &cache_dir) {
            cache_failed(dir, error);
        }
        if verbose {
            log_event(&label, e);
        }
    })
}

/// Standard input sent as it comes (its length unknown): once it ends, the whole body is out
/// but for its last bytes, and the output is told so.
pub(crate) struct WholeWhenEnded<'a, R> {
    reader: R,
    index: usize,
    out: &'a Output,
}

impl<'a, R> WholeWhenEnded<'a, R> {
    pub(crate) fn new(reader: R, index: usize, out: &'a Output) -> Self {
        WholeWhenEnded { reader, index, out }
    }
}

impl<R: Read> Read for WholeWhenEnded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        if n == 0 && !buf.is_empty() && interrupt::requested().is_none() {
            self.out.body_sent(self.index);
        }
        Ok(n)
    }
}

/// Says once in a run that the cache could not record uploads, and why (`-v` says it for each).
fn cache_failed(dir: &Path, error: &io::Error) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        eprint_line(&format!(
            "warning: cannot record uploads in the cache at {}: {}; the next run sends them again",
            printable(&dir.to_string_lossy()),
            io_words(error)
        ));
    }
}

/// Standard input for the base64 endpoint, whose body needs its length up front: at most the limit
/// plus one byte, so an oversized input still gets the library's clear refusal.
pub(crate) fn read_stdin_for_base64() -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(BASE64_MAX + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
