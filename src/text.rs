//! Text that comes from the network, made safe: the API key and URL passwords cut out of it,
//! characters that could steer a terminal escaped before it is shown, and a page cut to a short
//! excerpt.

use std::borrow::Cow;
use std::fmt::Write as _;

/// What the API key is replaced with wherever a server echoes it back.
pub(crate) const REDACTED: &str = "[redacted]";

/// The shortest key that is redacted (kie.ai's keys have 32 characters).
pub(crate) const MIN_REDACTED: usize = 8;

/// What the password of a URL's user information is replaced with.
pub(crate) const MASKED: &str = "***";

/// Cuts the secrets out of `text`: every occurrence of `key` (see [`redact_key`]) and the password
/// of every URL's user information (see [`mask_passwords`]). This is the one redaction for what
/// the library and the CLI show.
pub(crate) fn redact<'t>(text: &'t str, key: &str) -> Cow<'t, str> {
    match redact_key(text, key) {
        Cow::Borrowed(text) => mask_passwords(text),
        Cow::Owned(text) => Cow::Owned(mask_passwords(&text).into_owned()),
    }
}

/// Masks the password in the user information of every URL in `text`
/// (`https://alice:pw@host/` becomes `https://alice:***@host/`), also where the URL's slashes are
/// JSON-escaped (`https:\/\/`). The user name is kept: it says whose credentials they were.
pub(crate) fn mask_passwords(text: &str) -> Cow<'_, str> {
    let mut from = 0;
    let passwords = std::iter::from_fn(|| {
        while let Some(found) = text[from..].find(':') {
            let at = from + found;
            from = at + 1;
            let Some(slashes) = ["://", ":\\/\\/"]
                .into_iter()
                .find(|s| text[at..].starts_with(s))
            else {
                continue;
            };
            let start = at + slashes.len();
            // The authority ends where the path, query or fragment starts, or where the URL does.
            let len = text[start..]
                .find(|c: char| {
                    matches!(c, '/' | '?' | '#' | '\\' | '"' | '\'' | '<' | '>' | '`')
                        || c.is_whitespace()
                        || c.is_control()
                })
                .unwrap_or(text.len() - start);
            from = start + len;
            // The user information is what comes before the authority's last `@`.
            let authority = &text[start..from];
            let userinfo = authority.rfind('@').map_or("", |end| &authority[..end]);
            if let Some(colon) = userinfo.find(':').filter(|&c| userinfo[c + 1..] != *MASKED) {
                return Some((start + colon + 1, start + userinfo.len()));
            }
        }
        None
    });
    replaced(text, passwords, MASKED)
}

/// `text` with each of `spans` (in order, apart) replaced by `with`; borrowed when there is none.
fn replaced<'t>(
    text: &'t str,
    spans: impl Iterator<Item = (usize, usize)>,
    with: &str,
) -> Cow<'t, str> {
    let mut out = String::new();
    let mut copied = 0;
    for (start, end) in spans {
        out.push_str(&text[copied..start]);
        out.push_str(with);
        copied = end;
    }
    if copied == 0 {
        return text.into();
    }
    out.push_str(&text[copied..]);
    out.into()
}

/// Removes every occurrence of `key` from `text`, whether it appears as is, percent-encoded,
/// HTML-encoded (named or numeric entities), JSON-escaped, or in any mix of those, one character at
/// a time: a proxy's error page that prints the request headers, or a message that quotes the
/// `Authorization` header, must not carry the key into an error.
///
/// Keys shorter than [`MIN_REDACTED`] are left alone: no real key is that short, and cutting a
/// test key such as `k` out of every word would mangle URLs and messages.
fn redact_key<'t>(text: &'t str, key: &str) -> Cow<'t, str> {
    let key = key.as_bytes();
    if key.len() < MIN_REDACTED {
        return text.into();
    }
    let bytes = text.as_bytes();
    let mut at = 0;
    // Each copy from where the last one ended.
    let copies = std::iter::from_fn(|| {
        let found =
            (at..bytes.len()).find_map(|start| Some((start, match_key(bytes, start, key)?)));
        at = found?.1;
        found
    });
    replaced(text, copies, REDACTED)
}

/// Where a copy of `key` starting at `at` ends, if one starts there. Letters match in either case
/// (an echo may have upper-cased the key; cutting a little more is harmless). Matching works on
/// bytes; a match always ends on a character boundary, because the key is ASCII (the client
/// refuses others).
fn match_key(text: &[u8], at: usize, key: &[u8]) -> Option<usize> {
    let Some((&want, rest)) = key.split_first() else {
        return Some(at);
    };
    // A `&`, `%` or `\\` in the key may stand for itself or begin an encoding: try both.
    let raw = text
        .get(at)
        .filter(|b| b.eq_ignore_ascii_case(&want))
        .map(|_| 1);
    [raw, encoded_byte_at(text, at, want)]
        .into_iter()
        .flatten()
        .find_map(|len| match_key(text, at + len, rest))
}

/// The length of an encoding of `want` (not `want` itself) at `text[at..]`, if there is one.
fn encoded_byte_at(text: &[u8], at: usize, want: u8) -> Option<usize> {
    let rest = text.get(at..)?;
    let is = |value: u32| u8::try_from(value).is_ok_and(|v| v.eq_ignore_ascii_case(&want));
    match *rest.first()? {
        // Percent-encoding, either case of hex digit.
        b'%' if rest.len() >= 3 && hex_value(&rest[1..3]).is_some_and(is) => Some(3),
        // HTML references: numeric (`&#115;`, `&#x73;`, with any leading zeros, the `;` optional
        // as browsers read them) and the named ones for the characters HTML escapes.
        b'&' => {
            let (value, len) = html_reference(&rest[1..])?;
            let len = 1 + len;
            is(value).then(|| len + usize::from(rest.get(len) == Some(&b';')))
        }
        // JSON escapes: \uXXXX, and \/ \" \\ for the characters that have a short form.
        b'\\' => match rest.get(1)? {
            b'u' if rest.len() >= 6 && hex_value(&rest[2..6]).is_some_and(is) => Some(6),
            &c @ (b'/' | b'"' | b'\\') if c == want => Some(2),
            _ => None,
        },
        _ => None,
    }
}

/// The character an HTML reference after its `&` stands for, and the bytes it takes (without the
/// closing `;`).
fn html_reference(text: &[u8]) -> Option<(u32, usize)> {
    if let Some(number) = text.strip_prefix(b"#") {
        let (radix, digits, prefix) = match number.first()? {
            b'x' | b'X' => (16, &number[1..], 2),
            _ => (10, number, 1),
        };
        let count = digits
            .iter()
            .take_while(|&&d| (d as char).is_digit(radix))
            .count();
        // Digits only (no sign), too many for a character refused.
        let value = std::str::from_utf8(&digits[..count]).ok()?;
        let value = u32::from_str_radix(value, radix).ok()?;
        return Some((value, prefix + count));
    }
    [
        ("amp", b'&'),
        ("lt", b'<'),
        ("gt", b'>'),
        ("quot", b'"'),
        ("apos", b'\''),
    ]
    .into_iter()
    .find(|(name, _)| text.starts_with(name.as_bytes()))
    .map(|(name, c)| (u32::from(c), name.len()))
}

fn hex_value(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &d| {
        let v = (d as char).to_digit(16)?;
        Some(n * 16 + v)
    })
}

/// Escapes control characters (line breaks and escape sequences among them), bidirectional
/// controls and other invisible format characters as `\u{..}`, so that text from a server (a
/// message, a file name, a URL) cannot move the cursor, retitle or clear the terminal, or disguise
/// itself when printed. Everything else, non-ASCII letters included, is kept.
///
/// The library's own `Display` output already passes server-supplied text through this; use it for
/// the fields of an [`UploadedFile`](crate::UploadedFile) before printing them to a terminal.
///
/// ```
/// let shown = kie_upload::printable("name\u{1b}]0;pwned\u{7}.txt\u{202e}");
/// assert_eq!(shown, "name\\u{1b}]0;pwned\\u{7}.txt\\u{202e}");
/// assert_eq!(kie_upload::printable("ünïcødé.png"), "ünïcødé.png");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// Control characters, and the format characters (Unicode category Cf) and separators that print
/// nothing but change how the text around them is shown.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{890}'..='\u{891}'
                | '\u{8e2}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
        )
}

/// A short excerpt of a body that is not the service's JSON: the page's title when it has one,
/// markup and runs of white space removed, at most 160 characters.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 160;
    let text = &text[..floor_char_boundary(text, 16 * 1024)];
    // Prefer the page's title when it has one; a proxy's error page says what it is there.
    let lower = text.to_ascii_lowercase();
    let source = match (lower.find("<title>"), lower.find("</title>")) {
        (Some(a), Some(b)) if b > a + 7 => &text[a + 7..b],
        _ => text,
    };
    // Without markup (a tag parts words), runs of white space and control characters as one space.
    let mut in_tag = false;
    let plain: String = source
        .chars()
        .filter_map(|c| match c {
            '<' => {
                in_tag = true;
                None
            }
            '>' if in_tag => {
                in_tag = false;
                Some(' ')
            }
            _ if in_tag => None,
            c => Some(c),
        })
        .collect();
    let words = plain.split(|c: char| c.is_whitespace() || c.is_control());
    let short = words
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match short.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", short[..cut].trim_end()),
        None => short,
    }
}

/// The largest char boundary at or below `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-Ab&c<d\"e'f/1%";

    #[test]
    fn the_key_goes_in_every_encoding() {
        let forms = [
            KEY.to_owned(),
            format!("Bearer {KEY}"),
            // Percent-encoded, upper and lower case, every byte or only the special ones.
            KEY.bytes().map(|b| format!("%{b:02X}")).collect::<String>(),
            KEY.bytes().map(|b| format!("%{b:02x}")).collect::<String>(),
            "sk-Ab%26c%3Cd%22e%27f%2F1%25".to_owned(),
            // HTML, named and numeric.
            "sk-Ab&amp;c&lt;d&quot;e&#39;f/1%".to_owned(),
            "sk-Ab&#x26;c&#60;d&#x22;e&apos;f/1%".to_owned(),
            // JSON.
            "sk-Ab\\u0026c\\u003cd\\\"e'f\\/1%".to_owned(),
            // Leading zeros and no `;`, as browsers read them; an upper-cased echo.
            "&#0000000115;k-Ab&#x000026;c&lt;d&quot;e&#39f/1%".to_owned(),
            "SK-AB&C<D\"E'F/1%".to_owned(),
        ];
        for form in forms {
            let page = format!("<p>Authorization: {form}</p> and again {form}.");
            let clean = redact_key(&page, KEY);
            assert!(!clean.contains("sk-Ab"), "{form}: {clean}");
            assert_eq!(clean.matches(REDACTED).count(), 2, "{form}: {clean}");
        }
    }

    #[test]
    fn text_without_the_key_is_untouched() {
        let text = "ünï %41 &amp; \\u0041 sk-Ab";
        assert!(matches!(redact_key(text, KEY), Cow::Borrowed(_)));
        assert_eq!(redact("xx", ""), "xx");
        assert_eq!(redact("look key k", "k"), "look key k");
    }

    #[test]
    fn redaction_keeps_the_text_around_the_key() {
        assert_eq!(
            redact("é key=abc12345 ü", "abc12345"),
            format!("é key={REDACTED} ü")
        );
    }

    #[test]
    fn url_passwords_are_masked_wherever_they_appear() {
        for (text, masked) in [
            ("https://alice:pw@host/", "https://alice:***@host/"),
            (
                "failed to fetch http://u:p%40ss@h.example:8080/a?b#c, and ftp://x:y@z",
                "failed to fetch http://u:***@h.example:8080/a?b#c, and ftp://x:***@z",
            ),
            (
                "\"https:\\/\\/a:s3cret@h\\/x\"",
                "\"https:\\/\\/a:***@h\\/x\"",
            ),
            ("<a href='https://a:b@h'>", "<a href='https://a:***@h'>"),
            ("https://a:b:c@h", "https://a:***@h"),
        ] {
            assert_eq!(redact(text, ""), masked, "{text}");
        }
        for untouched in [
            "https://alice@host/",
            "https://host/a:b@c",
            "mailto:a:b@c",
            "note: 10:30 at home",
            "https://a:***@h",
            "trailing ://",
        ] {
            assert!(
                matches!(mask_passwords(untouched), Cow::Borrowed(_)),
                "{untouched}"
            );
        }
    }

    #[test]
    fn the_key_and_passwords_go_together() {
        let text = format!("GET https://bob:{KEY}@h/?t={KEY}");
        let clean = redact(&text, KEY);
        assert_eq!(clean, format!("GET https://bob:***@h/?t={REDACTED}"));
    }

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        assert_eq!(
            printable("a\u{1b}[2Jb\nc\td\u{7f}"),
            "a\\u{1b}[2Jb\\u{a}c\\u{9}d\\u{7f}"
        );
        assert_eq!(
            printable("x\u{202e}y\u{200b}z\u{2066}"),
            "x\\u{202e}y\\u{200b}z\\u{2066}"
        );
        assert!(matches!(printable("plain ünï 名.txt"), Cow::Borrowed(_)));
    }

    #[test]
    fn excerpt_is_short_and_printable() {
        let long = "x\u{7}y ".repeat(500);
        let e = excerpt(&long);
        assert!(e.chars().count() <= 161);
        assert!(!e.chars().any(char::is_control));
        // A multi-byte character across the 16 KiB cut is not split.
        let wide = "é".repeat(10_000);
        assert!(!excerpt(&wide).is_empty());
    }
}
