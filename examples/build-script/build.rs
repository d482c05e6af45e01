//! The build.rs recipe: generate an asset from a file in this crate, upload it with kie-upload, and
//! bake its download URL into the binary (`env!("ASSET_URL")`, `env!("ASSET_EXPIRES_AT")`).
//!
//! Configuration comes from the environment, through `ClientBuilder::with_env()`:
//! - `KIE_API_KEY_FILE`: a file holding the API key. Required; without it the upload is skipped
//!   with a warning and the URL is empty. The key is read from a file, never from `KIE_API_KEY`,
//!   because a build script must name every variable it reads in `cargo:rerun-if-env-changed`,
//!   and cargo writes the *value* of each such variable in plain text into
//!   `target/**/.fingerprint/`: the key would end up on disk, in CI caches and in archived target
//!   directories. A file's path is no secret.
//! - `KIE_BASE_URL` (optional): another service root, such as a local emulator.
//! - `SSL_CERT_FILE` (optional): a PEM file of CA certificates to trust instead of the default
//!   roots.
//!
//! The 3-day expiry against cargo's cache: cargo runs this script again only when the input file,
//! this script, kie-upload, or one of the variables above changes. Otherwise it reuses the URL of
//! the last run, and the service deletes that file 3 days after the upload, so a binary built from
//! cache can carry a dead URL. To refresh it, make cargo run the script again (`touch
//! assets/greeting.txt`, or `cargo clean -p kie-upload-build-example`) and rebuild. Build what you
//! ship from a clean target directory, and do not use build-time uploads for URLs that must live
//! longer than 3 days. The binary also receives the expiry, so it can tell (src/main.rs does).
//!
//! The upload cache (kie-upload's `cache` feature) makes the opposite case cheap: a rebuild after
//! `cargo clean`, or the same asset built by several crates, uploads nothing while the earlier
//! upload of the same bytes lives (trusted until an hour before its expiry), and bakes in that URL.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};
use std::{env, fs};

use kie_upload::{Client, Upload, UploadCache};

/// The file the asset is generated from, relative to this crate's root.
const INPUT: &str = "assets/greeting.txt";
/// The asset's folder on the service (the API's `uploadPath`).
const UPLOAD_PATH: &str = "build-assets/kie-upload-build-example";

fn main() -> ExitCode {
    // Rerun when the input changes (this also stops cargo from rerunning on any change in the
    // package), and when the configuration changes. Deliberately not KIE_API_KEY: see above.
    println!("cargo:rerun-if-changed={INPUT}");
    println!("cargo:rerun-if-env-changed=KIE_API_KEY_FILE");
    println!("cargo:rerun-if-env-changed=KIE_BASE_URL");
    println!("cargo:rerun-if-env-changed=SSL_CERT_FILE");
    println!("cargo:rerun-if-env-changed=DOCS_RS");

    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            // A key is configured but the upload failed: fail the build rather than bake in a URL
            // that was never made. (Unset KIE_API_KEY_FILE to build without the upload.)
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let input = fs::read(INPUT).map_err(|e| format!("cannot read {INPUT}: {e}"))?;
    let asset = generate(&input);
    // Generated files go to OUT_DIR, never into the source tree.
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    // Named after its content: a changed input gets a new URL, so a binary built earlier keeps a
    // working one until it expires; the same input overwrites the same file.
    let name = format!("greeting-{:016x}.txt", fnv1a(&asset));
    let path = out_dir.join(&name);
    fs::write(&path, &asset).map_err(|e| format!("cannot write {}: {e}", path.display()))?;

    // docs.rs builds without network and without a key: nothing to upload there.
    if env::var_os("DOCS_RS").is_some() {
        return skip(None);
    }
    if env::var_os("KIE_API_KEY_FILE").is_none_or(|f| f.is_empty()) {
        let why = if env::var_os("KIE_API_KEY").is_some_and(|k| !k.is_empty()) {
            "KIE_API_KEY is set, but this build script reads the key only from the file named by \
             KIE_API_KEY_FILE (cargo would store KIE_API_KEY's value under target/)"
        } else {
            "no API key: set KIE_API_KEY_FILE to a file holding the key"
        };
        return skip(Some(why));
    }
    emit(&upload(&path)?);
    Ok(())
}

/// What the binary receives, as `ASSET_URL`, `ASSET_EXPIRES_AT` and `ASSET_EXPIRES_UNIX`.
#[derive(Default)]
struct Baked {
    /// The download URL; empty when the upload was skipped.
    url: String,
    /// The expiry as RFC 3339 text, or empty.
    expires_at: String,
    /// The expiry in seconds since 1970, or empty.
    expires_unix: String,
}

fn emit(baked: &Baked) {
    println!("cargo:rustc-env=ASSET_URL={}", baked.url);
    println!("cargo:rustc-env=ASSET_EXPIRES_AT={}", baked.expires_at);
    println!("cargo:rustc-env=ASSET_EXPIRES_UNIX={}", baked.expires_unix);
}

/// Uploads the asset with the configuration the environment gives.
fn upload(path: &Path) -> Result<Baked, String> {
    let client = Client::builder()
        .with_env()
        // The key from the file only, whatever KIE_API_KEY says.
        .api_key_file(env::var_os("KIE_API_KEY_FILE").unwrap_or_default())
        // A build should not hang on a dead network for the default minutes.
        .timeout(Duration::from_secs(30))
        // The same asset again (after `cargo clean`, or from several crates) is not uploaded
        // again while its earlier upload lives: the URL comes from this user's upload cache.
        .cache(UploadCache::in_default_dir().map_err(|e| format!("kie-upload: {e}"))?)
        .build()
        .map_err(|e| format!("kie-upload: {e}"))?;
    let file = client
        .upload(Upload::file(path, UPLOAD_PATH))
        .map_err(|e| format!("uploading {}: {e}", path.display()))?;
    Ok(Baked {
        expires_at: file.expires_at_rfc3339().unwrap_or_default(),
        expires_unix: file
            .expires_at()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs().to_string())
            .unwrap_or_default(),
        url: file.download_url,
    })
}

/// Builds without the upload: the binary still compiles, with empty values.
fn skip(warning: Option<&str>) -> Result<(), String> {
    if let Some(warning) = warning {
        println!("cargo:warning=asset not uploaded, ASSET_URL is empty: {warning}");
    }
    emit(&Baked::default());
    Ok(())
}

/// The asset: the input with a line saying where it came from. The same input gives the same bytes.
fn generate(input: &[u8]) -> Vec<u8> {
    let mut asset = input.to_vec();
    if !asset.ends_with(b"\n") {
        asset.push(b'\n');
    }
    asset.extend_from_slice(format!("-- generated by build.rs from {INPUT}\n").as_bytes());
    asset
}

/// FNV-1a, 64 bits: a content tag for the file name that stays the same across Rust versions
/// (std's `DefaultHasher` does not promise that).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
