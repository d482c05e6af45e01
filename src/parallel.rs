//! [`Client::upload_all`]: several uploads at once on scoped threads, sharing one connection pool,
//! with each result handed over in input order as soon as it is ready.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
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
    /// behind. `on_result` is called by the thread that finishes the next result in order, never by
    /// two at once, so it must be `Send` but need not be `Sync`; handing results over this way
    /// costs no extra thread wake-ups. With `jobs` of 1 (or a single upload) everything runs on the
    /// calling thread; `jobs` of 0 counts as 1. One failure does not stop the others.
    ///
    /// If a callback of an upload (its progress or event hook) panics, that upload has no result;
    /// the others still run and are handed over, and then the first such panic is raised again, with
    /// its own message. If `on_result` itself panics, no new uploads start, nothing more is handed
    /// over, and its panic is raised again once the running uploads end.
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
        mut on_result: impl FnMut(usize, Result<UploadedFile, Error>) + Send,
    ) {
        let uploads: Vec<Upload<'a>> = uploads.into_iter().collect();
        let mut panicked = None;
        let mut hand_over = |i: usize, outcome: Outcome| match outcome {
            Ok(result) => on_result(i, result),
            Err(payload) => {
                panicked.get_or_insert(payload);
            }
        };
        let workers = jobs.max(1).min(uploads.len());
        let mut late_panic = None;
        if workers <= 1 {
            for (i, upload) in uploads.into_iter().enumerate() {
                hand_over(i, self.upload_catching(upload));
            }
        } else {
            // Each worker takes the next upload out of its slot.
            let slots: Vec<Mutex<Option<Upload<'a>>>> =
                uploads.into_iter().map(|u| Mutex::new(Some(u))).collect();
            late_panic = self.run_workers(&slots, workers, &mut hand_over);
        }
        if let Some(payload) = panicked.or(late_panic) {
            panic::resume_unwind(payload);
        }
    }

    /// Runs the uploads on `workers` scoped threads; whichever finishes the next outcome in order
    /// hands it (and those ready after it) over, one thread at a time. Returns the panic of
    /// `hand_over`, if it panicked (the workers then take no new uploads).
    fn run_workers(
        &self,
        uploads: &[Mutex<Option<Upload<'_>>>],
        workers: usize,
        hand_over: &mut (dyn FnMut(usize, Outcome) + Send),
    ) -> Option<Box<dyn Any + Send>> {
        let next = AtomicUsize::new(0);
        let baton = Baton {
            state: Mutex::new(BatonState {
                slots: uploads.iter().map(|_| None).collect(),
                first_pending: 0,
                delivering: false,
                panicked: None,
            }),
            hand_over: Mutex::new(hand_over),
            stop: AtomicBool::new(false),
        };
        thread::scope(|scope| {
            for _ in 0..workers {
                let (next, baton) = (&next, &baton);
                scope.spawn(move || {
                    while !baton.stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = uploads.get(i) else { break };
                        let upload = lock(slot).take().expect("each upload is taken once");
                        baton.put(i, self.upload_catching(upload));
                    }
                });
            }
        });
        let state = baton.state.into_inner().unwrap_or_else(|e| e.into_inner());
        state.panicked
    }

    fn upload_catching(&self, upload: Upload<'_>) -> Outcome {
        panic::catch_unwind(AssertUnwindSafe(|| self.upload(upload)))
    }
}

/// The outcomes the workers have finished, and who hands them over: the worker that finishes the
/// next one in order does, while the others go on uploading.
struct Baton<'h> {
    state: Mutex<BatonState>,
    hand_over: Mutex<&'h mut (dyn FnMut(usize, Outcome) + Send)>,
    stop: AtomicBool,
}

struct BatonState {
    slots: Vec<Option<Outcome>>,
    /// The first outcome not handed over yet.
    first_pending: usize,
    /// A worker is handing outcomes over.
    delivering: bool,
    /// `hand_over` panicked with this; nothing more is handed over.
    panicked: Option<Box<dyn Any + Send>>,
}

impl Baton<'_> {
    /// Keeps the outcome of upload `i`, and hands over every outcome now ready in order, unless
    /// another worker is already doing so (it will see this one before it stops).
    fn put(&self, i: usize, outcome: Outcome) {
        let mut state = lock(&self.state);
        state.slots[i] = Some(outcome);
        if state.delivering || state.panicked.is_some() {
            return;
        }
        state.delivering = true;
        loop {
            let first = state.first_pending;
            let mut batch = Vec::new();
            while let Some(outcome) = state
                .slots
                .get_mut(first + batch.len())
                .and_then(Option::take)
            {
                batch.push(outcome);
            }
            if batch.is_empty() {
                state.delivering = false;
                return;
            }
            state.first_pending += batch.len();
            drop(state);
            let delivered = panic::catch_unwind(AssertUnwindSafe(|| {
                let mut hand_over = lock(&self.hand_over);
                for (i, outcome) in (first..).zip(batch) {
                    hand_over(i, outcome);
                }
            }));
            state = lock(&self.state);
            if let Err(payload) = delivered {
                state.panicked = Some(payload);
                state.delivering = false;
                self.stop.store(true, Ordering::Relaxed);
                return;
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one still holds a sound value.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
