//! The cache in an upload: the content hashed before it is sent and while it streams, the lookup,
//! and the entry recorded when both hashes agree.

use std::io;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::{key_fingerprint, Content, Identity, Lookup, UploadCache};
use crate::upload::Checked;
use crate::{Client, Error, UploadedFile};

/// An upload the cache has not got: recorded once it succeeds with the bytes hashed before it.
pub(crate) struct Pending<'c> {
    cache: &'c UploadCache,
    base_url: &'c str,
    key_fingerprint: [u8; 32],
    content: Content,
}

impl Client {
    /// Looks the upload up in the client's cache: the earlier upload when it is still trusted;
    /// otherwise what to record once this one succeeds (`None` without a cache), with any entry
    /// under the name dropped (other bytes are about to replace it).
    pub(crate) fn reuse(
        &self,
        upload: &mut Checked<'_>,
    ) -> Result<Result<UploadedFile, Option<Pending<'_>>>, Error> {
        let Some(cache) = &self.config.cache else {
            return Ok(Err(None));
        };
        let pending = Pending {
            cache,
            base_url: &self.config.base_url,
            key_fingerprint: key_fingerprint(self.config.api_key()),
            content: upload.source.content()?,
        };
        let id = pending.identity(upload);
        match cache.lookup(&id, &pending.content, SystemTime::now()) {
            Lookup::Hit(file) => return Ok(Ok(file)),
            Lookup::Miss => cache.forget(&id, &pending.content),
        }
        Ok(Err(Some(pending)))
    }
}

impl Pending<'_> {
    fn identity<'u>(&'u self, upload: &'u Checked<'_>) -> Identity<'u> {
        Identity {
            base_url: self.base_url,
            key_fingerprint: self.key_fingerprint,
            upload_path: &upload.upload_path,
            file_name: upload.file_name.as_deref(),
        }
    }

    /// Records `file`, if the last attempt sent the very bytes hashed before the upload (a file
    /// changed in between is never recorded under the wrong hash). A failure to write the entry
    /// costs only a later repeat, so it is not the upload's error.
    pub(crate) fn record(&self, upload: &Checked<'_>, sent: Option<Content>, file: &UploadedFile) {
        if sent == Some(self.content) {
            let _ = self
                .cache
                .record(&self.identity(upload), &self.content, file);
        }
    }
}

/// A reader that hashes what passes through it: the content of a source as an attempt sends it.
pub(crate) struct Tap<'r> {
    inner: &'r mut (dyn io::Read + Send),
    hasher: Sha256,
    len: u64,
}

impl<'r> Tap<'r> {
    pub(crate) fn new(inner: &'r mut (dyn io::Read + Send)) -> Self {
        Tap {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// What passed through so far.
    pub(crate) fn content(&self) -> Content {
        Content {
            sha256: self.hasher.clone().finalize().into(),
            len: self.len,
        }
    }
}

impl io::Read for Tap<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}
