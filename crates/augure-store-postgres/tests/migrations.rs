//! A database written before a migration opens after it with its ledger and prices intact.

use std::str::FromStr;

use augure_store::conformance::upgrades::{
    MIGRATIONS_WITH_PRICES_ON_PROFILES, PROFILES_WITH_PRICES, check_prices_moved_to_their_currency,
};
use augure_store::conformance::{
    LEDGER_WITH_ENTRIES_TABLE, MIGRATIONS_WITH_ENTRIES_TABLE, check_ledger_after_entries_moved, service_missing,
};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Opens a fresh schema migrated up to `version`, runs `statements` (data as an older
/// release wrote it), then opens today's store on it (which runs the later migrations) and
/// hands it to `check`. Skips (fails under CI) without PostgreSQL.
async fn upgraded_from<F, Fut>(name: &str, version: i64, statements: &[&'static str], check: F)
where
    F: FnOnce(augure_store_postgres::SqlStore) -> Fut,
    Fut: std::future::Future<Output = augure_store_postgres::SqlStore>,
{
    let url =
        std::env::var("AUGURE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let options = PgConnectOptions::from_str(&url).unwrap();
    let admin = match PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(3))
        .connect_with(options.clone())
        .await
    {
        Ok(pool) => pool,
        Err(e) => {
            service_missing::<()>("PostgreSQL", format!("{url}: {e}"));
            return;
        }
    };
    let schema = format!("augure_{name}_{}", std::process::id());
    // The name is ours (letters, digits and underscores), never input.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.unwrap();
    let options = options.options([("search_path", schema.as_str())]);
    let pool = PgPoolOptions::new().max_connections(1).connect_with(options.clone()).await.unwrap();
    let mut before = sqlx::migrate!("./migrations");
    before.migrations = before.migrations.iter().filter(|m| m.version <= version).cloned().collect();
    Migrator::run(&before, &pool).await.unwrap();
    for statement in statements {
        sqlx::query(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = augure_store_postgres::connect_with(options, 4).await.unwrap();
    let store = check(store).await;
    store.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await.unwrap();
}

#[tokio::test]
async fn ledger_entries_move_onto_their_transfers() {
    upgraded_from("migration", MIGRATIONS_WITH_ENTRIES_TABLE, LEDGER_WITH_ENTRIES_TABLE, |store| async move {
        check_ledger_after_entries_moved(&store).await;
        store
    })
    .await;
}

/// A database at migration 0013, prices on the profile rows, opened by today's store.
#[tokio::test]
async fn prices_move_to_one_price_set_in_the_experts_currency() {
    upgraded_from("prices_migration", MIGRATIONS_WITH_PRICES_ON_PROFILES, PROFILES_WITH_PRICES, |store| async move {
        check_prices_moved_to_their_currency(&store).await;
        store
    })
    .await;
}
