//! Tests that set proxy variables run in a child process of their test binary: a variable set in
//! the test process would reach every other test's client.

use std::process::Command;
use std::time::Duration;

use kie_upload::{Client, ClientBuilder};
use kie_upload_emulator::Emulator;

use super::{within, KEY};

/// The proxy variables, all of which a child starts without.
const PROXY_VARS: [&str; 8] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Runs the test `name` of this binary in a child process whose environment holds `vars` (and no
/// other proxy variable), and fails if it fails. In the child, [`child_env`] is true.
pub fn in_child(name: &str, vars: &[(&str, &str)]) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([name, "--exact", "--test-threads=1", "--nocapture"]);
    // Not those about to be set: on Windows, where names are case-insensitive, std's `Command`
    // would give a name set after its removal the spelling it was removed with.
    let set = |var: &str| {
        vars.iter()
            .any(|(n, _)| *n == var || (cfg!(windows) && n.eq_ignore_ascii_case(var)))
    };
    for var in PROXY_VARS.into_iter().filter(|var| !set(var)) {
        command.env_remove(var);
    }
    command
        .envs(vars.iter().copied())
        .env("KIE_PROXY_TEST_CHILD", name);
    let out = within(Duration::from_secs(60), move || command.output().unwrap());
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child {name} failed:\n{shown}");
    assert!(
        shown.contains("1 passed"),
        "child {name} ran nothing:\n{shown}"
    );
}

/// Whether this process is the child [`in_child`] started for the test `name`.
pub fn child_env(name: &str) -> bool {
    std::env::var_os("KIE_PROXY_TEST_CHILD").is_some_and(|v| v == name)
}

/// A client of `base_url` with the proxy from the environment, as `Client::from_env` would make.
pub fn env_builder(base_url: &str) -> ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        .timeout(Duration::from_secs(10))
        .retry_backoff(Duration::from_millis(10))
}

/// A client of `emulator` (trusting its CA, over TLS) with the proxy from the environment.
pub fn env_client(emulator: &Emulator) -> Client {
    let builder = env_builder(emulator.base_url());
    let builder = match emulator.ca_cert_pem() {
        Some(pem) => builder.root_certs_pem(pem),
        None => builder,
    };
    builder.build().expect("build the client")
}
