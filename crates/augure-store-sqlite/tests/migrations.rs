//! A database written before a migration opens after it with its ledger intact.

use std::str::FromStr;

use augure_store::conformance::{
    LEDGER_WITH_ENTRIES_TABLE, MIGRATIONS_WITH_ENTRIES_TABLE, check_ledger_after_entries_moved,
};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

#[tokio::test]
async fn ledger_entries_move_onto_their_transfers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("augure.db").display());
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true).foreign_keys(true))
        .await
        .unwrap();
    let mut before = sqlx::migrate!("./migrations");
    before.migrations =
        before.migrations.iter().filter(|m| m.version <= MIGRATIONS_WITH_ENTRIES_TABLE).cloned().collect();
    Migrator::run(&before, &pool).await.unwrap();
    for statement in LEDGER_WITH_ENTRIES_TABLE {
        sqlx::query(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = augure_store_sqlite::connect(&url).await.unwrap();
    check_ledger_after_entries_moved(&store).await;
}
