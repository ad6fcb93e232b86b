//! The shared conformance suite on PostgreSQL: a fresh schema per test. Needs a server at
//! `AUGURE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`); without
//! one it skips, except with `CI=true`, where it fails.

use std::sync::Arc;

use augure_store::Store;
use augure_store::conformance::service_missing;

async fn fresh() -> Option<Arc<dyn Store>> {
    let url =
        std::env::var("AUGURE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    match augure_store_postgres::connect_fresh_schema(&url).await {
        Ok((store, _schema)) => Some(Arc::new(store)),
        Err(e) => service_missing("PostgreSQL", format!("{url}: {e}")),
    }
}

augure_store::conformance_tests!(fresh());
