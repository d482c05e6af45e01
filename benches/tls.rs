//! End-to-end figures over TLS on loopback, each against a baseline measured in the same run, to a
//! byte-counting rustls server in this process (a CA made at start, its certificate in a temporary
//! file that every client trusts). The server uses rustls's unbuffered API and decrypts in place,
//! so that it costs about half a core per GiB/s and the client, not the server, sets the pace.
//!
//! 1. one large upload (1 GiB by default): this client against `curl -F`, against ureq's own
//!    `unversioned::multipart::Form`, and against the ceiling for any rustls client (the bare bytes
//!    through a rustls stream on the socket), in turns, each run's order rotated; medians of the
//!    per-run ratios, and the CPU time of the calling thread. Then the peak memory (VmHWM) of a
//!    process uploading it from a file and from a pipe;
//! 2. (the CLI as a whole process against curl: in the kie-upload-cli package, `cargo bench -p
//!    kie-upload-cli`);
//! 3. 1,000 uploads of 1 KiB: a new client (new pool, full handshake) for each, one pooled client,
//!    and `upload_all` with 4 jobs;
//! 4. the cipher's single-core speed here (ring, 16 KiB records, the suite the clients negotiated),
//!    the floor under figure 1.
//!
//! The server notes the protocol version and cipher suite of each new connection; they are printed
//! per client, with the number of connections.
//!
//! `KIE_BENCH_MIB` sets the large size (default 1024), `KIE_BENCH_RUNS` the runs of figures 1 and 3
//! (default 7), `KIE_BENCH_SMALL_COUNT` the uploads of figure 3 (default 1000), and `KIE_BENCH_ONLY`
//! the figures to run (default `1,3,4`). Linux only (`/proc`), and curl must be installed.
//!
//! For profiling one client alone: `KIE_BENCH_SERVE=<fileSize to report>` runs only the server and
//! prints its URL and CA file; then run this binary again with `KIE_BENCH_CHILD=file` (or `pipe`,
//! `form`), `KIE_BENCH_URL`, `KIE_BENCH_CA` and `KIE_BENCH_PATH` for one upload, e.g. under
//! `perf record`.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use kie_upload::{Client, Upload};

mod common;
use common::{
    env_or, make_file, median, peak_memory, print_peak_memory, ureq_form_upload, write_raw_post,
    KEY,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{
    AppDataRecord, ConnectionState, EncodeError, EncryptError, UnbufferedStatus,
};
use rustls::ServerConfig;

/// What the server reads the socket into: big, so that neither the server's system calls nor its
/// loop limit what a client can send.
const SERVER_BUFFER: usize = 256 << 10;

/// The largest TLS record on the wire: 16 KiB of data, its header, tag and padding.
const MAX_RECORD: usize = (16 << 10) + 256 + 5;

/// The smallest and largest of a list, for printing a range.
fn range(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

/// A certificate authority made at start, and the server's configuration with a certificate for
/// `127.0.0.1` that it signed.
struct Pki {
    config: Arc<ServerConfig>,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    ca_path: PathBuf,
}

impl Pki {
    fn generate(dir: &Path) -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "kie-upload bench CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "kie-upload bench");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        // rustls's defaults: TLS 1.3 and 1.2, the client's preferred suite.
        let provider = Arc::new(kie_upload_emulator::ring_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .unwrap();
        let ca_path = dir.join("ca.pem");
        std::fs::write(&ca_path, ca.pem()).unwrap();
        Pki {
            config: Arc::new(config),
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            ca_path,
        }
    }
}

/// A TLS server that reads each request's body, counts it, and answers with a success whose
/// `fileSize` is `reported`. Keep-alive, a thread a connection.
struct Sink {
    url: String,
    reported: Arc<AtomicU64>,
    /// "protocol, cipher suite" of each connection since the last [`Sink::sessions`].
    sessions: Arc<Mutex<Vec<String>>>,
}

impl Sink {
    fn start(config: Arc<ServerConfig>) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let reported = Arc::new(AtomicU64::new(0));
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let (shared_reported, shared_sessions) = (Arc::clone(&reported), Arc::clone(&sessions));
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, reported, sessions) = (
                    Arc::clone(&config),
                    Arc::clone(&shared_reported),
                    Arc::clone(&shared_sessions),
                );
                thread::spawn(move || {
                    let _ = serve(stream, config, &reported, &sessions);
                });
            }
        });
        Sink {
            url,
            reported,
            sessions,
        }
    }

    fn report(&self, size: u64) {
        self.reported.store(size, Ordering::SeqCst);
    }

    /// The "protocol, cipher suite" of the connections opened since the last call, counted.
    fn sessions(&self) -> Sessions {
        let mut seen = Sessions::default();
        for session in self.sessions.lock().unwrap().drain(..) {
            *seen.0.entry(session).or_default() += 1;
        }
        seen
    }
}

/// New connections by "protocol, cipher suite".
#[derive(Default)]
struct Sessions(BTreeMap<String, usize>);

impl Sessions {
    fn add(&mut self, other: Sessions) {
        for (session, n) in other.0 {
            *self.0.entry(session).or_default() += n;
        }
    }
}

impl std::fmt::Display for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no new connection");
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(session, n)| {
                format!(
                    "{session}, {n} connection{}",
                    if *n == 1 { "" } else { "s" }
                )
            })
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// Where a connection's current request stands.
enum Phase {
    /// Reading the request line and headers, kept in `Request::head` until the blank line.
    Head,
    /// This many body bytes still to come.
    Length(u64),
    /// A chunk-size line, kept in `Request::line`.
    ChunkSize,
    /// This many bytes of chunk data and its CRLF still to come.
    ChunkData(u64),
    /// Trailer lines after the last chunk, up to the blank line.
    Trailer,
}

/// A request the byte-counting server cannot read.
fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// A streaming HTTP/1.1 request reader that counts bodies without keeping them, and queues the
/// plaintext to send back (`100 Continue`, the reply).
struct Request<'a> {
    phase: Phase,
    head: Vec<u8>,
    line: Vec<u8>,
    reported: &'a AtomicU64,
}

impl Request<'_> {
    /// Takes the next decrypted bytes of the connection; adds what to answer to `reply`.
    fn feed(&mut self, mut data: &[u8], reply: &mut Vec<u8>) -> io::Result<()> {
        while !data.is_empty() {
            let used = match self.phase {
                Phase::Head => match self.head_part(data, reply)? {
                    Some(used) => used,
                    None => return Ok(()),
                },
                Phase::Length(left) | Phase::ChunkData(left) => {
                    let n = left.min(data.len() as u64);
                    self.phase = match self.phase {
                        Phase::Length(_) => Phase::Length(left - n),
                        _ if left == n => Phase::ChunkSize,
                        _ => Phase::ChunkData(left - n),
                    };
                    n as usize
                }
                Phase::ChunkSize | Phase::Trailer => match self.line_part(data)? {
                    Some(used) => used,
                    None => return Ok(()),
                },
            };
            data = &data[used..];
            if let Phase::Length(0) = self.phase {
                self.finish(reply);
            }
        }
        if let Phase::Length(0) = self.phase {
            self.finish(reply);
        }
        Ok(())
    }

    /// Takes bytes of a request head. Once the head is whole: how many of `data` it took, the
    /// body's framing read from it, and `100 Continue` queued when it was asked for.
    fn head_part(&mut self, data: &[u8], reply: &mut Vec<u8>) -> io::Result<Option<usize>> {
        let before = self.head.len();
        self.head.extend_from_slice(data);
        let from = before.saturating_sub(3);
        let Some(end) = self.head[from..].windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.head.len() > 64 << 10 {
                return Err(bad("request head over 64 KiB"));
            }
            return Ok(None);
        };
        let end = from + end + 4;
        self.head.truncate(end);
        let head = String::from_utf8_lossy(&self.head).to_ascii_lowercase();
        let (mut length, mut chunked, mut expect) = (0u64, false, false);
        for line in head.lines() {
            if let Some(v) = line.strip_prefix("content-length:") {
                length = v.trim().parse().map_err(|_| bad("bad content-length"))?;
            }
            chunked |= line.starts_with("transfer-encoding:") && line.contains("chunked");
            expect |= line.starts_with("expect:") && line.contains("100-continue");
        }
        self.head.clear();
        if expect {
            // As real servers do: our client and curl ask before a large body and wait for this.
            reply.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        self.phase = if chunked {
            Phase::ChunkSize
        } else {
            Phase::Length(length)
        };
        Ok(Some(end - before))
    }

    /// Takes bytes of a chunk-size or trailer line; once it is whole, how many of `data` it
    /// took, with the next phase set from it.
    fn line_part(&mut self, data: &[u8]) -> io::Result<Option<usize>> {
        let Some(newline) = data.iter().position(|&b| b == b'\n') else {
            self.line.extend_from_slice(data);
            return Ok(None);
        };
        self.line.extend_from_slice(&data[..=newline]);
        let line = String::from_utf8_lossy(&self.line).trim().to_owned();
        self.line.clear();
        self.phase = match self.phase {
            Phase::Trailer if line.is_empty() => Phase::Length(0),
            Phase::Trailer => Phase::Trailer,
            _ => {
                let size = line.split(';').next().unwrap_or_default();
                match u64::from_str_radix(size.trim(), 16) {
                    Ok(0) => Phase::Trailer,
                    Ok(n) => Phase::ChunkData(n + 2),
                    Err(_) => return Err(bad("bad chunk size")),
                }
            }
        };
        Ok(Some(newline + 1))
    }

    /// The whole body is in: queue the success reply and wait for the next request.
    fn finish(&mut self, reply: &mut Vec<u8>) {
        let body = format!(
            r#"{{"success":true,"code":200,"msg":"ok","data":{{"fileName":"b.bin","filePath":"bench/b.bin","downloadUrl":"https://127.0.0.1/b.bin","fileSize":{},"mimeType":"application/octet-stream","uploadedAt":"2025-01-01T00:00:00.000Z"}}}}"#,
            self.reported.load(Ordering::SeqCst)
        );
        reply.extend_from_slice(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        self.phase = Phase::Head;
    }
}

/// Serves one connection with rustls's unbuffered API: the socket is read into one big buffer and
/// every record is decrypted in place there and only counted, so the server copies nothing (the
/// buffered `StreamOwned` copies each byte three times, and spent half its time in memmove).
fn serve(
    mut tcp: TcpStream,
    config: Arc<ServerConfig>,
    reported: &AtomicU64,
    sessions: &Mutex<Vec<String>>,
) -> io::Result<()> {
    tcp.set_nodelay(true)?;
    let mut conn = UnbufferedServerConnection::new(config).map_err(io::Error::other)?;
    // Records are decrypted in `incoming[start..used]`; what is done with moves `start` on, and the
    // rest is moved to the front only when the space behind it runs short.
    let mut incoming = vec![0u8; SERVER_BUFFER];
    let (mut start, mut used) = (0, 0);
    let mut outgoing = vec![0u8; 64 << 10];
    let mut outgoing_used = 0;
    let mut reply = Vec::new();
    let mut request = Request {
        phase: Phase::Head,
        head: Vec::new(),
        line: Vec::new(),
        reported,
    };
    let mut noted = false;
    loop {
        let UnbufferedStatus { mut discard, state } =
            conn.process_tls_records(&mut incoming[start..used]);
        match state.map_err(io::Error::other)? {
            ConnectionState::ReadTraffic(mut records) => {
                while let Some(record) = records.next_record() {
                    let AppDataRecord {
                        discard: more,
                        payload,
                    } = record.map_err(io::Error::other)?;
                    discard += more;
                    request.feed(payload, &mut reply)?;
                }
            }
            ConnectionState::EncodeTlsData(mut state) => {
                outgoing_used += encoded(&mut outgoing, outgoing_used, |buf| state.encode(buf))?;
            }
            ConnectionState::TransmitTlsData(state) => {
                tcp.write_all(&outgoing[..outgoing_used])?;
                outgoing_used = 0;
                state.done();
            }
            ConnectionState::BlockedHandshake => {
                if !recv(&mut tcp, &mut incoming, &mut used)? {
                    return Ok(());
                }
            }
            ConnectionState::WriteTraffic(mut state) => {
                if reply.is_empty() {
                    if !recv(&mut tcp, &mut incoming, &mut used)? {
                        return Ok(());
                    }
                } else {
                    // One write: one record, one segment.
                    let n = encrypted(&mut outgoing, outgoing_used, |buf| {
                        state.encrypt(&reply, buf)
                    })?;
                    tcp.write_all(&outgoing[..outgoing_used + n])?;
                    outgoing_used = 0;
                    reply.clear();
                }
            }
            ConnectionState::PeerClosed | ConnectionState::Closed => return Ok(()),
            _ => return Err(io::Error::other("unexpected TLS state (early data?)")),
        }
        (start, used) = compact(&mut incoming, start + discard, used);
        if !noted && !conn.is_handshaking() {
            let suite = conn.negotiated_cipher_suite().unwrap().suite();
            let session = format!("{:?}, {suite:?}", conn.protocol_version().unwrap());
            sessions.lock().unwrap().push(session);
            noted = true;
        }
    }
}

/// Reads more from the socket into `incoming[used..]`; false at its end.
fn recv(tcp: &mut TcpStream, incoming: &mut [u8], used: &mut usize) -> io::Result<bool> {
    let n = tcp.read(&mut incoming[*used..])?;
    *used += n;
    Ok(n > 0)
}

/// What is done with is dropped from the front of `incoming[start..used]`; the rest moves to the
/// front only when the space behind it runs short. The new `(start, used)`.
fn compact(incoming: &mut [u8], start: usize, used: usize) -> (usize, usize) {
    if start == used {
        (0, 0)
    } else if incoming.len() - used < MAX_RECORD {
        incoming.copy_within(start..used, 0);
        (0, used - start)
    } else {
        (start, used)
    }
}

/// A handshake step encoded at `outgoing[used..]`, the buffer grown until it fits.
fn encoded(
    outgoing: &mut Vec<u8>,
    used: usize,
    mut encode: impl FnMut(&mut [u8]) -> Result<usize, EncodeError>,
) -> io::Result<usize> {
    loop {
        match encode(&mut outgoing[used..]) {
            Ok(n) => return Ok(n),
            Err(EncodeError::InsufficientSize(need)) => {
                outgoing.resize(used + need.required_size, 0)
            }
            Err(e) => return Err(io::Error::other(e)),
        }
    }
}

/// A reply encrypted at `outgoing[used..]`, the buffer grown until it fits.
fn encrypted(
    outgoing: &mut Vec<u8>,
    used: usize,
    mut encrypt: impl FnMut(&mut [u8]) -> Result<usize, EncryptError>,
) -> io::Result<usize> {
    loop {
        match encrypt(&mut outgoing[used..]) {
            Ok(n) => return Ok(n),
            Err(EncryptError::InsufficientSize(need)) => {
                outgoing.resize(used + need.required_size, 0)
            }
            Err(e) => return Err(io::Error::other(e)),
        }
    }
}

fn client(url: &str, ca_pem: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(url)
        .root_certs_pem(ca_pem)
        .no_proxy()
        .build()
        .unwrap()
}

/// ureq's own agent, trusting the CA alone, with rustls and ring as ours.
fn ureq_agent(ca_der: &CertificateDer<'static>) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
    let ca = Certificate::from_der(ca_der.as_ref()).to_owned();
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(kie_upload_emulator::ring_provider()))
        .root_certs(RootCerts::new_with_certs(&[ca]))
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .tls_config(tls)
        .build()
        .into()
}

/// The ceiling for a client that encrypts with rustls: the file's bytes (no multipart framing)
/// through a rustls stream straight on the socket, 128 KiB a write. Unlike a ureq transport, a
/// `TcpStream` takes rustls's records in one `writev` (up to 64 KiB of data at a time).
fn raw_tls(pki: &Pki) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    let provider = Arc::new(kie_upload_emulator::ring_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

fn raw_upload(config: &Arc<rustls::ClientConfig>, url: &str, path: &Path) {
    let addr = url.trim_start_matches("https://");
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::clone(config), name).unwrap();
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    write_raw_post(&mut stream, addr, path, 128 << 10);
    // The reply's head and its small body: read until the JSON closes.
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !reply.ends_with(b"}}") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed before its reply");
        reply.extend_from_slice(&buf[..n]);
    }
    assert!(reply.starts_with(b"HTTP/1.1 200"));
}

/// One `curl -F` process, as a user would run it (`-q` first: no `.curlrc`).
fn curl_upload(url: &str, ca: &Path, path: &Path) {
    let output = Command::new("curl")
        .args(["-q", "-sS", "--noproxy", "*", "-o", "/dev/null"])
        .args(["-w", "%{http_code}"])
        .arg("--cacert")
        .arg(ca)
        .args(["-H", &format!("Authorization: Bearer {KEY}")])
        .arg("-F")
        .arg(format!("file=@{}", path.display()))
        .args(["-F", "uploadPath=bench"])
        .arg(format!("{url}/api/file-stream-upload"))
        .stderr(Stdio::inherit())
        .output()
        .expect("curl must be installed");
    assert!(output.status.success(), "curl failed");
    assert_eq!(output.stdout, b"200");
}

/// In a child process: one upload, then the peak resident memory from the kernel.
fn child(mode: &str) {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let url = var("KIE_BENCH_URL");
    let ca_path = PathBuf::from(var("KIE_BENCH_CA"));
    let started = Instant::now();
    if mode == "form" {
        let ca = std::fs::read(&ca_path).unwrap();
        let der = match ureq::tls::parse_pem(&ca).next() {
            Some(Ok(ureq::tls::PemItem::Certificate(cert))) => cert.der().to_vec(),
            _ => panic!("no certificate in {}", ca_path.display()),
        };
        let agent = ureq_agent(&CertificateDer::from(der));
        ureq_form_upload(&agent, &url, Path::new(&var("KIE_BENCH_PATH")));
    } else {
        let client = client(&url, &std::fs::read_to_string(&ca_path).unwrap());
        let upload = match mode {
            "file" => Upload::file(var("KIE_BENCH_PATH"), "bench"),
            _ => Upload::reader(io::stdin(), "bench").file_name("pipe.bin"),
        };
        client.upload(upload).unwrap();
    }
    let elapsed = started.elapsed();
    print_peak_memory();
    eprintln!("{mode}: {elapsed:.2?}");
}

/// The CPU time (user and system) of the calling thread so far, in seconds, 10 ms steps.
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Figure 1: the large upload, four clients in turns, then the peak memory.
fn large(pki: &Pki, sink: &Sink, dir: &Path, size: usize, runs: usize) {
    let big = make_file(dir, "big.bin", size);
    let ours = client(&sink.url, &pki.ca_pem);
    let agent = ureq_agent(&pki.ca_der);
    sink.report(size as u64);
    sink.sessions();
    println!(
        "1. {} MiB over TLS, median of {runs} runs, the order rotated each run:",
        size >> 20
    );
    let names = [
        "kie-upload upload_file",
        "ureq multipart::Form",
        "curl -F",
        "rustls stream (ceiling)",
    ];
    let raw = raw_tls(pki);
    let mut times: [Vec<f64>; 4] = Default::default();
    let mut cpu: [Vec<f64>; 4] = Default::default();
    let mut sessions: [Sessions; 4] = Default::default();
    for run in 0..runs {
        for k in 0..4 {
            let which = (run + k) % 4;
            let c = thread_cpu();
            let t = Instant::now();
            match which {
                0 => {
                    ours.upload_file(&big, "bench").unwrap();
                }
                1 => ureq_form_upload(&agent, &sink.url, &big),
                2 => curl_upload(&sink.url, &pki.ca_path, &big),
                _ => raw_upload(&raw, &sink.url, &big),
            }
            times[which].push(t.elapsed().as_secs_f64());
            cpu[which].push(thread_cpu() - c);
            sessions[which].add(sink.sessions());
        }
    }
    print_large(&names, &times, &cpu, &sessions, size, runs);
    tls_memory(pki, sink, dir, &big);
}

/// Figure 1's lines: each client's median time, rate and CPU, every run, and the ratios.
fn print_large(
    names: &[&str; 4],
    times: &[Vec<f64>; 4],
    cpu: &[Vec<f64>; 4],
    sessions: &[Sessions; 4],
    size: usize,
    runs: usize,
) {
    let ratios =
        |other: usize| -> Vec<f64> { (0..runs).map(|r| times[0][r] / times[other][r]).collect() };
    let mib = size as f64 / (1 << 20) as f64;
    for (which, name) in names.iter().enumerate() {
        let t = median(times[which].clone());
        // curl runs in its own process: its CPU time is not this thread's.
        let busy = match which {
            2 => format!("{:>13}", "(own process)"),
            _ => format!("{:>6.0} ms CPU", median(cpu[which].clone()) * 1e3),
        };
        println!(
            "  {name:<24} {:>6.0} ms {:>6.0} MiB/s {busy}  [{}]",
            t * 1e3,
            mib / t,
            sessions[which]
        );
    }
    // Every run, in order, so that a noisy run shows for what it is.
    for (which, name) in names.iter().enumerate() {
        let each: Vec<String> = times[which]
            .iter()
            .map(|t| format!("{:.0}", t * 1e3))
            .collect();
        println!("    {name:<22} each run: {} ms", each.join(" "));
    }
    for (other, target) in [
        (2, "target <= 0.85"),
        (1, "target <= 1.05"),
        (3, "the ceiling"),
    ] {
        let r = ratios(other);
        let (lo, hi) = range(&r);
        println!(
            "  kie-upload / {:<22} {:.3} (median of per-run ratios; {lo:.3}-{hi:.3}; {target})",
            names[other],
            median(r.clone()),
        );
    }
}

/// The end of figure 1: the peak memory of a process uploading 64 MiB and the large file over TLS,
/// from a file and from a pipe.
fn tls_memory(pki: &Pki, sink: &Sink, dir: &Path, big: &Path) {
    println!("  peak memory of a process uploading over TLS (VmHWM; target <= 16 MiB):");
    let small = make_file(dir, "small.bin", 64 << 20);
    for (label, path) in [("64 MiB", small.as_path()), ("full size", big)] {
        for mode in ["file", "pipe"] {
            sink.report(std::fs::metadata(path).unwrap().len());
            let envs = [
                ("KIE_BENCH_URL", sink.url.as_ref()),
                ("KIE_BENCH_CA", pki.ca_path.as_os_str()),
            ];
            let kib = peak_memory(&envs, path, mode);
            println!(
                "    {label:<10} from a {mode:<5} {:>7.1} MiB",
                kib as f64 / 1024.0
            );
        }
    }
    sink.sessions();
}

/// Figure 3: many small uploads: a new client each, one pooled client, `upload_all` with 4 jobs.
fn small(pki: &Pki, sink: &Sink, runs: usize, count: usize) {
    let data = vec![7u8; 1024];
    sink.report(1024);
    let ours = client(&sink.url, &pki.ca_pem);
    let one = |c: &Client, i: usize| {
        c.upload(Upload::bytes(&data, "bench").file_name(format!("{i}.bin")))
            .unwrap();
    };
    sink.sessions();
    let mut seen: [Sessions; 3] = Default::default();
    // The pooled client's connection: opened here, then reused.
    one(&ours, 0);
    seen[1].add(sink.sessions());
    println!("3. {count} uploads of 1 KiB over TLS, median of {runs} runs:");
    let (mut fresh, mut pooled, mut parallel) = (Vec::new(), Vec::new(), Vec::new());
    let (mut fresh_ratio, mut parallel_ratio) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        for i in 0..count {
            // A new client has a new pool and a new TLS session cache: a full handshake each.
            one(&client(&sink.url, &pki.ca_pem), i);
        }
        let f = t.elapsed().as_secs_f64();
        seen[0].add(sink.sessions());
        let t = Instant::now();
        for i in 0..count {
            one(&ours, i);
        }
        let p = t.elapsed().as_secs_f64();
        seen[1].add(sink.sessions());
        let t = Instant::now();
        let uploads =
            (0..count).map(|i| Upload::bytes(&data, "bench").file_name(format!("{i}.bin")));
        ours.upload_all(uploads, 4, |_, result| {
            result.unwrap();
        });
        let a = t.elapsed().as_secs_f64();
        seen[2].add(sink.sessions());
        fresh.push(f);
        pooled.push(p);
        parallel.push(a);
        fresh_ratio.push(f / p);
        parallel_ratio.push(p / a);
    }
    let per_s = |d: f64| count as f64 / d;
    let (flo, fhi) = range(&fresh_ratio);
    let (plo, phi) = range(&parallel_ratio);
    println!(
        "  a new client each        {:>8.0} uploads/s  1.00  [{}]",
        per_s(median(fresh)),
        seen[0]
    );
    println!(
        "  one pooled client        {:>8.0} uploads/s  {:.2} x a new client each ({flo:.2}-{fhi:.2}; target >= 5)  [{}]",
        per_s(median(pooled)),
        median(fresh_ratio),
        seen[1]
    );
    println!(
        "  upload_all, 4 jobs       {:>8.0} uploads/s  {:.2} x the pooled client ({plo:.2}-{phi:.2}; target >= 1.5)  [{}]",
        per_s(median(parallel)),
        median(parallel_ratio),
        seen[2]
    );
}

/// Figure 4: the negotiated cipher's single-core speed (ring, 16 KiB records sealed and opened in
/// place, as a TLS 1.3 record layer does), for reading figure 1 against.
fn cipher(suite: &str, size: usize) {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey};
    let (name, algorithm) = if suite.contains("CHACHA20") {
        ("ChaCha20-Poly1305", &ring::aead::CHACHA20_POLY1305)
    } else if suite.contains("AES_128") {
        ("AES-128-GCM", &ring::aead::AES_128_GCM)
    } else {
        ("AES-256-GCM", &ring::aead::AES_256_GCM)
    };
    let key =
        LessSafeKey::new(UnboundKey::new(algorithm, &[9u8; 32][..algorithm.key_len()]).unwrap());
    let record = 16 << 10;
    let records = (size / record).max(1);
    let mut data = vec![5u8; record];
    let nonce = |i: usize| {
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&(i as u64).to_be_bytes());
        Nonce::assume_unique_for_key(n)
    };
    let aad = [23u8, 3, 3, 0x40, 0x11];
    let (mut best_seal, mut best_open) = (f64::MAX, f64::MAX);
    // Each record is sealed, then opened back in place (so every tag checks), each timed alone.
    // The best of three passes: the cipher's speed, not the machine's neighbours.
    for _ in 0..3 {
        let (mut seal, mut open) = (Duration::ZERO, Duration::ZERO);
        for i in 0..records {
            let t = Instant::now();
            let tag = key
                .seal_in_place_separate_tag(nonce(i), Aad::from(aad), &mut data)
                .unwrap();
            let sealed = Instant::now();
            data.extend_from_slice(tag.as_ref());
            let t2 = Instant::now();
            key.open_in_place(nonce(i), Aad::from(aad), &mut data)
                .unwrap();
            open += t2.elapsed();
            seal += sealed - t;
            data.truncate(record);
        }
        best_seal = best_seal.min(seal.as_secs_f64());
        best_open = best_open.min(open.as_secs_f64());
    }
    let mib = (records * record) as f64 / (1 << 20) as f64;
    println!("4. {name} on one core (ring, 16 KiB records, best of 3 passes over {mib:.0} MiB):");
    println!(
        "  seal (the client's work)  {:>6.0} MiB/s  {:>6.0} ms for the large upload",
        mib / best_seal,
        best_seal * 1e3
    );
    println!(
        "  open (the server's work)  {:>6.0} MiB/s  {:>6.0} ms for the large upload",
        mib / best_open,
        best_open * 1e3
    );
}

fn main() {
    if let Ok(mode) = std::env::var("KIE_BENCH_CHILD") {
        return child(&mode);
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let sink = Sink::start(Arc::clone(&pki.config));
    // `KIE_BENCH_SERVE=<fileSize to report>`: run only the server, for measuring or profiling
    // other clients against it.
    if let Ok(reported) = std::env::var("KIE_BENCH_SERVE") {
        sink.report(reported.parse().unwrap_or(0));
        println!("listening on {}", sink.url);
        println!("CA certificate in {}", pki.ca_path.display());
        loop {
            thread::park();
        }
    }
    let size = env_or("KIE_BENCH_MIB", 1024) << 20;
    let runs = env_or("KIE_BENCH_RUNS", 7);
    let only = std::env::var("KIE_BENCH_ONLY").unwrap_or_else(|_| "1,3,4".to_owned());
    let wanted = |figure: &str| only.split(',').any(|f| f.trim() == figure);
    if wanted("1") {
        large(&pki, &sink, dir.path(), size, runs);
    }
    if wanted("3") {
        small(&pki, &sink, runs, env_or("KIE_BENCH_SMALL_COUNT", 1000));
    }
    if wanted("4") {
        // The suite our client negotiates with this server.
        sink.report(1);
        client(&sink.url, &pki.ca_pem)
            .upload(Upload::bytes(b"x", "bench").file_name("x.bin"))
            .ok();
        let suite = sink.sessions().to_string();
        cipher(&suite, size);
    }
}
