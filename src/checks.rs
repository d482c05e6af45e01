//! The checks of what a caller gives, made before anything is opened or sent: the base URL and
//! the durations of a [`ClientBuilder`](crate::ClientBuilder); the upload path, file name,
//! content type, file URL and base64 length of an upload. Pure functions of their input.

use std::time::Duration;

use crate::config::{Timeouts, DEFAULT_BASE_URL, MAX_DURATION};
use crate::{Error, ErrorKind, BASE64_MAX};

/// The scheme (`true` for https) and the authority (`user@host:port`) of an absolute http or https
/// URL given in lowercase; `None` for any other scheme.
pub(crate) fn http_authority(lower: &str) -> Option<(bool, &str)> {
    let (https, rest) = match lower.strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => (false, lower.strip_prefix("http://")?),
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    Some((https, authority))
}

/// The host of an absolute http or https URL given in lowercase, without the user information and
/// the port (an IPv6 address without its brackets); `None` for another scheme or an empty host.
pub(crate) fn http_host(lower: &str) -> Option<&str> {
    let (_, authority) = http_authority(lower)?;
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    (!host.is_empty()).then_some(host)
}

/// Checks a base URL and returns it without a trailing `/`.
pub(crate) fn check_base_url(url: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let invalid = |why: &str| {
        Err(Error::invalid(format!(
            "base URL {url:?} {why}: give one like {DEFAULT_BASE_URL}"
        )))
    };
    let lower = url.to_ascii_lowercase();
    let Some((https, authority)) = http_authority(&lower) else {
        return invalid("is not an http:// or https:// URL");
    };
    if url.contains(|c: char| c.is_control() || c.is_whitespace()) {
        return invalid("holds white space or a control character");
    }
    if url.contains(['?', '#']) {
        return invalid("has a query or fragment");
    }
    if authority.contains('@') {
        return invalid("carries credentials; the API key is the only credential");
    }
    let Some(host) = http_host(&lower) else {
        return invalid("has no host");
    };
    // Only `localhost` itself and literal loopback addresses: a name such as `evil.localhost` would
    // go to the resolver, which may send it anywhere.
    let ip = host.parse::<std::net::IpAddr>();
    let loopback = host == "localhost" || ip.is_ok_and(|ip| ip.is_loopback());
    if !https && !loopback && !allow_insecure_http {
        let base_url = url.to_owned();
        return Err(Error::refused(ErrorKind::InsecureHttp { base_url }));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Checks the timeouts (each positive) and the retry backoff (zero allowed), each at most
/// [`MAX_DURATION`].
pub(crate) fn check_durations(timeouts: &Timeouts, backoff: Duration) -> Result<(), Error> {
    for (what, value) in [
        ("connect timeout", timeouts.connect),
        ("stall timeout", timeouts.stall),
        ("reply timeout", timeouts.reply),
        ("retry backoff", backoff),
    ] {
        if value.is_zero() && what != "retry backoff" {
            return Err(Error::invalid(format!(
                "the {what} is zero: give a positive duration"
            )));
        }
        if value > MAX_DURATION {
            return Err(Error::invalid(format!(
                "the {what} of {} s is over the maximum of {} s (a day)",
                value.as_secs(),
                MAX_DURATION.as_secs()
            )));
        }
    }
    Ok(())
}

/// Checks an upload path and returns it without leading and trailing `/`.
pub(crate) fn check_upload_path(upload_path: &str) -> Result<&str, Error> {
    let trimmed = upload_path.trim_matches('/');
    if trimmed.trim().is_empty() {
        return Err(Error::invalid(
            "empty upload path: give a destination folder such as \"uploads\"",
        ));
    }
    no_control("upload path", trimmed)?;
    if trimmed.split(['/', '\\']).any(|seg| seg == "..") {
        return Err(Error::invalid(format!(
            "upload path {trimmed:?} has a `..` segment: give a plain folder path"
        )));
    }
    Ok(trimmed)
}

/// Checks a file name for the service: not empty, not `.` or `..`, no `/`, no control characters.
/// A `\\` is allowed: it is an ordinary character in a name on the service.
pub(crate) fn check_file_name(file_name: &str) -> Result<(), Error> {
    if file_name.trim().is_empty() {
        return Err(Error::invalid(
            "empty file name: give a name or leave it unset",
        ));
    }
    no_control("file name", file_name)?;
    if file_name == "." || file_name == ".." || file_name.contains('/') {
        return Err(Error::invalid(format!(
            "file name {file_name:?} is a path: give a plain name and put folders in the upload path"
        )));
    }
    Ok(())
}

/// Checks an explicit content type: a `type/subtype` with no control characters.
pub(crate) fn check_content_type(content_type: &str) -> Result<(), Error> {
    if !content_type.contains('/')
        || content_type.contains(|c: char| c.is_control() || !c.is_ascii())
    {
        return Err(Error::invalid(format!(
            "content type {content_type:?} is not a MIME type such as \"video/mp4\""
        )));
    }
    Ok(())
}

/// Refuses `text` (a `what`) when it holds a control character.
fn no_control(what: &str, text: &str) -> Result<(), Error> {
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(Error::invalid(format!(
            "{what} {text:?} holds the control character {c:?}: remove it"
        ))),
        None => Ok(()),
    }
}

/// Checks a URL for the service to fetch: absolute `http` or `https`, with a host, no white space.
pub(crate) fn check_remote_url(url: &str) -> Result<(), Error> {
    let lower = url.to_ascii_lowercase();
    if http_host(&lower).is_none() {
        return Err(Error::invalid(format!(
            "file URL {url:?} is not an absolute http:// or https:// URL: the service can fetch only those"
        )));
    }
    if url.contains(|c: char| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(format!(
            "file URL {url:?} holds white space or a control character: percent-escape it"
        )));
    }
    Ok(())
}

/// Checks a source's length for the base64 endpoint, known before anything is sent: at least 1
/// byte, at most [`BASE64_MAX`].
pub(crate) fn check_base64_length(length: Option<u64>) -> Result<u64, Error> {
    match length {
        Some(len) if len > 0 && len <= BASE64_MAX => Ok(len),
        length => Err(Error::refused(ErrorKind::Base64Refused { length })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_invalid(result: Result<impl std::fmt::Debug, Error>) -> bool {
        matches!(
            result.as_ref().map_err(Error::kind),
            Err(ErrorKind::InvalidInput { .. })
        )
    }

    fn invalid(result: Result<impl std::fmt::Debug, Error>) -> String {
        match result {
            Err(e) if matches!(e.kind(), ErrorKind::InvalidInput { .. }) => e.to_string(),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            check_base_url("https://kieai.redpandaai.co/", false).unwrap(),
            "https://kieai.redpandaai.co"
        );
        assert_eq!(
            check_base_url("http://127.0.0.1:8787/proxy/kie", false).unwrap(),
            "http://127.0.0.1:8787/proxy/kie"
        );
        check_base_url("http://localhost:1", false).unwrap();
        check_base_url("http://[::1]:8080", false).unwrap();
        check_base_url("http://127.5.6.7", false).unwrap();
        check_base_url("http://example.com", true).unwrap();
        for plain in [
            "http://example.com",
            "http://10.0.0.1:80",
            "http://evil.localhost",
            "http://localhost.evil.com",
        ] {
            let e = check_base_url(plain, false).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::InsecureHttp { base_url } if base_url == plain));
        }
        for bad in [
            "ftp://x",
            "kieai.redpandaai.co",
            "https://",
            "https://user:pw@host",
            "https://host/?q=1",
            "https://ho st",
        ] {
            invalid(check_base_url(bad, false));
        }
    }

    #[test]
    fn upload_paths() {
        assert_eq!(check_upload_path("/images/user/").unwrap(), "images/user");
        assert_eq!(check_upload_path("a").unwrap(), "a");
        assert_eq!(check_upload_path("a/..b/c").unwrap(), "a/..b/c");
        for bad in [
            "", "/", "//", " ", "a/../b", "..", "a\nb", "a\tb", "x/..\\y",
        ] {
            assert!(is_invalid(check_upload_path(bad)), "{bad:?}");
        }
    }

    #[test]
    fn file_names() {
        for good in [
            "a.png",
            "quote\"d.txt",
            "semi;colon",
            "ünï ə.txt",
            ".hidden",
            "a\\b",
        ] {
            check_file_name(good).unwrap();
        }
        for bad in ["", " ", ".", "..", "a/b", "a\r\nb", "a\0b", "a\u{7f}"] {
            assert!(is_invalid(check_file_name(bad)), "{bad:?}");
        }
    }

    #[test]
    fn content_types() {
        check_content_type("video/mp4").unwrap();
        check_content_type("text/plain; charset=utf-8").unwrap();
        assert!(is_invalid(check_content_type("mp4")));
        assert!(is_invalid(check_content_type("text/plain\r\nX-Evil: 1")));
    }

    #[test]
    fn base64_lengths() {
        assert_eq!(check_base64_length(Some(1)).unwrap(), 1);
        assert_eq!(check_base64_length(Some(BASE64_MAX)).unwrap(), BASE64_MAX);
        for bad in [None, Some(0), Some(BASE64_MAX + 1)] {
            let e = check_base64_length(bad).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Base64Refused { length: bad });
            assert_eq!(e.attempts(), 0);
        }
    }

    #[test]
    fn file_urls() {
        check_remote_url("https://example.com/a.png?x=1").unwrap();
        check_remote_url("http://user@[::1]:8080/a").unwrap();
        for bad in [
            "ftp://x/a",
            "https://",
            "https:///a",
            "https://:80/a",
            "https://u@/a",
            "/a.png",
            "https://x/a b",
        ] {
            assert!(is_invalid(check_remote_url(bad)), "{bad:?}");
        }
    }

    #[test]
    fn absurd_durations_are_refused() {
        for builder in [
            crate::Client::builder().timeout(Duration::from_secs(u64::MAX)),
            crate::Client::builder().stall_timeout(Duration::MAX),
            crate::Client::builder().reply_timeout(MAX_DURATION + Duration::from_secs(1)),
            crate::Client::builder().retry_backoff(Duration::from_secs(u64::MAX)),
            crate::Client::builder().connect_timeout(Duration::ZERO),
        ] {
            let msg = invalid(builder.api_key("k").into_config(true));
            assert!(msg.contains("maximum") || msg.contains("zero"), "{msg}");
        }
        crate::Client::builder()
            .api_key("k")
            .timeout(MAX_DURATION)
            .retry_backoff(Duration::ZERO)
            .into_config(true)
            .unwrap();
    }
}
