//! What the user sees: a result per source on standard output (a URL or a JSON line, in the order
//! given, each flushed as it comes), errors and `-v` logs on standard error, progress bars on a
//! terminal. Text from the server is escaped before it reaches a terminal, and a closed pipe ends
//! the output quietly instead of panicking.

use std::error::Error as _;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kie_upload::{printable, Error, ErrorKind, Event, UploadedFile};
use serde_json::{json, Value};

/// Where results go, and how the run is going.
pub(crate) struct Output {
    json: bool,
    /// Standard output could not be written: later results are not attempted.
    stdout_failed: bool,
    /// An upload failed, or its result could not be written.
    failed: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Output {
        Output {
            json,
            stdout_failed: false,
            failed: false,
        }
    }

    /// Prints a stored file: its download URL, or its JSON line.
    pub(crate) fn success(&mut self, source: &str, file: &UploadedFile) {
        let line = if self.json {
            let mut value = serde_json::to_value(file).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                if let Some(expires) = file.expires_at_rfc3339() {
                    object.insert("expiresAt".into(), expires.into());
                }
                object.insert("source".into(), source.into());
            }
            json_line(&value)
        } else {
            printable(&file.download_url).into_owned()
        };
        self.result_line(&line);
    }

    /// Reports a failed source on standard error (and, with `--json`, as a JSON line on standard
    /// output, so a script reading it sees every source in order).
    pub(crate) fn failure(&mut self, source: &str, local: Option<&Path>, error: &Error) {
        self.failed = true;
        // An error about the source's own file names it already.
        let line = match error.path() {
            Some(path) if Some(path) == local => format!("error: {}", describe(error)),
            _ => format!("error: {}: {}", printable(source), describe(error)),
        };
        eprint_line(&line);
        // A stopgap until the CLI words each hint in its own flags: the library's wording.
        if let Some(hint) = error.hint() {
            eprint_line(&format!("hint: {}", printable(&hint.to_string())));
        }
        if self.json {
            let code = match error.kind() {
                ErrorKind::Service { code, .. } if *code != 0 => Some(*code),
                ErrorKind::Service { status, .. } if *status != 200 => Some(*status),
                ErrorKind::Http { status, .. } | ErrorKind::Redirect { status, .. } => {
                    Some(*status)
                }
                _ => None,
            };
            // The stopgap again: the JSON line keeps the advice its "error" always carried.
            let text = match error.hint() {
                Some(hint) => format!("{}: {}", describe(error), printable(&hint.to_string())),
                None => describe(error),
            };
            let value = json!({"source": source, "error": text, "code": code});
            self.result_line(&json_line(&value));
        }
    }

    /// Reports a source that failed for a reason of the tool's own (a check after the upload, a
    /// local read), with no service code.
    pub(crate) fn failure_message(&mut self, source: &str, why: &str) {
        self.failed = true;
        eprint_line(&format!("error: {}: {}", printable(source), printable(why)));
        if self.json {
            let value = json!({"source": source, "error": why, "code": null});
            self.result_line(&json_line(&value));
        }
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

/// The error and its causes on one line: `what failed: what to do (cause: cause)`. A cause already
/// said by the text before it is left out.
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

/// One line on standard error; a closed standard error is not worth a panic.
pub(crate) fn eprint_line(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
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

/// Progress bars on standard error, only when it is a terminal and neither `--quiet` nor
/// `--verbose` is given.
pub(crate) struct Bars {
    multi: Option<MultiProgress>,
}

/// One source's progress: a bar when the size is known, a spinner with a byte count otherwise.
#[derive(Clone)]
pub(crate) struct Bar(Option<ProgressBar>);

impl Bar {
    pub(crate) fn set(&self, sent: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(sent);
        }
    }
}

impl Bars {
    pub(crate) fn new(show: bool) -> Bars {
        let show = show && io::stderr().is_terminal();
        Bars {
            multi: show.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    pub(crate) fn add(&self, name: &str, size: Option<u64>) -> Bar {
        let Some(multi) = &self.multi else {
            return Bar(None);
        };
        let bar = match size {
            Some(len) => ProgressBar::new(len).with_style(
                ProgressStyle::with_template(
                    "{msg:24!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg:24!} {spinner} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        let bar = multi.add(bar.with_message(printable(name).into_owned()));
        if size.is_none() {
            // A spinner must turn while standard input is quiet; bars move with the bytes.
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        Bar(Some(bar))
    }

    pub(crate) fn finish(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}
