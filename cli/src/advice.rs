//! The library's advice ([`Hint`]) in the words of this tool: its flags and the variables it
//! reads, and the place the key really came from. Never a Rust item: a user of the tool has no
//! `ClientBuilder` to call.

use kie_upload::{Error, Hint, KeySource, NotRetried, ProxySource};

/// What to do about `error`, in flags, when there is something to say.
pub(crate) fn advice(error: &Error, stdin: bool) -> Option<String> {
    if stdin && error.not_retried() == Some(NotRetried::SourceNotRepeatable) && error.is_retryable()
    {
        return Some(
            "pass --spool to send standard input with a length, so it can be retried".into(),
        );
    }
    Some(match error.hint()? {
        Hint::SetApiKey { .. } => "set KIE_API_KEY or KIE_API_KEY_FILE, or pass --api-key-file \
                                   FILE (get a key at https://kie.ai/api-key)"
            .into(),
        Hint::CheckApiKey { source, .. } => match source {
            KeySource::Env(var) => format!("check {var}"),
            KeySource::File {
                path,
                var: Some(var),
                ..
            } => format!("check the key in {} (named by {var})", path.display()),
            KeySource::File { path, .. } => {
                format!("check the key in {} (--api-key-file)", path.display())
            }
            _ => "check the API key".into(),
        },
        Hint::ChooseOneApiKey => {
            "unset KIE_API_KEY or KIE_API_KEY_FILE, or pass --api-key-file FILE".into()
        }
        Hint::TopUpCredits => "the account is out of credits: top it up".into(),
        Hint::SendSmallerFile => "the file is larger than the server or a proxy in front of it \
                                  accepts: send a smaller one"
            .into(),
        Hint::UseStreamEndpoint => "leave out --base64 to use the stream endpoint".into(),
        Hint::TurnOffExpect => {
            "the server does not take `Expect: 100-continue`: pass --no-expect".into()
        }
        Hint::AllowInsecureHttp => "use https://, or pass --allow-insecure-http".into(),
        Hint::SendWithLength => "pass --spool (standard input goes to a temporary file first), \
                                 or upload a regular file"
            .into(),
        Hint::FixSourceLength => "the file changed while it was sent: upload it again once it \
                                  is complete"
            .into(),
        Hint::UploadAgain => "upload the file again".into(),
        Hint::CheckProxy => match error.proxy_source() {
            Some(ProxySource::Env(var)) => format!(
                "check the proxy URL and its credentials in {var}, or connect directly with \
                 --no-proxy"
            ),
            Some(ProxySource::Builder) => {
                "check the URL and credentials given to --proxy, or leave it out".into()
            }
            _ => "check the proxy URL and its credentials (--proxy, HTTPS_PROXY, ALL_PROXY), or \
                  connect directly with --no-proxy"
                .into(),
        },
        Hint::EnableSocks => match error.proxy_source() {
            Some(ProxySource::Env(var)) => format!(
                "set {var} to an http:// proxy, pass --proxy or --no-proxy, or build kie-upload \
                 with the socks feature"
            ),
            _ => "give --proxy an http:// proxy, or build kie-upload with the socks feature".into(),
        },
        Hint::CheckTrustedRoots => "check the base URL, the clock, and the trusted roots \
                                    (--cacert, SSL_CERT_FILE)"
            .into(),
        Hint::CheckBaseUrl => "check the base URL (--base-url, KIE_BASE_URL)".into(),
        Hint::CheckHostName => {
            "check the base URL (--base-url, KIE_BASE_URL), or the network's DNS".into()
        }
        Hint::CheckNetwork => {
            "check the network and the base URL (--base-url, KIE_BASE_URL), then retry".into()
        }
        Hint::RaiseTimeout => "retry, or raise --timeout".into(),
        Hint::RetryLater => "retry later".into(),
        // A hint this tool does not know yet: its library wording may name a Rust item, so the
        // line goes without advice rather than with advice the user cannot follow.
        _ => return None,
    })
}
