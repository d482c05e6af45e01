//! Uploads through proxies that tests run (kie-upload-test-support): a CONNECT proxy set from code,
//! and SOCKS4, SOCKS4a, SOCKS5 and SOCKS5h proxies (feature `socks`), from code or the environment,
//! over HTTP and HTTPS. Proxies that refuse, cannot be reached or do not parse are in `proxy.rs`.
//!
//! Not in the published package (see `include` in Cargo.toml): the test-support crate is not
//! published, so the unpacked package could not build this file.

mod common;

#[cfg(feature = "socks")]
use common::child::{child_env, env_client, in_child};
use common::*;
use kie_upload::Upload;
use kie_upload_emulator::Config;
#[cfg(feature = "socks")]
use kie_upload_emulator::Emulator;
use kie_upload_test_support::ConnectProxy;
#[cfg(feature = "socks")]
use kie_upload_test_support::SocksProxy;

#[test]
fn an_upload_goes_through_a_connect_proxy_set_from_code() {
    let emulator = emulator_with(Config::new(KEY).tls(true));
    let proxy = ConnectProxy::start().unwrap();
    let client = builder(&emulator).proxy(proxy.url()).build().unwrap();
    let data = payload(200_000);
    let file = client
        .upload(Upload::bytes(&data, "proxied").file_name("p.bin"))
        .unwrap();
    assert_eq!(emulator.stored("proxied/p.bin").unwrap(), data);
    let target = emulator.base_url().trim_start_matches("https://");
    assert!(
        proxy.tunnels().iter().any(|t| t == target),
        "{:?}",
        proxy.tunnels()
    );
    assert!(file.download_url.starts_with("https://"));
}

#[cfg(feature = "socks")]
#[test]
fn uploads_go_through_a_socks_proxy_over_http_and_https() {
    let data = payload(300_000);
    for tls in [false, true] {
        let emulator = emulator_with(Config::new(KEY).tls(tls));
        let port = emulator.base_url().rsplit(':').next().unwrap().to_owned();
        let scheme = if tls { "https" } else { "http" };
        // socks5 and socks4 resolve a name here and send the address; socks5h and socks4a send
        // the name for the proxy to resolve.
        for (proto, version, by_name) in [
            ("socks5", 5, false),
            ("socks", 5, false),
            ("socks5h", 5, true),
            ("socks4", 4, false),
            ("socks4a", 4, true),
        ] {
            let proxy = SocksProxy::start().unwrap();
            // By name only where the proxy resolves it: resolved here, `localhost` may come first
            // as ::1, where the emulator does not listen.
            let host = if by_name { "localhost" } else { "127.0.0.1" };
            let base = format!("{scheme}://{host}:{port}");
            let client = socks_builder(&emulator, &base)
                .proxy(proxy.url(proto))
                .build()
                .unwrap();
            let name = format!("{proto}-{tls}.bin");
            let file = client
                .upload(Upload::bytes(&data, "socks").file_name(&name))
                .unwrap_or_else(|e| panic!("{proto} over {scheme}: {e}"));
            assert_eq!(emulator.stored(&format!("socks/{name}")).unwrap(), data);
            let tunnels = proxy.tunnels();
            assert!(!tunnels.is_empty(), "{proto} over {scheme}: no tunnel");
            for t in &tunnels {
                assert_eq!((t.version, t.by_name), (version, by_name), "{proto}: {t:?}");
                assert_eq!(t.target, format!("{host}:{port}"), "{proto}");
            }
            // The download goes through the proxy too.
            assert_eq!(download(&client, &file.download_url), data);
            assert!(proxy.tunnels().len() >= tunnels.len());
        }
    }
}

/// A builder for `base_url` (the emulator under another name) trusting the emulator's CA.
#[cfg(feature = "socks")]
fn socks_builder(emulator: &Emulator, base_url: &str) -> kie_upload::ClientBuilder {
    let builder = builder_for(base_url);
    match emulator.ca_cert_pem() {
        Some(pem) => builder.root_certs_pem(pem),
        None => builder,
    }
}

#[cfg(feature = "socks")]
#[test]
fn a_socks_proxy_from_the_environment_is_used() {
    const NAME: &str = "a_socks_proxy_from_the_environment_is_used";
    if !child_env(NAME) {
        let proxy = SocksProxy::start().unwrap();
        in_child(NAME, &[("ALL_PROXY", &proxy.url("socks5h"))]);
        assert_eq!(proxy.tunnels().len(), 1, "{:?}", proxy.tunnels());
        return;
    }
    let emulator = emulator_with(Config::new(KEY).tls(true));
    let client = env_client(&emulator);
    client
        .upload(Upload::bytes(b"via env", "socks").file_name("e.txt"))
        .unwrap();
}
