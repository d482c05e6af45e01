//! What the tool prints: URLs and JSON lines in order as each is done, the summary line, the
//! progress display on a terminal, and standard output that is closed or full.

mod common;

use common::*;
use kie_upload_emulator::Fault;

#[test]
fn several_files_in_parallel_print_urls_in_order() {
    let emulator = emulator();
    let client = client(&emulator);
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    let mut sources = Vec::new();
    for i in 0..6 {
        let data = payload(1000 + 50_000 * (6 - i));
        let path = dir.path().join(format!("f{i}.bin"));
        std::fs::write(&path, &data).unwrap();
        paths.push(path.to_string_lossy().into_owned());
        sources.push(data);
    }
    let mut args = vec!["--jobs", "3", "-p", "batch", "-q"];
    args.extend(paths.iter().map(String::as_str));
    let out = run(&emulator, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let urls: Vec<_> = out.stdout.lines().collect();
    assert_eq!(urls.len(), 6);
    for (i, url) in urls.iter().enumerate() {
        assert!(url.ends_with(&format!("/batch/f{i}.bin")), "{url}");
        assert_eq!(download(&client, url), sources[i]);
    }
    // No terminal, so no progress display either.
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn json_lines_carry_the_data_fields_and_expiry() {
    let emulator = emulator();
    let (_dir, path) = temp_file("j.txt", b"json please");
    let path = path.to_string_lossy().into_owned();
    let out = run(&emulator, &["--json", &path]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<_> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1);
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["fileName"], "j.txt");
    assert_eq!(v["filePath"], "uploads/j.txt");
    assert_eq!(v["fileSize"], 11);
    assert!(v["downloadUrl"]
        .as_str()
        .unwrap()
        .starts_with(emulator.base_url()));
    assert!(v["uploadedAt"].as_str().unwrap().ends_with('Z'));
    assert!(v["expiresAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["source"], path);
}

#[test]
fn json_lines_report_failures_too_in_order() {
    let emulator = emulator();
    let (dir, good) = temp_file("good.txt", b"good");
    let missing = dir.path().join("missing.txt");
    let (good, missing) = (good.to_str().unwrap(), missing.to_str().unwrap());
    let out = run(&emulator, &["--json", "-j", "1", good, missing]);
    assert_eq!(out.code, 1);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(lines[0]["source"], good);
    assert_eq!(lines[1]["source"], missing);
    assert!(says_missing(lines[1]["error"].as_str().unwrap(), ""));
    assert_eq!(lines[1]["code"], serde_json::Value::Null);

    // A refusal carries the service's code.
    let out = run_with(&emulator, "not-the-key", &["--json", good], b"");
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["code"], 401);
    assert!(v["error"].as_str().unwrap().contains("check KIE_API_KEY"));
}

// Unix only: the slow source is a FIFO (mkfifo).
#[cfg(unix)]
#[test]
fn each_result_is_printed_as_soon_as_it_and_those_before_are_done() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.txt");
    std::fs::write(&first, b"quick").unwrap();
    let fifo = dir.path().join("slow");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut child = command(&emulator)
        .env("KIE_API_KEY", KEY)
        .args(["-j", "2", first.to_str().unwrap(), fifo.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writer.write_all(b"slow start").unwrap();
    // The first URL arrives while the second source is still open.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    assert!(line.ends_with("/uploads/first.txt"), "{line}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the batch ended before the FIFO did"
    );
    drop(writer);
    let line = lines.next().unwrap().unwrap();
    assert!(line.ends_with("/uploads/slow"), "{line}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_batch_ends_with_one_summary_line_unless_quiet() {
    let emulator = emulator();
    let (dir, a) = temp_file("a.txt", b"aaaa");
    let b = dir.path().join("b.txt");
    std::fs::write(&b, b"bbbbbb").unwrap();
    let missing = dir.path().join("missing.txt");
    let args = [
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        missing.to_str().unwrap(),
    ];
    let out = run(&emulator, &args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("kie-upload: 2 stored, 1 failed, 10 B in ") && last.ends_with("/s)"),
        "{last}"
    );
    assert_eq!(
        out.stderr.lines().filter(|l| l.contains("stored")).count(),
        1
    );
    let mut quiet = args.to_vec();
    quiet.push("-q");
    let out = run(&emulator, &quiet);
    assert!(!out.stderr.contains("stored"), "{}", out.stderr);
    // One source is not a batch.
    let out = run(&emulator, &args[..1]);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn a_closed_standard_output_is_a_quiet_failure_and_errors_still_show() {
    let emulator = emulator();
    let (dir, good) = temp_file("good.txt", b"good");
    let missing = dir.path().join("missing.bin");
    // `kie-upload good missing | head -0`
    let child = spawn_with_closed(
        &emulator,
        &["-j", "1", good.to_str().unwrap(), missing.to_str().unwrap()],
        false,
    );
    let (code, stderr) = wait_with_stderr(child);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("missing.bin"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");

    // Every upload stored, but their results could not be written: still a failure. Five of
    // them: under wine (8.0) the first writes to a pipe whose reader is gone may still succeed,
    // and only a later one fails (with error 232, which must read as a reader gone, quietly).
    let names: Vec<_> = (0..5)
        .map(|i| dir.path().join(format!("{i}.txt")))
        .collect();
    for name in &names {
        std::fs::write(name, b"x").unwrap();
    }
    let mut args = vec!["-q", "-j", "1"];
    args.extend(names.iter().map(|n| n.to_str().unwrap()));
    let (code, stderr) = wait_with_stderr(spawn_with_closed(&emulator, &args, false));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    // `kie-upload --help | head -0`. Not under wine, where both of its writes may succeed.
    if cfg!(unix) {
        let (code, stderr) = wait_with_stderr(spawn_with_closed(&emulator, &["--help"], false));
        assert_eq!(code, Some(1));
        assert!(stderr.is_empty(), "{stderr}");
    }

    // An error printed to a closed standard error.
    let child = spawn_with_closed(&emulator, &[missing.to_str().unwrap()], true);
    assert_eq!(wait_with_stderr(child).0, Some(1));
}

// Unix only: /dev/full (which wine reaches through its Z: drive, so it would pass there too).
#[cfg(unix)]
#[test]
fn a_full_disk_on_standard_output_is_a_failure() {
    use std::process::Stdio;
    let emulator = emulator();
    let (dir, good) = temp_file("good.txt", b"good");
    let missing = dir.path().join("missing.bin");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = command(&emulator)
        .env("KIE_API_KEY", KEY)
        .args(["-j", "1", good.to_str().unwrap(), missing.to_str().unwrap()])
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the results"), "{stderr}");
    assert!(stderr.contains("missing.bin"), "{stderr}");
}

#[test]
fn server_text_cannot_steer_the_terminal() {
    let emulator = emulator();
    let (_dir, path) = temp_file("a.txt", b"abc");
    let hostile = format!(
        r#"{{"success":true,"code":200,"data":{{"fileName":"a\u001b]0;pwned\u0007.txt","filePath":"uploads/a.txt","downloadUrl":"{}/files/a\u202e.txt\u001b[2J","fileSize":3}}}}"#,
        emulator.base_url()
    );
    for json in [false, true] {
        emulator.inject(
            Fault::Raw {
                bytes: http_reply("200 OK", "application/json", &hostile),
            },
            1,
        );
        let mut args = vec![path.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = run(&emulator, &args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            !out.stdout.contains(['\u{1b}', '\u{7}', '\u{202e}']),
            "{:?}",
            out.stdout
        );
        if json {
            // Still JSON, and the exact name is there for a program that decodes it.
            let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
            assert_eq!(v["fileName"], "a\u{1b}]0;pwned\u{7}.txt");
        }
    }
    emulator.inject(Fault::ControlChars, 1);
    let out = run(&emulator, &[path.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        !out.stderr
            .contains(['\u{1b}', '\u{7}', '\u{202e}', '\u{200b}']),
        "{:?}",
        out.stderr
    );
}

/// Runs the binary with `args` on a terminal 200 columns wide (through `script`), with a FIFO
/// among the sources that the test feeds slowly, and returns what the terminal showed.
#[cfg(unix)]
fn on_a_terminal(
    emulator: &kie_upload_emulator::Emulator,
    args: &[&str],
    fifo: &std::path::Path,
) -> String {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let bin = env!("CARGO_BIN_EXE_kie-upload");
    let line = std::iter::once(bin)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = in_clean_env(Command::new("script"), emulator)
        .env("KIE_API_KEY", KEY)
        // Wider than 80: each line is drawn padded to the width, so what it holds shows apart.
        .args([
            "-qec",
            &format!("stty cols 200 rows 24; exec {line}"),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let fifo = fifo.to_path_buf();
    std::thread::spawn(move || {
        if let Ok(mut w) = std::fs::OpenOptions::new().write(true).open(fifo) {
            for _ in 0..8 {
                let _ = w.write_all(&[b'x'; 1000]);
                std::thread::sleep(Duration::from_millis(150));
            }
        }
    });
    let mut shown = Vec::new();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let _ = stdout.read_to_end(&mut shown);
        shown
    });
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > RUN_BOUND {
            let _ = child.kill();
            panic!("kie-upload on a terminal did not finish within {RUN_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    String::from_utf8_lossy(&reader.join().unwrap()).into_owned()
}

/// Terminal output without its escape sequences, split where the cursor moves to a new line and
/// where a line's padding (20 spaces or more) starts.
#[cfg(unix)]
fn screen_lines(shown: &str) -> Vec<String> {
    let mut lines = vec![String::new()];
    let mut chars = shown.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ parameters final-byte; a cursor move starts another line.
                if chars.next_if_eq(&'[').is_some() {
                    for p in chars.by_ref() {
                        if p.is_ascii_alphabetic() {
                            if matches!(p, 'A' | 'B' | 'E' | 'F' | 'J' | 'K') {
                                lines.push(String::new());
                            }
                            break;
                        }
                    }
                }
            }
            '\r' | '\n' => lines.push(String::new()),
            c => lines.last_mut().unwrap().push(c),
        }
    }
    let padding = " ".repeat(20);
    lines
        .iter()
        .flat_map(|l| l.split(padding.as_str()))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

// Unix only: `script` makes the terminal, and the slow source is a FIFO.
#[cfg(unix)]
#[test]
fn the_progress_display_shows_the_batch_total_on_a_terminal() {
    use std::process::Command;
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    }
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    // Wide characters take two columns each; the line must still fit.
    let big = dir.path().join("写真写真写真写真写真写真.bin");
    std::fs::write(&big, payload(300_000)).unwrap();
    let fifo = dir.path().join("slow");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let shown = on_a_terminal(
        &emulator,
        &["-j", "1", big.to_str().unwrap(), fifo.to_str().unwrap()],
        &fifo,
    );
    let lines = screen_lines(&shown);
    assert!(lines.iter().any(|l| l.contains("1/2 files")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("真.bin")), "{lines:#?}");
    // How the lines fit the terminal's width, and what a person sees once they are gone, is
    // read from a terminal emulator's screen in tests/terminal.rs.
}

// Unix only: signals.
#[cfg(unix)]
#[test]
fn sigterm_ends_a_run_whose_standard_output_is_not_read() {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    // `kie-upload ... | sleep 100`, then `kill`: the pipe fills, and the write of the next URL
    // waits for a reader that never reads.
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["-j".to_owned(), "4".to_owned()];
    for i in 0..3000 {
        let path = dir.path().join(format!("{i:04}.txt"));
        std::fs::write(&path, b"x").unwrap();
        args.push(path.to_string_lossy().into_owned());
    }
    let mut child = command(&emulator)
        .env("KIE_API_KEY", KEY)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Held, never read.
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    // Far more URLs than a pipe holds (64 KiB is some 1,300 of them).
    let started = Instant::now();
    while emulator.requests().len() < 2000 {
        assert!(started.elapsed() < RUN_BOUND, "the uploads stopped early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > RUN_BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("SIGTERM did not end the run: it waits on its standard output");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdout);
    let stderr = errors.join().unwrap();
    assert_eq!(status.code(), Some(143), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("kie-upload: interrupted"), "{stderr}");
    assert!(last.contains("not every result was written"), "{stderr}");
}
