//! HTTPS: the same API over TLS with the emulator's own CA, and the faults over TLS.

mod common;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use kie_upload_emulator::{Config, Fault};

fn tls_emulator() -> kie_upload_emulator::Emulator {
    start(Config::new(KEY).tls(true))
}

#[test]
fn an_https_upload_and_download_with_the_ca_trusted() {
    let emulator = tls_emulator();
    assert!(emulator.is_tls());
    let base = format!("https://127.0.0.1:{}", emulator.port());
    assert_eq!(emulator.base_url(), base);
    let pem = emulator.ca_cert_pem().unwrap();
    assert_eq!(
        std::fs::read_to_string(emulator.ca_cert_path().unwrap()).unwrap(),
        pem
    );

    let file = payload(200_000);
    let (status, reply) = post(&emulator, STREAM, FORM, &stream_body("s.bin", &file));
    assert_eq!(status, 200, "{reply}");
    let url = reply["data"]["downloadUrl"].as_str().unwrap();
    assert!(url.starts_with(&format!("{base}/files/")), "{url}");
    assert_eq!(get(&emulator, url), (200, file));
}

#[test]
fn a_url_upload_fetches_the_emulators_own_https_url() {
    let emulator = tls_emulator();
    let (_, reply) = post(
        &emulator,
        STREAM,
        FORM,
        &stream_body("src.txt", b"over tls"),
    );
    let url = reply["data"]["downloadUrl"].as_str().unwrap();
    let body = format!(r#"{{"fileUrl":"{url}","uploadPath":"copies"}}"#);
    let (status, reply) = post(&emulator, URL, "application/json", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(emulator.stored("copies/src.txt").unwrap(), b"over tls");
}

#[test]
fn a_client_that_does_not_trust_the_ca_is_refused() {
    let emulator = tls_emulator();
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .build()
        .new_agent();
    let result = agent.get(format!("{}/files/x", emulator.base_url())).call();
    assert!(result.is_err(), "{result:?}");
    assert!(start(Config::new(KEY)).ca_cert_pem().is_none());
}

#[test]
fn the_ca_file_goes_with_the_emulator() {
    let emulator = tls_emulator();
    let path = emulator.ca_cert_path().unwrap().to_owned();
    assert!(path.exists());
    drop(emulator);
    assert!(!path.exists());
}

#[test]
fn refusals_work_over_tls() {
    let emulator = tls_emulator();
    emulator.inject(
        Fault::RefuseAtHeaders {
            status: 401,
            code: Some(401),
        },
        1,
    );
    let head = post_head(
        STREAM,
        &format!(
            "Content-Type: {FORM}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n",
            1 << 30
        ),
    );
    let mut stream = raw(&emulator);
    stream.write_all(head.as_bytes()).unwrap();
    let reply = read_reply(&mut stream, false).unwrap();
    assert_eq!(reply.status, 401);
    assert!(is_closed(&mut stream));

    emulator.inject(
        Fault::RefuseAfter {
            bytes: 5000,
            status: 413,
            code: None,
        },
        1,
    );
    let mut stream = raw(&emulator);
    stream.write_all(head.as_bytes()).unwrap();
    assert_eq!(read_reply(&mut stream, false).unwrap().status, 100);
    stream.write_all(&[b'x'; 5000]).unwrap();
    let reply = read_reply(&mut stream, false).unwrap();
    assert_eq!(reply.status, 413);
    assert!(reply.text().contains("nginx"));
    // The socket is gone: more body meets an error.
    assert!(write_until_error(&mut stream, 1 << 30));
    assert_eq!(emulator.requests()[1].body_read, 5000);
}

/// A socket that, after its first failed write, drops further writes and reports them sent, so
/// the TLS layer above goes on to read what the server answered before it closed.
struct Forgiving {
    tcp: TcpStream,
    failed: Arc<AtomicBool>,
}

impl Read for Forgiving {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.read(buf)
    }
}

impl Write for Forgiving {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failed.load(Ordering::SeqCst) {
            return Ok(buf.len());
        }
        match self.tcp.write(buf) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => {
                self.failed.store(true, Ordering::SeqCst);
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_early_refusal_over_tls_can_be_read_after_the_reset() {
    let emulator = tls_emulator();
    emulator.inject(
        Fault::RefuseAfter {
            bytes: 100_000,
            status: 402,
            code: Some(402),
        },
        1,
    );
    let tcp = TcpStream::connect(("127.0.0.1", emulator.port())).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let failed = Arc::new(AtomicBool::new(false));
    let plain = tls_client(emulator.ca_cert_pem().unwrap(), tcp);
    let (session, tcp) = plain.into_parts();
    let mut stream = rustls::StreamOwned::new(
        session,
        Forgiving {
            tcp,
            failed: Arc::clone(&failed),
        },
    );
    let head = post_head(
        STREAM,
        &format!("Content-Type: {FORM}\r\nContent-Length: {}\r\n", 1 << 30),
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while !failed.load(Ordering::SeqCst) && sent < 1 << 30 {
        stream.write_all(&chunk).unwrap();
        stream.flush().unwrap();
        sent += chunk.len();
    }
    assert!(failed.load(Ordering::SeqCst), "the server never closed");
    let reply = read_reply(&mut stream, true).expect("the refusal, decrypted after the reset");
    assert_eq!(reply.status, 402);
    assert_eq!(reply.json()["code"], 402);
}

#[test]
fn other_faults_and_limits_work_over_tls() {
    let emulator = tls_emulator();
    let bytes = b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 2\r\n\r\nhi".to_vec();
    emulator.inject(
        Fault::Raw {
            bytes: bytes.clone(),
        },
        1,
    );
    emulator.inject(Fault::QuickstartShape, 1);
    let body = stream_body("r.txt", b"raw");
    let mut request = post_head(
        STREAM,
        &format!("Content-Type: {FORM}\r\nContent-Length: {}\r\n", body.len()),
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let mut stream = raw(&emulator);
    stream.write_all(&request).unwrap();
    let mut received = Vec::new();
    // A close without close_notify is an error in rustls; the bytes before it are what count.
    let _ = stream.read_to_end(&mut received);
    assert_eq!(received, bytes);

    let (_, reply) = post(&emulator, STREAM, FORM, &body);
    let file_url = reply["data"]["fileUrl"].as_str().unwrap();
    assert!(file_url.starts_with("https://"), "{file_url}");

    let big = post_head(STREAM, &format!("X-Big: {}\r\n", "a".repeat(20 * 1024)));
    assert_eq!(exchange(&emulator, big.as_bytes()).status, 431);
}
