//! The file's bytes on their way out: the one place that counts them, guards their declared length,
//! reports progress (and hears a cancellation), stops reading when the server has stopped, and keeps
//! the source's own error for the client.

use std::io::{self, Cursor, Read};
use std::path::Path;
use std::time::Instant;

use crate::observe::Progress;
use crate::source::{read_retrying, Opened};
use crate::transport;
use crate::{Error, ErrorKind};

/// Progress is reported at most once per this many bytes (and once at the end).
pub(crate) const PROGRESS_STEP: u64 = 64 * 1024;

/// The progress callback, borrowed for one attempt.
pub(crate) type ProgressRef<'a> = &'a mut (dyn FnMut(u64, Option<u64>) -> Progress + Send);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Sending,
    /// The source ended, at its declared length when it has one.
    Finished,
    /// The server stopped reading (a write failed): the rest of the declared length is sent as
    /// zeros that the connection drops, without reading the source, so that ureq can finish the
    /// request and read the server's answer.
    Abandoned,
    Failed,
}

/// A source wrapped so that it yields exactly its declared length or fails, with the first bytes
/// optionally read ahead (to sniff the content type) and replayed.
pub(crate) struct Payload<'s> {
    source: &'s mut (dyn Read + Send),
    /// The local file, for the errors of the source's reads.
    path: Option<&'s Path>,
    len: Option<u64>,
    /// Bytes read ahead by [`peek`](Self::peek), and how far they were emitted.
    ahead: Cursor<Vec<u8>>,
    /// The source has returned the end of its input: it is never read again (a terminal would
    /// wait for another Ctrl-D).
    source_ended: bool,
    /// Bytes of the source emitted.
    sent: u64,
    /// Zeros emitted in place of the source after it was abandoned.
    filler: u64,
    state: State,
    /// When the body ended: the source finished, or was abandoned.
    done_at: Option<Instant>,
    progress: Option<ProgressRef<'s>>,
    /// The `sent` of the last progress call, if there was one.
    reported: Option<u64>,
    /// Why the payload stopped early: the source failed, held another length than declared, or
    /// the upload was cancelled.
    failure: Option<Error>,
}

impl<'s> Payload<'s> {
    /// Starts an attempt's payload.
    pub(crate) fn new(opened: Opened<'s>, progress: Option<ProgressRef<'s>>) -> Self {
        Payload {
            source: opened.reader,
            path: opened.path,
            len: opened.len,
            ahead: Cursor::default(),
            source_ended: false,
            sent: 0,
            filler: 0,
            state: State::Sending,
            done_at: None,
            progress,
            reported: None,
            failure: None,
        }
    }

    /// Reads up to `n` bytes ahead (fewer at the end of the source) and returns them; they are still
    /// emitted by `read`. Call before the first `read`.
    pub(crate) fn peek(&mut self, n: usize) -> Result<&[u8], Error> {
        let want = self.len.map_or(n as u64, |len| len.min(n as u64));
        // A failed read fails the framing, and so the attempt: the payload is never read.
        let got = (&mut *self.source)
            .take(want)
            .read_to_end(self.ahead.get_mut())
            .map_err(|e| Error::io(self.path, e))?;
        self.source_ended = (got as u64) < want;
        Ok(self.ahead.get_ref())
    }

    /// The declared length, if known.
    pub(crate) fn len(&self) -> Option<u64> {
        self.len
    }

    /// Bytes of the source sent so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Whether the whole source went out: it ended, at its declared length when it has one, and no
    /// write failed (a failed last write leaves the payload finished but the body cut short).
    pub(crate) fn is_whole(&self) -> bool {
        self.state == State::Finished && !transport::seen().write_failed
    }

    /// When the body ended (the source finished, or was abandoned after a failed write), for the
    /// reply's deadline.
    pub(crate) fn done_at(&self) -> Option<Instant> {
        self.done_at
    }

    /// Whether all the declared bytes have been emitted, so the next read only checks for the end
    /// (a cheap read that returns at once for a file or a slice). Always false for an unknown length.
    pub(crate) fn is_complete(&self) -> bool {
        self.len.is_some_and(|len| self.sent + self.filler == len)
    }

    /// The payload's own failure, if it stopped early. A transport error seen afterwards is only
    /// a symptom.
    pub(crate) fn take_error(&mut self) -> Option<Error> {
        self.failure.take()
    }

    /// Calls the progress callback when due; `Err` when it asks to stop.
    fn report(&mut self) -> io::Result<()> {
        let Some(progress) = self.progress.as_mut() else {
            return Ok(());
        };
        let finished = self.state == State::Finished;
        let due = match self.reported {
            Some(last) if finished => last != self.sent,
            Some(last) => self.sent - last >= PROGRESS_STEP,
            None => finished || self.sent >= PROGRESS_STEP,
        };
        if !due {
            return Ok(());
        }
        self.reported = Some(self.sent);
        match progress(self.sent, self.len) {
            Progress::Continue => Ok(()),
            Progress::Cancel => {
                Err(self.fail(io::ErrorKind::Other, Error::new(ErrorKind::Cancelled)))
            }
        }
    }

    /// Keeps `error` for the client, and gives ureq an I/O error of `kind` saying the same.
    fn fail(&mut self, kind: io::ErrorKind, error: Error) -> io::Error {
        let symptom = io::Error::new(kind, error.to_string());
        self.state = State::Failed;
        self.failure = Some(error);
        symptom
    }

    /// One read from the source, guarded by the declared length: one byte more than is left of it
    /// is asked for, and getting it means the declaration was wrong. `Ok(0)` means the source is
    /// done.
    fn read_source(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = match self.len {
            Some(len) => (len - self.sent).saturating_add(1),
            None => u64::MAX,
        };
        let want = buf.len().min(usize::try_from(want).unwrap_or(usize::MAX));
        let n = match self.source_ended {
            true => 0,
            false => read_retrying(self.source, &mut buf[..want])
                .map_err(|e| self.fail(e.kind(), Error::io(self.path, e)))?,
        };
        self.source_ended |= n == 0;
        let actual = self.sent + n as u64;
        match self.len {
            Some(declared) if actual > declared || (n == 0 && actual < declared) => {
                let mismatch = ErrorKind::SourceLengthMismatch { declared, actual };
                Err(self.fail(io::ErrorKind::UnexpectedEof, Error::new(mismatch)))
            }
            _ => Ok(n),
        }
    }

    /// Zeros in place of what is left of the declared length, once abandoned.
    fn fill(&mut self, buf: &mut [u8]) -> usize {
        let left = self
            .len
            .map_or(0, |len| len.saturating_sub(self.sent + self.filler));
        let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        buf[..n].fill(0);
        self.filler += n as u64;
        n
    }
}

impl Read for Payload<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.state == State::Sending && transport::seen().write_failed {
            self.state = State::Abandoned;
            self.done_at = Some(Instant::now());
        }
        match self.state {
            State::Failed => return Err(io::Error::other("the upload's source already failed")),
            State::Finished => return Ok(0),
            State::Abandoned => return Ok(self.fill(buf)),
            State::Sending => {}
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let mut n = self.ahead.read(buf)?;
        self.sent += n as u64;
        // The bytes read ahead and the first read of the source share one call.
        if n < buf.len() && !(n > 0 && self.is_complete()) {
            let more = self.read_source(&mut buf[n..])?;
            if n == 0 && more == 0 {
                self.state = State::Finished;
                self.done_at = Some(Instant::now());
            }
            n += more;
            self.sent += more as u64;
        }
        self.report()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
