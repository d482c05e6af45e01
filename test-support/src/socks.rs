//! A SOCKS proxy for tests (SOCKS4, SOCKS4a and SOCKS5 without authentication): it tunnels a
//! client to the address it asks for, so a client's SOCKS support can be tried against the
//! emulator, HTTPS included. Written from RFC 1928 and the SOCKS4/4a notes, apart from any client's
//! code.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, TcpStream};
use std::sync::{Arc, Mutex};

use crate::relay::{self, lock, Relay};

/// A SOCKS proxy on 127.0.0.1, for tests; it stops when dropped.
///
/// It speaks SOCKS5 (RFC 1928, the "no authentication" method only) and SOCKS4 / SOCKS4a,
/// accepts `CONNECT` and passes bytes both ways until either side closes. Each tunnel is recorded
/// as the client asked for it, so a test can tell a name the proxy resolved (`socks5h`, `socks4a`)
/// from an address the client resolved itself (`socks5`, `socks4`).
///
/// ```
/// use kie_upload_test_support::SocksProxy;
///
/// let proxy = SocksProxy::start()?;
/// // Give a client `proxy.url("socks5h")` as its proxy, then:
/// assert!(proxy.url("socks5").starts_with("socks5://127.0.0.1:"));
/// assert!(proxy.tunnels().is_empty());
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct SocksProxy {
    relay: Relay,
    tunnels: Arc<Mutex<Vec<SocksTunnel>>>,
}

/// One tunnel a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocksTunnel {
    /// The protocol version the client spoke: 4 or 5.
    pub version: u8,
    /// The target as the client sent it: `127.0.0.1:8443` for an address, `localhost:8443` for a
    /// name the proxy resolved.
    pub target: String,
    /// Whether the target came as a name (SOCKS5 domain type, or SOCKS4a) rather than an address.
    pub by_name: bool,
}

impl SocksProxy {
    /// Starts the proxy on a free port of 127.0.0.1.
    pub fn start() -> io::Result<SocksProxy> {
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let relay = {
            let tunnels = Arc::clone(&tunnels);
            Relay::start("socks", Box::new(move |client| handshake(&tunnels, client)))?
        };
        Ok(SocksProxy { relay, tunnels })
    }

    /// `SCHEME://127.0.0.1:PORT`, the proxy URL to give a client: `socks5`, `socks5h`, `socks4`,
    /// `socks4a` or `socks`.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.relay.port())
    }

    /// Every tunnel asked for so far, oldest first (including those whose target could not be
    /// reached, which were refused).
    pub fn tunnels(&self) -> Vec<SocksTunnel> {
        lock(&self.tunnels).clone()
    }
}

impl std::fmt::Debug for SocksProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocksProxy")
            .field("port", &self.relay.port())
            .finish_non_exhaustive()
    }
}

/// Reads the client's request, connects to its target and answers; the tunnel's target socket on
/// success.
fn handshake(tunnels: &Mutex<Vec<SocksTunnel>>, client: &mut TcpStream) -> io::Result<TcpStream> {
    let version = byte(client)?;
    match version {
        5 => socks5(tunnels, client),
        4 => socks4(tunnels, client),
        _ => Err(io::ErrorKind::InvalidData.into()),
    }
}

fn socks5(tunnels: &Mutex<Vec<SocksTunnel>>, client: &mut TcpStream) -> io::Result<TcpStream> {
    let count = byte(client)?;
    let methods = bytes(client, count.into())?;
    if !methods.contains(&0) {
        // No acceptable method.
        client.write_all(&[5, 0xff])?;
        return Err(io::ErrorKind::PermissionDenied.into());
    }
    client.write_all(&[5, 0])?;
    let [version, command, _reserved, kind] = <[u8; 4]>::try_from(bytes(client, 4)?).unwrap();
    if version != 5 {
        return Err(io::ErrorKind::InvalidData.into());
    }
    let (host, by_name) = match kind {
        1 => {
            let a = bytes(client, 4)?;
            (Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string(), false)
        }
        3 => {
            let len = byte(client)?;
            let name = bytes(client, len.into())?;
            (String::from_utf8_lossy(&name).into_owned(), true)
        }
        4 => {
            let a: [u8; 16] = bytes(client, 16)?.try_into().unwrap();
            (format!("[{}]", Ipv6Addr::from(a)), false)
        }
        _ => {
            // Address type not supported.
            client.write_all(&[5, 8, 0, 1, 0, 0, 0, 0, 0, 0])?;
            return Err(io::ErrorKind::InvalidData.into());
        }
    };
    let port = u16::from_be_bytes(bytes(client, 2)?.try_into().unwrap());
    let target = format!("{host}:{port}");
    lock(tunnels).push(SocksTunnel {
        version: 5,
        target: target.clone(),
        by_name,
    });
    if command != 1 {
        // Command not supported.
        client.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0])?;
        return Err(io::ErrorKind::Unsupported.into());
    }
    match relay::connect(&target) {
        Ok(tcp) => {
            client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])?;
            Ok(tcp)
        }
        Err(e) => {
            // Host unreachable.
            client.write_all(&[5, 4, 0, 1, 0, 0, 0, 0, 0, 0])?;
            Err(e)
        }
    }
}

fn socks4(tunnels: &Mutex<Vec<SocksTunnel>>, client: &mut TcpStream) -> io::Result<TcpStream> {
    let head = bytes(client, 7)?;
    let command = head[0];
    let port = u16::from_be_bytes([head[1], head[2]]);
    let ip = Ipv4Addr::new(head[3], head[4], head[5], head[6]);
    let _user = until_nul(client)?;
    // SOCKS4a: an address of 0.0.0.x (x not 0) says a name follows the user id.
    let by_name = ip.octets()[..3] == [0, 0, 0] && ip.octets()[3] != 0;
    let host = if by_name {
        String::from_utf8_lossy(&until_nul(client)?).into_owned()
    } else {
        ip.to_string()
    };
    let target = format!("{host}:{port}");
    lock(tunnels).push(SocksTunnel {
        version: 4,
        target: target.clone(),
        by_name,
    });
    let refuse = |client: &mut TcpStream| client.write_all(&[0, 0x5b, 0, 0, 0, 0, 0, 0]);
    if command != 1 {
        refuse(client)?;
        return Err(io::ErrorKind::Unsupported.into());
    }
    match relay::connect(&target) {
        Ok(tcp) => {
            client.write_all(&[0, 0x5a, 0, 0, 0, 0, 0, 0])?;
            Ok(tcp)
        }
        Err(e) => {
            refuse(client)?;
            Err(e)
        }
    }
}

fn byte(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn bytes(r: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut v = vec![0; n];
    r.read_exact(&mut v)?;
    Ok(v)
}

/// A NUL-terminated string of at most 255 bytes.
fn until_nul(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    loop {
        match byte(r)? {
            0 => return Ok(v),
            _ if v.len() >= 255 => return Err(io::ErrorKind::InvalidData.into()),
            b => v.push(b),
        }
    }
}
