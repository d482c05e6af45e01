//! The cache in an upload: the content hashed before it is sent and while it streams, the lookup,
//! and the entry recorded when both hashes agree.

use std::io::{self, Read};
use std::path::Path;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::{key_fingerprint, Content, Identity, Lookup, UploadCache};
use crate::source::Source;
use crate::upload::Checked;
use crate::ErrorKind;
use crate::{Client, Error, UploadedFile};

/// An upload the cache has not got: recorded once it succeeds with the bytes hashed before it.
pub(crate) struct Pending<'c> {
    cache: &'c UploadCache,
    base_url: String,
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
            base_url: normalised(&self.config.base_url),
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
            base_url: &self.base_url,
            key_fingerprint: self.key_fingerprint,
            upload_path: &upload.upload_path,
            file_name: upload.file_name.as_deref(),
            content_type: upload.content_type.as_deref(),
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
        self.cache.prune_now_and_then();
    }
}

impl Source<'_> {
    /// Reads the whole source from its start through SHA-256, for the upload cache; the attempts
    /// then read it again from its start.
    pub(crate) fn content(&mut self) -> Result<Content, Error> {
        let opened = self.open()?;
        let path = opened.path.map(Path::to_path_buf);
        let mut tap = Tap::new(opened.reader, true);
        let mut buf = vec![0u8; 256 * 1024];
        while tap
            .read(&mut buf)
            .map_err(|e| Error::io(path.as_deref(), e))?
            > 0
        {}
        let content = tap.content().unwrap_or(Content {
            sha256: [0; 32],
            len: 0,
        });
        // A wrong declared length fails the upload, cached or not.
        if let Some(declared) = self.declared().filter(|&n| n != content.len) {
            return Err(Error::new(ErrorKind::SourceLengthMismatch {
                declared,
                actual: content.len,
            }));
        }
        Ok(content)
    }
}

/// A reader that hashes what passes through it, when asked to: the content of a source as an
/// attempt sends it. Without a cache it only passes the bytes on, so an upload that will not be
/// recorded pays no hash.
pub(crate) struct Tap<'r> {
    inner: &'r mut (dyn io::Read + Send),
    hasher: Option<Sha256>,
    len: u64,
}

impl<'r> Tap<'r> {
    pub(crate) fn new(inner: &'r mut (dyn io::Read + Send), hash: bool) -> Self {
        Tap {
            inner,
            hasher: hash.then(Sha256::new),
            len: 0,
        }
    }

    /// What passed through so far, if it was hashed.
    pub(crate) fn content(&self) -> Option<Content> {
        let hasher = self.hasher.as_ref()?;
        Some(Content {
            sha256: hasher.clone().finalize().into(),
            len: self.len,
        })
    }
}

impl io::Read for Tap<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
            self.len += n as u64;
        }
        Ok(n)
    }
}

/// One spelling of a base URL: the scheme and host in lower case, without the scheme's default
/// port or a trailing `/`, so two spellings of one service share their entries (and an overwrite
/// through one drops the other's).
fn normalised(base_url: &str) -> String {
    let (scheme, rest) = base_url.split_once("://").unwrap_or(("", base_url));
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    if !default_port.is_empty() && authority.ends_with(default_port) {
        authority.truncate(authority.len() - default_port.len());
    }
    format!("{scheme}://{authority}{}", path.trim_end_matches('/'))
}

#[cfg(test)]
#[test]
fn spellings_of_a_base_url_are_one() {
    for url in [
        "HTTPS://Host.Example:443/",
        "https://host.example",
        "https://HOST.example/",
    ] {
        assert_eq!(normalised(url), "https://host.example");
    }
    assert_eq!(
        normalised("http://127.0.0.1:8080/api/"),
        "http://127.0.0.1:8080/api"
    );
}
