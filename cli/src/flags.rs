//! Every flag, once: `--help`'s option list and the completion scripts are written from this
//! table, and a test holds the man page and the README to it (the same flags, in the same order,
//! each saying first what its line here says).

/// What a flag takes.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Takes {
    Nothing,
    /// A local file (`-` for standard input where the flag says so): completed with file names.
    File,
    /// A local folder: completed with folder names.
    Dir,
    /// A shell's name.
    Shell,
    /// Free text: a folder on the service, a name, a URL, a number, a pattern.
    Text,
}

/// One flag.
pub(crate) struct Flag {
    pub short: Option<char>,
    pub long: &'static str,
    /// The value's name in the help (`DIR`), if it takes one.
    pub value: Option<&'static str>,
    pub takes: Takes,
    /// What it does, as `--help` says it (wrapped there) and as the man page starts.
    pub help: &'static str,
    /// A few words for a completion menu.
    pub brief: &'static str,
}

const fn flag(
    short: Option<char>,
    long: &'static str,
    value: Option<&'static str>,
    takes: Takes,
    help: &'static str,
    brief: &'static str,
) -> Flag {
    Flag {
        short,
        long,
        value,
        takes,
        help,
        brief,
    }
}

use Takes::*;

/// Every flag, in the order `--help` lists them.
// A flag a line or two, as a table reads; rustfmt would give each field a line of its own.
#[rustfmt::skip]
pub(crate) const FLAGS: &[Flag] = &[
    flag(Some('p'), "upload-path", Some("DIR"), Text,
        "destination folder on the service (API field uploadPath; default: uploads)",
        "destination folder on the service"),
    flag(Some('n'), "name", Some("NAME"), Text,
        "file name on the service (API field fileName); only with a single SRC",
        "file name on the service"),
    flag(Some('r'), "recursive", None, Nothing,
        "upload every regular file under each folder SRC, to the upload path plus its folder \
         under SRC, in sorted order",
        "upload every file under each folder"),
    flag(Some('L'), "follow", None, Nothing,
        "with -r, follow symbolic links (a loop is reported, not followed)",
        "with -r, follow symbolic links"),
    flag(None, "include", Some("GLOB"), Text,
        "with -r, upload only the files whose path under SRC matches GLOB (repeatable; the \
         first --include or --exclude that matches decides; * matches within a folder, ** \
         across folders)",
        "with -r, only files matching GLOB"),
    flag(None, "exclude", Some("GLOB"), Text,
        "with -r, leave out the files whose path under SRC matches GLOB (repeatable)",
        "with -r, leave out files matching GLOB"),
    flag(None, "files-from", Some("FILE"), File,
        "read more SRC from FILE (- for standard input), one path a line; blank lines and \
         lines starting with # are skipped",
        "read SRC paths from a file"),
    flag(None, "null", None, Nothing,
        "with --files-from, the paths are separated by NUL characters, not lines (as find \
         -print0 writes them)",
        "--files-from paths end with NUL"),
    flag(None, "dry-run", None, Nothing,
        "print each upload (source, upload path, name, size); send nothing",
        "print each upload, send nothing"),
    flag(None, "base64", None, Nothing,
        "use /api/file-base64-upload (small files, at most 10 MB)",
        "use the base64 endpoint (at most 10 MB)"),
    flag(None, "from-url", Some("URL"), Text,
        "ask the service to fetch URL itself (/api/file-url-upload); takes no SRC",
        "ask the service to fetch a URL"),
    flag(None, "spool", None, Nothing,
        "copy standard input to a temporary file first, so it goes with a length and can be \
         retried",
        "copy standard input to a temporary file first"),
    flag(None, "reuse", None, Nothing,
        "print the live upload of the same bytes to the same upload path and name instead of \
         sending them again (never with --from-url: the service fetches that)",
        "reuse a live upload of the same bytes"),
    flag(None, "cache-dir", Some("DIR"), Dir,
        "where --reuse keeps what was uploaded (default: the user's cache folder); implies \
         --reuse",
        "where --reuse keeps what was uploaded"),
    flag(None, "base-url", Some("URL"), Text,
        "service root, may carry a path prefix (default https://kieai.redpandaai.co)",
        "service root"),
    flag(None, "allow-insecure-http", None, Nothing,
        "allow a plain http:// base URL to a remote host (the key then crosses the network in \
         clear text)",
        "allow a plain http base URL"),
    flag(None, "api-key-file", Some("FILE"), File,
        "read the key from a file (never a key in argv)",
        "read the key from a file"),
    flag(None, "cacert", Some("FILE"), File,
        "trust the CA certificates in this PEM file instead of the default roots",
        "trust the CAs in this PEM file"),
    flag(None, "proxy", Some("URL"), Text,
        "send requests through this proxy",
        "send requests through this proxy"),
    flag(None, "no-proxy", None, Nothing,
        "connect directly, whatever the environment says",
        "connect directly"),
    flag(None, "no-expect", None, Nothing,
        "never ask `Expect: 100-continue` first (for a server that answers 417)",
        "never wait for 100-continue"),
    flag(None, "timeout", Some("SECS"), Text,
        "stall bound: give up when a connect, a socket read or write, or the wait for the \
         reply makes no progress for SECS (at most 86400)",
        "stall bound in seconds"),
    flag(None, "retries", Some("N"), Text,
        "retries for sources that can be re-read (regular files), default 2",
        "retries for regular files"),
    flag(Some('j'), "jobs", Some("N"), Text,
        "parallel uploads when several SRC are given (default 16)",
        "parallel uploads"),
    flag(None, "json", None, Nothing,
        "print one JSON object per line per SRC: the service's data fields plus expiresAt and \
         source (and verified with --verify); or source, error and code for a failure",
        "one JSON object per line"),
    flag(None, "verify", None, Nothing,
        "download each uploaded file back and compare it with the local file",
        "download each file back and compare"),
    flag(Some('v'), "verbose", None, Nothing,
        "log each attempt, its status and timing, each retry and each check on standard error",
        "log attempts, retries and checks"),
    flag(Some('q'), "quiet", None, Nothing,
        "no progress display and no summary line",
        "no progress display, no summary"),
    flag(None, "completions", Some("SHELL"), Shell,
        "print a completion script for bash, zsh or fish",
        "print a completion script"),
    flag(Some('h'), "help", None, Nothing, "print this help", "print the help"),
    flag(Some('V'), "version", None, Nothing, "print the version", "print the version"),
];

/// The column where `--help` starts a flag's text.
const TEXT_COLUMN: usize = 25;
/// `--help`'s lines stay within this many columns.
const WIDTH: usize = 79;

/// The flag's forms as `--help` shows them: `-p, --upload-path DIR` or `    --json`.
pub(crate) fn head(flag: &Flag) -> String {
    let short = match flag.short {
        Some(c) => format!("-{c}, "),
        None => "    ".to_owned(),
    };
    match flag.value {
        Some(value) => format!("{short}--{} {value}", flag.long),
        None => format!("{short}--{}", flag.long),
    }
}

/// `--help`'s option list: each flag's forms, then its text wrapped at [`TEXT_COLUMN`] (on a line
/// of its own when the forms reach it).
pub(crate) fn option_list() -> String {
    let mut out = String::new();
    for flag in FLAGS {
        let head = format!("  {}", head(flag));
        let mut lines = wrap(flag.help, WIDTH - TEXT_COLUMN).into_iter();
        if head.len() + 2 <= TEXT_COLUMN {
            let first = lines.next().unwrap_or_default();
            out.push_str(&format!("{head:<TEXT_COLUMN$}{first}\n"));
        } else {
            out.push_str(&head);
            out.push('\n');
        }
        for line in lines {
            out.push_str(&format!("{:TEXT_COLUMN$}{line}\n", ""));
        }
    }
    out
}

/// `text` in lines of at most `width` columns, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The long name of the flag `--name`, as the table spells it.
pub(crate) fn long(name: &str) -> Option<&'static str> {
    FLAGS.iter().find(|f| f.long == name).map(|f| f.long)
}

/// The long name of the flag `-c`.
pub(crate) fn long_of_short(c: char) -> Option<&'static str> {
    FLAGS.iter().find(|f| f.short == Some(c)).map(|f| f.long)
}

/// The long flag nearest to `typed` (a mistyped `--josn`), if one is near enough to suggest.
pub(crate) fn nearest(typed: &str) -> Option<&'static str> {
    let typed = typed.trim_start_matches('-');
    let typed = typed.split('=').next().unwrap_or(typed).to_lowercase();
    let typed = typed.as_str();
    FLAGS
        .iter()
        .map(|f| (edit_distance(typed, f.long), f.long))
        .filter(|&(d, long)| d <= 2.max(long.len() / 4) && d < long.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, long)| long)
        .or_else(|| {
            // A prefix of exactly one flag (`--recur`).
            let mut starting = FLAGS.iter().filter(|f| f.long.starts_with(typed));
            match (starting.next(), starting.next(), typed.len() >= 3) {
                (Some(f), None, true) => Some(f.long),
                _ => None,
            }
        })
}

/// A long flag given with one dash (`-json`, `-name`), which would be read as letters and a
/// value (`-j son`, `-n ame`): the argument, and the flag meant. Values of flags (the argument
/// after `-p` or `--name`) and everything after `--` are not looked at; `-help` is let be (it is
/// `-h`, and shows the help).
pub(crate) fn long_with_one_dash(args: &[std::ffi::OsString]) -> Option<(String, &'static str)> {
    let takes_value = |f: &&Flag| f.value.is_some();
    let mut value_next = false;
    for arg in args {
        if std::mem::take(&mut value_next) {
            continue;
        }
        let Some(arg) = arg.to_str() else { continue };
        if arg == "--" {
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            value_next =
                !long.contains('=') && FLAGS.iter().filter(takes_value).any(|f| f.long == long);
            continue;
        }
        let Some(letters) = arg.strip_prefix('-') else {
            continue;
        };
        let name = letters.split('=').next().unwrap_or(letters);
        if name.len() >= 2 && name != "help" {
            if let Some(f) = FLAGS.iter().find(|f| f.long.eq_ignore_ascii_case(name)) {
                return Some((arg.to_owned(), f.long));
            }
        }
        // Letters together (`-qj`): the first that takes a value takes the rest of the
        // argument, or the next one when it is last.
        for (at, c) in letters.char_indices() {
            if FLAGS.iter().filter(takes_value).any(|f| f.short == Some(c)) {
                value_next = at + c.len_utf8() == letters.len();
                break;
            }
        }
    }
    None
}

/// The short flag a letter in the wrong case means (`-J` for `-j`), if there is one.
pub(crate) fn other_case(c: char) -> Option<char> {
    let other = if c.is_ascii_uppercase() {
        c.to_ascii_lowercase()
    } else {
        c.to_ascii_uppercase()
    };
    (other != c && FLAGS.iter().any(|f| f.short == Some(other))).then_some(other)
}

/// The word among `words` nearest to `typed` (`bsh` for `bash`), if one is near enough.
pub(crate) fn nearest_word(typed: &str, words: &[&'static str]) -> Option<&'static str> {
    let typed = typed.to_lowercase();
    words
        .iter()
        .map(|w| (edit_distance(&typed, w), *w))
        .filter(|&(d, w)| d <= 2 && d < w.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, w)| w)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours (`josn` is one swap from `json`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_list_stays_within_its_width() {
        for line in option_list().lines() {
            assert!(line.len() <= WIDTH, "{line}");
        }
        assert!(option_list().contains("  -p, --upload-path DIR  destination folder"));
        assert!(option_list().contains("      --allow-insecure-http\n"));
    }

    #[test]
    fn a_mistyped_flag_finds_the_one_meant() {
        assert_eq!(nearest("--josn"), Some("json"));
        assert_eq!(nearest("--verfy"), Some("verify"));
        assert_eq!(nearest("--upload-pth"), Some("upload-path"));
        assert_eq!(nearest("--recur"), Some("recursive"));
        assert_eq!(nearest("--no-proxi"), Some("no-proxy"));
        assert_eq!(nearest("--frobnicate"), None);
        assert_eq!(nearest("--x"), None);
    }
}
