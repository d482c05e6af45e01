//! The proxy a client goes through: the one given to [`ClientBuilder::proxy`](crate::ClientBuilder::proxy),
//! or the one the environment names, read as curl reads it. Checked when the client is built: a
//! variable that does not parse, or a SOCKS proxy without the `socks` feature, is refused there,
//! never taken for "no proxy" (the upload would go around the proxy). Also the proxy's links in
//! the connector chain, which mark every failure on the way to the proxy as the proxy's.

use std::ffi::OsString;
use std::fmt;
use std::io;

use ureq::unversioned::transport::{ConnectionDetails, Connector, Transport};
use ureq::{Proxy, ProxyProtocol};

use crate::{Error, ErrorKind};

/// Where the proxy setting comes from.
#[derive(Clone, Default)]
pub(crate) enum ProxySetting {
    /// The proxy variables (see [`ClientBuilder::proxy`](crate::ClientBuilder::proxy)), read when
    /// the client is built.
    #[default]
    FromEnv,
    Off,
    Url(String),
}

impl ProxySetting {
    /// The proxy for a client whose base URL is `https` or not, or the reason it cannot be used.
    pub(crate) fn choose(&self, https: bool) -> Result<Option<Chosen>, Refused> {
        match self {
            ProxySetting::FromEnv => from_env(https, cfg!(windows), process_env),
            ProxySetting::Off => Ok(None),
            ProxySetting::Url(url) => from_url(url).map(Some),
        }
    }
}

impl fmt::Debug for ProxySetting {
    /// Without the proxy's credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxySetting::FromEnv => f.write_str("FromEnv"),
            ProxySetting::Off => f.write_str("Off"),
            ProxySetting::Url(url) => match from_url(url) {
                Ok(chosen) => f.debug_tuple("Url").field(&chosen.about.url).finish(),
                Err(_) => f.write_str("Url(<not a proxy URL>)"),
            },
        }
    }
}

/// The proxy a client uses, and what errors say about it.
#[derive(Debug, Clone)]
pub(crate) struct Chosen {
    pub proxy: Proxy,
    pub about: About,
}

/// Which proxy (its URL with the credentials masked), and the variable that set it, spelled as
/// the environment spells it (`None` for [`ClientBuilder::proxy`](crate::ClientBuilder::proxy)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct About {
    pub url: Option<String>,
    pub var: Option<String>,
}

impl About {
    /// `error`, said to concern this proxy.
    pub(crate) fn mark(&self, error: Error) -> Error {
        error.with_proxy(self.url.as_deref(), self.var.as_deref())
    }
}

/// A proxy setting refused when the client is built. Kept as data, so that a client made by
/// `Client::new` (which cannot fail) refuses every upload with it instead of going direct.
#[derive(Debug, Clone)]
pub(crate) struct Refused {
    reason: String,
    about: About,
}

impl Refused {
    pub(crate) fn error(&self) -> Error {
        self.about.mark(Error::invalid(self.reason.clone()))
    }
}

/// The variables that name a proxy for a base URL of this scheme, in curl's order: the scheme's
/// own (lowercase first), then `all_proxy`. Like curl, only the lowercase `http_proxy`: a CGI
/// program gets the request's `Proxy:` header as `HTTP_PROXY` ("httpoxy"). On Windows, where
/// `http_proxy` and `HTTP_PROXY` are one variable, it is honoured as curl in effect honours it,
/// but not in a CGI program (`cgi`: `REQUEST_METHOD` is set), as Go and Python refuse it there.
fn proxy_vars(https: bool, cgi: bool) -> &'static [&'static str] {
    match (https, cgi) {
        (true, _) => &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"],
        (false, false) => &["http_proxy", "all_proxy", "ALL_PROXY"],
        (false, true) => &["all_proxy", "ALL_PROXY"],
    }
}

/// One variable of the process's environment: its name as the environment spells it, and its
/// value. On Windows names are case-insensitive, so `https_proxy` finds `HTTPS_PROXY` too, and
/// errors name it as the user set it.
fn process_env(name: &str) -> Option<(String, OsString)> {
    if cfg!(windows) {
        std::env::vars_os().find_map(|(spelled, value)| {
            let spelled = spelled.into_string().ok()?;
            spelled
                .eq_ignore_ascii_case(name)
                .then_some((spelled, value))
        })
    } else {
        std::env::var_os(name).map(|value| (name.to_owned(), value))
    }
}

/// The proxy the environment names for a base URL of this scheme, through `var` (the process's
/// environment, or a test's; `windows` when its names are case-insensitive). The first of
/// [`proxy_vars`] that is set decides, as in curl: empty means no proxy; a value that does not
/// parse is refused. `no_proxy` (or `NO_PROXY`) lists hosts reached directly, as curl reads it:
/// `example.com` and `.example.com` both mean the domain and every name under it, `*` means
/// every host; entries are compared by name (CIDR ranges are not understood).
pub(crate) fn from_env(
    https: bool,
    windows: bool,
    var: impl Fn(&str) -> Option<(String, OsString)>,
) -> Result<Option<Chosen>, Refused> {
    let cgi = windows && var("REQUEST_METHOD").is_some();
    let Some((name, value)) = proxy_vars(https, cgi).iter().find_map(|&name| var(name)) else {
        return Ok(None);
    };
    let not_a_url = || Refused {
        reason: format!("{name} is not a proxy URL such as http://proxy.local:3128"),
        about: About {
            var: Some(name.clone()),
            ..About::default()
        },
    };
    let value = value.to_str().ok_or_else(not_a_url)?.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let proxy = Proxy::new(value).map_err(|_| not_a_url())?;
    let exempt = ["no_proxy", "NO_PROXY"].iter().find_map(|&n| var(n));
    let exempt = exempt.as_ref().and_then(|(_, v)| v.to_str()).unwrap_or("");
    let proxy = with_no_proxy(proxy, exempt).map_err(|_| not_a_url())?;
    checked(proxy, Some(name)).map(Some)
}

/// The proxy given to the builder, used for every request whatever the environment says.
pub(crate) fn from_url(url: &str) -> Result<Chosen, Refused> {
    // Not echoed: the caller has it, and it may carry the proxy's password.
    let proxy = Proxy::new(url.trim()).map_err(|_| Refused {
        reason: "the proxy URL given is not a proxy URL such as http://proxy.local:3128".into(),
        about: About::default(),
    })?;
    checked(proxy, None)
}

/// Refuses a SOCKS proxy when the `socks` feature is off: going direct instead would send the
/// traffic around a proxy that may be there for privacy or policy.
fn checked(proxy: Proxy, var: Option<String>) -> Result<Chosen, Refused> {
    let set_by = var.as_ref().map(|name| format!(" (set by {name})"));
    let about = About {
        url: Some(masked(&proxy)),
        var,
    };
    // ureq's protocols other than HTTP's are SOCKS's.
    let http = matches!(proxy.protocol(), ProxyProtocol::Http | ProxyProtocol::Https);
    if !http && !cfg!(feature = "socks") {
        return Err(Refused {
            reason: format!(
                "the proxy {}{} is a SOCKS proxy, which needs kie-upload's `socks` feature",
                about.url.as_deref().unwrap_or_default(),
                set_by.unwrap_or_default()
            ),
            about,
        });
    }
    Ok(Chosen { proxy, about })
}

/// `scheme://host:port`, with `***@` in place of any user name and password.
fn masked(proxy: &Proxy) -> String {
    let scheme = proxy
        .uri()
        .scheme_str()
        .unwrap_or("http")
        .to_ascii_lowercase();
    let credentials = if proxy.username().is_some() || proxy.password().is_some() {
        "***@"
    } else {
        ""
    };
    format!("{scheme}://{credentials}{}:{}", proxy.host(), proxy.port())
}

/// `proxy` with the hosts of a `no_proxy` list exempted, in curl's sense (see [`from_env`]),
/// written as ureq's entries: a name means itself (exact) and the names under it (suffix).
fn with_no_proxy(proxy: Proxy, list: &str) -> Result<Proxy, ureq::Error> {
    let entries: Vec<String> = list
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return Ok(proxy);
    }
    let mut builder = Proxy::builder(proxy.protocol())
        .host(proxy.host())
        .port(proxy.port())
        .resolve_target(proxy.resolve_target());
    if let Some(user) = proxy.username() {
        builder = builder.username(user);
    }
    if let Some(password) = proxy.password() {
        builder = builder.password(password);
    }
    for entry in &entries {
        if entry == "*" {
            builder = builder.no_proxy("*");
            continue;
        }
        let name = entry.trim_start_matches("*.").trim_start_matches('.');
        // ureq compares with the URL's host, which keeps an IPv6 address in brackets.
        let name = if name.contains(':') && !name.starts_with('[') {
            format!("[{name}]")
        } else {
            name.to_owned()
        };
        builder = builder.no_proxy(&name).no_proxy(&format!(".{name}"));
    }
    builder.build()
}

/// A link of the connector chain that marks its failures as the proxy's: wrapped around ureq's
/// CONNECT and SOCKS connectors, which fail only on the way to the proxy or in its handshake
/// (a name that does not resolve, a refused connection, a timeout, a refusal by the proxy).
#[derive(Debug)]
pub(crate) struct Blamed<C>(pub C);

impl<In: Transport, C: Connector<In>> Connector<In> for Blamed<C> {
    type Out = C::Out;

    /// A failure travels through ureq (as `ureq::Error::Other`) to `reply::failure` as the
    /// client's error already. (A chain stops at its first failure: no link sees another's.)
    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let connected = self.0.connect(details, chained);
        connected.map_err(|e| ureq::Error::Other(Box::new(failure(e))))
    }
}

/// The client's error for a failure on the way to the proxy or in its handshake: what went wrong
/// in a few words, and whether it may pass if tried again.
pub(crate) fn failure(error: ureq::Error) -> Error {
    let (reason, transient) = match &error {
        // A name that did not resolve (`resolve.rs`).
        ureq::Error::Other(e) if e.is::<Error>() => (e.to_string(), false),
        // A gateway error of the proxy may pass; a refusal (407 and the like) will not.
        ureq::Error::ConnectProxyFailed(reason) => (
            reason.clone(),
            ["502", "503", "504", "did not respond"]
                .iter()
                .any(|s| reason.contains(s)),
        ),
        ureq::Error::Timeout(_) => ("timed out".to_owned(), true),
        ureq::Error::Io(e) => (
            match e.kind() {
                io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".to_owned(),
                _ => e.to_string(),
            },
            // A SOCKS refusal of its credentials or of the request will not pass.
            !matches!(
                e.kind(),
                io::ErrorKind::PermissionDenied
                    | io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
            ),
        ),
        ureq::Error::InvalidProxyUrl => ("not a proxy this client can use".to_owned(), false),
        other => match crate::tls::failure(other) {
            Some(reason) => (format!("TLS failed: {reason}"), false),
            None => (other.to_string(), true),
        },
    };
    let e = Error::new(ErrorKind::Proxy { reason });
    let e = match error {
        // Our own cause (a name that did not resolve), not ureq's wrapper around it.
        ureq::Error::Other(cause) => e.with_source(cause),
        error => e.with_source(error),
    };
    e.transient(transient)
}

#[cfg(test)]
mod tests;
