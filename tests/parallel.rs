//! `Client::upload_all`: bounded concurrency, results in input order, one shared connection pool.

mod common;

use std::collections::HashSet;

use common::*;
use kie_upload::{Error, Upload};

#[test]
fn results_come_back_in_input_order() {
    let emulator = emulator();
    let client = client(&emulator);
    let sources: Vec<Vec<u8>> = (0..24).map(|i| payload(1000 + 997 * (24 - i))).collect();
    let uploads = sources.iter().enumerate().map(|(i, data)| {
        Upload::bytes(data)
            .file_name(format!("f{i}.bin"))
            .upload_path("batch")
    });
    let results = client.upload_all(uploads, 4);
    assert_eq!(results.len(), 24);
    for (i, result) in results.into_iter().enumerate() {
        let file = result.unwrap();
        assert_eq!(file.file_name, format!("f{i}.bin"));
        assert_eq!(download(&client, &file.download_url), sources[i]);
    }
}

#[test]
fn one_failure_does_not_stop_the_others() {
    let emulator = emulator();
    let client = client(&emulator);
    let (dir, good) = temp_file("good.txt", b"good");
    let missing = dir.path().join("missing.txt");
    let uploads = vec![
        Upload::file(&good).upload_path("p"),
        Upload::file(&missing).upload_path("p"),
        Upload::bytes(b"x").file_name("bad\nname").upload_path("p"),
        Upload::file(&good).upload_path("q"),
    ];
    let results = client.upload_all(uploads, 3);
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(Error::Io { .. })));
    assert!(matches!(results[2], Err(Error::InvalidInput(_))));
    assert_eq!(results[3].as_ref().unwrap().file_path, "q/good.txt");
}

#[test]
fn any_job_count_works() {
    let emulator = emulator();
    let client = client(&emulator);
    for jobs in [0, 1, 2, 100] {
        let uploads = (0..5).map(|i| {
            Upload::bytes(b"same")
                .file_name(format!("{i}"))
                .upload_path("j")
        });
        let results = client.upload_all(uploads, jobs);
        assert_eq!(results.len(), 5);
        assert!(results.iter().all(Result::is_ok), "jobs {jobs}");
    }
    assert!(client.upload_all(Vec::new(), 4).is_empty());
}

#[test]
fn uploads_share_pooled_connections() {
    let emulator = emulator();
    let client = client(&emulator);
    let uploads = (0..60).map(|i| {
        Upload::bytes(b"tiny")
            .file_name(format!("{i}.txt"))
            .upload_path("pool")
    });
    assert!(client.upload_all(uploads, 1).iter().all(Result::is_ok));
    let sequential: HashSet<_> = emulator.requests().iter().map(|r| r.connection).collect();
    assert_eq!(sequential.len(), 1, "one connection for a sequential batch");

    emulator.clear_requests();
    let uploads = (0..60).map(|i| {
        Upload::bytes(b"tiny")
            .file_name(format!("{i}.txt"))
            .upload_path("pool")
    });
    assert!(client.upload_all(uploads, 4).iter().all(Result::is_ok));
    let parallel: HashSet<_> = emulator.requests().iter().map(|r| r.connection).collect();
    // Four at a time need a few connections, not one per upload.
    assert!(
        parallel.len() <= 12,
        "{} connections for 60 uploads",
        parallel.len()
    );
}
