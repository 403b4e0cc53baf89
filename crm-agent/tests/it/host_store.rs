//! `HostStore` and `with_bookkeeping`, the machinery behind the Python and Node host stores:
//! a backend that answers in JSON (here: Rust forwarding to a SqlStore, as a binding forwards
//! to Python or JS) must pass the conformance cases of the groups it implements, and the
//! groups it leaves out must come from the SDK's own store or be hidden.

use std::sync::Arc;

use async_trait::async_trait;
use crm_agent::conformance::{Outcome, run};
use crm_agent::domain::*;
use crm_agent::store::host::{HostBackend, HostStore, with_bookkeeping};
use crm_agent::{Error, ErrorKind, Result, Scope, SqlStore, Store, StoreOp};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A "host" keeping employees, customers and issues (in a SqlStore of its own), reached only
/// through the JSON calls a binding makes.
struct JsonHost {
    inner: SqlStore,
}

const METHODS: &[&str] = &[
    "list_employees",
    "get_employee",
    "create_employee",
    "update_employee",
    "list_customers",
    "get_customer",
    "create_customer",
    "update_customer",
    "list_issues",
    "get_issue",
    "create_issue",
    "update_issue",
    "add_issue_comment",
    "list_issue_comments",
];

fn arg<T: DeserializeOwned>(args: &Value, name: &str) -> Result<T> {
    serde_json::from_value(args[name].clone()).map_err(|e| Error::invalid(format!("{name}: {e}")))
}

fn scope(args: &Value) -> Result<Scope> {
    let organization: OrganizationId = arg(args, "scope")
        .and_then(|s: Value| serde_json::from_value(s["organization_id"].clone()).map_err(Into::into))?;
    Ok(match args["scope"]["customer_id"].as_str() {
        Some(customer) => Scope::customer(organization, CustomerId::from(customer)),
        None => Scope::organization(organization),
    })
}

fn out<T: serde::Serialize>(value: Result<T>) -> Result<Value> {
    value.map(|v| serde_json::to_value(v).expect("serializable"))
}

#[async_trait]
impl HostBackend for JsonHost {
    fn implements(&self, method: &str) -> bool {
        METHODS.contains(&method)
    }

    async fn call(&self, method: &'static str, a: Value) -> Result<Value> {
        let s = &scope(&a)?;
        let store = &self.inner;
        match method {
            "list_employees" => out(store.list_employees(s, &arg(&a, "filter")?, &arg(&a, "page")?).await),
            "get_employee" => out(store.get_employee(s, &arg(&a, "id")?).await),
            "create_employee" => out(store.create_employee(s, arg(&a, "new")?).await),
            "update_employee" => out(store.update_employee(s, &arg(&a, "id")?, arg(&a, "patch")?).await),
            "list_customers" => out(store.list_customers(s, &arg(&a, "filter")?, &arg(&a, "page")?).await),
            "get_customer" => out(store.get_customer(s, &arg(&a, "id")?).await),
            "create_customer" => out(store.create_customer(s, arg(&a, "new")?).await),
            "update_customer" => out(store.update_customer(s, &arg(&a, "id")?, arg(&a, "patch")?).await),
            "list_issues" => out(store.list_issues(s, &arg(&a, "filter")?, &arg(&a, "page")?).await),
            "get_issue" => out(store.get_issue(s, &arg(&a, "id")?).await),
            "create_issue" => out(store.create_issue(s, arg(&a, "new")?).await),
            "update_issue" => out(store.update_issue(s, &arg(&a, "id")?, arg(&a, "patch")?).await),
            "add_issue_comment" => out(store.add_issue_comment(s, arg(&a, "new")?).await),
            "list_issue_comments" => out(store
                .list_issue_comments(s, &arg(&a, "issue")?, arg(&a, "include_internal")?, &arg(&a, "page")?)
                .await),
            other => Err(Error::Internal(format!("unexpected call of {other}"))),
        }
    }
}

async fn host_in_front_of_own_store() -> Arc<dyn Store> {
    // The host's tables and the SDK's own bookkeeping are two separate databases; tenants are
    // created in the SDK's store and the host only ever sees their ids in scopes.
    let host = SqlStore::open("sqlite::memory:").await.unwrap();
    let own = SqlStore::open("sqlite::memory:").await.unwrap();
    with_bookkeeping(Arc::new(HostStore::new(JsonHost { inner: host })), Arc::new(own))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_host_store_passes_the_cases_of_what_it_implements() {
    let report = run(Arc::new(|| Box::pin(async { Ok(host_in_front_of_own_store().await) }))).await;
    println!("{}", report.summary());
    report.assert_passed();
    let passed: Vec<_> = report.cases.iter().filter(|c| c.outcome == Outcome::Passed).map(|c| c.name).collect();
    for case in [
        "customers_crud_and_filters",
        "pagination_totals",
        "issues_numbers_and_comments",
        "customer_isolation",
        "issue_isolation",
        "conversations_crud_and_pages",
        "pending_action_lifecycle",
        "audit_events",
    ] {
        assert!(passed.contains(&case), "{case} did not run: {}", report.summary());
    }
    // Groups the host left out are not taken from the SDK's store.
    assert!(report.cases.iter().any(|c| c.name == "deals_and_pipelines" && matches!(c.outcome, Outcome::Skipped(_))));
}

#[tokio::test]
async fn groups_route_to_the_host_or_the_sdk_and_missing_ones_are_unsupported() {
    let store = host_in_front_of_own_store().await;
    assert!(store.supports(StoreOp::ReadCustomers) && store.supports(StoreOp::WriteIssues));
    assert!(store.supports(StoreOp::Conversations) && store.supports(StoreOp::Organizations));
    assert!(!store.supports(StoreOp::ReadDeals) && !store.supports(StoreOp::ReadLeads));
    let scope = Scope::organization(OrganizationId::from("org_x"));
    let err = store.list_deals(&scope, &DealFilter::default(), &PageRequest::first(5)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

/// A host error keeps its kind for the core and its original value for the binding.
#[tokio::test]
async fn host_errors_keep_their_kind_and_their_source() {
    #[derive(Debug)]
    struct HostException(&'static str);
    impl std::fmt::Display for HostException {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for HostException {}

    struct Raising;
    #[async_trait]
    impl HostBackend for Raising {
        fn implements(&self, method: &str) -> bool {
            method == "get_customer"
        }
        async fn call(&self, _method: &'static str, _args: Value) -> Result<Value> {
            Err(Error::host(ErrorKind::NotFound, Box::new(HostException("no such customer in the ORM"))))
        }
    }
    struct WrongShape;
    #[async_trait]
    impl HostBackend for WrongShape {
        fn implements(&self, _method: &str) -> bool {
            true
        }
        async fn call(&self, _method: &'static str, _args: Value) -> Result<Value> {
            Ok(serde_json::json!({ "name": 3 }))
        }
    }

    let scope = Scope::organization(OrganizationId::from("org_x"));
    let err = HostStore::new(Raising).get_customer(&scope, &CustomerId::from("c1")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.to_string(), "no such customer in the ORM");
    let Error::Host { source, .. } = err else { panic!("not a host error") };
    assert!(source.downcast_ref::<HostException>().is_some());

    let err = HostStore::new(WrongShape).get_customer(&scope, &CustomerId::from("c1")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store);
    assert!(err.to_string().contains("`get_customer` answered an unexpected shape"), "{err}");
    let missing = HostStore::new(Raising).get_issue(&scope, &IssueId::from("i1")).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Unsupported);
}
