//! [`Upload`]: what to send and where, checked before anything goes on the wire.

use std::fmt;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use crate::Error;

/// The progress callback of an upload: bytes of the source sent so far, and the total when known.
pub(crate) type ProgressFn<'a> = Box<dyn FnMut(u64, Option<u64>) + Send + 'a>;

/// A reader that can go back to where it started.
pub(crate) trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

pub(crate) enum Source<'a> {
    File(PathBuf),
    Bytes(&'a [u8]),
    /// A seekable reader and the position it started at (known after the first attempt).
    Seekable(Box<dyn ReadSeek + 'a>, Option<u64>),
    Reader(Box<dyn Read + Send + 'a>),
}

/// One upload to the stream endpoint: a source, the destination folder, and optional details.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = kie_upload::Client::from_env()?;
/// let video = std::fs::File::open("clip.raw")?;
/// let file = client.upload(
///     kie_upload::Upload::reader(video)
///         .file_name("clip.mp4")
///         .upload_path("videos")
///         .content_type("video/mp4")
///         .on_progress(|sent, total| eprintln!("{sent} of {total:?} bytes")),
/// )?;
/// println!("{}", file.download_url);
/// # Ok(()) }
/// ```
pub struct Upload<'a> {
    pub(crate) source: Source<'a>,
    pub(crate) file_name: Option<String>,
    pub(crate) upload_path: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) length: Option<u64>,
    pub(crate) progress: Option<ProgressFn<'a>>,
    #[cfg(feature = "spool")]
    pub(crate) spool: bool,
}

impl<'a> Upload<'a> {
    fn new(source: Source<'a>) -> Self {
        Upload {
            source,
            file_name: None,
            upload_path: None,
            content_type: None,
            length: None,
            progress: None,
            #[cfg(feature = "spool")]
            spool: false,
        }
    }

    /// Uploads a local file. Its size comes from its metadata (so the request has a
    /// `Content-Length`), and its name, unless [`file_name`](Self::file_name) is set, from `path`.
    /// A special file such as a FIFO is streamed like a reader of unknown length.
    pub fn file(path: impl AsRef<Path>) -> Self {
        Self::new(Source::File(path.as_ref().to_path_buf()))
    }

    /// Uploads bytes held in memory. The length is known, so the request has a `Content-Length`.
    pub fn bytes(bytes: &'a [u8]) -> Self {
        Self::new(Source::Bytes(bytes))
    }

    /// Uploads whatever `reader` yields, read through a fixed-size buffer. The length is unknown,
    /// so the body is sent chunked, unless [`length`](Self::length) is set. Such an upload cannot
    /// be retried (its bytes are gone once read); see [`seekable`](Self::seekable).
    ///
    /// The reader must be `Send`, so that [`Client::upload_all`](crate::Client::upload_all) can run
    /// it on a worker thread: pass `std::io::stdin()` rather than a `StdinLock`.
    pub fn reader(reader: impl Read + Send + 'a) -> Self {
        Self::new(Source::Reader(Box::new(reader)))
    }

    /// Uploads what a seekable reader yields from its current position to its end. The length is
    /// measured by seeking, so the request has a `Content-Length`, and a failed upload can be
    /// retried: each attempt seeks back to the starting position.
    pub fn seekable(reader: impl Read + Seek + Send + 'a) -> Self {
        Self::new(Source::Seekable(Box::new(reader), None))
    }

    /// Copies a reader's bytes to an anonymous temporary file before uploading, so that the request
    /// carries a `Content-Length` (some servers refuse chunked bodies) and can be retried. Memory use
    /// stays flat, and the file is gone when the upload ends, whatever the outcome. No effect on
    /// other sources. Needs the `spool` feature.
    #[cfg(feature = "spool")]
    pub fn spool(mut self) -> Self {
        self.spool = true;
        self
    }

    /// The file's name on the service (the API field `fileName`). Default: a file's own name; none
    /// for bytes and readers, and the service then picks a random name. Uploading the same name to
    /// the same upload path again overwrites the file.
    pub fn file_name(mut self, file_name: impl Into<String>) -> Self {
        self.file_name = Some(file_name.into());
        self
    }

    /// The destination folder on the service (the API field `uploadPath`), such as
    /// `images/user-uploads`. Leading and trailing `/` are removed. Required.
    pub fn upload_path(mut self, upload_path: impl Into<String>) -> Self {
        self.upload_path = Some(upload_path.into());
        self
    }

    /// The content type of the file part. Default: guessed from the file name's extension, then from
    /// the source's first bytes, then `application/octet-stream`.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// The exact number of bytes the source holds, so the request can carry a `Content-Length`.
    /// Default: known for files and bytes, unknown for readers. If the source then ends early or holds
    /// more, the upload fails with [`Error::LengthMismatch`] and the server stores nothing; to send
    /// only the first `n` bytes of a longer stream, pass `reader.take(n)` with `length(n)`.
    pub fn length(mut self, length: u64) -> Self {
        self.length = Some(length);
        self
    }

    /// Calls `progress(sent, total)` as the source's bytes go out: at most once per 64 KiB and once
    /// at the end, with `total` the length when known. Default: none.
    pub fn on_progress(mut self, progress: impl FnMut(u64, Option<u64>) + Send + 'a) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// Whether the upload may be sent again after a failure, and if not, why: its bytes must be
    /// readable again, and it must have a name, so that a repeat overwrites rather than adds a copy.
    pub(crate) fn repeatable(&self, file_name: Option<&str>) -> Result<(), &'static str> {
        if let Source::Reader(_) = self.source {
            return Err(if cfg!(feature = "spool") {
                "the source is a plain reader, which cannot be read twice; upload a file, bytes, \
                 Upload::seekable, or use Upload::spool"
            } else {
                "the source is a plain reader, which cannot be read twice; upload a file, bytes or \
                 Upload::seekable"
            });
        }
        if file_name.is_none() {
            return Err(
                "it has no file name, so a repeat could store a second copy; set \
                        Upload::file_name",
            );
        }
        Ok(())
    }

    /// The file name to send: the explicit one, else a file's own name.
    pub(crate) fn effective_file_name(&self) -> Result<Option<String>, Error> {
        if let Some(name) = &self.file_name {
            return Ok(Some(name.clone()));
        }
        match &self.source {
            Source::File(path) => match path.file_name() {
                Some(name) => name.to_str().map(|s| Some(s.to_owned())).ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "{}: the file name is not UTF-8: set Upload::file_name",
                        path.display()
                    ))
                }),
                None => Err(Error::InvalidInput(format!(
                    "{}: not a file name: give a path to a file",
                    path.display()
                ))),
            },
            _ => Ok(None),
        }
    }
}

impl fmt::Debug for Upload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::File(path) => format!("File({})", path.display()),
            Source::Bytes(b) => format!("Bytes({} bytes)", b.len()),
            Source::Seekable(..) => "Seekable".to_owned(),
            Source::Reader(_) => "Reader".to_owned(),
        };
        f.debug_struct("Upload")
            .field("source", &source)
            .field("file_name", &self.file_name)
            .field("upload_path", &self.upload_path)
            .field("content_type", &self.content_type)
            .field("length", &self.length)
            .field("on_progress", &self.progress.is_some())
            .finish()
    }
}

/// Copies `reader` to an anonymous temporary file through a fixed buffer and rewinds it. With a
/// declared `length`, reads at most that much and checks it was all there.
#[cfg(feature = "spool")]
pub(crate) fn spool(reader: &mut dyn Read, length: Option<u64>) -> Result<std::fs::File, Error> {
    use std::io::{SeekFrom, Write};
    let io_err = |source| Error::Io { path: None, source };
    let mut file = tempfile::tempfile().map_err(io_err)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    let limit = length.unwrap_or(u64::MAX);
    loop {
        let want = buf
            .len()
            .min(usize::try_from(limit - total).unwrap_or(usize::MAX));
        if want == 0 {
            break;
        }
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(e)),
        };
        file.write_all(&buf[..n]).map_err(io_err)?;
        total += n as u64;
    }
    if let Some(declared) = length.filter(|&n| n != total) {
        return Err(Error::LengthMismatch {
            declared,
            actual: total,
        });
    }
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    Ok(file)
}

/// Checks an upload path and returns it without leading and trailing `/`.
pub(crate) fn check_upload_path(upload_path: &str) -> Result<&str, Error> {
    let trimmed = upload_path.trim_matches('/');
    if trimmed.trim().is_empty() {
        return Err(Error::InvalidInput(
            "empty upload path: give a destination folder such as \"uploads\"".into(),
        ));
    }
    if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
        return Err(Error::InvalidInput(format!(
            "upload path {trimmed:?} holds the control character {c:?}: remove it"
        )));
    }
    if trimmed.split(['/', '\\']).any(|seg| seg == "..") {
        return Err(Error::InvalidInput(format!(
            "upload path {trimmed:?} has a `..` segment: give a plain folder path"
        )));
    }
    Ok(trimmed)
}

/// Checks a file name for the service: not empty, not `.` or `..`, no `/`, no control characters.
/// A `\\` is allowed: it is an ordinary character in a name on the service.
pub(crate) fn check_file_name(file_name: &str) -> Result<(), Error> {
    if file_name.trim().is_empty() {
        return Err(Error::InvalidInput(
            "empty file name: give a name or leave it unset".into(),
        ));
    }
    if let Some(c) = file_name.chars().find(|c| c.is_control()) {
        return Err(Error::InvalidInput(format!(
            "file name {file_name:?} holds the control character {c:?}: remove it"
        )));
    }
    if file_name == "." || file_name == ".." || file_name.contains('/') {
        return Err(Error::InvalidInput(format!(
            "file name {file_name:?} is a path: give a plain name and put folders in the upload path"
        )));
    }
    Ok(())
}

/// Checks an explicit content type: a `type/subtype` with no control characters.
pub(crate) fn check_content_type(content_type: &str) -> Result<(), Error> {
    let ok = content_type.contains('/')
        && !content_type
            .chars()
            .any(|c| c.is_control() || !c.is_ascii());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "content type {content_type:?} is not a MIME type such as \"video/mp4\""
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_paths() {
        assert_eq!(check_upload_path("/images/user/").unwrap(), "images/user");
        assert_eq!(check_upload_path("a").unwrap(), "a");
        assert_eq!(check_upload_path("a/..b/c").unwrap(), "a/..b/c");
        for bad in [
            "", "/", "//", " ", "a/../b", "..", "a\nb", "a\tb", "x/..\\y",
        ] {
            assert!(
                matches!(check_upload_path(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn file_names() {
        for good in [
            "a.png",
            "quote\"d.txt",
            "semi;colon",
            "ünï ə.txt",
            ".hidden",
            "a\\b",
        ] {
            check_file_name(good).unwrap();
        }
        for bad in ["", " ", ".", "..", "a/b", "a\r\nb", "a\0b", "a\u{7f}"] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn content_types() {
        check_content_type("video/mp4").unwrap();
        check_content_type("text/plain; charset=utf-8").unwrap();
        assert!(check_content_type("mp4").is_err());
        assert!(check_content_type("text/plain\r\nX-Evil: 1").is_err());
    }

    #[test]
    fn file_name_defaults_to_the_path() {
        assert_eq!(
            Upload::file("dir/photo.jpg").effective_file_name().unwrap(),
            Some("photo.jpg".into())
        );
        assert_eq!(
            Upload::file("dir/photo.jpg")
                .file_name("b.png")
                .effective_file_name()
                .unwrap(),
            Some("b.png".into())
        );
        assert_eq!(Upload::bytes(b"x").effective_file_name().unwrap(), None);
        assert!(Upload::file("..").effective_file_name().is_err());
    }
}
