//! The HSM's signing threads: a fixed set, started with the server and
//! shared by every request, each signing one job at a time on its own
//! session.
//!
//! Why not the async runtime's blocking pool: each actix worker has its own
//! pool, so concurrent `signHash` calls of 100 hashes spread over up to
//! nine short-lived threads on two cores; every burst woke a cold thread,
//! and a second thread often waited a few milliseconds behind the first on
//! the same core while the other core idled (perf sched, wysiwys-bench
//! --csc). A fixed set as large as the HSM's parallelism, fed in order,
//! keeps the threads hot and lets the first call's parts finish first,
//! while the next call's database work overlaps them.

use super::HsmError;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

/// Work for one signing thread.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

pub struct SigningWorkers {
    queue: Mutex<Sender<Job>>,
    threads: usize,
}

impl SigningWorkers {
    /// Starts `threads` signing threads (at least one).
    pub fn start(threads: usize) -> Result<SigningWorkers, HsmError> {
        let threads = threads.max(1);
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads {
            let jobs = Arc::clone(&jobs);
            std::thread::Builder::new()
                .name(format!("hsm-signer-{n}"))
                .spawn(move || serve(&jobs))
                .map_err(|e| HsmError::Setup(format!("cannot start an HSM signing thread: {e}")))?;
        }
        Ok(SigningWorkers { queue: Mutex::new(queue), threads })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Queues a job; the first free thread runs it.
    pub fn submit(&self, job: Job) -> Result<(), HsmError> {
        let queue = self.queue.lock().map_err(|_| HsmError::Setup("signing queue poisoned".into()))?;
        queue.send(job).map_err(|_| HsmError::Setup("every HSM signing thread has stopped".into()))
    }
}

/// One signing thread: runs jobs until the queue is dropped with the HSM.
/// A job that panics is logged and does not take the thread with it.
fn serve(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held while waiting: the threads take turns at the
        // head of the queue, and each job goes to exactly one of them.
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
            tracing::error!("an HSM signing job panicked; its caller sees the thread end early");
        }
    }
}

impl std::fmt::Debug for SigningWorkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningWorkers").field("threads", &self.threads).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Barrier;

    #[test]
    fn jobs_spread_over_exactly_the_threads_started_and_survive_a_panic() {
        let workers = SigningWorkers::start(2).unwrap();
        // Two jobs that each wait for the other can only finish on two
        // threads at once.
        let barrier = Arc::new(Barrier::new(2));
        let (done, finished) = channel();
        for _ in 0..2 {
            let (barrier, done) = (Arc::clone(&barrier), done.clone());
            workers
                .submit(Box::new(move || {
                    barrier.wait();
                    done.send(std::thread::current().name().map(str::to_owned)).unwrap();
                }))
                .unwrap();
        }
        let names: HashSet<_> = (0..2).map(|_| finished.recv().unwrap().unwrap()).collect();
        assert_eq!(names, HashSet::from(["hsm-signer-0".to_owned(), "hsm-signer-1".to_owned()]));
        for _ in 0..2 {
            workers.submit(Box::new(|| panic!("a job that fails"))).unwrap();
        }
        // Both threads are still there: the barrier again needs two.
        for _ in 0..2 {
            let (barrier, done) = (Arc::clone(&barrier), done.clone());
            workers
                .submit(Box::new(move || {
                    barrier.wait();
                    done.send(None).unwrap();
                }))
                .unwrap();
        }
        assert_eq!(finished.recv().unwrap(), None);
        assert_eq!(finished.recv().unwrap(), None);
        assert_eq!(workers.threads(), 2);
    }
}
