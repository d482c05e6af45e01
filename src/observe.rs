//! Watching and steering an upload: what a progress callback returns ([`Progress`]) and what an
//! event hook sees ([`Event`]).

use std::time::Duration;

use crate::{Error, UploadedFile};

/// What a progress callback returns: go on, or cancel the upload.
///
/// A callback that returns nothing (`()`) goes on; return [`Progress::Cancel`] to stop. A cancelled
/// upload ends in [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled), never in a success, and the
/// rest of the source is not read.
///
/// ```
/// use kie_upload::{Progress, Upload};
///
/// let data = vec![0u8; 1 << 20];
/// let upload = Upload::bytes(&data, "blobs").on_progress(|sent, _total| {
///     if sent > 512 * 1024 { Progress::Cancel } else { Progress::Continue }
/// });
/// # let _ = upload;
/// ```
///
/// Against a server, a cancelled upload ends in an error and nothing is stored:
///
/// ```
/// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
/// # let client = kie_upload::Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
/// use kie_upload::{ErrorKind, Progress, Upload};
///
/// let upload = Upload::bytes(vec![0u8; 1 << 20], "blobs").file_name("zeros.bin")
///     .on_progress(|sent, _| if sent > 0 { Progress::Cancel } else { Progress::Continue });
/// assert_eq!(client.upload(upload).unwrap_err().kind(), &ErrorKind::Cancelled);
/// assert!(emu.stored("blobs/zeros.bin").is_none());
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// Go on uploading.
    #[default]
    Continue,
    /// Stop: the upload fails with [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled).
    Cancel,
}

impl From<()> for Progress {
    fn from((): ()) -> Progress {
        Progress::Continue
    }
}

/// The progress callback as stored: bytes of the source sent so far, and the total when known.
pub(crate) type ProgressFn<'a> = Box<dyn FnMut(u64, Option<u64>) -> Progress + Send + 'a>;

/// Stores a progress callback so that `sent` never goes backwards: a retry sends the source again
/// from its start, and until it passes the most sent by an earlier attempt the callback hears that
/// most again (it can still cancel). A callback that adds up differences counts each byte once.
pub(crate) fn never_backwards<'a, R: Into<Progress>>(
    mut progress: impl FnMut(u64, Option<u64>) -> R + Send + 'a,
) -> ProgressFn<'a> {
    let mut most = 0;
    Box::new(move |sent, total| {
        most = most.max(sent);
        progress(most, total).into()
    })
}

/// The check given with [`Upload::verify`](crate::Upload::verify), as stored.
pub(crate) type VerifyFn<'a> = Box<
    dyn FnMut(&UploadedFile) -> Result<(), Box<dyn std::error::Error + Send + Sync>> + Send + 'a,
>;

/// The event hook as stored.
pub(crate) type EventFn<'a> = Box<dyn FnMut(&Event<'_>) + Send + 'a>;

/// What happens to an upload on the wire, for logging (the CLI's `-v` prints these).
///
/// ```
/// use kie_upload::{Event, Upload};
///
/// let upload = Upload::bytes(b"hi", "notes").file_name("hi.txt").on_event(|event| match event {
///     Event::Attempt { attempt, endpoint } => eprintln!("attempt {attempt}: POST {endpoint}"),
///     Event::Reply { status, elapsed, .. } => eprintln!("HTTP {status} after {elapsed:?}"),
///     Event::Retry { error, wait, .. } => eprintln!("{error}; retrying in {wait:?}"),
///     _ => {}
/// });
/// # let _ = upload;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// An attempt starts: a connection is taken from the pool or opened, and the request sent.
    Attempt {
        /// 1 for the first attempt.
        attempt: u32,
        /// The endpoint's path, such as `/api/file-stream-upload`.
        endpoint: &'a str,
    },
    /// The reply's status line and headers arrived.
    Reply {
        /// The attempt it answers.
        attempt: u32,
        /// The HTTP status.
        status: u16,
        /// The time since the attempt started.
        elapsed: Duration,
    },
    /// The attempt failed with an error worth retrying, and the next one starts after `wait`.
    Retry {
        /// The attempt that failed.
        attempt: u32,
        /// Why it failed.
        error: &'a Error,
        /// The wait before the next attempt: the server's `Retry-After`, or the backoff.
        wait: Duration,
    },
    /// An upload the cache would have reused failed the check given with
    /// [`Upload::verify`](crate::Upload::verify): the cache's entry is dropped, and the file is
    /// sent again.
    ReuseRejected {
        /// The check's failure: [`ErrorKind::Rejected`](crate::ErrorKind::Rejected), the check's
        /// own error as its source.
        error: &'a Error,
    },
    /// The upload cache (feature `cache`) could not record this upload: its folder is refused,
    /// or the entry could not be written (a read-only folder, a full disk, a file-size limit).
    /// The upload itself succeeded; the next upload of the same bytes is sent again.
    CacheFailed {
        /// Why.
        error: &'a std::io::Error,
    },
}

/// Calls the event hook, if there is one.
pub(crate) fn emit(hook: &mut Option<EventFn<'_>>, event: Event<'_>) {
    if let Some(hook) = hook {
        hook(&event);
    }
}
