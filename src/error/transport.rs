//! The HTTP client's failures as an [`Error`]: a timeout, a TLS failure, or a broken connection.

use super::*;

impl Error {
    /// A failure of the HTTP client: a timeout, a TLS failure, or a broken connection.
    pub(crate) fn transport(error: ureq::Error) -> Error {
        let timed_out = match &error {
            ureq::Error::Timeout(_) => true,
            ureq::Error::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ),
            _ => false,
        };
        if timed_out {
            return Error::new(ErrorKind::Timeout).with_source(error);
        }
        // Our own links of the chain mark what they know: a failure on the way to the proxy, a
        // name that did not resolve.
        let error = match error {
            ureq::Error::Other(e) => match e.downcast::<crate::proxy::ProxyFailed>() {
                Ok(failed) => return crate::proxy::failure(failed.0),
                Err(e) => match e.downcast::<crate::resolve::Unresolved>() {
                    Ok(unresolved) => {
                        let host = unresolved.host.clone();
                        return Error::new(ErrorKind::HostNotFound { host })
                            .with_source(unresolved)
                            .transient(false);
                    }
                    Err(e) => ureq::Error::Other(e),
                },
            },
            other => other,
        };
        if let Some(reason) = crate::tls::failure(&error) {
            let mut e = Error::new(ErrorKind::Tls { reason }).with_source(error);
            e.inner.transient = false;
            return e;
        }
        if let ureq::Error::ConnectProxyFailed(_) = &error {
            return crate::proxy::failure(error);
        }
        let transient = !matches!(
            error,
            ureq::Error::BadUri(_)
                | ureq::Error::Http(_)
                | ureq::Error::HostNotFound
                | ureq::Error::InvalidProxyUrl
                | ureq::Error::RequireHttpsOnly(_)
                | ureq::Error::TlsRequired
        );
        let mut e = Error::new(ErrorKind::Transport).with_source(error);
        e.inner.transient = transient;
        e
    }
}
