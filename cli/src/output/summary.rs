//! The batch's last line on standard error: `kie-upload: 3 stored (3 verified), 0 failed, 1.2 MiB
//! in 340 ms (3.5 MiB/s)`.

use std::time::Duration;

use indicatif::HumanBytes;

use super::{eprint_line, Output};

impl Output {
    /// The batch's last line on standard error: how many stored (and verified) and failed, the
    /// bytes stored, the time and the rate.
    pub(crate) fn summary(&self) {
        let state = self.state();
        let elapsed = state.started.elapsed();
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            state.bytes as f64 / secs
        } else {
            0.0
        };
        let mut stored = format!("{} stored", state.stored);
        let mut notes = Vec::new();
        if state.reused > 0 {
            notes.push(format!("{} reused", state.reused));
        }
        if self.verify {
            notes.push(format!("{} verified", state.verified));
        }
        if !notes.is_empty() {
            stored = format!("{stored} ({})", notes.join(", "));
        }
        eprint_line(&format!(
            "kie-upload: {stored}, {} failed, {} in {} ({}/s)",
            state.failures,
            HumanBytes(state.bytes),
            duration(elapsed),
            HumanBytes(rate as u64)
        ));
    }
}

/// A time as a person reads it: milliseconds under a second, tenths of seconds above.
fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
