//! The small local files a client reads whole when it is built, the API key and the root
//! certificates, each read up to a bound: a device that never ends (`/dev/zero`) or a wrong file
//! is refused with its name, not read until memory runs out.

use std::fmt::Display;
use std::io::Read;
use std::path::Path;

use crate::Error;

/// The most a key file may hold: 4 KiB. A kie.ai key is 32 characters; this leaves room for any
/// bearer token a secret manager writes (they stay well under the 8 KiB many servers allow for a
/// whole request head).
const KEY_FILE_MAX: u64 = 4 * 1024;

/// The most a file of root certificates may hold: 8 MiB. Mozilla's whole bundle is about 220 KB
/// and the system bundles built from it stay under 1 MiB, so even a bundle many times larger (a
/// company's roots added, certificates with their text dumps) passes.
#[cfg(any(feature = "_rustls", feature = "native-tls"))]
const ROOTS_FILE_MAX: u64 = 8 * 1024 * 1024;

/// Reads the API key from `path`, trimmed of the white space around it.
pub(crate) fn read_key(path: &Path) -> Result<String, Error> {
    let file = path.display();
    let cannot =
        |e: &dyn Display| Error::api_key(format!("cannot read the API key file {file}: {e}"));
    let bytes = read_capped(path, KEY_FILE_MAX)
        .map_err(|e| cannot(&e))?
        .ok_or_else(|| {
            Error::api_key(format!(
                "the API key file {file} holds more than {} KiB: name the file that holds only \
                 the key",
                KEY_FILE_MAX / 1024
            ))
        })?;
    let text = String::from_utf8(bytes).map_err(|e| cannot(&e))?;
    let key = text.trim().to_owned();
    if key.is_empty() {
        return Err(Error::api_key(format!("the API key file {file} is empty")));
    }
    Ok(key)
}

/// Reads the PEM of the root certificates from `path` (only a build with TLS trusts any).
#[cfg(any(feature = "_rustls", feature = "native-tls"))]
pub(crate) fn read_roots(path: &Path) -> Result<Vec<u8>, Error> {
    let file = path.display();
    read_capped(path, ROOTS_FILE_MAX)
        .map_err(|e| Error::invalid(format!("cannot read the root certificates {file}: {e}")))?
        .ok_or_else(|| {
            Error::invalid(format!(
                "the root certificates {file} hold more than {} MiB: give a PEM bundle",
                ROOTS_FILE_MAX >> 20
            ))
        })
}

/// The file's bytes, or `None` when it holds more than `limit`: at most `limit + 1` bytes are read.
fn read_capped(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}
