//! The name lookup: ureq's own, with its failure kept as what it is. ureq passes the system's
//! "Name or service not known" on as a plain I/O error, which reads like a broken connection and
//! would be retried; here it becomes [`ErrorKind::HostNotFound`], naming the host, never retried,
//! carried through ureq (as `ureq::Error::Other`) to `reply::failure` as the client's error.

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use crate::{Error, ErrorKind};

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
            let host = uri.host().unwrap_or_default().to_owned();
            let unresolved = Error::new(ErrorKind::HostNotFound { host }).transient(false);
            ureq::Error::Other(Box::new(match e {
                // What the system's lookup said (getaddrinfo's error, in words).
                ureq::Error::Io(e) => unresolved.with_source(e),
                // Addresses only of a family not wanted.
                ureq::Error::HostNotFound => unresolved,
                other => return other,
            }))
        })
    }
}
