//! Stored files: written to the temporary directory as they arrive, published under
//! `uploadPath/fileName`, served without credentials until their time to live runs out.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use std::time::{Duration, SystemTime};

use crate::http::Reply;
use crate::util;

/// The files the emulator holds.
pub(crate) struct Store {
    dir: PathBuf,
    base_url: String,
    ttl: Duration,
    files: Mutex<HashMap<String, Stored>>,
    next_id: AtomicU64,
}

struct Stored {
    disk: PathBuf,
    size: u64,
    mime: String,
    stored_at: SystemTime,
}

/// A file being received: on disk but not yet visible under a path. Dropped unpublished, it is
/// deleted, so a failed upload leaves nothing behind.
pub(crate) struct Incoming {
    disk: PathBuf,
    out: Option<BufWriter<File>>,
    size: u64,
    /// The first bytes, to tell the content type.
    head: Vec<u8>,
}

/// What a published upload looks like to the service's replies.
pub(crate) struct Published {
    pub file_id: String,
    pub file_name: String,
    pub upload_path: String,
    pub file_path: String,
    pub download_url: String,
    pub size: u64,
    pub mime: String,
    pub stored_at: SystemTime,
    pub expires_at: SystemTime,
}

impl Store {
    pub fn new(dir: PathBuf, base_url: String, ttl: Duration) -> Store {
        Store {
            dir,
            base_url,
            ttl,
            files: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        }
    }

    /// A new empty file to receive into.
    pub fn incoming(&self) -> io::Result<Incoming> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let disk = self.dir.join(format!("blob-{id}"));
        let out = BufWriter::with_capacity(64 * 1024, File::create(&disk)?);
        Ok(Incoming {
            disk,
            out: Some(out),
            size: 0,
            head: Vec::new(),
        })
    }

    /// Receives all of `data` through a fixed buffer.
    pub fn receive(&self, data: &mut dyn Read) -> io::Result<Incoming> {
        let mut incoming = self.incoming()?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match data.read(&mut buf) {
                Ok(0) => return Ok(incoming),
                Ok(n) => incoming.write(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Makes `incoming` visible as `upload_path/file_name` (replacing what was there). Without a
    /// name, one is made up as the service does, keeping the extension of `ext_hint`.
    pub fn publish(
        &self,
        mut incoming: Incoming,
        upload_path: &str,
        file_name: Option<&str>,
        ext_hint: &str,
    ) -> io::Result<Published> {
        if let Some(mut out) = incoming.out.take() {
            out.flush()?;
        }
        let upload_path = upload_path.trim_matches('/').to_owned();
        let file_name = match file_name.filter(|n| !n.is_empty()) {
            Some(n) => n.to_owned(),
            None => {
                let ext = ext_hint
                    .rsplit_once('.')
                    .map(|(_, e)| format!(".{e}"))
                    .unwrap_or_default();
                format!(
                    "{}-{}{ext}",
                    util::millis(SystemTime::now()),
                    util::random_hex(8)
                )
            }
        };
        let file_path = format!("{upload_path}/{file_name}");
        let mime = util::detect_mime(&incoming.head, &file_name);
        let stored_at = SystemTime::now();
        let published = Published {
            file_id: util::random_hex(24),
            download_url: format!("{}/files/{}", self.base_url, util::escape_path(&file_path)),
            size: incoming.size,
            mime: mime.clone(),
            stored_at,
            // A TTL too long for the clock still gives a date: a century.
            expires_at: stored_at
                .checked_add(self.ttl)
                .unwrap_or(stored_at + Duration::from_secs(100 * 365 * 86_400)),
            file_name,
            upload_path,
            file_path: file_path.clone(),
        };
        let stored = Stored {
            disk: std::mem::take(&mut incoming.disk),
            size: incoming.size,
            mime,
            stored_at,
        };
        if let Some(old) = self.lock().insert(file_path, stored) {
            let _ = fs::remove_file(old.disk);
        }
        Ok(published)
    }

    /// Changes the byte at offset `at` of the file stored under `file_path`, if it has one
    /// ([`Fault::Corrupt`](crate::Fault::Corrupt)).
    pub fn corrupt(&self, file_path: &str, at: u64) {
        let Some((disk, ..)) = self.live(file_path) else {
            return;
        };
        let Ok(mut file) = fs::OpenOptions::new().read(true).write(true).open(disk) else {
            return;
        };
        let mut byte = [0u8];
        if file.seek(SeekFrom::Start(at)).is_ok() && file.read_exact(&mut byte).is_ok() {
            let _ = file.seek(SeekFrom::Start(at));
            let _ = file.write_all(&[!byte[0]]);
        }
    }

    /// The bytes stored under `file_path`, if any and not expired.
    pub fn get(&self, file_path: &str) -> Option<Vec<u8>> {
        let disk = self.live(file_path)?.0;
        fs::read(disk).ok()
    }

    /// `GET /files/<escaped path>`: the file, streamed from disk, or a plain-text 404.
    pub fn download(&self, escaped: &str) -> Reply {
        let text = |status: u16, body: &str| {
            Reply::bytes(status, "text/plain", body.as_bytes().to_vec()).with_code(status)
        };
        let Some(file_path) = util::unescape_path(escaped) else {
            return text(400, "bad path");
        };
        let Some((disk, mime, size)) = self.live(&file_path) else {
            return text(404, "Not found");
        };
        match File::open(disk) {
            Ok(file) => Reply {
                status: 200,
                code: 200,
                headers: vec![("Content-Type".into(), mime)],
                body: Box::new(file),
                length: size,
            },
            Err(_) => text(404, "Not found"),
        }
    }

    /// The disk path, type and size of a file that has not expired; an expired one is deleted.
    fn live(&self, file_path: &str) -> Option<(PathBuf, String, u64)> {
        let mut files = self.lock();
        let expired = files
            .get(file_path)
            .is_some_and(|f| f.stored_at.elapsed().unwrap_or_default() >= self.ttl);
        if expired {
            if let Some(f) = files.remove(file_path) {
                let _ = fs::remove_file(f.disk);
            }
        }
        files
            .get(file_path)
            .map(|f| (f.disk.clone(), f.mime.clone(), f.size))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Stored>> {
        util::lock(&self.files)
    }
}

impl Incoming {
    /// Appends bytes to the file.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.head.len() < 32 {
            let take = bytes.len().min(32 - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
        let out = self.out.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        out.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        // Published files have handed their path to the store and left an empty one here.
        if !self.disk.as_os_str().is_empty() {
            drop(self.out.take());
            let _ = fs::remove_file(&self.disk);
        }
    }
}
