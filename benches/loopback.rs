//! End-to-end figures over loopback, each against a baseline measured in the same run:
//!
//! 1. one large upload (1 GiB by default) to a byte-counting server: a raw socket write of the same
//!    bytes through a 64 KiB buffer, this client, and ureq's own `unversioned::multipart::Form`;
//! 2. the peak memory (VmHWM) of a process uploading 64 MiB and the full size, from a file and from
//!    a pipe;
//! 3. 1,000 uploads of 1 KiB: a fresh connection each, one pooled client, and `upload_all` with 4
//!    jobs.
//!
//! 4. `Expect` learned: 20 uploads of 2 MiB through one new client, one at a time and through
//!    `upload_all(.., 4, ..)`, against the same with `expect_continue(false)`, alternating, to an
//!    emulator that ignores `Expect` and to one that honours it and delays every answer by 50 ms
//!    (a long link's round trip); then a 48 MiB upload refused at the headers by the latter;
//! 5. jobs on a long link: 100 uploads of 1 KiB and 8 of 16 MiB through `upload_all` with 4, 8
//!    and 16 jobs, to an emulator delaying every answer by 50 ms.
//!
//! `cargo bench --bench loopback`. `KIE_BENCH_ONLY=expect` or `jobs` (or both, comma-separated)
//! runs only figure 4 or 5. `KIE_BENCH_MIB` sets the large size (default 1024) and
//! `KIE_BENCH_RUNS` the runs per figure (default 5); medians are printed. Linux only (it reads
//! `/proc/self/status` for the peak memory). With `KIE_BENCH_SERVE=N` it only runs the sink (which
//! reports a `fileSize` of N) until killed, for measuring other clients against it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use kie_upload::{Client, Upload};
use kie_upload_emulator::{Config, Emulator, Fault};

mod common;
use common::{
    env_or, make_file, median, peak_memory, print_peak_memory, ureq_form_upload, write_raw_post,
    KEY,
};

/// A server that reads each request's body, counts it, and answers with a success whose `fileSize`
/// is `reported`. Keep-alive, a thread a connection.
struct Sink {
    url: String,
    reported: Arc<AtomicU64>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let reported = Arc::new(AtomicU64::new(0));
        let shared = Arc::clone(&reported);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let reported = Arc::clone(&shared);
                thread::spawn(move || {
                    let _ = serve(stream, &reported);
                });
            }
        });
        Sink { url, reported }
    }
}

fn serve(stream: TcpStream, reported: &AtomicU64) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(64 << 10, stream);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let (mut length, mut chunked, mut expect) = (0u64, false, false);
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
            expect |= lower.starts_with("expect:") && lower.contains("100-continue");
            if line.trim().is_empty() {
                break;
            }
        }
        if expect {
            // As real servers do; a client that asks then waits for this.
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        if chunked {
            loop {
                line.clear();
                reader.read_line(&mut line)?;
                let n = u64::from_str_radix(line.trim(), 16).unwrap_or(0);
                skip(&mut reader, n + 2, &mut buf)?;
                if n == 0 {
                    break;
                }
            }
        } else {
            skip(&mut reader, length, &mut buf)?;
        }
        let body = format!(
            r#"{{"success":true,"code":200,"msg":"ok","data":{{"fileName":"b.bin","filePath":"bench/b.bin","downloadUrl":"http://127.0.0.1/b.bin","fileSize":{},"mimeType":"application/octet-stream","uploadedAt":"2025-01-01T00:00:00.000Z"}}}}"#,
            reported.load(Ordering::SeqCst)
        );
        // One write: a reply in pieces would meet Nagle's algorithm and delayed ACKs.
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        writer.write_all(reply.as_bytes())?;
    }
}

fn skip(reader: &mut impl Read, mut n: u64, buf: &mut [u8]) -> io::Result<()> {
    while n > 0 {
        let want = buf.len().min(n as usize);
        let got = reader.read(&mut buf[..want])?;
        if got == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        n -= got as u64;
    }
    Ok(())
}

fn client(url: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(url)
        .no_proxy()
        .build()
        .unwrap()
}

/// The ceiling: the file's bytes written straight to a socket through a 64 KiB buffer.
fn raw_upload(url: &str, path: &Path) {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    write_raw_post(&mut stream, addr, path, 64 << 10);
    read_reply(&mut stream);
}

fn read_reply(stream: &mut TcpStream) {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if line.trim().is_empty() {
            break;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
}

/// In a child process: one upload, then the peak resident memory from the kernel.
fn child(mode: &str) {
    let url = std::env::var("KIE_BENCH_URL").unwrap();
    let client = client(&url);
    let upload = match mode {
        "file" => Upload::file(std::env::var("KIE_BENCH_PATH").unwrap(), "bench"),
        _ => Upload::reader(io::stdin(), "bench").file_name("pipe.bin"),
    };
    client.upload(upload).unwrap();
    print_peak_memory();
}

fn main() {
    if let Ok(mode) = std::env::var("KIE_BENCH_CHILD") {
        return child(&mode);
    }
    // `KIE_BENCH_SERVE=<fileSize to report>`: run only the byte-counting server, for measuring other
    // clients (curl, the CLI) against the same sink.
    if let Ok(reported) = std::env::var("KIE_BENCH_SERVE") {
        let sink = Sink::start();
        sink.reported
            .store(reported.parse().unwrap_or(0), Ordering::SeqCst);
        println!("listening on {}", sink.url);
        loop {
            thread::park();
        }
    }
    let size = env_or("KIE_BENCH_MIB", 1024) << 20;
    let runs = env_or("KIE_BENCH_RUNS", 5);
    if let Ok(only) = std::env::var("KIE_BENCH_ONLY") {
        let wanted = |figure: &str| only.split(',').any(|f| f.trim() == figure);
        if wanted("expect") {
            expect_learned(runs);
        }
        if wanted("jobs") {
            jobs(runs);
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let big = make_file(dir.path(), "big.bin", size);
    let sink = Sink::start();
    let ours = client(&sink.url);
    large(&sink, &ours, &big, size, runs);
    memory(&sink, dir.path(), &big);
    small(&sink, &ours, runs);
    expect_learned(runs);
    jobs(runs);
}

/// Figure 1: one large upload against the raw socket write and ureq's own form, in turns.
fn large(sink: &Sink, ours: &Client, big: &Path, size: usize, runs: usize) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    println!("loopback: {} MiB file, median of {runs} runs", size >> 20);
    sink.reported.store(size as u64, Ordering::SeqCst);
    let (mut raw, mut lib, mut form) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let t = Instant::now();
        raw_upload(&sink.url, big);
        raw.push(t.elapsed());
        // Whichever client goes right after the raw write is slower (its fresh connection's
        // teardown overlaps), so the two clients take turns going first.
        for second in [false, true] {
            if second == (run % 2 == 0) {
                let t = Instant::now();
                ours.upload_file(big, "bench").unwrap();
                lib.push(t.elapsed());
            } else {
                let t = Instant::now();
                ureq_form_upload(&agent, &sink.url, big);
                form.push(t.elapsed());
            }
        }
    }
    let (raw, lib, form) = (median(raw), median(lib), median(form));
    let rate = |d: Duration| size as f64 / (1 << 20) as f64 / d.as_secs_f64();
    println!(
        "  raw socket, 64 KiB buffer   {raw:>9.2?}  {:>6.0} MiB/s  1.000",
        rate(raw)
    );
    println!(
        "  kie-upload upload_file      {lib:>9.2?}  {:>6.0} MiB/s  {:.3} x raw",
        rate(lib),
        lib.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "  ureq multipart::Form        {form:>9.2?}  {:>6.0} MiB/s  {:.3} x raw (kie-upload: {:.3} x ureq)",
        rate(form),
        form.as_secs_f64() / raw.as_secs_f64(),
        lib.as_secs_f64() / form.as_secs_f64()
    );
}

/// Figure 2: the peak memory of a process uploading 64 MiB and the large file, from a file and a
/// pipe.
fn memory(sink: &Sink, dir: &Path, big: &Path) {
    println!("peak memory of a process uploading (VmHWM):");
    let small = make_file(dir, "small.bin", 64 << 20);
    for (label, path) in [("64 MiB", small.as_path()), ("full size", big)] {
        for mode in ["file", "pipe"] {
            sink.reported
                .store(std::fs::metadata(path).unwrap().len(), Ordering::SeqCst);
            let kib = peak_memory(&[("KIE_BENCH_URL", sink.url.as_ref())], path, mode);
            println!(
                "  {label:<10} from a {mode:<5} {:>7.1} MiB",
                kib as f64 / 1024.0
            );
        }
    }
}

/// Figure 3: many uploads of 1 KiB: a fresh connection each, one pooled client, `upload_all`.
fn small(sink: &Sink, ours: &Client, runs: usize) {
    let count = env_or("KIE_BENCH_SMALL_COUNT", 1000);
    let data = vec![7u8; 1024];
    sink.reported.store(1024, Ordering::SeqCst);
    println!("{count} uploads of 1 KiB, median of {runs} runs:");
    let (mut fresh, mut pooled, mut parallel) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        for i in 0..count {
            // A new client has a new pool: every upload opens its own connection.
            client(&sink.url)
                .upload(Upload::bytes(&data, "bench").file_name(format!("{i}.bin")))
                .unwrap();
        }
        fresh.push(t.elapsed());
        let t = Instant::now();
        for i in 0..count {
            ours.upload(Upload::bytes(&data, "bench").file_name(format!("{i}.bin")))
                .unwrap();
        }
        pooled.push(t.elapsed());
        let t = Instant::now();
        let uploads =
            (0..count).map(|i| Upload::bytes(&data, "bench").file_name(format!("{i}.bin")));
        ours.upload_all(uploads, 4, |_, result| {
            result.unwrap();
        });
        parallel.push(t.elapsed());
    }
    let per_s = |d: Duration| count as f64 / d.as_secs_f64();
    let (fresh, pooled, parallel) = (median(fresh), median(pooled), median(parallel));
    println!(
        "  fresh connection each   {:>8.0} uploads/s  1.00",
        per_s(fresh)
    );
    println!(
        "  one pooled client       {:>8.0} uploads/s  {:.2} x fresh",
        per_s(pooled),
        fresh.as_secs_f64() / pooled.as_secs_f64()
    );
    println!(
        "  upload_all, 4 jobs      {:>8.0} uploads/s  {:.2} x pooled",
        per_s(parallel),
        pooled.as_secs_f64() / parallel.as_secs_f64()
    );
}

/// A client of an emulator (no proxy, the emulator's key).
fn emulator_client(emulator: &Emulator, expect: bool) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .no_proxy()
        .expect_continue(expect)
        .build()
        .unwrap()
}

/// Uploads `COUNT` files of 2 MiB through `client`, one at a time or through `upload_all`.
fn expect_batch(client: &Client, jobs: usize, data: &[u8]) {
    let uploads =
        (0..EXPECT_COUNT).map(|i| Upload::bytes(data, "bench").file_name(format!("{i}.bin")));
    if jobs == 1 {
        for upload in uploads {
            client.upload(upload).unwrap();
        }
    } else {
        client.upload_all(uploads, jobs, |_, result| {
            result.unwrap();
        });
    }
}

/// Uploads in a batch of figure 4.
const EXPECT_COUNT: usize = 20;

/// Figure 4: what learning when to ask `Expect` saves, against never asking.
fn expect_learned(runs: usize) {
    let data = vec![7u8; 2 << 20];
    println!("{EXPECT_COUNT} uploads of 2 MiB through one new client, median of {runs} runs:");
    for (server, config, allowance) in [
        (
            "ignores Expect",
            Config::new(KEY).honour_expect(false),
            Duration::from_millis(300),
        ),
        (
            "honours Expect, answers 50 ms late",
            Config::new(KEY).answer_delay(Duration::from_millis(50)),
            Duration::from_millis(50),
        ),
    ] {
        let emulator = Emulator::start(config).unwrap();
        for jobs in [1, 4] {
            expect_against(&emulator, server, allowance, jobs, runs, &data);
        }
        if allowance.as_millis() == 50 {
            refused_at_the_headers(&emulator, &data);
        }
    }
}

/// One line of figure 4: a batch through a new client that learns, against one that never asks.
fn expect_against(
    emulator: &Emulator,
    server: &str,
    allowance: Duration,
    jobs: usize,
    runs: usize,
    data: &[u8],
) {
    let (mut learned, mut never) = (Vec::new(), Vec::new());
    let mut asked = Vec::new();
    for run in 0..runs {
        for first in [true, false] {
            if first == (run % 2 == 0) {
                let before = emulator.requests().len();
                let t = Instant::now();
                expect_batch(&emulator_client(emulator, true), jobs, data);
                learned.push(t.elapsed());
                let requests = emulator.requests();
                asked.push(
                    requests[before..]
                        .iter()
                        .filter(|r| r.expect_continue)
                        .count(),
                );
            } else {
                let t = Instant::now();
                expect_batch(&emulator_client(emulator, false), jobs, data);
                never.push(t.elapsed());
            }
        }
    }
    let (learned, never) = (median(learned), median(never));
    let target = never.mul_f64(1.1) + allowance;
    println!(
        "  {server:<36} jobs {jobs}: learned {learned:>9.2?}, expect_continue(false) \
         {never:>9.2?}: {:.3} x; asked {asked:?} times a run (target <= {target:.2?})",
        learned.as_secs_f64() / never.as_secs_f64(),
    );
}

/// After 2 MiB bodies were accepted, 48 MiB asks again, so a refusal at the headers costs no body.
fn refused_at_the_headers(emulator: &Emulator, data: &[u8]) {
    let client = emulator_client(emulator, true);
    expect_batch(&client, 1, data);
    emulator.inject(
        Fault::RefuseAtHeaders {
            status: 413,
            code: None,
        },
        1,
    );
    let before = emulator.requests().len();
    let big = vec![7u8; 48 << 20];
    let t = Instant::now();
    let refused = client.upload(Upload::bytes(&big, "bench").file_name("big.bin"));
    let took = t.elapsed();
    let requests = emulator.requests();
    let body: u64 = requests[before..].iter().map(|r| r.body_read).sum();
    println!(
        "  48 MiB refused at the headers after that: {}, {} request(s), {body} bytes of \
         body read, {took:.2?}",
        if refused.is_err() {
            "refused"
        } else {
            "ACCEPTED"
        },
        requests.len() - before,
    );
}

/// Figure 5: the number of jobs on a long link (every answer 50 ms late).
fn jobs(runs: usize) {
    let emulator =
        Emulator::start(Config::new(KEY).answer_delay(Duration::from_millis(50))).unwrap();
    let client = emulator_client(&emulator, true);
    println!("upload_all to an emulator answering 50 ms late, median of {runs} runs:");
    let small = vec![7u8; 1024];
    let large = vec![7u8; 16 << 20];
    for (label, data, count) in [("100 x 1 KiB", &small, 100), ("8 x 16 MiB", &large, 8)] {
        let mut line = format!("  {label:<12}");
        let mut base = None;
        for jobs in [4, 8, 16] {
            let mut times = Vec::new();
            for _ in 0..runs {
                let uploads = (0..count)
                    .map(|i| Upload::bytes(&data[..], "bench").file_name(format!("{i}.bin")));
                let t = Instant::now();
                client.upload_all(uploads, jobs, |_, result| {
                    result.unwrap();
                });
                times.push(t.elapsed());
            }
            let t = median(times);
            let base = *base.get_or_insert(t);
            line.push_str(&format!(
                "  {jobs} jobs {t:>9.2?} ({:.2} x 4 jobs)",
                t.as_secs_f64() / base.as_secs_f64()
            ));
        }
        println!("{line}");
    }
}
