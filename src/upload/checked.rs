//! An [`Upload`] checked before anything is opened or sent: its names and content type (the
//! checks themselves are in `checks.rs`), its source prepared, and what the client takes from it.

use std::path::Path;

use super::Upload;
use crate::body::Encoding;
use crate::checks::{check_base64_length, check_content_type, check_file_name, check_upload_path};
use crate::observe::{EventFn, ProgressFn, VerifyFn};
use crate::source::{Given, Source};
use crate::{Error, ErrorKind, NotRetried, UploadedFile};

/// An upload once checked, its source prepared, taken apart for the client.
pub(crate) struct Checked<'a> {
    pub source: Source<'a>,
    pub upload_path: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub progress: Option<ProgressFn<'a>>,
    pub events: Option<EventFn<'a>>,
    pub verify: Option<VerifyFn<'a>>,
    /// Why the upload may not be sent again, if it may not.
    pub cannot_repeat: Option<NotRetried>,
}

impl<'a> Upload<'a> {
    /// Checks the upload path, the file name (given, or the file's own) and the content type, as
    /// every upload does before anything is opened or sent; call it to refuse bad input early (a
    /// command line's flags, a form). The source itself is not looked at.
    ///
    /// ```
    /// use kie_upload::Upload;
    ///
    /// assert!(Upload::bytes(b"x", "reports/2026").file_name("q1.pdf").validate().is_ok());
    /// assert!(Upload::bytes(b"x", "../etc").validate().is_err());
    /// assert!(Upload::bytes(b"x", "p").file_name("a/b.txt").validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        self.names().map(|_| ())
    }

    /// The checked upload path and file name.
    pub(super) fn names(&self) -> Result<(String, Option<String>), Error> {
        let upload_path = check_upload_path(&self.upload_path)?.to_owned();
        let file_name = match (&self.file_name, &self.source) {
            (Some(name), _) => Some(name.clone()),
            (None, Given::File(path)) => Some(name_of(path)?),
            (None, _) => None,
        };
        file_name.as_deref().map(check_file_name).transpose()?;
        self.content_type
            .as_deref()
            .map(check_content_type)
            .transpose()?;
        Ok((upload_path, file_name))
    }

    /// Checks everything about the upload before anything is sent: the names and the content
    /// type, then the source, prepared for its attempts (a file looked at, a pipe opened once, a
    /// reader spooled when asked), and for the base64 endpoint its length.
    pub(crate) fn check(self, encoding: Encoding) -> Result<Checked<'a>, Error> {
        let (upload_path, file_name) = self.names()?;
        let source = self.source.prepare(self.length, self.spool)?;
        if encoding == Encoding::Base64 {
            check_base64_length(source.len())?;
        }
        let cannot_repeat = if !source.is_repeatable() {
            Some(NotRetried::SourceNotRepeatable)
        } else if file_name.is_none() {
            Some(NotRetried::NoFileName)
        } else {
            None
        };
        Ok(Checked {
            source,
            upload_path,
            file_name,
            content_type: self.content_type,
            progress: self.progress,
            events: self.events,
            verify: self.verify,
            cannot_repeat,
        })
    }
}

impl Checked<'_> {
    /// Runs the caller's check (see [`Upload::verify`]) on the stored file, if there is one.
    pub(crate) fn verified(&mut self, file: &UploadedFile) -> Result<(), Error> {
        let Some(verify) = &mut self.verify else {
            return Ok(());
        };
        verify(file).map_err(|e| Error::new(ErrorKind::Rejected).with_source(e))
    }
}

/// A file's own name, as the default name on the service.
fn name_of(path: &Path) -> Result<String, Error> {
    let shown = path.display();
    let Some(name) = path.file_name() else {
        return Err(Error::invalid(format!(
            "{shown}: not a file name: give a path to a file"
        )));
    };
    let not_utf8 = || {
        Error::invalid(format!(
            "{shown}: the file name is not UTF-8: set a file name"
        ))
    };
    name.to_str().map(str::to_owned).ok_or_else(not_utf8)
}
