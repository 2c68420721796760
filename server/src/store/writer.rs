//! SQLite's one writer, taken in turn inside the process.
//!
//! SQLite lets one connection write at a time. A second connection that
//! asks for the write lock while it is held waits in SQLite's busy handler,
//! which sleeps (1, 2, 5, 10 … ms) and polls: under two concurrent
//! `signHash` calls a quarter of the CPU idled in those sleeps
//! (`wysiwys-bench --csc`, perf). Writers of this process therefore queue
//! on an async mutex first and meet the database's lock only when it is
//! free; the busy timeout is left for writers of other processes (the
//! admin command). PostgreSQL has row locks and needs no queue.

use crate::error::Result;
use sqlx::AnyConnection;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The queue of this process's SQLite writers (none on PostgreSQL).
#[derive(Debug, Clone, Default)]
pub(crate) struct WriterQueue(Option<Arc<Mutex<()>>>);

impl WriterQueue {
    pub(crate) fn for_sqlite() -> WriterQueue {
        WriterQueue(Some(Arc::new(Mutex::new(()))))
    }

    /// Waits for this process's turn to write.
    pub(crate) async fn turn(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.0 {
            Some(queue) => Some(Arc::clone(queue).lock_owned().await),
            None => None,
        }
    }
}

/// A write transaction that holds the process's turn until it commits or
/// is dropped (rolled back).
pub(crate) struct WriteTx {
    // Declared first so that it is dropped (its rollback queued) before the
    // turn passes on.
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) fn new(tx: sqlx::Transaction<'static, sqlx::Any>, turn: Option<OwnedMutexGuard<()>>) -> WriteTx {
        WriteTx { tx, _turn: turn }
    }

    pub(crate) async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Rolls back before the turn passes on (a dropped transaction only
    /// queues its rollback).
    pub(crate) async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[tokio::test]
    async fn sqlite_writers_take_turns_and_postgres_ones_do_not_queue() {
        let sqlite = WriterQueue::for_sqlite();
        let first = sqlite.turn().await;
        assert!(first.is_some());
        assert!(sqlite.turn().now_or_never().is_none(), "a second writer waits for the first");
        drop(first);
        assert!(sqlite.turn().now_or_never().is_some(), "and goes once it is done");
        let postgres = WriterQueue::default();
        let _held = postgres.turn().await;
        assert!(postgres.turn().now_or_never().is_some());
    }
}
