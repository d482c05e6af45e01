//! [`ClientBuilder`]: a client's settings (key, base URL, timeouts, retries, TLS, proxy), the
//! environment they may come from, and the ureq agent they make. The checks of the settings are in
//! `checks.rs`, the key's reading in `key.rs`, the proxy's resolution in `proxy.rs`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ureq::Agent;

use crate::checks::{check_base_url, check_durations};
use crate::expect::ExpectMemory;
use crate::key::{self, KeySetting};
use crate::observe::EventFn;
use crate::proxy::{self, ProxySetting};
use crate::resolve::NamedLookup;
use crate::retry::RetryPolicy;
use crate::tls::Roots;
use crate::{transport, Client, Error, ErrorKind, NotRetried};

/// The service's root, used unless a base URL is given.
///
/// ```
/// assert_eq!(kie_upload::Client::new("key").base_url(), kie_upload::DEFAULT_BASE_URL);
/// ```
pub const DEFAULT_BASE_URL: &str = "https://kieai.redpandaai.co";

/// The longest any duration setting may be (a day): longer ones are refused as a typo rather
/// than a wish.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

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

/// The settings of a [`Client`](crate::Client), from [`Client::builder`](crate::Client::builder):
/// `Client::builder().api_key(key).build()?`.
///
/// Every setting has a default; only the API key is required. Settings are applied in the order
/// they are called, so a later one wins (also over [`with_env`](Self::with_env)). Nothing is
/// checked until [`build`](Self::build), which refuses bad settings.
///
/// ```no_run
/// use std::time::Duration;
///
/// # fn main() -> Result<(), kie_upload::Error> {
/// let client = kie_upload::Client::builder()
///     .with_env()                                        // KIE_API_KEY or KIE_API_KEY_FILE, ...
///     .base_url("https://proxy.internal/kie")            // a path prefix is kept
///     .connect_timeout(Duration::from_secs(10))
///     .retries(4)
///     .build()?;
/// let file = client.upload_file("report.pdf", "reports")?;
/// println!("{}", file.download_url);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    key: KeySetting,
    base_url: Option<String>,
    allow_insecure_http: bool,
    timeouts: Timeouts,
    retry: RetryPolicy,
    expect_continue: Option<bool>,
    roots: Roots,
    proxy: ProxySetting,
    #[cfg(feature = "cache")]
    cache: Option<crate::UploadCache>,
}

impl ClientBuilder {
    /// Every setting at its default, and no key: see [`Client::builder`](crate::Client::builder).
    pub(crate) fn new() -> ClientBuilder {
        ClientBuilder {
            key: KeySetting::Unset,
            base_url: None,
            allow_insecure_http: false,
            timeouts: Timeouts {
                connect: Duration::from_secs(30),
                stall: Duration::from_secs(60),
                reply: Duration::from_secs(120),
            },
            retry: RetryPolicy {
                retries: 2,
                backoff: Duration::from_millis(500),
            },
            expect_continue: None,
            roots: Roots::Default,
            proxy: ProxySetting::FromEnv,
            #[cfg(feature = "cache")]
            cache: None,
        }
    }

    /// Takes the settings the environment gives, each as if its setter were called here (so a
    /// setter called later wins, and a variable that is unset or empty changes nothing):
    /// - the key from `KIE_API_KEY`, or from the file named by `KIE_API_KEY_FILE` (its trailing
    ///   newline trimmed; the file form keeps the key out of `build.rs` fingerprints and
    ///   process listings). Both set at once is an [`ErrorKind::ApiKey`] at
    ///   [`build`](Self::build), unless a key is given by a later call;
    /// - the base URL from `KIE_BASE_URL`;
    /// - trusted roots from the PEM file named by `SSL_CERT_FILE`, which replace the default
    ///   roots (see [`root_certs_pem`](Self::root_certs_pem)).
    ///
    /// The proxy variables are read by every client unless a proxy is set in code (see
    /// [`proxy`](Self::proxy)). [`Client::from_env`](crate::Client::from_env) is
    /// `Client::builder().with_env().build()`.
    ///
    /// ```no_run
    /// // KIE_API_KEY=... KIE_BASE_URL=... my-program
    /// let client = kie_upload::Client::builder().with_env().retries(5).build()?;
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn with_env(mut self) -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .map(|v| v.to_string_lossy().trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let file = std::env::var_os("KIE_API_KEY_FILE").filter(|f| !f.is_empty());
        match (var("KIE_API_KEY"), file) {
            (Some(_), Some(_)) => self.key = KeySetting::Conflict,
            (None, Some(file)) => self.key = KeySetting::File(file.into()),
            (Some(key), None) => self.key = KeySetting::Value(key, Some("KIE_API_KEY")),
            (None, None) => {}
        }
        self.base_url = var("KIE_BASE_URL").or(self.base_url);
        if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
            self = self.root_certs_file(file);
        }
        self
    }

    /// The API key, sent as `Authorization: Bearer <key>` to the base URL and nowhere else.
    /// Required (here, through [`api_key_file`](Self::api_key_file), or from the environment).
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.key = KeySetting::Value(api_key.into(), None);
        self
    }

    /// Reads the API key from a file when the client is built, trimming white space around it (a
    /// trailing newline). A file over 4 KiB (or a device that never ends) is refused with its name.
    /// Default: none.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// # let dir = tempfile::tempdir()?;
    /// let key_file = dir.path().join("kie.key");
    /// std::fs::write(&key_file, "key\n")?;
    /// let client = Client::builder().api_key_file(&key_file).base_url(emu.base_url()).no_proxy().build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn api_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key = KeySetting::File(path.into());
        self
    }

    /// The service's root; endpoints are appended to it, so it may carry a path prefix
    /// (`https://proxy.local/kie`). Default: [`DEFAULT_BASE_URL`]. A plain `http://` URL is refused
    /// unless its host is `localhost` or a loopback address, or
    /// [`allow_insecure_http`](Self::allow_insecure_http) is set.
    ///
    /// ```
    /// let client = kie_upload::Client::builder().api_key("key").base_url("https://proxy.local/kie").build()?;
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
    /// use kie_upload::Client;
    ///
    /// let plain = || Client::builder().api_key("key").base_url("http://uploads.lan:8080");
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

    /// Checks the settings and builds the client. A missing, unreadable or malformed key is
    /// refused with [`ErrorKind::ApiKey`], a plain `http://` base URL to a remote host with
    /// [`ErrorKind::InsecureHttp`]; a bad base URL, an unreadable root certificate file, a
    /// duration over a day, a proxy URL or proxy variable that does not parse, or a SOCKS proxy
    /// without the `socks` feature with [`ErrorKind::InvalidInput`].
    ///
    /// ```
    /// use kie_upload::{Client, ErrorKind};
    ///
    /// let e = Client::builder().base_url("not a url").api_key("key").build().unwrap_err();
    /// assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }));
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        let config = std::sync::Arc::new(self.into_config(true)?);
        Ok(Client { config })
    }

    /// Checks every setting and returns them with the agent they make. With `key_required` false,
    /// a missing or bad key is left for the first upload to report.
    pub(crate) fn into_config(self, key_required: bool) -> Result<Config, Error> {
        let (api_key, key_setting) = self.key.resolve()?;
        if key_required {
            key::check(&api_key, key_setting.as_deref())?;
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
        let agent = self.roots.configure(agent)?.build();
        Ok(Config {
            agent: Agent::with_parts(agent, transport::connector(), NamedLookup::default()),
            proxy: chosen.map(|c| c.about),
            refused,
            api_key,
            key_setting,
            base_url,
            timeouts: self.timeouts,
            retry: self.retry,
            expect_continue: self.expect_continue.unwrap_or(true),
            expect: ExpectMemory::default(),
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
    /// The key, also for cutting it out of what servers send back.
    pub api_key: String,
    /// Where the key was set (a variable or a file), for the errors about it.
    key_setting: Option<String>,
    pub base_url: String,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    pub expect_continue: bool,
    /// When its server is worth asking `Expect: 100-continue`, shared by the client's clones.
    pub expect: ExpectMemory,
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
    /// Refuses every request when the proxy setting could not be honoured (a client from
    /// `Client::new`).
    pub(crate) fn usable(&self) -> Result<(), Error> {
        self.refused
            .as_ref()
            .map_or(Ok(()), |refused| Err(refused.error()))
    }

    /// Refuses an upload without a usable key (or proxy setting), before anything is sent.
    pub(crate) fn check_key(&self) -> Result<(), Error> {
        self.usable()?;
        key::check(&self.api_key, self.key_setting.as_deref())
    }

    /// An error as it leaves the client (or reaches a retry's event): the key and URL passwords
    /// cut out of its text, and beside it which proxy, or where the key came from, when it
    /// concerns them.
    pub(crate) fn finish(&self, error: Error) -> Error {
        let error = error.redacted(&self.api_key);
        match (error.kind(), &self.proxy) {
            (ErrorKind::Proxy { .. }, Some(about)) => about.mark(error),
            (ErrorKind::Service { code: 401, .. } | ErrorKind::ApiKey { .. }, _) => {
                error.with_setting(self.key_setting.as_deref())
            }
            _ => error,
        }
    }

    /// Runs `attempt` under the retry policy (see [`RetryPolicy::run`]), each failure finished
    /// before anything sees it, so that a retry's event carries the error the caller would get.
    pub(crate) fn retrying<T>(
        &self,
        cannot_repeat: Option<NotRetried>,
        events: &mut Option<EventFn<'_>>,
        mut attempt: impl FnMut(u32, &mut Option<EventFn<'_>>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.retry.run(cannot_repeat, events, |n, events| {
            attempt(n, events).map_err(|e| self.finish(e))
        })
    }
}

mod network;
mod timing;

#[cfg(test)]
mod tests;
