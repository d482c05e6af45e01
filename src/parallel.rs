//! [`Client::upload_all`]: several uploads at once on scoped threads, sharing one connection pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

use crate::{Client, Error, Upload, UploadedFile};

impl Client {
    /// Runs `uploads` through the stream endpoint, at most `jobs` at a time, and returns their results
    /// in the order given. The uploads share this client's connection pool (and its retry policy),
    /// so a batch of small files reuses a few connections instead of opening one each.
    ///
    /// The work runs on scoped threads that end before this returns: no runtime, nothing left
    /// behind. With `jobs` of 1 (or a single upload) everything runs on the calling thread. `jobs` of
    /// 0 counts as 1. One failure does not stop the others.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), kie_upload::Error> {
    /// use kie_upload::{Client, Upload};
    /// let client = Client::from_env()?;
    /// let uploads = ["a.jpg", "b.jpg", "c.jpg"].map(|p| Upload::file(p).upload_path("photos"));
    /// for result in client.upload_all(uploads, 4) {
    ///     match result {
    ///         Ok(file) => println!("{}", file.download_url),
    ///         Err(e) => eprintln!("error: {e}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn upload_all<'a>(
        &self,
        uploads: impl IntoIterator<Item = Upload<'a>>,
        jobs: usize,
    ) -> Vec<Result<UploadedFile, Error>> {
        let uploads: Vec<Mutex<Option<Upload<'a>>>> =
            uploads.into_iter().map(|u| Mutex::new(Some(u))).collect();
        let workers = jobs.max(1).min(uploads.len());
        if workers <= 1 {
            return uploads
                .into_iter()
                .map(|slot| self.upload(take(slot)))
                .collect();
        }
        let results: Vec<Mutex<Option<Result<UploadedFile, Error>>>> =
            uploads.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = uploads.get(i) else { break };
                    let upload = lock(slot).take().expect("each upload is taken once");
                    *lock(&results[i]) = Some(self.upload(upload));
                });
            }
        });
        results.into_iter().map(take).collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking progress callback poisons only its own slot's lock; the value is still sound.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn take<T>(slot: Mutex<Option<T>>) -> T {
    slot.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .expect("every slot is filled before the scope ends")
}
