//! Running the uploads the options ask for: the client built from the environment and the flags,
//! the sources checked (names that would clash, sources `--verify` cannot read twice) before
//! anything is sent, and each result handed to the output as soon as it and those before it are
//! done.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kie_upload::{Client, ClientBuilder, Error, Upload, UploadedFile, UrlUpload, BASE64_MAX};

use crate::args::{Options, ProxyFlag, Usage};
use crate::output::{describe, eprint_line, log_event, Bar, Bars, Output};
use crate::verify::{can_verify, verify, Mismatch};

/// One source as planned: how it is shown, where it is, and its name on the service.
struct Planned {
    /// As given on the command line (lossy when not UTF-8): the label in output.
    label: String,
    /// The local file; `None` for standard input.
    path: Option<PathBuf>,
    /// The name on the service; `None` lets the service pick one (standard input without `-n`).
    name: Option<String>,
}

/// Runs everything; the output keeps count of failures.
pub(crate) fn run(o: &Options, out: &mut Output) -> Result<(), Usage> {
    if let Some(url) = &o.from_url {
        let mut upload = UrlUpload::new(url, &o.upload_path);
        if let Some(name) = &o.name {
            upload = upload.file_name(name);
        }
        // Bad flags are usage errors, refused before anything is sent.
        upload.validate().map_err(|e| Usage(describe(&e)))?;
        let client = build_client(o)?;
        let label = without_credentials(url);
        if o.verbose {
            let label = label.clone();
            upload = upload.on_event(move |e| log_event(&label, e));
        }
        match client.upload_url(upload) {
            Ok(file) => out.success(&label, &file),
            Err(e) => out.failure(&label, None, &e),
        }
        return Ok(());
    }

    let plan = plan(o)?;
    let client = build_client(o)?;

    let bars = Bars::new(!o.quiet && !o.verbose);
    if o.base64 {
        // The base64 endpoint is for small files: one at a time is plenty.
        for p in &plan {
            let bar = bars.add(&p.label, size_of(p));
            let result = match &p.path {
                Some(path) => {
                    client.upload_base64(settings(Upload::file(path, &o.upload_path), p, o, bar))
                }
                None => match read_stdin_for_base64() {
                    Ok(bytes) => client.upload_base64(settings(
                        Upload::bytes(&bytes, &o.upload_path),
                        p,
                        o,
                        bar,
                    )),
                    Err(e) => {
                        out.failure_message(&p.label, &format!("reading standard input: {e}"));
                        continue;
                    }
                },
            };
            finish(&client, o, out, p, result);
        }
    } else {
        let uploads = plan.iter().map(|p| {
            let bar = bars.add(&p.label, size_of(p));
            let upload = match &p.path {
                Some(path) => Upload::file(path, &o.upload_path),
                None => Upload::reader(io::stdin(), &o.upload_path),
            };
            settings(upload, p, o, bar)
        });
        client.upload_all(uploads, o.jobs, |i, result| {
            finish(&client, o, out, &plan[i], result);
        });
    }
    bars.finish();
    Ok(())
}

/// Hands one source's result to the output, after checking it with `--verify`.
fn finish(
    client: &Client,
    o: &Options,
    out: &mut Output,
    p: &Planned,
    result: Result<UploadedFile, Error>,
) {
    let file = match result {
        Ok(file) => file,
        Err(e) => return out.failure(&p.label, p.path.as_deref(), &e),
    };
    if let (true, Some(path)) = (o.verify, &p.path) {
        let why = match verify(client, path, &file) {
            Ok(()) => None,
            Err(Mismatch::Download(e)) => Some(describe(&e)),
            Err(Mismatch::Differs(why)) => Some(why),
        };
        if let Some(why) = why {
            return out.failure_message(&p.label, &format!("--verify: {why}"));
        }
    }
    out.success(&p.label, &file);
}

/// The client: the environment's settings (`KIE_API_KEY` or `KIE_API_KEY_FILE`, `KIE_BASE_URL`,
/// `SSL_CERT_FILE`, the proxy variables), then the flags, which win.
fn build_client(o: &Options) -> Result<Client, Usage> {
    let mut builder = ClientBuilder::from_env().retries(o.retries);
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
    if o.no_expect {
        builder = builder.expect_continue(false);
    }
    if let Some(secs) = o.timeout {
        builder = builder.timeout(Duration::from_secs(secs));
    }
    builder.build().map_err(|e| Usage(describe(&e)))
}

/// Each source's label, path and name, checked before anything is sent: two sources stored under
/// one name would overwrite each other, and `--verify` needs sources it can read twice.
fn plan(o: &Options) -> Result<Vec<Planned>, Usage> {
    let mut plan = Vec::with_capacity(o.sources.len());
    for source in &o.sources {
        let label = source.to_string_lossy().into_owned();
        if source == "-" {
            plan.push(Planned {
                label,
                path: None,
                name: o.name.clone(),
            });
            continue;
        }
        let path = PathBuf::from(source);
        if o.verify {
            can_verify(&path)?;
        }
        let name = match &o.name {
            Some(name) => Some(name.clone()),
            None => name_from(&path, source),
        };
        plan.push(Planned {
            label,
            path: Some(path),
            name,
        });
    }
    for p in &plan {
        // The flags and the names as an upload will check them; a bad one is a usage error.
        let probe = match (&p.name, &p.path) {
            (Some(name), _) => Upload::bytes(&[], &o.upload_path).file_name(name),
            (None, Some(path)) => Upload::file(path, &o.upload_path),
            (None, None) => Upload::bytes(&[], &o.upload_path),
        };
        probe
            .validate()
            .map_err(|e| Usage(format!("{}: {}", p.label, describe(&e))))?;
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
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for p in &plan {
        let Some(name) = &p.name else { continue };
        if let Some(first) = seen.insert(name, &p.label) {
            return Err(Usage(format!(
                "{first} and {} would both be stored as {}/{name}, the second overwriting the \
                 first: upload them separately with different -p, or rename one",
                p.label,
                o.upload_path.trim_matches('/')
            )));
        }
    }
    Ok(plan)
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

/// A URL as shown in output: without the user name and password it may carry.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[authority_end..]),
        None => url.to_owned(),
    }
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
                source.to_string_lossy()
            ));
            Some(lossy)
        }
    }
}

/// The settings every upload gets: its name, progress bar and `-v` log.
fn settings<'a>(mut upload: Upload<'a>, p: &Planned, o: &Options, bar: Bar) -> Upload<'a> {
    if let Some(name) = &p.name {
        upload = upload.file_name(name);
    }
    upload = upload.on_progress(move |sent, _| bar.set(sent));
    if o.verbose {
        let label = p.label.clone();
        upload = upload.on_event(move |e| log_event(&label, e));
    }
    upload
}

/// A regular file's size, for its progress bar.
fn size_of(p: &Planned) -> Option<u64> {
    let meta = std::fs::metadata(p.path.as_ref()?).ok()?;
    meta.is_file().then_some(meta.len())
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
