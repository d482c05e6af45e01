//! [`UrlUpload`]: a file the service fetches from the web itself, checked before anything is sent.

use std::fmt;

use crate::checks::{check_file_name, check_remote_url, check_upload_path};
use crate::observe::EventFn;
use crate::{Error, Event};

/// A file already on the web for the service to fetch itself
/// ([`Client::upload_url`](crate::Client::upload_url)): its URL and the destination folder, both
/// required, and an optional name.
///
/// ```no_run
/// # fn main() -> Result<(), kie_upload::Error> {
/// use kie_upload::{Client, UrlUpload};
///
/// let client = Client::from_env()?;
/// let file = client.upload_url(
///     UrlUpload::new("https://example.com/photo.jpg?size=large", "images").file_name("photo.jpg"),
/// )?;
/// println!("{}", file.download_url);
/// # Ok(()) }
/// ```
pub struct UrlUpload<'a> {
    pub(crate) file_url: String,
    upload_path: String,
    pub(crate) file_name: Option<String>,
    pub(crate) events: Option<EventFn<'a>>,
}

impl<'a> UrlUpload<'a> {
    /// The service fetches `file_url` (an absolute `http` or `https` URL, sent exactly as given,
    /// query string and escapes included) and stores it in `upload_path`.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// # use kie_upload::UrlUpload;
    /// # let url = client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.download_url;
    /// let copy = client.upload_url(UrlUpload::new(url, "copies"))?;
    /// assert!(copy.file_path.starts_with("copies/"));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(file_url: impl Into<String>, upload_path: impl Into<String>) -> Self {
        UrlUpload {
            file_url: file_url.into(),
            upload_path: upload_path.into(),
            file_name: None,
            events: None,
        }
    }

    /// The stored file's name (the API field `fileName`). Default: none, and the service derives
    /// one from the URL; such an upload is not retried, since a repeat could store a second copy.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// # use kie_upload::UrlUpload;
    /// # let url = client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.download_url;
    /// let copy = client.upload_url(UrlUpload::new(url, "copies").file_name("copy.txt"))?;
    /// assert_eq!(copy.file_path, "copies/copy.txt");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn file_name(mut self, file_name: impl Into<String>) -> Self {
        self.file_name = Some(file_name.into());
        self
    }

    /// Calls `hook` for each attempt, each reply's status, and each retry with its wait (see
    /// [`Event`]). Default: none.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// # use kie_upload::{Event, UrlUpload};
    /// # let url = client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.download_url;
    /// let mut statuses = Vec::new();
    /// client.upload_url(UrlUpload::new(url, "copies").file_name("hi.txt").on_event(|event| {
    ///     if let Event::Reply { status, .. } = event { statuses.push(*status) }
    /// }))?;
    /// assert_eq!(statuses, [200]);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_event(mut self, hook: impl FnMut(&Event<'_>) + Send + 'a) -> Self {
        self.events = Some(Box::new(hook));
        self
    }

    /// Checks the URL, the upload path and the file name, as [`Client::upload_url`](crate::Client::upload_url)
    /// does before anything is sent; call it to refuse bad input early.
    ///
    /// ```
    /// use kie_upload::UrlUpload;
    ///
    /// assert!(UrlUpload::new("https://example.com/a.png", "images").validate().is_ok());
    /// assert!(UrlUpload::new("ftp://example.com/a.png", "images").validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        self.check().map(drop)
    }

    /// The checked upload path, once the URL and the name are checked too.
    pub(crate) fn check(&self) -> Result<String, Error> {
        check_remote_url(&self.file_url)?;
        let upload_path = check_upload_path(&self.upload_path)?.to_owned();
        self.file_name.as_deref().map(check_file_name).transpose()?;
        Ok(upload_path)
    }
}

impl fmt::Debug for UrlUpload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlUpload")
            .field("file_url", &self.file_url)
            .field("upload_path", &self.upload_path)
            .field("file_name", &self.file_name)
            .field("on_event", &self.events.is_some())
            .finish()
    }
}
