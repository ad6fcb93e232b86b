//! The embedded default: one SQLite file in WAL mode. SQLite allows one writer at a time,
//! so writes go through a one-connection pool (no lock-upgrade deadlocks, no busy errors
//! inside the process) while reads use their own pool. The statements are
//! `augure-store-sql`'s; this crate opens the file and owns its migrations.

use std::str::FromStr;
use std::time::Duration;

use augure_store::StoreError;
pub use augure_store_sql::SqlStore;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// Opens (creating if missing) the database at `url` (`sqlite://PATH`) and migrates it.
pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(backend)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a committed transfer survives power loss, not only a crash.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.map_err(backend)?;
    sqlx::migrate!("./migrations").run(&writer).await.map_err(backend)?;
    let reader =
        SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await.map_err(backend)?;
    Ok(SqlStore::sqlite(reader, writer))
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}
