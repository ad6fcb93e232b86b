//! The shared conformance suite on SQLite: a fresh database file per test.

use std::sync::Arc;

use augure_store::Store;

async fn fresh() -> Option<Arc<dyn Store>> {
    // The directory must outlive the store; leaking it keeps one small file per test.
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let url = format!("sqlite://{}", dir.join("augure.db").display());
    Some(Arc::new(augure_store_sqlite::connect(&url).await.expect("open sqlite")))
}

augure_store::conformance_tests!(fresh());
