//! The `kie-upload-emulator` binary: what it prints, its flags, and that it serves.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_kie-upload-emulator");

/// Kills the child it holds when dropped, so a failed test leaves no server running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on a free port with `args`; returns it and the lines it printed first.
fn run(args: &[&str], lines: usize) -> (Running, Vec<String>) {
    let child = Command::new(BIN)
        .args(["--port", "0", "--api-key", KEY])
        .args(args)
        .env_remove("KIE_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run the binary");
    let mut running = Running(child);
    let mut stdout = BufReader::new(running.0.stdout.take().unwrap());
    let printed = (0..lines)
        .map(|_| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line.trim_end().to_owned()
        })
        .collect();
    (running, printed)
}

fn missing_key_status(url: &str, agent: &ureq::Agent) -> u16 {
    agent
        .post(format!("{url}{URL}"))
        .header("Content-Type", "application/json")
        .send("{}")
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn with_tls_it_prints_the_url_and_the_ca_certificate() {
    let (_running, lines) = run(&["--tls"], 2);
    let url = lines[0].strip_prefix("listening on ").expect(&lines[0]);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let path = lines[1].strip_prefix("CA certificate: ").expect(&lines[1]);
    let pem = std::fs::read_to_string(path).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .tls_config(trusting(&pem))
        .build()
        .new_agent();
    // Errors come in the body by default, as from the live service.
    assert_eq!(missing_key_status(url, &agent), 200);
}

#[test]
fn errors_as_status_is_a_flag() {
    let (_running, lines) = run(&["--errors-as-status", "--max-connections", "4"], 1);
    let url = lines[0].strip_prefix("listening on ").expect(&lines[0]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent();
    assert_eq!(missing_key_status(url, &agent), 401);

    // The old flag is still accepted; it names the default.
    let (_running, lines) = run(&["--errors-in-body"], 1);
    let url = lines[0].strip_prefix("listening on ").expect(&lines[0]);
    assert_eq!(missing_key_status(url, &agent), 200);
}

#[test]
fn bad_arguments_exit_with_2() {
    for args in [&["--nonsense"][..], &["--max-connections", "x"]] {
        let out = Command::new(BIN)
            .args(["--api-key", KEY])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
    }
}
