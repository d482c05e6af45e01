//! Unit tests of `payload`.

use super::*;

fn opened<'s>(src: &'s mut (dyn Read + Send), len: Option<u64>) -> Opened<'s> {
    Opened {
        reader: src,
        path: None,
        len,
    }
}

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

fn kind(p: &mut Payload<'_>) -> ErrorKind {
    p.take_error().expect("a failure").kind().clone()
}

#[test]
fn peeked_bytes_are_replayed() {
    let data: Vec<u8> = (0..100u8).collect();
    let mut src: &[u8] = &data;
    let mut p = Payload::new(opened(&mut src, Some(100)), None);
    assert_eq!(p.peek(32).unwrap(), &data[..32]);
    assert_eq!(drain(&mut p, 7).unwrap(), data);
    assert!(p.is_whole());
    assert_eq!(p.sent(), 100);
}

#[test]
fn peek_stops_at_the_declared_length() {
    let data = [1u8; 10];
    let mut src: &[u8] = &data;
    let mut p = Payload::new(opened(&mut src, Some(4)), None);
    assert_eq!(p.peek(32).unwrap().len(), 4);
}

#[test]
fn short_and_long_sources_fail() {
    let data = [7u8; 100];
    let mut src: &[u8] = &data;
    let mut p = Payload::new(opened(&mut src, Some(150)), None);
    assert_eq!(
        drain(&mut p, 4096).unwrap_err().kind(),
        io::ErrorKind::UnexpectedEof
    );
    assert!(!p.is_whole());
    assert_eq!(
        kind(&mut p),
        ErrorKind::SourceLengthMismatch {
            declared: 150,
            actual: 100
        }
    );

    let mut src: &[u8] = &data;
    let mut p = Payload::new(opened(&mut src, Some(60)), None);
    assert!(drain(&mut p, 4096).is_err());
    assert_eq!(
        kind(&mut p),
        ErrorKind::SourceLengthMismatch {
            declared: 60,
            actual: 61
        }
    );
}

/// A terminal: each read returns a line, then `Ok(0)` for one Ctrl-D; a read after that
/// waits for the person to type again, and here fails the test.
struct Typed(Vec<&'static [u8]>, bool);

impl Read for Typed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        assert!(
            !self.1,
            "read again after the end of input: one more Ctrl-D needed"
        );
        if self.0.is_empty() {
            self.1 = true;
            return Ok(0);
        }
        let line = self.0.remove(0);
        buf[..line.len()].copy_from_slice(line);
        Ok(line.len())
    }
}

#[test]
fn a_source_that_ended_is_never_read_again_peeked_or_not() {
    for peek in [false, true] {
        let mut src = Typed(vec![b"one\n", b"two\n"], false);
        let mut p = Payload::new(opened(&mut src, None), None);
        if peek {
            assert_eq!(p.peek(512).unwrap(), b"one\ntwo\n");
        }
        assert_eq!(drain(&mut p, 4096).unwrap(), b"one\ntwo\n");
        assert!(p.is_whole());
        // ureq reads once more after the end; the source stays unread.
        assert_eq!(p.read(&mut [0u8; 16]).unwrap(), 0);
    }
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
    let mut p = Payload::new(opened(&mut src, None), None);
    assert_eq!(
        drain(&mut p, 256).unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    let e = p.take_error().unwrap();
    assert_eq!(e.kind(), &ErrorKind::Io);
    assert_eq!(
        std::error::Error::source(&e).unwrap().to_string(),
        "disk gone"
    );
}

#[test]
fn progress_adds_up_to_the_size() {
    let data = vec![1u8; 1_000_000];
    let mut calls = Vec::new();
    let mut record = |sent, total| {
        calls.push((sent, total));
        Progress::Continue
    };
    let mut src: &[u8] = &data;
    let mut p = Payload::new(opened(&mut src, Some(1_000_000)), Some(&mut record));
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
    let mut record = |sent, total| {
        calls.push((sent, total));
        Progress::Continue
    };
    let mut src: &[u8] = &[];
    let mut p = Payload::new(opened(&mut src, Some(0)), Some(&mut record));
    drain(&mut p, 64).unwrap();
    drop(p);
    assert_eq!(calls, [(0, Some(0))]);
}

#[test]
fn a_cancel_stops_reading_and_is_never_whole() {
    let data = vec![1u8; 1_000_000];
    let mut src: &[u8] = &data;
    let mut stop = |sent, _| {
        if sent >= 200_000 {
            Progress::Cancel
        } else {
            Progress::Continue
        }
    };
    let mut p = Payload::new(opened(&mut src, Some(1_000_000)), Some(&mut stop));
    assert!(drain(&mut p, 8192).is_err());
    assert!(!p.is_whole());
    assert!(p.sent() < 300_000);
    assert_eq!(kind(&mut p), ErrorKind::Cancelled);
}

#[test]
fn after_a_failed_write_the_rest_is_filler() {
    let data = vec![9u8; 100_000];
    let mut src: &[u8] = &data;
    let mut p = Payload::new(opened(&mut src, Some(100_000)), None);
    let mut buf = vec![0u8; 30_000];
    assert_eq!(p.read(&mut buf).unwrap(), 30_000);
    // What the wrapper under TLS does when the server has closed.
    transport::note(|seen| seen.write_failed = true);
    let rest = drain(&mut p, 8192).unwrap();
    assert_eq!(rest.len(), 70_000);
    assert!(rest.iter().all(|&b| b == 0));
    assert_eq!(
        p.sent(),
        30_000,
        "the source was not read after the failure"
    );
    assert!(!p.is_whole());
    assert!(p.take_error().is_none());
    // The next attempt starts clean (as each request starts).
    transport::clear_seen();
    let mut src: &[u8] = &data;
    let mut p = Payload::new(opened(&mut src, Some(100_000)), None);
    assert_eq!(drain(&mut p, 8192).unwrap(), data);
    assert!(p.is_whole());
}
