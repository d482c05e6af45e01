//! The multipart encoder alone, in memory: a 256 MiB source read through the body into a sink,
//! against `io::copy` of the same source. Run with `cargo bench --bench encoder --features _bench`
//! (the internal feature opens the framing to this bench).
//!
//! A plain `harness = false` bench: one figure against its baseline, measured alternately in the
//! same process, median of several runs. It needs no bench framework.

use std::hint::black_box;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use kie_upload::bench_multipart;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mib_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

/// Reads `reader` to its end through a buffer of `buf_len` bytes, as ureq does with 128 KiB.
fn drain(reader: &mut dyn Read, buf_len: usize) -> u64 {
    let mut buf = vec![0u8; buf_len];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buf).expect("read") {
            0 => return total,
            n => total += black_box(&buf[..n]).len() as u64,
        }
    }
}

/// A source that is only a `Read`: `io::copy` special-cases slices and `BufRead`s (it writes from
/// their own buffer and copies nothing), which would make the baseline a no-op.
struct Plain<'d>(&'d [u8]);

impl Read for Plain<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// `io::sink()`, but the optimizer must assume the bytes are looked at, so the copy into the
/// buffer cannot be removed as dead.
struct Sink;

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        black_box(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn main() {
    let size: usize = std::env::var("KIE_BENCH_ENCODER_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
        << 20;
    let runs: usize = std::env::var("KIE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();

    println!(
        "encoder: {} MiB in memory, median of {runs} runs",
        size >> 20
    );
    for (label, buf_len) in [
        ("io::copy (8 KiB)", 0usize),
        ("128 KiB reads (as ureq)", 128 << 10),
    ] {
        let (mut base, mut ours) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let started = Instant::now();
            let mut src = Plain(&data);
            let n = if buf_len == 0 {
                io::copy(&mut src, &mut Sink).unwrap()
            } else {
                drain(&mut src, buf_len)
            };
            black_box(n);
            base.push(started.elapsed());

            let started = Instant::now();
            let mut src = Plain(&data);
            let n = bench_multipart(&mut src, Some(size as u64), "bench.bin", |body| {
                if buf_len == 0 {
                    io::copy(body, &mut Sink).unwrap()
                } else {
                    drain(body, buf_len)
                }
            });
            assert!(n > size as u64);
            black_box(n);
            ours.push(started.elapsed());
        }
        let (base, ours) = (median(base), median(ours));
        println!(
            "  {label:<24} baseline {:>8.0} MiB/s   multipart body {:>8.0} MiB/s   ratio {:.3}",
            mib_per_s(size, base),
            mib_per_s(size, ours),
            base.as_secs_f64() / ours.as_secs_f64()
        );
    }
}
