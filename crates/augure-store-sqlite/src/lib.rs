//! The embedded default: one SQLite file in WAL mode. SQLite allows one writer at a time,
//! so writes go through a one-connection pool (no lock-upgrade deadlocks, no busy errors
//! inside the process) while reads use their own pool.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use augure_store::StoreError;
use augure_store::sql::SharedLedgerCache;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

#[derive(Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    /// Shared by the clones, like the one writer connection it mirrors.
    ledger: Arc<SharedLedgerCache>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH`) and migrates it.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed transfer survives power loss, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer =
            SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.map_err(backend)?;
        sqlx::migrate!("./migrations").run(&writer).await.map_err(backend)?;
        let reader =
            SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await.map_err(backend)?;
        Ok(Self { reader, writer, ledger: Arc::default() })
    }

    fn ledger_cache(&self) -> Option<&SharedLedgerCache> {
        Some(&self.ledger)
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

augure_store::impl_sql_store!(
    SqliteStore,
    sqlx::Sqlite,
    backend = "sqlite",
    // One writer connection serializes claims, so no row locking is needed.
    claim_job_sql = "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2 \
        WHERE id = (SELECT id FROM jobs \
                    WHERE (status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until <= $1) \
                    ORDER BY run_at, id LIMIT 1) \
        RETURNING id, kind, payload, unique_key, status, attempts, run_at, last_error, created_at, finished_at",
    // No `next_transfer_ids_sql`: with one writer, a batch's transfer ids follow the largest.
    lock_rows = "",
);
