//! `--verify`: download each uploaded file back and compare it, byte for byte, with the local file.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use kie_upload::{Client, Error, ErrorKind, UploadedFile};

use crate::words::{describe, io_words};

/// Whether `path` can be read twice (once to upload, once to compare): a regular file can; a pipe,
/// FIFO or device cannot. Checked before anything is sent.
pub(crate) fn can_verify(path: &Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => Err(format!(
            "--verify cannot check {}: it is a pipe or device, which cannot be read twice",
            path.display()
        )),
        // A missing file or a directory is reported by its upload.
        _ => Ok(()),
    }
}

/// Downloads `file` back and compares it with the local file at `path`: the number of bytes that
/// match, or why the copy does not.
pub(crate) fn verify(client: &Client, path: &Path, file: &UploadedFile) -> Result<u64, String> {
    let local_error = |e: io::Error| format!("{}: {}", path.display(), io_words(&e));
    let local = crate::limits::open_found(path).map_err(local_error)?;
    let local_len = local.metadata().map_err(local_error)?.len();
    let mut compare = Compare {
        local: io::BufReader::with_capacity(64 * 1024, local),
        offset: 0,
        expected: Vec::new(),
        verdict: None,
    };
    let got = match client.download_to(&file.download_url, &mut compare) {
        Ok(got) => got,
        // The comparing writer's own verdict comes back as an I/O error of the download.
        Err(e) => {
            return Err(compare
                .verdict
                .take()
                .unwrap_or_else(|| download_failed(&e)))
        }
    };
    if got != local_len {
        return Err(format!(
            "the downloaded copy has {got} bytes, the local file {local_len}"
        ));
    }
    Ok(got)
}

/// Why the download of a stored copy failed, in words for a download (not an upload's advice
/// about the base URL): a copy that is gone says so.
fn download_failed(e: &Error) -> String {
    match e.kind() {
        ErrorKind::Http {
            status: status @ (404 | 410),
            ..
        } => format!("the stored copy is gone: its download URL answers HTTP {status}"),
        _ => format!("downloading the stored copy failed: {}", describe(e)),
    }
}

/// A writer that compares what is written with the local file.
struct Compare {
    local: io::BufReader<File>,
    offset: u64,
    /// The local bytes matching one write, kept between writes.
    expected: Vec<u8>,
    /// Why the copy differs, once it does.
    verdict: Option<String>,
}

impl Write for Compare {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.expected.resize(buf.len(), 0);
        let n = read_full(&mut self.local, &mut self.expected).inspect_err(|e| {
            self.verdict = Some(format!("reading the local file: {}", io_words(e)));
        })?;
        if n < buf.len() || self.expected[..] != buf[..] {
            let at = self.offset
                + buf
                    .iter()
                    .zip(&self.expected[..n])
                    .position(|(a, b)| a != b)
                    .unwrap_or(n) as u64;
            let why = format!("the downloaded copy differs from the local file at byte {at}");
            self.verdict = Some(why.clone());
            return Err(io::Error::new(io::ErrorKind::InvalidData, why));
        }
        self.offset += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
