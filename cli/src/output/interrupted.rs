//! The end of an interrupted run: the display erased, the results already printed left as they
//! are, those stored but held behind an upload still awaiting its answer printed after them, and
//! one line saying what was stored, what may be, what was not, and how to go on.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{json_line, Output, Stand, State};
use crate::progress;

/// How long an interrupted run waits for a line being written to standard output before it takes
/// the reader for one that does not read.
const WRITE_WAIT: Duration = Duration::from_millis(300);

/// The error of an interrupted run's JSON line for a source whose whole body went out and whose
/// answer never came.
const UNCONFIRMED: &str = "interrupted: sent, not confirmed (the service may have it)";

impl Output {
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
        let unsaid = self.unsaid(state);
        // On a terminal, from the margin: Ctrl-C's echoed `^C` (or keys typed) may be where the
        // cursor is, when there was no display to erase them.
        if io::stderr().is_terminal() {
            let _ = io::stderr().lock().write_all(b"\r");
        }
        if !state.stdout_failed {
            write_results(&unsaid.lines);
        }
        let line = self.last_line(state, &unsaid, unread);
        let _ = writeln!(io::stderr().lock(), "{line}");
    }

    /// What the sources without a result have left to say. The results held back are counted
    /// among those stored as they are taken.
    fn unsaid(&self, state: &mut State) -> Unsaid {
        let mut unsaid = Unsaid {
            lines: Vec::new(),
            unconfirmed: 0,
            not_stored: 0,
        };
        let mut held = Vec::new();
        for (source, stand) in &state.sources {
            let why = match stand {
                Stand::Reported => continue,
                Stand::Stored {
                    line,
                    bytes,
                    verified,
                    reused,
                } => {
                    unsaid.lines.push(line.clone());
                    held.push((*bytes, *verified, *reused));
                    continue;
                }
                Stand::Sent => {
                    unsaid.unconfirmed += 1;
                    UNCONFIRMED
                }
                Stand::Unsent | Stand::Stopped => {
                    unsaid.not_stored += 1;
                    "interrupted: not stored"
                }
            };
            if self.json {
                let value = json!({"source": source, "error": why, "code": null});
                unsaid.lines.push(json_line(&value));
            }
        }
        for (bytes, verified, reused) in held {
            state.count_stored(bytes, verified, reused);
        }
        unsaid
    }

    /// `kie-upload: interrupted: 5 of 12 stored, 1 sent but not confirmed (...), 6 not stored`,
    /// and how to go on.
    fn last_line(&self, state: &State, unsaid: &Unsaid, unread: bool) -> String {
        let total = state.sources.len();
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
        if unsaid.unconfirmed > 0 {
            let n = unsaid.unconfirmed;
            let them = if n == 1 { "it" } else { "them" };
            line.push_str(&format!(
                ", {n} sent but not confirmed (the service may have {them})"
            ));
        }
        if unsaid.not_stored > 0 {
            line.push_str(&format!(", {} not stored", unsaid.not_stored));
        }
        if unread {
            line.push_str("; standard output was not being read, so not every result was written");
        }
        if unsaid.unconfirmed + unsaid.not_stored > 0 {
            line.push_str(match (self.reuse, total) {
                (true, _) => "; the same command sends only what is left (--reuse)",
                (false, 1) => "; the same command sends it again",
                (false, _) => {
                    "; the same command sends them all again (with --reuse it would send only \
                     what is left)"
                }
            });
        }
        line
    }
}

/// What an interrupted run has yet to say about its sources.
struct Unsaid {
    /// In the sources' order: results held behind an upload that never answered (stored, so
    /// printed now, after those already out), and with --json a line for each of the others.
    lines: Vec<String>,
    /// Sources whose whole body went out without an answer: the service may have them.
    unconfirmed: usize,
    /// Sources the service cannot have.
    not_stored: usize,
}

/// The results not out yet, on standard output. Written straight out: this runs with the display
/// already taken off the screen.
fn write_results(lines: &[String]) {
    let mut stdout = io::stdout().lock();
    if stdout.is_terminal() {
        let _ = stdout.write_all(b"\r");
    }
    for line in lines {
        let _ = writeln!(stdout, "{line}");
    }
    let _ = stdout.flush();
}
