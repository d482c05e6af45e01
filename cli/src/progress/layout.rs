//! The layout of each line of the display, redone at each redraw for the terminal's width at that
//! moment: the label shortened from its start with an ellipsis, the columns after it dropped one by
//! one (the rate first) when the terminal is narrow, and the last three columns always left free.

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressState, ProgressStyle};

/// What a line shows.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
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
pub(super) fn style<F>(kind: Kind, label: F) -> ProgressStyle
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
    let mut cells = cells(kind, now, room);
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

/// Each column after the label, with the rank at which it goes when room runs out (lowest first)
/// and its text, padded to a width that does not change as the figures do.
fn cells(kind: Kind, now: &Now, room: usize) -> Vec<(u8, String)> {
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
    cells
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
