//! The cache's seam in an upload, [`Recall`]: the only way the client reaches the cache. Before
//! the attempts, the source is spooled (it is read twice) and hashed, and a live upload of the
//! same bytes looked up and checked; during them, what is sent is hashed as it streams; after
//! them, the upload is recorded when both hashes agree. Without the feature, `off.rs` stands in.

use std::io::{self, Read};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::{Content, Identity, UploadCache};
use crate::checks::http_authority;
use crate::config::Config;
use crate::observe::{emit, Event};
use crate::source::Source;
use crate::upload::Checked;
use crate::{Error, ErrorKind, Upload, UploadedFile};

/// One upload's dealings with the client's cache, if it has one.
pub(crate) struct Recall<'c> {
    config: &'c Config,
    /// Once looked up and missed (or the caller's check rejected what the cache had): what to
    /// record once the upload succeeds.
    pending: Option<(&'c UploadCache, Identity)>,
    /// What the last attempt sent, hashed as it streamed.
    sent: Option<Content>,
}

impl<'c> Recall<'c> {
    pub(crate) fn new(config: &'c Config) -> Recall<'c> {
        Recall {
            config,
            pending: None,
            sent: None,
        }
    }

    /// With a cache, a reader is spooled: it is hashed before it is sent, so it is read twice.
    pub(crate) fn prepare<'a>(&self, upload: Upload<'a>) -> Upload<'a> {
        match self.config.cache {
            Some(_) => upload.spool(),
            None => upload,
        }
    }

    /// The earlier upload of the same bytes, when the cache trusts it and the caller's check
    /// passes. Otherwise the entry under the name is dropped (other bytes are about to replace
    /// it, or the check rejected it) and the upload is noted, to be recorded once it succeeds.
    pub(crate) fn lookup(
        &mut self,
        upload: &mut Checked<'_>,
    ) -> Result<Option<UploadedFile>, Error> {
        let Some(cache) = &self.config.cache else {
            return Ok(None);
        };
        let id = Identity::new(
            &normalised(&self.config.base_url),
            &self.config.api_key,
            &upload.upload_path,
            upload.content_type.as_deref(),
            upload.file_name.as_deref(),
            upload.source.content()?,
        );
        if let Some(file) = cache.lookup(&id, SystemTime::now()) {
            match upload.verified(&file) {
                Ok(()) => return Ok(Some(file)),
                Err(error) => emit(&mut upload.events, Event::ReuseRejected { error: &error }),
            }
        }
        cache.forget(&id);
        self.pending = Some((cache, id));
        Ok(None)
    }

    /// A reader that hashes what an attempt sends, when the upload will be recorded.
    pub(crate) fn tap<'r>(&self, reader: &'r mut (dyn Read + Send)) -> Tap<'r> {
        Tap::new(reader, self.pending.is_some())
    }

    /// Notes what the attempt that `tap` watched sent.
    pub(crate) fn sent(&mut self, tap: &Tap<'_>) {
        self.sent = tap.content();
    }

    /// Records `file` (its check passed), if the last attempt sent the very bytes hashed before
    /// the upload: a file changed in between is never recorded under the wrong hash. A failure to
    /// record costs only a later repeat, so it is not the upload's error: it is an event.
    pub(crate) fn record(self, upload: &mut Checked<'_>, file: &UploadedFile) {
        let Some((cache, id)) = self.pending.filter(|(_, id)| self.sent == Some(id.content)) else {
            return;
        };
        match cache.record(&id, file) {
            Ok(()) => cache.prune_now_and_then(),
            Err(error) => emit(&mut upload.events, Event::CacheFailed { error: &error }),
        }
    }
}

impl Source<'_> {
    /// Reads the whole source from its start through SHA-256, for the upload cache; the attempts
    /// then read it again from its start.
    pub(crate) fn content(&mut self) -> Result<Content, Error> {
        let opened = self.open()?;
        let mut tap = Tap::new(opened.reader, true);
        // Read in large blocks: io::copy reads through a BufReader's own buffer.
        let mut reader = io::BufReader::with_capacity(256 * 1024, &mut tap);
        io::copy(&mut reader, &mut io::sink()).map_err(|e| Error::io(opened.path, e))?;
        let content = tap.content().expect("a tap that hashes");
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
    fn new(inner: &'r mut (dyn io::Read + Send), hash: bool) -> Self {
        Tap {
            inner,
            hasher: hash.then(Sha256::new),
            len: 0,
        }
    }

    /// What passed through so far, if it was hashed.
    fn content(&self) -> Option<Content> {
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
    let lower = base_url.to_ascii_lowercase();
    // The client's base URL is checked: http or https.
    let (https, authority) = http_authority(&lower).unwrap_or_default();
    let (scheme, default_port) = if https {
        ("https", ":443")
    } else {
        ("http", ":80")
    };
    let path = &base_url[scheme.len() + 3 + authority.len()..];
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    format!("{scheme}://{authority}{}", path.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
