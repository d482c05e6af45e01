//! --help, --version, the man page and the completion scripts: the same flags everywhere, within
//! 80 columns.

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

/// One flag as a list describes it: its forms (`-p`, `--upload-path`), its value's name, and what
/// it does, on one line.
#[derive(Debug, PartialEq)]
struct Entry {
    forms: Vec<String>,
    value: Option<String>,
    text: String,
}

/// The entries of `--help`'s option list (or a copy of it): a line that starts with `-` after
/// a short indent opens one, lines indented to the text's column continue its text.
fn entries_of_option_list(list: &str) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for line in list.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('-') && line.len() - trimmed.len() < 10 {
            let mut words = trimmed.split(' ').filter(|w| !w.is_empty()).peekable();
            let mut forms = Vec::new();
            while let Some(word) = words.next_if(|w| w.starts_with('-')) {
                forms.push(word.trim_end_matches(',').to_owned());
            }
            // The value's name is in capitals; the text starts after two spaces.
            let value = words.next_if(|w| w.chars().all(|c| c.is_ascii_uppercase()));
            let text = trimmed.split("  ").skip(1).collect::<Vec<_>>().join(" ");
            entries.push(Entry {
                forms,
                value: value.map(str::to_owned),
                text: words_of(&text),
            });
        } else if let Some(last) = entries.last_mut() {
            last.text = words_of(&format!("{} {trimmed}", last.text));
        }
    }
    entries
}

/// The entries of the man page's OPTIONS: `.TP`, the forms (`\fB\-p\fR, \fB\-\-upload\-path\fR
/// \fIDIR\fR`), then the text up to the next macro.
fn entries_of_man_page(man: &str) -> Vec<Entry> {
    let section = man
        .split(".SH OPTIONS")
        .nth(1)
        .unwrap()
        .split(".SH ")
        .next()
        .unwrap();
    let mut entries = Vec::new();
    for item in section.split(".TP\n").skip(1) {
        let mut lines = item.lines();
        let head = lines.next().unwrap();
        let forms = head
            .split("\\fB")
            .skip(1)
            .map(|part| unroff(part.split("\\fR").next().unwrap()))
            .collect();
        let value = head
            .split("\\fI")
            .nth(1)
            .map(|v| unroff(v.split("\\fR").next().unwrap()));
        let text: Vec<_> = lines.take_while(|l| !l.starts_with('.')).collect();
        entries.push(Entry {
            forms,
            value,
            text: words_of(&unroff(&text.join(" "))),
        });
    }
    entries
}

/// Text without roff's font changes and escapes.
fn unroff(text: &str) -> String {
    text.replace("\\fB", "")
        .replace("\\fR", "")
        .replace("\\fI", "")
        .replace("\\-", "-")
        .replace("\\\\", "\\")
}

/// Words separated by single spaces, without backquotes (the man page sets code in bold).
fn words_of(text: &str) -> String {
    text.replace('`', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
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
    let from_help = entries_of_option_list(options);
    assert!(from_help.len() > 20, "{from_help:#?}");
    let forms: Vec<&str> = from_help
        .iter()
        .flat_map(|e| &e.forms)
        .map(String::as_str)
        .collect();
    assert!(
        forms.contains(&"--recursive") && forms.contains(&"-L"),
        "{forms:?}"
    );

    // The man page: the same flags, in the same order, with the same values, each entry saying
    // first what --help says (a capital letter and a full stop), then maybe more.
    let man =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/kie-upload.1")).unwrap();
    let from_man = entries_of_man_page(&man);
    assert_eq!(
        from_man.len(),
        from_help.len(),
        "the man page's OPTIONS against --help"
    );
    for (man, help) in from_man.iter().zip(&from_help) {
        assert_eq!(
            (&man.forms, &man.value),
            (&help.forms, &help.value),
            "the man page"
        );
        let mut first = help.text.clone();
        first[..1].make_ascii_uppercase();
        assert!(
            man.text.starts_with(&format!("{first}.")),
            "the man page on {:?} does not start with what --help says:\n  man:  {}\n  help: {}",
            help.forms,
            man.text,
            help.text
        );
    }

    // The README's flag list, when the repository's README has one: --help's arguments and
    // options, line for line. The published package holds no copy of that README (its own,
    // cli/README.md, has no flag list), so there the comparison cannot be made, and says so.
    match std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")) {
        Ok(readme) => {
            if let Some(block) = readme
                .split("```text\nkie-upload [OPTIONS] <SRC>...\n")
                .nth(1)
            {
                let block = block.split("```").next().unwrap();
                let arguments = help.split("\nArguments:\n").nth(1).unwrap();
                let arguments = arguments.split("\n\n").next().unwrap();
                assert_eq!(
                    block.trim_end(),
                    format!("{arguments}\n{options}").trim_end(),
                    "the README's flag list against --help"
                );
            }
        }
        Err(_) => eprintln!("no ../README.md (a published package): its flag list is not checked"),
    }
    let own_readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        !own_readme.contains("--upload-path"),
        "cli/README.md has grown a flag list: check it here too"
    );

    // The completions: every flag, in the same order.
    let help_forms: Vec<String> = forms.iter().map(|f| f.to_string()).collect();
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&emulator, &["--completions", shell]);
        assert_eq!(script.code, 0, "{}", script.stderr);
        let mut from_script = Vec::new();
        match shell {
            "fish" => {
                for line in script.stdout.lines().filter(|l| l.starts_with("complete ")) {
                    let words: Vec<_> = line.split_whitespace().collect();
                    for pair in words.windows(2) {
                        match pair[0] {
                            "-s" => from_script.push(format!("-{}", pair[1])),
                            "-l" => from_script.push(format!("--{}", pair[1])),
                            _ => {}
                        }
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
                            from_script.push(flag.to_owned());
                        }
                    }
                }
            }
        }
        assert_eq!(
            from_script, help_forms,
            "the {shell} completions against --help"
        );
    }
    // Folders complete folders, files files.
    let bash = run(&emulator, &["--completions", "bash"]).stdout;
    assert!(
        bash.contains("--cache-dir) COMPREPLY=($(compgen -d"),
        "{bash}"
    );
    assert!(
        bash.contains("--files-from|--api-key-file|--cacert) COMPREPLY=($(compgen -f"),
        "{bash}"
    );
    let zsh = run(&emulator, &["--completions", "zsh"]).stdout;
    assert!(zsh.contains(":DIR:_files -/'"), "{zsh}");
    assert!(
        zsh.contains("'--no-expect[never wait for 100-continue]'"),
        "{zsh}"
    );
    let fish = run(&emulator, &["--completions", "fish"]).stdout;
    assert!(
        fish.contains("-l cache-dir -x -a '(__fish_complete_directories)'"),
        "{fish}"
    );

    // And the parser knows every flag the help names.
    for flag in &help_forms {
        let out = run(&emulator, &[flag.as_str(), "--bogus-flag-for-the-test"]);
        assert!(
            !out.stderr.contains(&format!("unknown option {flag}")),
            "{flag}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_mistyped_flag_gets_the_one_meant() {
    let emulator = emulator();
    let out = run(&emulator, &["--josn", "a.txt"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: unknown option --josn: did you mean --json?\n"),
        "{}",
        out.stderr
    );
    let out = run(&emulator, &["--frobnicate", "a.txt"]);
    assert!(
        out.stderr
            .starts_with("error: unknown option --frobnicate\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_long_flag_with_one_dash_or_a_short_flag_in_the_wrong_case_gets_the_one_meant() {
    // `-json` would otherwise be -j with "son", `-name x f` a name "ame" for two files, and
    // `-name report.pdf` an upload stored as "ame" without a word.
    let emulator = emulator();
    let (_dir, path) = temp_file("report.pdf", b"%PDF");
    let file = path.to_str().unwrap();
    for (args, said) in [
        (
            vec!["-json", file],
            "error: unknown option -json: did you mean --json?",
        ),
        (
            vec!["-verify", file],
            "error: unknown option -verify: did you mean --verify?",
        ),
        (
            vec!["-name", file],
            "error: unknown option -name: did you mean --name?",
        ),
        (
            vec!["-dry-run", file],
            "error: unknown option -dry-run: did you mean --dry-run?",
        ),
        (
            vec!["--JSON", file],
            "error: unknown option --JSON: did you mean --json?",
        ),
        (
            vec!["-J", "2", file],
            "error: unknown option -J: did you mean -j?",
        ),
        (
            vec!["-R", file],
            "error: unknown option -R: did you mean -r?",
        ),
        (
            vec!["-l", file],
            "error: unknown option -l: did you mean -L?",
        ),
        (
            vec!["--completions", "bsh"],
            "error: --completions takes bash, zsh or fish, not \"bsh\": did you mean bash?",
        ),
        (
            vec!["--retries", "99999999999", file],
            "error: --retries: 99999999999 is too large",
        ),
        (
            vec!["--timeout", "0"],
            "error: --timeout must be at least 1 second",
        ),
    ] {
        let out = run(&emulator, &args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with(&format!("{said}\n")),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(emulator.requests().is_empty());
    // What one dash does take is left alone: letters together, a value joined to its letter.
    let out = run(&emulator, &["-qj1", "-pdocs", "--dry-run", file]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("\tdocs\treport.pdf\t"),
        "{}",
        out.stdout
    );
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
