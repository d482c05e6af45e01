//! Ctrl-C and SIGTERM. The first asks every upload to stop: each cancels at its next progress
//! report, and the run ends as soon as the uploads have, or half a second after the signal
//! whatever they are doing (an upload waiting for its reply reports nothing). Either way it ends
//! the same: the progress display erased, every result already printed kept, and one line saying
//! what was stored and what was not (see [`Output::interrupted`]), then exit status 128 plus the
//! signal, as a shell reports a command the signal ended (130, 143). A second Ctrl-C ends the
//! program at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

use crate::output::Output;

/// Set by the first signal.
static STOP: AtomicBool = AtomicBool::new(false);
/// Which signal it was.
static SIGNAL: AtomicUsize = AtomicUsize::new(0);

/// How long the uploads have to stop by themselves after the signal.
const GRACE: Duration = Duration::from_millis(500);
/// How often the watcher looks at the flag.
const POLL: Duration = Duration::from_millis(50);

/// The signal received, as an exit status (130 for Ctrl-C, 143 for SIGTERM), once one came.
pub(crate) fn requested() -> Option<u8> {
    STOP.load(Ordering::SeqCst)
        .then(|| 128 + SIGNAL.load(Ordering::SeqCst) as u8)
}

/// Listens for Ctrl-C and SIGTERM, for the rest of the program: the first sets the flag the
/// uploads check, and starts the watcher that ends the run through `out` if they take too long.
pub(crate) fn watch(out: Arc<Output>) {
    for signal in [SIGINT, SIGTERM] {
        // Registered first, so it sees the flag as it was before this signal: only a second
        // signal ends the program here, at once, with the status of this one.
        let _ = flag::register_conditional_shutdown(signal, 128 + signal, &STOP);
        let _ = flag::register_usize(signal, &SIGNAL, signal as usize);
        let _ = flag::register(signal, &STOP);
    }
    let _ = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            while !STOP.load(Ordering::SeqCst) {
                std::thread::sleep(POLL);
            }
            let since = Instant::now();
            while since.elapsed() < GRACE {
                std::thread::sleep(POLL);
            }
            // The run has not ended by itself: end it here (a run that did has exited already).
            if let Some(status) = requested() {
                out.interrupted(status);
            }
        });
}
