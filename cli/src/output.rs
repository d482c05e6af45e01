//! What the user sees: a result per source on standard output (a URL or a JSON line, in the order
//! given, each flushed as it comes), errors and `-v` logs on standard error, progress bars on a
//! terminal. Text from the server is escaped before it reaches a terminal, and a closed pipe ends
//! the output quietly instead of panicking.

use std::error::Error as _;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kie_upload::{printable, Error, ErrorKind, Event, UploadedFile};
use serde_json::{json, Value};

use crate::advice::advice;
use crate::run::Planned;

/// Where results go, and how the run is going.
pub(crate) struct Output {
    json: bool,
    /// Standard output could not be written: later results are not attempted.
    stdout_failed: bool,
    /// An upload failed, or its result could not be written.
    failed: bool,
    /// For the summary line: sources stored and failed, bytes stored, since when.
    stored: usize,
    reused: usize,
    failures: usize,
    bytes: u64,
    started: Instant,
}

impl Output {
    pub(crate) fn new(json: bool) -> Output {
        Output {
            json,
            stdout_failed: false,
            failed: false,
            stored: 0,
            reused: 0,
            failures: 0,
            bytes: 0,
            started: Instant::now(),
        }
    }

    /// Prints a stored file (of `size` bytes, when known locally; `verified` by `--verify`): its
    /// download URL, or its JSON line.
    pub(crate) fn success(
        &mut self,
        source: &str,
        size: Option<u64>,
        verified: bool,
        file: &UploadedFile,
    ) {
        self.stored += 1;
        if file.reused {
            self.reused += 1;
        } else {
            self.bytes += size.unwrap_or(file.file_size);
        }
        let line = if self.json {
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
        };
        self.result_line(&line);
    }

    /// Reports a failed source on standard error, as `error: <SRC>: <what failed>: <what to do>`
    /// (and, with `--json`, as a JSON line on standard output, so a script reading it sees every
    /// source in order). `local` is the source's own file, `None` for standard input or a URL.
    pub(crate) fn failure(&mut self, source: &str, local: Option<&Path>, error: &Error) {
        self.failed = true;
        self.failures += 1;
        // An error about the source's own file names it already: only the cause is left to say.
        let what = match (error.path(), error.io_error()) {
            (Some(path), Some(io)) if Some(path) == local => {
                printable(&io.to_string()).into_owned()
            }
            _ => describe(error),
        };
        let stdin = local.is_none() && source == "-";
        let text = match advice(error, stdin) {
            Some(advice) => format!("{what}: {advice}"),
            None => what,
        };
        eprint_line(&format!("error: {}: {text}", printable(source)));
        if self.json {
            let code = match error.kind() {
                ErrorKind::Service { code, .. } if *code != 0 => Some(*code),
                ErrorKind::Service { status, .. } if *status != 200 => Some(*status),
                ErrorKind::Http { status, .. } | ErrorKind::Redirect { status, .. } => {
                    Some(*status)
                }
                _ => None,
            };
            let value = json!({"source": source, "error": text, "code": code});
            self.result_line(&json_line(&value));
        }
    }

    /// Reports a source that failed for a reason of the tool's own (a check after the upload, a
    /// local read), with no service code.
    pub(crate) fn failure_message(&mut self, source: &str, why: &str) {
        self.failed = true;
        self.failures += 1;
        eprint_line(&format!("error: {}: {}", printable(source), printable(why)));
        if self.json {
            let value = json!({"source": source, "error": why, "code": null});
            self.result_line(&json_line(&value));
        }
    }

    /// `--dry-run`: what would be uploaded where, one line per upload: the source, the upload
    /// path, the name and the size (`?` when the service picks the name or the size is unknown),
    /// separated by tabs, or a JSON object with those four fields.
    pub(crate) fn planned(&mut self, p: &Planned) {
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
        self.result_line(&line);
    }

    /// The batch's last line on standard error: how many stored and failed, the bytes stored, the
    /// time and the rate.
    pub(crate) fn summary(&self) {
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            self.bytes as f64 / secs
        } else {
            0.0
        };
        let reused = if self.reused > 0 {
            format!(" ({} reused)", self.reused)
        } else {
            String::new()
        };
        eprint_line(&format!(
            "kie-upload: {} stored{reused}, {} failed, {} in {secs:.1} s ({}/s)",
            self.stored,
            self.failures,
            HumanBytes(self.bytes),
            HumanBytes(rate as u64)
        ));
    }

    /// Writes one line of results and flushes it, so a killed batch still reports what it stored.
    fn result_line(&mut self, line: &str) {
        if self.stdout_failed {
            return;
        }
        let mut stdout = io::stdout().lock();
        if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
            self.stdout_failed = true;
            self.failed = true;
            // A reader that went away (`| head`) needs no message; a full disk does.
            if e.kind() != io::ErrorKind::BrokenPipe {
                eprint_line(&format!(
                    "error: cannot write the results to standard output: {e}"
                ));
            }
        }
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        if self.failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
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

/// The error and its causes on one line: `what failed (cause: cause)`. A cause already said by the
/// text before it is left out.
pub(crate) fn describe(error: &Error) -> String {
    let mut line = error.to_string();
    let mut causes = Vec::<String>::new();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !line.contains(&text) && !causes.iter().any(|c| c.contains(&text)) {
            causes.push(text);
        }
        next = cause.source();
    }
    if !causes.is_empty() {
        line = format!("{line} ({})", causes.join(": "));
    }
    printable(&line.replace(['\n', '\r'], " ")).into_owned()
}

/// The progress display, while it is drawn: lines on standard error go above it.
static DISPLAY: OnceLock<MultiProgress> = OnceLock::new();

/// One line on standard error, above the progress display if there is one; a closed standard
/// error is not worth a panic.
pub(crate) fn eprint_line(line: &str) {
    let write = || {
        let _ = writeln!(io::stderr().lock(), "{line}");
    };
    match DISPLAY.get() {
        Some(multi) => multi.suspend(write),
        None => write(),
    }
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
        other => format!("kie-upload: {source}: {other:?}"),
    };
    eprint_line(&line);
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// The progress display on standard error, only when it is a terminal and neither `--quiet` nor
/// `--verbose` is given: a line for each file being sent, and for a batch a last line with its
/// total (files done of files, bytes of the whole batch). Every line fits in 80 columns.
pub(crate) struct Bars {
    multi: Option<MultiProgress>,
    /// The batch's line, for more than one source.
    total: Option<ProgressBar>,
    files: usize,
    done: AtomicUsize,
    /// Bytes sent by every upload, shared by their progress callbacks.
    sent: Arc<AtomicU64>,
}

/// One file's progress line, drawn from its first progress report and removed when its upload
/// ends (when the upload, which owns it, is dropped).
pub(crate) struct FileBar {
    multi: MultiProgress,
    total: Option<ProgressBar>,
    sent: Arc<AtomicU64>,
    label: String,
    size: Option<u64>,
    bar: Option<ProgressBar>,
    /// What this file has added to the batch's bytes.
    counted: u64,
}

impl Bars {
    pub(crate) fn new(show: bool, plan: &[Planned]) -> Bars {
        let show = show && io::stderr().is_terminal();
        let multi = show.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        if let Some(multi) = &multi {
            let _ = DISPLAY.set(multi.clone());
        }
        let files = plan.iter().filter(|p| p.refused.is_none()).count();
        let total = match &multi {
            Some(multi) if plan.len() > 1 => {
                let bytes = plan.iter().filter_map(|p| p.size).sum();
                let bar = ProgressBar::new(bytes).with_style(style(
                    "{msg:>17} [{bar:16}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>11} {eta:>3}",
                ));
                let bar = multi.add(bar.with_message(format!("0/{files} files")));
                Some(bar)
            }
            _ => None,
        };
        Bars {
            multi,
            total,
            files,
            done: AtomicUsize::new(0),
            sent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The progress line of one file, when the display is drawn.
    pub(crate) fn file(&self, label: &str, size: Option<u64>) -> Option<FileBar> {
        Some(FileBar {
            multi: self.multi.clone()?,
            total: self.total.clone(),
            sent: Arc::clone(&self.sent),
            label: fit(&printable(label), LABEL_COLUMNS),
            size,
            bar: None,
            counted: 0,
        })
    }

    /// One more source has its result.
    pub(crate) fn done(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(total) = &self.total {
            total.set_message(format!("{done}/{} files", self.files));
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}

impl FileBar {
    pub(crate) fn set(&mut self, sent: u64) {
        let bar = self.bar.get_or_insert_with(|| {
            let bar = match self.size {
                Some(len) => ProgressBar::new(len).with_style(style(
                    "{msg} [{bar:16}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>11}",
                )),
                None => ProgressBar::new_spinner()
                    .with_style(style("{msg} {spinner} {bytes:>10} {bytes_per_sec:>11}")),
            };
            let bar = bar.with_message(self.label.clone());
            let bar = match &self.total {
                Some(total) => self.multi.insert_before(total, bar),
                None => self.multi.add(bar),
            };
            if self.size.is_none() {
                // A spinner must turn while standard input is quiet; bars move with the bytes.
                bar.enable_steady_tick(Duration::from_millis(200));
            }
            bar
        });
        bar.set_position(sent);
        // A retry starts again from 0: the batch's bytes go back with it.
        // (Added before the old count is taken away, so the sum never goes below 0.)
        self.sent.fetch_add(sent, Ordering::Relaxed);
        self.sent.fetch_sub(self.counted, Ordering::Relaxed);
        self.counted = sent;
        if let Some(total) = &self.total {
            total.set_position(self.sent.load(Ordering::Relaxed));
        }
    }
}

impl Drop for FileBar {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

/// The columns of a file's label in its progress line.
const LABEL_COLUMNS: usize = 17;

/// `label` cut or padded to `columns` terminal columns, its end kept (the file name). Without
/// Unicode width tables, a character outside ASCII counts as two columns, as the widest do, so
/// the line never grows past 80 columns (it may fall a little short).
fn fit(label: &str, columns: usize) -> String {
    let width = |c: char| if c.is_ascii() { 1 } else { 2 };
    let mut kept = Vec::new();
    let mut used = 0;
    for c in label.chars().rev() {
        if used + width(c) > columns {
            break;
        }
        used += width(c);
        kept.push(c);
    }
    let mut fitted: String = kept.into_iter().rev().collect();
    fitted.extend(std::iter::repeat_n(' ', columns - used));
    fitted
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn a_label_fits_its_columns_keeping_its_end() {
        assert_eq!(fit("a.txt", 8), "a.txt   ");
        assert_eq!(fit("/long/path/to/file.bin", 8), "file.bin");
        // Characters outside ASCII count two columns.
        assert_eq!(fit("写真写真.png", 8), "写真.png");
        assert_eq!(fit("写真.png", 7), "真.png ");
    }
}
