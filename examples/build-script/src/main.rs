//! Prints the download URL that build.rs uploaded the generated asset to, and when it expires.
//! Both are baked into the binary at build time (`env!`), so this program makes no request.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The asset's download URL, or empty when build.rs skipped the upload (docs.rs, no key).
const ASSET_URL: &str = env!("ASSET_URL");
/// Its expiry as RFC 3339 text, or empty.
const ASSET_EXPIRES_AT: &str = env!("ASSET_EXPIRES_AT");
/// Its expiry in seconds since 1970, or empty: compared with the clock at run time, because the
/// binary can outlive the file (see build.rs).
const ASSET_EXPIRES_UNIX: &str = env!("ASSET_EXPIRES_UNIX");

fn main() -> ExitCode {
    if ASSET_URL.is_empty() {
        eprintln!(
            "no asset was uploaded at build time: build with KIE_API_KEY_FILE set \
             (see the build's warnings)"
        );
        return ExitCode::FAILURE;
    }
    println!("{ASSET_URL}");
    let expires = ASSET_EXPIRES_UNIX
        .parse()
        .ok()
        .map(|secs| UNIX_EPOCH + Duration::from_secs(secs));
    match expires {
        Some(at) if at <= SystemTime::now() => {
            eprintln!(
                "the asset expired at {ASSET_EXPIRES_AT}: touch assets/greeting.txt and rebuild \
                 to upload it again"
            );
            ExitCode::FAILURE
        }
        _ => {
            eprintln!("expires at {ASSET_EXPIRES_AT}");
            ExitCode::SUCCESS
        }
    }
}
