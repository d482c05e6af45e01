//! The plan: each upload's label, local path, folder and name on the service, worked out before
//! anything is sent (folders walked with `-r`, in [`folder`]) and checked: names the service
//! cannot store, two uploads stored under one name, one pipe named twice and sources `--verify`
//! cannot read twice end the run before it starts. A source that cannot be read is only refused:
//! it fails in its place, and the others still run.

mod folder;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};

use kie_upload::{printable, Client, Upload, BASE64_MAX};

use crate::args::{Options, Usage};
use crate::output::eprint_line;
use crate::verify::can_verify;
use crate::words::{describe, explain, io_words};

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

/// Each upload's label, path, folder and name, checked before anything is sent: names the service
/// cannot store, two uploads stored under one name (they would overwrite each other), and
/// `--verify` of sources it cannot read twice.
pub(crate) fn plan(o: &Options, client: &Client) -> Result<Vec<Planned>, Usage> {
    check_flags(o, client)?;
    let mut plan = Vec::with_capacity(o.sources.len());
    // Names under a folder SRC that the service cannot store: all reported, then nothing is sent.
    let mut unstorable = Vec::new();
    for source in &o.sources {
        plan_source(o, client, source, &mut plan, &mut unstorable)?;
    }
    if o.base64 {
        for p in plan.iter_mut().filter(|p| p.refused.is_none()) {
            p.refused = base64_refusal(p.size);
        }
    }
    check_names(&plan, unstorable)?;
    if o.name.is_some() && plan.len() > 1 {
        return Err(format!("--name names one upload, but {} SRC were given", plan.len()).into());
    }
    check_pipes(&plan)?;
    check_clashes(&plan)?;
    Ok(plan)
}

/// The flags `-p` and `-n` themselves, as every upload will check them.
fn check_flags(o: &Options, client: &Client) -> Result<(), Usage> {
    let mut flags = Upload::bytes([], &o.upload_path);
    if let Some(name) = &o.name {
        flags = flags.file_name(name);
    }
    flags
        .validate()
        .map_err(|e| Usage(client.redact(&explain(&e))))
}

/// Adds one SRC to the plan: standard input, every file under a folder with `-r`, or a file.
fn plan_source(
    o: &Options,
    client: &Client,
    source: &OsString,
    plan: &mut Vec<Planned>,
    unstorable: &mut Vec<String>,
) -> Result<(), Usage> {
    let label = client.redact(&source.to_string_lossy());
    if source == "-" {
        plan.push(plan_stdin(o, label));
        return Ok(());
    }
    let path = PathBuf::from(source);
    let meta = std::fs::metadata(&path);
    if o.recursive && meta.as_ref().is_ok_and(Metadata::is_dir) {
        if o.name.is_some() {
            return Err(format!("--name names one upload, but {label} is a folder").into());
        }
        folder::plan_folder(o, client, &path, plan, unstorable);
        return Ok(());
    }
    plan.push(plan_file(o, source, label, path, &meta)?);
    Ok(())
}

/// Standard input, named by `-n` or by the service.
fn plan_stdin(o: &Options, label: String) -> Planned {
    if o.name.is_none() && !o.dry_run {
        warn_name(
            "standard input",
            "a name the service picks, without an extension",
        );
    }
    Planned {
        label,
        path: None,
        upload_path: o.upload_path.clone(),
        name: o.name.clone(),
        size: None,
        refused: None,
    }
}

/// A file SRC, or a pipe or device named by its path: stored under `-n` or its own name, with its
/// size when it is a regular file; refused when it cannot be looked at or is a folder without -r.
fn plan_file(
    o: &Options,
    source: &OsString,
    label: String,
    path: PathBuf,
    meta: &io::Result<Metadata>,
) -> Result<Planned, Usage> {
    if o.verify {
        can_verify(&path)?;
    }
    let name = match &o.name {
        Some(name) => Some(name.clone()),
        None => name_from(&path, source),
    };
    if let (Some(name), None, Ok(meta)) = (&name, &o.name, meta) {
        if !meta.is_file() && !meta.is_dir() && is_system_path(&path) {
            // `<(cmd)` is /dev/fd/63, stored as "63"; /dev/stdin as "stdin".
            warn_name(&label, &format!("the name {name:?}"));
        }
    }
    let (size, refused) = match meta {
        Err(e) => (None, Some(io_words(e))),
        Ok(meta) if meta.is_dir() => (None, Some("is a directory: use -r".to_owned())),
        Ok(meta) if meta.is_file() => (Some(meta.len()), None),
        Ok(_) => (None, None),
    };
    Ok(Planned {
        label,
        path: Some(path),
        upload_path: o.upload_path.clone(),
        name,
        size,
        refused,
    })
}

/// Every upload's folder and name, as its upload will check them, added to the names already
/// found unstorable under folders: if any, each is said and nothing is sent.
fn check_names(plan: &[Planned], mut unstorable: Vec<String>) -> Result<(), Usage> {
    for p in plan {
        let probe = match (&p.name, &p.path) {
            (Some(name), _) => Upload::bytes([], &p.upload_path).file_name(name),
            (None, Some(path)) if p.refused.is_none() => Upload::file(path, &p.upload_path),
            (None, _) => Upload::bytes([], &p.upload_path),
        };
        if let Err(e) = probe.validate() {
            unstorable.push(format!("{}: {}", p.label, describe(&e)));
        }
    }
    if unstorable.is_empty() {
        return Ok(());
    }
    for why in &unstorable {
        eprint_line(&format!("error: {}", printable(why)));
    }
    Err(Usage(format!(
        "{} cannot be stored on the service (nothing was sent): rename them",
        count(unstorable.len(), "name", "names")
    )))
}

/// Refuses one pipe named twice (`-` and `/dev/stdin`): the second would find it read.
fn check_pipes(plan: &[Planned]) -> Result<(), Usage> {
    let mut pipes = HashMap::new();
    for p in plan {
        if let Some(id) = pipe_identity(p.path.as_deref()) {
            if let Some(first) = pipes.insert(id, &p.label) {
                return Err(Usage(format!(
                    "{first} and {} are the same pipe, which can be read only once",
                    p.label
                )));
            }
        }
    }
    Ok(())
}

/// Refuses two uploads stored under the same folder and name.
fn check_clashes(plan: &[Planned]) -> Result<(), Usage> {
    let mut seen: HashMap<(&str, &str), &str> = HashMap::new();
    for p in plan {
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
    Ok(())
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
pub(crate) fn is_system_path(path: &Path) -> bool {
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
