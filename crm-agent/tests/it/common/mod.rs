//! Shared test setup: fresh SQLite files and fresh PostgreSQL schemas.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

pub mod fixture;

use crm_agent::conformance::StoreFactory;
use crm_agent::{SqlStore, SqlStoreOptions, Store};

/// The PostgreSQL URL from `CRM_AGENT_TEST_POSTGRES`, or `None` after printing why the
/// PostgreSQL half of a test is skipped.
pub fn postgres_url(test: &str) -> Option<String> {
    if !cfg!(feature = "postgres") {
        eprintln!("NOTICE: {test}: built without the `postgres` feature; skipping the PostgreSQL run");
        return None;
    }
    match std::env::var("CRM_AGENT_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("NOTICE: {test}: CRM_AGENT_TEST_POSTGRES is not set; skipping the PostgreSQL run");
            None
        }
    }
}

/// A migrated SQLite store in a new temporary file (kept alive by the returned guard).
pub async fn sqlite_store() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("crm.db").display());
    let store = SqlStore::open(&url).await.expect("open sqlite");
    (store, dir)
}

/// A unique schema name for this process and counter.
pub fn fresh_schema() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("crm_test_{}_{}_{}", std::process::id(), nanos, N.fetch_add(1, Ordering::Relaxed))
}

/// A migrated PostgreSQL store in a fresh schema.
pub async fn postgres_store(url: &str) -> SqlStore {
    let store = SqlStore::connect_with(SqlStoreOptions::new(url).schema(fresh_schema()).max_connections(4))
        .await
        .expect("connect postgres");
    store.migrate().await.expect("migrate postgres");
    store
}

/// A migrated PostgreSQL store in a fresh schema with a small demo seed (`acme` and `globex`,
/// their users, a few records each), and the schema's name.
pub async fn small_demo_on_postgres(url: &str) -> (SqlStore, String) {
    use crm_agent::seed::{SeedOptions, seed_demo};
    let schema = fresh_schema();
    let store = SqlStore::connect_with(SqlStoreOptions::new(url).schema(&schema)).await.expect("connect postgres");
    store.migrate().await.expect("migrate postgres");
    let small =
        SeedOptions { customers: 3, leads: 1, deals: 1, issues: 1, orders: 1, activities: 1, ..Default::default() };
    seed_demo(&store, &small).await.expect("seed postgres");
    (store, schema)
}

/// The URL with which another process (`crm-agent --db …`) opens `schema` of the database at
/// `url`: the schema as its search path.
pub fn url_of_schema(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// Factory of SQLite stores, one temporary file each (files live until the process exits).
pub fn sqlite_factory() -> StoreFactory {
    Arc::new(|| {
        Box::pin(async {
            let (store, dir) = sqlite_store().await;
            // The directory must outlive the store; tests are short-lived processes.
            std::mem::forget(dir);
            Ok(Arc::new(store) as Arc<dyn Store>)
        })
    })
}

/// Factory of PostgreSQL stores, one fresh schema each.
pub fn postgres_factory(url: String) -> StoreFactory {
    Arc::new(move || {
        let url = url.clone();
        Box::pin(async move { Ok(Arc::new(postgres_store(&url).await) as Arc<dyn Store>) })
    })
}
