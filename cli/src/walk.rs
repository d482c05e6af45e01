//! `-r`: the regular files under a directory SRC, in a sorted, stable order, each with the folder
//! it goes to on the service. With std::fs only: one directory is open at a time (read whole,
//! sorted, closed before going down), and a file is only looked at, never opened, so a tree of any
//! size costs one small entry per file and no file handles.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A regular file found under a SRC.
pub(crate) struct Found {
    pub path: PathBuf,
    /// The folders between SRC and the file, joined with `/`; empty for a file directly in SRC.
    pub folder: String,
    pub name: String,
    pub size: u64,
}

/// What a walk found.
#[derive(Default)]
pub(crate) struct Walk {
    /// Regular files, and entries that cannot be sent (in the same order), each with why not.
    pub entries: Vec<Result<Found, (PathBuf, String)>>,
    /// Names that cannot be stored on the service (not UTF-8): reported before anything is sent.
    pub bad_names: Vec<PathBuf>,
    /// Symbolic links not followed (without `-L`).
    pub links_skipped: usize,
    /// Entries that are neither regular files nor folders (FIFOs, sockets, devices).
    pub others_skipped: usize,
}

/// Walks the folder `root`; `follow` is `-L`.
pub(crate) fn walk(root: &Path, follow: bool) -> Walk {
    let mut walk = Walk::default();
    let mut ancestors = Vec::new();
    if follow {
        if let Ok(real) = fs::canonicalize(root) {
            ancestors.push(real);
        }
    }
    visit(root, "", follow, &mut ancestors, &mut walk);
    walk
}

fn visit(dir: &Path, folder: &str, follow: bool, ancestors: &mut Vec<PathBuf>, walk: &mut Walk) {
    let mut names = match read_names(dir) {
        Ok(names) => names,
        Err(e) => {
            walk.entries.push(Err((
                dir.to_path_buf(),
                format!("cannot read the folder: {}", crate::words::io_words(&e)),
            )));
            return;
        }
    };
    // Byte order of the names: the same on every run and every machine.
    names.sort();
    for os_name in names {
        let path = dir.join(&os_name);
        let Some(name) = os_name.to_str() else {
            walk.bad_names.push(path);
            continue;
        };
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() && !follow => {
                walk.links_skipped += 1;
                continue;
            }
            Ok(meta) if meta.file_type().is_symlink() => fs::metadata(&path),
            other => other,
        };
        let meta = match meta {
            Ok(meta) => meta,
            Err(e) => {
                walk.entries.push(Err((path, describe_io(&e))));
                continue;
            }
        };
        if meta.is_file() {
            walk.entries.push(Ok(Found {
                path,
                folder: folder.to_owned(),
                name: name.to_owned(),
                size: meta.len(),
            }));
        } else if meta.is_dir() {
            let inner = if folder.is_empty() {
                name.to_owned()
            } else {
                format!("{folder}/{name}")
            };
            if follow {
                let real = match fs::canonicalize(&path) {
                    Ok(real) => real,
                    Err(e) => {
                        walk.entries.push(Err((path, describe_io(&e))));
                        continue;
                    }
                };
                if let Some(first) = ancestors.iter().find(|a| **a == real) {
                    let why = format!(
                        "symbolic link loop: leads back to {}, not followed",
                        first.display()
                    );
                    walk.entries.push(Err((path, why)));
                    continue;
                }
                ancestors.push(real);
                visit(&path, &inner, follow, ancestors, walk);
                ancestors.pop();
            } else {
                visit(&path, &inner, follow, ancestors, walk);
            }
        } else {
            walk.others_skipped += 1;
        }
    }
}

/// The names in a folder, read to the end so the folder is closed before going down.
fn read_names(dir: &Path) -> io::Result<Vec<OsString>> {
    fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect()
}

/// An I/O error without the "(os error N)" tail the user does not need twice.
fn describe_io(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::NotFound {
        "broken symbolic link: its target does not exist".to_owned()
    } else {
        crate::words::io_words(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_come_sorted_with_their_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/c")).unwrap();
        for f in ["z.txt", "a.txt", "b/y.txt", "b/c/x.txt", "b0.txt"] {
            fs::write(root.join(f), f).unwrap();
        }
        let walk = walk(root, false);
        let got: Vec<_> = walk
            .entries
            .iter()
            .map(|e| {
                let f = e.as_ref().ok().unwrap();
                format!("{}|{}", f.folder, f.name)
            })
            .collect();
        assert_eq!(got, ["|a.txt", "b/c|x.txt", "b|y.txt", "|b0.txt", "|z.txt"]);
    }
}
