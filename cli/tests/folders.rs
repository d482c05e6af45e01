//! -r: every regular file under a folder, symbolic links, names the service cannot store, and
//! --dry-run.

mod common;

use common::*;

/// The separator the tool joins a folder and the names under it with: `\` on Windows, where
/// the upload paths still take `/`.
const S: char = std::path::MAIN_SEPARATOR;

/// A folder for `-r` tests: `top.txt`, `sub/b.txt`, `sub/a.txt`, `sub/deeper/c.txt`.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
    for (name, data) in [
        ("top.txt", "top"),
        ("sub/b.txt", "bee"),
        ("sub/a.txt", "ay"),
        ("sub/deeper/c.txt", "sea"),
    ] {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    dir
}

#[test]
fn recursive_uploads_every_file_under_a_folder_to_its_folder_in_sorted_order() {
    let emulator = emulator();
    let dir = tree();
    let root = dir.path().to_str().unwrap();
    let out = run(&emulator, &["-r", "-j", "3", "-p", "site/", "--json", root]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let paths: Vec<_> = lines
        .iter()
        .map(|v| v["filePath"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "site/sub/a.txt",
            "site/sub/b.txt",
            "site/sub/deeper/c.txt",
            "site/top.txt"
        ]
    );
    assert_eq!(lines[0]["source"], format!("{root}{S}sub{S}a.txt"));
    assert_eq!(emulator.stored("site/sub/deeper/c.txt").unwrap(), b"sea");

    // Without -r a folder fails, in the one error format, and the other sources still run.
    let (_other, file) = temp_file("f.txt", b"f");
    let out = run(&emulator, &[root, file.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("error: {root}: is a directory: use -r")),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout.lines().count(), 1);
}

// Unix only: making a symbolic link on Windows takes a privilege most users lack.
#[cfg(unix)]
#[test]
fn symbolic_links_are_skipped_unless_follow_and_a_loop_is_reported() {
    let emulator = emulator();
    let dir = tree();
    let root = dir.path().to_str().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("o.txt"), b"outside").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("sub/linked")).unwrap();
    // A loop: a link back to the top.
    std::os::unix::fs::symlink("../..", dir.path().join("sub/deeper/up")).unwrap();

    let out = run(&emulator, &["-r", "-q", root]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 4);
    assert!(
        out.stderr.contains("2 symbolic links not followed"),
        "{}",
        out.stderr
    );
    assert!(emulator.stored("uploads/sub/linked/o.txt").is_none());

    let out = run(&emulator, &["-r", "-L", "-q", root]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 5, "{}", out.stdout);
    assert_eq!(
        emulator.stored("uploads/sub/linked/o.txt").unwrap(),
        b"outside"
    );
    let errors: Vec<_> = out.stderr.lines().collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].starts_with(&format!("error: {root}/sub/deeper/up: symbolic link loop")),
        "{}",
        errors[0]
    );
}

// Unix only: Windows file names can hold neither bytes that are not UTF-8 nor control characters.
#[cfg(unix)]
#[test]
fn names_the_service_cannot_store_are_reported_before_anything_is_sent() {
    use std::os::unix::ffi::OsStrExt;
    let emulator = emulator();
    let dir = tree();
    let root = dir.path().to_str().unwrap();
    std::fs::write(
        dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt")),
        b"x",
    )
    .unwrap();
    std::fs::write(dir.path().join("sub/bell\x07.txt"), b"x").unwrap();
    let out = run(&emulator, &["-r", root]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("caf\\xe9.txt") || out.stderr.contains("caf"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("not UTF-8"), "{}", out.stderr);
    assert!(out.stderr.contains("control character"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Try 'kie-upload --help'"),
        "{}",
        out.stderr
    );
    assert!(emulator.requests().is_empty());
}

// Unix only, as above.
#[cfg(unix)]
#[test]
fn escape_sequences_in_names_reach_no_warning_raw() {
    use std::os::unix::ffi::OsStrExt;
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    // A SRC whose name is not UTF-8 and sets the terminal's title.
    let title = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9\x1b]0;pwned\x07.txt"));
    std::fs::write(&title, b"x").unwrap();
    // A folder named with a colour change, holding only a symbolic link.
    let red = dir.path().join("\x1b[31mred");
    std::fs::create_dir(&red).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", red.join("link")).unwrap();
    let dry_run = |args: &[&std::ffi::OsStr]| {
        let mut command = command(&emulator);
        command.env("KIE_API_KEY", KEY).arg("--dry-run").args(args);
        finish(&mut command, b"")
    };
    let named = dry_run(&[title.as_os_str()]);
    assert!(named.stderr.contains("not UTF-8"), "{}", named.stderr);
    let walked = dry_run(&["-r".as_ref(), red.as_os_str()]);
    assert!(walked.stderr.contains("not followed"), "{}", walked.stderr);
    for out in [&named, &walked] {
        assert!(!out.stderr.contains('\x1b'), "{:?}", out.stderr);
        assert!(!out.stdout.contains('\x1b'), "{:?}", out.stdout);
    }
    assert!(emulator.requests().is_empty());
}

#[test]
fn dry_run_prints_source_upload_path_name_and_size_and_sends_nothing() {
    let emulator = emulator();
    let dir = tree();
    let root = dir.path().to_str().unwrap();
    let out = run(&emulator, &["-r", "--dry-run", "-p", "p", root]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<_> = out.stdout.lines().collect();
    assert_eq!(lines[0], format!("{root}{S}sub{S}a.txt\tp/sub\ta.txt\t2"));
    assert_eq!(lines[3], format!("{root}{S}top.txt\tp\ttop.txt\t3"));
    let out = run(&emulator, &["-r", "--dry-run", "--json", root]);
    let v: serde_json::Value = serde_json::from_str(out.stdout.lines().nth(2).unwrap()).unwrap();
    assert_eq!(v["uploadPath"], "uploads/sub/deeper");
    assert_eq!(v["fileName"], "c.txt");
    assert_eq!(v["size"], 3);
    assert!(emulator.requests().is_empty());
}

/// Issue 24 item 8: a file the walk found, turned into a FIFO without a writer before its upload
/// starts, fails at once with a line that says so, and the batch ends (it blocked in `open()`
/// forever, which `--timeout` does not cover).
// Unix only: a FIFO (mkfifo) has no counterpart on Windows that a path can name.
#[cfg(unix)]
#[test]
fn a_file_turned_into_a_fifo_after_the_walk_fails_without_hanging() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    // Each reply waits 5 s: time to swap the second file while the first is in flight, however
    // slow the machine (a shorter wait made this a race the test could lose).
    let emulator =
        emulator_with(kie_upload_emulator::Config::new(KEY).answer_delay(Duration::from_secs(5)));
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&a, "first").unwrap();
    std::fs::write(&b, "second").unwrap();
    let mut child = command(&emulator)
        .env("KIE_API_KEY", KEY)
        .args(["-r", "-j", "1", "-p", "walk", "--timeout", "15"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bound = Instant::now() + Duration::from_secs(40);
    while emulator.attempts(STREAM) == 0 && Instant::now() < bound {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::remove_file(&b).unwrap();
    assert!(Command::new("mkfifo").arg(&b).status().unwrap().success());
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > bound {
            let _ = child.kill();
            // Unblock an open() on the FIFO, so the stuck process can go.
            drop(std::fs::OpenOptions::new().write(true).open(&b));
            panic!("the batch hung on a file turned into a FIFO after the walk");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stdout.trim().ends_with("/walk/a.txt"), "{stdout}");
    let line = stderr.lines().find(|l| l.contains("b.txt: ")).unwrap_or("");
    assert!(
        line.contains("is no longer the regular file found"),
        "{stderr}"
    );
}

/// A folder for the selection tests.
fn gallery() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "a.txt",
        "b.jpg",
        "docs/c.txt",
        "docs/secret.txt",
        "docs/deep/d.txt",
        "img/e.jpg",
    ] {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, name).unwrap();
    }
    dir
}

/// `--dry-run`'s files, as paths under `root` with `/` between folders (or as given, for a
/// source outside it).
fn planned(emulator: &kie_upload_emulator::Emulator, root: &str, args: &[&str]) -> Vec<String> {
    let mut all = vec!["--dry-run"];
    all.extend(args);
    let out = run(emulator, &all);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
        .lines()
        .map(|l| {
            let source = l.split('\t').next().unwrap();
            source.strip_prefix(root).map_or(source.to_owned(), |s| {
                s.trim_start_matches(['/', S]).replace(S, "/")
            })
        })
        .collect()
}

#[test]
fn include_and_exclude_choose_among_the_files_r_finds_first_match_deciding() {
    let emulator = emulator();
    let dir = gallery();
    let root = dir.path().to_str().unwrap();
    // The first rule that matches decides; with an --include, a file no rule matches stays out.
    let got = planned(
        &emulator,
        root,
        &["-r", "--exclude", "secret.txt", "--include", "*.txt", root],
    );
    assert_eq!(got, ["a.txt", "docs/c.txt", "docs/deep/d.txt"]);
    // The other order: the --include matches secret.txt first.
    let got = planned(
        &emulator,
        root,
        &["-r", "--include", "*.txt", "--exclude", "secret.txt", root],
    );
    assert_eq!(
        got,
        ["a.txt", "docs/c.txt", "docs/deep/d.txt", "docs/secret.txt"]
    );
    // Only excludes: everything else goes.
    let got = planned(&emulator, root, &["-r", "--exclude", "docs/**", root]);
    assert_eq!(got, ["a.txt", "b.jpg", "img/e.jpg"]);
    // `/` anchors at the folder; `*` stays within a folder, `**` does not.
    let got = planned(&emulator, root, &["-r", "--include", "/*.txt", root]);
    assert_eq!(got, ["a.txt"]);
    let got = planned(&emulator, root, &["-r", "--include", "/docs/*", root]);
    assert_eq!(got, ["docs/c.txt", "docs/secret.txt"]);
    let got = planned(&emulator, root, &["-r", "--include", "/docs/**", root]);
    assert_eq!(got, ["docs/c.txt", "docs/deep/d.txt", "docs/secret.txt"]);
    let got = planned(&emulator, root, &["-r", "--include", "{a,e}.*", root]);
    assert_eq!(got, ["a.txt", "img/e.jpg"]);
}

#[test]
fn filters_leave_sources_named_on_the_command_line_alone() {
    let emulator = emulator();
    let dir = gallery();
    let root = dir.path().to_str().unwrap();
    let named = format!("{root}/a.txt");
    let got = planned(&emulator, root, &["-r", "--include", "*.jpg", &named, root]);
    assert_eq!(got, ["a.txt", "b.jpg", "img/e.jpg"]);
    // Without -r there is nothing to choose among.
    let out = run(&emulator, &["--include", "*.jpg", &named]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("go with -r"), "{}", out.stderr);
    // A filter that leaves nothing says so.
    let out = run(&emulator, &["-r", "--dry-run", "--include", "*.png", root]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    assert!(
        out.stderr.contains("leave out all 6 files"),
        "{}",
        out.stderr
    );
}

#[test]
fn files_from_reads_paths_as_if_given_on_the_command_line() {
    let emulator = emulator();
    let dir = gallery();
    let root = dir.path().to_str().unwrap();
    let list = dir.path().join("list.txt");
    std::fs::write(
        &list,
        format!("# the two text files\r\n{root}/a.txt\r\n\n   \n{root}/docs/c.txt\n"),
    )
    .unwrap();
    let list = list.to_str().unwrap();
    let got = planned(&emulator, root, &["--files-from", list]);
    assert_eq!(got, ["a.txt", "docs/c.txt"]);
    // With sources on the command line too: those first, then the list's.
    let named = format!("{root}/b.jpg");
    let got = planned(&emulator, root, &["--files-from", list, &named]);
    assert_eq!(got, ["b.jpg", "a.txt", "docs/c.txt"]);
    // From standard input, NUL-separated: a name is taken as it is.
    let odd = dir.path().join("# not a comment");
    std::fs::write(&odd, "odd").unwrap();
    let input = format!("{root}/img/e.jpg\0{}\0", odd.display());
    let out = run_with(
        &emulator,
        KEY,
        &["--dry-run", "--null", "--files-from", "-"],
        input.as_bytes(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let names: Vec<_> = out
        .stdout
        .lines()
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    assert_eq!(names, ["e.jpg", "# not a comment"]);
    // Then - cannot also be a source.
    let out = run_with(&emulator, KEY, &["--files-from", "-", "-"], b"x\n");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("- cannot also be a SRC"),
        "{}",
        out.stderr
    );
    // A list that cannot be read says so in words.
    let out = run(&emulator, &["--files-from", &format!("{root}/none")]);
    assert_eq!(out.code, 2);
    assert!(
        says_missing(&out.stderr, "cannot read it: "),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("os error"), "{}", out.stderr);
    let out = run(&emulator, &["--null", &named]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--null goes with --files-from"),
        "{}",
        out.stderr
    );
}

// Unix only: /dev/zero.
#[cfg(unix)]
#[test]
fn files_from_a_stream_that_is_no_list_is_refused_without_reading_it_all() {
    // A device, or an image given by mistake: no line of it is a path, and the tool must say so
    // rather than read it into memory to the end (which /dev/zero has not).
    let emulator = emulator();
    for (args, says) in [
        (&["--files-from", "/dev/zero"][..], "is no path"),
        (&["--null", "--files-from", "/dev/zero"][..], "MiB of names"),
    ] {
        let out = run(&emulator, args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("error: --files-from /dev/zero: ") && out.stderr.contains(says),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(emulator.requests().is_empty());
}

#[test]
fn an_empty_files_from_list_says_so() {
    // A script whose list came out empty (a `find` that matched nothing) hears of it.
    let emulator = emulator();
    let out = run_with(&emulator, KEY, &["--files-from", "-"], b"# nothing\n\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr, "warning: --files-from -: no names in it; nothing to upload\n",
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}
