//! [`Config`]: how the emulator behaves.

use std::time::Duration;

use crate::{DEFAULT_MAX_CONNECTIONS, DEFAULT_TTL};

/// How the emulator behaves; built with `mut self -> Self` setters.
#[derive(Clone)]
pub struct Config {
    pub(crate) api_key: String,
    pub(crate) port: u16,
    pub(crate) ttl: Duration,
    pub(crate) errors_in_body: bool,
    pub(crate) max_connections: usize,
    pub(crate) honour_expect: bool,
    pub(crate) tls: bool,
    pub(crate) answer_delay: Duration,
}

impl Config {
    /// Accepts `Authorization: Bearer <api_key>`; every other setting at its default.
    pub fn new(api_key: impl Into<String>) -> Self {
        Config {
            api_key: api_key.into(),
            port: 0,
            ttl: DEFAULT_TTL,
            errors_in_body: true,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            honour_expect: true,
            tls: false,
            answer_delay: Duration::ZERO,
        }
    }

    /// The port on 127.0.0.1. Default: 0, a free port chosen by the system.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// How long an upload can be downloaded. Default: [`DEFAULT_TTL`] (3 days).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Answer the service's errors with HTTP 200 and the error in the body's `code` (`true`), as
    /// independent clients found the live service doing, or with the error's own HTTP status
    /// (`false`). Default: `true`.
    ///
    /// Only the service's envelope follows this; a fault that names an HTTP status
    /// ([`Fault::Status`](crate::Fault::Status), [`Fault::Html`](crate::Fault::Html), ...) and the front end's own refusals (431, 503, a bad
    /// chunk) always use a real status.
    pub fn errors_in_body(mut self, on: bool) -> Self {
        self.errors_in_body = on;
        self
    }

    /// How many connections are served at once; one more is answered `503 Service Unavailable`
    /// with `Retry-After: 1` and closed. A URL upload that fetches from the emulator itself needs
    /// a second connection. Default: [`DEFAULT_MAX_CONNECTIONS`] (64).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Answer `Expect: 100-continue` with `HTTP/1.1 100 Continue` before reading the body (`true`),
    /// or ignore the header and just wait for the body (`false`), as many servers do.
    /// Default: `true`.
    pub fn honour_expect(mut self, on: bool) -> Self {
        self.honour_expect = on;
        self
    }

    /// Wait this long before every answer the server writes, `100 Continue` included, as a long
    /// link's round trip would (over loopback, say 50 ms for a link far away). Default: none.
    pub fn answer_delay(mut self, delay: Duration) -> Self {
        self.answer_delay = delay;
        self
    }

    /// Serve HTTPS instead of HTTP, with a server certificate for `127.0.0.1`, `::1` and
    /// `localhost` signed by a certificate authority made up at start (see
    /// [`Emulator::ca_cert_pem`](crate::Emulator::ca_cert_pem)). Default: `false`.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key stays out of Debug output, as everywhere in this project.
        f.debug_struct("Config")
            .field("port", &self.port)
            .field("ttl", &self.ttl)
            .field("errors_in_body", &self.errors_in_body)
            .field("max_connections", &self.max_connections)
            .field("honour_expect", &self.honour_expect)
            .field("tls", &self.tls)
            .field("answer_delay", &self.answer_delay)
            .finish_non_exhaustive()
    }
}
