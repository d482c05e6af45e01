//! Unit tests of `error`.

use super::*;

fn service(status: u16, code: u16) -> Error {
    Error::new(ErrorKind::Service {
        status,
        code,
        msg: "m".into(),
    })
}

#[test]
fn error_stays_small() {
    // Every upload's result carries this type; keep it one pointer.
    assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
}

#[test]
fn context_beside_the_kind_and_not_in_the_line() {
    let e = service(503, 503).after_attempts(3, Some(NotRetried::OutOfRetries));
    assert_eq!(e.attempts(), 3);
    assert_eq!(e.not_retried(), Some(NotRetried::OutOfRetries));
    assert!(matches!(e.kind(), ErrorKind::Service { code: 503, .. }));
    // The line is the same after one attempt or several, retried or not.
    let once = service(503, 503).after_attempts(1, Some(NotRetried::SourceNotRepeatable));
    assert_eq!(e.to_string(), once.to_string());
    assert_eq!(
        e.to_string(),
        "the service refused the upload (code 503): m"
    );
    assert_eq!(Error::invalid("x").after_attempts(1, None).attempts(), 0);
}

#[test]
fn display_does_not_repeat_the_source() {
    let missing = io::Error::new(io::ErrorKind::NotFound, "No such file or directory");
    let e = Error::io(Some(Path::new("/x/a.jpg")), missing);
    assert_eq!(e.to_string(), "cannot read /x/a.jpg");
    let source = std::error::Error::source(&e).unwrap().to_string();
    assert_eq!(source, "No such file or directory");
    assert_eq!(
        e.io_error().map(io::Error::kind),
        Some(io::ErrorKind::NotFound)
    );
    assert_eq!(io::Error::from(e).kind(), io::ErrorKind::NotFound);
    assert_eq!(
        io::Error::from(Error::api_key("missing API key")).kind(),
        io::ErrorKind::InvalidInput
    );
}

#[test]
fn server_text_is_escaped_when_shown() {
    let e = Error::new(ErrorKind::Service {
        status: 200,
        code: 400,
        msg: "bad \u{1b}]0;pwned\u{7} \u{1b}[2J\u{202e}".into(),
    });
    let shown = e.to_string();
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{202e}'),
        "{shown}"
    );
    assert!(shown.contains("\\u{1b}]0;pwned\\u{7}"), "{shown}");
}

#[test]
fn the_key_is_cut_out_of_every_text() {
    let key = "sk-0123456789abcdef";
    let texts = [
        ErrorKind::InvalidInput { reason: key.into() },
        ErrorKind::ApiKey { reason: key.into() },
        ErrorKind::InsecureHttp {
            base_url: format!("http://{key}.example"),
        },
        ErrorKind::Proxy { reason: key.into() },
        ErrorKind::Tls { reason: key.into() },
        ErrorKind::Service {
            status: 200,
            code: 400,
            msg: key.into(),
        },
        ErrorKind::Http {
            status: 502,
            excerpt: key.into(),
        },
        ErrorKind::Redirect {
            status: 302,
            location: key.into(),
        },
        ErrorKind::BadReply {
            status: 200,
            reason: key.into(),
        },
    ];
    for kind in texts {
        let e = Error::new(kind).redacted(key);
        assert!(!format!("{e} {e:?}").contains(key), "{e:?}");
    }
}

/// Every kind, as the library words it: a flag (`--proxy`) would be the CLI's word, not the
/// library's; nor does any line break.
#[test]
fn no_display_names_a_flag() {
    let text = |reason: &str| reason.to_owned();
    let mut errors = vec![
        Error::invalid("x"),
        Error::api_key("missing API key"),
        Error::refused(ErrorKind::InsecureHttp {
            base_url: text("http://example.com"),
        }),
        Error::io(None, io::ErrorKind::NotFound.into()),
        Error::new(ErrorKind::Transport),
        Error::new(ErrorKind::HostNotFound { host: text("x") }),
        Error::new(ErrorKind::Timeout),
        Error::new(ErrorKind::Proxy {
            reason: text("407"),
        })
        .with_proxy(Some("http://p:1"), Some("HTTPS_PROXY")),
        Error::new(ErrorKind::Tls {
            reason: text("unknown issuer"),
        }),
        Error::new(ErrorKind::Redirect {
            status: 302,
            location: text("https://x/"),
        }),
        Error::new(ErrorKind::BadReply {
            status: 200,
            reason: text("not JSON"),
        }),
        Error::new(ErrorKind::SourceLengthMismatch {
            declared: 3,
            actual: 2,
        }),
        Error::new(ErrorKind::SourceLengthMismatch {
            declared: 3,
            actual: 4,
        }),
        Error::new(ErrorKind::StoredSizeMismatch { sent: 3, stored: 2 }),
        Error::new(ErrorKind::LengthRequired { status: 411 }),
        Error::new(ErrorKind::Cancelled),
        Error::new(ErrorKind::Spool).with_path(std::path::Path::new("/tmp")),
        Error::new(ErrorKind::Rejected),
    ];
    for length in [None, Some(0), Some(crate::BASE64_MAX + 1)] {
        errors.push(Error::refused(ErrorKind::Base64Refused { length }));
    }
    for code in [0, 400, 401, 402, 413, 417, 429, 455, 500, 503] {
        errors.push(service(200, code));
        errors.push(Error::new(ErrorKind::Http {
            status: code.max(300),
            excerpt: text("page"),
        }));
    }
    for line in errors.iter().map(ToString::to_string) {
        let b = line.as_bytes();
        let flag = (0..b.len().saturating_sub(2))
            .any(|i| b[i] == b'-' && b[i + 1] == b'-' && b[i + 2].is_ascii_alphabetic());
        assert!(!flag, "{line}");
        assert!(!line.contains('\n'), "{line}");
    }
}

#[test]
fn retryable_causes() {
    assert!(service(200, 429).is_retryable());
    assert!(service(200, 455).is_retryable());
    assert!(service(503, 503).is_retryable());
    assert!(!service(200, 401).is_retryable());
    assert!(!service(400, 400).is_retryable());
    // A refusal inside a 503 envelope is still a refusal.
    assert!(!service(503, 401).is_retryable());
    // An envelope without a code is a refusal that says nothing more: not retried.
    assert!(!service(200, 0).is_retryable());
    let http = |status| {
        Error::new(ErrorKind::Http {
            status,
            excerpt: String::new(),
        })
    };
    // As is_retryable states them: 429, 455, 500, 502-504; never 501 or 505.
    for code in [429, 455, 500, 502, 503, 504] {
        assert!(http(code).is_retryable(), "{code}");
        assert!(service(200, code).is_retryable(), "{code}");
        assert!(service(code, code).is_retryable(), "{code}");
    }
    for code in [400, 401, 402, 404, 411, 413, 417, 422, 501, 505] {
        assert!(!http(code).is_retryable(), "{code}");
        assert!(!service(200, code).is_retryable(), "{code}");
    }
    assert!(!Error::invalid("x").is_retryable());
    assert!(!Error::new(ErrorKind::Cancelled).is_retryable());
    assert!(Error::new(ErrorKind::Timeout).is_retryable());
    assert!(Error::new(ErrorKind::Transport).is_retryable());
    assert!(!Error::new(ErrorKind::Transport)
        .transient(false)
        .is_retryable());
}
