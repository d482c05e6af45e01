//! What the user sees: a result per source on standard output (a URL or a JSON line, in the order
//! given, each flushed as it comes), errors and `-v` logs on standard error, progress bars on a
//! terminal. Text from the server is escaped before it reaches a terminal, and a closed pipe ends
//! the output quietly instead of panicking.

use std::error::Error as _;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use indicatif::HumanBytes;
use kie_upload::{printable, Error, ErrorKind, Event, UploadedFile};
use serde_json::{json, Value};

use crate::advice::advice;
use crate::plan::Planned;
use crate::progress;

/// Where results go, and how the run is going. Shared with the thread that ends an interrupted
/// run: every result is written whole, under one lock, and none after the run's last line.
pub(crate) struct Output {
    json: bool,
    /// `--reuse`: an interrupted run says the same command sends only what is left.
    reuse: bool,
    /// `--verify`: the summary says how many were checked.
    verify: bool,
    state: Mutex<State>,
}

struct State {
    /// Standard output could not be written: later results are not attempted.
    stdout_failed: bool,
    /// A line is being written to standard output, outside the lock: a reader that does not
    /// read (`| sleep 100`) can hold that write, and the display off the screen, for ever.
    writing: bool,
    /// An upload failed, or its result could not be written.
    failed: bool,
    /// For the summary line: sources stored, verified and failed, bytes stored, since when.
    stored: usize,
    reused: usize,
    verified: usize,
    failures: usize,
    bytes: u64,
    started: Instant,
    /// Every source of the run, in order, and where each stands; results come in this order, so
    /// `next` is the one the next result is for.
    sources: Vec<(String, Stand)>,
    next: usize,
    /// The run's last line is out: nothing more is written.
    ended: bool,
}

/// The error of an interrupted run's JSON line for a source whose whole body went out and whose
/// answer never came.
const UNCONFIRMED: &str = "interrupted: sent, not confirmed (the service may have it)";

/// Where a source stands, for the last line of a run that is interrupted.
enum Stand {
    /// Not sent, or not all of it: the service cannot have it.
    Unsent,
    /// Its whole body went out and no answer has come through: the service may have stored it.
    Sent,
    /// The service stored it, and its result waits behind an earlier upload's: the line to print,
    /// and the figures it adds to the counts.
    Stored {
        line: String,
        bytes: u64,
        verified: bool,
        reused: bool,
    },
    /// Its result is out: printed, or reported as a failure.
    Reported,
    /// The interrupt stopped it before its body was whole: not stored.
    Stopped,
}

impl Output {
    pub(crate) fn new(json: bool, reuse: bool, verify: bool) -> Output {
        Output {
            json,
            reuse,
            verify,
            state: Mutex::new(State {
                stdout_failed: false,
                writing: false,
                failed: false,
                stored: 0,
                reused: 0,
                verified: 0,
                failures: 0,
                bytes: 0,
                started: Instant::now(),
                sources: Vec::new(),
                next: 0,
                ended: false,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sources the run will give results for, in order (what an interrupted run names).
    pub(crate) fn expect(&self, sources: impl IntoIterator<Item = String>) {
        let mut state = self.state();
        state.sources = sources.into_iter().map(|s| (s, Stand::Unsent)).collect();
        state.next = 0;
    }

    /// Prints a stored file (of `size` bytes, when known locally; `verified` by `--verify`): its
    /// download URL, or its JSON line.
    pub(crate) fn success(
        &self,
        source: &str,
        size: Option<u64>,
        verified: bool,
        file: &UploadedFile,
    ) {
        let mut state = self.state();
        if state.ended {
            return;
        }
        state.settle(Stand::Reported);
        state.count_stored(size.unwrap_or(file.file_size), verified, file.reused);
        let line = self.result(source, verified, file);
        self.result_line(state, &line);
    }

    /// The source at `index` in the plan has been stored, as its worker learns, before its turn
    /// to be printed comes: should the run be interrupted before then, its result is printed
    /// with the run's last words rather than counted among those not stored.
    pub(crate) fn stored_early(
        &self,
        index: usize,
        size: Option<u64>,
        verified: bool,
        file: &UploadedFile,
    ) {
        let mut state = self.state();
        let line = match state.sources.get(index) {
            Some((source, Stand::Unsent | Stand::Sent | Stand::Stored { .. })) => {
                self.result(source, verified, file)
            }
            _ => return,
        };
        state.sources[index].1 = Stand::Stored {
            line,
            bytes: size.unwrap_or(file.file_size),
            verified,
            reused: file.reused,
        };
    }

    /// The whole body of the source at `index` has gone out: from now on, until its answer is
    /// through, the service may have stored it.
    pub(crate) fn body_sent(&self, index: usize) {
        let mut state = self.state();
        if let Some((_, stand @ Stand::Unsent)) = state.sources.get_mut(index) {
            *stand = Stand::Sent;
        }
    }

    /// A stored file's line: its download URL, or its JSON object.
    fn result(&self, source: &str, verified: bool, file: &UploadedFile) -> String {
        if self.json {
            let mut value = serde_json::to_value(file).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                if let Some(expires) = file.expires_at_rfc3339() {
                    object.insert("expiresAt".into(), expires.into());
                }
                object.insert("source".into(), source.into());
                if verified {
                    object.insert("verified".into(), true.into());
                }
                if file.reused {
                    object.insert("reused".into(), true.into());
                }
            }
            json_line(&value)
        } else {
            printable(&file.download_url).into_owned()
        }
    }

    /// Reports a failed source on standard error, as `error: <SRC>: <what failed>: <what to do>`
    /// (and, with `--json`, as a JSON line on standard output, so a script reading it sees every
    /// source in order). `local` is the source's own file, `None` for standard input or a URL.
    pub(crate) fn failure(&self, source: &str, local: Option<&Path>, error: &Error) {
        // An error about the source's own file names it already: only the cause is left to say.
        let what = match (error.path(), error.io_error()) {
            (Some(path), Some(io)) if Some(path) == local => printable(&io_words(io)).into_owned(),
            _ => describe(error),
        };
        let stdin = local.is_none() && source == "-";
        let text = match advice(error, stdin) {
            Some(advice) => format!("{what}: {advice}"),
            None => what,
        };
        let code = match error.kind() {
            ErrorKind::Service { code, .. } if *code != 0 => Some(*code),
            ErrorKind::Service { status, .. } if *status != 200 => Some(*status),
            ErrorKind::Http { status, .. } | ErrorKind::Redirect { status, .. } => Some(*status),
            _ => None,
        };
        self.failed_with(source, &text, code);
    }

    /// Reports a source that failed for a reason of the tool's own (a check after the upload, a
    /// local read), with no service code.
    pub(crate) fn failure_message(&self, source: &str, why: &str) {
        self.failed_with(source, why, None);
    }

    fn failed_with(&self, source: &str, why: &str, code: Option<u16>) {
        let mut state = self.state();
        if state.ended {
            return;
        }
        state.settle(Stand::Reported);
        state.failed = true;
        state.failures += 1;
        eprint_line(&format!("error: {}: {}", printable(source), printable(why)));
        if self.json {
            let value = json!({"source": source, "error": why, "code": code});
            self.result_line(state, &json_line(&value));
        }
    }

    /// A source that an interrupted run stopped: it has no result, and the run's last line
    /// counts it among those not stored, unless its whole body had gone out (then the service may
    /// have it).
    pub(crate) fn stopped(&self) {
        let mut state = self.state();
        let sent = matches!(state.sources.get(state.next), Some((_, Stand::Sent)));
        state.settle(if sent { Stand::Sent } else { Stand::Stopped });
    }

    /// `--dry-run`: what would be uploaded where, one line per upload: the source, the upload
    /// path, the name and the size (`?` when the service picks the name or the size is unknown),
    /// separated by tabs, or a JSON object with those four fields.
    pub(crate) fn planned(&self, p: &Planned) {
        let line = if self.json {
            let value = json!({
                "source": p.label,
                "uploadPath": p.upload_path.trim_matches('/'),
                "fileName": p.name,
                "size": p.size,
            });
            json_line(&value)
        } else {
            let size = p.size.map_or_else(|| "?".to_owned(), |n| n.to_string());
            format!(
                "{}\t{}\t{}\t{size}",
                printable(&p.label),
                printable(p.upload_path.trim_matches('/')),
                printable(p.name.as_deref().unwrap_or("?")),
            )
        };
        self.result_line(self.state(), &line);
    }

    /// The batch's last line on standard error: how many stored (and verified) and failed, the
    /// bytes stored, the time and the rate.
    pub(crate) fn summary(&self) {
        let state = self.state();
        let elapsed = state.started.elapsed();
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            state.bytes as f64 / secs
        } else {
            0.0
        };
        let mut stored = format!("{} stored", state.stored);
        let mut notes = Vec::new();
        if state.reused > 0 {
            notes.push(format!("{} reused", state.reused));
        }
        if self.verify {
            notes.push(format!("{} verified", state.verified));
        }
        if !notes.is_empty() {
            stored = format!("{stored} ({})", notes.join(", "));
        }
        eprint_line(&format!(
            "kie-upload: {stored}, {} failed, {} in {} ({}/s)",
            state.failures,
            HumanBytes(state.bytes),
            duration(elapsed),
            HumanBytes(rate as u64)
        ));
    }

    /// Ends an interrupted run with exit status `status`: the progress display erased, the
    /// results already printed left as they are, those stored but held behind an upload still
    /// awaiting its answer printed after them, and one line saying what was stored, what was sent
    /// whole without an answer (the service may have it: never called "not stored"), what was
    /// not stored, and how to go on (with `--json`, also a line for each source without a result).
    pub(crate) fn interrupted(&self, status: u8) -> ! {
        let mut state = self.state();
        let since = Instant::now();
        while state.writing && since.elapsed() < WRITE_WAIT {
            drop(state);
            std::thread::sleep(Duration::from_millis(10));
            state = self.state();
        }
        if state.writing {
            // Standard output is not read, and its writer holds the display, which it took off
            // the screen for that write: the last line goes out without either.
            if !state.ended {
                state.ended = true;
                state.stdout_failed = true;
                self.last_words(&mut state, true);
            }
            crate::echo::on();
            std::process::exit(i32::from(status))
        }
        // Inside `above`, which takes the display off the screen and holds it off: the program
        // ends before it could be drawn again.
        progress::above(|| {
            if !state.ended {
                state.ended = true;
                self.last_words(&mut state, false);
            }
            crate::echo::on();
            std::process::exit(i32::from(status))
        })
    }

    /// The last line, and the results not out yet; `unread`: standard output is not being read,
    /// so some of the stored files' results could not be written.
    fn last_words(&self, state: &mut State, unread: bool) {
        let total = state.sources.len();
        // In the sources' order: results held behind an upload that never answered (stored, so
        // printed now, after those already out), and with --json a line for each of the others.
        let (mut lines, mut held) = (Vec::new(), Vec::new());
        let (mut unconfirmed, mut not_stored) = (0, 0);
        for (source, stand) in &state.sources {
            let why = match stand {
                Stand::Reported => continue,
                Stand::Stored {
                    line,
                    bytes,
                    verified,
                    reused,
                } => {
                    lines.push(line.clone());
                    held.push((*bytes, *verified, *reused));
                    continue;
                }
                Stand::Sent => {
                    unconfirmed += 1;
                    UNCONFIRMED
                }
                Stand::Unsent | Stand::Stopped => {
                    not_stored += 1;
                    "interrupted: not stored"
                }
            };
            if self.json {
                let value = json!({"source": source, "error": why, "code": null});
                lines.push(json_line(&value));
            }
        }
        for (bytes, verified, reused) in held {
            state.count_stored(bytes, verified, reused);
        }
        // On a terminal, from the margin: Ctrl-C's echoed `^C` (or keys typed) may be where the
        // cursor is, when there was no display to erase them.
        if io::stderr().is_terminal() {
            let _ = io::stderr().lock().write_all(b"\r");
        }
        if !state.stdout_failed {
            // Written straight out: this runs with the display already taken off the screen.
            let mut stdout = io::stdout().lock();
            if stdout.is_terminal() {
                let _ = stdout.write_all(b"\r");
            }
            for line in &lines {
                let _ = writeln!(stdout, "{line}");
            }
            let _ = stdout.flush();
        }
        let mut line = match total {
            0 => "kie-upload: interrupted before anything was sent".to_owned(),
            _ => format!(
                "kie-upload: interrupted: {} of {total} stored",
                state.stored
            ),
        };
        if state.failures > 0 {
            line.push_str(&format!(", {} failed", state.failures));
        }
        if unconfirmed > 0 {
            let n = unconfirmed;
            let them = if n == 1 { "it" } else { "them" };
            line.push_str(&format!(
                ", {n} sent but not confirmed (the service may have {them})"
            ));
        }
        if not_stored > 0 {
            line.push_str(&format!(", {not_stored} not stored"));
        }
        if unread {
            line.push_str("; standard output was not being read, so not every result was written");
        }
        if unconfirmed + not_stored > 0 {
            line.push_str(match (self.reuse, total) {
                (true, _) => "; the same command sends only what is left (--reuse)",
                (false, 1) => "; the same command sends it again",
                (false, _) => {
                    "; the same command sends them all again (with --reuse it would send only \
                     what is left)"
                }
            });
        }
        let _ = writeln!(io::stderr().lock(), "{line}");
    }

    /// Writes one line of results and flushes it, so a killed batch still reports what it stored.
    /// The write is made outside the lock, which an interrupted run needs even if no one reads the
    /// line: results come from one thread, in order, so nothing else writes meanwhile.
    fn result_line(&self, mut state: MutexGuard<'_, State>, line: &str) {
        if state.stdout_failed {
            return;
        }
        state.writing = true;
        drop(state);
        // Above the progress display: written between two of its frames, the next would move the
        // cursor up over the line and erase it.
        let written = progress::above(|| {
            let mut stdout = io::stdout().lock();
            writeln!(stdout, "{line}").and_then(|()| stdout.flush())
        });
        let mut state = self.state();
        state.writing = false;
        if let Err(e) = written {
            state.stdout_failed = true;
            state.failed = true;
            // A reader that went away (`| head`) needs no message; a full disk does.
            if !reader_gone(&e) {
                eprint_line(&format!(
                    "error: cannot write the results to standard output: {}",
                    io_words(&e)
                ));
            }
        }
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        if self.state().failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}

impl State {
    /// The next source has its result, or was stopped without one.
    fn settle(&mut self, stand: Stand) {
        let next = self.next;
        if let Some(source) = self.sources.get_mut(next) {
            source.1 = stand;
        }
        self.next += 1;
    }

    /// Counts one more stored file, of `bytes` sent (none when `reused`).
    fn count_stored(&mut self, bytes: u64, verified: bool, reused: bool) {
        self.stored += 1;
        if verified {
            self.verified += 1;
        }
        if reused {
            self.reused += 1;
        } else {
            self.bytes += bytes;
        }
    }
}

/// How long an interrupted run waits for a line being written to standard output before it takes
/// the reader for one that does not read.
const WRITE_WAIT: Duration = Duration::from_millis(300);

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

/// A time as a person reads it: milliseconds under a second, tenths of seconds above.
fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
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

/// One line on standard error, above the progress display if there is one; a closed standard
/// error is not worth a panic.
pub(crate) fn eprint_line(line: &str) {
    progress::above(|| {
        let _ = writeln!(io::stderr().lock(), "{line}");
    });
}

/// Whether a write to standard output failed because its reader went away (`| head`): a broken
/// pipe, or on Windows one of the pipe errors Rust does not always report as one (109, 232, and
/// 233 "no process is on the other end of the pipe", which wine gives).
pub(crate) fn reader_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
        || (cfg!(windows) && matches!(e.raw_os_error(), Some(109 | 232 | 233)))
}

/// Writes `value` as one line of JSON, with control, bidi and format characters escaped as
/// `\uXXXX` (serde_json escapes only the control characters).
fn json_line(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    let mut utf8 = [0u8; 4];
    for c in text.chars() {
        let one = c.encode_utf8(&mut utf8);
        if !c.is_ascii() && printable(one) != *one {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A `-v` line for an event of one source's upload.
pub(crate) fn log_event(source: &str, event: &Event<'_>) {
    let source = printable(source);
    let line = match event {
        Event::Attempt { attempt, endpoint } => {
            format!("kie-upload: {source}: attempt {attempt}: POST {endpoint}")
        }
        Event::Reply {
            attempt,
            status,
            elapsed,
        } => format!(
            "kie-upload: {source}: attempt {attempt}: HTTP {status} after {}",
            millis(*elapsed)
        ),
        Event::Retry {
            attempt,
            error,
            wait,
        } => format!(
            "kie-upload: {source}: attempt {attempt} failed: {}; retrying in {}",
            describe(error),
            millis(*wait)
        ),
        Event::ReuseRejected { error } => {
            let why = std::error::Error::source(*error).map(ToString::to_string);
            format!(
                "kie-upload: {source}: the reused copy failed --verify: {}; uploading it again",
                printable(&why.unwrap_or_default())
            )
        }
        Event::CacheFailed { error } => format!(
            "kie-upload: {source}: not recorded in the cache: {}",
            io_words(error)
        ),
        // An event this tool does not know yet: nothing to say in its words.
        _ => return,
    };
    eprint_line(&line);
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}
