//! Proxies, and the names the client looks up: SOCKS proxies (feature `socks`) or a refusal at
//! `build()` without it, proxy variables read as curl reads them (one that does not parse is an
//! error, never "no proxy"), a proxy that cannot be reached blamed on the proxy, and a host name
//! that does not resolve reported as such and not retried.
//!
//! Tests that need proxy variables run in a child process of this test binary (see
//! `common::child`): a variable set in the test process would reach every other test's client.
//! Uploads through a running proxy are in `tunnels.rs`.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::child::{child_env, env_builder, env_client, in_child};
use common::*;
use kie_upload::{ErrorKind, Event, Upload};
use kie_upload_emulator::Config;

/// A host name that cannot resolve and whose lookup never leaves the machine: a label of 64
/// characters cannot be written in a DNS query (RFC 1035 allows 63), so the system's resolver
/// refuses it before sending anything (glibc answers "Name or service not known", as for a name
/// the DNS does not know). `.invalid` (RFC 6761) alone would still be asked of the network's DNS.
fn unresolvable() -> String {
    format!("{}.invalid", "x".repeat(64))
}

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn invalid_at_build(builder: kie_upload::ClientBuilder) -> kie_upload::Error {
    let e = builder.build().unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::InvalidInput { .. }),
        "{:?}",
        e.kind()
    );
    assert_eq!(e.attempts(), 0);
    e
}

// --- SOCKS -------------------------------------------------------------------------------------

#[cfg(not(feature = "socks"))]
#[test]
fn a_socks_proxy_without_the_feature_is_refused_at_build() {
    for url in [
        "socks5://127.0.0.1:1080",
        "socks5h://127.0.0.1:1080",
        "socks4://127.0.0.1:1080",
        "socks4a://127.0.0.1:1080",
        "socks://user:s3cret@127.0.0.1:1080",
    ] {
        let e = invalid_at_build(builder_for("http://127.0.0.1:1").proxy(url));
        let msg = message(&e);
        assert!(msg.contains("SOCKS") && msg.contains("`socks`"), "{msg}");
        assert!(!msg.contains("s3cret"), "{msg}");
        // Given in code: no variable to name.
        assert_eq!(e.setting(), None);
        let shown = e.proxy_url().unwrap();
        assert!(
            shown.ends_with("127.0.0.1:1080") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}

#[cfg(not(feature = "socks"))]
#[test]
fn a_socks_proxy_from_the_environment_without_the_feature_is_refused_at_build() {
    const NAME: &str = "a_socks_proxy_from_the_environment_without_the_feature_is_refused_at_build";
    if !child_env(NAME) {
        for var in ["ALL_PROXY", "HTTPS_PROXY", "https_proxy", "all_proxy"] {
            in_child(
                NAME,
                &[(var, "socks5://127.0.0.1:1080"), ("EXPECT_VAR", var)],
            );
        }
        return;
    }
    let var = std::env::var("EXPECT_VAR").unwrap();
    let e = invalid_at_build(env_builder("https://127.0.0.1:1"));
    let msg = message(&e);
    assert!(msg.contains(&var) && msg.contains("`socks`"), "{msg}");
    assert_eq!(e.setting(), Some(var.as_str()));
    // Client::new cannot fail: every upload is refused instead, nothing goes direct.
    let e = kie_upload::Client::new(KEY)
        .upload(Upload::bytes(b"x", "p").file_name("x.txt"))
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }), "{e:?}");
    assert!(message(&e).contains("`socks`"), "{e}");
}

// --- Proxy variables ---------------------------------------------------------------------------

#[test]
fn a_proxy_variable_that_does_not_parse_is_an_error_naming_it() {
    const NAME: &str = "a_proxy_variable_that_does_not_parse_is_an_error_naming_it";
    if !child_env(NAME) {
        for (var, value) in [
            ("HTTPS_PROXY", "proxy.corp.example :3128"),
            ("https_proxy", "http://user:s3cret@bad host:1"),
            ("ALL_PROXY", "ftp://proxy.corp.example:21"),
            ("HTTPS_PROXY", "http://"),
        ] {
            in_child(NAME, &[(var, value), ("EXPECT_VAR", var)]);
        }
        return;
    }
    let var = std::env::var("EXPECT_VAR").unwrap();
    let e = invalid_at_build(env_builder("https://127.0.0.1:1"));
    let msg = message(&e);
    assert!(msg.contains(&var), "{msg}");
    assert!(!msg.contains("s3cret"), "{msg}");
    assert_eq!(e.setting(), Some(var.as_str()));
    assert_eq!(e.proxy_url(), None);
}

// --- A proxy that cannot be reached ------------------------------------------------------------

#[test]
fn a_proxy_that_cannot_be_reached_is_a_proxy_error_naming_it() {
    let emulator = emulator();
    let port = closed_port();
    let client = builder(&emulator)
        .proxy(format!("http://user:s3cret@127.0.0.1:{port}"))
        .retries(0)
        .build()
        .unwrap();
    let e = client
        .upload(Upload::bytes(b"x", "p").file_name("x.txt"))
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Proxy { .. }),
        "{:?}",
        e.kind()
    );
    let msg = message(&e);
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(!msg.contains("s3cret"), "{msg}");
    // A proxy given in code is the program's own to word: no variable set it.
    assert!(!msg.contains("set by"), "{msg}");
    assert_eq!(e.setting(), None);
    assert_eq!(
        e.proxy_url(),
        Some(format!("http://***@127.0.0.1:{port}").as_str())
    );
    assert!(emulator.requests().is_empty());
}

/// A retry's event carries the error as the caller gets it in the end: the same line, naming the
/// proxy, and the same context beside it.
#[test]
fn a_retry_event_carries_the_error_the_caller_gets() {
    let emulator = emulator();
    let port = closed_port();
    let client = builder(&emulator)
        .proxy(format!("http://user:s3cret@127.0.0.1:{port}"))
        .retries(1)
        .build()
        .unwrap();
    let mut retried = Vec::new();
    let upload = Upload::bytes(b"x", "p")
        .file_name("x.txt")
        .on_event(|event| {
            if let Event::Retry { error, .. } = event {
                message(error);
                retried.push((error.to_string(), error.proxy_url().map(str::to_owned)));
            }
        });
    let e = client.upload(upload).unwrap_err();
    assert_eq!(e.attempts(), 2);
    let url = format!("http://***@127.0.0.1:{port}");
    assert_eq!(retried, [(message(&e), Some(url.clone()))]);
    assert!(retried[0].0.contains(&url), "{}", retried[0].0);
}

#[test]
fn a_proxy_from_the_environment_that_cannot_be_reached_names_the_variable() {
    const NAME: &str = "a_proxy_from_the_environment_that_cannot_be_reached_names_the_variable";
    if !child_env(NAME) {
        in_child(
            NAME,
            &[(
                "HTTPS_PROXY",
                &format!("http://127.0.0.1:{}", closed_port()),
            )],
        );
        return;
    }
    let emulator = emulator_with(Config::new(KEY).tls(true));
    let client = env_client(&emulator);
    let e = client
        .upload(Upload::bytes(b"x", "p").file_name("x.txt"))
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Proxy { .. }),
        "{:?}",
        e.kind()
    );
    let msg = message(&e);
    assert!(msg.contains("HTTPS_PROXY"), "{msg}");
    assert_eq!(e.setting(), Some("HTTPS_PROXY"));
    assert!(emulator.requests().is_empty());
}

// --- Names that do not resolve -----------------------------------------------------------------

#[test]
fn a_host_that_does_not_resolve_is_named_and_not_retried() {
    let host = unresolvable();
    let client = builder_for(&format!("https://{host}"))
        .retries(3)
        .retry_backoff(Duration::from_secs(5))
        .build()
        .unwrap();
    let e = within(Duration::from_secs(20), move || {
        client
            .upload(Upload::bytes(b"x", "p").file_name("x.txt"))
            .unwrap_err()
    });
    assert!(
        matches!(e.kind(), ErrorKind::HostNotFound { host, .. } if *host == unresolvable()),
        "{:?}",
        e.kind()
    );
    let msg = message(&e);
    assert!(
        msg.contains(&format!("cannot resolve host {}", unresolvable())),
        "{msg}"
    );
    assert!(!e.is_retryable());
    assert_eq!(e.attempts(), 1, "{msg}");
    assert_eq!((e.setting(), e.proxy_url()), (None, None));
}

#[test]
fn a_proxy_host_that_does_not_resolve_is_named_and_not_retried() {
    let emulator = emulator();
    let client = builder(&emulator)
        .proxy(format!("http://{}:3128", unresolvable()))
        .retries(3)
        .retry_backoff(Duration::from_secs(5))
        .build()
        .unwrap();
    let e = within(Duration::from_secs(20), move || {
        client
            .upload(Upload::bytes(b"x", "p").file_name("x.txt"))
            .unwrap_err()
    });
    assert!(
        matches!(e.kind(), ErrorKind::Proxy { .. }),
        "{:?}",
        e.kind()
    );
    let msg = message(&e);
    assert!(
        msg.contains(&format!("cannot resolve host {}", unresolvable())),
        "{msg}"
    );
    assert!(!e.is_retryable());
    assert_eq!(e.attempts(), 1, "{msg}");
    assert_eq!(e.setting(), None);
    assert_eq!(
        e.proxy_url(),
        Some(format!("http://{}:3128", unresolvable()).as_str())
    );
    assert!(emulator.requests().is_empty());
}

#[test]
fn hosts_in_no_proxy_are_reached_directly() {
    const NAME: &str = "hosts_in_no_proxy_are_reached_directly";
    if !child_env(NAME) {
        let dead = format!("http://127.0.0.1:{}", closed_port());
        for no_proxy in ["localhost, 127.0.0.1", "*"] {
            in_child(NAME, &[("HTTPS_PROXY", &dead), ("NO_PROXY", no_proxy)]);
        }
        return;
    }
    let emulator = emulator_with(Config::new(KEY).tls(true));
    let client = env_client(&emulator);
    client
        .upload(Upload::bytes(b"direct", "p").file_name("d.txt"))
        .unwrap();
}
