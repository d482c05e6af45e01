//! The binary under a process limit that leaves no thread to spare: `-j 4` runs the batch on the
//! threads it can start, and every source gets its result.
#![cfg(target_os = "linux")]

mod common;

use common::*;

/// Issue 16 item 6: under a process limit that leaves no thread to spare, `-j 4` runs the batch on
/// the threads it can start, down to the calling thread alone, and every source gets its result.
/// As root, the CLI runs as `nobody` (root ignores `RLIMIT_NPROC`) with room for its main thread
/// only, then for one more; as another user, that user's other threads already fill a limit of 1.
#[test]
fn a_thread_that_cannot_start_leaves_its_uploads_to_the_others() {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let root = status.lines().any(|l| l.starts_with("Uid:\t0\t"));
    let have = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
    if !have("prlimit") || (root && !have("setpriv")) {
        eprintln!("skipped: needs util-linux's prlimit (and setpriv as root)");
        return;
    }
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..6).map(|i| format!("f{i}.txt")).collect();
    for name in &names {
        std::fs::write(dir.path().join(name), name).unwrap();
    }
    // `nobody` must reach the files, and the binary: the target directory may sit under a
    // folder only root can enter (CI's unpacked package builds under a 0700 `mktemp -d`), so run
    // a copy from the files' folder.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = dir.path().join("kie-upload");
    std::fs::copy(env!("CARGO_BIN_EXE_kie-upload"), &binary).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let limits: &[u32] = if root { &[1, 2] } else { &[1] };
    for &limit in limits {
        let mut command = Command::new("timeout");
        command.arg("60");
        if root {
            command.args([
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ]);
        }
        let output = command
            .args(["prlimit", &format!("--nproc={limit}:{limit}"), "--"])
            .arg(&binary)
            .args(["-j", "4", "-p", "batch"])
            .args(&names)
            .current_dir(dir.path())
            .env_clear()
            .env("KIE_API_KEY", KEY)
            .env("KIE_BASE_URL", emulator.base_url())
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        eprintln!("RLIMIT_NPROC {limit}: {}\n{stdout}{stderr}", output.status);
        assert!(output.status.success(), "limit {limit}: {stderr}");
        // Standard error holds the batch's summary line, and no panic.
        assert!(!stderr.contains("panicked"), "limit {limit}: {stderr}");
        let urls: Vec<&str> = stdout.lines().collect();
        assert_eq!(urls.len(), names.len(), "limit {limit}: {stdout}");
        for (url, name) in urls.iter().zip(&names) {
            assert!(url.ends_with(&format!("/batch/{name}")), "{url}");
            assert!(emulator.stored(&format!("batch/{name}")).is_some());
        }
    }
}
