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

#[tokio::test]
async fn ledger_entries_move_onto_their_transfers() {
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
    let schema = format!("augure_migration_{}", std::process::id());
    // The name is ours (digits and underscores), never input.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.unwrap();
    let options = options.options([("search_path", schema.as_str())]);
    let pool = PgPoolOptions::new().max_connections(1).connect_with(options.clone()).await.unwrap();
    let mut before = sqlx::migrate!("./migrations");
    before.migrations =
        before.migrations.iter().filter(|m| m.version <= MIGRATIONS_WITH_ENTRIES_TABLE).cloned().collect();
    Migrator::run(&before, &pool).await.unwrap();
    for statement in LEDGER_WITH_ENTRIES_TABLE {
        sqlx::query(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = augure_store_postgres::connect_with(options, 4).await.unwrap();
    check_ledger_after_entries_moved(&store).await;
    store.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await.unwrap();
}

/// A database at migration 0013, prices on the profile rows, opened by today's store.
#[tokio::test]
async fn prices_move_to_one_price_set_in_the_experts_currency() {
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
    let schema = format!("augure_prices_migration_{}", std::process::id());
    // The name is ours (digits and underscores), never input.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.unwrap();
    let options = options.options([("search_path", schema.as_str())]);
    let pool = PgPoolOptions::new().max_connections(1).connect_with(options.clone()).await.unwrap();
    let mut before = sqlx::migrate!("./migrations");
    before.migrations =
        before.migrations.iter().filter(|m| m.version <= MIGRATIONS_WITH_PRICES_ON_PROFILES).cloned().collect();
    Migrator::run(&before, &pool).await.unwrap();
    for statement in PROFILES_WITH_PRICES {
        sqlx::query(*statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = augure_store_postgres::connect_with(options, 4).await.unwrap();
    check_prices_moved_to_their_currency(&store).await;
    store.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await.unwrap();
}
