//! What to do about an error, in the words of this tool: its flags, the variables it reads, and
//! the place the key or proxy really came from. The library's line says what failed; its kind (and
//! `Error::setting`, `Error::proxy_url`) is enough to word the rest. Never a Rust item: a user of
//! the tool has no `ClientBuilder` to call. Worded by what the kind is about: a retry that did not
//! happen, the key, the way to the service, its reply, and the source sent.

use std::path::Path;
use std::sync::OnceLock;

use kie_upload::{Error, ErrorKind, NotRetried};

/// The client's base URL, for advice that names it: set once the client is built.
static BASE_URL: OnceLock<String> = OnceLock::new();

pub(crate) fn set_base_url(url: &str) {
    let _ = BASE_URL.set(url.to_owned());
}

/// The base URL with the other scheme (`https://` for `http://` and back), when it is known.
fn other_scheme() -> Option<String> {
    let url = BASE_URL.get()?;
    Some(match url.strip_prefix("https://") {
        Some(rest) => format!("http://{rest}"),
        None => format!("https://{}", url.strip_prefix("http://")?),
    })
}

/// What to do about `error`, in flags, when there is something to say.
pub(crate) fn advice(error: &Error, stdin: bool) -> Option<String> {
    if let Some(advice) = for_retry(error, stdin) {
        return Some(advice);
    }
    match error.kind() {
        ErrorKind::ApiKey { .. } | ErrorKind::Service { code: 401, .. } => Some(for_key(error)),
        ErrorKind::InsecureHttp { .. }
        | ErrorKind::Proxy { .. }
        | ErrorKind::InvalidInput { .. }
        | ErrorKind::Tls { .. }
        | ErrorKind::HostNotFound { .. }
        | ErrorKind::Transport
        | ErrorKind::WrongScheme { .. }
        | ErrorKind::Timeout => for_connection(error),
        ErrorKind::Service { .. }
        | ErrorKind::Http { .. }
        | ErrorKind::Redirect { .. }
        | ErrorKind::BadReply { .. } => for_reply(error),
        ErrorKind::Base64Refused { .. }
        | ErrorKind::LengthRequired { .. }
        | ErrorKind::SourceLengthMismatch { .. }
        | ErrorKind::StoredSizeMismatch { .. }
        | ErrorKind::Spool => for_source(error),
        _ => None,
    }
}

/// An error that a retry would have fixed, had there been one: standard input, which cannot be
/// sent twice unless spooled; a wait the server asks for that is longer than the tool's.
fn for_retry(error: &Error, stdin: bool) -> Option<String> {
    if stdin && error.not_retried() == Some(NotRetried::SourceNotRepeatable) && error.is_retryable()
    {
        return Some(
            "pass --spool to send standard input with a length, so it can be retried".into(),
        );
    }
    if let (Some(NotRetried::WaitTooLong), Some(wait)) = (error.not_retried(), error.retry_after())
    {
        let wait = indicatif::HumanDuration(wait);
        return Some(format!(
            "the server asks for a wait longer than kie-upload's: retry in {wait}"
        ));
    }
    None
}

/// A key that is missing, or that the service refused (401).
fn for_key(error: &Error) -> String {
    let missing = matches!(error.kind(), ErrorKind::ApiKey { .. });
    match error.setting() {
        // A key file that cannot be used is named by the line already.
        Some(setting) => check_key(setting, missing),
        None if missing => "set one of KIE_API_KEY or KIE_API_KEY_FILE, or pass \
                            --api-key-file FILE (get a key at https://kie.ai/api-key)"
            .into(),
        None => "check the API key".into(),
    }
}

/// The way to the service: its URL, the proxy, TLS, the name, the network, a stall.
fn for_connection(error: &Error) -> Option<String> {
    let setting = error.setting();
    Some(match error.kind() {
        ErrorKind::InsecureHttp { .. } => "use https://, or pass --allow-insecure-http".into(),
        ErrorKind::Proxy { .. } => check_proxy(setting),
        // A proxy setting refused when the client was built: a SOCKS proxy (it has a URL) without
        // the feature, or a variable that does not parse.
        ErrorKind::InvalidInput { .. } if error.proxy_url().is_some() => match setting {
            Some(var) => format!(
                "set {var} to an http:// proxy, pass --proxy or --no-proxy, or build kie-upload \
                 with the socks feature"
            ),
            None => {
                "give --proxy an http:// proxy, or build kie-upload with the socks feature".into()
            }
        },
        ErrorKind::InvalidInput { .. } if setting.is_some() => check_proxy(setting),
        ErrorKind::Tls { .. } => "check the base URL, the clock, and the trusted roots \
                                  (--cacert, SSL_CERT_FILE)"
            .into(),
        ErrorKind::HostNotFound { .. } => {
            "check the base URL (--base-url, KIE_BASE_URL), or the network's DNS".into()
        }
        ErrorKind::Transport => {
            "check the network and the base URL (--base-url, KIE_BASE_URL), then retry".into()
        }
        ErrorKind::WrongScheme {
            server_speaks_tls, ..
        } => match other_scheme() {
            Some(url) => format!("use {url}"),
            None if *server_speaks_tls => "use https://".into(),
            None => "use http://".into(),
        },
        // A stall before the request went out, on an https:// URL: the server may be waiting for
        // a plain-HTTP request that never comes.
        ErrorKind::Timeout if stalled_connecting(error) => match (BASE_URL.get(), other_scheme()) {
            (Some(url), Some(plain)) if url.starts_with("https://") => format!(
                "retry, or raise --timeout; if the server at {url} does not speak TLS, use {plain}"
            ),
            _ => "retry, or raise --timeout".into(),
        },
        ErrorKind::Timeout => "retry, or raise --timeout".into(),
        _ => return None,
    })
}

/// A reply that is not the upload's: the service's code, or an HTTP status from it or from
/// something in front of it.
fn for_reply(error: &Error) -> Option<String> {
    Some(match error.kind() {
        ErrorKind::Service { code: 402, .. } => "the account is out of credits: top it up".into(),
        ErrorKind::Service { code: 413, .. } | ErrorKind::Http { status: 413, .. } => {
            "the file is larger than the server or a proxy in front of it accepts: send a \
             smaller one"
                .into()
        }
        ErrorKind::Service { code: 417, .. } | ErrorKind::Http { status: 417, .. } => {
            "the server does not take `Expect: 100-continue`: pass --no-expect".into()
        }
        ErrorKind::Http {
            status: 401 | 403 | 407,
            ..
        } => "check the proxy URL and its credentials (--proxy, HTTPS_PROXY, ALL_PROXY), or \
              connect directly with --no-proxy"
            .into(),
        ErrorKind::Service { .. } | ErrorKind::Http { .. } if error.is_retryable() => {
            "retry later".into()
        }
        ErrorKind::Http { .. } | ErrorKind::Redirect { .. } | ErrorKind::BadReply { .. } => {
            "check the base URL (--base-url, KIE_BASE_URL)".into()
        }
        _ => return None,
    })
}

/// What was sent, or was to be: too large for base64, without a length, changed on the way,
/// or standard input that could not be spooled.
fn for_source(error: &Error) -> Option<String> {
    Some(match error.kind() {
        ErrorKind::Base64Refused { .. } => "leave out --base64 to use the stream endpoint".into(),
        ErrorKind::LengthRequired { .. } => "pass --spool (standard input goes to a temporary \
                                             file first), or upload a regular file"
            .into(),
        // A file whose size changed between attempts (the only mismatch with a path) needs no
        // fix, only another try.
        ErrorKind::SourceLengthMismatch { .. } if error.path().is_none() => {
            "the file changed while it was sent: upload it again once it is complete".into()
        }
        ErrorKind::SourceLengthMismatch { .. } | ErrorKind::StoredSizeMismatch { .. } => {
            "upload the file again".into()
        }
        // Past a file-size limit, any folder fails alike.
        ErrorKind::Spool
            if error
                .io_error()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::FileTooLarge) =>
        {
            "standard input is larger than the file-size limit, ulimit -f, allows: raise the \
             limit, or send without --spool and --reuse"
                .into()
        }
        ErrorKind::Spool => {
            "point TMPDIR at a folder this user can write to, with room for standard input".into()
        }
        _ => return None,
    })
}

/// Whether a stall came while connecting (the TCP connect or the TLS handshake), before the
/// request was sent.
fn stalled_connecting(error: &Error) -> bool {
    use std::error::Error as _;
    error
        .source()
        .is_some_and(|cause| cause.to_string().ends_with("connect"))
}

/// Where to look at a key that was refused: the variable, or the file and what named it (the
/// variable, or this tool's flag); the file's path only when the line does not say it already.
fn check_key(setting: &str, file_named: bool) -> String {
    if setting == "KIE_API_KEY" {
        return "check KIE_API_KEY".into();
    }
    let named_by_env = std::env::var_os("KIE_API_KEY_FILE")
        .is_some_and(|file| Path::new(&file).display().to_string() == setting);
    match (file_named, named_by_env) {
        (true, true) => "check KIE_API_KEY_FILE, which names it".into(),
        (true, false) => "check the file given to --api-key-file".into(),
        (false, true) => format!("check the key in {setting} (named by KIE_API_KEY_FILE)"),
        (false, false) => format!("check the key in {setting} (--api-key-file)"),
    }
}

/// Where to look at a proxy: the variable that set it, else this tool's flag.
fn check_proxy(var: Option<&str>) -> String {
    match var {
        Some(var) => format!(
            "check the proxy URL and its credentials in {var}, or connect directly with \
             --no-proxy"
        ),
        None => "check the URL and credentials given to --proxy, or leave it out".into(),
    }
}
