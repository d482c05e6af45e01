//! Running the uploads the options ask for: the client built from the environment and the flags,
//! the sources planned (folders walked with `-r`) and checked (names the service cannot store,
//! names that would clash, sources `--verify` cannot read twice) before anything is sent, and each
//! result handed to the output as soon as it and those before it are done.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kie_upload::{
    printable, Client, Error, ErrorKind, Event, Progress, Upload, UploadCache, UploadedFile,
    UrlUpload, BASE64_MAX,
};

use crate::args::{Options, ProxyFlag, Usage};
use crate::interrupt;
use crate::limits::{fit_jobs, Found};
use crate::output::{describe, eprint_line, explain, io_words, log_event, Output};
use crate::progress::Bars;
use crate::verify::{can_verify, verify};
use crate::walk::walk;

/// One upload as planned: how it is shown, where it is, where it goes, and its name there.
pub(crate) struct Planned {
    /// The source as given on the command line, or the file's path under a folder SRC (lossy when
    /// not UTF-8): the label in output.
    pub label: String,
    /// The local file; `None` for standard input.
    pub path: Option<PathBuf>,
    /// The folder on the service, as given (the library trims its slashes).
    pub upload_path: String,
    /// The name on the service; `None` lets the service pick one (standard input without `-n`).
    pub name: Option<String>,
    /// The size of a regular file, when planned.
    pub size: Option<u64>,
    /// Why this source cannot be sent: it fails, and the others still run.
    pub refused: Option<String>,
}

/// Runs everything; the output keeps count of failures.
pub(crate) fn run(o: &Options, out: &Output) -> Result<(), Usage> {
    // First, so that everything shown can go through its redaction (the key, URL passwords).
    let client = build_client(o)?;
    if let Some(url) = &o.from_url {
        return run_url(o, url, &client, out);
    }

    let plan = plan(o, &client)?;
    if o.dry_run {
        for p in &plan {
            match &p.refused {
                Some(why) => out.failure_message(&p.label, why),
                None => out.planned(p),
            }
        }
        return Ok(());
    }

    out.expect(plan.iter().map(|p| p.label.clone()));
    let bars = Bars::new(!o.quiet && !o.verbose, &plan);
    // The sources that can be sent, by their place in the plan; the others are reported in order
    // between them.
    let sendable: Vec<usize> = (0..plan.len())
        .filter(|&j| plan[j].refused.is_none())
        .collect();
    let mut reported = 0;
    let mut report_refused = |out: &Output, upto: usize| {
        for p in &plan[reported..upto] {
            if let Some(why) = &p.refused {
                out.failure_message(&p.label, why);
            }
        }
        reported = reported.max(upto);
    };
    if o.base64 {
        // The base64 endpoint is for small files: one at a time is plenty.
        for &j in &sendable {
            let p = &plan[j];
            report_refused(out, j);
            let result = match &p.path {
                Some(path) => client.upload_base64(settings(
                    from_file(path, p),
                    (j, p),
                    o,
                    &bars,
                    &client,
                    out,
                )),
                None => match read_stdin_for_base64() {
                    Ok(bytes) => client.upload_base64(settings(
                        Upload::bytes(&bytes, &p.upload_path),
                        (j, p),
                        o,
                        &bars,
                        &client,
                        out,
                    )),
                    Err(e) => {
                        out.failure_message(
                            &p.label,
                            &format!("reading standard input: {}", io_words(&e)),
                        );
                        bars.done();
                        report_refused(out, j + 1);
                        continue;
                    }
                },
            };
            finish(o, out, p, result);
            bars.done();
            report_refused(out, j + 1);
        }
    } else {
        let uploads = sendable.iter().map(|&j| {
            let p = &plan[j];
            let upload = match &p.path {
                Some(path) => from_file(path, p),
                None if o.spool => Upload::reader(io::stdin(), &p.upload_path).spool(),
                None => Upload::reader(WholeWhenEnded::new(io::stdin(), j, out), &p.upload_path),
            };
            settings(upload, (j, p), o, &bars, &client, out)
        });
        let jobs = fit_jobs(o.jobs.min(sendable.len()));
        if o.verbose && jobs < o.jobs.min(sendable.len()) {
            eprint_line(&format!(
                "kie-upload: -j {} lowered to {jobs}: the limit on open files allows no more",
                o.jobs
            ));
        }
        client.upload_all(uploads, jobs, |i, result| {
            let j = sendable[i];
            report_refused(out, j);
            finish(o, out, &plan[j], result);
            bars.done();
            report_refused(out, j + 1);
        });
    }
    if let Some(status) = interrupt::requested() {
        out.interrupted(status);
    }
    report_refused(out, plan.len());
    bars.finish();
    if (plan.len() > 1 || o.verify) && !o.quiet {
        out.summary();
    }
    Ok(())
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
    // After Ctrl-C, --verify does not run (see `settings`).
    let verified = o.verify && p.path.is_some() && interrupt::requested().is_none();
    out.success(&p.label, p.size, verified, &file);
}

/// The client: the environment's settings (`KIE_API_KEY` or `KIE_API_KEY_FILE`, `KIE_BASE_URL`,
/// `SSL_CERT_FILE`, the proxy variables), then the flags, which win.
fn build_client(o: &Options) -> Result<Client, Usage> {
    let mut builder = Client::builder().with_env().retries(o.retries);
    if let Some(file) = &o.api_key_file {
        builder = builder.api_key_file(file);
    }
    if let Some(url) = &o.base_url {
        builder = builder.base_url(url.trim());
    }
    if let Some(file) = &o.cacert {
        builder = builder.root_certs_file(file);
    }
    builder = match &o.proxy {
        Some(ProxyFlag::Url(url)) => builder.proxy(url),
        Some(ProxyFlag::Off) => builder.no_proxy(),
        None => builder,
    };
    if o.allow_insecure_http {
        builder = builder.allow_insecure_http(true);
    }
    if o.no_expect {
        builder = builder.expect_continue(false);
    }
    if let Some(secs) = o.timeout {
        builder = builder.timeout(Duration::from_secs(secs));
    }
    if o.reuse {
        let cache = match &o.cache_dir {
            Some(dir) => UploadCache::new(dir),
            None => UploadCache::in_default_dir().map_err(|_| {
                Usage("--reuse: no cache folder (HOME is not set): use --cache-dir DIR".into())
            })?,
        };
        builder = builder.cache(cache);
    }
    let client = builder.build().map_err(|e| Usage(explain(&e)))?;
    crate::advice::set_base_url(client.base_url());
    Ok(client)
}

/// Each upload's label, path, folder and name, checked before anything is sent: names the service
/// cannot store, two uploads stored under one name (they would overwrite each other), and
/// `--verify` of sources it cannot read twice.
fn plan(o: &Options, client: &Client) -> Result<Vec<Planned>, Usage> {
    // The flags themselves, as every upload will check them.
    let mut flags = Upload::bytes([], &o.upload_path);
    if let Some(name) = &o.name {
        flags = flags.file_name(name);
    }
    flags
        .validate()
        .map_err(|e| Usage(client.redact(&explain(&e))))?;
    let mut plan = Vec::with_capacity(o.sources.len());
    // Names under a folder SRC that the service cannot store: all reported, then nothing is sent.
    let mut unstorable = Vec::new();
    for source in &o.sources {
        let label = client.redact(&source.to_string_lossy());
        if source == "-" {
            if o.name.is_none() && !o.dry_run {
                warn_name(
                    "standard input",
                    "a name the service picks, without an extension",
                );
            }
            plan.push(Planned {
                label,
                path: None,
                upload_path: o.upload_path.clone(),
                name: o.name.clone(),
                size: None,
                refused: None,
            });
            continue;
        }
        let path = PathBuf::from(source);
        let meta = std::fs::metadata(&path);
        if let Ok(meta) = &meta {
            if meta.is_dir() && o.recursive {
                if o.name.is_some() {
                    return Err(format!("--name names one upload, but {label} is a folder").into());
                }
                plan_folder(o, client, &path, &mut plan, &mut unstorable);
                continue;
            }
        }
        if o.verify {
            can_verify(&path)?;
        }
        let name = match &o.name {
            Some(name) => Some(name.clone()),
            None => name_from(&path, source),
        };
        if let (Some(name), None, Ok(meta)) = (&name, &o.name, &meta) {
            if !meta.is_file() && !meta.is_dir() && is_system_path(&path) {
                // `<(cmd)` is /dev/fd/63, stored as "63"; /dev/stdin as "stdin".
                warn_name(&label, &format!("the name {name:?}"));
            }
        }
        let (size, refused) = match &meta {
            Err(e) => (None, Some(io_words(e))),
            Ok(meta) if meta.is_dir() => (None, Some("is a directory: use -r".to_owned())),
            Ok(meta) if meta.is_file() => (Some(meta.len()), None),
            Ok(_) => (None, None),
        };
        plan.push(Planned {
            label,
            path: Some(path),
            upload_path: o.upload_path.clone(),
            name,
            size,
            refused,
        });
    }
    for p in plan.iter_mut() {
        if o.base64 && p.refused.is_none() {
            p.refused = base64_refusal(p.size);
        }
    }
    for p in &plan {
        // The names as an upload will check them.
        let probe = match (&p.name, &p.path) {
            (Some(name), _) => Upload::bytes([], &p.upload_path).file_name(name),
            (None, Some(path)) if p.refused.is_none() => Upload::file(path, &p.upload_path),
            (None, _) => Upload::bytes([], &p.upload_path),
        };
        if let Err(e) = probe.validate() {
            unstorable.push(format!("{}: {}", p.label, describe(&e)));
        }
    }
    if !unstorable.is_empty() {
        for why in &unstorable {
            eprint_line(&format!("error: {}", printable(why)));
        }
        return Err(Usage(format!(
            "{} cannot be stored on the service (nothing was sent): rename them",
            count(unstorable.len(), "name", "names")
        )));
    }
    if o.name.is_some() && plan.len() > 1 {
        return Err(format!("--name names one upload, but {} SRC were given", plan.len()).into());
    }
    let mut pipes = HashMap::new();
    for p in &plan {
        if let Some(id) = pipe_identity(p.path.as_deref()) {
            if let Some(first) = pipes.insert(id, &p.label) {
                return Err(Usage(format!(
                    "{first} and {} are the same pipe, which can be read only once",
                    p.label
                )));
            }
        }
    }
    let mut seen: HashMap<(&str, &str), &str> = HashMap::new();
    for p in &plan {
        let Some(name) = &p.name else { continue };
        let folder = p.upload_path.trim_matches('/');
        if let Some(first) = seen.insert((folder, name), &p.label) {
            return Err(Usage(format!(
                "{first} and {} would both be stored as {folder}/{name}, the second overwriting the \
                 first: upload them separately with different -p, or rename one",
                p.label,
            )));
        }
    }
    Ok(plan)
}

/// `-r`: every regular file under the folder `root`, to the upload path plus its folder there.
fn plan_folder(
    o: &Options,
    client: &Client,
    root: &Path,
    plan: &mut Vec<Planned>,
    unstorable: &mut Vec<String>,
) {
    let walk = walk(root, o.follow);
    // Names are the user's, and may hold anything: escaped, as every line the tool writes.
    let shown = printable(&root.to_string_lossy()).into_owned();
    for path in &walk.bad_names {
        unstorable.push(format!(
            "{}: the name is not UTF-8, which the service cannot store",
            path.display()
        ));
    }
    if walk.links_skipped > 0 {
        eprint_line(&format!(
            "warning: {shown}: {} not followed (-L follows them)",
            count(walk.links_skipped, "symbolic link", "symbolic links")
        ));
    }
    if walk.others_skipped > 0 {
        eprint_line(&format!(
            "warning: {shown}: skipped {} neither a regular file nor a folder",
            count(walk.others_skipped, "entry", "entries")
        ));
    }
    if walk.entries.is_empty() && walk.bad_names.is_empty() {
        eprint_line(&format!("warning: {shown}: no regular files under it"));
    }
    let found = walk.entries.len();
    let base = o.upload_path.trim_matches('/');
    let mut left_out = 0;
    for entry in walk.entries {
        // --include and --exclude, on the path under the folder given.
        let under = match &entry {
            Ok(found) if found.folder.is_empty() => Some(found.name.clone()),
            Ok(found) => Some(format!("{}/{}", found.folder, found.name)),
            Err((path, _)) => path
                .strip_prefix(root)
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/")),
        };
        if under.is_some_and(|under| !o.filter.admits(&under)) {
            left_out += 1;
            continue;
        }
        plan.push(match entry {
            Ok(found) => Planned {
                label: client.redact(&found.path.to_string_lossy()),
                upload_path: if found.folder.is_empty() {
                    o.upload_path.clone()
                } else {
                    format!("{base}/{}", found.folder)
                },
                path: Some(found.path),
                name: Some(found.name),
                size: Some(found.size),
                refused: None,
            },
            Err((path, why)) => Planned {
                label: client.redact(&path.to_string_lossy()),
                path: Some(path),
                upload_path: o.upload_path.clone(),
                name: None,
                size: None,
                refused: Some(why),
            },
        });
    }
    if found > 0 && left_out == found {
        eprint_line(&format!(
            "warning: {shown}: --include and --exclude leave out all {} under it",
            count(found, "file", "files")
        ));
    }
}

/// `n` and the noun in the right number.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why `--base64` cannot send a source of this size (known for regular files).
fn base64_refusal(size: Option<u64>) -> Option<String> {
    match size? {
        0 => Some(
            "the file is empty, and --base64 takes no empty data: leave out --base64 to use the \
             stream endpoint"
                .to_owned(),
        ),
        len if len > BASE64_MAX => Some(format!(
            "{len} bytes is over --base64's limit of {BASE64_MAX}: leave out --base64 to use the \
             stream endpoint"
        )),
        _ => None,
    }
}

/// The device and inode of a source that is a pipe, FIFO or device (standard input when `path` is
/// `None`), to tell when two names lead to the same one.
#[cfg(unix)]
fn pipe_identity(path: Option<&Path>) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path.unwrap_or(Path::new("/dev/stdin"))).ok()?;
    (!meta.is_file() && !meta.is_dir()).then(|| (meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn pipe_identity(_: Option<&Path>) -> Option<(u64, u64)> {
    None
}

/// Warns, once for the source, that it will be stored under `what` rather than a name the user
/// sees, and how to choose one.
fn warn_name(label: &str, what: &str) {
    eprint_line(&format!(
        "warning: {}: stored as {what}; set the name with -n NAME",
        printable(label)
    ));
}

/// Whether a path is one the system made up for a pipe or device (`/dev/stdin`, `/dev/fd/63` from
/// `<(cmd)`, `/proc/self/fd/12` from zsh), whose last part means nothing as a file name.
fn is_system_path(path: &Path) -> bool {
    path.starts_with("/dev") || path.starts_with("/proc")
}

/// The name a file is stored under without `-n`: its own, or, when that is not UTF-8, a lossy
/// rendering of it (with a warning). `None` when the path names no file; the upload then says so.
fn name_from(path: &Path, source: &OsString) -> Option<String> {
    let name = path.file_name()?;
    match name.to_str() {
        Some(name) => Some(name.to_owned()),
        None => {
            let lossy = name.to_string_lossy().into_owned();
            eprint_line(&format!(
                "warning: {}: the file name is not UTF-8; storing it as {lossy:?} (set -n to choose)",
                printable(&source.to_string_lossy())
            ));
            Some(lossy)
        }
    }
}

/// The upload of a local file: one the plan found to be a regular file is opened when its upload
/// starts, without blocking, and only if it still is one; a pipe or device named on purpose
/// (`<(cmd)`, `/dev/stdin`), and a file under /dev or /proc that says it is empty but holds data,
/// go to the library by their path.
fn from_file<'a>(path: &Path, p: &Planned) -> Upload<'a> {
    match p.size {
        Some(_) if !is_system_path(path) => Upload::seekable(Found::new(path), &p.upload_path),
        _ => Upload::file(path, &p.upload_path),
    }
}

/// The settings every upload gets: its name, progress display, `--verify` as its check (run on
/// its worker, before the cache records it or reuses it), what the output must know should the
/// run be interrupted (when its whole body is out; when it is stored), the cache's failure said
/// once, and the `-v` log. `index` is the source's place in the plan.
fn settings<'a>(
    mut upload: Upload<'a>,
    (index, p): (usize, &Planned),
    o: &Options,
    bars: &Bars,
    client: &Client,
    out: &'a Output,
) -> Upload<'a> {
    if let Some(name) = &p.name {
        upload = upload.file_name(name);
    }
    // Every upload hears Ctrl-C at its next progress report.
    let mut bar = bars.file(&p.label, p.size);
    let mut whole = false;
    upload = upload.on_progress(move |sent, total| {
        if let Some(bar) = &mut bar {
            bar.set(sent);
        }
        if interrupt::requested().is_some() {
            return Progress::Cancel;
        }
        if !whole && total.is_some_and(|total| sent >= total) {
            whole = true;
            out.body_sent(index);
        }
        Progress::Continue
    });
    let (label, verbose) = (p.label.clone(), o.verbose);
    // The check runs for every upload, `--verify` or not: it is where a worker learns that its
    // file is stored, which the output keeps in case the run is interrupted before its turn.
    let check = match (o.verify, &p.path) {
        (true, Some(path)) => Some((client.clone(), path.clone(), label.clone())),
        _ => None,
    };
    let size = p.size;
    upload = upload.verify(move |file| {
        // The service has said it stored the file: so an interrupted run says, even while the
        // check below downloads it (after Ctrl-C the batch ends with what is stored, unchecked;
        // a later --verify checks a reused copy again).
        out.stored_early(index, size, false, file);
        if let Some((client, path, label)) = &check {
            if interrupt::requested().is_none() {
                let bytes = verify(client, path, file)?;
                if verbose {
                    let label = printable(label);
                    eprint_line(&format!(
                        "kie-upload: {label}: verified: {bytes} bytes match"
                    ));
                }
                out.stored_early(index, size, true, file);
            }
        }
        Ok::<_, String>(())
    });
    let cache_dir = o.cache_dir.clone().or_else(UploadCache::default_dir);
    upload.on_event(move |e| {
        if let (Event::CacheFailed { error }, Some(dir)) = (e, &cache_dir) {
            cache_failed(dir, error);
        }
        if verbose {
            log_event(&label, e);
        }
    })
}

/// Standard input sent as it comes (its length unknown): once it ends, the whole body is out
/// but for its last bytes, and the output is told so.
struct WholeWhenEnded<'a, R> {
    reader: R,
    index: usize,
    out: &'a Output,
}

impl<'a, R> WholeWhenEnded<'a, R> {
    fn new(reader: R, index: usize, out: &'a Output) -> Self {
        WholeWhenEnded { reader, index, out }
    }
}

impl<R: Read> Read for WholeWhenEnded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        if n == 0 && !buf.is_empty() && interrupt::requested().is_none() {
            self.out.body_sent(self.index);
        }
        Ok(n)
    }
}

/// Says once in a run that the cache could not record uploads, and why (`-v` says it for each).
fn cache_failed(dir: &Path, error: &io::Error) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        eprint_line(&format!(
            "warning: cannot record uploads in the cache at {}: {}; the next run sends them again",
            printable(&dir.to_string_lossy()),
            io_words(error)
        ));
    }
}

/// Standard input for the base64 endpoint, whose body needs its length up front: at most the limit
/// plus one byte, so an oversized input still gets the library's clear refusal.
fn read_stdin_for_base64() -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(BASE64_MAX + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
