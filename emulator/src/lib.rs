//! A local stand-in for the kie.ai File Upload API, for tests and offline demos.
//!
//! It serves the three upload endpoints (`/api/file-stream-upload`, `/api/file-base64-upload`,
//! `/api/file-url-upload`) with the documented fields and JSON envelope, checks the Bearer key,
//! parses multipart bodies with an independent parser ([multer]), stores files in a temporary
//! directory and serves each `downloadUrl` without credentials until its time to live runs out.
//!
//! It is meant to be as hard on a client as the live service and the front ends before it:
//!
//! - errors come, by default, as HTTP 200 with the error in the body's `code`, as independent
//!   clients found the live service doing ([`Config::errors_in_body`]);
//! - request heads and chunk size lines are bounded (431 or 400, then the connection is closed),
//!   connections beyond [`Config::max_connections`] get a 503, and the base64 endpoint refuses more
//!   than [`BASE64_MAX_DECODED`] bytes;
//! - tests script [`Fault`]s for the next uploads, to any endpoint or to one: error statuses, HTML
//!   pages from a proxy, early refusals that close the socket while the client is still sending
//!   (or, as nginx does, keep it open), stalls, truncated or malformed replies, the second
//!   documented success shape, replies that echo the API key back;
//! - it can serve HTTPS with a throwaway certificate authority ([`Config::tls`]).
//!
//! Requests are handled concurrently (a thread a connection), so a URL upload may fetch from the
//! emulator itself. Every request is recorded for tests to inspect ([`Emulator::requests`]).
//!
//! ```
//! use kie_upload_emulator::{Config, Emulator, Fault};
//!
//! let emulator = Emulator::start(Config::new("test-key"))?;
//! println!("listening on {}", emulator.base_url());
//! // The next two uploads get a 503; the third goes through.
//! emulator.inject(Fault::Status { status: 503, retry_after: None }, 2);
//! assert!(emulator.requests().is_empty());
//! # Ok::<_, std::io::Error>(())
//! ```
//!
//! Nothing here reaches the network beyond 127.0.0.1, except a URL upload of a URL elsewhere.
//!
//! [multer]: https://docs.rs/multer

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rust_2018_idioms)]

use std::io;
use std::path::Path;
use std::time::Duration;

mod config;
mod faults;
mod form;
mod http;
mod record;
mod server;
mod service;
mod store;
mod tls;
mod util;

pub use config::Config;
pub use faults::Fault;
pub use record::{Part, RecordedRequest};
#[doc(hidden)]
pub use tls::ring_provider;

/// The service's retention: three days.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3 * 24 * 60 * 60);

/// The default cap on connections served at once (see [`Config::max_connections`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// The most bytes the base64 endpoint accepts, counted after decoding: the service's 10 MB.
pub const BASE64_MAX_DECODED: u64 = 10_000_000;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// A running emulator; it stops, and its files are deleted, when dropped.
pub struct Emulator {
    server: server::Server,
}

impl Emulator {
    /// Starts the emulator on 127.0.0.1 and returns once it accepts connections.
    ///
    /// Fails when the port cannot be bound or the temporary directory cannot be made.
    pub fn start(config: Config) -> io::Result<Emulator> {
        Ok(Emulator {
            server: server::Server::start(config)?,
        })
    }

    /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` with [`Config::tls`]: the base URL to
    /// give a client.
    pub fn base_url(&self) -> &str {
        self.server.base_url()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        self.server.api_key()
    }

    /// Whether it serves HTTPS ([`Config::tls`]).
    pub fn is_tls(&self) -> bool {
        self.server.ca_cert().is_some()
    }

    /// The certificate authority (PEM) that signed the server's certificate, with
    /// [`Config::tls`]: give it to a client as a root to trust.
    ///
    /// ```
    /// use kie_upload_emulator::{Config, Emulator};
    ///
    /// let emulator = Emulator::start(Config::new("test-key").tls(true))?;
    /// assert!(emulator.base_url().starts_with("https://127.0.0.1:"));
    /// assert!(emulator.ca_cert_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    /// # Ok::<_, std::io::Error>(())
    /// ```
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.server.ca_cert().map(|ca| ca.pem.as_str())
    }

    /// The file, in the emulator's temporary directory, that holds [`Emulator::ca_cert_pem`].
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.server.ca_cert().map(|ca| ca.path.as_path())
    }

    /// Applies `fault` to the next `times` requests to any of the upload endpoints (after any
    /// faults already scripted). Downloads are never affected.
    pub fn inject(&self, fault: Fault, times: usize) {
        self.server.inject(None, fault, times);
    }

    /// Applies `fault` to the next `times` requests to `endpoint`, a path such as
    /// `/api/file-stream-upload` (what comes before `/api/` does not matter), after any faults
    /// already scripted for it; requests to other endpoints pass it by. A request meets the first
    /// waiting fault that was injected for its endpoint or with [`Emulator::inject`].
    ///
    /// ```
    /// use kie_upload_emulator::{Config, Emulator, Fault};
    ///
    /// let emulator = Emulator::start(Config::new("test-key"))?;
    /// let fault = Fault::Status { status: 503, retry_after: Some("0".into()) };
    /// emulator.inject_at("/api/file-base64-upload", fault.clone(), 1);
    /// assert_eq!(emulator.unused_faults(), [fault]);
    /// # Ok::<_, std::io::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// When `endpoint` names none of the three upload endpoints: such a fault could never apply.
    #[track_caller]
    pub fn inject_at(&self, endpoint: &str, fault: Fault, times: usize) {
        let Some(aim) = service::Endpoint::of(endpoint) else {
            panic!("inject_at: {endpoint:?} is not an upload endpoint (/api/file-stream-upload, /api/file-base64-upload, /api/file-url-upload)");
        };
        self.server.inject(Some(aim), fault, times);
    }

    /// The scripted faults that no request has met yet, in the order requests would meet them.
    pub fn unused_faults(&self) -> Vec<Fault> {
        self.server.unused_faults()
    }

    /// Panics, listing them with their endpoints, if any scripted fault has not met a request: a
    /// test's check that every fault it injected was used.
    #[track_caller]
    pub fn assert_faults_used(&self) {
        let unused = self.server.describe_unused_faults();
        assert!(
            unused.is_empty(),
            "scripted faults that met no request:\n{unused}"
        );
    }

    /// Drops the scripted faults not yet applied.
    pub fn clear_faults(&self) {
        self.server.clear_faults();
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// The requests received so far for an endpoint path ending in `endpoint`, such as
    /// `/api/file-stream-upload`: the attempts a client made.
    pub fn attempts(&self, endpoint: &str) -> usize {
        self.server
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(endpoint))
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.server.clear_requests();
    }

    /// The bytes stored under `file_path` (`uploadPath/fileName`), if any.
    pub fn stored(&self, file_path: &str) -> Option<Vec<u8>> {
        self.server.stored(file_path)
    }

    /// Blocks until the server stops (for the binary, which runs until killed).
    pub fn wait(self) {
        self.server.wait();
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key stays out of Debug output, as everywhere in this project.
        f.debug_struct("Emulator")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}
