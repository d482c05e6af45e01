//! --help, --version, the man page and the completion scripts: the same flags everywhere, within
//! 80 columns.
#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

#[test]
fn help_and_version() {
    let emulator = emulator();
    let out = run(&emulator, &["--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("--upload-path DIR"));
    let out = run(&emulator, &["-V"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("kie-upload "));
}

/// The flags an option list defines: `-x` and `--long` at the start of its lines (after the
/// indent), as `--help` and the README write them.
fn flags_of_option_lines(text: &str) -> std::collections::BTreeSet<String> {
    let mut flags = std::collections::BTreeSet::new();
    for line in text.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        for word in line.split_whitespace() {
            let word = word.trim_end_matches(',');
            if word.starts_with('-') && word.len() > 1 && word != "-" {
                flags.insert(word.to_owned());
            } else {
                break;
            }
        }
    }
    flags
}

#[test]
fn help_man_page_completions_and_readme_name_the_same_flags() {
    let emulator = emulator();
    let help = run(&emulator, &["--help"]).stdout;
    let options = help
        .split("\nOptions:\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    let from_help = flags_of_option_lines(options);
    assert!(
        from_help.contains("--recursive") && from_help.contains("-L"),
        "{from_help:?}"
    );

    // The man page: `\fB\-r\fR, \fB\-\-recursive\fR` after each `.TP` of OPTIONS.
    let man =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/kie-upload.1")).unwrap();
    let section = man
        .split(".SH OPTIONS")
        .nth(1)
        .unwrap()
        .split(".SH ")
        .next()
        .unwrap();
    let mut from_man = std::collections::BTreeSet::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line == ".TP" {
            let head = lines.next().unwrap().replace("\\-", "-");
            for part in head.split("\\fB").skip(1) {
                let flag = part.split("\\fR").next().unwrap();
                from_man.insert(flag.to_owned());
            }
        }
    }

    // The README's flag list: the text block that starts with the usage line.
    // The repository's README, beside this package; not in the published package.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .unwrap_or_else(|_| format!("```text\nkie-upload [OPTIONS] <SRC>...\n{options}\n```"));
    let block = readme
        .split("```text\nkie-upload [OPTIONS] <SRC>...\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let from_readme = flags_of_option_lines(block);

    assert_eq!(from_man, from_help, "the man page against --help");
    assert_eq!(from_readme, from_help, "the README against --help");
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&emulator, &["--completions", shell]);
        assert_eq!(script.code, 0, "{}", script.stderr);
        let mut from_script = std::collections::BTreeSet::new();
        match shell {
            "fish" => {
                for line in script.stdout.lines().filter(|l| l.starts_with("complete ")) {
                    let words: Vec<_> = line.split_whitespace().collect();
                    for pair in words.windows(2) {
                        match pair[0] {
                            "-s" => from_script.insert(format!("-{}", pair[1])),
                            "-l" => from_script.insert(format!("--{}", pair[1])),
                            _ => false,
                        };
                    }
                }
            }
            "bash" => {
                let words = script.stdout.split("compgen -W \"-").nth(1).unwrap();
                let words = format!("-{}", words.split('"').next().unwrap());
                from_script.extend(words.split_whitespace().map(str::to_owned));
            }
            _ => {
                for line in script.stdout.lines() {
                    let line = line.trim_start().trim_start_matches('\'');
                    let spec = line.split('[').next().unwrap();
                    let spec = spec.rsplit(['{', ')']).next().unwrap();
                    for flag in spec.trim_end_matches(['}', '\'']).split(',') {
                        if flag.starts_with('-') {
                            from_script.insert(flag.to_owned());
                        }
                    }
                }
            }
        }
        assert_eq!(
            from_script, from_help,
            "the {shell} completions against --help"
        );
    }
    // And the parser knows every flag the help names.
    for flag in &from_help {
        let out = run(&emulator, &[flag.as_str(), "--bogus-flag-for-the-test"]);
        assert!(
            !out.stderr.contains(&format!("invalid option '{flag}'")),
            "{flag}: {}",
            out.stderr
        );
    }
}

#[test]
fn help_has_environment_exit_status_and_examples_within_80_columns() {
    let emulator = emulator();
    let help = run(&emulator, &["--help"]).stdout;
    for section in ["\nEnvironment:\n", "\nExit status:\n", "\nExamples:\n"] {
        assert!(help.contains(section), "{section}");
    }
    for var in [
        "KIE_API_KEY",
        "KIE_API_KEY_FILE",
        "KIE_BASE_URL",
        "SSL_CERT_FILE",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    ] {
        assert!(help.contains(var), "{var}");
    }
    for line in help.lines() {
        assert!(
            line.chars().count() < 80,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    // The completion scripts are valid shell (bash's, when there is one to check them).
    let bash = run(&emulator, &["--completions", "bash"]).stdout;
    if let Ok(mut check) = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        check
            .stdin
            .take()
            .unwrap()
            .write_all(bash.as_bytes())
            .unwrap();
        let done = check.wait_with_output().unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let out = run(&emulator, &["--completions", "tcsh"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("Try 'kie-upload --help'"),
        "{}",
        out.stderr
    );
}
