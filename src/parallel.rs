//! [`Client::upload_all`]: several uploads at once on scoped threads, sharing one connection pool,
//! with each result handed over on the calling thread, in input order, as soon as it is ready.
//!
//! Workers take the next upload from a shared queue and send `(index, outcome)` back over a
//! channel; the calling thread puts the outcomes back in order and calls `on_result`. A worker
//! that cannot be started leaves the work to the others, and with none the calling thread uploads.

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::Duration;

use crate::{Client, Error, Upload, UploadedFile};

/// How one upload ended: its result, or the panic of a callback it called.
type Outcome = Result<Result<UploadedFile, Error>, Box<dyn Any + Send>>;

/// How long the calling thread lets results gather after handing some over, while more than one
/// per worker are still to come (measured with `cargo bench --bench loopback`: 1,000 uploads of
/// 1 KiB ran at 0.78 of the old hand-off's rate when the thread was woken for each result, and at
/// 0.96 with this: medians of 20 paired runs).
const GATHER: Duration = Duration::from_millis(1);

/// The uploads not taken yet, with their places in the batch.
type Queue<'a> = Mutex<std::iter::Enumerate<std::vec::IntoIter<Upload<'a>>>>;

impl Client {
    /// Runs `uploads` through the stream endpoint, at most `jobs` at a time, and calls
    /// `on_result(index, result)` for each, in the order given, as soon as it and all the uploads
    /// before it are done: a program that prints results as they come, and is then killed, has
    /// still reported everything stored before. The uploads share this client's connection pool
    /// and retry policy, so a batch of small files reuses a few connections.
    ///
    /// The uploads run on scoped threads that end before this returns: no runtime, nothing left
    /// behind. `on_result` is always called on the calling thread, so it need be neither `Send`
    /// nor `Sync`; while many uploads are still to come, results are looked at once a millisecond. With `jobs` of 1 (or a single upload) everything runs on the calling thread;
    /// `jobs` of 0 counts as 1. One failure does not stop the others. A thread that cannot be
    /// started (a process limit, say) is not an error: the batch runs on the threads it got, and
    /// with none at all the calling thread runs the uploads itself.
    ///
    /// Panics: if a callback of an upload (its progress or event hook) panics, that upload has no
    /// result; the others still run and are handed over, and then the first such panic is raised
    /// again, with its own message. If `on_result` panics, its panic goes up from here once the
    /// uploads already running end; no new upload starts.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), kie_upload::Error> {
    /// use kie_upload::{Client, Upload};
    ///
    /// let client = Client::from_env()?;
    /// let paths = ["a.jpg", "b.jpg", "c.jpg"];
    /// let uploads = paths.map(|p| Upload::file(p, "photos"));
    /// client.upload_all(uploads, 4, |i, result| match result {
    ///     Ok(file) => println!("{}", file.download_url),
    ///     Err(e) => eprintln!("error: {}: {e}", paths[i]),
    /// });
    /// # Ok(()) }
    /// ```
    ///
    /// Results come in the order of the input, whichever upload ends first:
    ///
    /// ```
    /// # let emu = kie_upload_emulator::Emulator::start(kie_upload_emulator::Config::new("key"))?;
    /// # let client = kie_upload::Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().build()?;
    /// use kie_upload::Upload;
    ///
    /// let sizes = [3_000_000, 10, 20_000];
    /// let uploads = sizes.map(|n| Upload::bytes(vec![1u8; n], "blobs").file_name(format!("{n}.bin")));
    /// let mut seen = Vec::new();
    /// client.upload_all(uploads, 3, |i, result| seen.push((i, result.map(|f| f.file_size as usize).ok())));
    /// assert_eq!(seen, [(0, Some(sizes[0])), (1, Some(sizes[1])), (2, Some(sizes[2]))]);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn upload_all<'a>(
        &self,
        uploads: impl IntoIterator<Item = Upload<'a>>,
        jobs: usize,
        on_result: impl FnMut(usize, Result<UploadedFile, Error>),
    ) {
        let uploads: Vec<Upload<'a>> = uploads.into_iter().collect();
        let total = uploads.len();
        // With one job (or one upload) everything runs on the calling thread.
        let workers = Some(jobs.min(total)).filter(|&n| n > 1).unwrap_or(0);
        let queue: Queue<'a> = Mutex::new(uploads.into_iter().enumerate());
        let mut in_order = InOrder {
            on_result,
            queue: &queue,
            next: 0,
            early: BTreeMap::new(),
            panicked: None,
        };
        thread::scope(|scope| {
            let (results, outcomes) = mpsc::channel();
            let started = (0..workers)
                .map_while(|_| {
                    let (queue, results) = (&queue, results.clone());
                    let worker = thread::Builder::new();
                    worker
                        .spawn_scoped(scope, move || self.work(queue, results))
                        .ok()
                })
                .count();
            drop(results);
            // No worker (none wanted, or none could start): this thread uploads.
            if started == 0 {
                while let Some((i, upload)) = take(&queue) {
                    in_order.put(i, self.upload_catching(upload));
                }
            }
            // Ends when every worker has ended. Should `on_result` panic, the queue is emptied
            // first (no new upload starts) and the receiver goes with the unwinding.
            let mut left = total;
            while let Ok((i, outcome)) = outcomes.recv() {
                for (i, outcome) in std::iter::once((i, outcome)).chain(outcomes.try_iter()) {
                    in_order.put(i, outcome);
                    left -= 1;
                }
                if left > started {
                    // A wake-up of this thread per result cost small files a fifth of their
                    // rate: while uploads wait to be taken, let results gather for a moment.
                    // The last few are taken as they come.
                    thread::sleep(GATHER);
                }
            }
        });
        if let Some(payload) = in_order.panicked {
            panic::resume_unwind(payload);
        }
    }

    /// A worker: takes uploads until the queue is empty or nobody listens for the outcomes.
    fn work(&self, queue: &Queue<'_>, results: mpsc::Sender<(usize, Outcome)>) {
        while let Some((i, upload)) = take(queue) {
            if results.send((i, self.upload_catching(upload))).is_err() {
                return;
            }
        }
    }

    fn upload_catching(&self, upload: Upload<'_>) -> Outcome {
        panic::catch_unwind(AssertUnwindSafe(|| self.upload(upload)))
    }
}

fn take<'a>(queue: &Queue<'a>) -> Option<(usize, Upload<'a>)> {
    // Nothing panics while holding the lock; a poisoned one still holds a sound queue.
    queue.lock().unwrap_or_else(|e| e.into_inner()).next()
}

/// The reorder buffer: outcomes that came early wait here until those before them are in.
struct InOrder<'q, 'a, F> {
    on_result: F,
    /// The uploads not taken yet: emptied if `on_result` panics.
    queue: &'q Queue<'a>,
    /// The index of the next outcome to hand over.
    next: usize,
    early: BTreeMap<usize, Outcome>,
    /// The first panic of an upload's callback, raised again at the end.
    panicked: Option<Box<dyn Any + Send>>,
}

impl<F: FnMut(usize, Result<UploadedFile, Error>)> InOrder<'_, '_, F> {
    /// Takes the outcome of upload `i` and hands over every outcome now ready in order.
    fn put(&mut self, i: usize, outcome: Outcome) {
        self.early.insert(i, outcome);
        while let Some(outcome) = self.early.remove(&self.next) {
            let i = self.next;
            self.next += 1;
            match outcome {
                Ok(result) => {
                    let handed = AssertUnwindSafe(|| (self.on_result)(i, result));
                    if let Err(payload) = panic::catch_unwind(handed) {
                        // Before the panic goes on up: a worker that ends its upload meanwhile
                        // must find nothing more to start (its next send would fail only after
                        // a whole upload).
                        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                        let rest = std::mem::take(&mut *queue);
                        drop(queue);
                        drop(rest);
                        panic::resume_unwind(payload);
                    }
                }
                Err(payload) => {
                    self.panicked.get_or_insert(payload);
                }
            }
        }
    }
}
