//! The store conformance suite on SQLite (always) and PostgreSQL (when configured).

mod common;

use crm_agent::store::conformance::run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_store_conforms_on_sqlite() {
    let report = run(common::sqlite_factory()).await;
    println!("{}", report.summary());
    report.assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_store_conforms_on_postgres() {
    let Some(url) = common::postgres_url("sql_store_conforms_on_postgres") else { return };
    let report = run(common::postgres_factory(url)).await;
    println!("{}", report.summary());
    report.assert_passed();
}

/// A store that implements nothing: every case is skipped, none fails, and the defaults
/// report `Unsupported`.
#[tokio::test]
async fn an_empty_store_is_reported_unsupported() {
    use crm_agent::store::conformance::{Outcome, run};
    use crm_agent::{Store, StoreOp};
    use std::sync::Arc;

    struct Nothing;
    impl Store for Nothing {
        fn supports(&self, _op: StoreOp) -> bool {
            false
        }
    }
    let report = run(Arc::new(|| Box::pin(async { Ok(Arc::new(Nothing) as Arc<dyn Store>) }))).await;
    assert!(report.cases.iter().all(|c| matches!(c.outcome, Outcome::Skipped(_))), "{}", report.summary());
    let err = Nothing.find_organization("acme").await.unwrap_err();
    assert_eq!(err.kind(), crm_agent::ErrorKind::Unsupported);
    assert!(err.to_string().contains("find_organization"));
}
