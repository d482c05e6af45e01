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
//! # What gets sent
//!
//! | source | length | framing | retried on failure |
//! |---|---|---|---|
//! | [`Upload::file`] / [`Client::upload_file`] of a regular file (an empty one too) | the file's size; opened once | `Content-Length` | yes |
//! | [`Upload::file`] of a pipe, FIFO or device (`/dev/stdin`, `<(cmd)`) | unknown; opened once | chunked | no |
//! | [`Upload::file`] of a file whose size reads as 0 but holds data (`/proc/...`) | unknown; opened once | chunked | yes |
//! | [`Upload::bytes`], borrowed or owned | the bytes' length | `Content-Length` | yes |
//! | [`Upload::reader`] | unknown | chunked | no |
//! | [`Upload::reader`] with [`Upload::length`] | as given, checked | `Content-Length` | no |
//! | [`Upload::seekable`] | measured by seeking | `Content-Length` | yes |
//! | a reader with `Upload::spool` (feature `spool`) | measured while copying to a temporary file | `Content-Length` | yes |
//!
//! The text fields `uploadPath` and `fileName` go before the file part, so a server can read them
//! before the large part; names are escaped as browsers escape them (`"` as `%22`, CR and LF as
//! `%0D` and `%0A`, nothing else). The upload path loses leading and trailing `/`. The file part's
//! content type is the one set with [`Upload::content_type`], else the extension's, else what the
//! first bytes say (PNG, JPEG, GIF, WebP, PDF, MP4, ZIP, ...), else `application/octet-stream`. A
//! source that cannot be read twice is never read again after it returned end of input (one Ctrl-D
//! ends standard input typed at a terminal).
//!
//! A body over 1 MiB, or of unknown length, first asks `Expect: 100-continue`, as curl does, and
//! waits at most 300 ms for the go-ahead ([`ClientBuilder::expect_continue`] turns this off). A
//! [`Client`] learns from its server for as long as it lives: one that let the wait run out is not
//! asked again, and a body no larger than one already accepted is not asked about.
//!
//! # Which endpoint
//!
//! | call | endpoint | use it for | bytes on the wire |
//! |---|---|---|---|
//! | [`Client::upload`], [`Client::upload_file`] | `/api/file-stream-upload` (multipart) | anything, of any size; the default | the file plus about 400 bytes |
//! | [`Client::upload_base64`] | `/api/file-base64-upload` (JSON) | small files (at most [`BASE64_MAX`]) when multipart is not an option | 4/3 of the file |
//! | [`Client::upload_url`] | `/api/file-url-upload` (JSON) | a file already on the web: the service fetches it (within 30 s; up to about 100 MB) | the URL only |
//! | [`Client::upload_all`] | the stream endpoint | many uploads, a few at a time on one connection pool, results in input order | |
//!
//! Base64 is encoded on the fly into the JSON body, never held as a second copy, with an exact
//! `Content-Length`, so its source's length must be known. [`Upload::validate`] and
//! [`UrlUpload::validate`] run the checks an upload runs before anything is sent, for refusing bad
//! input early. A progress callback may stop an upload ([`Progress::Cancel`]), and an event hook
//! ([`Upload::on_event`]) sees each attempt, reply and retry.
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
//! # Servers that refuse early, and timeouts
//!
//! A server, or the auth filter or proxy in front of it, may answer 401, 402 or 413 before it has
//! read the whole body, and close the connection. Many clients then report a broken pipe and
//! retry, sending the whole file again. This client hears the answer, over HTTP and HTTPS alike:
//!
//! | the server | what the client does |
//! |---|---|
//! | refuses at the headers and honours `Expect: 100-continue` | asks first (bodies over 1 MiB), gets the answer, sends no body |
//! | ignores `Expect`, reads some of the body, answers and closes | waits 300 ms for `100 Continue`, sends; when a write fails, stops reading the source and reads the answer |
//! | sends `100 Continue`, then refuses mid-body and closes | as above, without the wait |
//!
//! The answer is read from the socket after the failed write, beneath TLS, through ureq's
//! `unversioned` transport API (hence the tight ureq requirement in Cargo.toml). Every network wait
//! has a bound: connecting ([`ClientBuilder::connect_timeout`], default 30 s), each socket read or
//! write ([`ClientBuilder::stall_timeout`], default 60 s), and the reply after the body
//! ([`ClientBuilder::reply_timeout`], default 120 s). There is no total deadline, so a slow upload
//! that keeps moving is never cut short. A server that speaks the other protocol (`https://` to a
//! plain port, `http://` to a TLS one) fails at once with [`ErrorKind::WrongScheme`].
//!
//! # TLS and proxies
//!
//! With the default `rustls` feature the client trusts Mozilla's roots, compiled in; with
//! `native-tls`, the operating system's. [`ClientBuilder::root_certs_pem`] or
//! [`ClientBuilder::root_certs_file`] (or `SSL_CERT_FILE` through [`ClientBuilder::with_env`])
//! replaces them, as curl's `--cacert` does. A certificate the client does not trust is
//! [`ErrorKind::Tls`], in words, never retried.
//!
//! A proxy is honoured or refused, never bypassed: [`ClientBuilder::proxy`] sets one,
//! [`ClientBuilder::no_proxy`] turns it off, and otherwise the environment names it, read as curl
//! reads it (its documentation has the variables, their order, the Windows rule and `no_proxy`).
//! A proxy that cannot be reached or refuses the tunnel is [`ErrorKind::Proxy`], never blamed on
//! the service, and [`Error::setting`] names the variable that set it.
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
//! - `spool`: `Upload::spool`, which copies a reader of unknown length to an anonymous temporary
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
// What the unit tests share.
#[cfg(test)]
mod testing;
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

// The README's examples are compiled as doctests, so they cannot drift from the API. One of them
// shows the cache, so they are compiled when its feature is on (as in the README's test command,
// where the CLI's package turns it on): the Markdown then needs no hidden lines.
#[cfg(all(doctest, feature = "cache"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
