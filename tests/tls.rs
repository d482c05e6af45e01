//! HTTPS, the path every real upload takes: uploads to the emulator over TLS trusting its CA, a
//! certificate that is not trusted (refused in words, never retried), and a proxy that refuses the
//! tunnel. Uploads through a working CONNECT proxy are in `tunnels.rs`.

mod common;

use common::*;
use kie_upload::{ErrorKind, Upload, UrlUpload};
use kie_upload_emulator::{Config, Emulator, Fault};

fn tls_emulator() -> Emulator {
    emulator_with(Config::new(KEY).tls(true))
}

#[test]
fn every_endpoint_round_trips_over_https() {
    let emulator = tls_emulator();
    assert!(emulator.base_url().starts_with("https://"));
    let client = client(&emulator);
    let data = payload(3 << 20);
    let (_dir, path) = temp_file("big.bin", &data);

    let file = client.upload_file(&path, "tls").unwrap();
    assert!(file.download_url.starts_with("https://"));
    assert_eq!(download(&client, &file.download_url), data);

    let small = client
        .upload_base64(Upload::bytes(&data[..1000], "tls").file_name("small.bin"))
        .unwrap();
    assert_eq!(download(&client, &small.download_url), &data[..1000]);

    let copy = client
        .upload_url(UrlUpload::new(&small.download_url, "tls").file_name("copy.bin"))
        .unwrap();
    assert_eq!(download(&client, &copy.download_url), &data[..1000]);

    let streamed = client
        .upload(Upload::reader(Unsized(&data[..]), "tls").file_name("stream.bin"))
        .unwrap();
    assert_eq!(streamed.file_size, data.len() as u64);
}

#[test]
fn faults_over_https_are_read_the_same() {
    let emulator = tls_emulator();
    let client = client(&emulator);
    emulator.inject(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        1,
    );
    emulator.inject(Fault::QuickstartShape, 1);
    let file = client
        .upload(Upload::bytes(b"retried", "tls").file_name("r.txt"))
        .unwrap();
    assert_eq!(emulator.attempts(STREAM), 2);
    assert_eq!(download(&client, &file.download_url), b"retried");
}

#[test]
fn an_untrusted_certificate_is_refused_in_words_and_not_retried() {
    let emulator = tls_emulator();
    // The default roots do not know the emulator's CA.
    let client = builder_for(emulator.base_url()).build().unwrap();
    let e = client
        .upload(Upload::bytes(b"x", "tls").file_name("x.txt"))
        .unwrap_err();
    match e.kind() {
        ErrorKind::Tls { reason, .. } => assert!(reason.contains("unknown issuer"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable());
    assert_eq!(e.attempts(), 1);
    message(&e);
    // The handshake failed, so no request reached the service.
    assert!(emulator.requests().is_empty());
}

#[test]
fn bad_root_certificates_are_refused_before_anything_is_sent() {
    for pem in [
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        let e = builder_for("https://127.0.0.1:1")
            .root_certs_pem(pem)
            .build()
            .unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::InvalidInput { .. }),
            "{pem}: {e:?}"
        );
    }
    let e = builder_for("https://127.0.0.1:1")
        .root_certs_file("/nonexistent/ca.pem")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
}

#[test]
fn a_proxy_that_refuses_the_tunnel_says_so() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(3) {
            let stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            let page = "<html><title>407 Proxy Authentication Required</title></html>";
            let reply = format!(
                "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: {}\r\n\r\n{page}",
                page.len()
            );
            let _ = (&stream).write_all(reply.as_bytes());
        }
    });
    let emulator = tls_emulator();
    let client = builder(&emulator).proxy(proxy).build().unwrap();
    let e = client
        .upload(Upload::bytes(b"x", "p").file_name("x.txt"))
        .unwrap_err();
    match e.kind() {
        ErrorKind::Proxy { reason, .. } => assert!(reason.contains("407"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable());
    assert_eq!(e.attempts(), 1);
    assert!(message(&e).contains("proxy"), "{e}");
}

#[test]
fn https_to_a_plain_http_port_is_the_wrong_scheme_at_once() {
    // The emulator answers a TLS hello on its plain port as nginx does: a plain-HTTP 400 page.
    let emulator = emulator_with(Config::new(KEY));
    let url = emulator.base_url().replacen("http://", "https://", 1);
    let e = builder_for(&url)
        .build()
        .unwrap()
        .upload(Upload::bytes(b"x", "tls").file_name("x.txt"))
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::WrongScheme {
                server_speaks_tls: false,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert_eq!(e.attempts(), 1);
    assert!(message(&e).contains("plain HTTP, not TLS"), "{e}");
    assert!(emulator.requests().is_empty());
}

#[test]
fn http_to_a_tls_port_is_the_wrong_scheme_at_once() {
    // The emulator's TLS port answers a plain request with a TLS alert.
    let emulator = tls_emulator();
    let url = emulator.base_url().replacen("https://", "http://", 1);
    let e = builder_for(&url)
        .build()
        .unwrap()
        .upload(Upload::bytes(b"x", "tls").file_name("x.txt"))
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::WrongScheme {
                server_speaks_tls: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert_eq!(e.attempts(), 1);
    assert!(message(&e).contains("TLS, not plain HTTP"), "{e}");
    // nginx instead answers such a request in plain HTTP, with a page that says so.
    let plain = emulator_with(Config::new(KEY));
    plain.inject(
        Fault::Raw {
            bytes: http_reply(
                "400 Bad Request",
                "text/html",
                "<html><head><title>400 The plain HTTP request was sent to HTTPS port</title>\
                 </head><body><center><h1>400 Bad Request</h1></center><center>The plain HTTP \
                 request was sent to HTTPS port</center><hr><center>nginx</center></body></html>",
            ),
        },
        1,
    );
    let e = client(&plain)
        .upload(Upload::bytes(b"x", "tls").file_name("x.txt"))
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::WrongScheme {
                server_speaks_tls: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_retryable());
}

/// The key exchange groups a client of this build offers, in its order, read from its
/// ClientHello by a server that then hangs up.
#[cfg(all(feature = "_rustls", not(feature = "native-tls")))]
fn offered_key_exchange() -> Vec<rustls::NamedGroup> {
    use std::io::ErrorKind as Io;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let mut acceptor = rustls::server::Acceptor::default();
        loop {
            match acceptor.read_tls(&mut tcp) {
                Ok(0) => panic!("the client hung up before its hello"),
                Err(e) if e.kind() == Io::Interrupted => continue,
                other => other.unwrap(),
            };
            if let Some(accepted) = acceptor.accept().map_err(|(e, _)| e).unwrap() {
                return accepted.client_hello().named_groups().unwrap().to_vec();
            }
        }
    });
    // The server hangs up: the upload fails, whatever the words.
    builder_for(&url)
        .build()
        .unwrap()
        .upload(Upload::bytes(b"x", "tls").file_name("x.txt"))
        .unwrap_err();
    server.join().unwrap()
}

#[test]
#[cfg(all(
    feature = "rustls",
    not(any(feature = "rustls-aws-lc", feature = "native-tls"))
))]
fn the_default_build_offers_ring_s_key_exchange_without_post_quantum() {
    use rustls::NamedGroup;
    let groups = offered_key_exchange();
    assert!(groups.contains(&NamedGroup::X25519), "{groups:?}");
    assert!(!groups.contains(&NamedGroup::X25519MLKEM768), "{groups:?}");
}

#[test]
#[cfg(all(feature = "rustls-aws-lc", not(feature = "native-tls")))]
fn the_aws_lc_build_offers_post_quantum_key_exchange_first() {
    use rustls::NamedGroup;
    let groups = offered_key_exchange();
    assert_eq!(
        groups.first(),
        Some(&NamedGroup::X25519MLKEM768),
        "{groups:?}"
    );
    assert!(groups.contains(&NamedGroup::X25519), "{groups:?}");
}
