//! TLS: which library and crypto provider, which roots are trusted, and TLS failures put in words.
//!
//! - feature `rustls` (default): rustls on the provider ureq picks: the one the program installed
//!   as rustls's process default, if any, else ring (ureq 3.5's `rustls` feature, which Cargo.toml
//!   pins); Mozilla's roots (webpki-roots), compiled in. Not ring's provider named here: rustls
//!   0.23.48 deprecates that function (ring has no post-quantum key exchange).
//! - feature `rustls-aws-lc`: rustls on aws-lc-rs, named here, with post-quantum key exchange
//!   (X25519MLKEM768) offered first; the same roots. It takes precedence over `rustls`.
//! - feature `native-tls`: the platform's library (OpenSSL on Linux) with the operating system's
//!   roots. It takes precedence over both.
//!
//! Either way [`ClientBuilder::root_certs_pem`](crate::ClientBuilder::root_certs_pem) replaces the
//! roots with the given ones.

use std::fmt;
use std::path::PathBuf;

use ureq::config::ConfigBuilder;
#[cfg(any(feature = "_rustls", feature = "native-tls"))]
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::typestate::AgentScope;

use crate::Error;

/// The roots a builder trusts: the default ones, or those of a PEM text or file.
#[derive(Clone, Default)]
pub(crate) enum Roots {
    #[default]
    Default,
    Pem(Vec<u8>),
    File(PathBuf),
}

impl fmt::Debug for Roots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Roots::Default => f.write_str("Default"),
            Roots::Pem(pem) => write!(f, "{} bytes of PEM", pem.len()),
            Roots::File(file) => write!(f, "from {}", file.display()),
        }
    }
}

impl Roots {
    /// Sets the agent's TLS configuration: provider, crypto provider and roots.
    pub(crate) fn configure(
        &self,
        agent: ConfigBuilder<AgentScope>,
    ) -> Result<ConfigBuilder<AgentScope>, Error> {
        // Without a TLS feature there is nothing to configure, and no roots to trust.
        #[cfg(not(any(feature = "_rustls", feature = "native-tls")))]
        return match self {
            Roots::Default => Ok(agent),
            _ => Err(Error::invalid(
                "root certificates were given, but this build has no TLS: enable the `rustls` or \
                 `native-tls` feature",
            )),
        };
        #[cfg(any(feature = "_rustls", feature = "native-tls"))]
        {
            let builder = TlsConfig::builder();
            #[cfg(feature = "native-tls")]
            let builder = builder
                .provider(ureq::tls::TlsProvider::NativeTls)
                .root_certs(RootCerts::PlatformVerifier);
            #[cfg(all(feature = "rustls-aws-lc", not(feature = "native-tls")))]
            let builder = builder
                .provider(ureq::tls::TlsProvider::Rustls)
                .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                    rustls::crypto::aws_lc_rs::default_provider(),
                ));
            #[cfg(all(
                feature = "rustls",
                not(any(feature = "rustls-aws-lc", feature = "native-tls"))
            ))]
            let builder = builder.provider(ureq::tls::TlsProvider::Rustls);
            let builder = match self.certs()? {
                Some(roots) => builder.root_certs(roots),
                None => builder,
            };
            Ok(agent.tls_config(builder.build()))
        }
    }

    /// The roots to trust instead of the defaults, if any: the certificates in the PEM given or
    /// read from the file, which must hold at least one.
    #[cfg(any(feature = "_rustls", feature = "native-tls"))]
    fn certs(&self) -> Result<Option<RootCerts>, Error> {
        let (pem, from) = match self {
            Roots::Default => return Ok(None),
            Roots::Pem(pem) => (pem.clone(), "the PEM given".to_owned()),
            Roots::File(file) => (
                crate::local_file::read_roots(file)?,
                file.display().to_string(),
            ),
        };
        let mut certs: Vec<Certificate<'static>> = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) if is_der_sequence(cert.der()) => certs.push(cert),
                Ok(PemItem::Certificate(_)) => {
                    return Err(Error::invalid(format!(
                        "{from} holds a CERTIFICATE block that is not a certificate (bad DER): \
                         give the CA's certificate in PEM form"
                    )))
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::invalid(format!(
                        "{from} is not valid PEM ({e}): give the CA's certificate in PEM form"
                    )))
                }
            }
        }
        if certs.is_empty() {
            return Err(Error::invalid(format!(
                "{from} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA's \
                 certificate"
            )));
        }
        Ok(Some(RootCerts::new_with_certs(&certs)))
    }
}

/// Whether `der` is one whole DER SEQUENCE, as every X.509 certificate is: enough to tell a
/// certificate from garbage between PEM markers, which the TLS libraries would skip silently.
#[cfg(any(feature = "_rustls", feature = "native-tls"))]
fn is_der_sequence(der: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = der else {
        return false;
    };
    let (len, rest) = match *first {
        n if n < 0x80 => (usize::from(n), rest),
        n @ 0x81..=0x84 => {
            let count = usize::from(n - 0x80);
            if rest.len() < count {
                return false;
            }
            let len = rest[..count]
                .iter()
                .fold(0usize, |len, &b| len << 8 | usize::from(b));
            (len, &rest[count..])
        }
        _ => return false,
    };
    len == rest.len() && len > 0
}

/// What went wrong, in words, when `error` is a TLS failure.
pub(crate) fn failure(error: &ureq::Error) -> Option<String> {
    match error {
        ureq::Error::Tls(what) => Some((*what).to_owned()),
        #[cfg(feature = "_rustls")]
        ureq::Error::Rustls(e) => Some(in_words(&format!("{e:?}"), e.to_string())),
        #[cfg(feature = "native-tls")]
        ureq::Error::NativeTls(e) => Some(in_words(&e.to_string(), e.to_string())),
        ureq::Error::Io(e) => {
            let inner = e.get_ref()?;
            #[cfg(feature = "_rustls")]
            if let Some(e) = inner.downcast_ref::<rustls::Error>() {
                return Some(in_words(&format!("{e:?}"), e.to_string()));
            }
            // native-tls reports some handshake failures as I/O errors with OpenSSL's text.
            let text = inner.to_string();
            let lower = text.to_ascii_lowercase();
            let tls = ["certificate", "ssl", "tls"]
                .iter()
                .any(|w| lower.contains(w));
            tls.then(|| in_words(&text, text.clone()))
        }
        _ => None,
    }
}

/// The common verdicts on a server's certificate, in the same words whichever library gave them:
/// each with the signs of it in rustls's error (its `Debug`) or in OpenSSL's text.
const VERDICTS: &[(&[&str], &str)] = &[
    (
        &[
            "unknownissuer",
            "self-signed",
            "self signed",
            "unable to get local issuer",
        ],
        "the server's certificate is signed by an authority that is not trusted (unknown issuer)",
    ),
    (
        &[
            "notvalidforname",
            "hostname mismatch",
            "ip address mismatch",
        ],
        "the server's certificate is for another host name (name mismatch)",
    ),
    (
        &["notvalidyet", "not yet valid"],
        "the server's certificate is not valid yet (is the clock right?)",
    ),
    (&["expired"], "the server's certificate has expired"),
    (&["revoked"], "the server's certificate has been revoked"),
    (
        &["causedasendentity"],
        "the server presented a certificate authority's certificate as its own (CA used as end \
         entity)",
    ),
];

/// The verdict whose signs `signs` (a TLS library's error, as text) shows, in words; else `text`.
fn in_words(signs: &str, text: String) -> String {
    let signs = signs.to_ascii_lowercase();
    VERDICTS
        .iter()
        .find(|(marks, _)| marks.iter().any(|mark| signs.contains(mark)))
        .map_or(text, |(_, words)| (*words).to_owned())
}
