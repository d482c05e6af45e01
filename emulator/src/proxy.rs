//! A CONNECT proxy for tests: it tunnels a client to `host:port`, so a client's proxy support can
//! be tried against the emulator, HTTPS included.

use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::http::{self, Reply};
use crate::util::lock;

/// How long a tunnel may sit idle in either direction, and how long a connect may take.
const IDLE: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A CONNECT proxy on 127.0.0.1, for tests; it stops when dropped.
///
/// It answers `CONNECT host:port HTTP/1.1` with `200 Connection Established` and then passes
/// bytes both ways until either side closes (or a minute passes with nothing to pass). Anything
/// but CONNECT is answered `405 Method Not Allowed`.
///
/// ```
/// use kie_upload_emulator::{Config, ConnectProxy, Emulator};
///
/// let emulator = Emulator::start(Config::new("test-key").tls(true))?;
/// let proxy = ConnectProxy::start()?;
/// // Give a client `proxy.url()` as its proxy and `emulator.ca_cert_pem()` as a root, then:
/// assert!(proxy.url().starts_with("http://127.0.0.1:"));
/// assert!(proxy.tunnels().is_empty());
/// # Ok::<_, std::io::Error>(())
/// ```
pub struct ConnectProxy {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    tunnels: Mutex<Vec<String>>,
    refused: Mutex<Vec<String>>,
    /// Sockets of the connections being served, to close them on stop.
    live: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
    stopping: AtomicBool,
}

impl ConnectProxy {
    /// Starts the proxy on a free port of 127.0.0.1.
    pub fn start() -> io::Result<ConnectProxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            tunnels: Mutex::new(Vec::new()),
            refused: Mutex::new(Vec::new()),
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("proxy-accept".into())
                .spawn(move || {
                    for client in listener.incoming() {
                        if shared.stopping.load(Ordering::SeqCst) {
                            return;
                        }
                        let Ok(client) = client else { continue };
                        let shared = Arc::clone(&shared);
                        let _ = thread::Builder::new()
                            .name("proxy-conn".into())
                            .spawn(move || serve(&shared, client));
                    }
                })?
        };
        Ok(ConnectProxy {
            port,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// `http://127.0.0.1:PORT`, the proxy URL to give a client.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `host:port` of each CONNECT so far, oldest first (including those whose target could
    /// not be reached, which were answered `502 Bad Gateway`).
    pub fn tunnels(&self) -> Vec<String> {
        lock(&self.shared.tunnels).clone()
    }

    /// The request line (method and target) of each request that was not a CONNECT, answered
    /// `405 Method Not Allowed`: a client that sent a plain request to the proxy.
    pub fn refused(&self) -> Vec<String> {
        lock(&self.shared.refused).clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for tcp in lock(&self.shared.live).values() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
    }
}

impl std::fmt::Debug for ConnectProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectProxy")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

/// Keeps a socket in the live set while a connection is served.
struct Live<'s> {
    shared: &'s Shared,
    ids: Vec<u64>,
}

impl Live<'_> {
    fn add(&mut self, tcp: &TcpStream) {
        if let Ok(clone) = tcp.try_clone() {
            let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
            lock(&self.shared.live).insert(id, clone);
            self.ids.push(id);
        }
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        let mut live = lock(&self.shared.live);
        for id in &self.ids {
            live.remove(id);
        }
    }
}

fn serve(shared: &Shared, client: TcpStream) {
    let mut live = Live {
        shared,
        ids: Vec::new(),
    };
    live.add(&client);
    let _ = client.set_read_timeout(Some(IDLE));
    let _ = client.set_write_timeout(Some(IDLE));
    let mut reader = BufReader::new(client);
    let Ok(Some(head)) = http::read_head(&mut reader) else {
        return;
    };
    if !head.method.eq_ignore_ascii_case("CONNECT") {
        lock(&shared.refused).push(format!("{} {}", head.method, head.target));
        let reply = Reply::bytes(
            405,
            "text/plain",
            b"This proxy only tunnels (CONNECT).\n".to_vec(),
        )
        .with_header("Allow", "CONNECT");
        let _ = reply.write_to(reader.get_mut(), false);
        return;
    }
    lock(&shared.tunnels).push(head.target.clone());
    let target = match connect(&head.target) {
        Ok(target) => target,
        Err(e) => {
            let reply = Reply::bytes(
                502,
                "text/plain",
                format!("cannot reach {}: {e}\n", head.target).into_bytes(),
            );
            let _ = reply.write_to(reader.get_mut(), false);
            return;
        }
    };
    live.add(&target);
    let _ = target.set_read_timeout(Some(IDLE));
    let _ = target.set_write_timeout(Some(IDLE));
    // Bytes the client sent right after the CONNECT head (a TLS hello, say) go first.
    let early = reader.buffer().to_vec();
    let mut client = reader.into_inner();
    let established = client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .and_then(|()| (&target).write_all(&early));
    if established.is_err() {
        return;
    }
    let (Ok(client_in), Ok(target_out)) = (client.try_clone(), target.try_clone()) else {
        return;
    };
    let upstream = thread::Builder::new()
        .name("proxy-pipe".into())
        .spawn(move || pipe(client_in, target_out));
    pipe(target, client);
    if let Ok(upstream) = upstream {
        let _ = upstream.join();
    }
}

/// Connects to `host:port`, trying each address it resolves to.
fn connect(authority: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in authority.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Copies `from` into `to` until `from` ends or fails, then passes the end on.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
