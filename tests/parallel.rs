//! `Client::upload_all`: bounded concurrency, results handed over in input order as soon as they are
//! ready, one shared connection pool, and a panicking callback that loses nothing.

mod common;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::*;
use kie_upload::{Client, Error, ErrorKind, Upload, UploadedFile};
use kie_upload_emulator::Fault;

/// A door that a test opens once: an upload waits at it for an event, instead of sleeping for a
/// guessed time.
#[derive(Default)]
struct Latch {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Latch {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    /// Waits until the latch is open: true, or false after 30 s (a guard against a hang, not a
    /// timing).
    fn wait(&self) -> bool {
        let open = self.open.lock().unwrap();
        let (open, _) = self
            .opened
            .wait_timeout_while(open, Duration::from_secs(30), |open| !*open)
            .unwrap();
        *open
    }
}

/// Opens its latch when dropped (by the unwinding of a panic, say).
struct OpensWhenDropped<'l>(&'l Latch);

impl Drop for OpensWhenDropped<'_> {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// Runs `upload_all` and collects what it hands over, checking the indices come in order.
fn collect<'a>(
    client: &Client,
    uploads: impl IntoIterator<Item = Upload<'a>>,
    jobs: usize,
) -> Vec<Result<UploadedFile, Error>> {
    let mut results = Vec::new();
    client.upload_all(uploads, jobs, |i, result| {
        assert_eq!(i, results.len(), "results out of order");
        results.push(result);
    });
    results
}

#[test]
fn results_come_back_in_input_order() {
    let emulator = emulator();
    let client = client(&emulator);
    let sources: Vec<Vec<u8>> = (0..24).map(|i| payload(1000 + 997 * (24 - i))).collect();
    let uploads = sources
        .iter()
        .enumerate()
        .map(|(i, data)| Upload::bytes(data, "batch").file_name(format!("f{i}.bin")));
    let results = collect(&client, uploads, 4);
    assert_eq!(results.len(), 24);
    for (i, result) in results.into_iter().enumerate() {
        let file = result.unwrap();
        assert_eq!(file.file_name, format!("f{i}.bin"));
        assert_eq!(download(&client, &file.download_url), sources[i]);
    }
}

#[test]
fn a_result_is_handed_over_as_soon_as_those_before_it_are_done() {
    let emulator = emulator();
    let client = client(&emulator);
    // The last upload holds in its progress callback until result 6 has been handed over: had
    // that result waited for the last upload, the hold would end only at the latch's hang guard.
    let result_6 = Latch::default();
    // Whether every call of the last upload's progress callback was let go by result 6 (none
    // if the callback never ran).
    let released = Mutex::new(None);
    let uploads = (0..8).map(|i| {
        let upload = Upload::bytes(b"x", "t").file_name(format!("{i}"));
        if i == 7 {
            upload.on_progress(|_, _| {
                let opened = result_6.wait();
                *released.lock().unwrap().get_or_insert(opened) &= opened;
            })
        } else {
            upload
        }
    });
    let mut handed = Vec::new();
    client.upload_all(uploads, 2, |i, result| {
        result.unwrap();
        handed.push(i);
        if i == 6 {
            result_6.open();
        }
    });
    assert_eq!(handed, (0..8).collect::<Vec<_>>());
    assert_eq!(
        *released.lock().unwrap(),
        Some(true),
        "result 6 waited for the upload after it"
    );
}

#[test]
fn one_failure_does_not_stop_the_others() {
    let emulator = emulator();
    let client = client(&emulator);
    let (dir, good) = temp_file("good.txt", b"good");
    let missing = dir.path().join("missing.txt");
    let uploads = vec![
        Upload::file(&good, "p"),
        Upload::file(&missing, "p"),
        Upload::bytes(b"x", "p").file_name("bad\nname"),
        Upload::file(&good, "q"),
    ];
    let results = collect(&client, uploads, 3);
    assert!(results[0].is_ok());
    assert_eq!(results[1].as_ref().unwrap_err().kind(), &ErrorKind::Io);
    assert!(matches!(
        results[2].as_ref().unwrap_err().kind(),
        ErrorKind::InvalidInput { .. }
    ));
    assert_eq!(results[3].as_ref().unwrap().file_path, "q/good.txt");
}

#[test]
fn a_panicking_callback_loses_no_other_result_and_its_panic_comes_back() {
    for jobs in [1, 3] {
        let emulator = emulator();
        let client = client(&emulator);
        let handed = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&handed);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let uploads = (0..6).map(|i| {
                let upload = Upload::bytes(b"data", "p").file_name(format!("{i}.txt"));
                if i == 2 {
                    upload.on_progress(|_, _| -> () { panic!("progress callback exploded") })
                } else {
                    upload
                }
            });
            client.upload_all(uploads, jobs, |i, result| {
                seen.lock().unwrap().push((i, result.is_ok()));
            });
        }));
        let payload = outcome.expect_err("the panic must come back");
        let text = payload
            .downcast_ref::<&str>()
            .copied()
            .map(str::to_owned)
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert_eq!(text, "progress callback exploded", "jobs {jobs}");
        let handed = handed.lock().unwrap().clone();
        assert_eq!(
            handed,
            [(0, true), (1, true), (3, true), (4, true), (5, true)],
            "jobs {jobs}"
        );
        // The other five were stored.
        assert!((0..6)
            .filter(|i| *i != 2)
            .all(|i| emulator.stored(&format!("p/{i}.txt")).is_some()));
    }
}

#[test]
fn any_job_count_works() {
    let emulator = emulator();
    let client = client(&emulator);
    for jobs in [0, 1, 2, 100] {
        let uploads = (0..5).map(|i| Upload::bytes(b"same", "j").file_name(format!("{i}")));
        let results = collect(&client, uploads, jobs);
        assert_eq!(results.len(), 5);
        assert!(results.iter().all(Result::is_ok), "jobs {jobs}");
    }
    assert!(collect(&client, Vec::new(), 4).is_empty());
}

#[test]
fn uploads_share_pooled_connections() {
    let emulator = emulator();
    let client = client(&emulator);
    let batch = || (0..60).map(|i| Upload::bytes(b"tiny", "pool").file_name(format!("{i}.txt")));
    assert!(collect(&client, batch(), 1).iter().all(Result::is_ok));
    let sequential: HashSet<_> = emulator.requests().iter().map(|r| r.connection).collect();
    assert_eq!(sequential.len(), 1, "one connection for a sequential batch");

    emulator.clear_requests();
    assert!(collect(&client, batch(), 4).iter().all(Result::is_ok));
    let parallel: HashSet<_> = emulator.requests().iter().map(|r| r.connection).collect();
    // Four at a time need a few connections, not one per upload.
    assert!(
        parallel.len() <= 12,
        "{} connections for 60 uploads",
        parallel.len()
    );
}

#[test]
fn a_panicking_result_callback_stops_the_batch_and_its_panic_comes_back() {
    let emulator = emulator();
    let client = client(&emulator);
    let handed = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&handed);
    // Uploads after the first three hold until the last upload of the batch is dropped untaken:
    // that happens only when the batch empties its queue after the callback's panic, so any upload
    // that starts later is one the batch should not have started. (Held 30 s at most: without the
    // emptying, each would run once the latch gives up, and `gave_up` says so.)
    let untaken = Latch::default();
    let gave_up = AtomicBool::new(false);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let uploads = (0..40).map(|i| {
            let upload = Upload::bytes(b"data", "p").file_name(format!("{i}.txt"));
            let (untaken, opener) = (&untaken, (i == 39).then(|| OpensWhenDropped(&untaken)));
            let gave_up = &gave_up;
            upload.on_progress(move |_, _| {
                let _ = &opener;
                if i >= 3 && !untaken.wait() {
                    gave_up.store(true, Ordering::SeqCst);
                }
            })
        });
        client.upload_all(uploads, 3, |i, _| {
            if i == 2 {
                panic!("the result callback exploded");
            }
            seen.lock().unwrap().push(i);
        });
    }));
    let payload = outcome.expect_err("the panic must come back");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"the result callback exploded")
    );
    assert_eq!(*handed.lock().unwrap(), [0, 1]);
    // The batch stopped: of the 40 uploads, the three before the panic and the three held at the
    // latch ran, and perhaps one more per worker (six here).
    assert!(
        emulator.attempts(STREAM) < 10,
        "{}",
        emulator.attempts(STREAM)
    );
}

/// Issue 15 item 3: a progress callback that adds up a batch's bytes (each call adds what its
/// upload sent since its last call) counts every byte once, even when a retry sends an upload's
/// bytes again: progress never goes backwards, so the difference never underflows.
#[test]
fn progress_summed_over_a_batch_never_goes_backwards_across_a_retry() {
    let emulator = emulator();
    let client = client(&emulator);
    // The first two requests read the whole body, then answer 503 with `Retry-After: 0`.
    let busy = Fault::Status {
        status: 503,
        retry_after: Some("0".into()),
    };
    emulator.inject(busy, 2);
    let size = 300 * 1024;
    let data = payload(size);
    let total = Arc::new(Mutex::new(0u64));
    let uploads = (0..4).map(|i| {
        let (total, mut last) = (Arc::clone(&total), 0);
        Upload::bytes(&data, "sum")
            .file_name(format!("{i}.bin"))
            .on_progress(move |sent, _| {
                let new = sent.checked_sub(last).expect("progress went backwards");
                *total.lock().unwrap() += new;
                last = sent;
            })
    });
    // Not `collect`: the callback's panic, if any, must come back as the failure.
    let mut results = Vec::new();
    client.upload_all(uploads, 2, |_, result| results.push(result));
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(results.len(), 4);
    assert_eq!(emulator.attempts(STREAM), 6, "two uploads were retried");
    assert_eq!(*total.lock().unwrap(), 4 * size as u64);
}
