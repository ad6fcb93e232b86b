//! The scale-out backend: PostgreSQL, shared by several app nodes.

use std::str::FromStr;
use std::time::Duration;

use augure_store::StoreError;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[derive(Clone)]
pub struct PgStore {
    // One pool: PostgreSQL handles concurrent writers itself.
    reader: PgPool,
    writer: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(backend)?;
        Self::connect_with(options, 16).await
    }

    pub async fn connect_with(options: PgConnectOptions, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(backend)?;
        sqlx::migrate!("./migrations").run(&pool).await.map_err(backend)?;
        Ok(Self { reader: pool.clone(), writer: pool })
    }

    /// A store in a new, empty schema of the database at `url`: what tests use to get a
    /// fresh database cheaply. Returns the schema's name so it can be dropped.
    pub async fn connect_fresh_schema(url: &str) -> Result<(Self, String), StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(backend)?;
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        let schema = format!("augure_test_{}", unique_suffix());
        // The name is ours (digits and underscores), never input.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.map_err(backend)?;
        admin.close().await;
        let store = Self::connect_with(options.options([("search_path", schema.as_str())]), 8).await?;
        Ok((store, schema))
    }

    pub async fn close(&self) {
        self.writer.close().await;
    }

    /// Several nodes write: accounts are read under their row locks, never from memory.
    fn ledger_cache(&self) -> Option<&augure_store::sql::SharedLedgerCache> {
        None
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{}_{nanos}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

augure_store::impl_sql_store!(
    PgStore,
    sqlx::Postgres,
    backend = "postgres",
    // SKIP LOCKED lets several workers (and nodes) claim different jobs at once.
    claim_job_sql = "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2 \
        WHERE id = (SELECT id FROM jobs \
                    WHERE (status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until <= $1) \
                    ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
        RETURNING id, kind, payload, unique_key, status, attempts, run_at, last_error, created_at, finished_at",
    lock_rows = "FOR UPDATE",
    // Taken from the sequence after the account locks: concurrent batches on other accounts
    // get their own ids, and never the same.
    next_transfer_ids_sql =
        "SELECT nextval(pg_get_serial_sequence('ledger_transfers', 'id')) AS id FROM generate_series(1, $1)",
);
