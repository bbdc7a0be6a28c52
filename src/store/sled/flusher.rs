//! Group commit: a writer waits for a flush that started after its write, and all writers
//! that arrive while one flush runs share the next one, so one fsync serves many requests.
//!
//! No background task: the first waiter that finds no flush running leads the next one.
//! Holding nothing between flushes lets the database close as soon as the store is dropped.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

pub struct Flusher {
    db: sled::Db,
    /// Tickets handed out so far; a ticket is taken after the writer's write.
    requested: AtomicU64,
    /// Whether a flush is running.
    flushing: Mutex<bool>,
    /// The highest ticket known to be on disk; every change wakes the waiters.
    done: watch::Sender<u64>,
}

impl Flusher {
    pub fn new(db: sled::Db) -> Self {
        Flusher {
            db,
            requested: AtomicU64::new(0),
            flushing: Mutex::new(false),
            done: watch::Sender::new(0),
        }
    }

    /// Returns once everything written before the call is on disk.
    pub async fn flush(&self) -> Result<(), String> {
        let mut done = self.done.subscribe();
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        loop {
            if *done.borrow_and_update() >= ticket {
                return Ok(());
            }
            let lead = {
                let mut flushing = self.flushing.lock().unwrap_or_else(|e| e.into_inner());
                !std::mem::replace(&mut *flushing, true)
            };
            if !lead {
                // A flush is running; it may have started before our write, so wait for it and look again.
                let _ = done.changed().await;
                continue;
            }
            let covered = self.requested.load(Ordering::SeqCst);
            let db = self.db.clone();
            let result = tokio::task::spawn_blocking(move || db.flush())
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map(drop).map_err(|e| e.to_string()));
            *self.flushing.lock().unwrap_or_else(|e| e.into_inner()) = false;
            match result {
                Ok(()) => self.done.send_modify(|d| *d = (*d).max(covered)),
                Err(e) => {
                    // Wake the others so one of them leads a new attempt.
                    self.done.send_modify(|_| ());
                    return Err(e);
                }
            }
        }
    }
}
