//! The demo data: users resolve to the right contexts, sizes are honoured, content is
//! deterministic, and a second seed is refused.

use crate::common;

use crm_agent::domain::*;
use crm_agent::seed::{SeedOptions, seed_demo};
use crm_agent::{ErrorKind, Role, Store, UserContext};

fn small() -> SeedOptions {
    SeedOptions {
        customers: 30,
        leads: 40,
        deals: 50,
        issues: 10,
        orders: 10,
        activities: 10,
        ..SeedOptions::default()
    }
}

#[tokio::test]
async fn demo_users_resolve_to_their_roles_and_scopes() {
    let (store, _dir) = common::sqlite_store().await;
    let report = seed_demo(&store, &small()).await.unwrap();
    assert_eq!(report.organizations.iter().map(|o| o.slug.as_str()).collect::<Vec<_>>(), ["acme", "globex"]);

    let owner = UserContext::resolve(&store, "acme-owner", None).await.unwrap();
    assert_eq!(owner.role, Role::Owner);
    let rep = UserContext::resolve(&store, "acme-rep", Some("acme")).await.unwrap();
    assert_eq!(rep.role, Role::Employee);
    assert!(rep.grants.contains(&"deal:update".parse().unwrap()), "{:?}", rep.grants);
    assert!(!rep.grants.contains(&"analytics:read".parse().unwrap()));
    let support = UserContext::resolve(&store, "acme-support", None).await.unwrap();
    assert!(support.grants.contains(&"issue:*".parse().unwrap()));
    let customer = UserContext::resolve(&store, "acme-customer", None).await.unwrap();
    assert_eq!(customer.role, Role::Customer);
    let globex = UserContext::resolve(&store, "globex-owner", None).await.unwrap();
    assert_ne!(globex.organization_id, owner.organization_id);
    assert_eq!(
        UserContext::resolve(&store, "acme-owner", Some("globex")).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // acme has the requested sizes (conversions add customers), globex a fifth.
    let acme = owner.scope().unwrap();
    let page = PageRequest::first(1);
    let customers = store.list_customers(&acme, &CustomerFilter::default(), &page).await.unwrap().total;
    assert_eq!(customers, 30 + 2, "30 seeded + 2 converted leads");
    assert_eq!(store.list_deals(&acme, &DealFilter::default(), &page).await.unwrap().total, 50);
    assert_eq!(store.list_deals(&globex.scope().unwrap(), &DealFilter::default(), &page).await.unwrap().total, 10);

    // The customer login sees exactly one customer record: their own, with its issues and orders.
    let mine = customer.scope().unwrap();
    let own = store.list_customers(&mine, &CustomerFilter::default(), &page).await.unwrap();
    assert_eq!(own.total, 1);
    assert_eq!(own.items[0].user_id.as_deref(), Some("acme-customer"));
    assert!(store.list_issues(&mine, &IssueFilter::default(), &page).await.unwrap().total >= 3);
    assert!(store.list_orders(&mine, &OrderFilter::default(), &page).await.unwrap().total >= 3);

    // Deal status follows its stage.
    let pipeline = store.list_pipelines(&acme).await.unwrap().remove(0);
    let deals = store.list_deals(&acme, &DealFilter::default(), &PageRequest::first(100)).await.unwrap().items;
    for deal in deals {
        let stage = pipeline.stages.iter().find(|s| s.id == deal.stage_id).unwrap();
        let expected = if stage.is_closed_won {
            DealStatus::Won
        } else if stage.is_closed_lost {
            DealStatus::Lost
        } else {
            DealStatus::Open
        };
        assert_eq!(deal.status, expected);
        assert_eq!(deal.probability, stage.probability);
    }

    let again = seed_demo(&store, &small()).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
}

/// What a seeded organization holds, without ids and times.
async fn fingerprint(store: &dyn Store) -> Vec<String> {
    let ctx = UserContext::resolve(store, "acme-owner", None).await.unwrap();
    let scope = ctx.scope().unwrap();
    let all = PageRequest::first(100);
    let mut rows: Vec<String> = Vec::new();
    for c in store.list_customers(&scope, &CustomerFilter::default(), &all).await.unwrap().items {
        rows.push(format!("customer {} {} {:?} {:?} {:?}", c.name, c.status, c.email, c.credit_limit, c.custom_fields));
    }
    for d in store.list_deals(&scope, &DealFilter::default(), &all).await.unwrap().items {
        rows.push(format!("deal {} {} {} {}", d.title, d.value, d.status, d.priority));
    }
    for i in store.list_issues(&scope, &IssueFilter::default(), &all).await.unwrap().items {
        rows.push(format!("issue {} {} {}", i.number, i.title, i.status));
    }
    rows.sort();
    rows
}

#[tokio::test]
async fn the_same_seed_gives_the_same_data() {
    let (first, _a) = common::sqlite_store().await;
    let (second, _b) = common::sqlite_store().await;
    seed_demo(&first, &small()).await.unwrap();
    seed_demo(&second, &small()).await.unwrap();
    let (a, b) = (fingerprint(&first).await, fingerprint(&second).await);
    assert!(a.len() > 80, "fingerprint covers the data: {}", a.len());
    assert_eq!(a, b);
    let (third, _c) = common::sqlite_store().await;
    seed_demo(&third, &SeedOptions { seed: 7, ..small() }).await.unwrap();
    assert_ne!(fingerprint(&third).await, a, "another seed gives other data");
}

#[tokio::test]
async fn seeding_works_on_postgres() {
    let Some(url) = common::postgres_url("seeding_works_on_postgres") else { return };
    let store = common::postgres_store(&url).await;
    let report = seed_demo(&store, &small()).await.unwrap();
    assert_eq!(report.users.len(), 5);
    store.optimize().await.unwrap();
    let owner = UserContext::resolve(&store, "acme-owner", None).await.unwrap();
    let dashboard = store.dashboard_stats(&owner.scope().unwrap(), chrono::Utc::now()).await.unwrap();
    assert_eq!(dashboard.deals.total, 50);
}

/// After a bulk load `SqlStore::optimize` leaves no write-ahead log behind and the search
/// indexes (merged into one segment each) still find what they found before.
#[tokio::test]
async fn optimize_after_seeding_empties_the_log_and_keeps_search() {
    let (store, dir) = common::sqlite_store().await;
    seed_demo(&store, &small()).await.unwrap();
    let owner = UserContext::resolve(&store, "acme-owner", None).await.unwrap().scope().unwrap();
    let someone = store.list_customers(&owner, &CustomerFilter::default(), &PageRequest::first(1)).await.unwrap();
    let email = someone.items[0].email.clone().expect("a seeded email");
    let by_email = CustomerFilter { search: Some(email.to_uppercase()), ..Default::default() };
    let before = store.list_customers(&owner, &by_email, &PageRequest::first(20)).await.unwrap();
    assert!(before.total >= 1);

    store.optimize().await.unwrap();
    let log = std::fs::metadata(dir.path().join("crm.db-wal")).map(|m| m.len()).unwrap_or(0);
    assert_eq!(log, 0, "the write-ahead log is checkpointed and truncated");
    let after = store.list_customers(&owner, &by_email, &PageRequest::first(20)).await.unwrap();
    assert_eq!(
        after.items.iter().map(|c| &c.id).collect::<Vec<_>>(),
        before.items.iter().map(|c| &c.id).collect::<Vec<_>>()
    );
    assert_eq!(after.total, before.total);
}
