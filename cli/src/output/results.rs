//! A result per source on standard output, in the order given, each flushed as it comes: a URL or
//! a JSON line for a stored file, a line on standard error (and with `--json` one on standard
//! output) for a failure, a planned upload's line for `--dry-run`. What the sources' workers learn
//! before their turn (a body sent whole, a file stored) is kept for an interrupted run's last words.

use std::io::{self, Write};
use std::path::Path;
use std::sync::MutexGuard;

use kie_upload::{printable, Error, ErrorKind, UploadedFile};
use serde_json::json;

use super::{eprint_line, json_line, reader_gone, Output, Stand, State};
use crate::advice::advice;
use crate::plan::Planned;
use crate::progress;
use crate::words::{describe, io_words};

impl Output {
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
}
