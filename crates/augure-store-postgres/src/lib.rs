//! The scale-out backend: PostgreSQL, shared by several app nodes. The statements are
//! `augure-store-sql`'s; this crate connects and owns the migrations.

use std::str::FromStr;
use std::time::Duration;

use augure_store::StoreError;
pub use augure_store_sql::SqlStore;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Connects to `url` (`postgres://…`) and migrates.
pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(backend)?;
    connect_with(options, 16).await
}

pub async fn connect_with(options: PgConnectOptions, max_connections: u32) -> Result<SqlStore, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(backend)?;
    sqlx::migrate!("./migrations").run(&pool).await.map_err(backend)?;
    Ok(SqlStore::postgres(pool))
}

/// A store in a new, empty schema of the database at `url`: what tests use to get a fresh
/// database cheaply. The schema is dropped once the last clone of the store is, so that
/// test runs leave nothing behind. Returns the schema's name too.
pub async fn connect_fresh_schema(url: &str) -> Result<(SqlStore, String), StoreError> {
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
    let store = connect_with(options.clone().options([("search_path", schema.as_str())]), 8).await?;
    let name = schema.clone();
    let store = store.on_drop(move || drop_schema(options, &name));
    Ok((store, schema))
}

/// Drops a test schema from a thread of its own: this runs in `Drop`, often on a runtime
/// thread that must not block on a future, and during a failing test's unwinding too.
fn drop_schema(options: PgConnectOptions, schema: &str) {
    let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(3))
                .connect_with(options)
                .await
                .map_err(std::io::Error::other)?;
            // Never wait forever on a lock a stray connection still holds.
            sqlx::query("SET lock_timeout = '5s'").execute(&admin).await.map_err(std::io::Error::other)?;
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await.map_err(std::io::Error::other)?;
            admin.close().await;
            Ok::<_, std::io::Error>(())
        })
    })
    .join();
    if !matches!(dropped, Ok(Ok(()))) {
        eprintln!("could not drop test schema {schema}");
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
