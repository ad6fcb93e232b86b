//! augure's store in SQL. Each aggregate's statements live in its own module and are
//! written once: a method body runs on whichever engine the store was opened on through
//! [`on_reader!`] / [`on_writer!`], which bind the engine's concrete pool and expand the
//! same block once per engine. The code stays ordinary Rust (rustfmt formats it, compile
//! errors point at the query), without the `for<'a> &'a mut DB::Connection: Executor<'a>`
//! bounds that code generic over `sqlx::Database` needs. Both engines accept the same
//! statements (`$N` placeholders, `RETURNING`, `ON CONFLICT`, instants as integer
//! microseconds); the few that differ are in [`dialect`].

use std::sync::Arc;

use async_trait::async_trait;
use augure_store::{Store, StoreError, StoreResult};
use sqlx::{PgPool, SqlitePool};

/// Runs `$body` with `$pool` bound to the pool that serves reads on this store's engine.
macro_rules! on_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite { reader, .. } => {
                let $pool = reader;
                $body
            }
            $crate::Db::Postgres(pool) => {
                let $pool = pool;
                $body
            }
        }
    };
}

/// Runs `$body` with `$pool` bound to the pool that takes writes (SQLite's one writer
/// connection, or PostgreSQL's pool).
macro_rules! on_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite { writer, .. } => {
                let $pool = writer;
                $body
            }
            $crate::Db::Postgres(pool) => {
                let $pool = pool;
                $body
            }
        }
    };
}

mod accounts;
mod chat;
mod codec;
mod commissions;
mod consultations;
mod dialect;
mod experts;
mod incidents;
mod jobs;
mod ledger;
mod legal;
mod mail;
mod media;
mod notifications;
mod payments;
mod planning;
mod sites;
mod sms;

/// Every store trait, on SQLite or PostgreSQL. Cheap to clone: clones share the pools.
#[derive(Clone)]
pub struct SqlStore {
    db: Db,
    /// Runs when the last clone is dropped (a test schema to drop, say).
    _cleanup: Option<Arc<Cleanup>>,
}

#[derive(Clone)]
enum Db {
    /// SQLite allows one writer at a time: writes go through a one-connection pool, reads
    /// through their own. The writer keeps the ledger accounts it wrote in memory.
    Sqlite { reader: SqlitePool, writer: SqlitePool, ledger: Arc<ledger::SharedLedgerCache> },
    /// PostgreSQL handles concurrent writers itself: one pool.
    Postgres(PgPool),
}

struct Cleanup(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

impl SqlStore {
    /// A store on an SQLite database already migrated: `writer` must have one connection.
    pub fn sqlite(reader: SqlitePool, writer: SqlitePool) -> Self {
        Self { db: Db::Sqlite { reader, writer, ledger: Arc::default() }, _cleanup: None }
    }

    /// A store on a PostgreSQL database already migrated.
    pub fn postgres(pool: PgPool) -> Self {
        Self { db: Db::Postgres(pool), _cleanup: None }
    }

    /// Runs `cleanup` once the last clone of this store is dropped.
    pub fn on_drop(mut self, cleanup: impl FnOnce() + Send + Sync + 'static) -> Self {
        self._cleanup = Some(Arc::new(Cleanup(Some(Box::new(cleanup)))));
        self
    }

    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { reader, writer, .. } => {
                reader.close().await;
                writer.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// What SQLite's one writer remembers of the ledger; PostgreSQL has several writers
    /// (nodes) and reads accounts under their row locks instead.
    fn ledger_cache(&self) -> Option<&ledger::SharedLedgerCache> {
        match &self.db {
            Db::Sqlite { ledger, .. } => Some(ledger),
            Db::Postgres(_) => None,
        }
    }
}

/// Maps a driver error to the store's: unique violations name the rule they broke.
fn err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            StoreError::Conflict(codec::conflict_target(&text))
        }
        other => StoreError::Backend(Box::new(other)),
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        on_reader!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await.map_err(err)?;
            Ok(())
        })
    }

    fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}
