//! The CONNECT proxy: tunnels to the emulator, HTTPS included, and refuses anything else.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use kie_upload_emulator::{Config, ConnectProxy};

#[test]
fn it_tunnels_an_https_upload_to_the_tls_emulator() {
    let emulator = start(Config::new(KEY).tls(true));
    let proxy = ConnectProxy::start().unwrap();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(Some(ureq::Proxy::new(&proxy.url()).unwrap()))
        .tls_config(trusting(emulator.ca_cert_pem().unwrap()))
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent();
    let mut response = agent
        .post(format!("{}{STREAM}", emulator.base_url()))
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Content-Type", FORM)
        .send(&stream_body("t.txt", b"tunnelled")[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reply: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(reply["code"], 200);
    assert_eq!(emulator.stored("p/t.txt").unwrap(), b"tunnelled");
    assert_eq!(proxy.tunnels(), [format!("127.0.0.1:{}", emulator.port())]);
    assert!(proxy.refused().is_empty());
}

#[test]
fn anything_but_connect_is_405_and_recorded() {
    let proxy = ConnectProxy::start().unwrap();
    let mut stream = TcpStream::connect(proxy.url().trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET http://127.0.0.1:1/x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n")
        .unwrap();
    let reply = read_reply(&mut stream, false).unwrap();
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("Allow"), Some("CONNECT"));
    assert_eq!(proxy.refused(), ["GET http://127.0.0.1:1/x"]);
    assert!(proxy.tunnels().is_empty());
}

#[test]
fn an_unreachable_target_is_502() {
    let proxy = ConnectProxy::start().unwrap();
    // A port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut stream = TcpStream::connect(proxy.url().trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .unwrap();
    let reply = read_reply(&mut stream, false).unwrap();
    assert_eq!(reply.status, 502);
    assert_eq!(proxy.tunnels(), [format!("127.0.0.1:{port}")]);
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}
