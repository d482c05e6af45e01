//! Uploads through a CONNECT proxy that the test runs (kie-upload-test-support): the proxy comes
//! from the environment unless a flag says otherwise. Proxy advice and refusals are in
//! `settings.rs`.
//!
//! Not in the published package (see `include` in Cargo.toml): the test-support crate is not
//! published, so the unpacked package could not build this file.

mod common;

use common::*;
use kie_upload_emulator::Config;
use kie_upload_test_support::ConnectProxy;

#[test]
fn the_proxy_comes_from_the_environment_unless_a_flag_says_otherwise() {
    let emulator = emulator_with(Config::new(KEY).tls(true));
    let proxy = ConnectProxy::start().unwrap();
    let (_dir, path) = temp_file("p.txt", b"proxied");
    let ca = ca_file(&emulator);
    let with_env = |proxy_url: &str| {
        let mut c = command(&emulator);
        c.env("KIE_API_KEY", KEY)
            .env("HTTPS_PROXY", proxy_url)
            .args(["--cacert", &ca]);
        c
    };
    // The environment's proxy is used by default.
    let out = finish(with_env(&proxy.url()).arg(&path), b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(proxy.tunnels().len(), 1);
    // A proxy in the environment that does not exist: --no-proxy ignores it.
    let out = finish(
        with_env("http://127.0.0.1:1").arg("--no-proxy").arg(&path),
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = finish(with_env("http://127.0.0.1:1").arg(&path), b"");
    assert_eq!(out.code, 1, "{}", out.stderr);
    // --proxy wins over the environment.
    let out = finish(
        with_env("http://127.0.0.1:1")
            .args(["--proxy", &proxy.url()])
            .arg(&path),
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(proxy.tunnels().len(), 2);
}
