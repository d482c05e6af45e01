//! The progress display on standard error, when it is a terminal that can take it: a line for each
//! file being sent and, for a batch, a last line with its total. Every line is laid out here, for
//! the terminal's width at each redraw: the label shortened with an ellipsis, columns dropped when
//! the terminal is narrow, and the last three columns left free (see [`Screen`]). Lines written to
//! the terminal while it is drawn go through [`above`], so a redraw never moves over them.

use std::fmt::Write as _;
use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use indicatif::ProgressStyle;
use indicatif::{
    HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, TermLike,
};
use kie_upload::printable;

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

/// Standard error as the display draws on it. indicatif ends each line by padding it with spaces
/// up to the last column and lets the terminal wrap to the next row. That leaves the cursor in
/// the last column, where whatever the terminal echoes (the `^C` of Ctrl-C, a key pressed) wraps
/// onto a new row, and every later redraw, which counts rows up from the cursor, lands a row too
/// low and leaves a stale line behind; and it counts characters, not columns, so a name in wide
/// characters overflows the same way. Here each line ends with "erase to the end of the row"
/// instead, the next starts on a new row, and the cursor rests at the start of the last row.
#[derive(Debug)]
struct Screen {
    term: console::Term,
    /// Where indicatif is in writing its lines: [`LINE`], [`PADDING`] or [`NEXT_LINE`] next.
    next: AtomicU8,
}

/// A line's text comes next (first of a redraw).
const LINE: u8 = 0;
/// The padding of the line just written comes next.
const PADDING: u8 = 1;
/// Another line's text comes next, on a new row.
const NEXT_LINE: u8 = 2;

impl Screen {
    fn target() -> ProgressDrawTarget {
        let screen = Screen {
            term: console::Term::buffered_stderr(),
            next: AtomicU8::new(LINE),
        };
        // indicatif's own rate for standard error.
        ProgressDrawTarget::term_like_with_hz(Box::new(screen), 20)
    }

    /// The cursor is moved: a redraw's lines start after it.
    fn moved(&self, done: io::Result<()>) -> io::Result<()> {
        self.next.store(LINE, Ordering::Relaxed);
        done
    }
}

impl TermLike for Screen {
    fn width(&self) -> u16 {
        self.term.size().1
    }

    fn height(&self) -> u16 {
        self.term.size().0
    }

    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.moved(self.term.move_cursor_up(n))
    }

    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.moved(self.term.move_cursor_down(n))
    }

    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.moved(self.term.move_cursor_right(n))
    }

    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.moved(self.term.move_cursor_left(n))
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        self.moved(self.term.write_line(s))
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        if s == "\r" {
            return self.moved(self.term.write_str(s));
        }
        match self.next.load(Ordering::Relaxed) {
            PADDING => {
                self.next.store(NEXT_LINE, Ordering::Relaxed);
                self.term.write_str("\x1b[K")
            }
            NEXT_LINE => {
                self.next.store(PADDING, Ordering::Relaxed);
                self.term.write_str("\r\n")?;
                self.term.write_str(s)
            }
            _ => {
                self.next.store(PADDING, Ordering::Relaxed);
                self.term.write_str(s)
            }
        }
    }

    fn clear_line(&self) -> io::Result<()> {
        self.moved(self.term.clear_line())
    }

    fn flush(&self) -> io::Result<()> {
        if self.next.load(Ordering::Relaxed) == NEXT_LINE {
            // The frame is drawn: the cursor waits at the start of its last row, where an echo
            // however long (`^C^C^C`) overwrites the line, which the next redraw repaints, and
            // never wraps onto a new row.
            self.term.write_str("\r")?;
        }
        self.term.flush()
    }
}

/// What a line shows.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A file in a batch: bar, bytes, rate.
    File,
    /// The only file: bar, percentage, bytes, rate, time left.
    Alone,
    /// A source of unknown size: a spinner, bytes so far, rate.
    Spinner,
    /// The batch: files done, bar, bytes, rate, time left.
    Total,
}

/// A style whose whole line is laid out by [`layout`], with the label `label()` gives.
fn style<F>(kind: Kind, label: F) -> ProgressStyle
where
    F: Fn() -> String + Send + Sync + Clone + 'static,
{
    let line = move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
        let columns = console::Term::stderr().size().1;
        let now = Now {
            sent: state.pos(),
            size: state.len(),
            rate: state.per_sec(),
            left: state.eta(),
            tick: state.elapsed().as_millis() / 200,
        };
        let _ = out.write_str(&layout(kind, &label(), &now, usize::from(columns)));
    };
    let style =
        ProgressStyle::with_template("{line}").unwrap_or_else(|_| ProgressStyle::default_bar());
    style.with_key("line", line)
}

/// A line's figures at one redraw.
struct Now {
    sent: u64,
    size: Option<u64>,
    rate: f64,
    left: Duration,
    /// Counts fifths of a second, to turn the spinner.
    tick: u128,
}

/// Columns a label keeps at least, ellipsis included, before columns are dropped for it.
const LABEL_MIN: usize = 12;
/// Columns a label takes at most, so the columns after it line up from line to line.
const LABEL_MAX: usize = 30;

/// One line of the display for a terminal `columns` wide: at most `columns - 3` columns, so that
/// the `^C` a terminal echoes after it when Ctrl-C is pressed stays on its row, short of the last
/// column (a cursor there is in a state terminals disagree on).
fn layout(kind: Kind, label: &str, now: &Now, columns: usize) -> String {
    let room = columns.saturating_sub(3);
    // Each column after the label, with the rank at which it goes when room runs out (lowest
    // first) and its text, padded to a width that does not change as the figures do.
    let mut cells: Vec<(u8, String)> = Vec::new();
    let fraction = match now.size {
        Some(0) => 1.0,
        Some(size) => now.sent.min(size) as f64 / size as f64,
        None => 0.0,
    };
    let bar_width = if room >= 80 { 20 } else { 12 };
    match kind {
        Kind::Spinner => {
            let spinner = ["|", "/", "-", "\\"][(now.tick % 4) as usize];
            cells.push((5, spinner.to_owned()));
            cells.push((3, format!("{:>10}", HumanBytes(now.sent).to_string())));
        }
        _ => {
            cells.push((3, bar(fraction, bar_width)));
            if kind == Kind::Alone {
                cells.push((
                    6,
                    format!("{:>4}", format!("{}%", (fraction * 100.0) as u32)),
                ));
            }
            let size = HumanBytes(now.size.unwrap_or(0)).to_string();
            cells.push((
                2,
                format!("{:>21}", format!("{}/{size}", HumanBytes(now.sent))),
            ));
        }
    }
    cells.push((
        1,
        format!("{:>12}", format!("{}/s", HumanBytes(now.rate as u64))),
    ));
    if matches!(kind, Kind::Alone | Kind::Total) {
        let left = match now.size {
            Some(size) if now.sent < size && now.rate > 0.0 => time_left(now.left),
            _ => String::new(),
        };
        cells.push((4, format!("{left:>10}")));
    }
    let label_min = label_width(label).min(LABEL_MIN);
    let used = |cells: &[(u8, String)]| cells.iter().map(|(_, c)| c.len() + 1).sum::<usize>();
    while used(&cells) + label_min > room {
        match cells.iter().enumerate().min_by_key(|(_, (rank, _))| *rank) {
            Some((i, _)) => drop(cells.remove(i)),
            None => break,
        }
    }
    let label_room = room.saturating_sub(used(&cells)).min(LABEL_MAX);
    let mut line = fit(label, label_room);
    for (_, cell) in &cells {
        line.push(' ');
        line.push_str(cell);
    }
    // A terminal narrower than even the label: cut the line itself.
    if label_width(&line) > room {
        line = line.chars().take(room).collect();
    }
    line
}

/// `[=====>    ]`, `width` columns in all.
fn bar(fraction: f64, width: usize) -> String {
    let inside = width.saturating_sub(2);
    let filled = ((fraction * inside as f64) as usize).min(inside);
    let mut text = String::with_capacity(width);
    text.push('[');
    text.extend(std::iter::repeat_n('=', filled));
    if filled < inside {
        text.push('>');
        text.extend(std::iter::repeat_n(' ', inside - filled - 1));
    }
    text.push(']');
    text
}

/// The time left, to the second under a minute, to the minute above.
fn time_left(left: Duration) -> String {
    let secs = left.as_secs();
    match secs {
        0..60 => format!("{secs}s left"),
        60..3600 => format!("{}m left", secs.div_ceil(60)),
        _ => format!("{}h{:02}m left", secs / 3600, secs % 3600 / 60),
    }
}

/// Columns a character takes, without Unicode width tables (16 KiB of the static binary): one
/// for ASCII and the ellipsis, two for anything else, as the widest do, so a line never grows
/// past its room (it may fall a little short).
fn char_width(c: char) -> usize {
    if c.is_ascii() || c == '…' {
        1
    } else {
        2
    }
}

fn label_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// `label` in exactly `columns` columns: padded, or its start replaced with an ellipsis so its
/// end (the file name) stays.
fn fit(label: &str, columns: usize) -> String {
    let mut fitted = String::new();
    let width = label_width(label);
    if width <= columns {
        fitted.push_str(label);
        fitted.extend(std::iter::repeat_n(' ', columns - width));
        return fitted;
    }
    if columns == 0 {
        return fitted;
    }
    let mut kept = Vec::new();
    let mut used = 1; // the ellipsis
    for c in label.chars().rev() {
        if used + char_width(c) > columns {
            break;
        }
        used += char_width(c);
        kept.push(c);
    }
    fitted.push('…');
    fitted.extend(kept.into_iter().rev());
    let _ = write!(fitted, "{}", " ".repeat(columns - used));
    fitted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(sent: u64, size: Option<u64>) -> Now {
        Now {
            sent,
            size,
            rate: 3.0 * 1024.0 * 1024.0,
            left: Duration::from_secs(12),
            tick: 0,
        }
    }

    #[test]
    fn a_label_fits_its_columns_keeping_its_end() {
        assert_eq!(fit("a.txt", 8), "a.txt   ");
        assert_eq!(fit("/long/path/to/file.bin", 9), "…file.bin");
        // Characters outside ASCII count two columns.
        assert_eq!(fit("写真写真.png", 9), "…写真.png");
        assert_eq!(fit("写真.png", 7), "…真.png");
    }

    #[test]
    fn every_line_leaves_room_for_an_echoed_ctrl_c_before_the_last_column_at_any_width() {
        for label in [
            "/a/rather/long/path/to/some/photo-from-the-holidays.jpg",
            "写真写真写真写真写真写真写真写真写真写真写真写真.jpg",
        ] {
            for kind in [Kind::File, Kind::Alone, Kind::Spinner, Kind::Total] {
                for columns in 1..200 {
                    let line = layout(kind, label, &now(5 << 20, Some(9 << 20)), columns);
                    assert!(
                        label_width(&line) + 3 <= columns || line.is_empty(),
                        "{columns}: {line:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn one_file_shows_its_percentage_and_time_left_and_narrow_lines_drop_columns() {
        let wide = layout(Kind::Alone, "big.iso", &now(5 << 20, Some(10 << 20)), 100);
        assert!(wide.contains(" 50%") && wide.contains("12s left"), "{wide}");
        assert!(
            wide.contains("5.00 MiB/10.00 MiB") && wide.contains("MiB/s"),
            "{wide}"
        );
        let narrow = layout(Kind::Alone, "big.iso", &now(5 << 20, Some(10 << 20)), 40);
        assert!(
            narrow.contains("50%") && narrow.contains("12s left"),
            "{narrow}"
        );
        assert!(!narrow.contains("MiB/s"), "the rate goes first: {narrow}");
        let batch = layout(Kind::File, "/tmp/x/photo.jpg", &now(1, Some(2)), 40);
        assert!(
            batch.starts_with("/tmp/x/photo.jpg") && batch.contains('['),
            "{batch}"
        );
    }

    #[test]
    fn time_left_reads_as_a_person_says_it() {
        assert_eq!(time_left(Duration::from_secs(9)), "9s left");
        assert_eq!(time_left(Duration::from_secs(61)), "2m left");
        assert_eq!(time_left(Duration::from_secs(3700)), "1h01m left");
    }
}
