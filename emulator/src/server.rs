//! The server: the accept loop and its connection cap, one thread a connection, the requests on a
//! connection one after another, routing, and the one place a request is recorded.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::faults::{self, Script};
use crate::http::{self, Action, Body, Failure, Framing, Head, HeadError, Reply};
use crate::service::{Endpoint, Outcome, Service};
use crate::store::Store;
use crate::tls::{CaCert, Conn, Tls};
use crate::util::lock;
use crate::{Config, Fault, RecordedRequest};

/// How long a connection held by a fault stays open at most, and how long any single read or
/// write within a request may wait.
const HOLD: Duration = Duration::from_secs(60);

/// The longest a lingering close ([`Fault::RefuseAtHeadersAndLinger`]) keeps a connection open,
/// as nginx's `lingering_time`.
const LINGERING_TIME: Duration = Duration::from_secs(30);

/// How long an idle kept-alive connection waits for its next request.
const IDLE: Duration = Duration::from_secs(30);

/// How often a waiting connection looks whether the emulator is stopping.
const POLL: Duration = Duration::from_millis(200);

/// A running server; it stops, and deletes its files, when dropped.
pub(crate) struct Server {
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// What every connection thread shares.
struct Shared {
    config: Config,
    port: u16,
    base_url: String,
    service: Service,
    tls: Option<Tls>,
    /// The stored files and the CA certificate; taken and deleted when the server stops.
    dir: Mutex<Option<tempfile::TempDir>>,
    requests: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<Script>,
    next_connection: AtomicU64,
    /// The sockets of the connections being served, to count them and to close them on stop.
    live: Mutex<HashMap<u64, TcpStream>>,
    stopping: AtomicBool,
}

impl Server {
    pub fn start(config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", config.port))?;
        let port = listener.local_addr()?.port();
        let dir = tempfile::Builder::new()
            .prefix("kie-upload-emulator")
            .tempdir()?;
        let tls = match config.tls {
            true => Some(Tls::generate(dir.path())?),
            false => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://127.0.0.1:{port}");
        let store = Store::new(dir.path().to_owned(), base_url.clone(), config.ttl);
        let service = Service::new(
            config.api_key.clone(),
            store,
            tls.as_ref().map(|t| &t.ca.der),
        );
        let shared = Arc::new(Shared {
            config,
            port,
            base_url,
            service,
            tls,
            dir: Mutex::new(Some(dir)),
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(Script::default()),
            next_connection: AtomicU64::new(0),
            live: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("emulator-accept".into())
                .spawn(move || accept_loop(&shared, &listener))?
        };
        Ok(Server {
            shared,
            acceptor: Some(acceptor),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    pub fn port(&self) -> u16 {
        self.shared.port
    }

    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    pub fn ca_cert(&self) -> Option<&CaCert> {
        self.shared.tls.as_ref().map(|tls| &tls.ca)
    }

    pub fn inject(&self, endpoint: Option<Endpoint>, fault: Fault, times: usize) {
        lock(&self.shared.faults).add(endpoint, fault, times);
    }

    pub fn unused_faults(&self) -> Vec<Fault> {
        lock(&self.shared.faults).unused()
    }

    pub fn describe_unused_faults(&self) -> String {
        lock(&self.shared.faults).describe_unused()
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    pub fn stored(&self, file_path: &str) -> Option<Vec<u8>> {
        self.shared.service.store().get(file_path)
    }

    /// Blocks until the accept loop ends (it runs until the server is dropped).
    pub fn wait(mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor with a connection of our own.
        let _ = TcpStream::connect(("127.0.0.1", self.shared.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        // Wake every connection blocked in a read; held ones notice `stopping` themselves.
        for tcp in lock(&self.shared.live).values() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
        if let Some(dir) = lock(&self.shared.dir).take() {
            let _ = dir.close();
        }
    }
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Counts a new connection in, unless [`Config::max_connections`] are already served.
    fn admit(&self, id: u64, tcp: &TcpStream) -> bool {
        let mut live = lock(&self.live);
        if live.len() >= self.config.max_connections {
            return false;
        }
        match tcp.try_clone() {
            Ok(clone) => {
                live.insert(id, clone);
                true
            }
            Err(_) => false,
        }
    }

    /// A request as its head shows it; the rest is filled in as it is handled.
    fn record_of(&self, head: &Head, connection: u64, fault: Option<Fault>) -> RecordedRequest {
        let auth = head.header("Authorization");
        RecordedRequest {
            method: head.method.clone(),
            path: head.path().to_owned(),
            headers: head.headers.clone(),
            authorized: self.service.is_authorized(auth),
            had_authorization: auth.is_some(),
            content_length: head.content_length(),
            chunked: head.is_chunked(),
            expect_continue: head.expects_continue(),
            body_read: 0,
            content_type: head.header("Content-Type").map(str::to_owned),
            parts: Vec::new(),
            json_fields: BTreeMap::new(),
            fault,
            connection,
            status: 0,
            code: 0,
        }
    }
}

/// Counts a connection out when its thread ends, panics included.
struct Live<'s> {
    shared: &'s Shared,
    id: u64,
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        lock(&self.shared.live).remove(&self.id);
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    for tcp in listener.incoming() {
        if shared.stopping() {
            return;
        }
        let Ok(tcp) = tcp else {
            // Out of file descriptors, say: let some connections end rather than spin.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
        let admitted = shared.admit(id, &tcp);
        let thread_shared = Arc::clone(shared);
        // A thread a connection, so a URL upload can fetch from this emulator. A panic ends only
        // its own thread: shared state is locked poison-tolerantly and `Live` counts it out.
        let spawned = thread::Builder::new()
            .name("emulator-conn".into())
            .spawn(move || match admitted {
                true => serve(&thread_shared, id, tcp),
                false => turn_away(&thread_shared, tcp),
            });
        if spawned.is_err() && admitted {
            lock(&shared.live).remove(&id);
        }
    }
}

/// Answers a connection beyond the cap with 503 and closes it.
fn turn_away(shared: &Shared, tcp: TcpStream) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(5)));
    let Ok(conn) = Conn::new(tcp, shared.tls.as_ref()) else {
        return;
    };
    let mut conn = BufReader::new(conn);
    // Read the request first (or wait a second for it), so the answer is to something.
    let _ = http::read_head(&mut conn);
    let reply = Outcome::error(
        503,
        "Service Unavailable: too many connections, retry later",
    )
    .into_reply(false)
    .with_header("Retry-After", "1");
    reject(conn.get_mut(), reply);
}

/// A front end's refusal: the reply, then a lingering close.
fn reject(conn: &mut Conn, reply: Reply) {
    if reply.write_to(conn, false).is_ok() {
        conn.close_lingering();
    }
}

fn serve(shared: &Shared, id: u64, tcp: TcpStream) {
    let _live = Live { shared, id };
    let _ = tcp.set_write_timeout(Some(HOLD));
    let _ = tcp.set_nodelay(true);
    let Ok(conn) = Conn::new(tcp, shared.tls.as_ref()) else {
        return;
    };
    let mut conn = BufReader::with_capacity(64 * 1024, conn);
    while await_request(shared, &mut conn) {
        if matches!(conn.get_ref(), Conn::Plain(_)) && conn.buffer().first() == Some(&TLS_HANDSHAKE)
        {
            // A TLS hello on the plain port (an https:// URL for an http:// server): nginx's
            // answer, a plain-HTTP 400 page, then the close.
            return reject(conn.get_mut(), nginx_bad_request());
        }
        let head = match http::read_head(&mut conn) {
            Ok(Some(head)) => head,
            Ok(None) | Err(HeadError::Io) => return,
            Err(HeadError::TooLarge) => {
                let msg =
                    "Request Header Fields Too Large: a line over 8 KiB or a head over 64 KiB";
                return reject(conn.get_mut(), Outcome::error(431, msg).into_reply(false));
            }
            Err(HeadError::Malformed(why)) => {
                let msg = format!("Bad Request: malformed request head ({why})");
                return reject(conn.get_mut(), Outcome::error(400, &msg).into_reply(false));
            }
        };
        if !exchange(shared, id, &mut conn, &head) {
            return;
        }
    }
}

/// The first byte of a TLS record that carries a handshake (a client's hello).
const TLS_HANDSHAKE: u8 = 0x16;

/// What nginx answers on a plain-HTTP port to bytes that are not HTTP, such as a TLS hello.
fn nginx_bad_request() -> Reply {
    let body = "<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n\
                <center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx</center>\r\n\
                </body>\r\n</html>\r\n";
    Reply::bytes(400, "text/html", body.as_bytes().to_vec()).with_header("Server", "nginx")
}

/// Waits for the first byte of a next request, giving up when idle too long or stopping.
fn await_request(shared: &Shared, conn: &mut BufReader<Conn>) -> bool {
    let started = Instant::now();
    let _ = conn.get_ref().tcp().set_read_timeout(Some(POLL));
    let ready = loop {
        match conn.fill_buf() {
            Ok([]) => break false,
            Ok(_) => break true,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                if shared.stopping() || started.elapsed() > IDLE {
                    break false;
                }
            }
            Err(_) => break false,
        }
    };
    let _ = conn.get_ref().tcp().set_read_timeout(Some(HOLD));
    ready
}

/// Where a request goes.
enum Route<'h> {
    /// `GET /files/<escaped path>`.
    Download(&'h str),
    Upload(Endpoint),
    /// Another path under `/api/`: the service's own 404.
    NoEndpoint,
    /// Anything else, such as the quickstart shape's `fileUrl`: a plain 404 from the file server.
    NotFound,
}

impl<'h> Route<'h> {
    fn of(head: &'h Head) -> Route<'h> {
        let path = head.path();
        if head.method == "GET" {
            if let Some(file_path) = path.strip_prefix("/files/") {
                return Route::Download(file_path);
            }
        }
        match Endpoint::of(path) {
            Some(endpoint) => Route::Upload(endpoint),
            None if path.contains("/api/") => Route::NoEndpoint,
            None => Route::NotFound,
        }
    }
}

/// One request and its answer; `false` when the connection is done.
fn exchange(shared: &Shared, connection: u64, conn: &mut BufReader<Conn>, head: &Head) -> bool {
    let route = Route::of(head);
    let framing = head.framing();
    // A fault is spent only on an upload request that the front end lets through.
    let fault = match (&route, &framing) {
        (Route::Upload(endpoint), Ok(_)) => lock(&shared.faults).take(*endpoint),
        _ => None,
    };
    let mut record = shared.record_of(head, connection, fault.clone());
    let (action, keep_alive) = match framing {
        Err(why) => (bad_request(why), false),
        Ok(framing) => respond(
            shared,
            conn,
            head,
            &route,
            fault.as_ref(),
            framing,
            &mut record,
        ),
    };
    (record.status, record.code) = action.status_and_code();
    // The one place a request is recorded: before its reply goes out, so a client that has its
    // answer finds the record.
    lock(&shared.requests).push(record);
    thread::sleep(shared.config.answer_delay);
    perform(shared, conn.get_mut(), action, keep_alive)
}

/// The front end's answer to a request whose body cannot be framed.
fn bad_request(why: &str) -> Action {
    Action::Reject(Outcome::error(400, &format!("Bad Request: {why}")).into_reply(false))
}

/// Reads the request's body as far as its handling needs, and says how to answer it and whether
/// the connection may then carry another request.
fn respond(
    shared: &Shared,
    conn: &mut BufReader<Conn>,
    head: &Head,
    route: &Route<'_>,
    fault: Option<&Fault>,
    framing: Framing,
    record: &mut RecordedRequest,
) -> (Action, bool) {
    if let Some(action) = fault.and_then(|f| faults::at_headers(f, head)) {
        return (action, false);
    }
    if record.expect_continue && shared.config.honour_expect {
        thread::sleep(shared.config.answer_delay);
        let out = conn.get_mut();
        if out
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .and_then(|()| out.flush())
            .is_err()
        {
            return (Action::Close, false);
        }
    }
    let mut keep_alive = head.keep_alive;
    let mut body = Body::new(conn, framing);
    let mut action = handle(shared, head, route, fault, &mut body, record);
    if let Action::Answer(_) | Action::AnswerRaw(_) | Action::Drip(..) = action {
        // Read what is left of the body, so the client sees the reply and not a reset.
        match body.drain() {
            Ok(()) => {}
            Err(Failure::Framing(why)) => action = bad_request(why),
            // The client may have shut its side only: answer, then close.
            Err(Failure::CutShort) => keep_alive = false,
            Err(Failure::Io) => action = Action::Close,
        }
    }
    record.body_read = body.bytes_read();
    (action, keep_alive)
}

/// Handles one request up to the action that answers it.
fn handle(
    shared: &Shared,
    head: &Head,
    route: &Route<'_>,
    fault: Option<&Fault>,
    body: &mut (dyn Read + Send),
    record: &mut RecordedRequest,
) -> Action {
    let errors_in_body = shared.config.errors_in_body;
    let endpoint = match route {
        Route::Download(file_path) => {
            return Action::Answer(shared.service.store().download(file_path))
        }
        Route::NoEndpoint => {
            return Action::Answer(Outcome::error(404, "Not found").into_reply(errors_in_body))
        }
        Route::NotFound => {
            let reply = Reply::bytes(404, "text/plain", b"Not found".to_vec()).with_code(404);
            return Action::Answer(reply);
        }
        Route::Upload(endpoint) => *endpoint,
    };
    if let Some(action) =
        fault.and_then(|f| faults::instead_of_service(f, head, body, errors_in_body))
    {
        return action;
    }
    let outcome = match shared.service.upload(endpoint, head, body, record) {
        Ok(file) => faults::success(
            fault,
            &file,
            shared.service.store(),
            &shared.base_url,
            shared.config.ttl,
        ),
        Err(outcome) => outcome,
    };
    faults::deliver(fault, outcome.into_reply(errors_in_body))
}

/// Carries out an action on the connection; `true` to go on with the next request.
fn perform(shared: &Shared, conn: &mut Conn, action: Action, keep_alive: bool) -> bool {
    match action {
        Action::Answer(reply) => {
            if reply.write_to(conn, keep_alive).is_err() {
                return false;
            }
            if !keep_alive {
                conn.close();
            }
            keep_alive
        }
        Action::AnswerRaw(bytes) => {
            let _ = conn.write_all(&bytes);
            conn.close();
            false
        }
        Action::Drip(reply, pause) => {
            let _ = drip(conn, reply, pause);
            conn.close();
            false
        }
        Action::Refuse(reply) => {
            let _ = reply.write_to(conn, false);
            conn.close_abruptly();
            false
        }
        Action::Reject(reply) => {
            reject(conn, reply);
            false
        }
        Action::Linger(reply, idle) => {
            if reply.write_to(conn, false).is_ok() {
                linger(shared, conn, idle);
            }
            conn.close();
            false
        }
        Action::Close => {
            conn.close_abruptly();
            false
        }
        Action::Hold => {
            hold(shared);
            false
        }
    }
}

/// Keeps a connection open without reading or writing, until the emulator stops or [`HOLD`] ends.
fn hold(shared: &Shared) {
    let started = Instant::now();
    while !shared.stopping() && started.elapsed() < HOLD {
        thread::sleep(Duration::from_millis(50));
    }
}

/// nginx's lingering close: keeps the connection open, reading and dropping what comes, until
/// `idle` passes without a byte (30 s at most, nginx's `lingering_time`) or the emulator stops.
fn linger(shared: &Shared, conn: &mut Conn, idle: Duration) {
    let _ = conn.flush();
    let mut tcp = conn.tcp();
    let _ = tcp.set_read_timeout(Some(POLL.min(idle).max(Duration::from_millis(1))));
    let started = Instant::now();
    let mut last = started;
    let mut buf = [0u8; 16 * 1024];
    while !shared.stopping() && last.elapsed() < idle && started.elapsed() < LINGERING_TIME {
        match tcp.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => last = Instant::now(),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

fn drip(conn: &mut Conn, reply: Reply, pause: Duration) -> io::Result<()> {
    for b in reply.into_bytes(false)? {
        conn.write_all(&[b])?;
        conn.flush()?;
        thread::sleep(pause);
    }
    Ok(())
}
