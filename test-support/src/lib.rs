//! Test servers that only this workspace's own tests need, kept out of the published emulator
//! (`kie-upload-emulator` is a stand-in for the service, for anyone's tests; these are not):
//!
//! - [`ConnectProxy`], an HTTP CONNECT proxy;
//! - [`SocksProxy`], a SOCKS4, SOCKS4a and SOCKS5 proxy that records how each tunnel was asked
//!   for ([`SocksTunnel`]).
//!
//! Both listen on 127.0.0.1, tunnel to the target a client asks for (the emulator, plain or TLS),
//! and stop when dropped. They share one core (`relay.rs`): the listener, a thread a connection,
//! the pipes both ways and the closing of live sockets; each adds only its handshake.
//!
//! Never published (`publish = false`): a package that depends on it from its tests keeps those
//! tests out of its published files (see `include` in the library's and the CLI's Cargo.toml).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rust_2018_idioms)]

mod connect;
mod relay;
mod socks;

pub use connect::ConnectProxy;
pub use socks::{SocksProxy, SocksTunnel};
