//! HTTPS: a throwaway certificate authority and server certificate made at start (rcgen), the
//! rustls server configuration, and [`Conn`], the one stream type a connection is served through,
//! plain or TLS.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::crypto::{ring as rustls_ring, WebPkiSupportedAlgorithms};
use rustls::crypto::{CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::SigningKey;
use rustls::{ServerConfig, ServerConnection, SignatureScheme, StreamOwned};
use webpki::ring as algs;

/// The certificate authority that signed the server's certificate.
pub(crate) struct CaCert {
    /// PEM, as written to `path`.
    pub pem: String,
    /// The file in the emulator's temporary directory.
    pub path: PathBuf,
    /// DER, for the URL-upload fetcher's roots.
    pub der: CertificateDer<'static>,
}

/// What serving HTTPS needs.
pub(crate) struct Tls {
    pub config: Arc<ServerConfig>,
    pub ca: CaCert,
}

impl Tls {
    /// Makes a CA and a server certificate for `127.0.0.1`, `::1` and `localhost`, and writes the
    /// CA's certificate to `dir/ca.pem`. Nothing is ever read from or kept on disk besides that.
    pub fn generate(dir: &Path) -> io::Result<Tls> {
        let invalid = |e: rcgen::Error| io::Error::new(io::ErrorKind::InvalidData, e);

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(invalid)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "kie-upload-emulator test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().map_err(invalid)?;
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(invalid)?;

        let names = ["127.0.0.1", "::1", "localhost"].map(String::from).to_vec();
        let mut params = CertificateParams::new(names).map_err(invalid)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "kie-upload-emulator");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().map_err(invalid)?;
        let cert = params.signed_by(&key, &ca).map_err(invalid)?;

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let chain = vec![cert.der().clone(), ca.der().clone()];
        let config = ServerConfig::builder_with_provider(Arc::new(ring_provider()))
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;

        let pem = ca.pem();
        let path = dir.join("ca.pem");
        std::fs::write(&path, &pem)?;
        Ok(Tls {
            config: Arc::new(config),
            ca: CaCert {
                pem,
                path,
                der: ca.der().clone(),
            },
        })
    }
}

/// A connection, plain or TLS, that both reads and writes (a TLS stream cannot be cloned), with
/// the TCP socket underneath at hand for timeouts and closing.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Conn {
    /// Wraps an accepted socket; the TLS handshake happens on the first read.
    pub fn new(tcp: TcpStream, tls: Option<&Tls>) -> io::Result<Conn> {
        Ok(match tls {
            None => Conn::Plain(tcp),
            Some(tls) => {
                let session = ServerConnection::new(Arc::clone(&tls.config))
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                Conn::Tls(Box::new(StreamOwned::new(session, tcp)))
            }
        })
    }

    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(stream) => stream.get_ref(),
        }
    }

    /// Sends what is written so far (TLS records included) and closes the socket at once, reading
    /// nothing more: a peer still sending sees a reset.
    pub fn close_abruptly(&mut self) {
        let _ = self.flush();
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// Sends what is written so far and ends the connection cleanly (TLS `close_notify`, FIN).
    pub fn close(&mut self) {
        if let Conn::Tls(stream) = self {
            stream.conn.send_close_notify();
        }
        let _ = self.flush();
        let _ = self.tcp().shutdown(Shutdown::Write);
    }

    /// Ends the connection after a refusal that the client may still be sending into: close our
    /// side, then read and drop what still comes (1 MiB and 2 s at most), so the peer gets the
    /// reply and a FIN rather than a reset that could destroy the reply in its buffers.
    pub fn close_lingering(&mut self) {
        self.close();
        let mut tcp = self.tcp();
        let started = Instant::now();
        let _ = tcp.set_read_timeout(Some(Duration::from_millis(200)));
        let mut buf = [0u8; 16 * 1024];
        let mut total = 0;
        while total < 1 << 20 && started.elapsed() < Duration::from_secs(2) {
            match tcp.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.read(buf),
            Conn::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.write(buf),
            Conn::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(tcp) => tcp.flush(),
            Conn::Tls(stream) => stream.flush(),
        }
    }
}

/// rustls's crypto provider on ring, put together from its public parts: what
/// `rustls::crypto::ring::default_provider()` returns, without that function, which rustls 0.23.48
/// deprecates because ring has no post-quantum key exchange (a loopback test server needs none,
/// and the emulator keeps aws-lc-rs out of its graph). Named, not left to rustls's crate features:
/// a build with kie-upload's `rustls-aws-lc` feature turns on both of rustls's providers, and
/// then rustls cannot choose one itself.
///
/// For this workspace's tests and benches, which talk to the emulator through rustls directly;
/// not part of the emulator's API.
#[doc(hidden)]
pub fn ring_provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: rustls_ring::DEFAULT_CIPHER_SUITES.to_vec(),
        kx_groups: rustls_ring::DEFAULT_KX_GROUPS.to_vec(),
        signature_verification_algorithms: RING_SIGNATURES,
        secure_random: &Ring,
        key_provider: &Ring,
    }
}

/// ring's randomness and private keys, as rustls's own ring provider has them.
#[derive(Debug)]
struct Ring;

impl SecureRandom for Ring {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        use ring::rand::SecureRandom as _;
        ring::rand::SystemRandom::new()
            .fill(buf)
            .map_err(|_| GetRandomFailed)
    }
}

impl KeyProvider for Ring {
    fn load_private_key(
        &self,
        key: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        rustls_ring::sign::any_supported_type(&key)
    }
}

/// The signatures rustls's ring provider verifies, and which TLS scheme uses which (rustls 0.23.48,
/// `crypto/ring/mod.rs`).
static RING_SIGNATURES: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        algs::ECDSA_P256_SHA256,
        algs::ECDSA_P256_SHA384,
        algs::ECDSA_P384_SHA256,
        algs::ECDSA_P384_SHA384,
        algs::ED25519,
        algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        algs::RSA_PKCS1_2048_8192_SHA256,
        algs::RSA_PKCS1_2048_8192_SHA384,
        algs::RSA_PKCS1_2048_8192_SHA512,
        algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        // For TLS 1.2 the curve is not fixed by the scheme; for TLS 1.3 it is.
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[algs::ECDSA_P384_SHA384, algs::ECDSA_P256_SHA384],
        ),
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[algs::ECDSA_P256_SHA256, algs::ECDSA_P384_SHA256],
        ),
        (SignatureScheme::ED25519, &[algs::ED25519]),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA512,
            &[algs::RSA_PKCS1_2048_8192_SHA512],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[algs::RSA_PKCS1_2048_8192_SHA384],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA256,
            &[algs::RSA_PKCS1_2048_8192_SHA256],
        ),
    ],
};
