//! What the upload cache costs and saves (feature `cache`), each figure against a baseline
//! measured in the same run:
//! - SHA-256 of a file against reading it alone (goal: at least 1 GiB/s with SHA extensions);
//! - a reused file against hashing it alone (goal: at most 1.2 times: reuse adds only a lookup);
//! - a batch of 1,000 files of 1 KiB reused through one client against uploading it (goal: at
//!   least 5 times faster);
//! - a whole process that reuses one file from a cache of 100,000 entries, against the same
//!   process with an empty cache (goal: under 50 ms; a lookup reads one entry, not all).
//!
//! `cargo bench --features cache --bench reuse`; `KIE_BENCH_MIB` (default 256) sets the large
//! file, `KIE_BENCH_RUNS` (default 5) the runs per figure (medians are printed).

#[path = "common/mod.rs"]
mod common;

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{env_or, make_file, median};
use kie_upload::{Client, Upload, UploadCache};
use kie_upload_emulator::{Config, Emulator};
use sha2::{Digest, Sha256};

const KEY: &str = "bench-reuse-key-0123456789abcdef";

fn client(emulator: &Emulator, cache: &Path) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(emulator.base_url())
        .no_proxy()
        .cache(UploadCache::new(cache))
        .build()
        .unwrap()
}

fn read_all(path: &Path, mut each: impl FnMut(&[u8])) {
    let mut file = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        each(&buf[..n]);
    }
}

/// Whether the CPU has SHA extensions (which sha2 detects and uses at run time).
fn sha_extensions() -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    return std::is_x86_feature_detected!("sha");
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    false
}

/// This process's CPU time so far (user and system), from /proc (Linux; 0 elsewhere): on a shared
/// machine the hash's own rate is its bytes over its CPU time, not over the wall clock.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; 100 ticks a second.
    (ticks(11) + ticks(12)) / 100.0
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .collect(),
    )
}

fn main() {
    if let Ok(spec) = std::env::var("KIE_BENCH_CHILD") {
        return child(&spec);
    }
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` builds and starts this; the figures are for `cargo bench`.
    }
    let runs = env_or("KIE_BENCH_RUNS", 5);
    let mib = env_or("KIE_BENCH_MIB", 256);
    let dir = tempfile::tempdir().unwrap();
    let large = make_file(dir.path(), "large.bin", mib << 20);
    let gib = (mib as f64) / 1024.0;

    let read = time(runs, || read_all(&large, |_| {}));
    let cpu_before = cpu_seconds();
    let hash = time(runs, || {
        let mut h = Sha256::new();
        read_all(&large, |b| h.update(b));
        std::hint::black_box(h.finalize());
    });
    let hash_cpu = (cpu_seconds() - cpu_before) / runs as f64;
    println!(
        "sha-256 of {mib} MiB: {:.2} GiB/s ({:.2} GiB/s of CPU time, SHA extensions: {}); \
         reading alone {:.2} GiB/s; hash / read time {:.2}",
        gib / hash.as_secs_f64(),
        gib / hash_cpu,
        sha_extensions(),
        gib / read.as_secs_f64(),
        hash.as_secs_f64() / read.as_secs_f64()
    );

    let emulator = Emulator::start(Config::new(KEY)).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let client = client(&emulator, cache.path());
    assert!(!client.upload_file(&large, "bench").unwrap().reused);
    let reused = time(runs, || {
        assert!(client.upload_file(&large, "bench").unwrap().reused)
    });
    println!(
        "reused {mib} MiB file: {:.3} s; hashing it alone {:.3} s; ratio {:.2} (goal at most 1.2)",
        reused.as_secs_f64(),
        hash.as_secs_f64(),
        reused.as_secs_f64() / hash.as_secs_f64()
    );

    batch(&emulator, runs);
    many_entries(&emulator, dir.path(), runs);
}

/// 1,000 files of 1 KiB through one client: uploaded into an empty cache, then reused.
fn batch(emulator: &Emulator, runs: usize) {
    let files: Vec<Vec<u8>> = (0..1000u32)
        .map(|i| format!("{i:01024}").into_bytes())
        .collect();
    let upload_all = |client: &Client, expect_reused: bool| {
        for (i, bytes) in files.iter().enumerate() {
            let name = format!("f{i}.txt");
            let file = client
                .upload(Upload::bytes(bytes, "batch").file_name(name))
                .unwrap();
            assert_eq!(file.reused, expect_reused);
        }
    };
    let (mut sent, mut reused) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let cache = tempfile::tempdir().unwrap();
        let client = client(emulator, cache.path());
        let started = Instant::now();
        upload_all(&client, false);
        sent.push(started.elapsed());
        let started = Instant::now();
        upload_all(&client, true);
        reused.push(started.elapsed());
    }
    let (sent, reused) = (median(sent), median(reused));
    println!(
        "1,000 files of 1 KiB: uploaded {:.3} s, reused {:.3} s; {:.1} times faster (goal at least 5)",
        sent.as_secs_f64(),
        reused.as_secs_f64(),
        sent.as_secs_f64() / reused.as_secs_f64()
    );
}

/// A whole process reusing one file from a cache of 100,000 entries, against one with a single
/// entry: the lookup reads one file whatever the directory holds.
fn many_entries(emulator: &Emulator, dir: &Path, runs: usize) {
    let small = make_file(dir, "small.bin", 1024);
    let (full, single) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for cache in [full.path(), single.path()] {
        client(emulator, cache).upload_file(&small, "one").unwrap();
    }
    let entry = std::fs::read_dir(full.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read(&entry).unwrap();
    for i in 0..99_999u64 {
        std::fs::write(
            full.path().join(format!("{:064x}.json", i * 7919 + 1)),
            &text,
        )
        .unwrap();
    }
    let run = |cache: &Path| {
        time(runs, || {
            let status = Command::new(std::env::current_exe().unwrap())
                .env(
                    "KIE_BENCH_CHILD",
                    format!(
                        "{} {} {}",
                        emulator.base_url(),
                        cache.display(),
                        small.display()
                    ),
                )
                .status()
                .unwrap();
            assert!(status.success(), "the child did not reuse the file");
        })
    };
    let (many, one) = (run(full.path()), run(single.path()));
    println!(
        "one reused file, whole process: 100,000 entries {:.1} ms, one entry {:.1} ms (goal under 50 ms)",
        many.as_secs_f64() * 1e3,
        one.as_secs_f64() * 1e3
    );
}

/// The child process of `many_entries`: one upload that must be reused.
fn child(spec: &str) {
    let mut parts = spec.splitn(3, ' ');
    let (base_url, cache, path) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let client = Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        .no_proxy()
        .cache(UploadCache::new(cache))
        .build()
        .unwrap();
    let file = client.upload_file(path, "one").unwrap();
    std::process::exit(if file.reused { 0 } else { 1 });
}
