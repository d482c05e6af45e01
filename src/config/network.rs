//! The builder's settings of the way to the service: trusted roots and the proxy.

use std::path::PathBuf;

use super::*;

impl ClientBuilder {
    /// Trusts the certificate authorities in `pem` (one or more PEM certificates) instead of the
    /// default roots, as curl's `--cacert` does: for a corporate proxy's CA, or a local TLS
    /// emulator. Default roots: Mozilla's (webpki-roots) with the `rustls` feature, the operating
    /// system's with `native-tls`.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator};
    /// # let emu = Emulator::start(Config::new("key").tls(true))?;
    /// // An emulator on https://127.0.0.1, with a certificate authority of its own.
    /// let ca = emu.ca_cert_pem().unwrap();
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .root_certs_pem(ca).build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn root_certs_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots = Roots::Pem(pem.into());
        self
    }

    /// Like [`root_certs_pem`](Self::root_certs_pem), reading the PEM file when the client is
    /// built. A file over 8 MiB (or a device that never ends) is refused with its name.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator};
    /// # let emu = Emulator::start(Config::new("key").tls(true))?;
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .root_certs_file(emu.ca_cert_path().unwrap()).build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn root_certs_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.roots = Roots::File(path.into());
        self
    }

    /// Sends every request through this proxy, whatever the environment says: `http://host:port`
    /// or `https://` (a CONNECT proxy; `http://` when no scheme is given), or with the `socks`
    /// feature `socks5://`, `socks5h://` (the proxy resolves the service's name), `socks4://`,
    /// `socks4a://` or `socks://` (SOCKS5). Credentials go in the URL (`http://user:pw@host:port`).
    /// A URL that does not parse, or a SOCKS proxy without the `socks` feature, is refused by
    /// [`build`](Self::build) with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
    ///
    /// Default: the proxy the environment names, read when the client is built as curl reads it:
    /// for an `https` base URL `https_proxy`, `HTTPS_PROXY`, then `all_proxy`, `ALL_PROXY`; for an
    /// `http` one `http_proxy` (never `HTTP_PROXY`: a CGI program gets a request's `Proxy:` header
    /// there), then `all_proxy`, `ALL_PROXY`. On Windows, where names are case-insensitive and
    /// `http_proxy` is `HTTP_PROXY`, it counts as it does for curl there, except in a CGI program
    /// (`REQUEST_METHOD` set), where it is never read. The first one set decides: empty means no
    /// proxy, a value that does not parse is refused by `build` (naming the variable as the
    /// environment spells it), never ignored. Hosts in `no_proxy` (or `NO_PROXY`) are reached
    /// directly: `example.com` or `.example.com` means that domain and every name under it, `*`
    /// every host.
    ///
    /// ```
    /// # use kie_upload::Client;
    /// // Nothing connects before the first upload; `build` only checks the URL.
    /// let client = Client::builder()
    ///     .api_key("key")
    ///     .proxy("http://user:secret@proxy.corp.example:3128")
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Connects directly, whatever proxy the environment names. Default: the environment's proxy
    /// (see [`proxy`](Self::proxy)).
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// std::env::set_var("http_proxy", "http://127.0.0.1:1"); // nothing listens there
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Off;
        self
    }
}
