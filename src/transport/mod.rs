//! The connection under TLS, wrapped so that a server which answers early and closes is heard.
//!
//! A server (or the auth filter or proxy in front of it) may answer 401, 402 or 413 after reading
//! only part of a large body, and close. The client's next write then fails with a reset or a broken
//! pipe, and ureq would report that and never read the answer, although the answer is already in
//! the socket's receive buffer. So this wrapper sits between TCP and TLS: after its first write
//! fails with a reset or broken pipe it reports every later write as sent (dropping it), says the
//! connection is not open (so it is never pooled), and lets ureq go on to read the answer, which TLS
//! decrypts from what the socket still holds. A wrapper above TLS could not do this with rustls,
//! which flushes its pending output (and fails again) before every read.
//!
//! The payload learns of the failure through what the thread the upload runs on has [`seen`] (ureq
//! runs a request on the calling thread, and its API gives a connector no other way back up to
//! the request), so that it stops reading the source at once; the client learns there too of a
//! `100 Continue` and of a server that speaks the other protocol.
//!
//! This uses `ureq::unversioned::transport`, which may change in a ureq minor release: hence the
//! tight version requirement on ureq in Cargo.toml.

use std::cell::Cell;
use std::io;

use crate::proxy::Blamed;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, NextTimeout, TcpConnector,
    Transport,
};

/// What this thread's connection saw since the current request started (ureq runs a request on
/// the calling thread).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Seen {
    /// A write failed with a reset or broken pipe: the server stopped reading, and its answer (if
    /// any) is waiting to be read.
    pub write_failed: bool,
    /// A `100 Continue` was read.
    pub continued: bool,
    /// The server answered in the other protocol than the URL's scheme: `Some(true)` TLS to an
    /// `http://` request (the URL should say `https://`), `Some(false)` plain HTTP to an
    /// `https://` one.
    pub other_protocol: Option<bool>,
}

thread_local! {
    static SEEN: Cell<Seen> = Cell::default();
}

/// What this thread's connection saw since [`clear_seen`].
pub(crate) fn seen() -> Seen {
    SEEN.get()
}

/// Forgets what an earlier request saw; called as each request starts.
pub(crate) fn clear_seen() {
    SEEN.set(Seen::default());
}

/// Notes something this thread's connection saw.
pub(crate) fn note(change: impl FnOnce(&mut Seen)) {
    let mut seen = SEEN.get();
    change(&mut seen);
    SEEN.set(seen);
}

/// The first bytes of a TLS record from a server: a handshake (0x16) or an alert (0x15), version
/// 3.x. No HTTP response starts so.
fn looks_like_tls(input: &[u8]) -> bool {
    matches!(input, [0x15 | 0x16, 0x03, ..])
}

/// The connector chain: a SOCKS proxy (with the `socks` feature) or an HTTP CONNECT proxy when one
/// is configured, each with its failures marked as the proxy's; TCP, the early-answer wrapper,
/// TLS, and above it the wrapper that lets an answer already read survive a close without
/// `close_notify`.
pub(crate) fn connector() -> impl Connector {
    // Without the `socks` feature a SOCKS proxy never gets here: `proxy::checked` refuses it.
    #[cfg(feature = "socks")]
    let chain = ().chain(Blamed(
        ureq::unversioned::transport::SocksConnector::default(),
    ));
    #[cfg(not(feature = "socks"))]
    let chain = ();
    let chain = chain.chain(Blamed(ConnectProxyConnector::default()));
    let chain = chain
        .chain(TcpConnector::default())
        .chain(EarlyAnswerConnector);
    #[cfg(feature = "_rustls")]
    let chain = chain.chain(ureq::unversioned::transport::RustlsConnector::default());
    #[cfg(feature = "native-tls")]
    let chain = chain.chain(ureq::unversioned::transport::NativeTlsConnector::default());
    chain.chain(AnswerKeptConnector)
}

/// Wraps the transport above TLS in [`AnswerKept`].
#[derive(Debug)]
struct AnswerKeptConnector;

impl<In: Transport> Connector<In> for AnswerKeptConnector {
    type Out = AnswerKept<In>;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let plain = details.uri.scheme() == Some(&ureq::http::uri::Scheme::HTTP);
        Ok(chained.map(|inner| AnswerKept {
            inner,
            handed: false,
            plain,
        }))
    }
}

/// A transport on which an answer already waiting in the input buffer is parsed as it is, without
/// waiting for more.
///
/// A server that refuses at the headers (answering `Expect: 100-continue` with a 413, say) sends
/// its whole answer at once, and ureq reads it while it waits for the `100 Continue`; then, before
/// parsing it as the reply, ureq asks for more input once (`await_input`, as the bytes were not
/// "used" yet). A server that closes makes that read end at once; one that keeps the connection
/// open while it drains the body (nginx's lingering close, 5 s) makes it wait until it closes.
/// So while the buffer holds a whole response head not yet handed up, the first ask for more is
/// answered "here it is" without a read; any ask after that reads as before (an answer cut short
/// is then waited for, and HTTP's own framing tells a whole answer from a cut one).
///
/// The same read after a close without TLS's `close_notify` makes rustls report an unexpected
/// end; with an answer waiting in the buffer, that is "nothing more" here, as plain TCP says.
#[derive(Debug)]
struct AnswerKept<T> {
    inner: T,
    /// The response head in the buffer was handed up without a read; the next ask reads.
    handed: bool,
    /// The URL says `http://`: what is read is the server's own bytes, which a TLS server's
    /// answer (an alert) gives away.
    plain: bool,
}

/// Whether `input` starts with a whole HTTP response head (status line and headers).
fn whole_head(input: &[u8]) -> bool {
    input.starts_with(b"HTTP/") && input.windows(4).any(|w| w == b"\r\n\r\n")
}

impl<T: Transport> Transport for AnswerKept<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.inner.transmit_output(amount, timeout)
    }

    // Only `await_input`: ureq calls it through a `Box`, whose `maybe_await_input` is the default
    // (input already used up, or none, then `await_input`).
    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        if !self.handed && whole_head(self.inner.buffers().input()) {
            self.handed = true;
            return Ok(true);
        }
        self.handed = false;
        let read = self.inner.await_input(timeout);
        let input = self.inner.buffers().input();
        if input.starts_with(b"HTTP/1.1 100") || input.starts_with(b"HTTP/1.0 100") {
            note(|seen| seen.continued = true);
        }
        if self.plain && looks_like_tls(input) {
            note(|seen| seen.other_protocol = Some(true));
        }
        match read {
            Err(ureq::Error::Io(e))
                if e.kind() == io::ErrorKind::UnexpectedEof && !input.is_empty() =>
            {
                Ok(false)
            }
            other => other,
        }
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// Wraps the transport below TLS in [`EarlyAnswer`].
#[derive(Debug)]
struct EarlyAnswerConnector;

impl<In: Transport> Connector<In> for EarlyAnswerConnector {
    type Out = EarlyAnswer<In>;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| EarlyAnswer {
            inner,
            broken: false,
            tls: details.needs_tls(),
        }))
    }
}

/// A transport that, once a write has failed with a reset or broken pipe, drops further writes and
/// still reads.
#[derive(Debug)]
struct EarlyAnswer<T> {
    inner: T,
    broken: bool,
    /// TLS goes above: what the server sends should be TLS records, and plain HTTP there means
    /// the URL's `https://` names a plain-HTTP port.
    tls: bool,
}

impl<T: Transport> Transport for EarlyAnswer<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.broken {
            return Ok(());
        }
        match self.inner.transmit_output(amount, timeout) {
            Err(ureq::Error::Io(e)) if closed_by_peer(&e) => {
                self.broken = true;
                note(|seen| seen.write_failed = true);
                Ok(())
            }
            other => other,
        }
    }

    // Only `await_input`: ureq reaches this transport through a `Box` (TLS's adapter, or the
    // wrapper above), whose `maybe_await_input` is the default, which calls this.
    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let read = self.inner.await_input(timeout);
        if self.tls && self.inner.buffers().input().starts_with(b"HTTP/") {
            note(|seen| seen.other_protocol = Some(false));
        }
        read
    }

    fn is_open(&mut self) -> bool {
        !self.broken && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// Whether a write failed because the peer closed or reset the connection (not a timeout).
fn closed_by_peer(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}
