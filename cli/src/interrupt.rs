//! Ctrl-C and SIGTERM. The first asks every upload to stop: each cancels at its next progress
//! report, and the run ends as soon as the uploads have, or half a second after the signal
//! whatever they are doing (an upload waiting for its reply reports nothing). Either way it ends
//! the same: the progress display erased, every result already printed kept, and one line saying
//! what was stored and what was not (see [`Output::interrupted`]), then exit status 128 plus the
//! signal, as a shell reports a command the signal ended (130, 143). A second Ctrl-C ends it the
//! same way at once, without the half second; should even that not end it within a few seconds
//! (standard error not read), the program exits regardless; a third ends it at once, by the
//! signal itself (so the shell puts the terminal's modes back, see `echo`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

use crate::output::Output;

/// Set by the first signal.
static STOP: AtomicBool = AtomicBool::new(false);
/// Set by the second (listened for once the first has come).
static AGAIN: AtomicBool = AtomicBool::new(false);
/// Which signal it was.
static SIGNAL: AtomicUsize = AtomicUsize::new(0);

/// How long the uploads have to stop by themselves after the signal.
const GRACE: Duration = Duration::from_millis(500);
/// How often the watcher looks at the flags.
const POLL: Duration = Duration::from_millis(50);
/// How long the run's ending may take before the program exits without it: long enough for a
/// `--json` line for each of thousands of sources to reach a slow terminal; it only ever runs out
/// when standard error itself is not read (a standard output that is not read is noticed sooner,
/// see `Output::interrupted`).
const ENDING: Duration = Duration::from_secs(5);

/// The signal received, as an exit status (130 for Ctrl-C, 143 for SIGTERM), once one came.
pub(crate) fn requested() -> Option<u8> {
    STOP.load(Ordering::SeqCst)
        .then(|| 128 + SIGNAL.load(Ordering::SeqCst) as u8)
}

/// Listens for Ctrl-C and SIGTERM, for the rest of the program: the first sets the flag the
/// uploads check, and starts the watcher that ends the run through `out` if they take too long,
/// or at once on a second signal.
pub(crate) fn watch(out: Arc<Output>) {
    for signal in [SIGINT, SIGTERM] {
        // Registered first, so each sees the flags as they were before this signal: only a third
        // signal ends the program here, at once, as the signal's default action would.
        let _ = flag::register_conditional_default(signal, &AGAIN);
        let _ = flag::register_usize(signal, &SIGNAL, signal as usize);
        let _ = flag::register(signal, &STOP);
    }
    let _ = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            while !STOP.load(Ordering::SeqCst) {
                std::thread::sleep(POLL);
            }
            for signal in [SIGINT, SIGTERM] {
                let _ = flag::register(signal, &AGAIN);
            }
            let since = Instant::now();
            while since.elapsed() < GRACE && !AGAIN.load(Ordering::SeqCst) {
                std::thread::sleep(POLL);
            }
            // The run has not ended by itself: end it here (a run that did has exited already).
            if let Some(status) = requested() {
                let _ = std::thread::Builder::new()
                    .name("interrupt-bound".into())
                    .spawn(move || {
                        std::thread::sleep(ENDING);
                        crate::echo::on();
                        std::process::exit(i32::from(status));
                    });
                out.interrupted(status);
            }
        });
}
