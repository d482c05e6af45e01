//! `-r`: a folder SRC planned as the regular files under it, each to the upload path plus its
//! folder there, with `--include` and `--exclude` applied and what the walk left out said.

use std::path::{Path, PathBuf};

use kie_upload::{printable, Client};

use super::{count, Planned};
use crate::args::Options;
use crate::output::eprint_line;
use crate::walk::{walk, Found, Walk};

/// Every regular file under the folder `root` that the filters admit, added to `plan`; names the
/// service cannot store go to `unstorable`.
pub(super) fn plan_folder(
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
    warn_skipped(&walk, &shown);
    let found = walk.entries.len();
    let mut left_out = 0;
    for entry in walk.entries {
        // --include and --exclude, on the path under the folder given.
        if under(root, &entry).is_some_and(|under| !o.filter.admits(&under)) {
            left_out += 1;
            continue;
        }
        plan.push(planned(o, client, entry));
    }
    if found > 0 && left_out == found {
        eprint_line(&format!(
            "warning: {shown}: --include and --exclude leave out all {} under it",
            count(found, "file", "files")
        ));
    }
}

/// Says what the walk passed over (links not followed, entries neither file nor folder), or that
/// it found nothing at all.
fn warn_skipped(walk: &Walk, shown: &str) {
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
}

/// An entry's path under `root`, with `/` between folders, as the filters match it.
fn under(root: &Path, entry: &Result<Found, (PathBuf, String)>) -> Option<String> {
    match entry {
        Ok(found) if found.folder.is_empty() => Some(found.name.clone()),
        Ok(found) => Some(format!("{}/{}", found.folder, found.name)),
        Err((path, _)) => path
            .strip_prefix(root)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/")),
    }
}

/// A file found, to its folder on the service under its own name; or an entry the walk could not
/// look at, refused with why.
fn planned(o: &Options, client: &Client, entry: Result<Found, (PathBuf, String)>) -> Planned {
    match entry {
        Ok(found) => Planned {
            label: client.redact(&found.path.to_string_lossy()),
            upload_path: if found.folder.is_empty() {
                o.upload_path.clone()
            } else {
                format!("{}/{}", o.upload_path.trim_matches('/'), found.folder)
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
    }
}
