//! A CONNECT proxy: it tunnels a client to `host:port`, so a client's proxy support can be tried
//! against the emulator, HTTPS included.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use crate::relay::{self, lock, Relay};

/// The longest request head the proxy reads (a CONNECT head is a line or two).
const MAX_HEAD: usize = 64 * 1024;

/// A CONNECT proxy on 127.0.0.1, for tests; it stops when dropped.
///
/// It answers `CONNECT host:port HTTP/1.1` with `200 Connection Established` and then passes
/// bytes both ways until either side closes (or a minute passes with nothing to pass). Anything
/// but CONNECT is answered `405 Method Not Allowed`; a target it cannot reach, `502 Bad Gateway`.
///
/// ```
/// use kie_upload_test_support::ConnectProxy;
///
/// let proxy = ConnectProxy::start()?;
/// // Give a client `proxy.url()` as its proxy, then:
/// assert!(proxy.url().starts_with("http://127.0.0.1:"));
/// assert!(proxy.tunnels().is_empty());
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct ConnectProxy {
    relay: Relay,
    record: Arc<Record>,
}

#[derive(Default)]
struct Record {
    tunnels: Mutex<Vec<String>>,
    refused: Mutex<Vec<String>>,
}

impl ConnectProxy {
    /// Starts the proxy on a free port of 127.0.0.1.
    pub fn start() -> io::Result<ConnectProxy> {
        let record = Arc::new(Record::default());
        let relay = {
            let record = Arc::clone(&record);
            Relay::start(
                "connect",
                Box::new(move |client| handshake(&record, client)),
            )?
        };
        Ok(ConnectProxy { relay, record })
    }

    /// `http://127.0.0.1:PORT`, the proxy URL to give a client.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.relay.port())
    }

    /// The `host:port` of each CONNECT so far, oldest first (including those whose target could
    /// not be reached, which were answered `502 Bad Gateway`).
    pub fn tunnels(&self) -> Vec<String> {
        lock(&self.record.tunnels).clone()
    }

    /// The request line (method and target) of each request that was not a CONNECT, answered
    /// `405 Method Not Allowed`: a client that sent a plain request to the proxy.
    pub fn refused(&self) -> Vec<String> {
        lock(&self.record.refused).clone()
    }
}

impl std::fmt::Debug for ConnectProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectProxy")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

fn handshake(record: &Record, client: &mut TcpStream) -> io::Result<TcpStream> {
    let head = read_head(client)?;
    let mut words = head.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if !method.eq_ignore_ascii_case("CONNECT") {
        lock(&record.refused).push(format!("{method} {target}"));
        let body = "This proxy only tunnels (CONNECT).\n";
        answer(client, "405 Method Not Allowed", "Allow: CONNECT\r\n", body)?;
        return Err(io::ErrorKind::Unsupported.into());
    }
    lock(&record.tunnels).push(target.to_owned());
    match relay::connect(target) {
        Ok(tcp) => {
            client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")?;
            Ok(tcp)
        }
        Err(e) => {
            let body = format!("cannot reach {target}: {e}\n");
            answer(client, "502 Bad Gateway", "", &body)?;
            Err(e)
        }
    }
}

/// Reads the request head a byte at a time, so that what the client sends after it (a TLS hello,
/// say) stays in the socket for the tunnel; returns its first line.
fn read_head(client: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(io::ErrorKind::InvalidData.into());
        }
        client.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    Ok(head.lines().next().unwrap_or("").to_owned())
}

/// Writes a plain-text answer that closes the connection.
fn answer(client: &mut TcpStream, status: &str, headers: &str, body: &str) -> io::Result<()> {
    write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n{headers}\r\n{body}",
        body.len()
    )
}
