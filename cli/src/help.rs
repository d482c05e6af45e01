//! `--help`: what the tool does, its arguments, every flag (from [`crate::flags`]), the
//! environment, the exit status and examples. tests/help.rs holds the man page and the README to it.

use crate::flags;

/// The whole text of `--help`.
pub(crate) fn usage() -> String {
    format!(
        "{USAGE_HEAD}\nOptions:\n{}\n{USAGE_TAIL}",
        flags::option_list()
    )
}

const USAGE_HEAD: &str = "\
Usage: kie-upload [OPTIONS] <SRC>...
       kie-upload [OPTIONS] --from-url URL

Uploads each SRC to the kie.ai File Upload API and prints its download URL, one
per line, in the order given, each as soon as it and those before it are done.
Uploads are kept for 3 days.

Arguments:
  <SRC>...               a file, or - for standard input (streamed; size
                         unknown); with -r, a folder
";

const USAGE_TAIL: &str = "\
Environment:
  KIE_API_KEY            the API key
  KIE_API_KEY_FILE       a file holding the API key; setting both this and
                         KIE_API_KEY is an error. --api-key-file wins over
                         both.
  KIE_BASE_URL           the service root; --base-url wins
  SSL_CERT_FILE          a PEM file of CA certificates; --cacert wins
  https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY
                         the proxy for an https:// base URL: the first one
                         set, in this order (set but empty: no proxy);
                         --proxy and --no-proxy win
  http_proxy, all_proxy, ALL_PROXY
                         the same for an http:// base URL; upper-case
                         HTTP_PROXY is not read, as in curl (on Windows,
                         where the two are one variable, it counts, except
                         in a CGI program)
  no_proxy, NO_PROXY     hosts reached directly: a name covers the names
                         under it, * every host

Exit status:
  0    every upload succeeded
  1    an upload failed, or its result could not be written; the others ran
  2    a usage or configuration error; nothing was sent
  130  interrupted by Ctrl-C (143: by SIGTERM); the last line says what was
       stored

Examples:
  kie-upload photo.jpg                       print the download URL
  kie-upload -p images/2026 *.png            several files, 16 at a time
  tar cz src | kie-upload -n src.tar.gz -    standard input, streamed
  kie-upload -r -p site public/              a folder, with its folders
  kie-upload -r --include '**.css' public/   only the style sheets under it
  kie-upload -r --dry-run public/            what would go where
  find . -name '*.log' -print0 | kie-upload --null --files-from -
  kie-upload --json report.pdf | jq -r .expiresAt
  kie-upload --verify backup.tar             download it back and compare
  kie-upload --from-url https://example.com/a.png -n a.png

See kie-upload(1) for more.";
