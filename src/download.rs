//! [`Client::download_to`]: a download URL's bytes into a writer, without credentials.

use std::io::{self, Write};

use crate::reply::MAX_REPLY;
use crate::text::excerpt;
use crate::{Client, Error, ErrorKind};

impl Client {
    /// Downloads `url` (a [`UploadedFile::download_url`](crate::UploadedFile::download_url)) into `out` and returns the number of bytes
    /// written. No credentials are sent: download URLs need none. Up to 5 redirects are followed
    /// (a download may be served from elsewhere). Streams through a fixed buffer; each socket read
    /// is bounded by the stall timeout, the whole download is not.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// let file = client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?;
    /// let mut back = Vec::new();
    /// assert_eq!(client.download_to(&file.download_url, &mut back)?, 2);
    /// assert_eq!(back, b"hi");
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn download_to(&self, url: &str, out: &mut impl Write) -> Result<u64, Error> {
        self.download(url, out).map_err(|e| self.config.finish(e))
    }

    /// [`download_to`](Self::download_to), before its error is finished.
    fn download(&self, url: &str, out: &mut impl Write) -> Result<u64, Error> {
        self.config.usable()?;
        // What an earlier request on this thread saw of its server is not this one's.
        crate::transport::clear_seen();
        let response = self
            .config
            .agent
            .get(url)
            .config()
            .max_redirects(5)
            .build()
            .call()
            .map_err(crate::reply::failure)?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        if !(200..300).contains(&status) {
            let page = body
                .with_config()
                .limit(MAX_REPLY)
                .read_to_vec()
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&page);
            return Err(Error::new(ErrorKind::Http {
                status,
                excerpt: excerpt(&crate::text::redact(&text, &self.config.api_key)),
            }));
        }
        io::copy(&mut body.as_reader(), out).map_err(|e| {
            // A failed socket read comes back wrapped in io::Error; keep it a transport error.
            match e.downcast::<ureq::Error>() {
                Ok(e) => crate::reply::failure(e),
                Err(e) => Error::io(None, e),
            }
        })
    }
}
