//! `Expect: 100-continue`: what the client does with the server's answer to it.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{builder_for, message, within};
use kie_upload::{ErrorKind, Upload};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA's PEM and a rustls server configuration with a certificate for 127.0.0.1 it signed.
fn tls_server_config() -> (String, Arc<rustls::ServerConfig>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    (ca.pem(), Arc::new(config))
}

/// Reads a request head, answers it with a whole 413 (head and body, with `Content-Length`) at
/// once, then keeps the connection open for `linger` while it drains what comes, as nginx does
/// for a body over its `client_max_body_size`.
fn refuse_and_linger(mut conn: impl Read + Write, linger: Duration) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let body = "<html><head><title>413 Request Entity Too Large</title></head></html>\r\n";
    let reply = format!(
        "HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: text/html\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(reply.as_bytes());
    let _ = conn.flush();
    let until = Instant::now() + linger;
    let mut sink = vec![0u8; 64 << 10];
    while Instant::now() < until {
        match conn.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return,
        }
    }
}

/// Starts a one-connection server that refuses as [`refuse_and_linger`] (over TLS when a config
/// is given), and returns its base URL.
fn lingering_server(tls: Option<Arc<rustls::ServerConfig>>, linger: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let scheme = if tls.is_some() { "https" } else { "http" };
    thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        match tls {
            Some(config) => {
                let conn = rustls::ServerConnection::new(config).unwrap();
                refuse_and_linger(rustls::StreamOwned::new(conn, tcp), linger);
            }
            None => refuse_and_linger(tcp, linger),
        }
    });
    format!("{scheme}://127.0.0.1:{port}")
}

/// A refusal at the headers from a server that then holds the connection open (nginx's lingering
/// close, 5 s there, 10 s here) is reported at once: the answer is complete by its own framing.
fn refusal_at_the_headers_is_reported_without_waiting_for_the_close(tls: bool) {
    let linger = Duration::from_secs(10);
    let (base_url, ca) = if tls {
        let (ca, config) = tls_server_config();
        let url = lingering_server(Some(config), linger);
        (url, Some(ca))
    } else {
        (lingering_server(None, linger), None)
    };
    let mut builder = builder_for(&base_url)
        .allow_insecure_http(true)
        .timeout(Duration::from_secs(30))
        .retries(0);
    if let Some(ca) = ca {
        builder = builder.root_certs_pem(ca);
    }
    let client = builder.build().unwrap();
    let started = Instant::now();
    // 24 MiB: over the client's threshold, so it asks `Expect: 100-continue`.
    let data: &'static [u8] = Box::leak(vec![7u8; 24 << 20].into_boxed_slice());
    let result = within(Duration::from_secs(20), move || {
        client.upload(Upload::bytes(data, "big").file_name("big.bin"))
    });
    let elapsed = started.elapsed();
    let e = result.expect_err("a 413 is an error");
    message(&e);
    assert!(
        matches!(e.kind(), ErrorKind::Http { status: 413, .. }),
        "{e:?}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "tls {tls}: the 413 took {elapsed:?}, the server lingers {linger:?}"
    );
}

#[test]
fn a_refusal_at_the_headers_over_http_does_not_wait_for_the_close() {
    refusal_at_the_headers_is_reported_without_waiting_for_the_close(false);
}

#[test]
fn a_refusal_at_the_headers_over_https_does_not_wait_for_the_close() {
    refusal_at_the_headers_is_reported_without_waiting_for_the_close(true);
}
