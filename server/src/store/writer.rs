//! Write transactions.
//!
//! SQLite lets one connection write at a time. A second connection that
//! asks for the write lock while it is held waits in SQLite's busy handler,
//! which sleeps (1, 2, 5, 10 … ms) and polls: in `wysiwys-bench` the server
//! slept there 3.5 times per flow. This process therefore writes SQLite
//! through a pool of exactly one connection (`Store::writer`): its writers
//! queue in order in the pool and meet the database's lock only when it is
//! free, and that connection's page cache is never invalidated by another
//! writer. The busy timeout is left for writers of other processes (the
//! admin command). PostgreSQL has row locks and writes through its one pool.

use crate::error::Result;
use sqlx::AnyConnection;
use std::ops::{Deref, DerefMut};

/// A write transaction on the writer connection, rolled back if dropped.
pub(crate) struct WriteTx(sqlx::Transaction<'static, sqlx::Any>);

impl WriteTx {
    pub(crate) fn new(tx: sqlx::Transaction<'static, sqlx::Any>) -> WriteTx {
        WriteTx(tx)
    }

    pub(crate) async fn commit(self) -> Result<()> {
        self.0.commit().await?;
        Ok(())
    }

    /// Rolls back now (a dropped transaction only queues its rollback).
    pub(crate) async fn rollback(self) -> Result<()> {
        self.0.rollback().await?;
        Ok(())
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.0
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.0
    }
}
