//! The `kie-upload-emulator` binary: what it prints, its flags, that it serves, and that it
//! leaves nothing behind.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_kie-upload-emulator");

/// A directory of this test's own, to be the child's temporary folder: what the emulator leaves
/// behind shows up in it.
fn scratch() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "kie-upload-emulator-binary-test-{}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names in `dir`.
fn listing(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The running binary and its temporary folder. Stopped by a signal (as people stop it) when the
/// test calls [`Running::stop`]; killed when dropped, so a failed test leaves no server running,
/// and its folder removed.
struct Running {
    child: Child,
    tmp: PathBuf,
}

impl Running {
    /// Sends `signal` (`TERM`, `INT`) and waits (10 s at most) for the binary to end; then checks
    /// that it left nothing in its `TMPDIR`, and removes that.
    #[cfg(unix)]
    fn stop_with(mut self, signal: &str) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status();
        assert!(sent.unwrap().success(), "kill -{signal} {pid}");
        let status = wait_for(&mut self.child);
        let left = listing(&self.tmp);
        assert!(left.is_empty(), "left behind after SIG{signal}: {left:?}");
        let _ = std::fs::remove_dir(&self.tmp);
        status
    }

    /// [`Running::stop_with`] SIGTERM. Elsewhere than on Unix a kill, since a test cannot send
    /// Ctrl-C to one process without unsafe code: the binary cannot clean up, so what it left
    /// goes with its folder (on drop).
    fn stop(self) {
        #[cfg(unix)]
        assert!(self.stop_with("TERM").success());
        #[cfg(not(unix))]
        {
            let mut running = self;
            running.child.kill().unwrap();
            wait_for(&mut running.child);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Waits 10 s at most for `child` to exit.
fn wait_for(child: &mut Child) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the emulator did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The binary with a key, a free port and a temporary folder of its own: `TMPDIR` on Unix, `TMP`
/// (then `TEMP`) on Windows, as std's `temp_dir` reads them.
fn command(tmp: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["--port", "0", "--api-key", KEY])
        .env_remove("KIE_API_KEY")
        .env("TMPDIR", tmp)
        .env("TMP", tmp)
        .env("TEMP", tmp);
    command
}

/// Starts the binary on a free port with `args`; returns it and the lines it printed first.
fn run(args: &[&str], lines: usize) -> (Running, Vec<String>) {
    let tmp = scratch();
    let child = command(&tmp)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run the binary");
    let mut running = Running { child, tmp };
    let mut stdout = BufReader::new(running.child.stdout.take().unwrap());
    let printed = (0..lines)
        .map(|_| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line.trim_end().to_owned()
        })
        .collect();
    (running, printed)
}

fn plain_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .new_agent()
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

/// A base64 upload of `hello` to `docs/hi.txt`; the reply's `data`.
#[cfg(unix)]
fn upload(url: &str) -> serde_json::Value {
    let mut response = plain_agent()
        .post(format!("{url}{BASE64}"))
        .header("Authorization", format!("Bearer {KEY}"))
        .header("Content-Type", "application/json")
        .send(r#"{"base64Data": "aGVsbG8=", "uploadPath": "docs", "fileName": "hi.txt"}"#)
        .unwrap();
    let reply: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(reply["code"], 200, "{reply}");
    reply["data"].clone()
}

/// Runs the binary with `args` to its end; its exit code and standard error.
fn fails(args: &[std::ffi::OsString]) -> (Option<i32>, String) {
    let tmp = scratch();
    let out = command(&tmp).args(args).output().unwrap();
    let left = listing(&tmp);
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(left.is_empty(), "left behind: {left:?}");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn with_tls_it_prints_the_url_and_the_ca_certificate() {
    let (running, lines) = run(&["--tls"], 2);
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
    running.stop();
}

#[test]
fn errors_as_status_is_a_flag() {
    let (running, lines) = run(&["--errors-as-status", "--max-connections", "4"], 1);
    let url = lines[0].strip_prefix("listening on ").expect(&lines[0]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(missing_key_status(url, &plain_agent()), 401);
    running.stop();

    // The old flag is still accepted; it names the default.
    let (running, lines) = run(&["--errors-in-body"], 1);
    let url = lines[0].strip_prefix("listening on ").expect(&lines[0]);
    assert_eq!(missing_key_status(url, &plain_agent()), 200);
    running.stop();
}

#[test]
fn bad_arguments_are_one_line_usage_errors_with_exit_2() {
    for args in [&["--nonsense"][..], &["--max-connections", "x"], &["--ttl"]] {
        let args: Vec<_> = args.iter().map(Into::into).collect();
        let (code, stderr) = fails(&args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(stderr.contains("usage:"), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

// Unix only: an argument that is not Unicode is made from bytes (Windows's are UTF-16).
#[cfg(unix)]
#[test]
fn a_non_utf8_argument_is_a_usage_error_not_a_panic() {
    use std::os::unix::ffi::OsStringExt;
    let args = ["--port".into(), std::ffi::OsString::from_vec(vec![0xff])];
    let (code, stderr) = fails(&args);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("UTF-8") && stderr.contains("usage:"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_run_time_error_is_one_line_without_the_usage() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (code, stderr) = fails(&["--port".into(), port.clone().into()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("port {port}")), "{stderr}");
    assert!(!stderr.contains("usage"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

// Unix only: signals (Ctrl-C cannot be sent to one process on Windows without unsafe code).
#[cfg(unix)]
#[test]
fn sigterm_and_sigint_remove_the_stored_files() {
    for signal in ["TERM", "INT"] {
        let (running, lines) = run(&["--tls"], 2);
        assert!(lines[1].starts_with("CA certificate: "));
        assert!(!listing(&running.tmp).is_empty(), "nothing stored at all?");
        let status = running.stop_with(signal);
        assert!(status.success(), "SIG{signal}: {status:?}");
    }
}

// Unix only: the file is removed when a signal stops the binary (see above).
#[cfg(unix)]
#[test]
fn the_port_file_is_written_once_listening_and_removed_on_exit() {
    let (running, lines) = {
        let tmp = scratch();
        let port_file = tmp.join("port");
        // A stale file from an earlier run goes before the new one is written.
        std::fs::write(&port_file, "1\n").unwrap();
        let child = command(&tmp)
            .args(["--ttl", "60", "--port-file"])
            .arg(&port_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut running = Running { child, tmp };
        let mut line = String::new();
        BufReader::new(running.child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        (running, line)
    };
    let url = lines.trim_end().strip_prefix("listening on ").unwrap();
    let port_file = running.tmp.join("port");
    // Written after the line is printed, whole: the port and a newline, no temporary file beside.
    let started = Instant::now();
    let port = loop {
        match std::fs::read_to_string(&port_file) {
            Ok(text) if text != "1\n" => break text,
            _ => assert!(started.elapsed() < Duration::from_secs(10), "no port file"),
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(format!("http://127.0.0.1:{}", port.trim_end()), url);
    assert!(port.ends_with('\n'));
    let names = listing(&running.tmp);
    assert!(
        names
            .iter()
            .all(|n| n == "port" || n.starts_with("kie-upload-emulator")),
        "{names:?}"
    );
    // --ttl is what the reply says.
    let data = upload(url);
    assert!(data["expiresAt"].is_string(), "{data}");
    running.stop();
}
