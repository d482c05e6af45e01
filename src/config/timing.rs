//! The builder's settings of time: timeouts, retries and `Expect: 100-continue`.

use std::time::Duration;

use crate::ClientBuilder;

impl ClientBuilder {
    /// Sets the connect, stall and reply timeouts all at once.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// # use std::time::Duration;
    /// emu.inject(Fault::NeverAnswer, 1);
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .timeout(Duration::from_millis(200)).retries(0).build()?;
    /// assert!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err().kind() == &kie_upload::ErrorKind::Timeout);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        self.connect_timeout(timeout)
            .stall_timeout(timeout)
            .reply_timeout(timeout)
    }

    /// The longest wait to open a connection, TLS handshake included. Default: 30 s; at most a day.
    ///
    /// ```no_run
    /// let client = kie_upload::Client::builder().with_env()
    ///     .connect_timeout(std::time::Duration::from_secs(5)) // fail fast on a dead network
    ///     .build()?;
    /// # Ok::<_, kie_upload::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// The longest any single socket read or write may wait: a stall detector. An upload that keeps
    /// moving is never cut short, however long it takes. Default: 60 s; at most a day.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// # use std::time::Duration;
    /// // The reply trickles in a byte a second: a stall of 100 ms ends it.
    /// emu.inject(Fault::Drip { pause: Duration::from_secs(1) }, 1);
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .stall_timeout(Duration::from_millis(100)).retries(0).build()?;
    /// assert!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err().kind() == &kie_upload::ErrorKind::Timeout);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.stall = timeout;
        self
    }

    /// The longest wait for the service's reply once the body is sent, its status line and headers
    /// and its body together (one deadline). Default: 120 s; at most a day.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// # use std::time::Duration;
    /// emu.inject(Fault::NeverAnswer, 1);
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .reply_timeout(Duration::from_millis(200)).retries(0).build()?;
    /// assert!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err().kind() == &kie_upload::ErrorKind::Timeout);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn reply_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.reply = timeout;
        self
    }

    /// How many times a failed upload is tried again, when the failure is worth it (the rules are
    /// on [`Error::is_retryable`](crate::Error::is_retryable)) and the upload can be repeated safely: never a plain reader, a
    /// pipe or a device (their bytes are gone), nor an upload without a file name (a repeat could
    /// store a second copy). Default: 2.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// emu.inject(Fault::Status { status: 503, retry_after: Some("0".into()) }, 1);
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().retries(1).build()?;
    /// assert_eq!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt"))?.file_size, 2); // the second attempt passed
    /// assert_eq!(emu.attempts("/api/file-stream-upload"), 2);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn retries(mut self, retries: u32) -> Self {
        self.retry.retries = retries;
        self
    }

    /// The wait before the first retry; each later wait doubles (up to 10 s), with jitter. A
    /// `Retry-After` from the server in whole seconds replaces it, up to 30 s (one in the
    /// HTTP-date form counts as none: the backoff applies). Default: 500 ms; at most a day.
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// # use std::time::{Duration, Instant};
    /// emu.inject(Fault::Status { status: 503, retry_after: None }, 1);
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
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
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy()
    ///     .expect_continue(false).build()?;
    /// client.upload(Upload::bytes(vec![0u8; 2 << 20], "blobs").file_name("zeros.bin"))?;
    /// assert!(!emu.requests()[0].expect_continue);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn expect_continue(mut self, on: bool) -> Self {
        self.expect_continue = Some(on);
        self
    }
}
