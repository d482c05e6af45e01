//! [`ClientBuilder`]: the settings of a [`Client`] and their checks (key, base URL, timeouts, retries),
//! and the ureq agent they make.

use std::fmt;
use std::time::Duration;

use ureq::Agent;

use crate::retry::RetryPolicy;
use crate::{Client, Error, DEFAULT_BASE_URL};

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

pub(crate) fn check_api_key(key: &str) -> Result<(), Error> {
    if key.trim().is_empty() {
        return Err(Error::InvalidInput(
            "missing API key: set KIE_API_KEY or pass one to Client::new".into(),
        ));
    }
    // Never echo the key: it may be a real one with a stray newline.
    if key.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(Error::InvalidInput(
            "the API key holds a control or non-ASCII character (a stray newline?): check KIE_API_KEY"
                .into(),
        ));
    }
    Ok(())
}

pub(crate) fn new_agent(timeouts: Timeouts) -> Agent {
    let config = Agent::config_builder()
        // Error statuses carry the service's message in the body: read it ourselves.
        .http_status_as_error(false)
        // A redirect would turn the POST into a body-less GET or fail; report it instead.
        .max_redirects(0)
        .user_agent(concat!("kie-upload/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(timeouts.connect))
        .timeout_per_read(Some(timeouts.stall))
        .timeout_per_write(Some(timeouts.stall));
    #[cfg(feature = "native-tls")]
    let config = config.tls_config(
        ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::NativeTls)
            .build(),
    );
    config.build().new_agent()
}

/// Builds a [`Client`]: `Client::builder().api_key(key).base_url(url).build()?`.
#[derive(Default)]
pub struct ClientBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    allow_insecure_http: bool,
    timeouts: Timeouts,
    retry: RetryPolicy,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish()
    }
}

impl ClientBuilder {
    /// The API key, sent as `Authorization: Bearer <key>` to the base URL and nowhere else.
    /// Required.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The service's root; endpoints are appended to it, so it may carry a path prefix
    /// (`http://proxy.local/kie`). Default: [`DEFAULT_BASE_URL`]. A plain `http://` URL is refused
    /// unless its host is loopback or [`allow_insecure_http`](Self::allow_insecure_http) is set.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Allows a plain `http://` base URL on a non-loopback host, which sends the API key across the
    /// network in clear text. Default: `false`.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Sets the connect, stall and reply timeouts all at once.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.connect_timeout(timeout)
            .stall_timeout(timeout)
            .reply_timeout(timeout)
    }

    /// The longest wait to open a connection, TLS handshake included. Default: 30 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// The longest any single socket read or write may wait: a stall detector. An upload that keeps
    /// moving is never cut short, however long it takes. Default: 60 s.
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.stall = timeout;
        self
    }

    /// The longest wait for the service's reply once the body is sent, headers and body together
    /// (each read is also bounded by the stall timeout). Default: 120 s.
    pub fn reply_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.reply = timeout;
        self
    }

    /// How many times a failed upload is tried again, when the failure is worth it: connection
    /// failures, resets and stalls; HTTP 429, 500, 502, 503, 504; the service's codes 429, 455 and
    /// 500. A refusal (bad key, bad request), a size mismatch or a local error is never retried, and
    /// neither is an upload that cannot be repeated safely: a plain reader (its bytes are gone), or
    /// a source without a file name (a repeat could store a second copy). Default: 2.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retry.retries = retries;
        self
    }

    /// The wait before the first retry; each later wait doubles (up to 10 s), with jitter. A
    /// `Retry-After` from the server replaces it, up to 30 s. Default: 500 ms.
    pub fn retry_backoff(mut self, backoff: Duration) -> Self {
        self.retry.backoff = backoff;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let api_key = self.api_key.unwrap_or_default();
        check_api_key(&api_key)?;
        let base_url = self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base_url = check_base_url(base_url, self.allow_insecure_http)?;
        for (what, t) in [
            ("connect", self.timeouts.connect),
            ("stall", self.timeouts.stall),
            ("reply", self.timeouts.reply),
        ] {
            if t.is_zero() {
                return Err(Error::InvalidInput(format!(
                    "the {what} timeout is zero: give a positive duration"
                )));
            }
        }
        Ok(Client::from_parts(
            new_agent(self.timeouts),
            api_key,
            base_url,
            self.timeouts,
            self.retry,
        ))
    }
}

/// The scheme (`true` for https) and the authority (`user@host:port`) of an absolute http or https
/// URL given in lowercase; `None` for any other scheme.
fn http_authority(lower: &str) -> Option<(bool, &str)> {
    let (https, rest) = match lower.strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => (false, lower.strip_prefix("http://")?),
    };
    Some((
        https,
        rest.split(['/', '?', '#']).next().unwrap_or_default(),
    ))
}

/// Checks a URL for the service to fetch: absolute `http` or `https`, with a host, no white space.
pub(crate) fn check_remote_url(url: &str) -> Result<(), Error> {
    let lower = url.to_ascii_lowercase();
    let host = http_authority(&lower).map(|(_, authority)| authority.rsplit('@').next());
    if host.flatten().is_none_or(str::is_empty) {
        return Err(Error::InvalidInput(format!(
            "file URL {url:?} is not an absolute http:// or https:// URL: the service can fetch only those"
        )));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::InvalidInput(format!(
            "file URL {url:?} holds white space or a control character: percent-escape it"
        )));
    }
    Ok(())
}

/// Checks a base URL and returns it without a trailing `/`.
fn check_base_url(url: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let invalid = |why: &str| {
        Err(Error::InvalidInput(format!(
            "base URL {url:?} {why}: give one like {DEFAULT_BASE_URL}"
        )))
    };
    let lower = url.to_ascii_lowercase();
    let Some((https, authority)) = http_authority(&lower) else {
        return invalid("is not an http:// or https:// URL");
    };
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return invalid("holds white space or a control character");
    }
    if url.contains(['?', '#']) {
        return invalid("has a query or fragment");
    }
    if authority.contains('@') {
        return invalid("carries credentials; the API key is the only credential");
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return invalid("has no host");
    }
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !https && !loopback && !allow_insecure_http {
        return Err(Error::InvalidInput(format!(
            "base URL {url:?} is plain http to a non-loopback host, which would send the API key \
             in clear text: use https, or opt in with ClientBuilder::allow_insecure_http(true)"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            check_base_url("https://kieai.redpandaai.co/", false).unwrap(),
            "https://kieai.redpandaai.co"
        );
        assert_eq!(
            check_base_url("http://127.0.0.1:8787/proxy/kie", false).unwrap(),
            "http://127.0.0.1:8787/proxy/kie"
        );
        check_base_url("http://localhost:1", false).unwrap();
        check_base_url("http://[::1]:8080", false).unwrap();
        check_base_url("http://example.com", true).unwrap();
        for bad in [
            "http://example.com",
            "http://10.0.0.1:80",
            "ftp://x",
            "kieai.redpandaai.co",
            "https://",
            "https://user:pw@host",
            "https://host/?q=1",
            "https://ho st",
        ] {
            assert!(
                matches!(check_base_url(bad, false), Err(Error::InvalidInput(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn key_errors_do_not_echo_the_key() {
        let err = check_api_key("sk-secret\n").unwrap_err();
        assert!(!err.to_string().contains("sk-secret"));
        assert!(check_api_key("  ").is_err());
        check_api_key("abc123").unwrap();
    }
}
