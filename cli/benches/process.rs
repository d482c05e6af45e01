//! One 1 KiB upload as a whole process, handshake included: the `kie-upload` CLI against one
//! `curl -F` process, alternating, to the emulator over HTTPS on loopback (its CA trusted by both
//! through `--cacert`). Prints the medians and the median of the per-pair ratios.
//!
//! `cargo bench -p kie-upload-cli` runs the CLI as the bench profile builds it; to measure the
//! size-tuned release binary that users install, `cargo build --release -p kie-upload-cli` and
//! name it with `KIE_BENCH_CLI=target/release/kie-upload`. `KIE_BENCH_PROCESS_RUNS` sets the pairs
//! (default 50). curl must be installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use kie_upload_emulator::{Config, Emulator};

/// The key the emulator accepts here.
const KEY: &str = "bench-key";

/// One `kie-upload` process.
fn cli_upload(cli: &Path, url: &str, ca: &Path, path: &Path) {
    let status = Command::new(cli)
        .env_clear()
        .env("KIE_API_KEY", KEY)
        .arg("--cacert")
        .arg(ca)
        .args(["--base-url", url, "--no-proxy", "-q", "-p", "bench"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the CLI failed");
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("KIE_BENCH_PROCESS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let cli = std::env::var_os("KIE_BENCH_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kie-upload")));
    let emulator = Emulator::start(Config::new(KEY).tls(true)).expect("start the emulator");
    let ca = emulator.ca_cert_path().expect("a TLS emulator has a CA");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.bin");
    std::fs::write(&file, (0..1024u32).map(|i| i as u8).collect::<Vec<_>>()).unwrap();
    let url = emulator.base_url();
    // One of each first, so that neither pays for a cold page cache.
    cli_upload(&cli, url, ca, &file);
    curl_upload(url, ca, &file);
    let (mut ours, mut curl, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let (mut a, mut b) = (0.0, 0.0);
        for second in [false, true] {
            let t = Instant::now();
            if second == (run % 2 == 0) {
                cli_upload(&cli, url, ca, &file);
                a = t.elapsed().as_secs_f64();
            } else {
                curl_upload(url, ca, &file);
                b = t.elapsed().as_secs_f64();
            }
        }
        ours.push(a);
        curl.push(b);
        ratios.push(a / b);
    }
    let lo = ratios.iter().copied().fold(f64::MAX, f64::min);
    let hi = ratios.iter().copied().fold(f64::MIN, f64::max);
    println!("one 1 KiB upload over HTTPS as a whole process, median of {runs} pairs:");
    println!("  curl -F         {:>8.2} ms", median(curl) * 1e3);
    println!("  kie-upload CLI  {:>8.2} ms", median(ours) * 1e3);
    println!(
        "  CLI / curl      {:.3} (median of per-pair ratios; {lo:.3}-{hi:.3}; target <= 0.4)",
        median(ratios)
    );
    println!("  ({})", cli.display());
}
