//! A database written before a migration opens after it with its ledger and prices intact.

use std::str::FromStr;

use augure_store::conformance::upgrades::{
    MIGRATIONS_WITH_PRICES_ON_PROFILES, PROFILES_WITH_PRICES, check_prices_moved_to_their_currency,
};
use augure_store::conformance::{
    LEDGER_WITH_ENTRIES_TABLE, MIGRATIONS_WITH_ENTRIES_TABLE, check_ledger_after_entries_moved,
};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

#[tokio::test]
async fn ledger_entries_move_onto_their_transfers() {
    let (dir, url) = database_at(MIGRATIONS_WITH_ENTRIES_TABLE, LEDGER_WITH_ENTRIES_TABLE).await;
    let store = augure_store_sqlite::connect(&url).await.unwrap();
    check_ledger_after_entries_moved(&store).await;
    drop(dir);
}

/// A database at migration 0013, prices on the profile rows, opened by today's store.
#[tokio::test]
async fn prices_move_to_one_price_set_in_the_experts_currency() {
    let (dir, url) = database_at(MIGRATIONS_WITH_PRICES_ON_PROFILES, PROFILES_WITH_PRICES).await;
    let store = augure_store_sqlite::connect(&url).await.unwrap();
    check_prices_moved_to_their_currency(&store).await;
    drop(dir);
}

/// A database file migrated up to `version`, with `statements` run on it then.
async fn database_at(version: i64, statements: &[&'static str]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("augure.db").display());
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true).foreign_keys(true))
        .await
        .unwrap();
    let mut before = sqlx::migrate!("./migrations");
    before.migrations = before.migrations.iter().filter(|m| m.version <= version).cloned().collect();
    Migrator::run(&before, &pool).await.unwrap();
    for statement in statements {
        sqlx::query(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    (dir, url)
}
