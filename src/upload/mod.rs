//! What to upload and where ([`Upload`]): the source, the names, the settings. Checking it before
//! anything is sent is in `checked.rs`; [`UrlUpload`](crate::UrlUpload) is in `url_upload.rs`.

use std::fmt;
use std::io::{Read, Seek};
use std::path::Path;

use crate::observe::{self, EventFn, Progress, ProgressFn, VerifyFn};
use crate::source::Given;
use crate::{Event, UploadedFile};

/// The largest source the base64 endpoint takes: 10 MB, the service's limit. Larger files go to the
/// stream endpoint.
///
/// ```
/// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
/// # let client = kie_upload::Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
/// use kie_upload::{Upload, BASE64_MAX};
///
/// let big = vec![0u8; BASE64_MAX as usize + 1];
/// assert!(client.upload_base64(Upload::bytes(&big, "blobs").file_name("big.bin")).is_err());
/// assert_eq!(client.upload(Upload::bytes(&big, "blobs").file_name("big.bin"))?.file_size, BASE64_MAX + 1);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
pub const BASE64_MAX: u64 = 10_000_000;

/// One file to upload, to the stream endpoint ([`Client::upload`](crate::Client::upload)) or the
/// base64 endpoint ([`Client::upload_base64`](crate::Client::upload_base64)): a source and the
/// destination folder, both required, and optional details.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use kie_upload::{Client, Upload};
///
/// let client = Client::from_env()?;
/// let video = std::fs::File::open("clip.raw")?;
/// let len = video.metadata()?.len();
/// let file = client.upload(
///     Upload::reader(video, "videos")
///         .file_name("clip.mp4")
///         .content_type("video/mp4")
///         .length(len)
///         .on_progress(|sent, total| eprintln!("{sent} of {total:?} bytes")),
/// )?;
/// println!("{}", file.download_url);
/// # Ok(()) }
/// ```
pub struct Upload<'a> {
    source: Given<'a>,
    upload_path: String,
    file_name: Option<String>,
    content_type: Option<String>,
    length: Option<u64>,
    progress: Option<ProgressFn<'a>>,
    events: Option<EventFn<'a>>,
    verify: Option<VerifyFn<'a>>,
    spool: bool,
}

impl<'a> Upload<'a> {
    fn new(source: Given<'a>, upload_path: impl Into<String>) -> Self {
        Upload {
            source,
            upload_path: upload_path.into(),
            file_name: None,
            content_type: None,
            length: None,
            progress: None,
            events: None,
            verify: None,
            spool: false,
        }
    }

    /// Uploads a local file to `upload_path`. The file is opened once, when the upload starts, and
    /// every attempt reads that open file from its start: a file renamed over the path meanwhile
    /// is not sent in its place, and a file whose size changed between attempts fails with
    /// [`ErrorKind::SourceLengthMismatch`](crate::ErrorKind::SourceLengthMismatch). A regular file
    /// goes with a `Content-Length` (its size, 0 included) and can be retried; its name is the
    /// file's own unless [`file_name`](Self::file_name) is set. A file that says it is empty but
    /// holds data (those under `/proc`) is streamed chunked, with an unknown length. A pipe, FIFO
    /// or device (`/dev/stdin`, `<(cmd)`) is read once, as a stream of unknown length, and is
    /// never retried.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("report.pdf");
    /// # std::fs::write(&path, b"%PDF")?;
    /// let file = client.upload(Upload::file(&path, "reports").file_name("q1.pdf"))?;
    /// assert_eq!((file.file_name.as_str(), file.file_size), ("q1.pdf", 4));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn file(path: impl AsRef<Path>, upload_path: impl Into<String>) -> Self {
        Self::new(Given::File(path.as_ref().to_path_buf()), upload_path)
    }

    /// Uploads bytes held in memory to `upload_path`, with a `Content-Length`; they are sent again
    /// from their start on a retry. They may be borrowed (`&[u8]`, `&Vec<u8>`, `&str`) or owned
    /// (`Vec<u8>`, `String`, `Arc<[u8]>`, anything that is `AsRef<[u8]>`), so uploads can be built
    /// from buffers made on the way. Without a [`file_name`](Self::file_name) the service picks a
    /// random name.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let emulator = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("k"))?;
    /// # let client = kie_upload::Client::builder().api_key("k").base_url(emulator.base_url())
    /// #     .no_proxy().build()?;
    /// use kie_upload::Upload;
    ///
    /// let reports: Vec<Vec<u8>> = vec![b"first".to_vec(), b"second".to_vec()];
    /// let uploads = reports
    ///     .into_iter()
    ///     .enumerate()
    ///     .map(|(i, report)| Upload::bytes(report, "reports").file_name(format!("{i}.txt")));
    /// let mut stored = Vec::new();
    /// client.upload_all(uploads, 2, |_, result| stored.push(result.map(|f| f.file_size)));
    /// assert_eq!(stored.len(), 2);
    /// # assert!(stored.iter().all(|r| r.is_ok()));
    /// # Ok(()) }
    /// ```
    pub fn bytes(bytes: impl AsRef<[u8]> + Send + 'a, upload_path: impl Into<String>) -> Self {
        Self::new(Given::bytes(bytes), upload_path)
    }

    /// Uploads whatever `reader` yields to `upload_path`, read through a fixed-size buffer. The
    /// length is unknown, so the body is sent chunked, unless [`length`](Self::length) is set.
    /// Such an upload is never retried (its bytes are gone once read); see
    /// [`seekable`](Self::seekable).
    ///
    /// The reader must be `Send`, so that [`Client::upload_all`](crate::Client::upload_all) can run
    /// it on a worker thread: pass `std::io::stdin()` rather than a `StdinLock`.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let log: &[u8] = b"line 1\nline 2\nline 3\n"; // or std::io::stdin(), a pipe, a socket
    /// let file = client.upload(Upload::reader(log, "logs").file_name("run.log"))?;
    /// assert_eq!(file.file_size, 21);
    /// assert!(emu.requests()[0].chunked);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn reader(reader: impl Read + Send + 'a, upload_path: impl Into<String>) -> Self {
        Self::new(Given::Reader(Box::new(reader)), upload_path)
    }

    /// Uploads what a seekable reader yields from its current position to its end. The length is
    /// measured by seeking, so the request has a `Content-Length`, and a failed upload can be
    /// retried: each attempt seeks back to the starting position.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// # use kie_upload_emulator::Fault;
    /// use std::io::Cursor;
    ///
    /// emu.inject(Fault::Status { status: 503, retry_after: Some("0".into()) }, 1);
    /// let upload = Upload::seekable(Cursor::new(vec![7u8; 1000]), "blobs").file_name("sevens.bin");
    /// assert_eq!(client.upload(upload)?.file_size, 1000); // sent again after the 503
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn seekable(reader: impl Read + Seek + Send + 'a, upload_path: impl Into<String>) -> Self {
        Self::new(Given::Seekable(Box::new(reader)), upload_path)
    }

    /// Copies a reader's bytes to an anonymous temporary file before uploading, so that the request
    /// carries a `Content-Length` (some servers refuse chunked bodies) and can be retried. Memory use
    /// stays flat, and the file is gone when the upload ends, whatever the outcome. Applies to
    /// readers, and to pipes and devices named by a path (such as `/dev/stdin`); no effect on other
    /// sources. Default: off. Needs the `spool` feature.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let upload = Upload::reader(&b"from a pipe"[..], "logs").file_name("pipe.log").spool();
    /// assert_eq!(client.upload(upload)?.file_size, 11);
    /// assert!(!emu.requests()[0].chunked); // sent with a Content-Length
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "spool")]
    #[cfg_attr(docsrs, doc(cfg(feature = "spool")))]
    pub fn spool(mut self) -> Self {
        self.spool = true;
        self
    }

    /// The file's name on the service (the API field `fileName`). Default: a file's own name; none
    /// for bytes and readers, and the service then picks a random name. Uploading the same name to
    /// the same upload path again overwrites the file.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let file = client.upload(Upload::bytes(b"hi", "notes").file_name("hello.txt"))?;
    /// assert_eq!(file.file_path, "notes/hello.txt");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn file_name(mut self, file_name: impl Into<String>) -> Self {
        self.file_name = Some(file_name.into());
        self
    }

    /// The content type of the file. Default: guessed from the file name's extension, then (for the
    /// stream endpoint) from the source's first bytes, then `application/octet-stream`.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let upload = Upload::bytes(b"{}", "data").file_name("empty.cfg").content_type("application/json");
    /// client.upload(upload)?;
    /// let part = emu.requests()[0].parts.iter().find(|p| p.filename.is_some()).cloned().unwrap();
    /// assert_eq!(part.content_type.as_deref(), Some("application/json"));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// The exact number of bytes the source holds, so the request can carry a `Content-Length`.
    /// Default: known for files and bytes, unknown for readers. If the source then ends early or
    /// holds more, the upload fails with
    /// [`ErrorKind::SourceLengthMismatch`](crate::ErrorKind::SourceLengthMismatch) and the server
    /// stores nothing; to send only the first `n` bytes of a longer stream, pass `reader.take(n)`
    /// with `length(n)`.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// use std::io::Read;
    ///
    /// let head = std::io::repeat(b'x').take(100); // the first 100 bytes of an endless stream
    /// client.upload(Upload::reader(head, "blobs").length(100).file_name("x.bin"))?;
    /// assert!(!emu.requests()[0].chunked); // sent with a Content-Length
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn length(mut self, length: u64) -> Self {
        self.length = Some(length);
        self
    }

    /// Calls `progress(sent, total)` as the source's bytes go out: at most once per 64 KiB and once
    /// at the end, with `total` the length when known. `sent` never goes backwards: a retry sends
    /// the bytes again from the start, and the callback hears the most sent so far until the retry
    /// passes it, so a callback that adds up the differences (a batch's total) counts each byte
    /// once. The callback returns `()` to go on, or a [`Progress`] (`Progress::Cancel` stops the
    /// upload). Default: none.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let mut last = 0;
    /// client.upload(Upload::bytes(vec![0u8; 200_000], "blobs").file_name("zeros.bin")
    ///     .on_progress(|sent, _total| last = sent))?;
    /// assert_eq!(last, 200_000);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_progress<R: Into<Progress>>(
        mut self,
        progress: impl FnMut(u64, Option<u64>) -> R + Send + 'a,
    ) -> Self {
        self.progress = Some(observe::never_backwards(progress));
        self
    }

    /// Calls `hook` for each attempt, each reply's status, and each retry with its wait (see
    /// [`Event`]). Default: none.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// # use kie_upload::Event;
    /// let mut attempts = 0;
    /// client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt").on_event(|event| {
    ///     if let Event::Attempt { .. } = event { attempts += 1 }
    /// }))?;
    /// assert_eq!(attempts, 1);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_event(mut self, hook: impl FnMut(&Event<'_>) + Send + 'a) -> Self {
        self.events = Some(Box::new(hook));
        self
    }

    /// Checks the stored file before the upload counts as done: `verify(&file)` runs once the
    /// service has answered success, on the thread that ran the upload (a worker of
    /// [`Client::upload_all`](crate::Client::upload_all)), typically to download the file back
    /// and compare it with the source. When it fails, the upload fails with
    /// [`ErrorKind::Rejected`](crate::ErrorKind::Rejected), the check's error its [`source()`](std::error::Error::source),
    /// and the cache, if any, does not record it. An upload the cache would reuse is checked too:
    /// one that fails is dropped from the cache ([`Event::ReuseRejected`]) and the file sent
    /// again, then checked again. Default: none.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let data = b"precious";
    /// let upload = Upload::bytes(data, "notes").file_name("p.txt").verify(|file| {
    ///     let mut copy = Vec::new();
    ///     client.download_to(&file.download_url, &mut copy)?;
    ///     if copy != data {
    ///         return Err("the stored copy differs".into());
    ///     }
    ///     Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    /// });
    /// client.upload(upload)?;
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify<E>(
        mut self,
        mut verify: impl FnMut(&UploadedFile) -> Result<(), E> + Send + 'a,
    ) -> Self
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.verify = Some(Box::new(move |file| verify(file).map_err(Into::into)));
        self
    }
}

impl fmt::Debug for Upload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Given::File(path) => format!("File({})", path.display()),
            Given::Bytes(_, len) => format!("Bytes({len} bytes)"),
            Given::Seekable(..) => "Seekable".to_owned(),
            Given::Reader(_) => "Reader".to_owned(),
        };
        f.debug_struct("Upload")
            .field("source", &source)
            .field("upload_path", &self.upload_path)
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("length", &self.length)
            .field("on_progress", &self.progress.is_some())
            .field("on_event", &self.events.is_some())
            .field("verify", &self.verify.is_some())
            .field("spool", &self.spool)
            .finish()
    }
}

mod checked;

pub(crate) use checked::Checked;

#[cfg(test)]
mod tests;
