//! While the progress display is drawn, keys typed are not echoed. The terminal echoes each key
//! where the cursor is, and Enter moves it a row down: every later redraw, which counts rows up
//! from the cursor, would land a row too low and leave a bar behind. What is typed still reaches
//! the shell afterwards, as typed-ahead input does. The terminal's modes are put back when the
//! display ends, however the run ends: normally, interrupted, or stuck (see `interrupt`); a
//! program killed by a signal has its terminal put back by the shell.

#[cfg(unix)]
mod imp {
    use std::io;
    use std::sync::{Mutex, PoisonError};

    use rustix::termios::{tcgetattr, tcgetpgrp, tcsetattr, LocalModes, OptionalActions, Termios};

    /// The modes found, while the echo is off.
    static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

    /// Turns the echo off on standard error's terminal (the one the display is drawn on), if this
    /// program is in its foreground: a background one that changed its terminal's modes would be
    /// stopped (SIGTTOU).
    pub(crate) fn off() {
        let terminal = io::stderr();
        let Ok(modes) = tcgetattr(&terminal) else {
            return;
        };
        if !in_foreground() || !modes.local_modes.contains(LocalModes::ECHO) {
            return;
        }
        let mut quiet = modes.clone();
        quiet
            .local_modes
            .remove(LocalModes::ECHO | LocalModes::ECHONL);
        let mut saved = SAVED.lock().unwrap_or_else(PoisonError::into_inner);
        if tcsetattr(&terminal, OptionalActions::Now, &quiet).is_ok() {
            *saved = Some(modes);
        }
    }

    /// Puts the modes back, if `off` changed them and this program is still in the foreground
    /// (one that was stopped and sent to the background had its terminal put back by the shell).
    pub(crate) fn on() {
        let mut saved = SAVED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(modes) = saved.take() {
            if in_foreground() {
                let _ = tcsetattr(io::stderr(), OptionalActions::Now, &modes);
            }
        }
    }

    fn in_foreground() -> bool {
        tcgetpgrp(io::stderr()).is_ok_and(|group| group == rustix::process::getpgrp())
    }
}

#[cfg(not(unix))]
mod imp {
    // A Windows console echoes typed keys only when a program reads them: nothing to change.
    pub(crate) fn off() {}
    pub(crate) fn on() {}
}

pub(crate) use imp::{off, on};
