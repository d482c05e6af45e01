//! The upload's source: what the caller gave, prepared once (a file or pipe opened, a reader
//! spooled), rewound for each attempt, and whether it can be read again.
//!
//! A file is opened once; every attempt reads that open file from its start, never the path again:
//! a file renamed over it meanwhile is not sent, a FIFO put there cannot block a retry in `open()`,
//! and a size change between attempts is an error. A pipe, FIFO or device named by a path
//! (`/dev/stdin`, `<(cmd)`) is read once and streamed with an unknown length.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::{Error, ErrorKind};

/// A reader that can go back to where it started.
pub(crate) trait ReadSeek: Read + Seek + Send {
    /// This reader as a plain reader (a coercion written out, as trait upcasting needs Rust 1.86).
    fn as_read(&mut self) -> &mut (dyn Read + Send);
}

impl<T: Read + Seek + Send> ReadSeek for T {
    fn as_read(&mut self) -> &mut (dyn Read + Send) {
        self
    }
}

/// What the caller gave to upload.
pub(crate) enum Given<'a> {
    File(PathBuf),
    /// Bytes in memory (a cursor over them, borrowed or owned), and how many.
    Bytes(Box<dyn ReadSeek + 'a>, u64),
    Seekable(Box<dyn ReadSeek + 'a>),
    Reader(Box<dyn Read + Send + 'a>),
}

/// A source ready for its attempts.
pub(crate) struct Source<'a> {
    kind: Kind<'a>,
    /// The length the caller declared, which wins over what the source says (and is guarded).
    declared: Option<u64>,
}

enum Kind<'a> {
    /// A regular file, opened once and read from its start by each attempt.
    File {
        path: PathBuf,
        file: File,
        /// Its size when opened, which each attempt checks again; unknown for a file that says it
        /// is empty but holds data (as those under `/proc` do).
        size: Option<u64>,
    },
    /// A seekable reader (bytes in memory among them) and the range it covers.
    Seekable {
        reader: Box<dyn ReadSeek + 'a>,
        start: u64,
        end: u64,
    },
    /// A reader, or a pipe, FIFO or device named by `path`: opened once, read once.
    Reader {
        reader: Box<dyn Read + Send + 'a>,
        path: Option<PathBuf>,
    },
}

/// The source opened for one attempt.
pub(crate) struct Opened<'s> {
    pub reader: &'s mut (dyn Read + Send),
    /// The local file, when the source is one: named in the errors of its reads.
    pub path: Option<&'s Path>,
    /// The length when known: the body then carries a `Content-Length`.
    pub len: Option<u64>,
}

impl<'a> Given<'a> {
    /// Bytes in memory, borrowed or owned: anything that is `AsRef<[u8]>`.
    pub(crate) fn bytes(bytes: impl AsRef<[u8]> + Send + 'a) -> Self {
        let len = bytes.as_ref().len() as u64;
        Given::Bytes(Box::new(std::io::Cursor::new(bytes)), len)
    }

    /// Checks the source and prepares it for its attempts: a file is looked at (a directory is
    /// refused, a pipe or device opened once), a reader is spooled when asked to.
    pub(crate) fn prepare(self, declared: Option<u64>, spool: bool) -> Result<Source<'a>, Error> {
        let kind = match self {
            Given::File(path) => {
                let io_err = |e| Error::io(Some(&path), e);
                if std::fs::metadata(&path).map_err(io_err)?.is_dir() {
                    return Err(Error::invalid(format!(
                        "{} is a directory: give a file",
                        path.display()
                    )));
                }
                let mut file = File::open(&path).map_err(io_err)?;
                // What was opened, not what the path named a moment before.
                let meta = file.metadata().map_err(io_err)?;
                if meta.is_file() {
                    let size = known_size(&mut file, meta.len()).map_err(io_err)?;
                    Kind::File { path, file, size }
                } else if spool {
                    spooled(Box::new(file), declared)?
                } else {
                    Kind::Reader {
                        reader: Box::new(file),
                        path: Some(path),
                    }
                }
            }
            Given::Bytes(reader, len) => {
                if let Some(n) = declared.filter(|&n| n != len) {
                    return Err(Error::invalid(format!(
                        "declared length {n} differs from the {len} bytes given"
                    )));
                }
                Kind::Seekable {
                    reader,
                    start: 0,
                    end: len,
                }
            }
            Given::Seekable(mut reader) => {
                let io_err = |e| Error::io(None, e);
                let start = reader.stream_position().map_err(io_err)?;
                let end = reader.seek(SeekFrom::End(0)).map_err(io_err)?;
                reader.seek(SeekFrom::Start(start)).map_err(io_err)?;
                Kind::Seekable {
                    reader,
                    start,
                    end: end.max(start),
                }
            }
            Given::Reader(reader) if spool => spooled(reader, declared)?,
            Given::Reader(reader) => Kind::Reader { reader, path: None },
        };
        Ok(Source { kind, declared })
    }
}

/// A regular file's size: what it reports, unless it reports 0 and yet holds data (as files under
/// `/proc` do), when it is unknown. Reads at most one byte; each attempt rewinds.
fn known_size(file: &mut File, reported: u64) -> std::io::Result<Option<u64>> {
    if reported > 0 {
        return Ok(Some(reported));
    }
    let mut probe = [0u8; 1];
    Ok((read_retrying(file, &mut probe)? == 0).then_some(0))
}

/// Copies `reader` to an anonymous temporary file through a fixed buffer, rewound, as a seekable
/// source. With a `declared` length, reads at most one byte more and checks it was all there.
/// (Only [`Upload::spool`](crate::Upload::spool) asks for it, and the cache, which turns on the
/// feature.)
#[cfg(feature = "spool")]
fn spooled<'a>(
    reader: Box<dyn Read + Send + 'a>,
    declared: Option<u64>,
) -> Result<Kind<'a>, Error> {
    use std::io::Write;
    let io_err = |e| Error::io(None, e);
    // The temporary folder's failures are not the source's: name the folder.
    let spool_err = |e| {
        Error::new(ErrorKind::Spool)
            .with_path(&std::env::temp_dir())
            .with_source(e)
    };
    let mut file = tempfile::tempfile().map_err(spool_err)?;
    // A byte beyond the declared length means the declaration was wrong.
    let mut reader = reader.take(declared.map_or(u64::MAX, |n| n.saturating_add(1)));
    let mut buf = vec![0u8; 64 * 1024];
    let mut end = 0u64;
    loop {
        let n = read_retrying(&mut reader, &mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(spool_err)?;
        end += n as u64;
    }
    if let Some(declared) = declared.filter(|&n| n != end) {
        return Err(Error::new(ErrorKind::SourceLengthMismatch {
            declared,
            actual: end,
        }));
    }
    file.seek(SeekFrom::Start(0)).map_err(spool_err)?;
    Ok(Kind::Seekable {
        reader: Box::new(file),
        start: 0,
        end,
    })
}

/// Without the `spool` feature nothing asks to spool (`Upload::spool` needs it).
#[cfg(not(feature = "spool"))]
fn spooled<'a>(reader: Box<dyn Read + Send + 'a>, _: Option<u64>) -> Result<Kind<'a>, Error> {
    Ok(Kind::Reader { reader, path: None })
}

impl Source<'_> {
    /// The length before any attempt, when it is known: declared, a regular file's size (unless
    /// it says 0 but holds data, as files under `/proc` do), the bytes', a seekable reader's range.
    pub(crate) fn len(&self) -> Option<u64> {
        self.declared.or(match &self.kind {
            Kind::File { size, .. } => *size,
            Kind::Seekable { start, end, .. } => Some(end - start),
            Kind::Reader { .. } => None,
        })
    }

    /// The length the caller declared, if any.
    #[cfg(feature = "cache")]
    pub(crate) fn declared(&self) -> Option<u64> {
        self.declared
    }

    /// Whether the source can be read again for a retry.
    pub(crate) fn is_repeatable(&self) -> bool {
        !matches!(self.kind, Kind::Reader { .. })
    }

    /// Opens the source for one attempt: the file opened when the upload started is checked for
    /// its size and rewound (its path is never opened again), the bytes are read from their start,
    /// a seekable reader is rewound to where it started.
    pub(crate) fn open(&mut self) -> Result<Opened<'_>, Error> {
        let len = self.len();
        let (reader, path): (&mut (dyn Read + Send), _) = match &mut self.kind {
            Kind::File { path, file, size } => {
                let io_err = |e| Error::io(Some(path), e);
                if let Some(size) = *size {
                    let now = file.metadata().map_err(io_err)?.len();
                    if now != size {
                        // Sending it would store other bytes than the first attempt read.
                        return Err(Error::new(ErrorKind::SourceLengthMismatch {
                            declared: size,
                            actual: now,
                        })
                        .with_path(path));
                    }
                }
                file.seek(SeekFrom::Start(0)).map_err(io_err)?;
                (file, Some(path.as_path()))
            }
            Kind::Seekable { reader, start, .. } => {
                reader
                    .seek(SeekFrom::Start(*start))
                    .map_err(|e| Error::io(None, e))?;
                (reader.as_read(), None)
            }
            Kind::Reader { reader, path } => (&mut **reader, path.as_deref()),
        };
        Ok(Opened { reader, path, len })
    }
}

/// One read, tried again when a signal interrupted it.
pub(crate) fn read_retrying(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(source: &mut Source<'_>) -> (Vec<u8>, Option<u64>) {
        let opened = source.open().unwrap();
        let mut out = Vec::new();
        opened.reader.read_to_end(&mut out).unwrap();
        (out, opened.len)
    }

    #[test]
    fn bytes_borrowed_or_owned_and_seekables_read_the_same_each_time() {
        let data = b"0123456789";
        let mut bytes = Given::bytes(data).prepare(None, false).unwrap();
        let owned = Given::bytes(data.to_vec()).prepare(None, false);
        let mut owned = owned.unwrap();
        let mut cursor = std::io::Cursor::new(data.to_vec());
        cursor.set_position(3);
        let mut seekable = Given::Seekable(Box::new(cursor))
            .prepare(None, false)
            .unwrap();
        for _ in 0..2 {
            assert_eq!(read_all(&mut bytes), (data.to_vec(), Some(10)));
            assert_eq!(read_all(&mut owned), (data.to_vec(), Some(10)));
            assert_eq!(read_all(&mut seekable), (data[3..].to_vec(), Some(7)));
        }
        assert!(bytes.is_repeatable() && seekable.is_repeatable());
    }

    #[test]
    fn a_regular_file_is_read_again_from_its_start_and_a_directory_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty"), b"").unwrap();
        let mut empty = Given::File(dir.path().join("empty")).prepare(None, false);
        assert_eq!(read_all(empty.as_mut().unwrap()), (Vec::new(), Some(0)));
        let path = dir.path().join("f.txt");
        std::fs::write(&path, b"hello").unwrap();
        let mut file = Given::File(path.clone()).prepare(None, false).unwrap();
        assert!(file.is_repeatable());
        assert_eq!(file.len(), Some(5));
        assert_eq!(read_all(&mut file), (b"hello".to_vec(), Some(5)));
        assert_eq!(read_all(&mut file), (b"hello".to_vec(), Some(5)));
        let err = Given::File(dir.path().into())
            .prepare(None, false)
            .err()
            .unwrap();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidInput { .. }),
            "{err}"
        );
        let err = Given::File(dir.path().join("nope"))
            .prepare(None, false)
            .err()
            .unwrap();
        assert_eq!(err.kind(), &ErrorKind::Io);
        assert_eq!(err.path(), Some(dir.path().join("nope").as_path()));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_that_says_zero_bytes_but_holds_data_streams() {
        let mut file = Given::File("/proc/self/status".into())
            .prepare(None, false)
            .unwrap();
        assert_eq!(file.len(), None);
        let (bytes, len) = read_all(&mut file);
        assert!(
            bytes.starts_with(b"Name:"),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(len, None);
        // Read again from its start, as a retry does.
        assert!(read_all(&mut file).0.starts_with(b"Name:"));
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_named_as_a_file_is_read_once() {
        // /dev/null is a character device: not a regular file.
        let mut device = Given::File("/dev/null".into())
            .prepare(None, false)
            .unwrap();
        assert!(!device.is_repeatable());
        assert_eq!(device.len(), None);
        assert_eq!(read_all(&mut device), (Vec::new(), None));
    }

    #[test]
    fn a_declared_length_must_match_bytes() {
        let err = Given::bytes(b"xyz").prepare(Some(5), false).err().unwrap();
        assert!(err.to_string().contains("declared length 5"), "{err}");
    }

    #[cfg(feature = "spool")]
    #[test]
    fn a_spooled_reader_has_a_length_and_repeats() {
        let data = vec![5u8; 200_000];
        let mut source = Given::Reader(Box::new(&data[..]))
            .prepare(None, true)
            .unwrap();
        assert!(source.is_repeatable());
        assert_eq!(source.len(), Some(200_000));
        assert_eq!(read_all(&mut source).0, data);
        assert_eq!(read_all(&mut source).0, data);
        let err = Given::Reader(Box::new(&data[..]))
            .prepare(Some(10), true)
            .err()
            .unwrap();
        assert!(matches!(
            err.kind(),
            ErrorKind::SourceLengthMismatch { declared: 10, .. }
        ));
    }
}
