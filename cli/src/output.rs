//! What the user sees: a result per source on standard output (a URL or a JSON line, in the order
//! given, each flushed as it comes), errors and `-v` logs on standard error, progress bars on a
//! terminal. Text from the server is escaped before it reaches a terminal, and a closed pipe ends
//! the output quietly instead of panicking.
//!
//! Here, the state a run's output keeps and the lines every part writes through; each result's
//! line in [`results`], the batch's summary in [`summary`], and the last words of a run that is
//! interrupted in [`interrupted`].

mod interrupted;
mod results;
mod summary;

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use kie_upload::printable;
use serde_json::Value;

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
