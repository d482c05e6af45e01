//! `Expect: 100-continue`: what the client does with the server's answer to it, and what it
//! learns from the server about asking.

mod common;

use std::time::{Duration, Instant};

use common::{builder, emulator_with, message, within, KEY, STREAM};
use kie_upload::{ErrorKind, Upload};
use kie_upload_emulator::{Config, Fault};

/// 2 MiB: over the size that asks.
const BIG: usize = 2 << 20;

/// A refusal at the headers from a server that then holds the connection open (nginx's lingering
/// close, 5 s there, 30 s here: the emulator's most, nginx's `lingering_time`) is reported before the close: the answer is complete by its own
/// framing. The linger is long so that the bound below only tells "did not wait for the close"
/// from "waited", on however slow a machine; how fast the answer comes is for the benches.
fn refusal_at_the_headers_is_reported_without_waiting_for_the_close(tls: bool) {
    let linger = Duration::from_secs(30);
    let emulator = emulator_with(Config::new(KEY).tls(tls));
    emulator.inject(
        Fault::RefuseAtHeadersAndLinger {
            status: 413,
            code: None,
            linger,
        },
        1,
    );
    let client = builder(&emulator)
        .timeout(Duration::from_secs(90))
        .build()
        .unwrap();
    let started = Instant::now();
    // 24 MiB, as behind nginx with `client_max_body_size 8m`.
    let data: &'static [u8] = Box::leak(vec![7u8; 24 << 20].into_boxed_slice());
    let result = within(Duration::from_secs(25), move || {
        client.upload(Upload::bytes(data, "big").file_name("big.bin"))
    });
    let elapsed = started.elapsed();
    let e = result.expect_err("a 413 is an error");
    message(&e);
    assert!(
        matches!(e.kind(), ErrorKind::Http { status: 413, .. }),
        "{e:?}"
    );
    assert!(
        elapsed < Duration::from_secs(15),
        "tls {tls}: the 413 took {elapsed:?}, the server lingers {linger:?}"
    );
    drop(emulator);
}

#[test]
fn a_refusal_at_the_headers_over_http_does_not_wait_for_the_close() {
    refusal_at_the_headers_is_reported_without_waiting_for_the_close(false);
}

#[test]
fn a_refusal_at_the_headers_over_https_does_not_wait_for_the_close() {
    refusal_at_the_headers_is_reported_without_waiting_for_the_close(true);
}

/// Which of the stream endpoint's requests asked `Expect`, in order.
fn asked(emulator: &kie_upload_emulator::Emulator) -> Vec<bool> {
    emulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(STREAM))
        .map(|r| r.expect_continue)
        .collect()
}

fn upload(
    client: &kie_upload::Client,
    len: usize,
) -> Result<kie_upload::UploadedFile, kie_upload::Error> {
    client.upload(Upload::bytes(common::payload(len), "learn").file_name("f.bin"))
}

#[test]
fn a_server_that_lets_the_wait_run_out_is_not_asked_again() {
    for tls in [false, true] {
        let emulator = emulator_with(Config::new(KEY).tls(tls).honour_expect(false));
        let client = builder(&emulator).build().unwrap();
        for _ in 0..3 {
            upload(&client, BIG).unwrap();
        }
        // A clone shares what the client learned.
        upload(&client.clone(), 4 * BIG).unwrap();
        assert_eq!(asked(&emulator), [true, false, false, false], "tls {tls}");
    }
}

#[test]
fn a_size_accepted_is_not_asked_about_again_a_larger_one_is() {
    let emulator = emulator_with(Config::new(KEY));
    let client = builder(&emulator).build().unwrap();
    upload(&client, BIG).unwrap();
    upload(&client, BIG).unwrap();
    upload(&client, BIG - 1000).unwrap();
    upload(&client, BIG + 1000).unwrap();
    upload(&client, BIG + 1000).unwrap();
    assert_eq!(asked(&emulator), [true, false, false, true, false]);
}

#[test]
fn a_refusal_at_the_headers_keeps_asking() {
    let emulator = emulator_with(Config::new(KEY));
    emulator.inject(
        Fault::RefuseAtHeaders {
            status: 200,
            code: Some(401),
        },
        2,
    );
    let client = builder(&emulator).retries(0).build().unwrap();
    upload(&client, BIG).unwrap_err();
    upload(&client, BIG).unwrap_err();
    upload(&client, BIG).unwrap();
    assert_eq!(asked(&emulator), [true, true, true]);
}

#[test]
fn upload_all_s_workers_share_what_was_learned() {
    let emulator = emulator_with(Config::new(KEY).honour_expect(false));
    let client = builder(&emulator).build().unwrap();
    let data = common::payload(BIG);
    let uploads: Vec<_> = (0..12)
        .map(|i| Upload::bytes(&data, "learn").file_name(format!("{i}.bin")))
        .collect();
    client.upload_all(uploads, 4, |i, result| {
        result.unwrap_or_else(|e| panic!("upload {i}: {e}"));
    });
    let asked = asked(&emulator);
    assert_eq!(asked.len(), 12);
    // One asks at a time, and once the wait ran out none asks: one wait in all.
    assert_eq!(asked.iter().filter(|a| **a).count(), 1, "{asked:?}");
}
