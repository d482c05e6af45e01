//! A blocking, streaming client for the [kie.ai File Upload API](https://docs.kie.ai/file-upload-api/quickstart).
//!
//! It sends any [`std::io::Read`] source (a file, standard input, a pipe, bytes in memory) to the
//! service's stream endpoint as a hand-built `multipart/form-data` body, through a fixed-size buffer,
//! and returns the stored file's download URL and details. It needs no async runtime and starts no
//! threads; its only dependencies are `ureq`, `serde` and `serde_json`. The service keeps uploads for
//! three days.
//!
//! ```no_run
//! use kie_upload::{Client, Upload};
//!
//! fn main() -> Result<(), kie_upload::Error> {
//!     // KIE_API_KEY holds the key; KIE_BASE_URL may point elsewhere (a local emulator, a proxy).
//!     let client = Client::from_env()?;
//!
//!     // A file: sent with a Content-Length, named after the file.
//!     let photo = client.upload_file("photo.jpg", "images/user-uploads")?;
//!     println!("{} expires at {:?}", photo.download_url, photo.expires_at_rfc3339());
//!
//!     // Any reader of unknown length, sent chunked.
//!     let log = client.upload_reader(std::io::stdin(), "build.log", "logs")?;
//!     println!("{} ({} bytes)", log.download_url, log.file_size);
//!
//!     // Everything else goes through the Upload builder.
//!     let data = vec![0u8; 1 << 20];
//!     let blob = client.upload(
//!         Upload::bytes(&data)
//!             .file_name("zeros.bin")
//!             .upload_path("blobs")
//!             .on_progress(|sent, total| eprintln!("{sent}/{total:?}")),
//!     )?;
//!     println!("{}", blob.file_path);
//!     Ok(())
//! }
//! ```
//!
//! Failures worth it (connection failures and stalls, 429, 5xx, the service's 455) are retried when
//! the upload can be repeated safely: a file, bytes or [`Upload::seekable`] source with a file name
//! (see [`ClientBuilder::retries`]). [`Client::upload_all`] runs many uploads a few at a time over
//! one connection pool.
//!
//! The service's two other endpoints are covered too: [`Client::upload_base64`] (small files as base64
//! in JSON, encoded on the fly) and [`Client::upload_url`] (the service fetches a URL itself).
//!
//! Errors are one [`Error`] enum: a refusal by the service ([`Error::Service`], whether it came as an
//! HTTP status or inside a 200 reply), a proxy's error page ([`Error::Http`]), a transport failure or
//! timeout ([`Error::Transport`]), a local I/O error ([`Error::Io`]), bad input refused before
//! anything is sent ([`Error::InvalidInput`]), and the checks that keep a truncated upload from ever
//! passing as a success ([`Error::LengthMismatch`], [`Error::SizeMismatch`]). No error, log line or
//! `Debug` output ever contains the API key.
//!
//! # Features
//! - `rustls` (default): TLS through rustls with the webpki root certificates.
//! - `native-tls`: TLS through the platform's library instead; it takes precedence when both are on.
//! - `spool`: `Upload::spool()`, which copies a reader of unknown length to an anonymous temporary
//!   file first, for servers that refuse chunked bodies.
//! - `cli`: the `kie-upload` command-line tool.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rust_2018_idioms)]

mod base64;
// Opened for the benches only: hidden from the docs and outside semver.
#[doc(hidden)]
pub mod bench_support;
mod builder;
mod client;
mod error;
mod mime;
mod multipart;
mod parallel;
mod payload;
mod random;
mod response;
mod retry;
mod time;
mod upload;

pub use builder::ClientBuilder;
pub use client::{Client, BASE64_MAX, DEFAULT_BASE_URL};
pub use error::Error;
pub use response::{UploadedFile, RETENTION};
pub use upload::Upload;

// The README's examples are compiled as doctests, so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
