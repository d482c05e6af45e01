//! Which sources: `--include` and `--exclude` among the files `-r` finds, with rclone's rules, and
//! `--files-from`'s list of paths.
//!
//! A pattern is matched against a file's path under the folder given to `-r`, with `/` between
//! its folders on every platform. The first rule that matches decides; a file that no rule matches
//! is uploaded, unless there is an `--include`, when it is left out. As in rclone, a pattern that
//! starts with `/` matches from the folder itself, and one that does not matches the end of the
//! path at a `/` (`*.jpg` matches `a.jpg` and `photos/a.jpg`). `*` matches within a folder, `**`
//! across folders, `?` one character but `/`, `[a-z]` and `[!a-z]` a character of a class,
//! `{jpg,png}` either word, `\` the character after it.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};

use crate::args::Usage;

/// `--include` and `--exclude`, in the order given.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    rules: Vec<Rule>,
    includes: bool,
}

#[derive(Debug)]
struct Rule {
    include: bool,
    anchored: bool,
    /// The pattern, one for each choice of its `{a,b}` groups.
    patterns: Vec<Vec<Token>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    /// `?`
    One,
    /// `*`
    Star,
    /// `**`
    Stars,
    /// `[...]`: ranges, and whether it is negated.
    Class(Vec<(char, char)>, bool),
}

impl Filter {
    pub(crate) fn include(&mut self, pattern: &str) -> Result<(), Usage> {
        self.includes = true;
        self.add(pattern, true)
    }

    pub(crate) fn exclude(&mut self, pattern: &str) -> Result<(), Usage> {
        self.add(pattern, false)
    }

    fn add(&mut self, pattern: &str, include: bool) -> Result<(), Usage> {
        let flag = if include { "--include" } else { "--exclude" };
        let anchored = pattern.starts_with('/');
        let body = pattern.trim_start_matches('/');
        let patterns = expand(body)
            .ok_or_else(|| Usage(format!("{flag} {pattern}: a {{ or [ is not closed")))?
            .iter()
            .map(|p| parse(p))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Usage(format!("{flag} {pattern}: a [ is not closed")))?;
        self.rules.push(Rule {
            include,
            anchored,
            patterns,
        });
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether the file at `path` (under the folder given to `-r`, `/`-separated) is uploaded.
    pub(crate) fn admits(&self, path: &str) -> bool {
        for rule in &self.rules {
            if rule.matches(path) {
                return rule.include;
            }
        }
        !self.includes
    }
}

impl Rule {
    fn matches(&self, path: &str) -> bool {
        let path: Vec<char> = path.chars().collect();
        self.patterns.iter().any(|pattern| {
            if self.anchored {
                return matches(pattern, &path);
            }
            // The whole path, or its end after any `/`.
            matches(pattern, &path)
                || (0..path.len())
                    .filter(|&i| path[i] == '/')
                    .any(|i| matches(pattern, &path[i + 1..]))
        })
    }
}

/// `{a,b}` groups expanded into every choice; `None` for a group not closed.
fn expand(pattern: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '[' => {
                // Braces inside a class are plain characters.
                i += chars[i..].iter().position(|&c| c == ']')? + 1;
            }
            '{' => {
                let close = i + chars[i..].iter().position(|&c| c == '}')?;
                let before: String = chars[..i].iter().collect();
                let after: String = chars[close + 1..].iter().collect();
                let inside: String = chars[i + 1..close].iter().collect();
                let mut all = Vec::new();
                for choice in inside.split(',') {
                    all.extend(expand(&format!("{before}{choice}{after}"))?);
                }
                return Some(all);
            }
            _ => i += 1,
        }
    }
    Some(vec![pattern.to_owned()])
}

/// The tokens of one pattern; `None` for a class not closed.
fn parse(pattern: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            '?' => Token::One,
            '*' if chars.next_if_eq(&'*').is_some() => {
                while chars.next_if_eq(&'*').is_some() {}
                Token::Stars
            }
            '*' => Token::Star,
            '[' => {
                let negated = chars.next_if(|&c| c == '!' || c == '^').is_some();
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let c = chars.next()?;
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    let low = if c == '\\' { chars.next()? } else { c };
                    if chars.peek() == Some(&'-') {
                        chars.next();
                        match chars.next()? {
                            ']' => {
                                ranges.push((low, low));
                                ranges.push(('-', '-'));
                                break;
                            }
                            high => ranges.push((low, high)),
                        }
                    } else {
                        ranges.push((low, low));
                    }
                }
                Token::Class(ranges, negated)
            }
            c => Token::Char(c),
        });
    }
    Some(tokens)
}

/// Whether `tokens` match all of `path`.
fn matches(tokens: &[Token], path: &[char]) -> bool {
    let Some((token, rest)) = tokens.split_first() else {
        return path.is_empty();
    };
    match token {
        Token::Stars => (0..=path.len()).any(|n| matches(rest, &path[n..])),
        Token::Star => {
            let within = path.iter().position(|&c| c == '/').unwrap_or(path.len());
            (0..=within).any(|n| matches(rest, &path[n..]))
        }
        _ => match path.split_first() {
            Some((&c, path_rest)) if one(token, c) => matches(rest, path_rest),
            _ => false,
        },
    }
}

/// Whether a one-character token matches `c`.
fn one(token: &Token, c: char) -> bool {
    match token {
        Token::Char(want) => *want == c,
        Token::One => c != '/',
        Token::Class(ranges, negated) => {
            c != '/' && ranges.iter().any(|&(low, high)| low <= c && c <= high) != *negated
        }
        Token::Star | Token::Stars => false,
    }
}

/// The longest entry of a `--files-from` list taken for a path: far over any system's limit on
/// one (4,096 bytes on Linux, 32,767 UTF-16 units on Windows).
const LONGEST: usize = 64 << 10;
/// The most a `--files-from` list may hold: a million names and more.
const LARGEST: u64 = 128 << 20;

/// `--files-from`: the paths listed in `list` (`-`: standard input), each as if given on the
/// command line. One a line, blank lines and lines starting with `#` skipped, a trailing CR
/// dropped; with `null`, separated by NUL characters and taken as they are. Read as it comes: a
/// stream that is no list (a device, an image given by mistake) is refused at its first entry
/// too long to be a path, or once larger than any list, never read into memory to its end.
pub(crate) fn files_from(list: &OsString, null: bool) -> Result<Vec<OsString>, Usage> {
    let shown = list.to_string_lossy();
    let refuse = |why: &str| Usage(format!("--files-from {shown}: {why}"));
    let cannot =
        |e: std::io::Error| refuse(&format!("cannot read it: {}", crate::words::io_words(&e)));
    let source: Box<dyn Read> = if list == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(list).map_err(cannot)?)
    };
    let mut reader = BufReader::with_capacity(64 << 10, source);
    let separator = if null { 0 } else { b'\n' };
    let mut paths = Vec::new();
    let mut entry = Vec::new();
    let mut read = 0u64;
    loop {
        let buf = reader.fill_buf().map_err(cannot)?;
        if buf.is_empty() {
            take_entry(&entry, null, &mut paths).map_err(|why| refuse(&why))?;
            return Ok(paths);
        }
        let len = buf.len();
        read += len as u64;
        if read > LARGEST {
            return Err(refuse(&format!(
                "it holds more than {} MiB of names: is it a list of paths?",
                LARGEST >> 20
            )));
        }
        let mut rest = buf;
        while let Some(at) = rest.iter().position(|&b| b == separator) {
            entry.extend_from_slice(&rest[..at]);
            take_entry(&entry, null, &mut paths).map_err(|why| refuse(&why))?;
            entry.clear();
            // Empty entries, skipped: a run of them at once.
            let run = rest[at..].iter().take_while(|&&b| b == separator).count();
            rest = &rest[at + run..];
        }
        entry.extend_from_slice(rest);
        if entry.len() > LONGEST {
            return Err(refuse(&format!(
                "an entry of more than {} KiB is no path: is it a list of paths, one a line \
                 (or separated by NUL with --null)?",
                LONGEST >> 10
            )));
        }
        reader.consume(len);
    }
}

/// Adds one entry of a `--files-from` list to `paths`, unless it is one to skip.
fn take_entry(entry: &[u8], null: bool, paths: &mut Vec<OsString>) -> Result<(), String> {
    let entry = match null {
        true => entry,
        false => {
            let entry = entry.strip_suffix(b"\r").unwrap_or(entry);
            if entry.iter().all(u8::is_ascii_whitespace) || entry.starts_with(b"#") {
                return Ok(());
            }
            entry
        }
    };
    if entry.is_empty() {
        return Ok(());
    }
    if entry.len() > LONGEST {
        return Err(format!(
            "an entry of more than {} KiB is no path: is it a list of paths, one a line (or \
             separated by NUL with --null)?",
            LONGEST >> 10
        ));
    }
    let path = os_string(entry.to_vec()).ok_or_else(|| {
        let lossy = String::from_utf8_lossy(entry);
        let mut shown: String = lossy.chars().take(60).collect();
        if shown.len() < lossy.len() {
            shown.push('…');
        }
        format!("{shown:?} is not UTF-8, which this system's paths must be")
    })?;
    paths.push(path);
    Ok(())
}

#[cfg(unix)]
fn os_string(bytes: Vec<u8>) -> Option<OsString> {
    use std::os::unix::ffi::OsStringExt;
    Some(OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn os_string(bytes: Vec<u8>) -> Option<OsString> {
    String::from_utf8(bytes).ok().map(OsString::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(rules: &[(&str, &str)]) -> Filter {
        let mut filter = Filter::default();
        for (kind, pattern) in rules {
            match *kind {
                "+" => filter.include(pattern).unwrap(),
                _ => filter.exclude(pattern).unwrap(),
            }
        }
        filter
    }

    #[test]
    fn a_star_stays_within_a_folder_and_two_cross_them() {
        let f = filter(&[("+", "/*.txt")]);
        assert!(f.admits("a.txt"));
        assert!(!f.admits("docs/a.txt"));
        let f = filter(&[("+", "/**.txt")]);
        assert!(f.admits("a.txt") && f.admits("docs/deep/a.txt"));
        let f = filter(&[("+", "/docs/**")]);
        assert!(f.admits("docs/a") && f.admits("docs/x/y.bin") && !f.admits("other/docs"));
    }

    #[test]
    fn a_pattern_without_a_slash_in_front_matches_the_end_of_the_path_at_a_folder() {
        let f = filter(&[("+", "*.jpg")]);
        assert!(f.admits("file.jpg") && f.admits("photos/2026/file.jpg"));
        assert!(!f.admits("file.jpeg"));
        let f = filter(&[("+", "file.jpg")]);
        assert!(f.admits("a/file.jpg") && !f.admits("a/afile.jpg"));
        let f = filter(&[("-", "cache/**")]);
        assert!(!f.admits("cache/x") && !f.admits("site/cache/x") && f.admits("site/x"));
    }

    #[test]
    fn the_first_rule_that_matches_decides_and_an_include_leaves_out_the_rest() {
        let f = filter(&[("-", "secret.txt"), ("+", "*.txt")]);
        assert!(!f.admits("secret.txt") && f.admits("notes.txt") && !f.admits("a.bin"));
        let f = filter(&[("+", "*.txt"), ("-", "secret.txt")]);
        assert!(f.admits("secret.txt"));
        let f = filter(&[("-", "*.tmp")]);
        assert!(f.admits("a.bin") && !f.admits("x/a.tmp"));
        assert!(Filter::default().admits("anything/at/all"));
    }

    #[test]
    fn classes_choices_and_escapes() {
        let f = filter(&[("+", "img[0-9].{png,jpg}")]);
        assert!(f.admits("img1.png") && f.admits("img9.jpg") && !f.admits("imgx.png"));
        let f = filter(&[("+", "[!a]?")]);
        assert!(f.admits("bc") && !f.admits("ac") && !f.admits("b/"));
        let f = filter(&[("+", "\\*star")]);
        assert!(f.admits("*star") && !f.admits("xstar"));
        let mut f = Filter::default();
        assert!(f.include("[abc").is_err() && f.include("{a,b").is_err());
    }

    #[test]
    fn a_list_skips_blank_and_comment_lines_and_drops_a_trailing_cr() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("list");
        std::fs::write(&list, "a.txt\r\n\n# a note\n  \nsub/b c.txt\n#\n").unwrap();
        let got = files_from(&list.clone().into_os_string(), false).unwrap();
        assert_eq!(got, ["a.txt", "sub/b c.txt"]);
        std::fs::write(&list, "a\nb\0# c\0\0").unwrap();
        let got = files_from(&list.clone().into_os_string(), true).unwrap();
        assert_eq!(got, ["a\nb", "# c"]);
        let err = files_from(&dir.path().join("none").into_os_string(), false).unwrap_err();
        // The system's words: Unix's, Windows's or wine's.
        let missing = ["no such file", "cannot find the file", "file not found"];
        assert!(
            missing
                .iter()
                .any(|w| err.0.contains(&format!("cannot read it: {w}"))),
            "{}",
            err.0
        );
        assert!(!err.0.contains("os error"), "{}", err.0);
    }
}
