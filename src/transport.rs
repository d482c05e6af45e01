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
//! The payload learns of the failure through a flag of the thread the upload runs on (ureq runs a
//! request on the calling thread), so that it stops reading the source at once; see
//! [`write_failed`].
//!
//! This uses `ureq::unversioned::transport`, which may change in a ureq minor release: hence the
//! tight version requirement on ureq in Cargo.toml.

use std::cell::Cell;
use std::io;

use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, NextTimeout, TcpConnector,
    Transport,
};

thread_local! {
    /// Set when a write on this thread's connection failed with a reset or broken pipe.
    static WRITE_FAILED: Cell<bool> = const { Cell::new(false) };
}

/// Whether a write of the current request failed since [`clear_write_failed`]: the server stopped
/// reading, and its answer (if any) is waiting to be read.
pub(crate) fn write_failed() -> bool {
    WRITE_FAILED.with(Cell::get)
}

/// Forgets an earlier request's write failure; called as each attempt starts.
pub(crate) fn clear_write_failed() {
    WRITE_FAILED.with(|f| f.set(false));
}

/// The connector chain: an HTTP CONNECT proxy when one is configured, TCP, the early-answer wrapper,
/// TLS, and above it the wrapper that lets an answer already read survive a close without
/// `close_notify`.
pub(crate) fn connector() -> impl Connector {
    let chain = ().chain(ConnectProxyConnector::default());
    let chain = chain
        .chain(TcpConnector::default())
        .chain(EarlyAnswerConnector);
    #[cfg(feature = "rustls")]
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
        _: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(AnswerKept))
    }
}

/// A transport on which the end of the connection, once an answer is waiting in the input buffer,
/// is "nothing more" rather than an error.
///
/// A server that refuses at the headers (answering `Expect: 100-continue` with a 401, say) and
/// closes without TLS's `close_notify` leaves its whole answer in ureq's input buffer; ureq then
/// asks for more input once before parsing it, and rustls reports the close as an unexpected end.
/// Plain TCP says "0 bytes" there, and ureq parses what it has; this makes TLS say the same. HTTP's
/// own framing still tells a whole answer from a cut one.
#[derive(Debug)]
struct AnswerKept<T>(T);

impl<T: Transport> AnswerKept<T> {
    fn kept(&mut self, read: Result<bool, ureq::Error>) -> Result<bool, ureq::Error> {
        match read {
            Err(ureq::Error::Io(e))
                if e.kind() == io::ErrorKind::UnexpectedEof
                    && !self.0.buffers().input().is_empty() =>
            {
                Ok(false)
            }
            other => other,
        }
    }
}

impl<T: Transport> Transport for AnswerKept<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.0.transmit_output(amount, timeout)
    }

    fn maybe_await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let read = self.0.maybe_await_input(timeout);
        self.kept(read)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let read = self.0.await_input(timeout);
        self.kept(read)
    }

    fn is_open(&mut self) -> bool {
        self.0.is_open()
    }

    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}

/// Wraps the transport below it in [`EarlyAnswer`].
#[derive(Debug)]
struct EarlyAnswerConnector;

impl<In: Transport> Connector<In> for EarlyAnswerConnector {
    type Out = EarlyAnswer<In>;

    fn connect(
        &self,
        _: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| EarlyAnswer {
            inner,
            broken: false,
        }))
    }
}

/// A transport that, once a write has failed with a reset or broken pipe, drops further writes and
/// still reads.
#[derive(Debug)]
struct EarlyAnswer<T> {
    inner: T,
    broken: bool,
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
                WRITE_FAILED.with(|f| f.set(true));
                Ok(())
            }
            other => other,
        }
    }

    fn maybe_await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.maybe_await_input(timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
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

/// What the wrapper does on a failed write, for the payload's tests.
#[cfg(test)]
pub(crate) fn tests_set_write_failed() {
    WRITE_FAILED.with(|f| f.set(true));
}
