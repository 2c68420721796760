//! Where this process writes: SQLite's one connection, or PostgreSQL's pool.
//!
//! SQLite lets one connection write at a time. A second connection that
//! asks for the write lock while it is held waits in SQLite's busy handler,
//! which sleeps (1, 2, 5, 10 … ms) and polls: in `wysiwys-bench` the server
//! slept there 3.5 times per flow. This process therefore writes SQLite
//! through exactly one connection, held behind an async mutex: its writers
//! queue in order and meet the database's lock only when it is free, that
//! connection's page cache is never invalidated by another writer, and
//! handing it on costs no round trip (a pool pings a connection each time
//! it is given back). The busy timeout is left for writers of other
//! processes (the admin command). PostgreSQL has row locks and writes
//! through its pool.

use crate::error::Result;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Debug, Clone)]
pub(crate) enum Writer {
    Pool(AnyPool),
    Sqlite(OneConnection),
}

/// SQLite's writing connection, and whether a transaction was left open on
/// it (a `WriteTx` dropped before it ended): the next writer rolls it back
/// before anything else runs there.
#[derive(Debug, Clone)]
pub(crate) struct OneConnection {
    conn: Arc<Mutex<AnyConnection>>,
    left_open: Arc<AtomicBool>,
}

impl OneConnection {
    pub(crate) fn new(conn: AnyConnection) -> OneConnection {
        OneConnection { conn: Arc::new(Mutex::new(conn)), left_open: Arc::new(AtomicBool::new(false)) }
    }
}

impl Writer {
    /// The connection to write on, once it is this caller's turn.
    pub(crate) async fn conn(&self) -> Result<WriteConn> {
        match self {
            Writer::Pool(pool) => Ok(WriteConn::Pooled(pool.acquire().await?)),
            Writer::Sqlite(one) => {
                let mut conn = Arc::clone(&one.conn).lock_owned().await;
                if one.left_open.swap(false, Ordering::AcqRel) {
                    conn.execute("ROLLBACK").await?;
                }
                Ok(WriteConn::Sqlite(conn))
            }
        }
    }

    /// A write transaction. SQLite's default deferred BEGIN can deadlock
    /// with a writer of another process (the admin command); IMMEDIATE
    /// takes the write lock up front.
    pub(crate) async fn begin(&self) -> Result<WriteTx> {
        match self {
            Writer::Pool(pool) => Ok(WriteTx::Pooled(pool.begin().await?)),
            Writer::Sqlite(one) => {
                let mut conn = self.conn().await?;
                conn.execute("BEGIN IMMEDIATE").await?;
                one.left_open.store(true, Ordering::Release);
                Ok(WriteTx::Sqlite { conn, writer: RollbackIfLeftOpen(one.clone()) })
            }
        }
    }
}

/// A connection to write on, held until dropped.
pub(crate) enum WriteConn {
    Pooled(PoolConnection<Any>),
    Sqlite(OwnedMutexGuard<AnyConnection>),
}

impl Deref for WriteConn {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            WriteConn::Pooled(conn) => conn,
            WriteConn::Sqlite(conn) => conn,
        }
    }
}

impl DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteConn::Pooled(conn) => conn,
            WriteConn::Sqlite(conn) => conn,
        }
    }
}

/// A write transaction, rolled back if dropped before it commits.
pub(crate) enum WriteTx {
    Pooled(sqlx::Transaction<'static, Any>),
    // `conn` is declared first: it is handed back before the rollback below
    // asks for it.
    Sqlite { conn: WriteConn, writer: RollbackIfLeftOpen },
}

/// Rolls a dropped transaction back right away (on a task of its own), so
/// that SQLite's write lock does not wait for this process's next writer
/// while another process (the admin command) waits for it.
pub(crate) struct RollbackIfLeftOpen(OneConnection);

impl Drop for RollbackIfLeftOpen {
    fn drop(&mut self) {
        if self.0.left_open.load(Ordering::Acquire)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let writer = Writer::Sqlite(self.0.clone());
            runtime.spawn(async move {
                if let Err(e) = writer.conn().await {
                    tracing::error!(error = ?e, "rolling back a dropped SQLite transaction failed");
                }
            });
        }
    }
}

/// How a transaction ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Commit,
    Rollback,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<()> {
        self.end(Ending::Commit).await
    }

    /// Rolls back now (a dropped one is rolled back on a task of its own).
    pub(crate) async fn rollback(self) -> Result<()> {
        self.end(Ending::Rollback).await
    }

    async fn end(self, ending: Ending) -> Result<()> {
        match (self, ending) {
            (WriteTx::Pooled(tx), Ending::Commit) => tx.commit().await?,
            (WriteTx::Pooled(tx), Ending::Rollback) => tx.rollback().await?,
            (WriteTx::Sqlite { mut conn, writer }, ending) => {
                let statement = match ending {
                    Ending::Commit => "COMMIT",
                    Ending::Rollback => "ROLLBACK",
                };
                // Should this fail, `left_open` stays set and the next writer rolls back.
                conn.execute(statement).await?;
                writer.0.left_open.store(false, Ordering::Release);
            }
        }
        Ok(())
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            WriteTx::Pooled(tx) => tx,
            WriteTx::Sqlite { conn, .. } => conn,
        }
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteTx::Pooled(tx) => tx,
            WriteTx::Sqlite { conn, .. } => conn,
        }
    }
}
