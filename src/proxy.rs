//! The proxy a client goes through: set in code, turned off, or read from the environment when the
//! client is built.

use crate::Error;

/// Where the proxy setting comes from.
#[derive(Debug, Clone, Default)]
pub(crate) enum ProxySetting {
    /// `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (and `NO_PROXY`), read when the client is built.
    #[default]
    FromEnv,
    Off,
    Url(String),
}

impl ProxySetting {
    /// The proxy to give the agent, if any.
    pub(crate) fn resolve(self) -> Result<Option<ureq::Proxy>, Error> {
        Ok(match self {
            ProxySetting::FromEnv => ureq::Proxy::try_from_env(),
            ProxySetting::Off => None,
            // Not echoed: the caller has it, and it may carry the proxy's password.
            ProxySetting::Url(url) => Some(ureq::Proxy::new(&url).map_err(|_| {
                Error::invalid(
                    "the proxy URL given is not a proxy URL such as http://proxy.local:3128",
                )
            })?),
        })
    }
}
