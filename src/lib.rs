//! A blocking, streaming client for the [kie.ai File Upload API](https://docs.kie.ai/file-upload-api/quickstart).
//!
//! It sends any [`std::io::Read`] source (a file, standard input, a pipe, bytes in memory) to the
//! service's stream endpoint as a hand-built `multipart/form-data` body, through a fixed-size buffer,
//! and returns the stored file's download URL and details. It needs no async runtime and starts no
//! threads of its own; its only dependencies are `ureq` and `serde_json` (and `rustls`, named to
//! choose its crypto provider). The service keeps uploads for three days.
//!
//! ```no_run
//! use kie_upload::{Client, Upload};
//!
//! fn main() -> Result<(), kie_upload::Error> {
//!     // KIE_API_KEY (or KIE_API_KEY_FILE) holds the key; KIE_BASE_URL may point elsewhere.
//!     let client = Client::from_env()?;
//!
//!     // A file: sent with a Content-Length, named after the file.
//!     let photo = client.upload_file("photo.jpg", "images/user-uploads")?;
//!     println!("{} expires at {:?}", photo.download_url, photo.expires_at_rfc3339());
//!
//!     // Any reader of unknown length, sent chunked.
//!     let log = client.upload(Upload::reader(std::io::stdin(), "logs").file_name("build.log"))?;
//!     println!("{} ({} bytes)", log.download_url, log.file_size);
//!
//!     // Everything else is a setting of the Upload.
//!     let data = vec![0u8; 1 << 20];
//!     let blob = client.upload(
//!         Upload::bytes(&data, "blobs")
//!             .file_name("zeros.bin")
//!             .on_progress(|sent, total| eprintln!("{sent}/{total:?}")),
//!     )?;
//!     println!("{}", blob.file_path);
//!     Ok(())
//! }
//! ```
//!
//! # Where to start
//!
//! - A [`Client`] holds the key and one connection pool: [`Client::new`] for the real service with
//!   the defaults, [`Client::from_env`], or [`Client::builder`] for any other setting (a
//!   [`ClientBuilder`]: base URL, timeouts, retries, TLS roots, proxy).
//! - What to send is an [`Upload`] (a file, bytes, any reader), for [`Client::upload`] (the stream
//!   endpoint, any size, the default) or [`Client::upload_base64`] (at most [`BASE64_MAX`]); or a
//!   [`UrlUpload`] for [`Client::upload_url`], where the service fetches the file itself.
//!   [`Client::upload_all`] runs many uploads a few at a time on one pool.
//! - A success is an [`UploadedFile`], its URL good for [`RETENTION`]; [`Client::download_to`]
//!   fetches it back. A failure is an [`Error`], below.
//! - Text that came from a server goes through [`printable`] before it reaches a terminal.
//!
//! # Errors and retries
//!
//! Every call returns [`Error`]. Its cause is an [`ErrorKind`], matched the same way whatever the
//! retries: a refusal by the service ([`ErrorKind::Service`], whether it came as an HTTP status or
//! inside a 200 reply), a proxy's page ([`ErrorKind::Http`]), a broken connection or a stall
//! ([`ErrorKind::Transport`], [`ErrorKind::Timeout`]), a local error ([`ErrorKind::Io`]), bad input
//! refused before anything is sent ([`ErrorKind::InvalidInput`]), and the checks that keep a
//! truncated upload from ever passing as a success ([`ErrorKind::SourceLengthMismatch`],
//! [`ErrorKind::StoredSizeMismatch`]). Each kind says what to do about it. Beside the kind,
//! [`Error::attempts`] and [`Error::not_retried`] say how the retries went, and
//! [`Error::setting`] where a refused key or a failed proxy was set. No error, log line or `Debug`
//! output ever contains the API key, even when a server echoes it back.
//!
//! Failures worth retrying (the rules are on [`Error::is_retryable`]) are retried when the upload
//! can be repeated safely: its source can be read again (a regular file, bytes, a seekable reader)
//! and it has a file name (see [`ClientBuilder::retries`]). A server that refuses early (a bad key,
//! a file too large) and closes the connection mid-body is heard: the error is its answer, not a
//! broken pipe, and the rest of the source is not read.
//!
//! # Replies
//!
//! The service answers errors as HTTP 200 with the error in the body's `code` (its usual way) or
//! with an HTTP status; both are read. A success's `data` is read in both documented shapes (see
//! [`UploadedFile`]): its download URL must be an absolute `http` or `https` URL with a host, and
//! its `fileSize` must equal the bytes sent.
//!
//! # Features
//! - `rustls` (default): TLS through rustls with ring and Mozilla's root certificates.
//! - `native-tls`: TLS through the platform's library and the operating system's roots instead; it
//!   takes precedence when both are on.
//! - `spool`: [`Upload::spool`], which copies a reader of unknown length to an anonymous temporary
//!   file first, for servers that refuse chunked bodies.
//! - `serde`: `Serialize` and `Deserialize` for [`UploadedFile`], to store one and read it back.
//! - `cache`: `UploadCache`, which reuses a live upload of the same bytes instead of sending
//!   them again (turns on `spool` and `serde`).
//! - `socks`: SOCKS4, SOCKS4a, SOCKS5 and SOCKS5h proxies ([`ClientBuilder::proxy`], or the
//!   environment's). Without it a SOCKS proxy is refused when the client is built.
//!
//! The `kie-upload` command-line tool is a package of its own, `kie-upload-cli`.
//!
//! With neither TLS feature, only `http://` base URLs work (a local emulator, a TLS-terminating
//! proxy on loopback).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rust_2018_idioms)]
// docs.rs marks the items that need a feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
#[cfg(feature = "cache")]
mod cache;
// Without the feature, the client's seam to the cache does nothing.
#[cfg(not(feature = "cache"))]
#[path = "cache/off.rs"]
mod cache;
mod checks;
mod client;
mod config;
mod download;
mod envelope;
mod error;
mod expect;
mod key;
mod local_file;
mod mime;
mod observe;
mod parallel;
mod payload;
mod proxy;
mod random;
mod reply;
mod resolve;
mod retry;
mod source;
mod text;
mod time;
mod tls;
mod transport;
mod upload;
mod uploaded;
mod url_upload;

#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub use cache::UploadCache;
pub use client::Client;
pub use config::{ClientBuilder, DEFAULT_BASE_URL};
pub use error::{Error, ErrorKind, NotRetried};
pub use observe::{Event, Progress};
pub use text::printable;
pub use upload::{Upload, BASE64_MAX};
pub use uploaded::{UploadedFile, RETENTION};
pub use url_upload::UrlUpload;

/// Internals opened for the encoder bench only, behind the internal `_bench` feature: not part of
/// the API, free to change.
#[cfg(feature = "_bench")]
#[doc(hidden)]
pub use body::bench_multipart;

// The README's examples are compiled as doctests, so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
