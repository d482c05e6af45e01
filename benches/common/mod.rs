//! Helpers the loopback and TLS benches share: settings from the environment, medians, large files,
//! and the peak memory of a child process that makes one upload.

// Each bench uses what it needs of these.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The key the benches' clients send; the byte-counting servers do not check it.
pub const KEY: &str = "bench-key";

/// A whole number from the environment, or `default`.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The median of `v`.
pub fn median<T: PartialOrd + Copy>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// A file of `len` bytes named `name` in `dir`: one varied block, written again and again (the
/// bytes' values matter to neither a socket nor a cipher).
pub fn make_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let path = dir.join(name);
    let mut out = io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let block: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len());
        out.write_all(&block[..n]).unwrap();
        left -= n;
    }
    out.flush().unwrap();
    path
}

/// In the child process, after its upload: prints the peak resident memory (VmHWM) for
/// [`peak_memory`] to read.
pub fn print_peak_memory() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or("VmHWM: 0 kB");
    println!("{hwm}");
}

/// The peak memory in KiB of this bench run again as a child (`KIE_BENCH_CHILD=mode`, with `envs`)
/// that uploads `path` from the file, or, with `mode` "pipe", from its standard input.
pub fn peak_memory(envs: &[(&str, &OsStr)], path: &Path, mode: &str) -> u64 {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env("KIE_BENCH_CHILD", mode)
        .env("KIE_BENCH_PATH", path)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if mode == "pipe" {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().unwrap();
    if mode == "pipe" {
        let mut stdin = child.stdin.take().unwrap();
        let mut file = std::fs::File::open(path).unwrap();
        io::copy(&mut file, &mut stdin).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the child upload failed");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .nth(1)
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// Writes a bare `POST` of the file at `path` to `stream`, through a buffer of `buf_len` bytes: the
/// baseline a client's upload is measured against.
pub fn write_raw_post(stream: &mut impl Write, addr: &str, path: &Path, buf_len: usize) {
    use std::io::Read;
    let mut file = std::fs::File::open(path).unwrap();
    let len = file.metadata().unwrap().len();
    write!(
        stream,
        "POST /raw HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {len}\r\n\r\n"
    )
    .unwrap();
    let mut buf = vec![0u8; buf_len];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).unwrap();
    }
    stream.flush().unwrap();
}

/// One upload of the file at `path` with ureq's own multipart form, the peer the benches compare
/// against, through `agent` (which trusts the server's CA when `url` is https).
pub fn ureq_form_upload(agent: &ureq::Agent, url: &str, path: &Path) {
    let form = ureq::unversioned::multipart::Form::new()
        .text("uploadPath", "bench")
        .file("file", path)
        .unwrap();
    let mut response = agent
        .post(format!("{url}/api/file-stream-upload"))
        .header("Authorization", format!("Bearer {KEY}"))
        .send(form)
        .unwrap();
    assert_eq!(response.status(), 200);
    response.body_mut().read_to_vec().unwrap();
}
