//! [`Client::upload_all`]: several uploads at once on scoped threads, sharing one connection pool,
//! with each result handed over in input order as soon as it is ready.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::thread;

use crate::{Client, Error, Upload, UploadedFile};

/// How one upload ended: its result, or the panic of a callback it called.
type Outcome = Result<Result<UploadedFile, Error>, Box<dyn Any + Send>>;

impl Client {
    /// Runs `uploads` through the stream endpoint, at most `jobs` at a time, and calls
    /// `on_result(index, result)` for each, in the order given, as soon as it and all the uploads
    /// before it are done: a program that prints results as they come, and is then killed, has
    /// still reported everything stored before. The uploads share this client's connection pool
    /// and retry policy, so a batch of small files reuses a few connections.
    ///
    /// The work runs on scoped threads that end before this returns: no runtime, nothing left
    /// behind. `on_result` runs on the calling thread. With `jobs` of 1 (or a single upload)
    /// everything runs on the calling thread; `jobs` of 0 counts as 1. One failure does not stop
    /// the others.
    ///
    /// If a callback of an upload (its progress or event hook) panics, that upload has no result;
    /// the others still run and are handed over, and then the first such panic is raised again, with
    /// its own message.
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
    pub fn upload_all<'a>(
        &self,
        uploads: impl IntoIterator<Item = Upload<'a>>,
        jobs: usize,
        mut on_result: impl FnMut(usize, Result<UploadedFile, Error>),
    ) {
        let uploads: Vec<Mutex<Option<Upload<'a>>>> =
            uploads.into_iter().map(|u| Mutex::new(Some(u))).collect();
        let mut panicked = None;
        let mut hand_over = |i: usize, outcome: Outcome| match outcome {
            Ok(result) => on_result(i, result),
            Err(payload) => {
                panicked.get_or_insert(payload);
            }
        };
        let workers = jobs.max(1).min(uploads.len());
        if workers <= 1 {
            for (i, slot) in uploads.into_iter().enumerate() {
                hand_over(i, self.upload_catching(take(slot)));
            }
        } else {
            self.run_workers(&uploads, workers, &mut hand_over);
        }
        if let Some(payload) = panicked {
            panic::resume_unwind(payload);
        }
    }

    /// Runs the uploads on `workers` scoped threads and hands their outcomes over in input order.
    fn run_workers(
        &self,
        uploads: &[Mutex<Option<Upload<'_>>>],
        workers: usize,
        hand_over: &mut dyn FnMut(usize, Outcome),
    ) {
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        thread::scope(|scope| {
            let (done, ready) = mpsc::channel::<(usize, Outcome)>();
            for _ in 0..workers {
                let done = done.clone();
                let (next, stop) = (&next, &stop);
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = uploads.get(i) else { break };
                        let upload = lock(slot).take().expect("each upload is taken once");
                        if done.send((i, self.upload_catching(upload))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done);
            // Should `hand_over` panic, the workers take no new uploads while the scope waits.
            let _stop_on_panic = StopOnDrop(&stop);
            let mut waiting: Vec<Option<Outcome>> = uploads.iter().map(|_| None).collect();
            let mut first_pending = 0;
            for (i, outcome) in ready {
                waiting[i] = Some(outcome);
                while let Some(outcome) = waiting.get_mut(first_pending).and_then(Option::take) {
                    hand_over(first_pending, outcome);
                    first_pending += 1;
                }
            }
        });
    }

    fn upload_catching(&self, upload: Upload<'_>) -> Outcome {
        panic::catch_unwind(AssertUnwindSafe(|| self.upload(upload)))
    }
}

/// Tells the workers to stop when dropped during a panic.
struct StopOnDrop<'s>(&'s AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one still holds a sound value.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn take<T>(slot: Mutex<Option<T>>) -> T {
    slot.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .expect("every slot is filled")
}
