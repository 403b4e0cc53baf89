//! Store benchmarks on SQLite (and PostgreSQL when `CRM_AGENT_BENCH_POSTGRES` is set).
//!
//! `cargo bench -p crm-agent --bench store` seeds (once, cached under `target/bench-data/`) an
//! `acme` organization with 100k customers, 100k leads and 200k deals beside a smaller `globex`,
//! then measures the store calls the tools lean on. Under `cargo test --benches` every
//! benchmark runs once on a small dataset, so the bench code stays tested.
//! Sizes can be changed with CRM_AGENT_BENCH_CUSTOMERS / _LEADS / _DEALS.

use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use crm_agent::domain::*;
use crm_agent::seed::{SeedOptions, seed_demo};
use crm_agent::{Scope, SqlStore, SqlStoreOptions, Store, UserContext};
use tokio::runtime::Runtime;

fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn size(var: &str, full: usize, small: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(if bench_mode() { full } else { small })
}

fn options(deals_default: usize) -> SeedOptions {
    SeedOptions {
        customers: size("CRM_AGENT_BENCH_CUSTOMERS", 100_000, 2_000),
        leads: size("CRM_AGENT_BENCH_LEADS", 100_000, 2_000),
        deals: size("CRM_AGENT_BENCH_DEALS", deals_default, 4_000),
        issues: 200,
        orders: 200,
        activities: 200,
        seed: 42,
        progress: bench_mode().then(|| std::sync::Arc::new(PrintTenths) as _),
    }
}

/// Prints each entity's progress in tenths while the benchmark dataset is seeded.
struct PrintTenths;

impl crm_agent::seed::SeedProgress for PrintTenths {
    fn advanced(&self, entity: &'static str, done: usize, total: usize) {
        let tenth = (total / 10).max(1);
        if done == total || done.is_multiple_of(tenth) {
            eprintln!("seeding {entity}: {done}/{total}");
        }
    }
}

/// Opens (seeding on first use) the benchmark database for `options`.
async fn dataset(rt_label: &str, options: &SeedOptions) -> SqlStore {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let file = dir.join(format!("{rt_label}-{}c-{}l-{}d.db", options.customers, options.leads, options.deals));
    let url = format!("sqlite://{}", file.display());
    let store = SqlStore::open(&url).await.expect("open bench db");
    if store.is_empty().await.expect("count") {
        let started = Instant::now();
        seed_demo(&store, options).await.expect("seed");
        store.optimize().await.expect("optimize");
        eprintln!("seeded {} in {:.1}s", file.display(), started.elapsed().as_secs_f64());
    }
    store
}

async fn owner_scope(store: &dyn Store) -> Scope {
    UserContext::resolve(store, "acme-owner", None).await.expect("acme-owner").scope().expect("scope")
}

fn sqlite(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    let options = options(200_000);
    let store = rt.block_on(dataset("sqlite", &options));
    let scope = rt.block_on(owner_scope(&store));
    let ids: Vec<CustomerId> = rt.block_on(async {
        store
            .list_customers(&scope, &CustomerFilter::default(), &PageRequest::first(100))
            .await
            .expect("ids")
            .items
            .into_iter()
            .map(|c| c.id)
            .collect()
    });
    let filter =
        CustomerFilter { status: Some(CustomerStatus::Active), search: Some("harbor".into()), ..Default::default() };
    let page = PageRequest::first(20);
    let listed = rt.block_on(store.list_customers(&scope, &filter, &page)).expect("list");
    eprintln!("list_customers(active, 'harbor'): {} of {} matching", listed.items.len(), listed.total);
    // The usual lookup: part of one customer's email, as someone types it.
    let active = CustomerFilter { status: Some(CustomerStatus::Active), ..Default::default() };
    let someone = rt.block_on(store.list_customers(&scope, &active, &PageRequest::first(100))).expect("active");
    let someone = someone.items.last().expect("an active customer");
    let typed = someone.email.as_deref().and_then(|e| e.split('@').next()).expect("an email").to_owned();
    let by_email = CustomerFilter { search: Some(typed.clone()), ..active.clone() };
    let listed = rt.block_on(store.list_customers(&scope, &by_email, &page)).expect("list");
    eprintln!("list_customers(active, {typed:?}): {} of {} matching", listed.items.len(), listed.total);

    let mut group = c.benchmark_group("sqlite");
    group.sample_size(if bench_mode() { 30 } else { 10 });
    let mut n = 0usize;
    group.bench_function("get_customer", |b| {
        b.to_async(&rt).iter(|| {
            n = (n + 1) % ids.len();
            let id = &ids[n];
            let (store, scope) = (&store, &scope);
            async move { store.get_customer(scope, id).await.expect("get") }
        })
    });
    group.bench_function("list_customers_status_search_20", |b| {
        b.to_async(&rt).iter(|| async { store.list_customers(&scope, &filter, &page).await.expect("list") })
    });
    group.bench_function("list_customers_status_search_email_20", |b| {
        b.to_async(&rt).iter(|| async { store.list_customers(&scope, &by_email, &page).await.expect("list") })
    });
    group.bench_function("list_customers_status_20", |b| {
        b.to_async(&rt).iter(|| async { store.list_customers(&scope, &active, &page).await.expect("list") })
    });
    // What the registry adds (policy + validation + audit) over the bare store call.
    let registry = crm_agent::ToolRegistry::new(std::sync::Arc::new(store.clone()));
    let owner = rt.block_on(UserContext::resolve(&store, "acme-owner", None)).expect("owner");
    let mut m = 0usize;
    group.bench_function("registry_call_get_customer", |b| {
        b.to_async(&rt).iter(|| {
            m = (m + 1) % ids.len();
            let args = serde_json::json!({"customer_id": ids[m].as_str()});
            let (registry, owner) = (&registry, &owner);
            async move { registry.call(owner, "get_customer", args).await.expect("call") }
        })
    });
    group.bench_function("registry_list_tools", |b| b.iter(|| registry.list(&owner).len()));
    group.bench_function("deal_stats", |b| {
        b.to_async(&rt).iter(|| async { store.deal_stats(&scope).await.expect("stats") })
    });
    group.bench_function("dashboard_stats", |b| {
        b.to_async(&rt).iter(|| async { store.dashboard_stats(&scope, chrono::Utc::now()).await.expect("dashboard") })
    });
    // "Which deals close this month?": a date span in the order of its dates; and the top open
    // deals by value over the same span, which must sort every match.
    for (name, filter) in [
        ("list_deals_closing_this_month_20", closing_this_month()),
        ("list_deals_open_closing_this_month_by_value_20", open_closing_this_month_by_value()),
    ] {
        let listed = rt.block_on(store.list_deals(&scope, &filter, &page)).expect("closing");
        eprintln!("{name}: {} of {} matching", listed.items.len(), listed.total);
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async { store.list_deals(&scope, &filter, &page).await.expect("list") })
        });
    }
    let monthly = won_value_by_close_month();
    let answer = rt.block_on(store.aggregate_records(&scope, &monthly)).expect("aggregate");
    eprintln!("aggregate_records(deals, sum value, actual_close_date:month): {} groups", answer.total_groups);
    group.bench_function("aggregate_deal_value_by_close_month", |b| {
        b.to_async(&rt).iter(|| async { store.aggregate_records(&scope, &monthly).await.expect("aggregate") })
    });
    group.finish();
}

/// This month's days.
fn this_month() -> DateRange {
    use chrono::Datelike;
    let first = chrono::Utc::now().date_naive().with_day(1).expect("day 1");
    DateRange { from: Some(first), to: (first + chrono::Months::new(1)).pred_opt() }
}

/// Deals expected to close this month, soonest first.
fn closing_this_month() -> DealFilter {
    DealFilter {
        expected_close: this_month(),
        sort: Some(Sort { field: DealSort::ExpectedCloseDate, descending: false }),
        ..Default::default()
    }
}

/// Open deals expected to close this month, largest first.
fn open_closing_this_month_by_value() -> DealFilter {
    DealFilter {
        status: Some(DealStatus::Open),
        expected_close: this_month(),
        sort: Some(Sort { field: DealSort::Value, descending: true }),
        ..Default::default()
    }
}

/// The sum of deal value per month of closing (per currency), over every deal.
fn won_value_by_close_month() -> AggregateQuery {
    let group_by = ["actual_close_date:month".to_owned()];
    let filter = RecordFilter::Deals(DealFilter::default());
    AggregateQuery::new(filter, Measure::Sum, Some("value"), &group_by, chrono_tz::UTC).expect("a valid aggregate")
}

/// PostgreSQL with 1M deals (only when CRM_AGENT_BENCH_POSTGRES names a database; the data is
/// kept in schema `crm_bench_<size>` and reused).
fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("CRM_AGENT_BENCH_POSTGRES") else {
        eprintln!("NOTICE: CRM_AGENT_BENCH_POSTGRES is not set; skipping the PostgreSQL benchmarks");
        return;
    };
    let rt = Runtime::new().expect("runtime");
    let options = options(1_000_000);
    let schema = format!("crm_bench_{}c_{}d", options.customers, options.deals);
    let store = rt.block_on(async {
        let store = SqlStore::connect_with(SqlStoreOptions::new(&url).schema(schema)).await.expect("connect");
        store.migrate().await.expect("migrate");
        if store.is_empty().await.expect("count") {
            let started = Instant::now();
            seed_demo(&store, &options).await.expect("seed");
            eprintln!("seeded PostgreSQL in {:.1}s", started.elapsed().as_secs_f64());
        }
        // As `crm-agent seed` and `serve` leave a database they seeded.
        let started = Instant::now();
        store.optimize().await.expect("optimize");
        eprintln!("optimized (VACUUM ANALYZE) in {:.1}s", started.elapsed().as_secs_f64());
        store
    });
    let scope = rt.block_on(owner_scope(&store));
    let mut group = c.benchmark_group("postgres");
    group.sample_size(20);
    group.bench_function("dashboard_stats_1m_deals", |b| {
        b.to_async(&rt).iter(|| async { store.dashboard_stats(&scope, chrono::Utc::now()).await.expect("dashboard") })
    });
    group.bench_function("deal_stats_1m_deals", |b| {
        b.to_async(&rt).iter(|| async { store.deal_stats(&scope).await.expect("stats") })
    });
    let monthly = won_value_by_close_month();
    group.bench_function("aggregate_deal_value_by_close_month_1m_deals", |b| {
        b.to_async(&rt).iter(|| async { store.aggregate_records(&scope, &monthly).await.expect("aggregate") })
    });
    let closing = closing_this_month();
    let page = PageRequest::first(20);
    group.bench_function("list_deals_closing_this_month_20_1m_deals", |b| {
        b.to_async(&rt).iter(|| async { store.list_deals(&scope, &closing, &page).await.expect("list") })
    });
    group.finish();
}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
