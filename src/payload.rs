//! The file's bytes on their way out: the one place that counts them, guards their declared length,
//! reports progress and keeps the source's error for the client.

use std::io::{self, Read};

/// Progress is reported at most once per this many bytes (and once at the end).
pub(crate) const PROGRESS_STEP: u64 = 64 * 1024;

/// The progress callback: bytes of the source sent so far, and the total when known.
pub(crate) type Progress<'a> = &'a mut (dyn FnMut(u64, Option<u64>) + Send);

/// Why the payload stopped early; the client turns it into an [`Error`](crate::Error).
#[derive(Debug)]
pub(crate) enum Failure {
    /// The source's `read` failed.
    Source(io::Error),
    /// The source yielded `actual` bytes against a declared `declared`.
    Length { declared: u64, actual: u64 },
}

/// A source wrapped so that it yields exactly its declared length or fails, with the first bytes
/// optionally read ahead (to sniff the content type) and replayed.
pub(crate) struct Payload<'a> {
    source: &'a mut (dyn Read + Send),
    len: Option<u64>,
    /// Bytes read ahead by [`peek`](Self::peek), not yet emitted.
    ahead: Vec<u8>,
    ahead_pos: usize,
    sent: u64,
    finished: bool,
    progress: Option<Progress<'a>>,
    /// The `sent` of the last progress call, if there was one.
    reported: Option<u64>,
    failure: Option<Failure>,
}

impl<'a> Payload<'a> {
    pub(crate) fn new(
        source: &'a mut (dyn Read + Send),
        len: Option<u64>,
        progress: Option<Progress<'a>>,
    ) -> Self {
        Payload {
            source,
            len,
            ahead: Vec::new(),
            ahead_pos: 0,
            sent: 0,
            finished: false,
            progress,
            reported: None,
            failure: None,
        }
    }

    /// Reads up to `n` bytes ahead (fewer at the end of the source) and returns them; they are still
    /// emitted by `read`. Call before the first `read`.
    pub(crate) fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        let want = self.len.map_or(n as u64, |len| len.min(n as u64));
        (&mut *self.source)
            .take(want)
            .read_to_end(&mut self.ahead)?;
        Ok(&self.ahead)
    }

    /// The declared length, if known.
    pub(crate) fn len(&self) -> Option<u64> {
        self.len
    }

    /// Bytes emitted so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Whether the source ended, at its declared length when it has one.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether all the declared bytes have been emitted, so the next read only checks for the end
    /// (a cheap read that returns at once for a file or a slice). Always false for an unknown length.
    pub(crate) fn is_complete(&self) -> bool {
        self.len.is_some_and(|len| self.sent == len)
    }

    /// Why the payload stopped early, if it did.
    pub(crate) fn take_failure(&mut self) -> Option<Failure> {
        self.failure.take()
    }

    fn report(&mut self) {
        if let Some(progress) = self.progress.as_mut() {
            let due = match self.reported {
                Some(last) if self.finished => last != self.sent,
                Some(last) => self.sent - last >= PROGRESS_STEP,
                None => self.finished || self.sent >= PROGRESS_STEP,
            };
            if due {
                self.reported = Some(self.sent);
                progress(self.sent, self.len);
            }
        }
    }

    fn fail(&mut self, failure: Failure) -> io::Error {
        let err = match &failure {
            Failure::Source(e) => io::Error::new(e.kind(), e.to_string()),
            Failure::Length { declared, actual } => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("source yielded {actual} bytes against a declared length of {declared}"),
            ),
        };
        self.failure = Some(failure);
        err
    }

    /// One read from the source, guarded by the declared length. `Ok(0)` means the source is done.
    fn read_source(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = match self.len {
            Some(len) => {
                let left = len - self.sent;
                if left == 0 {
                    // Anything more in the source means the declared length was wrong.
                    let mut probe = [0u8; 1];
                    return match read_retrying(self.source, &mut probe) {
                        Ok(0) => Ok(0),
                        Ok(_) => Err(self.fail(Failure::Length {
                            declared: len,
                            actual: len + 1,
                        })),
                        Err(e) => Err(self.fail(Failure::Source(e))),
                    };
                }
                buf.len().min(usize::try_from(left).unwrap_or(usize::MAX))
            }
            None => buf.len(),
        };
        match read_retrying(self.source, &mut buf[..want]) {
            Ok(0) => match self.len {
                Some(declared) => Err(self.fail(Failure::Length {
                    declared,
                    actual: self.sent,
                })),
                None => Ok(0),
            },
            Ok(n) => Ok(n),
            Err(e) => Err(self.fail(Failure::Source(e))),
        }
    }
}

impl Read for Payload<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::other("the upload's source already failed"));
        }
        if buf.is_empty() || self.finished {
            return Ok(0);
        }
        let mut n = 0;
        if self.ahead_pos < self.ahead.len() {
            n = (self.ahead.len() - self.ahead_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.ahead[self.ahead_pos..self.ahead_pos + n]);
            self.ahead_pos += n;
            self.sent += n as u64;
        }
        // The bytes read ahead and the first read of the source share one call.
        if n < buf.len() && !(n > 0 && self.is_complete()) {
            let more = self.read_source(&mut buf[n..])?;
            if n == 0 {
                self.finished = more == 0;
            }
            n += more;
            self.sent += more as u64;
        }
        self.report();
        Ok(n)
    }
}

fn read_retrying(source: &mut (dyn Read + Send), buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match source.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(p: &mut Payload<'_>, chunk: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            match p.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn peeked_bytes_are_replayed() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut src: &[u8] = &data;
        let mut p = Payload::new(&mut src, Some(100), None);
        assert_eq!(p.peek(32).unwrap(), &data[..32]);
        assert_eq!(drain(&mut p, 7).unwrap(), data);
        assert!(p.is_finished());
        assert_eq!(p.sent(), 100);
    }

    #[test]
    fn peek_stops_at_the_declared_length() {
        let data = [1u8; 10];
        let mut src: &[u8] = &data;
        let mut p = Payload::new(&mut src, Some(4), None);
        assert_eq!(p.peek(32).unwrap().len(), 4);
    }

    #[test]
    fn short_and_long_sources_fail() {
        let data = [7u8; 100];
        let mut src: &[u8] = &data;
        let mut p = Payload::new(&mut src, Some(150), None);
        assert_eq!(
            drain(&mut p, 4096).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert!(matches!(
            p.take_failure(),
            Some(Failure::Length {
                declared: 150,
                actual: 100
            })
        ));
        assert!(!p.is_finished());

        let mut src: &[u8] = &data;
        let mut p = Payload::new(&mut src, Some(60), None);
        assert!(drain(&mut p, 4096).is_err());
        assert!(matches!(
            p.take_failure(),
            Some(Failure::Length {
                declared: 60,
                actual: 61
            })
        ));
    }

    #[test]
    fn a_source_error_is_kept() {
        struct Broken(usize);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "disk gone"));
                }
                let n = buf.len().min(self.0);
                self.0 -= n;
                Ok(n)
            }
        }
        let mut src = Broken(1000);
        let mut p = Payload::new(&mut src, None, None);
        assert_eq!(
            drain(&mut p, 256).unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        match p.take_failure() {
            Some(Failure::Source(e)) => assert_eq!(e.to_string(), "disk gone"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn progress_adds_up_to_the_size() {
        let data = vec![1u8; 1_000_000];
        let mut calls = Vec::new();
        let mut record = |sent, total| calls.push((sent, total));
        let mut src: &[u8] = &data;
        let mut p = Payload::new(&mut src, Some(1_000_000), Some(&mut record));
        drain(&mut p, 8192).unwrap();
        drop(p);
        assert_eq!(calls.last(), Some(&(1_000_000, Some(1_000_000))));
        assert!(calls
            .windows(2)
            .all(|w| w[1].0 >= w[0].0 + PROGRESS_STEP || (w[1].0 == 1_000_000 && w[0].0 < w[1].0)));
        assert!(calls.len() >= 15 && calls.len() <= 17, "{}", calls.len());
    }

    #[test]
    fn an_empty_source_reports_once() {
        let mut calls = Vec::new();
        let mut record = |sent, total| calls.push((sent, total));
        let mut src: &[u8] = &[];
        let mut p = Payload::new(&mut src, Some(0), Some(&mut record));
        drain(&mut p, 64).unwrap();
        drop(p);
        assert_eq!(calls, [(0, Some(0))]);
    }
}
