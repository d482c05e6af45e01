//! What to do about an error, in the words of this tool: its flags, the variables it reads, and
//! the place the key or proxy really came from. The library's line says what failed; its kind (and
//! `Error::setting`, `Error::proxy_url`) is enough to word the rest. Never a Rust item: a user of
//! the tool has no `ClientBuilder` to call.

use std::path::Path;

use kie_upload::{Error, ErrorKind, NotRetried};

/// What to do about `error`, in flags, when there is something to say.
pub(crate) fn advice(error: &Error, stdin: bool) -> Option<String> {
    if stdin && error.not_retried() == Some(NotRetried::SourceNotRepeatable) && error.is_retryable()
    {
        return Some(
            "pass --spool to send standard input with a length, so it can be retried".into(),
        );
    }
    let setting = error.setting();
    Some(match error.kind() {
        ErrorKind::ApiKey { .. } | ErrorKind::Service { code: 401, .. } if setting.is_some() => {
            check_key(setting?)
        }
        ErrorKind::ApiKey { .. } => "set one of KIE_API_KEY or KIE_API_KEY_FILE, or pass \
                                     --api-key-file FILE (get a key at https://kie.ai/api-key)"
            .into(),
        ErrorKind::Service { code: 401, .. } => "check the API key".into(),
        ErrorKind::InsecureHttp { .. } => "use https://, or pass --allow-insecure-http".into(),
        ErrorKind::Base64Refused { .. } => "leave out --base64 to use the stream endpoint".into(),
        ErrorKind::LengthRequired { .. } => "pass --spool (standard input goes to a temporary \
                                             file first), or upload a regular file"
            .into(),
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
        ErrorKind::Timeout => "retry, or raise --timeout".into(),
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
        // A file whose size changed between attempts (the only mismatch with a path) needs no
        // fix, only another try.
        ErrorKind::SourceLengthMismatch { .. } if error.path().is_none() => {
            "the file changed while it was sent: upload it again once it is complete".into()
        }
        ErrorKind::SourceLengthMismatch { .. } | ErrorKind::StoredSizeMismatch { .. } => {
            "upload the file again".into()
        }
        _ => return None,
    })
}

/// Where to look at a key that was refused: the variable, or the file and what named it (the
/// variable, or this tool's flag).
fn check_key(setting: &str) -> String {
    if setting == "KIE_API_KEY" {
        return "check KIE_API_KEY".into();
    }
    let named_by_env = std::env::var_os("KIE_API_KEY_FILE")
        .is_some_and(|file| Path::new(&file).display().to_string() == setting);
    if named_by_env {
        format!("check the key in {setting} (named by KIE_API_KEY_FILE)")
    } else {
        format!("check the key in {setting} (--api-key-file)")
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
