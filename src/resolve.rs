//! The name lookup: ureq's own, with its failure kept as what it is. ureq passes the system's
//! "Name or service not known" on as a plain I/O error, which reads like a broken connection and
//! would be retried; here it becomes [`Unresolved`], naming the host, and is never retried.

use std::fmt;
use std::io;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// ureq's [`DefaultResolver`], whose failures name the host.
#[derive(Debug, Default)]
pub(crate) struct NamedLookup(DefaultResolver);

impl Resolver for NamedLookup {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.0.resolve(uri, config, timeout).map_err(|e| {
            let source = match e {
                // What the system's lookup said (getaddrinfo's error, in words).
                ureq::Error::Io(e) => Some(e),
                // Addresses only of a family not wanted.
                ureq::Error::HostNotFound => None,
                other => return other,
            };
            ureq::Error::Other(Box::new(Unresolved {
                host: uri.host().unwrap_or_default().to_owned(),
                source,
            }))
        })
    }
}

/// A host name that did not resolve.
#[derive(Debug)]
pub(crate) struct Unresolved {
    pub host: String,
    source: Option<io::Error>,
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot resolve host {}", self.host)
    }
}

impl std::error::Error for Unresolved {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
