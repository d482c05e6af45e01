//! Standard error as the display draws on it: [`Screen`], and why it is not indicatif's own.

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};

use indicatif::{ProgressDrawTarget, TermLike};

/// Standard error as the display draws on it. indicatif ends each line by padding it with spaces
/// up to the last column and lets the terminal wrap to the next row. That leaves the cursor in
/// the last column, where whatever the terminal echoes (the `^C` of Ctrl-C, a key pressed) wraps
/// onto a new row, and every later redraw, which counts rows up from the cursor, lands a row too
/// low and leaves a stale line behind; and it counts characters, not columns, so a name in wide
/// characters overflows the same way. Here each line ends with "erase to the end of the row"
/// instead, the next starts on a new row, and the cursor rests at the start of the last row.
#[derive(Debug)]
pub(super) struct Screen {
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
    pub(super) fn target() -> ProgressDrawTarget {
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
