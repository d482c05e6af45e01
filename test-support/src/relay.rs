//! What both proxies share: a listener on 127.0.0.1 that gives each connection a thread, lets the
//! proxy's own handshake pick the target, then passes bytes both ways until either side closes,
//! and closes every socket still open when it is dropped.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long a tunnel may sit idle in either direction.
const IDLE: Duration = Duration::from_secs(60);
/// How long a connect to a target may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The proxy's side of a connection: reads the client's request from the socket, answers it, and
/// returns the target to tunnel to (connected with [`connect`]), or an error to close the
/// connection with.
pub(crate) type Handshake = dyn Fn(&mut TcpStream) -> io::Result<TcpStream> + Send + Sync;

/// A running relay; it stops, and closes every connection it serves, when dropped.
pub(crate) struct Relay {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    handshake: Box<Handshake>,
    /// Sockets of the connections being served, to close them on stop.
    live: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
    stopping: AtomicBool,
}

impl Relay {
    /// Listens on a free port of 127.0.0.1; threads are named after `name`.
    pub(crate) fn start(name: &'static str, handshake: Box<Handshake>) -> io::Result<Relay> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            handshake,
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("{name}-accept"))
                .spawn(move || {
                    for client in listener.incoming() {
                        if shared.stopping.load(Ordering::SeqCst) {
                            return;
                        }
                        let Ok(client) = client else { continue };
                        let shared = Arc::clone(&shared);
                        let _ = thread::Builder::new()
                            .name(format!("{name}-conn"))
                            .spawn(move || serve(&shared, client, name));
                    }
                })?
        };
        Ok(Relay {
            port,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wakes the acceptor, which then sees `stopping`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for tcp in lock(&self.shared.live).values() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
    }
}

/// Locks `m` even if a thread panicked while holding it: one connection's panic must not stop
/// the proxy.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Connects to `host:port`, trying each address it resolves to.
pub(crate) fn connect(authority: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in authority.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Keeps a connection's sockets in the live set while it is served.
struct Live<'s> {
    shared: &'s Shared,
    ids: Vec<u64>,
}

impl Live<'_> {
    fn add(&mut self, tcp: &TcpStream) {
        let _ = tcp.set_read_timeout(Some(IDLE));
        let _ = tcp.set_write_timeout(Some(IDLE));
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

fn serve(shared: &Shared, mut client: TcpStream, name: &str) {
    let mut live = Live {
        shared,
        ids: Vec::new(),
    };
    live.add(&client);
    let Ok(target) = (shared.handshake)(&mut client) else {
        return;
    };
    live.add(&target);
    let (Ok(client_in), Ok(target_out)) = (client.try_clone(), target.try_clone()) else {
        return;
    };
    let upstream = thread::Builder::new()
        .name(format!("{name}-pipe"))
        .spawn(move || pipe(client_in, target_out));
    pipe(target, client);
    if let Ok(upstream) = upstream {
        let _ = upstream.join();
    }
}

/// Copies `from` into `to` until `from` ends or fails, then passes the end on.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
