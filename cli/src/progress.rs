//! The progress display on standard error, when it is a terminal that can take it: a line for each
//! file being sent and, for a batch, a last line with its total. Here, what is drawn and when; each
//! line is laid out for the terminal's width at each redraw in [`layout`], and drawn so that
//! nothing the terminal echoes throws a redraw off by [`Screen`]. Lines written to the terminal
//! while it is drawn go through [`above`], so a redraw never moves over them.

mod layout;
mod screen;

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar};
use kie_upload::printable;

use layout::{style, Kind};
use screen::Screen;

use crate::plan::Planned;

/// The display, while it is drawn.
static DISPLAY: OnceLock<MultiProgress> = OnceLock::new();

/// Runs `write` (which writes a whole line to the terminal, on standard output or error) with the
/// display taken off the screen and drawn again below the line afterwards.
pub(crate) fn above<R>(write: impl FnOnce() -> R) -> R {
    match DISPLAY.get() {
        Some(multi) => multi.suspend(write),
        None => write(),
    }
}

/// Whether standard error can take a display: a terminal, neither `TERM=dumb` nor `NO_COLOR`
/// (whose users ask for plain text: no bars, no cursor movement).
fn terminal_takes_a_display() -> bool {
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    io::stderr().is_terminal() && !dumb && !no_color
}

/// The display: nothing unless `show` and the terminal takes one.
pub(crate) struct Bars {
    multi: Option<MultiProgress>,
    /// The batch's line, for more than one source.
    total: Option<ProgressBar>,
    /// Sources with a result, shared with the batch's line.
    done: Arc<AtomicUsize>,
    /// Bytes sent by every upload, shared by their progress callbacks.
    sent: Arc<AtomicU64>,
    /// One file alone: its line shows its percentage and the time left.
    alone: bool,
}

/// One file's progress line, drawn from its first progress report and removed when its upload
/// ends (when the upload, which owns it, is dropped).
pub(crate) struct FileBar {
    multi: MultiProgress,
    total: Option<ProgressBar>,
    sent: Arc<AtomicU64>,
    label: Arc<str>,
    size: Option<u64>,
    alone: bool,
    bar: Option<ProgressBar>,
    /// What this file has added to the batch's bytes.
    counted: u64,
}

impl Bars {
    pub(crate) fn new(show: bool, plan: &[Planned]) -> Bars {
        let show = show && terminal_takes_a_display();
        let multi = show.then(|| MultiProgress::with_draw_target(Screen::target()));
        if let Some(multi) = &multi {
            let _ = DISPLAY.set(multi.clone());
            // Unless what is typed is a source's bytes.
            let typing = plan.iter().any(|p| p.path.is_none()) && io::stdin().is_terminal();
            if !typing {
                crate::echo::off();
            }
        }
        let files = plan.iter().filter(|p| p.refused.is_none()).count();
        let done = Arc::new(AtomicUsize::new(0));
        let total = match &multi {
            Some(multi) if plan.len() > 1 => {
                let bytes = plan.iter().filter_map(|p| p.size).sum();
                let done = Arc::clone(&done);
                let label = move || format!("{}/{files} files", done.load(Ordering::Relaxed));
                Some(multi.add(ProgressBar::new(bytes).with_style(style(Kind::Total, label))))
            }
            _ => None,
        };
        Bars {
            multi,
            total,
            done,
            sent: Arc::new(AtomicU64::new(0)),
            alone: plan.len() == 1,
        }
    }

    /// The progress line of one file, when the display is drawn.
    pub(crate) fn file(&self, label: &str, size: Option<u64>) -> Option<FileBar> {
        Some(FileBar {
            multi: self.multi.clone()?,
            total: self.total.clone(),
            sent: Arc::clone(&self.sent),
            label: printable(label).into(),
            size,
            alone: self.alone,
            bar: None,
            counted: 0,
        })
    }

    /// One more source has its result.
    pub(crate) fn done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if let Some(total) = &self.total {
            total.tick();
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
        crate::echo::on();
    }
}

impl FileBar {
    pub(crate) fn set(&mut self, sent: u64) {
        let bar = self.bar.get_or_insert_with(|| {
            let label = Arc::clone(&self.label);
            let label = move || label.to_string();
            let bar = match self.size {
                Some(len) if self.alone => {
                    ProgressBar::new(len).with_style(style(Kind::Alone, label))
                }
                Some(len) => ProgressBar::new(len).with_style(style(Kind::File, label)),
                None => ProgressBar::new_spinner().with_style(style(Kind::Spinner, label)),
            };
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
