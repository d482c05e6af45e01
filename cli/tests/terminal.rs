//! On a person's terminal: the tool runs on a pseudo-terminal and the tests read the final screen
//! through a VT100 emulator, at 100 columns and at 40. Every result stays on screen, in order,
//! with no progress bar left behind; Ctrl-C and SIGTERM end a batch with what was stored; typed
//! standard input ends at one Ctrl-D; a URL whose scheme does not match the port says so.
// Linux only: a pseudo-terminal (rustix's openpty) and signals; Windows has neither.
#![cfg(target_os = "linux")]

mod common;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use common::pty::{self, lines, Ended, Terminal};
use common::*;
use kie_upload_emulator::{Config, Emulator, Fault};
use rustix::process::Signal;

/// A wide terminal and a narrow one.
const WIDTHS: [u16; 2] = [100, 40];

/// The tool with `args`, as a person runs it: a colour terminal, the key in the environment.
fn tool(emulator: &Emulator, args: &[&str]) -> Command {
    let mut command = command(emulator);
    command
        .env("KIE_API_KEY", KEY)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .args(args);
    command
}

/// An emulator slow enough to answer that the progress display is drawn between results.
fn slow_emulator() -> Emulator {
    emulator_with(Config::new(KEY).answer_delay(Duration::from_millis(150)))
}

/// `count` files of `size` bytes named `f00.bin`, `f01.bin`, ... in a new folder.
fn files(count: usize, size: usize) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = (0..count)
        .map(|i| {
            let path = dir.path().join(format!("f{i:02}.bin"));
            std::fs::write(&path, payload(size + i)).unwrap();
            path.to_string_lossy().into_owned()
        })
        .collect();
    (dir, paths)
}

fn args<'a>(flags: &[&'a str], paths: &'a [String]) -> Vec<&'a str> {
    let mut args = flags.to_vec();
    args.extend(paths.iter().map(String::as_str));
    args
}

/// The URLs on a screen, in order (a URL wrapped over several rows is one line).
fn urls(screen: &str) -> Vec<&str> {
    lines(screen)
        .into_iter()
        .filter(|l| l.starts_with("http://"))
        .collect()
}

/// The screen holds exactly the results, whose URLs end with `ends`, in order, and lines of the
/// tool's own (`kie-upload: ...`): no bar, and no piece of one.
fn assert_only_results(ended: &Ended, ends: &[String]) {
    let screen = &ended.screen;
    let urls = urls(screen);
    assert_eq!(urls.len(), ends.len(), "the URLs on the screen:\n{screen}");
    for (url, end) in urls.iter().zip(ends) {
        assert!(url.ends_with(end.as_str()), "{url} for {end}:\n{screen}");
    }
    for line in lines(screen) {
        assert!(
            line.starts_with("http://") || line.starts_with("kie-upload: "),
            "a line that is neither a result nor the tool's own (a bar left behind?): {line:?}\n\
             the screen:\n{screen}"
        );
    }
}

/// Something was drawn and moved over: the progress display was on.
fn assert_bars_were_drawn(ended: &Ended) {
    let raw = String::from_utf8_lossy(&ended.raw);
    assert!(
        raw.contains("\x1b["),
        "no progress display was drawn; the test shows nothing:\n{raw}"
    );
}

#[test]
fn a_batch_keeps_every_url_on_screen_in_order() {
    let emulator = slow_emulator();
    let (_dir, paths) = files(20, 150_000);
    for cols in WIDTHS {
        let terminal = Terminal::start(
            tool(&emulator, &args(&["-j", "4", "-p", "batch"], &paths)),
            cols,
        );
        let ended = terminal.finish();
        assert_eq!(ended.code(), 0, "{}", ended.screen);
        let ends: Vec<_> = (0..20).map(|i| format!("/batch/f{i:02}.bin")).collect();
        assert_only_results(&ended, &ends);
        assert_bars_were_drawn(&ended);
        let summary = lines(&ended.screen).pop().unwrap().to_owned();
        assert!(summary.starts_with("kie-upload: 20 stored"), "{summary}");
    }
}

#[test]
fn names_in_wide_characters_leave_no_bar_behind() {
    // Each of these characters takes two columns: a line that counted them as one would run
    // past the last column, wrap, and leave a row behind at each redraw.
    let emulator = slow_emulator();
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<String> = (0..8)
        .map(|i| {
            let path = dir
                .path()
                .join(format!("写真写真写真写真写真写真写真写真写真_{i}.bin"));
            std::fs::write(&path, payload(150_000 + i)).unwrap();
            path.to_string_lossy().into_owned()
        })
        .collect();
    for cols in WIDTHS {
        let ended = Terminal::start(
            tool(&emulator, &args(&["-j", "2", "-p", "wide"], &paths)),
            cols,
        )
        .finish();
        assert_eq!(ended.code(), 0, "{}", ended.screen);
        let ends: Vec<_> = (0..8).map(|i| format!("_{i}.bin")).collect();
        assert_only_results(&ended, &ends);
        assert_bars_were_drawn(&ended);
    }
}

#[test]
fn keys_typed_during_a_batch_leave_no_bar_behind_and_echo_comes_back() {
    // An impatient person presses Enter, types, presses Enter again: each echoed line break
    // would move the cursor off the display, and every later redraw would land a row too low.
    let emulator = slow_emulator();
    let (_dir, paths) = files(12, 150_000);
    for cols in WIDTHS {
        let mut terminal = Terminal::start(
            tool(&emulator, &args(&["-j", "2", "-p", "keys"], &paths)),
            cols,
        );
        terminal.wait_for("the progress display", |screen| screen.contains("files"));
        terminal.type_in(b"\r");
        terminal.type_in(b"is it stuck?\r");
        let ended = terminal.finish();
        assert_eq!(ended.code(), 0, "{}", ended.screen);
        let ends: Vec<_> = (0..12).map(|i| format!("/keys/f{i:02}.bin")).collect();
        assert_only_results(&ended, &ends);
        assert!(ended.echo, "the terminal no longer echoes");
    }
}

#[test]
fn a_folder_keeps_every_url_on_screen_in_order() {
    let emulator = slow_emulator();
    let dir = tempfile::tempdir().unwrap();
    for (folder, n) in [("a", 4), ("a/deep", 3), ("b", 5)] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        for i in 0..n {
            std::fs::write(
                dir.path().join(format!("{folder}/g{i}.bin")),
                payload(90_000),
            )
            .unwrap();
        }
    }
    let root = dir.path().to_str().unwrap();
    for cols in WIDTHS {
        let ended = Terminal::start(
            tool(&emulator, &["-r", "-j", "3", "-p", "tree", root]),
            cols,
        )
        .finish();
        assert_eq!(ended.code(), 0, "{}", ended.screen);
        assert_only_results(&ended, &walk_order(dir.path()));
        assert_bars_were_drawn(&ended);
    }
}

/// The URL ends of the files under `root`, in the order -r sends them (sorted names, going down
/// into each folder where its name falls).
fn walk_order(root: &std::path::Path) -> Vec<String> {
    fn visit(dir: &std::path::Path, folder: &str, out: &mut Vec<String>) {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let inner = format!("{folder}/{name}");
            if path.is_dir() {
                visit(&path, &inner, out);
            } else {
                out.push(inner);
            }
        }
    }
    let mut out = Vec::new();
    visit(root, "/tree", &mut out);
    out
}

#[test]
fn one_large_file_shows_its_percentage_and_keeps_its_url() {
    // A guard: one file was never erased. Its line gains a percentage.
    let emulator = emulator_with(Config::new(KEY).answer_delay(Duration::from_millis(700)));
    let (_dir, path) = temp_file("large.bin", &payload(24 << 20));
    let path = path.to_str().unwrap();
    for cols in WIDTHS {
        let ended = Terminal::start(tool(&emulator, &["-p", "big", path]), cols).finish();
        assert_eq!(ended.code(), 0, "{}", ended.screen);
        // In what the tool wrote, not on a screen sampled while it ran: a sample can miss a
        // display that lasts only as long as the upload.
        let raw = String::from_utf8_lossy(&ended.raw);
        assert!(raw.contains('%'), "no percentage in {raw:?}");
        assert_only_results(&ended, &["/big/large.bin".to_owned()]);
    }
}

#[test]
fn the_display_redraws_cleanly_after_the_terminal_narrows() {
    let emulator = slow_emulator();
    let (_dir, paths) = files(16, 150_000);
    // The last source is a FIFO that the test feeds only after the resize: the display is still
    // up then, however slow the machine (a batch of files alone could end before it was seen).
    let last = &paths[15];
    std::fs::remove_file(last).unwrap();
    let made = Command::new("mkfifo").arg(last).status();
    assert!(made.unwrap().success());
    let terminal = Terminal::start(
        tool(&emulator, &args(&["-j", "2", "-p", "narrow"], &paths)),
        100,
    );
    terminal.wait_for("the progress display", |screen| screen.contains("files"));
    terminal.resize(40);
    // Not joined: should the tool never open the FIFO, this open would block for ever, and the
    // missing result fails the test anyway.
    let fifo = last.clone();
    std::thread::spawn(move || {
        if let Ok(mut writer) = std::fs::OpenOptions::new().write(true).open(fifo) {
            let _ = std::io::Write::write_all(&mut writer, &payload(150_000));
        }
    });
    let ended = terminal.finish();
    assert_eq!(ended.code(), 0, "{}", ended.screen);
    let ends: Vec<_> = (0..16).map(|i| format!("/narrow/f{i:02}.bin")).collect();
    assert_only_results(&ended, &ends);
}

#[test]
fn no_color_and_a_dumb_terminal_get_no_bars_and_no_escapes() {
    let emulator = slow_emulator();
    let (_dir, paths) = files(6, 100_000);
    for cols in WIDTHS {
        for (var, value) in [("NO_COLOR", "1"), ("TERM", "dumb")] {
            let mut command = tool(&emulator, &args(&["-p", "plain"], &paths));
            command.env(var, value);
            let ended = Terminal::start(command, cols).finish();
            assert_eq!(ended.code(), 0, "{}", ended.screen);
            let raw = String::from_utf8_lossy(&ended.raw);
            assert!(
                !raw.contains('\x1b'),
                "{var}={value}: an escape sequence in {raw:?}"
            );
            let ends: Vec<_> = (0..6).map(|i| format!("/plain/f{i:02}.bin")).collect();
            assert_only_results(&ended, &ends);
        }
    }
}

/// Runs a batch of 8 files one at a time, lets three finish, holds the next upload unanswered
/// once the service has read it all, and sends `signal`: the run must end by it, long before the
/// held upload would.
fn interrupt(cols: u16, signal: Signal, json: bool) -> (Emulator, Ended) {
    let emulator = slow_emulator();
    // Scripted before the run, so that no slow test thread can let the batch finish first: three
    // answers (a drip without pauses is a normal answer), then every upload held, its connection
    // open for 60 s, unanswered.
    emulator.inject(
        Fault::Drip {
            pause: Duration::ZERO,
        },
        3,
    );
    emulator.inject(Fault::NeverAnswer, 100);
    let (dir, paths) = files(8, 150_000);
    let mut flags = vec!["-j", "1", "-p", "stop"];
    if json {
        flags.push("--json");
    }
    let terminal = Terminal::start(tool(&emulator, &args(&flags, &paths)), cols);
    terminal.wait_for("three results", |screen| {
        let done = lines(screen)
            .iter()
            .filter(|l| l.starts_with("http://") || l.starts_with('{'))
            .count();
        done >= 3
    });
    let started = std::time::Instant::now();
    // The held upload is recorded once the service has read all of its body: from then on the
    // tool cannot know whether it was stored.
    while emulator.unused_faults().len() >= 100 || emulator.requests().len() < 4 {
        assert!(started.elapsed() < pty::BOUND, "no upload was held");
        std::thread::sleep(Duration::from_millis(20));
    }
    terminal.signal(signal);
    let ended = terminal.finish();
    drop(dir);
    (emulator, ended)
}

/// How many of the 8 files the emulator stored.
fn stored(emulator: &Emulator) -> usize {
    (0..8)
        .filter(|i| emulator.stored(&format!("stop/f{i:02}.bin")).is_some())
        .count()
}

#[test]
fn ctrl_c_keeps_the_urls_and_says_what_was_stored_and_how_to_go_on() {
    for cols in WIDTHS {
        let (emulator, ended) = interrupt(cols, Signal::INT, false);
        // 130 = 128 + SIGINT, as the shell reports a command that Ctrl-C ended; the held upload
        // would have kept it for a minute.
        assert_eq!(ended.code(), 130, "{}", ended.screen);
        let done = stored(&emulator);
        let ends: Vec<_> = (0..done).map(|i| format!("/stop/f{i:02}.bin")).collect();
        assert_only_results(&ended, &ends);
        assert_bars_were_drawn(&ended);
        // The held upload's whole body reached the service, which may have stored it: it is
        // not counted among those not stored.
        let last = lines(&ended.screen).pop().unwrap().to_owned();
        assert!(
            last.contains("interrupted")
                && last.contains(&format!("{done} of 8 stored"))
                && last.contains("1 sent but not confirmed")
                && last.contains(&format!("{} not stored", 7 - done))
                && last.contains("--reuse"),
            "{last}"
        );
    }
}

#[test]
fn sigterm_ends_the_same_way_with_143() {
    for cols in WIDTHS {
        let (emulator, ended) = interrupt(cols, Signal::TERM, false);
        assert_eq!(ended.code(), 143, "{}", ended.screen);
        let done = stored(&emulator);
        let ends: Vec<_> = (0..done).map(|i| format!("/stop/f{i:02}.bin")).collect();
        assert_only_results(&ended, &ends);
        let last = lines(&ended.screen).pop().unwrap().to_owned();
        assert!(last.contains("interrupted"), "{last}");
    }
}

#[test]
fn ctrl_c_with_json_gives_a_line_for_each_unfinished_source() {
    for cols in WIDTHS {
        let (emulator, ended) = interrupt(cols, Signal::INT, true);
        assert_eq!(ended.code(), 130, "{}", ended.screen);
        let objects: Vec<serde_json::Value> = lines(&ended.screen)
            .into_iter()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(objects.len(), 8, "{}", ended.screen);
        let done = stored(&emulator);
        for (i, object) in objects.iter().enumerate() {
            let source = object["source"].as_str().unwrap();
            assert!(source.ends_with(&format!("f{i:02}.bin")), "{object}");
            if i < done {
                assert!(object["downloadUrl"].is_string(), "{object}");
            } else if i == done {
                // Held unanswered after the service read all of it.
                assert_eq!(
                    object["error"], "interrupted: sent, not confirmed (the service may have it)",
                    "{object}"
                );
            } else {
                assert_eq!(object["error"], "interrupted: not stored", "{object}");
            }
        }
    }
}

#[test]
fn typed_standard_input_ends_at_one_ctrl_d() {
    let emulator = emulator();
    for cols in WIDTHS {
        let mut terminal = Terminal::start(tool(&emulator, &["-p", "typed", "-"]), cols);
        terminal.type_in(b"typed at a terminal\n");
        terminal.type_in(b"\x04");
        // One Ctrl-D is all a person types: the run ends without another.
        let ended = terminal.finish();
        assert_eq!(ended.code(), 0, "{}", ended.screen);
        assert_eq!(urls(&ended.screen).len(), 1, "{}", ended.screen);
    }
    let sent: Vec<_> = emulator.requests();
    assert_eq!(sent.len(), 2);
    let file = sent[0].parts.iter().find(|p| p.name == "file").unwrap();
    assert_eq!(file.size, "typed at a terminal\n".len() as u64);
}
/// Runs one upload to `base_url` on a terminal of `cols`, with `-v` so each attempt shows.
fn upload_to(emulator: &Emulator, base_url: &str, cols: u16, extra: &[&str]) -> Ended {
    let (_dir, path) = temp_file("scheme.txt", b"which protocol?");
    let mut flags = vec!["-v", "--base-url", base_url];
    flags.extend(extra);
    flags.push(path.to_str().unwrap());
    Terminal::start(tool(emulator, &flags), cols).finish()
}

/// Exactly one attempt, and the screen says `what`, once joined (a narrow screen wraps it).
fn assert_one_attempt_saying(ended: &Ended, what: &[&str]) {
    let screen = &ended.screen;
    assert_eq!(ended.code(), 1, "{screen}");
    assert!(screen.contains("attempt 1"), "{screen}");
    assert!(!screen.contains("attempt 2"), "retried:\n{screen}");
    let joined = lines(screen).join(" ");
    for words in what {
        assert!(joined.contains(words), "{words:?} not in:\n{screen}");
    }
}

#[test]
fn https_to_a_plain_http_port_fails_at_once_and_says_use_http() {
    let emulator = emulator();
    let port = emulator.port();
    for cols in WIDTHS {
        let ended = upload_to(&emulator, &format!("https://127.0.0.1:{port}"), cols, &[]);
        assert_one_attempt_saying(
            &ended,
            &["plain HTTP", &format!("use http://127.0.0.1:{port}")],
        );
    }
}

#[test]
fn http_to_a_tls_port_fails_at_once_and_says_use_https() {
    let emulator = emulator_with(Config::new(KEY).tls(true));
    let port = emulator.port();
    for cols in WIDTHS {
        let ended = upload_to(&emulator, &format!("http://127.0.0.1:{port}"), cols, &[]);
        assert_one_attempt_saying(&ended, &["TLS", &format!("use https://127.0.0.1:{port}")]);
    }
}

#[test]
fn https_to_a_silent_server_ends_at_the_stall_bound_and_names_the_scheme() {
    let emulator = emulator();
    // Accepts connections and never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut held = Vec::new();
        for tcp in silent.incoming().take(4) {
            held.push(tcp);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    for cols in WIDTHS {
        let base = format!("https://127.0.0.1:{port}");
        let ended = upload_to(
            &emulator,
            &base,
            cols,
            &["--timeout", "2", "--retries", "0"],
        );
        assert_eq!(ended.code(), 1, "{}", ended.screen);
        let joined = lines(&ended.screen).join(" ");
        assert!(joined.contains("https://"), "{}", ended.screen);
        assert!(joined.contains("TLS"), "{}", ended.screen);
    }
    drop(held);
}

/// A batch of 8 files, two at a time, when Ctrl-C is typed at the terminal: the first three
/// uploads to reach the service answered, then `held` uploads stored by the service with their
/// reply held back (a reply that starts and never ends), then the rest answered at once. Ctrl-C is
/// typed once every upload that can reach the service has, while the held ones' bars are up.
fn ctrl_c_while_replies_are_held(cols: u16, held: usize, json: bool) -> (Emulator, Ended) {
    ctrl_c_while_replies_are_held_with(cols, held, json, &[], 1)
}

/// [`ctrl_c_while_replies_are_held`], with `env` set for the tool, and Ctrl-C pressed `presses`
/// times in a row.
fn ctrl_c_while_replies_are_held_with(
    cols: u16,
    held: usize,
    json: bool,
    env: &[(&str, &str)],
    presses: usize,
) -> (Emulator, Ended) {
    let emulator = slow_emulator();
    let answer = Fault::Drip {
        pause: Duration::ZERO,
    };
    emulator.inject(answer.clone(), 3);
    emulator.inject(
        Fault::Drip {
            pause: Duration::from_secs(60),
        },
        held,
    );
    emulator.inject(answer, 100);
    let (dir, paths) = files(8, 150_000);
    let mut flags = vec!["-j", "2", "-p", "stop"];
    if json {
        flags.push("--json");
    }
    let mut command = tool(&emulator, &args(&flags, &paths));
    command.envs(env.iter().copied());
    let mut terminal = Terminal::start(command, cols);
    // Two held uploads block both workers after five requests; one lets all eight through.
    let reach = if held >= 2 { 5 } else { 8 };
    let started = std::time::Instant::now();
    while emulator.requests().len() < reach {
        assert!(
            started.elapsed() < pty::BOUND,
            "the uploads never reached the service"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Time for the last replies to arrive and the bars to be drawn; the echoed ^C lands after
    // them. (Were they not drawn yet, the tests below would pass without showing anything.)
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..presses {
        terminal.press_ctrl_c();
        std::thread::sleep(Duration::from_millis(30));
    }
    let ended = terminal.finish();
    drop(dir);
    (emulator, ended)
}

#[test]
fn ctrl_c_typed_while_replies_are_awaited_leaves_no_bar_behind() {
    for cols in WIDTHS {
        let (emulator, ended) = ctrl_c_while_replies_are_held(cols, 2, false);
        assert_eq!(ended.code(), 130, "{}", ended.screen);
        assert_eq!(stored(&emulator), 5, "{}", ended.screen);
        let shown = urls(&ended.screen);
        assert!(shown.len() >= 2, "{}", ended.screen);
        let ends: Vec<String> = shown
            .iter()
            .map(|url| url[url.rfind("/stop/").unwrap()..].to_owned())
            .collect();
        let mut in_order = ends.clone();
        in_order.sort();
        assert_eq!(ends, in_order, "{}", ended.screen);
        assert_only_results(&ended, &ends);
        assert_bars_were_drawn(&ended);
        assert!(ended.echo, "the terminal no longer echoes");
    }
}

#[test]
fn ctrl_c_typed_without_a_display_starts_the_last_line_at_the_margin() {
    // No display to erase the echoed ^C: the last line must not run on after it.
    for cols in WIDTHS {
        let (_emulator, ended) =
            ctrl_c_while_replies_are_held_with(cols, 2, false, &[("NO_COLOR", "1")], 1);
        assert_eq!(ended.code(), 130, "{}", ended.screen);
        let joined = lines(&ended.screen).join(" ");
        assert!(
            joined.contains("kie-upload: interrupted"),
            "{}",
            ended.screen
        );
        for line in lines(&ended.screen) {
            assert!(
                line.starts_with("http://") || line.starts_with("kie-upload: "),
                "{line:?} in\n{}",
                ended.screen
            );
        }
    }
}

#[test]
fn ctrl_c_twice_ends_at_once_and_still_leaves_a_clean_screen() {
    for cols in WIDTHS {
        let (emulator, ended) = ctrl_c_while_replies_are_held_with(cols, 2, false, &[], 2);
        assert_eq!(ended.code(), 130, "{}", ended.screen);
        let shown = urls(&ended.screen);
        let ends: Vec<String> = shown
            .iter()
            .map(|url| url[url.rfind("/stop/").unwrap()..].to_owned())
            .collect();
        assert_only_results(&ended, &ends);
        let (said_stored, said_not) = interrupted_counts(&ended, 8);
        assert_eq!(said_stored, ends.len(), "{}", ended.screen);
        assert!(said_not <= 8 - stored(&emulator), "{}", ended.screen);
        assert!(ended.echo, "the terminal no longer echoes");
    }
}

/// The numbers of the interrupted run's last line: those it says were stored, and those it says
/// were not (`5 not`, `5 not stored`; "not confirmed" says they may have been).
fn interrupted_counts(ended: &Ended, of: usize) -> (usize, usize) {
    let joined = lines(&ended.screen).join(" ");
    let last = &joined[joined
        .rfind("kie-upload: interrupted")
        .expect(&ended.screen)..];
    let number_before = |at: usize| -> usize {
        let digits: String = last[..at]
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.chars().rev().collect::<String>().parse().unwrap()
    };
    let stored = number_before(last.find(&format!(" of {of} stored")).expect(last));
    let not_stored = last
        .match_indices(" not")
        .filter(|(at, _)| !last[at + 4..].starts_with(" confirmed"))
        .map(|(at, _)| number_before(at))
        .sum();
    (stored, not_stored)
}

#[test]
fn an_interrupted_batch_never_says_a_stored_file_was_not_stored() {
    for (cols, held) in [(100, 2), (40, 1)] {
        let (emulator, ended) = ctrl_c_while_replies_are_held(cols, held, false);
        assert_eq!(ended.code(), 130, "{}", ended.screen);
        let on_service = stored(&emulator);
        let (said_stored, said_not) = interrupted_counts(&ended, 8);
        assert!(said_stored <= on_service, "{}", ended.screen);
        assert!(
            said_not <= 8 - on_service,
            "{on_service} stored:\n{}",
            ended.screen
        );
        // Every file the tool counts as stored has its URL on the screen.
        assert_eq!(urls(&ended.screen).len(), said_stored, "{}", ended.screen);
        for url in urls(&ended.screen) {
            let name = &url[url.rfind("/stop/").unwrap() + 1..];
            assert!(emulator.stored(name).is_some(), "{url}");
        }
    }
}

#[test]
fn an_interrupted_batch_in_json_says_which_may_be_stored() {
    let (emulator, ended) = ctrl_c_while_replies_are_held(100, 1, true);
    assert_eq!(ended.code(), 130, "{}", ended.screen);
    let objects: Vec<serde_json::Value> = lines(&ended.screen)
        .into_iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(objects.len(), 8, "{}", ended.screen);
    for object in &objects {
        let source = object["source"].as_str().unwrap();
        let name = format!("stop/{}", &source[source.len() - 7..]);
        let on_service = emulator.stored(&name).is_some();
        if object["downloadUrl"].is_string() {
            assert!(on_service, "{object}");
        } else if on_service {
            assert_ne!(object["error"], "interrupted: not stored", "{object}");
        }
    }
}

#[test]
fn ctrl_c_during_verify_keeps_the_url_the_service_confirmed() {
    // Every answer, the download's too, comes after 3 s: Ctrl-C is typed while --verify waits
    // for the stored copy, after the service has said it stored the file.
    let emulator = emulator_with(Config::new(KEY).answer_delay(Duration::from_secs(3)));
    let (_dir, path) = temp_file("checked.bin", &payload(100_000));
    for cols in WIDTHS {
        let before = emulator.requests().len();
        let mut terminal = Terminal::start(
            tool(
                &emulator,
                &["--verify", "-p", "check", path.to_str().unwrap()],
            ),
            cols,
        );
        let started = std::time::Instant::now();
        while emulator.requests().len() < before + 2 {
            assert!(started.elapsed() < pty::BOUND, "--verify never downloaded");
            std::thread::sleep(Duration::from_millis(20));
        }
        terminal.press_ctrl_c();
        let ended = terminal.finish();
        assert_eq!(ended.code(), 130, "{}", ended.screen);
        assert_only_results(&ended, &["/check/checked.bin".to_owned()]);
        let (stored, not_stored) = interrupted_counts(&ended, 1);
        assert_eq!((stored, not_stored), (1, 0), "{}", ended.screen);
    }
}
