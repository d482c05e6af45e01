//! [`ClientBuilder`]: a client's settings (key, base URL, timeouts, retries, TLS, proxy), the
//! environment they may come from, and the ureq agent they make. The checks of the settings are in
//! `checks.rs`, the key's reading in `key.rs`, the proxy's resolution in `proxy.rs`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ureq::Agent;

use crate::checks::{check_base_url, check_durations};
use crate::key::{KeyOrigin, KeySetting};
use crate::proxy::{self, ProxySetting};
use crate::resolve::NamedLookup;
use crate::retry::RetryPolicy;
use crate::tls::TlsSettings;
use crate::{transport, Client, Error, KeySource};

/// The service's root, used unless a base URL is given.
pub const DEFAULT_BASE_URL: &str = "https://kieai.redpandaai.co";

/// The longest any duration setting may be (a day): longer ones are refused with
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), as a typo rather than a wish.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Bodies larger than this (or of unknown length) ask the server with `Expect: 100-continue`
/// before they are sent, as curl does.
pub(crate) const EXPECT_ABOVE: u64 = 1024 * 1024;

/// How long to wait for `100 Continue` before sending the body anyway. Short, so that a server
/// that ignores `Expect` costs little; a late `100` is still understood.
const EXPECT_WAIT: Duration = Duration::from_millis(300);

/// The client's bounds on each network wait.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub connect: Duration,
    pub stall: Duration,
    pub reply: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            stall: Duration::from_secs(60),
            reply: Duration::from_secs(120),
        }
    }
}

/// The settings of a [`Client`](crate::Client): `Client::builder().api_key(key).build()?`.
///
/// Every setting has a default; only the API key is required. Nothing is checked until
/// [`build`](Self::build), which refuses bad settings with
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
///
/// ```no_run
/// use std::time::Duration;
///
/// # fn main() -> Result<(), kie_upload::Error> {
/// let client = kie_upload::ClientBuilder::from_env()   // KIE_API_KEY or KIE_API_KEY_FILE, ...
///     .base_url("https://proxy.internal/kie")            // a path prefix is kept
///     .connect_timeout(Duration::from_secs(10))
///     .retries(4)
///     .build()?;
/// let file = client.upload_file("report.pdf", "reports")?;
/// println!("{}", file.download_url);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct ClientBuilder {
    key: KeySetting,
    /// Whether the environment was read for a key (`from_env`), for the advice when none is set.
    key_from_env: bool,
    base_url: Option<String>,
    allow_insecure_http: bool,
    timeouts: Timeouts,
    retry: RetryPolicy,
    expect_continue: Option<bool>,
    tls: TlsSettings,
    proxy: ProxySetting,
    #[cfg(feature = "cache")]
    cache: Option<crate::UploadCache>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.key.describe())
            .field("base_url", &self.base_url)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("tls", &self.tls)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with every setting at its default and no key.
    ///
    /// ```
    /// let client = kie_upload::ClientBuilder::new().api_key("key").build()?;
    /// assert_eq!(client.base_url(), kie_upload::DEFAULT_BASE_URL);
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A builder with the settings the environment gives:
    /// - the key from `KIE_API_KEY`, or from the file named by `KIE_API_KEY_FILE` (its trailing
    ///   newline trimmed; the file form keeps the key out of `build.rs` fingerprints and
    ///   process listings). Both set at once is an error at [`build`](Self::build), unless a key is
    ///   then given in code;
    /// - the base URL from `KIE_BASE_URL`;
    /// - extra trusted roots from the PEM file named by `SSL_CERT_FILE`, which replace the default
    ///   roots (see [`root_certs_pem`](Self::root_certs_pem)).
    ///
    /// Empty variables count as unset. Settings made after this call win over the environment.
    ///
    /// ```no_run
    /// // KIE_API_KEY=... KIE_BASE_URL=... my-program
    /// let client = kie_upload::ClientBuilder::from_env().retries(5).build()?;
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn from_env() -> ClientBuilder {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string_lossy().trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut builder = ClientBuilder::new();
        builder.key = match (var("KIE_API_KEY"), std::env::var_os("KIE_API_KEY_FILE")) {
            (Some(_), Some(file)) if !file.is_empty() => KeySetting::Conflict,
            (_, Some(file)) if !file.is_empty() => {
                KeySetting::File(file.into(), Some("KIE_API_KEY_FILE"))
            }
            (Some(key), _) => KeySetting::Value(key, KeySource::Env("KIE_API_KEY")),
            _ => KeySetting::Unset,
        };
        builder.key_from_env = true;
        builder.base_url = var("KIE_BASE_URL");
        if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
            builder.tls.roots_file = Some(file.into());
        }
        builder
    }

    /// The API key, sent as `Authorization: Bearer <key>` to the base URL and nowhere else.
    /// Required (here, through [`api_key_file`](Self::api_key_file), or from the environment).
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.key = KeySetting::Value(api_key.into(), KeySource::Code);
        self
    }

    /// Reads the API key from a file when the client is built, trimming white space around it (a
    /// trailing newline). A file over 4 KiB (or a device that never ends) is refused with its name.
    /// Default: none.
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// # let dir = tempfile::tempdir()?;
    /// let key_file = dir.path().join("kie.key");
    /// std::fs::write(&key_file, "key\n")?;
    /// let client = ClientBuilder::new().api_key_file(&key_file).base_url(emu.base_url()).no_proxy().build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn api_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key = KeySetting::File(path.into(), None);
        self
    }

    /// The service's root; endpoints are appended to it, so it may carry a path prefix
    /// (`https://proxy.local/kie`). Default: [`DEFAULT_BASE_URL`]. A plain `http://` URL is refused
    /// unless its host is `localhost` or a loopback address, or
    /// [`allow_insecure_http`](Self::allow_insecure_http) is set.
    ///
    /// ```
    /// let client = kie_upload::ClientBuilder::new().api_key("key").base_url("https://proxy.local/kie").build()?;
    /// assert_eq!(client.base_url(), "https://proxy.local/kie");
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Allows a plain `http://` base URL on a host other than `localhost` or a loopback address,
    /// which sends the API key across the network in clear text. Default: `false`.
    ///
    /// ```
    /// use kie_upload::ClientBuilder;
    ///
    /// let plain = || ClientBuilder::new().api_key("key").base_url("http://uploads.lan:8080");
    /// assert!(plain().build().is_err());
    /// assert!(plain().allow_insecure_http(true).build().is_ok());
    /// ```
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Sets the connect, stall and reply timeouts all at once.
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// # use std::time::Duration;
    /// emu.inject(Fault::NeverAnswer, 1);
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .timeout(Duration::from_millis(200)).retries(0).build()?;
    /// assert!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err().is_timeout());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        self.connect_timeout(timeout)
            .stall_timeout(timeout)
            .reply_timeout(timeout)
    }

    /// The longest wait to open a connection, TLS handshake included. Default: 30 s; at most
    /// [`MAX_DURATION`].
    ///
    /// ```no_run
    /// let client = kie_upload::ClientBuilder::from_env()
    ///     .connect_timeout(std::time::Duration::from_secs(5)) // fail fast on a dead network
    ///     .build()?;
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// The longest any single socket read or write may wait: a stall detector. An upload that keeps
    /// moving is never cut short, however long it takes. Default: 60 s; at most [`MAX_DURATION`].
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// # use std::time::Duration;
    /// // The reply trickles in a byte a second: a stall of 100 ms ends it.
    /// emu.inject(Fault::Drip { pause: Duration::from_secs(1) }, 1);
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .stall_timeout(Duration::from_millis(100)).retries(0).build()?;
    /// assert!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err().is_timeout());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.stall = timeout;
        self
    }

    /// The longest wait for the service's reply once the body is sent, its status line and headers
    /// and its body together (one deadline). Default: 120 s; at most [`MAX_DURATION`].
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// # use std::time::Duration;
    /// emu.inject(Fault::NeverAnswer, 1);
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .reply_timeout(Duration::from_millis(200)).retries(0).build()?;
    /// assert!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err().is_timeout());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn reply_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.reply = timeout;
        self
    }

    /// How many times a failed upload is tried again, when the failure is worth it (the rules are
    /// on [`Error::is_retryable`]) and the upload can be repeated safely: never a plain reader, a
    /// pipe or a device (their bytes are gone), nor an upload without a file name (a repeat could
    /// store a second copy). Default: 2.
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// emu.inject(Fault::Status { status: 503, retry_after: Some("0".into()) }, 1);
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).no_proxy().retries(1).build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2); // the second attempt passed
    /// assert_eq!(emu.attempts("/api/file-stream-upload"), 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn retries(mut self, retries: u32) -> Self {
        self.retry.retries = retries;
        self
    }

    /// The wait before the first retry; each later wait doubles (up to 10 s), with jitter. A
    /// `Retry-After` from the server replaces it, up to 30 s. Default: 500 ms; at most
    /// [`MAX_DURATION`].
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// # use std::time::{Duration, Instant};
    /// emu.inject(Fault::Status { status: 503, retry_after: None }, 1);
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .retry_backoff(Duration::from_millis(10)).build()?;
    /// let started = Instant::now();
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// assert!(started.elapsed() < Duration::from_secs(5));
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry.backoff = backoff;
        self
    }

    /// Whether a body over 1 MiB (or of unknown length) first asks the server with
    /// `Expect: 100-continue`, so that a server that refuses at the headers (a bad key, a file too
    /// large) answers before the body is sent. The client waits at most 300 ms for the
    /// `100 Continue`, then sends anyway. Turn it off for a server that answers `417`. Default:
    /// `true`.
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .expect_continue(false).build()?;
    /// client.upload(Upload::bytes(vec![0u8; 2 << 20], "blobs").file_name("zeros.bin"))?;
    /// assert!(!emu.requests()[0].expect_continue);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn expect_continue(mut self, on: bool) -> Self {
        self.expect_continue = Some(on);
        self
    }

    /// Trusts the certificate authorities in `pem` (one or more PEM certificates) instead of the
    /// default roots, as curl's `--cacert` does: for a corporate proxy's CA, or a local TLS
    /// emulator. Default roots: Mozilla's (webpki-roots) with the `rustls` feature, the operating
    /// system's with `native-tls`.
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator};
    /// # let emu = Emulator::start(Config::new("key").tls(true))?;
    /// // An emulator on https://127.0.0.1, with a certificate authority of its own.
    /// let ca = emu.ca_cert_pem().unwrap();
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .root_certs_pem(ca).build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn root_certs_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.roots_pem = Some(pem.into());
        self.tls.roots_file = None;
        self
    }

    /// Like [`root_certs_pem`](Self::root_certs_pem), reading the PEM file when the client is
    /// built. A file over 8 MiB (or a device that never ends) is refused with its name.
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator};
    /// # let emu = Emulator::start(Config::new("key").tls(true))?;
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .root_certs_file(emu.ca_cert_path().unwrap()).build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn root_certs_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.roots_file = Some(path.into());
        self.tls.roots_pem = None;
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
    /// `http` one `http_proxy` (never `HTTP_PROXY`), then `all_proxy`, `ALL_PROXY`. The first one
    /// set decides: empty means no proxy, a value that does not parse is refused by `build`
    /// (naming the variable), never ignored. Hosts in `no_proxy` (or `NO_PROXY`) are reached
    /// directly: `example.com` or `.example.com` means that domain and every name under it, `*`
    /// every host.
    ///
    /// ```
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, ConnectProxy, Emulator};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// let proxy = ConnectProxy::start()?;
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).proxy(proxy.url()).build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// assert_eq!(proxy.tunnels().len(), 1);
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
    /// # use kie_upload::{ClientBuilder, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// std::env::set_var("http_proxy", "http://127.0.0.1:1"); // nothing listens there
    /// let client = ClientBuilder::new().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Off;
        self
    }

    /// Reuses live uploads of the same bytes recorded in `cache` instead of sending them again,
    /// and records new ones there (see [`UploadCache`](crate::UploadCache) for what counts as the
    /// same and for how long). Default: no cache, every upload is sent.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), kie_upload::Error> {
    /// let client = kie_upload::Client::builder()
    ///     .api_key("YOUR_API_KEY")
    ///     .cache(kie_upload::UploadCache::new("target/kie-upload-cache"))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "cache")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
    pub fn cache(mut self, cache: crate::UploadCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Checks the settings and builds the client: a missing or malformed key, a bad base URL, an
    /// unreadable key or root certificate file, a duration over [`MAX_DURATION`], a proxy URL or
    /// proxy variable that does not parse, or a SOCKS proxy without the `socks` feature is refused
    /// with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
    ///
    /// ```
    /// use kie_upload::{ClientBuilder, ErrorKind};
    ///
    /// let e = ClientBuilder::new().base_url("not a url").api_key("key").build().unwrap_err();
    /// assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }));
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        Ok(Client::with_config(self.into_config(true)?))
    }

    /// Checks every setting and returns them with the agent they make. With `key_required` false,
    /// a missing or bad key is left for the first upload to report.
    pub(crate) fn into_config(self, key_required: bool) -> Result<Config, Error> {
        let (api_key, key) = self.key.resolve(self.key_from_env)?;
        if key_required {
            key.check(&api_key)?;
        }
        let base_url = check_base_url(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            self.allow_insecure_http,
        )?;
        check_durations(&self.timeouts, self.retry.backoff)?;
        let https = base_url.to_ascii_lowercase().starts_with("https://");
        // A proxy setting that cannot be honoured is never taken for "no proxy": `build()` refuses
        // it, and a client from `Client::new` refuses every upload with it.
        let (chosen, refused) = match self.proxy.choose(https) {
            Ok(chosen) => (chosen, None),
            Err(refused) if key_required => return Err(refused.error()),
            Err(refused) => (None, Some(refused)),
        };
        let proxy = chosen.as_ref().map(|c| c.proxy.clone());
        let agent = Agent::config_builder()
            // Error statuses carry the service's message in the body: read it ourselves.
            .http_status_as_error(false)
            // A redirect would turn the POST into a body-less GET or fail; report it instead.
            .max_redirects(0)
            .user_agent(concat!("kie-upload/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(self.timeouts.connect))
            .timeout_per_read(Some(self.timeouts.stall))
            .timeout_per_write(Some(self.timeouts.stall))
            .timeout_await_100(Some(EXPECT_WAIT))
            // Keep a connection for each of upload_all's workers (ureq keeps 3 per host): with 4
            // jobs over TLS, the fourth connection was otherwise closed and shaken hands anew,
            // again and again.
            .max_idle_connections_per_host(16)
            .max_idle_connections(32)
            .proxy(proxy);
        let agent = self.tls.configure(agent)?.build();
        Ok(Config {
            agent: Agent::with_parts(agent, transport::connector(), NamedLookup::default()),
            proxy: chosen.map(|c| c.about),
            refused,
            api_key,
            key,
            base_url,
            timeouts: self.timeouts,
            retry: self.retry,
            expect_continue: self.expect_continue.unwrap_or(true),
            #[cfg(feature = "cache")]
            cache: self.cache,
        })
    }
}

/// A client's checked settings and its agent (one connection pool).
pub(crate) struct Config {
    pub agent: Agent,
    /// The proxy in use, for the errors about it.
    proxy: Option<proxy::About>,
    /// A proxy setting that `Client::new` could not refuse: every upload is refused with it.
    refused: Option<proxy::Refused>,
    api_key: String,
    key: KeyOrigin,
    pub base_url: String,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    pub expect_continue: bool,
    #[cfg(feature = "cache")]
    pub cache: Option<crate::UploadCache>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("expect_continue", &self.expect_continue)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The `Authorization` header's value, once the key (and a proxy setting that `Client::new`
    /// could not refuse) is checked.
    pub(crate) fn authorization(&self) -> Result<String, Error> {
        self.usable()?;
        self.key.check(&self.api_key)?;
        Ok(format!("Bearer {}", self.api_key))
    }

    /// Refuses every request when the proxy setting could not be honoured.
    pub(crate) fn usable(&self) -> Result<(), Error> {
        match &self.refused {
            Some(refused) => Err(refused.error()),
            None => Ok(()),
        }
    }

    /// The key, for cutting it out of what servers send back.
    pub(crate) fn api_key(&self) -> &str {
        &self.api_key
    }

    /// An error as it leaves the client: the key and URL passwords cut out of its text, and
    /// where the key came from beside it.
    pub(crate) fn finish(&self, error: Error) -> Error {
        let error = error.leaving_client(&self.api_key, self.key.source());
        match (&self.proxy, error.kind()) {
            (Some(about), crate::ErrorKind::Proxy { .. }) => error.with_proxy(about),
            _ => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let builder = ClientBuilder::new().api_key("sk-secret-123");
        assert!(!format!("{builder:?}").contains("sk-secret-123"));
        let config = builder.into_config(true).unwrap();
        assert!(!format!("{config:?}").contains("sk-secret-123"));
    }
}
