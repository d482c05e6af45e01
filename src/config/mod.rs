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
///
/// ```
/// assert_eq!(kie_upload::Client::new("key").base_url(), kie_upload::DEFAULT_BASE_URL);
/// ```
pub const DEFAULT_BASE_URL: &str = "https://kieai.redpandaai.co";

/// The longest any duration setting may be (a day): longer ones are refused with
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), as a typo rather than a wish.
///
/// ```
/// use kie_upload::{ClientBuilder, MAX_DURATION};
/// use std::time::Duration;
///
/// let builder = || ClientBuilder::new().api_key("key");
/// assert!(builder().reply_timeout(MAX_DURATION).build().is_ok());
/// assert!(builder().reply_timeout(MAX_DURATION + Duration::from_secs(1)).build().is_err());
/// ```
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

mod network;
mod timing;

#[cfg(test)]
mod tests;
