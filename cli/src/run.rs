//! Running the uploads the options ask for: the client built from the environment and the flags
//! ([`crate::client`]), the sources planned and checked before anything is sent ([`crate::plan`]),
//! then sent (each set up by [`crate::upload`]), and each result handed to the output as soon as
//! it and those before it are done, with the sources the plan refused reported in their place.

use std::cell::Cell;
use std::io;

use kie_upload::{printable, Client, Error, ErrorKind, Event, Upload, UploadedFile, UrlUpload};

use crate::args::{Options, Usage};
use crate::client::build_client;
use crate::interrupt;
use crate::limits::fit_jobs;
use crate::output::{eprint_line, Output};
use crate::plan::{plan, Planned};
use crate::progress::Bars;
use crate::upload::{from_file, read_stdin_for_base64, settings, WholeWhenEnded};
use crate::verbose::log_event;
use crate::words::{explain, io_words};

/// Runs everything; the output keeps count of failures.
pub(crate) fn run(o: &Options, out: &Output) -> Result<(), Usage> {
    // First, so that everything shown can go through its redaction (the key, URL passwords).
    let client = build_client(o)?;
    if let Some(url) = &o.from_url {
        return run_url(o, url, &client, out);
    }
    let plan = plan(o, &client)?;
    if o.dry_run {
        dry_run(&plan, out);
        return Ok(());
    }
    out.expect(plan.iter().map(|p| p.label.clone()));
    let bars = Bars::new(!o.quiet && !o.verbose, &plan);
    let batch = Batch {
        o,
        client: &client,
        plan: &plan,
        bars: &bars,
        out,
        reported: Cell::new(0),
    };
    batch.send();
    if let Some(status) = interrupt::requested() {
        out.interrupted(status);
    }
    batch.report_refused(plan.len());
    bars.finish();
    if (plan.len() > 1 || o.verify) && !o.quiet {
        out.summary();
    }
    Ok(())
}

/// `--dry-run`: each upload as planned, or why it cannot be sent; nothing is sent.
fn dry_run(plan: &[Planned], out: &Output) {
    for p in plan {
        match &p.refused {
            Some(why) => out.failure_message(&p.label, why),
            None => out.planned(p),
        }
    }
}

/// The uploads of a run, as they are sent.
struct Batch<'a> {
    o: &'a Options,
    client: &'a Client,
    plan: &'a [Planned],
    bars: &'a Bars,
    out: &'a Output,
    /// How far in the plan the sources it refused have been reported: each in its place, between
    /// the results of the others.
    reported: Cell<usize>,
}

impl<'a> Batch<'a> {
    /// Sends every source the plan did not refuse.
    fn send(&self) {
        // The sources that can be sent, by their place in the plan.
        let sendable: Vec<usize> = (0..self.plan.len())
            .filter(|&j| self.plan[j].refused.is_none())
            .collect();
        if self.o.base64 {
            self.send_base64(&sendable);
        } else {
            self.send_streams(&sendable);
        }
    }

    /// `--base64`: one at a time, as the endpoint is for small files; standard input is read
    /// whole first, as that body needs its length up front.
    fn send_base64(&self, sendable: &[usize]) {
        for &j in sendable {
            let p = &self.plan[j];
            self.report_refused(j);
            let upload = match &p.path {
                Some(path) => from_file(path, p),
                None => match read_stdin_for_base64() {
                    Ok(bytes) => Upload::bytes(bytes, &p.upload_path),
                    Err(e) => {
                        let why = format!("reading standard input: {}", io_words(&e));
                        self.out.failure_message(&p.label, &why);
                        self.done(j);
                        continue;
                    }
                },
            };
            let result = self.client.upload_base64(self.settings(upload, j));
            self.result(j, result);
        }
    }

    /// The stream endpoint: `-j` uploads at a time, standard input as it comes (or spooled).
    fn send_streams(&self, sendable: &[usize]) {
        let uploads = sendable.iter().map(|&j| {
            let p = &self.plan[j];
            let upload = match &p.path {
                Some(path) => from_file(path, p),
                None if self.o.spool => Upload::reader(io::stdin(), &p.upload_path).spool(),
                None => Upload::reader(
                    WholeWhenEnded::new(io::stdin(), j, self.out),
                    &p.upload_path,
                ),
            };
            self.settings(upload, j)
        });
        let jobs = fit_jobs(self.o.jobs.min(sendable.len()));
        if self.o.verbose && jobs < self.o.jobs.min(sendable.len()) {
            eprint_line(&format!(
                "kie-upload: -j {} lowered to {jobs}: the limit on open files allows no more",
                self.o.jobs
            ));
        }
        self.client
            .upload_all(uploads, jobs, |i, result| self.result(sendable[i], result));
    }

    /// The settings of the upload of the source at `j` in the plan.
    fn settings(&self, upload: Upload<'a>, j: usize) -> Upload<'a> {
        let p = &self.plan[j];
        settings(upload, (j, p), self.o, self.bars, self.client, self.out)
    }

    /// Hands the result of the source at `j` to the output, after the refused sources before it.
    fn result(&self, j: usize, result: Result<UploadedFile, Error>) {
        self.report_refused(j);
        finish(self.o, self.out, &self.plan[j], result);
        self.done(j);
    }

    /// The source at `j` has its result: one more done on the display, and the refused sources
    /// right after it reported.
    fn done(&self, j: usize) {
        self.bars.done();
        self.report_refused(j + 1);
    }

    /// Reports the sources the plan refused before place `upto` that are not reported yet.
    fn report_refused(&self, upto: usize) {
        let reported = self.reported.get();
        for p in &self.plan[reported..upto] {
            if let Some(why) = &p.refused {
                self.out.failure_message(&p.label, why);
            }
        }
        self.reported.set(reported.max(upto));
    }
}

/// `--from-url`: one upload the service fetches itself.
fn run_url(o: &Options, url: &str, client: &Client, out: &Output) -> Result<(), Usage> {
    let mut upload = UrlUpload::new(url, &o.upload_path);
    if let Some(name) = &o.name {
        upload = upload.file_name(name);
    }
    // Bad flags are usage errors, refused before anything is sent.
    upload
        .validate()
        .map_err(|e| Usage(client.redact(&explain(&e))))?;
    let label = client.redact(url);
    if o.dry_run {
        out.planned(&Planned {
            label,
            path: None,
            upload_path: o.upload_path.clone(),
            name: o.name.clone(),
            size: None,
            refused: None,
        });
        return Ok(());
    }
    let (verbose, logged) = (o.verbose, label.clone());
    upload = upload.on_event(move |e| {
        // The request is the whole body: once it is out, the service may act on it.
        if let Event::Attempt { .. } = e {
            out.body_sent(0);
        }
        if verbose {
            log_event(&logged, e);
        }
    });
    out.expect([label.clone()]);
    let result = client.upload_url(upload);
    if let Some(status) = interrupt::requested() {
        out.interrupted(status);
    }
    match result {
        Ok(file) => out.success(&label, None, false, &file),
        Err(e) => out.failure(&label, None, &e),
    }
    Ok(())
}

/// Hands one source's result to the output (`--verify` checked it on its worker).
fn finish(o: &Options, out: &Output, p: &Planned, result: Result<UploadedFile, Error>) {
    let file = match result {
        Ok(file) => file,
        // Stopped by Ctrl-C: not a failure of its own, one of those not stored.
        Err(_) if interrupt::requested().is_some() => return out.stopped(),
        Err(e) if *e.kind() == ErrorKind::Rejected => {
            let why = std::error::Error::source(&e).map(ToString::to_string);
            let why = why.unwrap_or_default();
            return out.failure_message(&p.label, &format!("--verify: {why}"));
        }
        Err(e) => return out.failure(&p.label, p.path.as_deref(), &e),
    };
    if o.verbose && file.reused {
        let left = file
            .expires_at()
            .and_then(|t| t.duration_since(std::time::SystemTime::now()).ok())
            .map_or("at an unknown time".to_owned(), |d| {
                format!("in {}", indicatif::HumanDuration(d))
            });
        eprint_line(&format!(
            "kie-upload: {}: reused, nothing sent; expires {left}",
            printable(&p.label)
        ));
    }
    // After Ctrl-C, --verify does not run (see `upload::with_check`).
    let verified = o.verify && p.path.is_some() && interrupt::requested().is_none();
    out.success(&p.label, p.size, verified, &file);
}
