//! Argon2id behind a bound: each hash takes tens of milliseconds of a core
//! and 19 MiB, so a flood of log-ins or activation guesses must queue for a
//! few slots instead of taking every core and gigabytes of memory.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;
use wysiwys_proto::ErrorCode;

/// Hashes that run at once (the machine's cores are the real limit).
pub const MAX_CONCURRENT_HASHES: usize = 4;
/// Hashes that may wait for a slot; beyond that the caller is refused at once.
pub const MAX_QUEUED_HASHES: usize = 64;

static SLOTS: Semaphore = Semaphore::const_new(MAX_CONCURRENT_HASHES);
static ADMITTED: AtomicUsize = AtomicUsize::new(0);

/// Leaves the admitted count when the hash is done or its caller went away.
struct Admission;

impl Drop for Admission {
    fn drop(&mut self) {
        ADMITTED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs one argon2 computation on the blocking pool, within the bound.
/// Refused with `RATE_LIMITED` when too many are already waiting.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let admitted_before = ADMITTED.fetch_add(1, Ordering::SeqCst);
    let _admission = Admission;
    if admitted_before >= MAX_CONCURRENT_HASHES + MAX_QUEUED_HASHES {
        metrics::counter!("wysiwys_password_hashes_refused_total").increment(1);
        tracing::warn!("password hashing is saturated; refusing");
        return Err(Error::refused(ErrorCode::RateLimited, "the server is busy checking passwords; try again shortly"));
    }
    let _slot = SLOTS.acquire().await.map_err(|e| Error::Internal(format!("hash slots: {e}")))?;
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::Internal(format!("hashing task: {e}")))
}

/// Hashes admitted now (running or waiting), for tests and metrics.
pub fn admitted() -> usize {
    ADMITTED.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_bound_run_and_the_overflow_is_refused() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        let total = MAX_CONCURRENT_HASHES + MAX_QUEUED_HASHES;
        let mut tasks = Vec::new();
        for _ in 0..total {
            let (running, peak, release_rx) = (running.clone(), peak.clone(), release_rx.clone());
            tasks.push(tokio::spawn(run(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let _ = release_rx.lock().map(|rx| rx.recv());
                running.fetch_sub(1, Ordering::SeqCst);
            })));
        }
        // Every task is admitted (running or queued) before the next one is tried.
        while admitted() < total {
            tokio::task::yield_now().await;
        }
        let refused = run(|| ()).await.unwrap_err();
        assert_eq!(refused.code(), ErrorCode::RateLimited);
        for _ in 0..total {
            release_tx.send(()).unwrap();
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= MAX_CONCURRENT_HASHES, "peak {}", peak.load(Ordering::SeqCst));
        assert_eq!(admitted(), 0);
    }
}
