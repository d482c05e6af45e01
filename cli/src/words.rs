//! Errors in words, on one line: what failed as the library says it, the system's cause at most
//! once (`connection refused`, without "(os error 111)"), and what to do in this tool's flags.
//! Never the text of the HTTP or TLS library underneath, nor a Rust type's name.

use std::error::Error as _;
use std::io;

use kie_upload::{printable, Error, ErrorKind};

use crate::advice::advice;

/// An I/O error in words: the system's text without its "(os error N)" tail, which names a
/// number nobody needs.
pub(crate) fn io_words(e: &io::Error) -> String {
    without_os_error(&e.to_string())
}

/// `text` with every " (os error N)" taken out, and a capital first letter (the system's
/// style) made small, as the rest of a line after a colon reads.
pub(crate) fn without_os_error(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" (os error ") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match rest.find(')') {
            Some(end) => rest = &rest[end + 1..],
            None => break,
        }
    }
    out.push_str(rest);
    // The system's texts start with a capital; after a colon, in a line of ours, they do not.
    for phrase in [
        "No such file or directory",
        "Permission denied",
        "Connection refused",
        "Connection reset by peer",
        "Is a directory",
        "Not a directory",
        "Broken pipe",
        "No space left on device",
        "Too many open files",
        "Read-only file system",
    ] {
        let small = phrase[..1].to_ascii_lowercase() + &phrase[1..];
        out = out.replace(&format!(": {phrase}"), &format!(": {small}"));
    }
    let mut chars = out.chars();
    match (chars.next(), chars.next()) {
        // "No such file" but not "TLS failed" or "IO".
        (Some(first), Some(second)) if first.is_ascii_uppercase() && second.is_lowercase() => {
            first.to_ascii_lowercase().to_string() + &out[1..]
        }
        _ => out,
    }
}

/// The error, its advice in this tool's flags, and its causes, on one line:
/// `what failed (cause: cause): what to do`; for a usage or configuration error.
pub(crate) fn explain(error: &Error) -> String {
    match advice(error, false) {
        Some(advice) => format!("{}: {advice}", describe(error)),
        None => describe(error),
    }
}

/// The error on one line, in words: what failed, and for a file or a connection the system's
/// cause (`connection refused`), at most once and in one pair of parentheses. Never the text of
/// the HTTP or TLS library underneath (`io: ...`, `protocol: ...`, a Rust type's name): the
/// library's line already says what it meant.
pub(crate) fn describe(error: &Error) -> String {
    let mut line = match error.kind() {
        // The tool says "error:" itself; the library's "invalid input:" adds nothing.
        ErrorKind::InvalidInput { reason, .. } => reason.clone(),
        _ => error.to_string(),
    };
    let cause = match error.kind() {
        ErrorKind::Io | ErrorKind::Transport | ErrorKind::Proxy { .. } | ErrorKind::Spool => {
            error.io_error().map(io_words)
        }
        ErrorKind::Timeout
            if error
                .source()
                .is_some_and(|s| s.to_string().ends_with("connect")) =>
        {
            Some("while connecting".to_owned())
        }
        _ => None,
    };
    if let Some(cause) = cause {
        if !line.to_lowercase().contains(&cause.to_lowercase()) {
            line = format!("{line} ({cause})");
        }
    }
    printable(&without_os_error(&line).replace(['\n', '\r'], " ")).into_owned()
}
