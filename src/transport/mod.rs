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
//! Below TLS the same wrapper also gathers TLS records into one write: rustls hands ureq's adapter
//! one record (16 KiB) per write, and ureq's TCP transport makes each one its own `sendto`, eight
//! times as many system calls as plain HTTP, which writes its 128 KiB output buffer at once. So
//! [`Coalesced`] lets the records pile up in the TCP transport's own output buffer and writes
//! them when it is full, and before anything waits for input: every read (the handshake's, the
//! `100 Continue`'s, the reply's) first sends what is held, so the server sees exactly the bytes it
//! saw before, only in fewer writes. A connection is checked for reuse only after its reply was
//! read, so nothing is held then; should anything be, it is sent before the check.
//!
//! This uses `ureq::unversioned::transport`, which may change in a ureq minor release: hence the
//! tight version requirement on ureq in Cargo.toml.

use std::cell::Cell;
use std::io;

use crate::proxy::Blamed;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    TcpConnector, Transport,
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

impl<T: Transport> AnswerKept<T> {
    fn kept(&mut self, read: Result<bool, ureq::Error>) -> Result<bool, ureq::Error> {
        match read {
            Err(ureq::Error::Io(e))
                if e.kind() == io::ErrorKind::UnexpectedEof
                    && !self.inner.buffers().input().is_empty() =>
            {
                Ok(false)
            }
            other => other,
        }
    }
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
        self.kept(read)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// Wraps the transport below it in [`EarlyAnswer`], and that in [`Coalesced`] when TLS goes on
/// top (plain HTTP already writes whole buffers).
#[derive(Debug)]
struct EarlyAnswerConnector;

impl<In: Transport> Connector<In> for EarlyAnswerConnector {
    type Out = Either<EarlyAnswer<In>, Coalesced<EarlyAnswer<In>>>;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| {
            let early = EarlyAnswer {
                inner,
                broken: false,
                tls: details.needs_tls(),
            };
            if details.needs_tls() {
                Either::B(Coalesced::new(early, details.config.input_buffer_size()))
            } else {
                Either::A(early)
            }
        }))
    }
}

/// A transport below TLS that holds what TLS writes in the output buffer of the transport under
/// it, and writes it there in one go when the buffer is full or before any wait for input.
///
/// The output stays where the TCP transport writes from (no copy); the input has a buffer of its
/// own, because [`Buffers::input`] borrows immutably and cannot reach through to the transport.
#[derive(Debug)]
struct Coalesced<T> {
    inner: T,
    /// Bytes at the start of the inner output buffer not yet sent.
    held: usize,
    /// What the inner transport read, handed out to TLS from here.
    input: LazyBuffers,
    /// The last timeout ureq gave, for sending what is held before a reuse check.
    last_timeout: NextTimeout,
}

impl<T: Transport> Coalesced<T> {
    fn new(inner: T, input_size: usize) -> Self {
        Coalesced {
            inner,
            held: 0,
            // The output side of these buffers is never used: the inner transport's is.
            input: LazyBuffers::new(input_size, 1),
            last_timeout: NextTimeout::default(),
        }
    }

    /// Sends what is held.
    fn flush(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.last_timeout = timeout;
        if self.held == 0 {
            return Ok(());
        }
        let held = std::mem::take(&mut self.held);
        self.inner.transmit_output(held, timeout)
    }
}

impl<T: Transport> Buffers for Coalesced<T> {
    fn output(&mut self) -> &mut [u8] {
        let held = self.held;
        &mut self.inner.buffers().output()[held..]
    }

    fn input(&self) -> &[u8] {
        self.input.input()
    }

    fn input_append_buf(&mut self) -> &mut [u8] {
        self.input.input_append_buf()
    }

    fn input_appended(&mut self, amount: usize) {
        self.input.input_appended(amount);
    }

    fn input_consume(&mut self, amount: usize) {
        self.input.input_consume(amount);
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        let held = self.held;
        (
            self.input.input_append_buf(),
            &mut self.inner.buffers().output()[held..],
        )
    }

    fn can_use_input(&self) -> bool {
        self.input.can_use_input()
    }
}

impl<T: Transport> Transport for Coalesced<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.held += amount;
        self.last_timeout = timeout;
        // Full: send it, so that the next write finds room (a write of nothing would be an error).
        if self.held >= self.inner.buffers().output().len() {
            self.flush(timeout)?;
        }
        Ok(())
    }

    // No `maybe_await_input` of our own: ureq reaches this transport through a `Box` and an
    // `Either`, which forward only `await_input` (the default `maybe_await_input` returns input
    // already buffered, and otherwise calls `await_input`).
    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        // Whatever comes next from the server, it must first have all that was written.
        self.flush(timeout)?;
        if self.inner.buffers().input().is_empty() && !self.inner.await_input(timeout)? {
            return Ok(false);
        }
        let from = self.inner.buffers().input();
        let to = self.input.input_append_buf();
        let amount = from.len().min(to.len());
        to[..amount].copy_from_slice(&from[..amount]);
        self.input.input_appended(amount);
        self.inner.buffers().input_consume(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        let timeout = self.last_timeout;
        self.flush(timeout).is_ok() && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
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

impl<T: Transport> EarlyAnswer<T> {
    fn heard(&mut self, read: Result<bool, ureq::Error>) -> Result<bool, ureq::Error> {
        if self.tls && self.inner.buffers().input().starts_with(b"HTTP/") {
            note(|seen| seen.other_protocol = Some(false));
        }
        read
    }
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

    fn maybe_await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let read = self.inner.maybe_await_input(timeout);
        self.heard(read)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let read = self.inner.await_input(timeout);
        self.heard(read)
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

#[cfg(test)]
mod tests;
