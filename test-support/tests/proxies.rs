//! The proxies' own behaviour, over raw sockets to an echo server: what they tunnel, what they
//! refuse, what they record, and that dropping one closes its tunnels. Uploads through them are
//! the library's and the CLI's `tests/tunnels.rs`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use kie_upload_test_support::{ConnectProxy, SocksProxy, SocksTunnel};

/// A server on 127.0.0.1 that sends back whatever each connection sends it; its port.
fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            thread::spawn(move || {
                let mut reader = stream.try_clone().unwrap();
                let _ = std::io::copy(&mut reader, &mut &stream);
            });
        }
    });
    port
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A socket to the proxy at `url` (`scheme://127.0.0.1:PORT`), with a bound on every read.
fn dial(url: &str) -> TcpStream {
    let stream = TcpStream::connect(url.split("://").nth(1).unwrap()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).unwrap();
    buf
}

/// Reads an HTTP answer's head, a byte at a time so that nothing after it is taken.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.extend(read_n(stream, 1));
    }
    String::from_utf8(head).unwrap()
}

/// Asks `proxy` for a tunnel to 127.0.0.1:`port`, sending `early` right after the request head;
/// the socket and the head of the proxy's answer.
fn connect(proxy: &ConnectProxy, port: u16, early: &[u8]) -> (TcpStream, String) {
    let mut stream = dial(&proxy.url());
    let head = format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream
        .write_all(&[head.as_bytes(), early].concat())
        .unwrap();
    let answer = read_head(&mut stream);
    (stream, answer)
}

#[test]
fn connect_tunnels_both_ways_with_the_bytes_sent_right_after_the_head() {
    let port = echo_server();
    let proxy = ConnectProxy::start().unwrap();
    // A client may send its first bytes (a TLS hello) with the CONNECT head, before the answer.
    let (mut stream, head) = connect(&proxy, port, b"early");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(read_n(&mut stream, 5), b"early");
    stream.write_all(b" and later").unwrap();
    assert_eq!(read_n(&mut stream, 10), b" and later");
    assert_eq!(proxy.tunnels(), [format!("127.0.0.1:{port}")]);
    assert!(proxy.refused().is_empty());
}

#[test]
fn anything_but_connect_is_405_and_recorded() {
    let proxy = ConnectProxy::start().unwrap();
    let mut stream = dial(&proxy.url());
    stream
        .write_all(b"GET http://127.0.0.1:1/x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n")
        .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
    assert!(head.contains("\r\nAllow: CONNECT\r\n"), "{head}");
    assert_eq!(proxy.refused(), ["GET http://127.0.0.1:1/x"]);
    assert!(proxy.tunnels().is_empty());
}

#[test]
fn an_unreachable_connect_target_is_502_and_recorded() {
    let proxy = ConnectProxy::start().unwrap();
    let port = closed_port();
    let (_, head) = connect(&proxy, port, b"");
    assert!(head.starts_with("HTTP/1.1 502 "), "{head}");
    assert_eq!(proxy.tunnels(), [format!("127.0.0.1:{port}")]);
}

#[test]
fn socks5_tunnels_to_a_name_the_proxy_resolves() {
    let port = echo_server();
    let proxy = SocksProxy::start().unwrap();
    let mut stream = dial(&proxy.url("socks5h"));
    // One method offered, "no authentication"; the proxy picks it.
    stream.write_all(&[5, 1, 0]).unwrap();
    assert_eq!(read_n(&mut stream, 2), [5, 0]);
    let mut request = vec![5, 1, 0, 3, 9];
    request.extend_from_slice(b"localhost");
    request.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&request).unwrap();
    assert_eq!(read_n(&mut stream, 10)[..2], [5, 0]);
    stream.write_all(b"ping").unwrap();
    assert_eq!(read_n(&mut stream, 4), b"ping");
    let tunnel = SocksTunnel {
        version: 5,
        target: format!("localhost:{port}"),
        by_name: true,
    };
    assert_eq!(proxy.tunnels(), [tunnel]);
}

#[test]
fn socks4_tunnels_to_an_address_and_refuses_one_it_cannot_reach() {
    let (port, dead) = (echo_server(), closed_port());
    let proxy = SocksProxy::start().unwrap();
    let socks4 = |port: u16| {
        let mut request = vec![4, 1];
        request.extend_from_slice(&port.to_be_bytes());
        request.extend_from_slice(&[127, 0, 0, 1]);
        request.extend_from_slice(b"user\0");
        let mut stream = dial(&proxy.url("socks4"));
        stream.write_all(&request).unwrap();
        let answer = read_n(&mut stream, 8);
        (stream, answer[1])
    };
    let (mut stream, status) = socks4(port);
    assert_eq!(status, 0x5a, "granted");
    stream.write_all(b"pong").unwrap();
    assert_eq!(read_n(&mut stream, 4), b"pong");
    let (_, status) = socks4(dead);
    assert_eq!(status, 0x5b, "rejected");
    let targets: Vec<_> = proxy.tunnels().into_iter().map(|t| t.target).collect();
    assert_eq!(
        targets,
        [format!("127.0.0.1:{port}"), format!("127.0.0.1:{dead}")]
    );
}

#[test]
fn dropping_a_proxy_closes_its_open_tunnels() {
    let port = echo_server();
    let proxy = ConnectProxy::start().unwrap();
    let (mut stream, head) = connect(&proxy, port, b"");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    drop(proxy);
    // The tunnel ends (not a read timeout): the client sees the end of the stream, or a reset.
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "{rest:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
}

#[test]
fn proxies_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<ConnectProxy>();
    shareable::<SocksProxy>();
}
