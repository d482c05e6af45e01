//! `kie-upload`: upload files (or standard input) to the kie.ai File Upload API from a shell script
//! or a CI job, and print their download URLs. The package is kie-upload-cli; the library beside it
//! is kie-upload.
//!
//! Exit status: 0 when every upload succeeded, 1 when any failed or its result could not be
//! written (the others still run), 2 for a usage or configuration error, with nothing sent.

mod advice;
mod args;
mod client;
mod completions;
mod echo;
mod filter;
mod flags;
mod help;
mod interrupt;
mod limits;
mod output;
mod plan;
mod progress;
mod run;
mod upload;
mod verbose;
mod verify;
mod walk;
mod words;

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Arc;

use args::{Command, Usage};
use output::{eprint_line, reader_gone, Output};

fn main() -> ExitCode {
    limits::ignore_file_size_signal();
    match try_main() {
        Ok(code) => code,
        Err(Usage(msg)) => {
            eprint_line(&format!("error: {}", kie_upload::printable(&msg)));
            eprint_line("Try 'kie-upload --help' for more information.");
            ExitCode::from(2)
        }
    }
}

fn try_main() -> Result<ExitCode, Usage> {
    let options = match args::parse(std::env::args_os().skip(1))? {
        Command::Help => return Ok(print(&help::usage())),
        Command::Version => return Ok(print(concat!("kie-upload ", env!("CARGO_PKG_VERSION")))),
        Command::Completions(script) => return Ok(print(script.trim_end())),
        Command::Upload(options) => options,
    };
    let out = Arc::new(Output::new(options.json, options.reuse, options.verify));
    interrupt::watch(Arc::clone(&out));
    run::run(&options, &out)?;
    Ok(out.exit_code())
}

/// Prints `text` on standard output: a reader that went away (`| head -0`) ends the program
/// quietly with status 1, a full disk with a message.
fn print(text: &str) -> ExitCode {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !reader_gone(&e) {
                eprint_line(&format!(
                    "error: cannot write to standard output: {}",
                    words::io_words(&e)
                ));
            }
            ExitCode::from(1)
        }
    }
}
