//! `-v`: each upload's events as lines on standard error (attempts, replies, retries, the cache),
//! in the tool's words.

use std::time::Duration;

use kie_upload::{printable, Event};

use crate::output::eprint_line;
use crate::words::{describe, io_words};

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
        Event::ReuseRejected { error } => {
            let why = std::error::Error::source(*error).map(ToString::to_string);
            format!(
                "kie-upload: {source}: the reused copy failed --verify: {}; uploading it again",
                printable(&why.unwrap_or_default())
            )
        }
        Event::CacheFailed { error } => format!(
            "kie-upload: {source}: not recorded in the cache: {}",
            io_words(error)
        ),
        // An event this tool does not know yet: nothing to say in its words.
        _ => return,
    };
    eprint_line(&line);
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}
