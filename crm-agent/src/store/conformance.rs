//! The store conformance suite: what every [`Store`] must do, as runnable checks.
//!
//! Public behind the `conformance` feature so a host store — in Rust, or in Python/Node through
//! the bindings — can prove itself:
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use crm_agent::store::conformance::{run, StoreFactory};
//! let factory: StoreFactory = Arc::new(|| Box::pin(async {
//!     let store = crm_agent::SqlStore::open("sqlite::memory:").await?;
//!     Ok(Arc::new(store) as Arc<dyn crm_agent::Store>)
//! }));
//! let report = run(factory).await;
//! report.assert_passed();
//! # }
//! ```
//!
//! Each case gets a fresh store from the factory and builds its own organizations, so cases are
//! independent. A case whose [`StoreOp`]s the store does not support is skipped, not failed.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{Datelike, Duration, Utc};
use futures::future::join_all;

use super::{RateBudget, Scope, Store, StoreOp, aggregate};
use crate::domain::*;
use crate::error::{ErrorKind, Result};
use crate::provision;

/// Makes a fresh, empty, migrated store for one case.
pub type StoreFactory = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Arc<dyn Store>>> + Send>> + Send + Sync>;

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// A check failed; the message says which.
    Failed(String),
    /// The store does not support what the case needs.
    Skipped(String),
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's name.
    pub name: &'static str,
    /// How it ended.
    pub outcome: Outcome,
}

/// The results of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One entry per case, in suite order.
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// The failed cases.
    pub fn failures(&self) -> Vec<&CaseResult> {
        self.cases.iter().filter(|c| matches!(c.outcome, Outcome::Failed(_))).collect()
    }

    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.outcome == Outcome::Passed).count()
    }

    /// Panics with every failure listed unless all cases passed or were skipped.
    pub fn assert_passed(&self) {
        let failures = self.failures();
        assert!(failures.is_empty(), "store conformance failures:\n{}", self.summary());
        assert!(self.passed() > 0, "no conformance case ran");
    }

    /// One line per case.
    pub fn summary(&self) -> String {
        self.cases
            .iter()
            .map(|c| match &c.outcome {
                Outcome::Passed => format!("ok      {}", c.name),
                Outcome::Failed(m) => format!("FAILED  {}: {m}", c.name),
                Outcome::Skipped(m) => format!("skipped {}: {m}", c.name),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

type CheckResult = std::result::Result<(), String>;
type CaseFuture = Pin<Box<dyn Future<Output = CheckResult> + Send>>;

/// One case of the suite.
pub struct Case {
    /// Its name.
    pub name: &'static str,
    /// The store operations it needs.
    pub needs: &'static [StoreOp],
    run: fn(Arc<dyn Store>) -> CaseFuture,
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!("{} (at line {})", format!($($msg)+), line!()));
        }
    };
}

macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($msg:tt)+) => {{
        let (l, r) = (&$left, &$right);
        if l != r {
            return Err(format!("{}: {:?} != {:?} (at line {})", format!($($msg)+), l, r, line!()));
        }
    }};
    ($left:expr, $right:expr $(,)?) => {{
        let (l, r) = (&$left, &$right);
        if l != r {
            return Err(format!("{} == {} failed: {:?} != {:?} (at line {})", stringify!($left), stringify!($right), l, r, line!()));
        }
    }};
}

/// Turns a store error into a failed check, naming the step.
trait Step<T> {
    fn step(self, what: &str) -> std::result::Result<T, String>;
}

impl<T> Step<T> for Result<T> {
    fn step(self, what: &str) -> std::result::Result<T, String> {
        self.map_err(|e| format!("{what}: unexpected error ({}): {e}", e.kind()))
    }
}

/// Checks that `result` failed with `kind`.
fn expect_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind, what: &str) -> CheckResult {
    match result {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(format!("{what}: expected {kind}, got {} ({e})", e.kind())),
        Ok(v) => Err(format!("{what}: expected {kind}, got success: {v:?}")),
    }
}

use std::sync::atomic::{AtomicU64, Ordering};
static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A fresh organization with defaults, plus its scope.
async fn tenant(store: &dyn Store, label: &str) -> std::result::Result<(Organization, Scope), String> {
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
    let slug = format!("{label}-{}-{n}", std::process::id());
    let org = provision::create_organization(
        store,
        &crate::Policy::builtin(),
        NewOrganization {
            name: format!("{label} Inc"),
            slug,
            industry: None,
            website: None,
            settings: OrganizationSettings::default(),
            active: true,
            created_at: None,
        },
    )
    .await
    .step("create organization")?;
    let scope = Scope::organization(org.id.clone());
    Ok((org, scope))
}

async fn employee(store: &dyn Store, scope: &Scope, first: &str) -> std::result::Result<Employee, String> {
    store
        .create_employee(scope, NewEmployee::named(first, "Tester", format!("{}@example.com", first.to_lowercase())))
        .await
        .step("create employee")
}

async fn customer(store: &dyn Store, scope: &Scope, name: &str) -> std::result::Result<Customer, String> {
    store.create_customer(scope, NewCustomer::named(name)).await.step("create customer")
}

async fn pipeline(store: &dyn Store, scope: &Scope) -> std::result::Result<Pipeline, String> {
    store
        .list_pipelines(scope)
        .await
        .step("list pipelines")?
        .into_iter()
        .next()
        .ok_or_else(|| "no default pipeline".to_string())
}

fn stage<'a>(pipeline: &'a Pipeline, name: &str) -> std::result::Result<&'a PipelineStage, String> {
    pipeline.stages.iter().find(|s| s.name == name).ok_or_else(|| format!("no stage {name}"))
}

fn order_items(prices: &[(u32, i64)]) -> Vec<NewOrderItem> {
    prices
        .iter()
        .enumerate()
        .map(|(i, (q, cents))| NewOrderItem {
            product: format!("Product {i}"),
            sku: Some(format!("SKU-{i}")),
            quantity: *q,
            unit_price: Money::new(*cents, 2),
        })
        .collect()
}

fn new_order(customer: &CustomerId, prices: &[(u32, i64)]) -> NewOrder {
    NewOrder {
        customer_id: customer.clone(),
        order_type: OrderType::Purchase,
        status: OrderStatus::Pending,
        currency: "USD".into(),
        tax: Money::ZERO,
        order_date: Utc::now().date_naive(),
        due_date: None,
        notes: None,
        items: order_items(prices),
        created_at: None,
    }
}

fn new_payment(customer: &CustomerId, order: Option<&OrderId>, cents: i64) -> NewPayment {
    NewPayment {
        order_id: order.cloned(),
        customer_id: customer.clone(),
        amount: Money::new(cents, 2),
        currency: "USD".into(),
        method: PaymentMethod::CreditCard,
        payment_type: PaymentType::Incoming,
        status: PaymentStatus::Completed,
        payment_date: None,
        reference: None,
        notes: None,
        created_at: None,
    }
}

/// Collects every page of a list, checking `total` stays the same and no item repeats.
macro_rules! all_pages {
    ($store:expr, $method:ident, $scope:expr, $filter:expr, $limit:expr) => {{
        let mut items = Vec::new();
        let mut page = PageRequest::first($limit);
        let mut total = None;
        loop {
            let batch = $store.$method($scope, $filter, &page).await.step(stringify!($method))?;
            if let Some(t) = total {
                ensure_eq!(t, batch.total);
            }
            total = Some(batch.total);
            ensure!(batch.items.len() <= $limit as usize, "page larger than its limit");
            items.extend(batch.items);
            match batch.next_cursor {
                Some(cursor) => page = PageRequest::after($limit, cursor),
                None => break,
            }
        }
        ensure_eq!(total.unwrap_or(0), items.len() as u64);
        items
    }};
}

fn ids<T, F: Fn(&T) -> String>(items: &[T], f: F) -> BTreeSet<String> {
    items.iter().map(f).collect()
}

// --- the cases -------------------------------------------------------------------------------

async fn organizations_and_members(store: Arc<dyn Store>) -> CheckResult {
    let (org, scope) = tenant(&*store, "orgs").await?;
    ensure_eq!(store.find_organization(&org.slug).await.step("find by slug")?.id, org.id);
    ensure_eq!(store.find_organization(org.id.as_str()).await.step("find by id")?.slug, org.slug);
    expect_kind(store.find_organization("no-such-org").await, ErrorKind::NotFound, "unknown slug")?;
    let duplicate = NewOrganization {
        name: "Again".into(),
        slug: org.slug.clone(),
        industry: None,
        website: None,
        settings: OrganizationSettings::default(),
        active: true,
        created_at: None,
    };
    expect_kind(store.create_organization(duplicate).await, ErrorKind::Conflict, "duplicate slug")?;
    let mut bad = NewOrganization { slug: "Not A Slug!".into(), ..NewOrganization::named("Bad", "x") };
    bad.name = "Bad".into();
    expect_kind(store.create_organization(bad).await, ErrorKind::InvalidArgument, "bad slug")?;

    let patched = store
        .update_organization(
            &scope,
            OrganizationPatch {
                settings: Some(OrganizationSettings {
                    assistant_instructions: Some("Be brief.".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .step("update organization")?;
    ensure_eq!(patched.settings.assistant_instructions.as_deref(), Some("Be brief."));

    let roles = store.list_roles(&scope).await.step("list roles")?;
    let rep = roles.iter().find(|r| r.name == "sales_rep").ok_or("no sales_rep system role")?;
    let worker = employee(&*store, &scope, "Morgan").await?;
    store.assign_role(&scope, &worker.id, &rep.id).await.step("assign role")?;
    store
        .put_member(
            &scope,
            NewMember {
                user_id: "u-morgan".into(),
                role: crate::Role::Employee,
                employee_id: Some(worker.id.clone()),
                customer_id: None,
                display_name: "Morgan".into(),
            },
        )
        .await
        .step("put member")?;
    let member = store.get_member(&scope, "u-morgan").await.step("get member")?;
    ensure_eq!(member.employee_id.as_ref(), Some(&worker.id));
    let ctx = crate::UserContext::resolve(&*store, "u-morgan", None).await.step("resolve context")?;
    ensure_eq!(ctx.role, crate::Role::Employee);
    ensure!(
        ctx.grants.contains(&"lead:read".parse().map_err(|e| format!("{e}"))?),
        "grants come from the employee's roles: {:?}",
        ctx.grants
    );
    ensure_eq!(store.list_memberships("u-morgan").await.step("memberships")?.len(), 1);
    expect_kind(store.get_member(&scope, "nobody").await, ErrorKind::NotFound, "unknown member")?;
    Ok(())
}

async fn customers_crud_and_filters(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "cust").await?;
    let rep = employee(&*store, &scope, "Avery").await?;
    let mut gold = NewCustomer::named("Zephyr Gold Ltd");
    gold.customer_type = CustomerType::Business;
    gold.email = Some("hello@zephyr.example".into());
    gold.status = CustomerStatus::Vip;
    gold.assigned_to = Some(rep.id.clone());
    gold.credit_limit = Some(Money::new(1_250_050, 2));
    gold.tags = vec!["key".into()];
    gold.custom_fields.insert("tier".into(), serde_json::json!("gold"));
    gold.custom_fields.insert("seats".into(), serde_json::json!(12));
    gold.custom_fields.insert("verified".into(), serde_json::json!(true));
    gold.custom_fields.insert("discount".into(), serde_json::json!(0.25));
    let gold = store.create_customer(&scope, gold).await.step("create gold")?;
    let plain = customer(&*store, &scope, "Plain Person").await?;
    ensure_eq!(store.get_customer(&scope, &gold.id).await.step("get")?, gold.clone());
    ensure_eq!(gold.credit_limit, Some(Money::new(1_250_050, 2)));
    ensure_eq!(gold.custom_fields.get("tier"), Some(&serde_json::json!("gold")));

    let everyone = CustomerFilter::default();
    let list = store.list_customers(&scope, &everyone, &PageRequest::default()).await.step("list")?;
    ensure_eq!(list.total, 2);
    ensure_eq!(list.items.first().map(|c| c.id.clone()), Some(plain.id.clone()));
    let by = |f: CustomerFilter| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .list_customers(&scope, &f, &PageRequest::default())
                .await
                .map(|p| p.items.into_iter().map(|c| c.id).collect::<Vec<_>>())
        }
    };
    ensure_eq!(
        by(CustomerFilter { status: Some(CustomerStatus::Vip), ..Default::default() }).await.step("status")?,
        vec![gold.id.clone()]
    );
    ensure_eq!(
        by(CustomerFilter { customer_type: Some(CustomerType::Individual), ..Default::default() })
            .await
            .step("type")?,
        vec![plain.id.clone()]
    );
    ensure_eq!(
        by(CustomerFilter { assigned_to: Some(rep.id.clone()), ..Default::default() }).await.step("assigned")?,
        vec![gold.id.clone()]
    );
    ensure_eq!(
        by(CustomerFilter { search: Some("zEpHyR".into()), ..Default::default() }).await.step("search name")?,
        vec![gold.id.clone()]
    );
    ensure_eq!(
        by(CustomerFilter { search: Some("HELLO@".into()), ..Default::default() }).await.step("search email")?,
        vec![gold.id.clone()]
    );
    ensure_eq!(
        by(CustomerFilter { search: Some("%".into()), ..Default::default() }).await.step("search wildcard")?,
        Vec::<CustomerId>::new()
    );
    let mut custom = CustomerFilter::default();
    custom.custom_fields.insert("tier".into(), serde_json::json!("gold"));
    ensure_eq!(by(custom.clone()).await.step("custom string")?, vec![gold.id.clone()]);
    custom.custom_fields.insert("seats".into(), serde_json::json!(12));
    ensure_eq!(by(custom.clone()).await.step("custom number")?, vec![gold.id.clone()]);
    // Types are compared as PostgreSQL's jsonb does: `true` is not 1, 0.25 is a number.
    for (key, value, matches) in [
        ("verified", serde_json::json!(true), true),
        ("verified", serde_json::json!(1), false),
        ("seats", serde_json::json!(true), false),
        ("discount", serde_json::json!(0.25), true),
        ("discount", serde_json::json!(0.5), false),
        ("seats", serde_json::json!(12.0), true),
        ("seats", serde_json::json!("12"), false),
    ] {
        let mut filter = CustomerFilter::default();
        filter.custom_fields.insert(key.into(), value.clone());
        let expected = if matches { vec![gold.id.clone()] } else { Vec::new() };
        ensure_eq!(by(filter).await.step("custom typed")?, expected, "custom field {key} = {value}");
    }
    custom.custom_fields.insert("seats".into(), serde_json::json!(13));
    ensure_eq!(by(custom).await.step("custom mismatch")?, Vec::<CustomerId>::new());
    ensure_eq!(
        by(CustomerFilter {
            status: Some(CustomerStatus::Vip),
            customer_type: Some(CustomerType::Individual),
            ..Default::default()
        })
        .await
        .step("AND")?,
        Vec::<CustomerId>::new()
    );

    let patched = store
        .update_customer(
            &scope,
            &gold.id,
            CustomerPatch {
                email: Change::Clear,
                status: Some(CustomerStatus::Inactive),
                assigned_to: Change::Clear,
                ..Default::default()
            },
        )
        .await
        .step("patch")?;
    ensure_eq!(patched.email, None);
    ensure_eq!(patched.status, CustomerStatus::Inactive);
    ensure_eq!(patched.assigned_to, None);
    ensure_eq!(patched.name, gold.name);
    ensure!(patched.updated_at >= gold.updated_at, "updated_at moves forward");

    // Search follows writes: a cleared email no longer matches, a new name does, and the text is
    // matched literally (quotes, spaces, `%`), in any case, at any length.
    ensure_eq!(
        by(CustomerFilter { search: Some("HELLO@".into()), ..Default::default() }).await.step("search old email")?,
        Vec::<CustomerId>::new()
    );
    let renamed = CustomerPatch { name: Some("Quill & \"Sons\" 100% Ltd".into()), ..Default::default() };
    store.update_customer(&scope, &gold.id, renamed).await.step("rename")?;
    for (text, expected) in [
        ("zephyr", vec![]),
        ("\"sons\"", vec![gold.id.clone()]),
        ("l & \"s", vec![gold.id.clone()]),
        ("100% ltd", vec![gold.id.clone()]),
        ("0%", vec![gold.id.clone()]),
        ("PL", vec![plain.id.clone()]),
        ("n p", vec![plain.id.clone()]),
        ("son\"s", vec![]),
    ] {
        let found = by(CustomerFilter { search: Some(text.into()), ..Default::default() }).await.step("search")?;
        ensure_eq!(found, expected, "search {text:?}");
    }

    // Bad input: typed errors, nothing written.
    let mut negative = NewCustomer::named("Negative");
    negative.credit_limit = Some(Money::new(-1, 0));
    expect_kind(store.create_customer(&scope, negative).await, ErrorKind::InvalidArgument, "negative money")?;
    expect_kind(
        store.create_customer(&scope, NewCustomer::named("x".repeat(MAX_SHORT_TEXT + 1))).await,
        ErrorKind::InvalidArgument,
        "oversized name",
    )?;
    let mut bad_email = NewCustomer::named("Bad Email");
    bad_email.email = Some("not-an-email".into());
    expect_kind(store.create_customer(&scope, bad_email).await, ErrorKind::InvalidArgument, "bad email")?;
    let mut ghost = NewCustomer::named("Ghost Owner");
    ghost.assigned_to = Some(EmployeeId::from("emp_does_not_exist"));
    expect_kind(store.create_customer(&scope, ghost).await, ErrorKind::NotFound, "unknown assignee")?;
    expect_kind(store.get_customer(&scope, &CustomerId::from("cus_missing")).await, ErrorKind::NotFound, "unknown id")?;
    expect_kind(
        store.update_customer(&scope, &CustomerId::from("cus_missing"), CustomerPatch::default()).await,
        ErrorKind::NotFound,
        "update unknown id",
    )?;
    ensure_eq!(store.list_customers(&scope, &everyone, &PageRequest::default()).await.step("count")?.total, 2);
    Ok(())
}

async fn pagination_totals(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "page").await?;
    for i in 0..45 {
        let mut new = NewCustomer::named(format!("Customer {i:02}"));
        new.status = if i % 3 == 0 { CustomerStatus::Prospect } else { CustomerStatus::Active };
        store.create_customer(&scope, new).await.step("create")?;
    }
    let all = all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 20);
    ensure_eq!(all.len(), 45);
    ensure_eq!(ids(&all, |c| c.id.0.clone()).len(), 45);
    ensure!(all.windows(2).all(|w| w[0].created_at >= w[1].created_at), "newest first");
    let first =
        store.list_customers(&scope, &CustomerFilter::default(), &PageRequest::first(20)).await.step("first page")?;
    ensure_eq!((first.items.len(), first.total), (20, 45));
    ensure!(first.next_cursor.is_some(), "a full page has a next cursor");
    let prospects = all_pages!(
        store,
        list_customers,
        &scope,
        &CustomerFilter { status: Some(CustomerStatus::Prospect), ..Default::default() },
        7
    );
    ensure_eq!(prospects.len(), 15);
    let exact = all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 15);
    ensure_eq!(exact.len(), 45);
    expect_kind(
        store.list_customers(&scope, &CustomerFilter::default(), &PageRequest::after(20, "not a cursor")).await,
        ErrorKind::InvalidArgument,
        "garbage cursor",
    )?;
    Ok(())
}

async fn leads_history_and_conversion(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "lead").await?;
    let rep = employee(&*store, &scope, "Blake").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let (lead_stage, qualified) = (stage(&pipe, "Lead")?, stage(&pipe, "Qualified")?);
    let mut hot = NewLead::named("Hot Lead");
    hot.company = Some("Quartz Ltd".into());
    hot.score = 90;
    hot.source = LeadSource::Referral;
    hot.assigned_to = Some(rep.id.clone());
    hot.stage_id = Some(lead_stage.id.clone());
    hot.estimated_value = Some(Money::new(5_000, 0));
    let hot = store.create_lead(&scope, hot).await.step("create hot")?;
    let mut cold = NewLead::named("Cold Lead");
    cold.score = 10;
    let cold = store.create_lead(&scope, cold).await.step("create cold")?;
    ensure_eq!(store.get_lead(&scope, &hot.id).await.step("get")?, hot.clone());

    let list = |f: LeadFilter| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .list_leads(&scope, &f, &PageRequest::default())
                .await
                .map(|p| p.items.into_iter().map(|l| l.id).collect::<Vec<_>>())
        }
    };
    ensure_eq!(
        list(LeadFilter { min_score: Some(50), ..Default::default() }).await.step("min score")?,
        vec![hot.id.clone()]
    );
    ensure_eq!(
        list(LeadFilter { max_score: Some(50), ..Default::default() }).await.step("max score")?,
        vec![cold.id.clone()]
    );
    ensure_eq!(
        list(LeadFilter { source: Some(LeadSource::Referral), ..Default::default() }).await.step("source")?,
        vec![hot.id.clone()]
    );
    ensure_eq!(
        list(LeadFilter { stage_id: Some(lead_stage.id.clone()), ..Default::default() }).await.step("stage")?,
        vec![hot.id.clone()]
    );
    ensure_eq!(
        list(LeadFilter { assigned_to: Some(rep.id.clone()), ..Default::default() }).await.step("assigned")?,
        vec![hot.id.clone()]
    );
    ensure_eq!(
        list(LeadFilter { search: Some("quartz".into()), ..Default::default() }).await.step("search")?,
        vec![hot.id.clone()]
    );

    let moved = store
        .update_lead(
            &scope,
            &hot.id,
            LeadPatch {
                stage_id: Change::Set(qualified.id.clone()),
                qualification_status: Some(QualificationStatus::Qualified),
                ..Default::default()
            },
            Some(NewLeadHistory {
                from_stage_id: Some(lead_stage.id.clone()),
                to_stage_id: Some(qualified.id.clone()),
                from_score: None,
                to_score: None,
                changed_by: "u-1".into(),
                note: Some("call went well".into()),
            }),
        )
        .await
        .step("move stage")?;
    ensure_eq!(moved.stage_id.as_ref(), Some(&qualified.id));
    let history = store.lead_history(&scope, &hot.id).await.step("history")?;
    ensure_eq!(history.len(), 1);
    ensure_eq!(history[0].to_stage_id.as_ref(), Some(&qualified.id));
    ensure_eq!(history[0].note.as_deref(), Some("call went well"));
    ensure_eq!(history[0].from_stage_id.as_ref(), Some(&lead_stage.id));
    // The store takes "from" values from the row it replaces, not from the caller.
    let stale = NewLeadHistory {
        from_stage_id: None,
        to_stage_id: Some(lead_stage.id.clone()),
        from_score: Some(1),
        to_score: None,
        changed_by: "u-1".into(),
        note: None,
    };
    store
        .update_lead(
            &scope,
            &hot.id,
            LeadPatch { stage_id: Change::Set(lead_stage.id.clone()), ..Default::default() },
            Some(stale),
        )
        .await
        .step("move back")?;
    let history = store.lead_history(&scope, &hot.id).await.step("history")?;
    ensure_eq!(history[1].from_stage_id.as_ref(), Some(&qualified.id));
    store
        .update_lead(
            &scope,
            &hot.id,
            LeadPatch { stage_id: Change::Set(qualified.id.clone()), ..Default::default() },
            None,
        )
        .await
        .step("forward again")?;
    ensure_eq!(
        store.lead_history(&scope, &hot.id).await.step("history")?.len(),
        2,
        "an update without history appends none"
    );
    expect_kind(
        store.lead_history(&scope, &LeadId::from("led_missing")).await,
        ErrorKind::NotFound,
        "history of unknown lead",
    )?;
    let bad_score = LeadPatch { score: Some(101), ..Default::default() };
    expect_kind(
        store.update_lead(&scope, &hot.id, bad_score, None).await,
        ErrorKind::InvalidArgument,
        "score over 100",
    )?;

    let first = store.convert_lead(&scope, &hot.id, NewCustomer::named("Quartz Ltd")).await.step("convert")?;
    ensure!(first.newly_converted, "first conversion converts");
    ensure!(first.lead.converted, "lead is marked converted");
    ensure_eq!(first.lead.qualification_status, QualificationStatus::Converted);
    ensure_eq!(first.lead.converted_customer_id.as_ref(), Some(&first.customer.id));
    ensure_eq!(first.customer.converted_from_lead.as_ref(), Some(&hot.id));
    let second = store.convert_lead(&scope, &hot.id, NewCustomer::named("Quartz Again")).await.step("convert again")?;
    ensure!(!second.newly_converted, "second conversion is a no-op");
    ensure_eq!(second.customer.id, first.customer.id);
    ensure_eq!(
        store
            .list_customers(&scope, &CustomerFilter::default(), &PageRequest::default())
            .await
            .step("customers")?
            .total,
        1
    );
    ensure_eq!(
        list(LeadFilter { converted: Some(true), ..Default::default() }).await.step("converted filter")?,
        vec![hot.id.clone()]
    );
    expect_kind(
        store
            .update_lead(
                &scope,
                &hot.id,
                LeadPatch { qualification_status: Some(QualificationStatus::Qualified), ..Default::default() },
                None,
            )
            .await,
        ErrorKind::Conflict,
        "requalifying a converted lead",
    )?;
    expect_kind(
        store.convert_lead(&scope, &LeadId::from("led_missing"), NewCustomer::named("x")).await,
        ErrorKind::NotFound,
        "convert unknown lead",
    )?;
    Ok(())
}

async fn concurrent_conversion_is_idempotent(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "conv").await?;
    let lead = store.create_lead(&scope, NewLead::named("Race")).await.step("create lead")?;
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        let scope = scope.clone();
        let id = lead.id.clone();
        async move { store.convert_lead(&scope, &id, NewCustomer::named(format!("Race {i}"))).await }
    });
    let results = join_all(attempts).await;
    let mut customers = BTreeSet::new();
    let mut newly = 0;
    for r in results {
        let r = r.step("concurrent convert")?;
        newly += usize::from(r.newly_converted);
        customers.insert(r.customer.id.0);
    }
    ensure_eq!(newly, 1);
    ensure_eq!(customers.len(), 1);
    ensure_eq!(
        store
            .list_customers(&scope, &CustomerFilter::default(), &PageRequest::default())
            .await
            .step("customers")?
            .total,
        1
    );
    Ok(())
}

/// A day of 2026 at 00:00 UTC, plus `hours`.
fn day_2026(month: u32, day: u32, hours: i64) -> Timestamp {
    let midnight = chrono::NaiveDate::from_ymd_opt(2026, month, day).expect("a day of 2026").and_hms_opt(0, 0, 0);
    midnight.expect("midnight").and_utc() + chrono::Duration::hours(hours)
}

/// Customers listed by creation and change spans, and in each order the customer list offers:
/// pages chain under every order, ties go by creation, and a cursor of one order is refused by
/// another.
async fn customer_dates_and_orders(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "order").await?;
    // Created a day apart from 1 January, in this name order: E, A, C, B, D.
    let mut made = Vec::new();
    for (i, name) in (0u32..).zip(["Cust E", "Cust A", "Cust C", "Cust B", "Cust D"]) {
        let mut new = NewCustomer::named(name);
        new.created_at = Some(day_2026(1, 1 + i, 6));
        made.push(store.create_customer(&scope, new).await.step("create")?);
    }
    let ids = |items: &[Customer]| items.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let names = |items: &[Customer]| items.iter().map(|c| c.name.clone()).collect::<Vec<_>>();

    let span = |after, before| TimeRange { after, before };
    let created =
        CustomerFilter { created: span(Some(day_2026(1, 2, 0)), Some(day_2026(1, 4, 0))), ..Default::default() };
    let page = store.list_customers(&scope, &created, &PageRequest::default()).await.step("created span")?;
    ensure_eq!(page.total, 2);
    ensure_eq!(ids(&page.items), vec![made[2].id.clone(), made[1].id.clone()]);
    // The span's ends: `after` is included, `before` is not.
    let exact =
        CustomerFilter { created: span(Some(made[1].created_at), Some(made[3].created_at)), ..Default::default() };
    let page = store.list_customers(&scope, &exact, &PageRequest::default()).await.step("exact span")?;
    ensure_eq!(ids(&page.items), vec![made[2].id.clone(), made[1].id.clone()]);

    let by = |field, descending| CustomerFilter { sort: Some(Sort { field, descending }), ..Default::default() };
    let ascending = all_pages!(store, list_customers, &scope, &by(CustomerSort::Name, false), 2);
    ensure_eq!(names(&ascending), vec!["Cust A", "Cust B", "Cust C", "Cust D", "Cust E"]);
    let descending = all_pages!(store, list_customers, &scope, &by(CustomerSort::Name, true), 2);
    ensure_eq!(names(&descending), vec!["Cust E", "Cust D", "Cust C", "Cust B", "Cust A"]);
    let oldest = all_pages!(store, list_customers, &scope, &by(CustomerSort::CreatedAt, false), 3);
    ensure_eq!(ids(&oldest), ids(&made));
    let newest = all_pages!(store, list_customers, &scope, &by(CustomerSort::CreatedAt, true), 3);
    ensure_eq!(ids(&newest), made.iter().rev().map(|c| c.id.clone()).collect::<Vec<_>>());
    ensure_eq!(ids(&all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 3)), ids(&newest));

    // A change moves a customer to the end of the change order and into a later change span.
    let patch = CustomerPatch { phone: Change::Set("+1 555 0100".into()), ..Default::default() };
    let changed = store.update_customer(&scope, &made[0].id, patch).await.step("update")?;
    let by_change = all_pages!(store, list_customers, &scope, &by(CustomerSort::UpdatedAt, false), 2);
    ensure_eq!(by_change.last().map(|c| c.id.clone()), Some(changed.id.clone()));
    let recent = CustomerFilter { updated: span(Some(day_2026(1, 10, 0)), None), ..Default::default() };
    let page = store.list_customers(&scope, &recent, &PageRequest::default()).await.step("updated span")?;
    ensure_eq!(ids(&page.items), vec![changed.id.clone()]);
    ensure_eq!(page.total, 1);

    // Filters and an order together, over pages.
    let mut both = by(CustomerSort::Name, true);
    both.created = span(Some(day_2026(1, 2, 0)), None);
    ensure_eq!(
        names(&all_pages!(store, list_customers, &scope, &both, 1)),
        vec!["Cust D", "Cust C", "Cust B", "Cust A"]
    );

    let first =
        store.list_customers(&scope, &by(CustomerSort::Name, false), &PageRequest::first(2)).await.step("page")?;
    let cursor = first.next_cursor.ok_or("no next page")?;
    let err = store
        .list_customers(&scope, &by(CustomerSort::Name, true), &PageRequest::after(2, cursor))
        .await
        .expect_err("a cursor of another order");
    ensure_eq!(err.kind(), ErrorKind::InvalidArgument);
    Ok(())
}

/// Deals by close dates and value, where some deals have no expected close date: those list last
/// in either direction, by creation, and pages chain through them.
async fn deal_dates_and_orders(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "dealorder").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let proposal = stage(&pipe, "Proposal")?;
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d);
    let mut made = Vec::new();
    for (i, (close, value)) in (0u32..).zip([(day(20), 500), (None, 900), (day(5), 100), (None, 300), (day(20), 700)]) {
        let mut new = NewDeal::new(format!("Deal {i}"), pipe.id.clone(), proposal.id.clone(), Money::new(value, 0));
        new.expected_close_date = close;
        new.created_at = Some(day_2026(2, 1 + i, 0));
        made.push(store.create_deal(&scope, new).await.step("create deal")?);
    }
    let ids = |items: &[Deal]| items.iter().map(|d| d.title.clone()).collect::<Vec<_>>();
    let by = |field, descending| DealFilter { sort: Some(Sort { field, descending }), ..Default::default() };
    let soonest = all_pages!(store, list_deals, &scope, &by(DealSort::ExpectedCloseDate, false), 2);
    ensure_eq!(ids(&soonest), vec!["Deal 2", "Deal 0", "Deal 4", "Deal 1", "Deal 3"]);
    let latest = all_pages!(store, list_deals, &scope, &by(DealSort::ExpectedCloseDate, true), 2);
    ensure_eq!(ids(&latest), vec!["Deal 4", "Deal 0", "Deal 2", "Deal 3", "Deal 1"]);
    let biggest = all_pages!(store, list_deals, &scope, &by(DealSort::Value, true), 2);
    ensure_eq!(ids(&biggest), vec!["Deal 1", "Deal 4", "Deal 0", "Deal 3", "Deal 2"]);

    let closing = |from, to| DealFilter { expected_close: DateRange { from, to }, ..Default::default() };
    let december = all_pages!(store, list_deals, &scope, &closing(day(1), day(31)), 10);
    ensure_eq!(ids(&december), vec!["Deal 4", "Deal 2", "Deal 0"]);
    let on_the_20th = all_pages!(store, list_deals, &scope, &closing(day(20), day(20)), 10);
    ensure_eq!(ids(&on_the_20th), vec!["Deal 4", "Deal 0"]);
    let mut top = closing(day(6), None);
    top.sort = Some(Sort { field: DealSort::Value, descending: true });
    ensure_eq!(ids(&all_pages!(store, list_deals, &scope, &top, 1)), vec!["Deal 4", "Deal 0"]);

    let patch = DealPatch { actual_close_date: Change::Set(day(7).ok_or("a day")?), ..Default::default() };
    store.update_deal(&scope, &made[2].id, patch).await.step("close")?;
    let closed = DealFilter { closed: DateRange { from: day(7), to: day(7) }, ..Default::default() };
    ensure_eq!(ids(&all_pages!(store, list_deals, &scope, &closed, 10)), vec!["Deal 2"]);
    Ok(())
}

/// `aggregate_records` agrees with its reference definition (the same records read through the
/// list), and with figures worked out by hand: money per currency, buckets of the organization's
/// calendar, records without a value last.
async fn aggregate_records_match_reference(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "aggregate").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let (proposal, won) = (stage(&pipe, "Proposal")?, stage(&pipe, "Closed Won")?);
    let day = |m: u32, d: u32| chrono::NaiveDate::from_ymd_opt(2026, m, d);
    // (value, currency, closed on, stage, created at 23:30 UTC on day n of March)
    let plan = [
        (Money::new(100_000, 2), "USD", day(1, 15), won, 1),
        (Money::new(250_050, 2), "USD", day(1, 31), won, 1),
        (Money::new(99_999, 2), "EUR", day(2, 1), won, 2),
        (Money::new(1_000_000, 0), "EUR", None, proposal, 3),
        (Money::new(5_000, 2), "USD", None, proposal, 3),
    ];
    for (i, (value, currency, closed, stage, created)) in plan.into_iter().enumerate() {
        let mut new = NewDeal::new(format!("Agg {i}"), pipe.id.clone(), stage.id.clone(), value);
        new.currency = currency.into();
        new.actual_close_date = closed;
        if stage.id == won.id {
            (new.status, new.probability) = (DealStatus::Won, 100);
        }
        new.created_at = Some(day_2026(3, created, 23) + chrono::Duration::minutes(30));
        store.create_deal(&scope, new).await.step("create deal")?;
    }
    let zone: chrono_tz::Tz = "Europe/Berlin".parse().expect("a zone");
    let query = |measure, field: Option<&str>, group_by: &[&str], filter: DealFilter| {
        let group_by: Vec<String> = group_by.iter().map(|g| g.to_string()).collect();
        AggregateQuery::new(RecordFilter::Deals(filter), measure, field, &group_by, zone)
    };
    let won_only = DealFilter { status: Some(DealStatus::Won), ..Default::default() };
    let closed = |from, to| DealFilter { closed: DateRange { from, to }, ..Default::default() };
    let queries = [
        query(Measure::Count, None, &["status"], DealFilter::default()),
        query(Measure::Sum, Some("value"), &["actual_close_date:month"], DealFilter::default()),
        query(Measure::Avg, Some("probability"), &["stage_id"], DealFilter::default()),
        query(Measure::Max, Some("value"), &[], DealFilter::default()),
        query(Measure::Min, Some("value"), &["currency", "actual_close_date:quarter"], won_only.clone()),
        query(Measure::Count, None, &["created_at:day"], DealFilter::default()),
        query(Measure::Sum, Some("value"), &["created_at:week", "status"], DealFilter::default()),
        // Shapes SQL stores may answer from per-day totals instead of the deals: each must
        // agree with the deals themselves, also after deals changed or went.
        query(Measure::Avg, Some("value"), &["currency"], won_only.clone()),
        query(Measure::Count, None, &["actual_close_date:year", "status"], closed(None, day(1, 31))),
        query(Measure::Sum, Some("value"), &[], closed(day(1, 20), None)),
        query(Measure::Count, None, &[], closed(day(1, 15), day(1, 31))),
    ];
    let queries = queries.into_iter().collect::<Result<Vec<_>>>().step("query")?;
    let check_all = async |when: &str| -> CheckResult {
        for query in &queries {
            let answer = store.aggregate_records(&scope, query).await.step("aggregate")?;
            let RecordFilter::Deals(filter) = &query.filter else { return Err("not deals".into()) };
            let deals: Vec<serde_json::Value> = all_pages!(store, list_deals, &scope, filter, 100)
                .into_iter()
                .map(|d| serde_json::to_value(d).expect("a deal is JSON"))
                .collect();
            let partials = aggregate::partials_of_records(query, &deals).step("reference")?;
            let expected = aggregate::finish_aggregate(query, partials);
            if answer != expected {
                return Err(format!("{when}: {query:?} answered {answer:?}, the deals say {expected:?}"));
            }
        }
        Ok(())
    };
    check_all("as created").await?;

    // By hand: won value per month, each currency on its own.
    let monthly = store
        .aggregate_records(
            &scope,
            &query(Measure::Sum, Some("value"), &["actual_close_date:month"], won_only).step("query")?,
        )
        .await
        .step("monthly")?;
    let rows: Vec<(serde_json::Value, serde_json::Value, u64, Option<String>)> = monthly
        .groups
        .iter()
        .map(|g| (g.key["actual_close_date:month"].clone(), g.key["currency"].clone(), g.count, g.value.clone()))
        .collect();
    ensure_eq!(
        rows,
        vec![
            (serde_json::json!("2026-01"), serde_json::json!("USD"), 2, Some("3500.50".to_owned())),
            (serde_json::json!("2026-02"), serde_json::json!("EUR"), 1, Some("999.99".to_owned())),
        ]
    );
    // Instants fall in the organization's day: 23:30 UTC on 1 March is 2 March in Berlin.
    let daily = store
        .aggregate_records(
            &scope,
            &query(Measure::Count, None, &["created_at:day"], DealFilter::default()).step("query")?,
        )
        .await
        .step("daily")?;
    let days: Vec<(serde_json::Value, u64)> =
        daily.groups.iter().map(|g| (g.key["created_at:day"].clone(), g.count)).collect();
    ensure_eq!(
        days,
        vec![
            (serde_json::json!("2026-03-02"), 2),
            (serde_json::json!("2026-03-03"), 1),
            (serde_json::json!("2026-03-04"), 2)
        ]
    );
    // Deals never closed are one group, after the others.
    let closed = store
        .aggregate_records(
            &scope,
            &query(Measure::Count, None, &["actual_close_date:year"], DealFilter::default()).step("query")?,
        )
        .await
        .step("yearly")?;
    let years: Vec<(serde_json::Value, u64)> =
        closed.groups.iter().map(|g| (g.key["actual_close_date:year"].clone(), g.count)).collect();
    ensure_eq!(years, vec![(serde_json::json!("2026"), 3), (serde_json::Value::Null, 2)]);
    ensure_eq!(closed.total_groups, 2);
    let deals = all_pages!(store, list_deals, &scope, &DealFilter::default(), 100);
    let moved = |close: Option<chrono::NaiveDate>, status| DealPatch {
        actual_close_date: close.map_or(Change::Clear, Change::Set),
        status: Some(status),
        value: Some(Money::new(12_345, 2)),
        ..Default::default()
    };
    // Reopened (no close date any more), closed on another day, and one of a new currency.
    store.update_deal(&scope, &deals[0].id, moved(None, DealStatus::Open)).await.step("reopen")?;
    store.update_deal(&scope, &deals[3].id, moved(day(2, 28), DealStatus::Lost)).await.step("close")?;
    let patch = DealPatch { currency: Some("GBP".into()), ..Default::default() };
    store.update_deal(&scope, &deals[1].id, patch).await.step("currency")?;
    check_all("after updates").await?;
    Ok(())
}

/// `overdue`: neither completed nor cancelled, and due before today or scheduled before now.
async fn overdue_activities(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "overdue").await?;
    let now = day_2026(12, 3, 12);
    let today = now.date_naive();
    let make = |title: &str| NewActivity::new(ActivityType::Task, title);
    let mut late = make("due yesterday");
    late.due_date = today.pred_opt();
    let mut done = make("done yesterday");
    done.due_date = today.pred_opt();
    done.status = ActivityStatus::Completed;
    let mut missed = make("scheduled this morning");
    missed.scheduled_at = Some(now - chrono::Duration::hours(3));
    let mut today_due = make("due today");
    today_due.due_date = Some(today);
    let mut upcoming = make("scheduled tonight");
    upcoming.scheduled_at = Some(now + chrono::Duration::hours(6));
    let mut cancelled = make("cancelled");
    cancelled.scheduled_at = Some(now - chrono::Duration::days(2));
    cancelled.status = ActivityStatus::Cancelled;
    for new in [late, done, missed, today_due, upcoming, cancelled] {
        store.create_activity(&scope, new).await.step("create activity")?;
    }
    let filter = ActivityFilter { overdue: Some(Overdue { now, today }), ..Default::default() };
    let overdue = all_pages!(store, list_activities, &scope, &filter, 10);
    let mut titles: Vec<String> = overdue.into_iter().map(|a| a.title).collect();
    titles.sort();
    ensure_eq!(titles, vec!["due yesterday", "scheduled this morning"]);
    let due = ActivityFilter { due: DateRange { from: Some(today), to: None }, ..Default::default() };
    ensure_eq!(all_pages!(store, list_activities, &scope, &due, 10).len(), 1);
    Ok(())
}

async fn deals_and_pipelines(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "deal").await?;
    let pipe = pipeline(&*store, &scope).await?;
    ensure_eq!(pipe.name.as_str(), "Sales Pipeline");
    let names: Vec<&str> = pipe.stages.iter().map(|s| s.name.as_str()).collect();
    ensure_eq!(names, vec!["Lead", "Qualified", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]);
    let probabilities: Vec<u8> = pipe.stages.iter().map(|s| s.probability).collect();
    ensure_eq!(probabilities, vec![10, 25, 50, 75, 100, 0]);
    let (proposal, won) = (stage(&pipe, "Proposal")?, stage(&pipe, "Closed Won")?);
    let buyer = customer(&*store, &scope, "Buyer").await?;
    let mut big = NewDeal::new("Big deal", pipe.id.clone(), proposal.id.clone(), Money::new(50_000, 0));
    big.probability = 50;
    big.customer_id = Some(buyer.id.clone());
    big.priority = Priority::High;
    let big = store.create_deal(&scope, big).await.step("create big")?;
    ensure_eq!(big.expected_revenue(), Money::new(25_000, 0));
    let small = store
        .create_deal(&scope, NewDeal::new("Small deal", pipe.id.clone(), proposal.id.clone(), Money::new(99_99, 2)))
        .await
        .step("create small")?;
    ensure_eq!(store.get_deal(&scope, &small.id).await.step("get")?.value, Money::new(9_999, 2));

    let list = |f: DealFilter| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .list_deals(&scope, &f, &PageRequest::default())
                .await
                .map(|p| p.items.into_iter().map(|d| d.id).collect::<Vec<_>>())
        }
    };
    ensure_eq!(
        list(DealFilter { min_value: Some(Money::new(1_000, 0)), ..Default::default() }).await.step("min value")?,
        vec![big.id.clone()]
    );
    ensure_eq!(
        list(DealFilter { max_value: Some(Money::new(100, 0)), ..Default::default() }).await.step("max value")?,
        vec![small.id.clone()]
    );
    ensure_eq!(
        list(DealFilter { priority: Some(Priority::High), ..Default::default() }).await.step("priority")?,
        vec![big.id.clone()]
    );
    ensure_eq!(
        list(DealFilter { customer_id: Some(buyer.id.clone()), ..Default::default() }).await.step("customer")?,
        vec![big.id.clone()]
    );
    ensure_eq!(
        list(DealFilter { search: Some("BIG".into()), ..Default::default() }).await.step("search")?,
        vec![big.id.clone()]
    );
    ensure_eq!(
        list(DealFilter {
            pipeline_id: Some(pipe.id.clone()),
            stage_id: Some(proposal.id.clone()),
            ..Default::default()
        })
        .await
        .step("stage")?
        .len(),
        2
    );

    let closed = store
        .update_deal(
            &scope,
            &big.id,
            DealPatch {
                stage_id: Some(won.id.clone()),
                status: Some(DealStatus::Won),
                probability: Some(100),
                actual_close_date: Change::Set(Utc::now().date_naive()),
                ..Default::default()
            },
        )
        .await
        .step("win")?;
    ensure_eq!(closed.status, DealStatus::Won);
    ensure_eq!(
        list(DealFilter { status: Some(DealStatus::Won), ..Default::default() }).await.step("won")?,
        vec![big.id.clone()]
    );

    // A stage of another pipeline is "not found" for this pipeline.
    let other = store
        .create_pipeline(
            &scope,
            NewPipeline {
                name: "Renewals".into(),
                is_default: false,
                stages: vec![NewPipelineStage {
                    name: "Due".into(),
                    position: 1,
                    probability: 50,
                    is_closed_won: false,
                    is_closed_lost: false,
                }],
            },
        )
        .await
        .step("second pipeline")?;
    ensure_eq!(store.list_pipelines(&scope).await.step("pipelines")?.len(), 2);
    expect_kind(
        store
            .create_deal(&scope, NewDeal::new("Mismatch", pipe.id.clone(), other.stages[0].id.clone(), Money::ONE))
            .await,
        ErrorKind::NotFound,
        "stage of another pipeline",
    )?;
    expect_kind(
        store
            .update_deal(
                &scope,
                &small.id,
                DealPatch { stage_id: Some(other.stages[0].id.clone()), ..Default::default() },
            )
            .await,
        ErrorKind::NotFound,
        "move to a foreign stage",
    )?;
    let mut negative = NewDeal::new("Negative", pipe.id.clone(), proposal.id.clone(), Money::ZERO);
    negative.value = Money::new(-5, 0);
    expect_kind(store.create_deal(&scope, negative).await, ErrorKind::InvalidArgument, "negative value")?;
    Ok(())
}

async fn issues_numbers_and_comments(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "iss").await?;
    let agent = employee(&*store, &scope, "Casey").await?;
    let buyer = customer(&*store, &scope, "Buyer").await?;
    let year = Utc::now().year();
    let mut first = NewIssue::titled("Broken widget");
    first.customer_id = Some(buyer.id.clone());
    first.priority = Priority::Urgent;
    first.category = IssueCategory::Quality;
    let first = store.create_issue(&scope, first).await.step("create first")?;
    let second = store.create_issue(&scope, NewIssue::titled("Late delivery")).await.step("create second")?;
    ensure_eq!(first.number, format!("ISS-{year}-0001"));
    ensure_eq!(second.number, format!("ISS-{year}-0002"));
    // Numbers are per organization: another tenant starts at 1 again.
    let (_, other) = tenant(&*store, "iss-other").await?;
    ensure_eq!(
        store.create_issue(&other, NewIssue::titled("Elsewhere")).await.step("other org")?.number,
        format!("ISS-{year}-0001")
    );

    let list = |f: IssueFilter| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .list_issues(&scope, &f, &PageRequest::default())
                .await
                .map(|p| p.items.into_iter().map(|i| i.id).collect::<Vec<_>>())
        }
    };
    ensure_eq!(
        list(IssueFilter { priority: Some(Priority::Urgent), ..Default::default() }).await.step("priority")?,
        vec![first.id.clone()]
    );
    ensure_eq!(
        list(IssueFilter { category: Some(IssueCategory::Quality), ..Default::default() }).await.step("category")?,
        vec![first.id.clone()]
    );
    ensure_eq!(
        list(IssueFilter { customer_id: Some(buyer.id.clone()), ..Default::default() }).await.step("customer")?,
        vec![first.id.clone()]
    );
    ensure_eq!(
        list(IssueFilter { search: Some(format!("ISS-{year}-0002")), ..Default::default() })
            .await
            .step("search number")?,
        vec![second.id.clone()]
    );

    let assigned = store
        .update_issue(
            &scope,
            &first.id,
            IssuePatch {
                assigned_to: Change::Set(agent.id.clone()),
                status: Some(IssueStatus::InProgress),
                ..Default::default()
            },
        )
        .await
        .step("assign")?;
    ensure_eq!(assigned.status, IssueStatus::InProgress);
    ensure_eq!(
        list(IssueFilter {
            assigned_to: Some(agent.id.clone()),
            status: Some(IssueStatus::InProgress),
            ..Default::default()
        })
        .await
        .step("assigned")?,
        vec![first.id.clone()]
    );
    ensure_eq!(assigned.number, first.number, "number never changes");

    let public = NewIssueComment {
        issue_id: first.id.clone(),
        author_user_id: "u-1".into(),
        author_name: "Casey".into(),
        body: "On it".into(),
        internal: false,
    };
    store.add_issue_comment(&scope, public).await.step("public comment")?;
    let internal = NewIssueComment {
        issue_id: first.id.clone(),
        author_user_id: "u-1".into(),
        author_name: "Casey".into(),
        body: "Customer is grumpy".into(),
        internal: true,
    };
    store.add_issue_comment(&scope, internal).await.step("internal comment")?;
    let with = store
        .list_issue_comments(&scope, &first.id, true, &PageRequest::default())
        .await
        .step("comments with internal")?;
    ensure_eq!(with.total, 2);
    ensure_eq!(with.items[0].body.as_str(), "On it", "comments are oldest first");
    let without = store
        .list_issue_comments(&scope, &first.id, false, &PageRequest::default())
        .await
        .step("comments without internal")?;
    ensure_eq!(without.items.len(), 1);
    let orphan = NewIssueComment {
        issue_id: IssueId::from("iss_missing"),
        author_user_id: "u".into(),
        author_name: "U".into(),
        body: "x".into(),
        internal: false,
    };
    expect_kind(store.add_issue_comment(&scope, orphan).await, ErrorKind::NotFound, "comment on unknown issue")?;
    Ok(())
}

async fn orders_and_payments(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "ord").await?;
    let buyer = customer(&*store, &scope, "Buyer").await?;
    let year = Utc::now().year();
    let mut new = new_order(&buyer.id, &[(2, 1_050), (1, 99_99)]);
    new.tax = Money::new(500, 2);
    let order = store.create_order(&scope, new).await.step("create order")?;
    ensure_eq!(order.number, format!("ORD-{year}-0001"));
    ensure_eq!(order.items.len(), 2);
    ensure_eq!(order.subtotal, Money::new(12_099, 2));
    ensure_eq!(order.total, Money::new(12_599, 2));
    ensure_eq!(order.items[0].total, Money::new(2_100, 2));
    ensure_eq!(store.get_order(&scope, &order.id).await.step("get order")?, order.clone());
    let listed =
        store.list_orders(&scope, &OrderFilter::default(), &PageRequest::default()).await.step("list orders")?;
    ensure_eq!(listed.total, 1);
    ensure_eq!(
        store
            .list_orders(
                &scope,
                &OrderFilter { status: Some(OrderStatus::Completed), ..Default::default() },
                &PageRequest::default()
            )
            .await
            .step("status")?
            .total,
        0
    );
    expect_kind(
        store.create_order(&scope, new_order(&buyer.id, &[])).await,
        ErrorKind::InvalidArgument,
        "order without items",
    )?;
    expect_kind(
        store.create_order(&scope, new_order(&CustomerId::from("cus_missing"), &[(1, 100)])).await,
        ErrorKind::NotFound,
        "order for unknown customer",
    )?;

    let payment = store.create_payment(&scope, new_payment(&buyer.id, Some(&order.id), 12_599)).await.step("pay")?;
    ensure_eq!(payment.number, format!("PAY-{year}-0001"));
    ensure_eq!(payment.amount, order.total);
    ensure_eq!(store.get_payment(&scope, &payment.id).await.step("get payment")?, payment.clone());
    let by_order = store
        .list_payments(
            &scope,
            &PaymentFilter { order_id: Some(order.id.clone()), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("by order")?;
    ensure_eq!(by_order.total, 1);
    expect_kind(
        store.create_payment(&scope, new_payment(&buyer.id, None, 0)).await,
        ErrorKind::InvalidArgument,
        "zero payment",
    )?;
    // An order named together with a customer must be that customer's.
    let stranger = customer(&*store, &scope, "Stranger").await?;
    expect_kind(
        store.create_payment(&scope, new_payment(&stranger.id, Some(&order.id), 100)).await,
        ErrorKind::InvalidArgument,
        "payment for another customer's order",
    )?;
    let mut mixed = NewIssue::titled("Mixed up");
    mixed.customer_id = Some(stranger.id.clone());
    mixed.order_id = Some(order.id.clone());
    expect_kind(
        store.create_issue(&scope, mixed).await,
        ErrorKind::InvalidArgument,
        "issue about another customer's order",
    )?;
    // A failed write consumed no number: the next one is 0002.
    ensure_eq!(
        store.create_order(&scope, new_order(&buyer.id, &[(1, 100)])).await.step("second order")?.number,
        format!("ORD-{year}-0002")
    );
    Ok(())
}

async fn activities_crud(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "act").await?;
    let rep = employee(&*store, &scope, "Dana").await?;
    let buyer = customer(&*store, &scope, "Buyer").await?;
    let mut call = NewActivity::new(ActivityType::Call, "Intro call");
    call.customer_id = Some(buyer.id.clone());
    call.assigned_to = Some(rep.id.clone());
    call.duration_minutes = Some(30);
    let call = store.create_activity(&scope, call).await.step("create call")?;
    let note = store
        .create_activity(&scope, NewActivity::new(ActivityType::Note, "Remember the budget"))
        .await
        .step("create note")?;
    ensure_eq!(store.get_activity(&scope, &call.id).await.step("get")?, call.clone());
    let calls = store
        .list_activities(
            &scope,
            &ActivityFilter { activity_type: Some(ActivityType::Call), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("calls")?;
    ensure_eq!(calls.items.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), vec![call.id.clone()]);
    let done = store
        .update_activity(
            &scope,
            &note.id,
            ActivityPatch {
                status: Some(ActivityStatus::Completed),
                completed_at: Change::Set(Utc::now()),
                ..Default::default()
            },
        )
        .await
        .step("complete")?;
    ensure_eq!(done.status, ActivityStatus::Completed);
    ensure!(done.completed_at.is_some(), "completed_at set");
    let mut bad = NewActivity::new(ActivityType::Meeting, "Too long");
    bad.duration_minutes = Some(1_000_000);
    expect_kind(store.create_activity(&scope, bad).await, ErrorKind::InvalidArgument, "absurd duration")?;
    let mut foreign = NewActivity::new(ActivityType::Task, "Ghost deal");
    foreign.deal_id = Some(DealId::from("dea_missing"));
    expect_kind(store.create_activity(&scope, foreign).await, ErrorKind::NotFound, "unknown deal")?;
    Ok(())
}

async fn roles_and_employees(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "role").await?;
    let names: Vec<String> = store.list_roles(&scope).await.step("roles")?.into_iter().map(|r| r.name).collect();
    ensure_eq!(names, vec!["sales_manager", "sales_rep", "support_agent", "viewer"]);
    let auditor = NewRoleDefinition {
        name: "auditor".into(),
        description: None,
        grants: vec!["audit:read".parse().map_err(|e| format!("{e}"))?],
        is_system: false,
    };
    let auditor = store.create_role(&scope, auditor.clone()).await.step("create role")?;
    expect_kind(
        store
            .create_role(
                &scope,
                NewRoleDefinition { name: "auditor".into(), description: None, grants: Vec::new(), is_system: false },
            )
            .await,
        ErrorKind::Conflict,
        "duplicate role",
    )?;
    let widened = store
        .update_role(
            &scope,
            &auditor.id,
            RoleDefinitionPatch {
                description: Change::Set("Reads the audit log".into()),
                grants: Some(vec!["audit:*".parse().map_err(|e| format!("{e}"))?]),
            },
        )
        .await
        .step("update role")?;
    ensure_eq!(widened.grants.len(), 1);
    ensure_eq!(widened.grants[0].to_string(), "audit:*");

    let mut lead = NewEmployee::named("Erin", "Lead", "erin@example.com");
    lead.department = Some("Support".into());
    lead.salary = Some(Money::new(70_000, 0));
    let lead = store.create_employee(&scope, lead).await.step("create employee")?;
    let mut junior = NewEmployee::named("Finn", "Junior", "finn@example.com");
    junior.manager_id = Some(lead.id.clone());
    junior.status = EmployeeStatus::OnLeave;
    let junior = store.create_employee(&scope, junior).await.step("create junior")?;
    let with_role = store.assign_role(&scope, &junior.id, &auditor.id).await.step("assign")?;
    let again = store.assign_role(&scope, &junior.id, &auditor.id).await.step("assign again")?;
    ensure_eq!(with_role.role_ids, vec![auditor.id.clone()]);
    ensure_eq!(again.role_ids, vec![auditor.id.clone()]);
    ensure_eq!(store.get_employee(&scope, &junior.id).await.step("get")?.role_ids, vec![auditor.id.clone()]);
    let support = store
        .list_employees(
            &scope,
            &EmployeeFilter { department: Some("Support".into()), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("department")?;
    ensure_eq!(support.items.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), vec![lead.id.clone()]);
    let on_leave = store
        .list_employees(
            &scope,
            &EmployeeFilter { status: Some(EmployeeStatus::OnLeave), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("status")?;
    ensure_eq!(on_leave.items.len(), 1);
    ensure_eq!(on_leave.items[0].role_ids, vec![auditor.id.clone()]);
    let found = store
        .list_employees(
            &scope,
            &EmployeeFilter { search: Some("FINN".into()), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("search")?;
    ensure_eq!(found.total, 1);
    let raised = store
        .update_employee(
            &scope,
            &lead.id,
            EmployeePatch { salary: Change::Set(Money::new(75_000, 0)), ..Default::default() },
        )
        .await
        .step("raise")?;
    ensure_eq!(raised.salary, Some(Money::new(75_000, 0)));
    expect_kind(
        store.assign_role(&scope, &junior.id, &RoleId::from("rol_missing")).await,
        ErrorKind::NotFound,
        "unknown role",
    )?;
    expect_kind(
        store
            .update_employee(
                &scope,
                &lead.id,
                EmployeePatch { manager_id: Change::Set(lead.id.clone()), ..Default::default() },
            )
            .await,
        ErrorKind::InvalidArgument,
        "own manager",
    )?;
    Ok(())
}

/// Populates a tenant with a spread of records for aggregate and isolation checks.
async fn populate(store: &dyn Store, scope: &Scope, label: &str) -> std::result::Result<(), String> {
    let pipe = pipeline(store, scope).await?;
    let rep = employee(store, scope, &format!("{label}rep")).await?;
    let other = employee(store, scope, &format!("{label}other")).await?;
    let mut customers = Vec::new();
    for (i, status) in [
        CustomerStatus::Active,
        CustomerStatus::Vip,
        CustomerStatus::Prospect,
        CustomerStatus::Inactive,
        CustomerStatus::Active,
    ]
    .iter()
    .enumerate()
    {
        let mut new = NewCustomer::named(format!("{label} customer {i}"));
        new.status = *status;
        new.customer_type = if i % 2 == 0 { CustomerType::Business } else { CustomerType::Individual };
        new.assigned_to = Some(if i % 2 == 0 { rep.id.clone() } else { other.id.clone() });
        new.created_at = Some(Utc::now() - Duration::days(small(i) * 20));
        customers.push(store.create_customer(scope, new).await.step("populate customer")?);
    }
    for i in 0..6u8 {
        let mut new = NewLead::named(format!("{label} lead {i}"));
        new.score = i * 15;
        new.source = LeadSource::ALL[usize::from(i) % LeadSource::ALL.len()];
        new.qualification_status =
            [QualificationStatus::New, QualificationStatus::Qualified, QualificationStatus::Contacted]
                [usize::from(i) % 3];
        new.assigned_to = Some(if i % 2 == 0 { rep.id.clone() } else { other.id.clone() });
        new.estimated_value = Some(Money::new(1_000 * i64::from(i) + 1, 2));
        let lead = store.create_lead(scope, new).await.step("populate lead")?;
        if i == 4 {
            let mut c = NewCustomer::named(format!("{label} converted"));
            c.assigned_to = Some(rep.id.clone());
            store.convert_lead(scope, &lead.id, c).await.step("populate convert")?;
        }
    }
    let today = Utc::now().date_naive();
    for (i, name) in ["Lead", "Proposal", "Closed Won", "Closed Won", "Closed Lost", "Negotiation"].iter().enumerate() {
        let stage = stage(&pipe, name)?;
        let mut new = NewDeal::new(
            format!("{label} deal {i}"),
            pipe.id.clone(),
            stage.id.clone(),
            Money::new(1_000_033 * (small(i) + 1), 2),
        );
        new.probability = stage.probability;
        new.status = if stage.is_closed_won {
            DealStatus::Won
        } else if stage.is_closed_lost {
            DealStatus::Lost
        } else {
            DealStatus::Open
        };
        if new.status != DealStatus::Open {
            new.actual_close_date = Some(today - Duration::days(40 * small(i)));
        }
        new.customer_id = Some(customers[i % customers.len()].id.clone());
        new.assigned_to = Some(if i % 2 == 0 { rep.id.clone() } else { other.id.clone() });
        // Two currencies, so sums of money that mix them show.
        if i == 3 || i == 5 {
            new.currency = "EUR".into();
        }
        store.create_deal(scope, new).await.step("populate deal")?;
    }
    for (i, status) in
        [IssueStatus::Open, IssueStatus::InProgress, IssueStatus::Resolved, IssueStatus::Open].iter().enumerate()
    {
        let mut new = NewIssue::titled(format!("{label} issue {i}"));
        new.status = *status;
        new.priority = Priority::ALL[i % 4];
        new.customer_id = Some(customers[i % 2].id.clone());
        let issue = store.create_issue(scope, new).await.step("populate issue")?;
        store
            .add_issue_comment(
                scope,
                NewIssueComment {
                    issue_id: issue.id.clone(),
                    author_user_id: "staff".into(),
                    author_name: "Staff".into(),
                    body: format!("{label} internal"),
                    internal: true,
                },
            )
            .await
            .step("populate comment")?;
        store
            .add_issue_comment(
                scope,
                NewIssueComment {
                    issue_id: issue.id,
                    author_user_id: "staff".into(),
                    author_name: "Staff".into(),
                    body: format!("{label} public"),
                    internal: false,
                },
            )
            .await
            .step("populate comment")?;
    }
    for (i, c) in (0i64..).zip(customers.iter().take(2)) {
        let order =
            store.create_order(scope, new_order(&c.id, &[(1, 10_000 * (i + 1))])).await.step("populate order")?;
        store
            .create_payment(scope, new_payment(&c.id, Some(&order.id), 10_000 * (i + 1)))
            .await
            .step("populate payment")?;
    }
    for (i, t) in ActivityType::ALL.iter().enumerate() {
        let mut new = NewActivity::new(*t, format!("{label} activity {i}"));
        new.customer_id = Some(customers[i % customers.len()].id.clone());
        new.status = if i % 2 == 0 { ActivityStatus::Completed } else { ActivityStatus::Scheduled };
        store.create_activity(scope, new).await.step("populate activity")?;
    }
    Ok(())
}

async fn aggregates_match_reference(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "agg").await?;
    populate(&*store, &scope, "agg").await?;
    let (_, noise) = tenant(&*store, "agg-noise").await?;
    populate(&*store, &noise, "noise").await?;
    let customers = all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 100);
    let leads = all_pages!(store, list_leads, &scope, &LeadFilter::default(), 100);
    let deals = all_pages!(store, list_deals, &scope, &DealFilter::default(), 100);
    let issues = all_pages!(store, list_issues, &scope, &IssueFilter::default(), 100);
    let activities = all_pages!(store, list_activities, &scope, &ActivityFilter::default(), 100);
    let employees = all_pages!(store, list_employees, &scope, &EmployeeFilter::default(), 100);
    let pipelines = store.list_pipelines(&scope).await.step("pipelines")?;
    ensure_eq!(store.customer_stats(&scope).await.step("customer stats")?, aggregate::customer_stats(&customers));
    ensure_eq!(store.lead_stats(&scope).await.step("lead stats")?, aggregate::lead_stats(&leads));
    ensure_eq!(store.deal_stats(&scope).await.step("deal stats")?, aggregate::deal_stats(&deals, &pipelines));
    ensure_eq!(store.issue_stats(&scope).await.step("issue stats")?, aggregate::issue_stats(&issues));
    ensure_eq!(store.activity_stats(&scope).await.step("activity stats")?, aggregate::activity_stats(&activities));
    let now = Utc::now();
    ensure_eq!(
        store.dashboard_stats(&scope, now).await.step("dashboard")?,
        aggregate::dashboard(&customers, &leads, &deals, &issues, now)
    );
    ensure_eq!(store.sales_funnel(&scope).await.step("funnel")?, aggregate::sales_funnel(&leads, &deals));
    for period in [Period::Day, Period::Week, Period::Month, Period::Quarter, Period::Year] {
        let buckets = period.buckets(now.date_naive(), 8);
        ensure_eq!(
            store.revenue_by_period(&scope, &buckets).await.step("revenue")?,
            aggregate::revenue_by_period(&deals, &buckets)
        );
    }
    ensure_eq!(
        store.employee_performance(&scope).await.step("performance")?,
        aggregate::employee_performance(&employees, &customers, &leads, &deals)
    );
    // Sanity on the numbers themselves, so a store and the reference cannot agree on nonsense.
    let stats = store.deal_stats(&scope).await.step("deal stats")?;
    ensure_eq!((stats.total, stats.open, stats.won, stats.lost), (6, 3, 2, 1));
    // Deals 2 and 3 are won: 2 in USD, 3 in EUR; never added together.
    let amount = |currency: &str, times: i64| CurrencyAmount {
        currency: currency.into(),
        amount: Money::new(1_000_033 * times, 2),
    };
    ensure_eq!(stats.won_value, Amounts(vec![amount("EUR", 4), amount("USD", 3)]));
    ensure_eq!(stats.open_value, Amounts(vec![amount("EUR", 6), amount("USD", 1 + 2)]));
    ensure_eq!(stats.win_rate, 66.67);
    let dashboard = store.dashboard_stats(&scope, now).await.step("dashboard")?;
    ensure_eq!(dashboard.customers.total, 6);
    ensure_eq!(dashboard.issues.open, 3);
    ensure_eq!(dashboard.leads.converted, 1);
    // One definition of an active customer in every figure.
    let customer_stats = store.customer_stats(&scope).await.step("customer stats")?;
    ensure_eq!(customer_stats.active, dashboard.customers.active);
    ensure_eq!(customer_stats.active, customers.iter().filter(|c| c.status.is_active()).count() as u64);

    // The funnel's deal steps are the deals of converted leads; the others are beside it.
    let converted = leads.iter().find(|l| l.converted).ok_or("no converted lead")?;
    let pipe = pipeline(&*store, &scope).await?;
    let mut from_lead = NewDeal::new("From a lead", pipe.id.clone(), pipe.stages[0].id.clone(), Money::ONE);
    from_lead.lead_id = Some(converted.id.clone());
    store.create_deal(&scope, from_lead).await.step("deal from a lead")?;
    let funnel = store.sales_funnel(&scope).await.step("funnel")?;
    let names: Vec<&str> = funnel.steps.iter().map(|s| s.name.as_str()).collect();
    ensure_eq!(names, vec!["leads", "qualified", "converted", "deals", "won"]);
    let counts: Vec<u64> = funnel.steps.iter().map(|s| s.count).collect();
    ensure_eq!(counts[2..].to_vec(), vec![1, 1, 0]);
    ensure_eq!(funnel.other_deals, OtherDeals { count: 6, won: 2 });
    let deals = all_pages!(store, list_deals, &scope, &DealFilter::default(), 100);
    ensure_eq!(funnel, aggregate::sales_funnel(&leads, &deals));
    Ok(())
}

/// Stats stay true through updates: a store keeping running totals (the SQL store's
/// triggers) must move a record out of its old group and into its new one exactly once, and
/// keep sums of changed values (deal value and probability, lead score and estimate) right.
async fn aggregates_follow_updates(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "agg-moves").await?;
    populate(&*store, &scope, "moves").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let customers = all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 100);
    let leads = all_pages!(store, list_leads, &scope, &LeadFilter::default(), 100);
    let deals = all_pages!(store, list_deals, &scope, &DealFilter::default(), 100);
    for (i, c) in customers.iter().take(3).enumerate() {
        let patch = CustomerPatch {
            status: Some([CustomerStatus::Vip, CustomerStatus::Inactive, CustomerStatus::Prospect][i]),
            customer_type: Some(if c.customer_type == CustomerType::Business {
                CustomerType::Individual
            } else {
                CustomerType::Business
            }),
            ..Default::default()
        };
        store.update_customer(&scope, &c.id, patch).await.step("update customer")?;
    }
    for (i, l) in (0u8..).zip(leads.iter().filter(|l| !l.converted).take(2)) {
        let patch = LeadPatch {
            score: Some(90 - i),
            estimated_value: if i == 0 { Change::Clear } else { Change::Set(Money::new(123_456, 2)) },
            qualification_status: Some(QualificationStatus::Qualified),
            source: Some(LeadSource::Partner),
            ..Default::default()
        };
        store.update_lead(&scope, &l.id, patch, None).await.step("update lead")?;
    }
    if let Some(l) = leads.iter().find(|l| !l.converted && l.qualification_status != QualificationStatus::Qualified) {
        store.convert_lead(&scope, &l.id, NewCustomer::named("From a lead")).await.step("convert lead")?;
    }
    let last = pipe.stages.last().ok_or("a pipeline without stages")?;
    for (i, d) in deals.iter().filter(|d| d.status == DealStatus::Open).enumerate() {
        let patch = match i {
            0 => {
                DealPatch { stage_id: Some(last.id.clone()), value: Some(Money::new(777_700, 2)), ..Default::default() }
            }
            1 => DealPatch { probability: Some(35), currency: Some("GBP".into()), ..Default::default() },
            _ => DealPatch { status: Some(DealStatus::Lost), ..Default::default() },
        };
        store.update_deal(&scope, &d.id, patch).await.step("update deal")?;
    }
    let customers = all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 100);
    let leads = all_pages!(store, list_leads, &scope, &LeadFilter::default(), 100);
    let deals = all_pages!(store, list_deals, &scope, &DealFilter::default(), 100);
    let issues = all_pages!(store, list_issues, &scope, &IssueFilter::default(), 100);
    let pipelines = store.list_pipelines(&scope).await.step("pipelines")?;
    ensure_eq!(store.customer_stats(&scope).await.step("customer stats")?, aggregate::customer_stats(&customers));
    ensure_eq!(store.lead_stats(&scope).await.step("lead stats")?, aggregate::lead_stats(&leads));
    ensure_eq!(store.deal_stats(&scope).await.step("deal stats")?, aggregate::deal_stats(&deals, &pipelines));
    let now = Utc::now();
    ensure_eq!(
        store.dashboard_stats(&scope, now).await.step("dashboard")?,
        aggregate::dashboard(&customers, &leads, &deals, &issues, now)
    );
    ensure_eq!(store.sales_funnel(&scope).await.step("funnel")?, aggregate::sales_funnel(&leads, &deals));
    Ok(())
}

/// Every way organization A could see or touch organization B's data.
async fn tenant_isolation(store: Arc<dyn Store>) -> CheckResult {
    let (org_a, a) = tenant(&*store, "iso-a").await?;
    let (org_b, b) = tenant(&*store, "iso-b").await?;
    populate(&*store, &a, "alpha").await?;
    populate(&*store, &b, "bravo").await?;
    let page = PageRequest::first(100);
    let b_customers = store.list_customers(&b, &CustomerFilter::default(), &page).await.step("b customers")?.items;
    let b_leads = store.list_leads(&b, &LeadFilter::default(), &page).await.step("b leads")?.items;
    let b_deals = store.list_deals(&b, &DealFilter::default(), &page).await.step("b deals")?.items;
    let b_issues = store.list_issues(&b, &IssueFilter::default(), &page).await.step("b issues")?.items;
    let b_orders = store.list_orders(&b, &OrderFilter::default(), &page).await.step("b orders")?.items;
    let b_payments = store.list_payments(&b, &PaymentFilter::default(), &page).await.step("b payments")?.items;
    let b_activities = store.list_activities(&b, &ActivityFilter::default(), &page).await.step("b activities")?.items;
    let b_employees = store.list_employees(&b, &EmployeeFilter::default(), &page).await.step("b employees")?.items;
    let b_roles = store.list_roles(&b).await.step("b roles")?;
    let b_pipeline = pipeline(&*store, &b).await?;

    // Lists and searches from A show nothing of B.
    let leak = |json: String| -> CheckResult {
        ensure!(
            !json.contains("bravo") && !json.contains(org_b.id.as_str()),
            "organization A saw B's data: {}",
            &json[..json.len().min(300)]
        );
        Ok(())
    };
    let text = |v: &dyn erased::Json| v.json();
    leak(text(
        &store
            .list_customers(&a, &CustomerFilter { search: Some("bravo".into()), ..Default::default() }, &page)
            .await
            .step("search")?,
    ))?;
    leak(text(&store.list_customers(&a, &CustomerFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_leads(&a, &LeadFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_deals(&a, &DealFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_issues(&a, &IssueFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_orders(&a, &OrderFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_payments(&a, &PaymentFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_activities(&a, &ActivityFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_employees(&a, &EmployeeFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_roles(&a).await.step("roles")?))?;
    leak(text(&store.list_pipelines(&a).await.step("pipelines")?))?;
    leak(text(&store.list_audit_events(&a, &AuditFilter::default(), &page).await.step("audit")?))?;
    leak(text(&store.employee_performance(&a).await.step("performance")?))?;
    ensure_eq!(store.deal_stats(&a).await.step("deal stats")?.total, 6);
    ensure_eq!(store.get_organization(&a).await.step("org")?.id, org_a.id);
    // Filters naming B's ids find nothing.
    ensure_eq!(
        store
            .list_deals(&a, &DealFilter { customer_id: Some(b_customers[0].id.clone()), ..Default::default() }, &page)
            .await
            .step("foreign filter")?
            .total,
        0
    );
    ensure_eq!(
        store
            .list_customers(
                &a,
                &CustomerFilter { assigned_to: Some(b_employees[0].id.clone()), ..Default::default() },
                &page
            )
            .await
            .step("foreign filter")?
            .total,
        0
    );
    // Aggregates of A equal A's alone (B was populated identically, so any leak doubles them).
    ensure_eq!(store.customer_stats(&a).await.step("stats")?.total, 6);
    ensure_eq!(store.dashboard_stats(&a, Utc::now()).await.step("dashboard")?.deals.total, 6);

    // Reads of B's ids from A are "not found".
    let nf = ErrorKind::NotFound;
    expect_kind(store.get_customer(&a, &b_customers[0].id).await, nf, "get foreign customer")?;
    expect_kind(store.get_lead(&a, &b_leads[0].id).await, nf, "get foreign lead")?;
    expect_kind(store.lead_history(&a, &b_leads[0].id).await, nf, "foreign lead history")?;
    expect_kind(store.get_deal(&a, &b_deals[0].id).await, nf, "get foreign deal")?;
    expect_kind(store.get_issue(&a, &b_issues[0].id).await, nf, "get foreign issue")?;
    expect_kind(store.list_issue_comments(&a, &b_issues[0].id, true, &page).await, nf, "foreign comments")?;
    expect_kind(store.get_order(&a, &b_orders[0].id).await, nf, "get foreign order")?;
    expect_kind(store.get_payment(&a, &b_payments[0].id).await, nf, "get foreign payment")?;
    expect_kind(store.get_activity(&a, &b_activities[0].id).await, nf, "get foreign activity")?;
    expect_kind(store.get_employee(&a, &b_employees[0].id).await, nf, "get foreign employee")?;
    store
        .put_member(
            &b,
            NewMember {
                user_id: "bravo-user".into(),
                role: crate::Role::Customer,
                employee_id: None,
                customer_id: Some(b_customers[0].id.clone()),
                display_name: "B".into(),
            },
        )
        .await
        .step("b member")?;
    expect_kind(store.get_member(&a, "bravo-user").await, nf, "foreign member")?;

    // Writes to B's ids from A are "not found" and change nothing.
    expect_kind(
        store
            .update_customer(
                &a,
                &b_customers[0].id,
                CustomerPatch { name: Some("hijacked".into()), ..Default::default() },
            )
            .await,
        nf,
        "update foreign customer",
    )?;
    expect_kind(
        store
            .update_lead(&a, &b_leads[0].id, LeadPatch { name: Some("hijacked".into()), ..Default::default() }, None)
            .await,
        nf,
        "update foreign lead",
    )?;
    expect_kind(
        store.convert_lead(&a, &b_leads[0].id, NewCustomer::named("hijacked")).await,
        nf,
        "convert foreign lead",
    )?;
    expect_kind(
        store.update_deal(&a, &b_deals[0].id, DealPatch { title: Some("hijacked".into()), ..Default::default() }).await,
        nf,
        "update foreign deal",
    )?;
    expect_kind(
        store
            .update_issue(&a, &b_issues[0].id, IssuePatch { title: Some("hijacked".into()), ..Default::default() })
            .await,
        nf,
        "update foreign issue",
    )?;
    expect_kind(
        store
            .update_activity(
                &a,
                &b_activities[0].id,
                ActivityPatch { title: Some("hijacked".into()), ..Default::default() },
            )
            .await,
        nf,
        "update foreign activity",
    )?;
    expect_kind(
        store
            .update_employee(
                &a,
                &b_employees[0].id,
                EmployeePatch { first_name: Some("hijacked".into()), ..Default::default() },
            )
            .await,
        nf,
        "update foreign employee",
    )?;
    expect_kind(
        store
            .update_role(
                &a,
                &b_roles[0].id,
                RoleDefinitionPatch { description: Change::Set("hijacked".into()), grants: None },
            )
            .await,
        nf,
        "update foreign role",
    )?;
    expect_kind(
        store
            .add_issue_comment(
                &a,
                NewIssueComment {
                    issue_id: b_issues[0].id.clone(),
                    author_user_id: "x".into(),
                    author_name: "x".into(),
                    body: "hijacked".into(),
                    internal: false,
                },
            )
            .await,
        nf,
        "comment on foreign issue",
    )?;
    // References from A's writes to B's records are "not found".
    let a_employee =
        store.list_employees(&a, &EmployeeFilter::default(), &page).await.step("a employees")?.items[0].id.clone();
    let a_role = store.list_roles(&a).await.step("a roles")?[0].id.clone();
    let a_pipeline = pipeline(&*store, &a).await?;
    let mut c = NewCustomer::named("hijacked");
    c.assigned_to = Some(b_employees[0].id.clone());
    expect_kind(store.create_customer(&a, c).await, nf, "assign to foreign employee")?;
    expect_kind(store.assign_role(&a, &a_employee, &b_roles[0].id).await, nf, "assign foreign role")?;
    expect_kind(store.assign_role(&a, &b_employees[0].id, &a_role).await, nf, "role to foreign employee")?;
    let mut l = NewLead::named("hijacked");
    l.stage_id = Some(b_pipeline.stages[0].id.clone());
    expect_kind(store.create_lead(&a, l).await, nf, "lead in foreign stage")?;
    expect_kind(
        store
            .create_deal(
                &a,
                NewDeal::new("hijacked", b_pipeline.id.clone(), b_pipeline.stages[0].id.clone(), Money::ONE),
            )
            .await,
        nf,
        "deal in foreign pipeline",
    )?;
    let mut d = NewDeal::new("hijacked", a_pipeline.id.clone(), a_pipeline.stages[0].id.clone(), Money::ONE);
    d.customer_id = Some(b_customers[0].id.clone());
    expect_kind(store.create_deal(&a, d).await, nf, "deal for foreign customer")?;
    let mut i = NewIssue::titled("hijacked");
    i.order_id = Some(b_orders[0].id.clone());
    expect_kind(store.create_issue(&a, i).await, nf, "issue on foreign order")?;
    expect_kind(
        store.create_order(&a, new_order(&b_customers[0].id, &[(1, 100)])).await,
        nf,
        "order for foreign customer",
    )?;
    expect_kind(
        store.create_payment(&a, new_payment(&b_customers[0].id, None, 100)).await,
        nf,
        "payment for foreign customer",
    )?;
    let mut act = NewActivity::new(ActivityType::Call, "hijacked");
    act.lead_id = Some(b_leads[0].id.clone());
    expect_kind(store.create_activity(&a, act).await, nf, "activity on foreign lead")?;
    expect_kind(
        store
            .put_member(
                &a,
                NewMember {
                    user_id: "spy".into(),
                    role: crate::Role::Employee,
                    employee_id: Some(b_employees[0].id.clone()),
                    customer_id: None,
                    display_name: "Spy".into(),
                },
            )
            .await,
        nf,
        "member as foreign employee",
    )?;
    // Foreign references on the update paths, each with its own reference list.
    let a_deal = store.list_deals(&a, &DealFilter::default(), &page).await.step("a deals")?.items[0].id.clone();
    let a_lead = store
        .list_leads(&a, &LeadFilter { converted: Some(false), ..Default::default() }, &page)
        .await
        .step("a leads")?
        .items[0]
        .id
        .clone();
    let a_issue = store.list_issues(&a, &IssueFilter::default(), &page).await.step("a issues")?.items[0].id.clone();
    let a_activity =
        store.list_activities(&a, &ActivityFilter::default(), &page).await.step("a activities")?.items[0].id.clone();
    let a_customer =
        store.list_customers(&a, &CustomerFilter::default(), &page).await.step("a customers")?.items[0].id.clone();
    let b_stage = b_pipeline.stages[1].id.clone();
    let b_assignee = Change::Set(b_employees[0].id.clone());
    expect_kind(
        store.update_deal(&a, &a_deal, DealPatch { stage_id: Some(b_stage.clone()), ..Default::default() }).await,
        nf,
        "deal to a foreign stage",
    )?;
    expect_kind(
        store.update_deal(&a, &a_deal, DealPatch { assigned_to: b_assignee.clone(), ..Default::default() }).await,
        nf,
        "deal to a foreign assignee",
    )?;
    expect_kind(
        store
            .update_lead(&a, &a_lead, LeadPatch { stage_id: Change::Set(b_stage.clone()), ..Default::default() }, None)
            .await,
        nf,
        "lead to a foreign stage",
    )?;
    expect_kind(
        store.update_lead(&a, &a_lead, LeadPatch { assigned_to: b_assignee.clone(), ..Default::default() }, None).await,
        nf,
        "lead to a foreign assignee",
    )?;
    expect_kind(
        store.update_issue(&a, &a_issue, IssuePatch { assigned_to: b_assignee.clone(), ..Default::default() }).await,
        nf,
        "issue to a foreign assignee",
    )?;
    expect_kind(
        store
            .update_issue(
                &a,
                &a_issue,
                IssuePatch { order_id: Change::Set(b_orders[0].id.clone()), ..Default::default() },
            )
            .await,
        nf,
        "issue on a foreign order",
    )?;
    expect_kind(
        store
            .update_activity(
                &a,
                &a_activity,
                ActivityPatch { customer_id: Change::Set(b_customers[0].id.clone()), ..Default::default() },
            )
            .await,
        nf,
        "activity on a foreign customer",
    )?;
    expect_kind(
        store
            .update_employee(&a, &a_employee, EmployeePatch { manager_id: b_assignee.clone(), ..Default::default() })
            .await,
        nf,
        "foreign manager",
    )?;
    expect_kind(
        store.create_payment(&a, new_payment(&a_customer, Some(&b_orders[0].id), 100)).await,
        nf,
        "payment on a foreign order",
    )?;
    let mut deal_import = NewDeal::new("hijacked", a_pipeline.id.clone(), a_pipeline.stages[0].id.clone(), Money::ONE);
    deal_import.customer_id = Some(b_customers[0].id.clone());
    expect_kind(store.import_deals(&a, vec![deal_import]).await, nf, "import deals for a foreign customer")?;
    let lead_import = NewLead { stage_id: Some(b_stage), ..NewLead::named("hijacked") };
    expect_kind(store.import_leads(&a, vec![lead_import]).await, nf, "import leads into a foreign stage")?;
    if store.supports(StoreOp::WriteCustomers) {
        let batch =
            vec![NewCustomer { assigned_to: Some(b_employees[0].id.clone()), ..NewCustomer::named("hijacked") }];
        expect_kind(store.import_customers(&a, batch).await, nf, "import referencing foreign employee")?;
    }

    // B is exactly as it was.
    let after = store.list_customers(&b, &CustomerFilter::default(), &page).await.step("b after")?.items;
    ensure_eq!(after, b_customers);
    ensure_eq!(store.list_leads(&b, &LeadFilter::default(), &page).await.step("b after")?.items, b_leads);
    ensure_eq!(store.list_deals(&b, &DealFilter::default(), &page).await.step("b after")?.items, b_deals);
    ensure_eq!(store.list_issues(&b, &IssueFilter::default(), &page).await.step("b after")?.items, b_issues);
    ensure_eq!(store.list_employees(&b, &EmployeeFilter::default(), &page).await.step("b after")?.items, b_employees);
    ensure_eq!(store.list_roles(&b).await.step("b after")?, b_roles);
    ensure_eq!(store.list_issue_comments(&b, &b_issues[0].id, true, &page).await.step("b comments")?.total, 2);
    leak(text(
        &store
            .list_customers(&a, &CustomerFilter { search: Some("hijacked".into()), ..Default::default() }, &page)
            .await
            .step("a after")?,
    ))?;
    Ok(())
}

/// A customer scope sees only that customer's own records.
async fn customer_scope(store: Arc<dyn Store>) -> CheckResult {
    let (_, org) = tenant(&*store, "cs").await?;
    populate(&*store, &org, "cs").await?;
    let page = PageRequest::first(100);
    let customers = store.list_customers(&org, &CustomerFilter::default(), &page).await.step("customers")?.items;
    // The customer with issues, orders and payments of their own.
    let me = customers.iter().find(|c| c.name == "cs customer 0").ok_or("no customer 0")?.clone();
    let other = customers.iter().find(|c| c.name == "cs customer 1").ok_or("no customer 1")?.clone();
    let mine = Scope::customer(org.organization_id().clone(), me.id.clone());

    let seen = store.list_customers(&mine, &CustomerFilter::default(), &page).await.step("own customers")?;
    ensure_eq!(seen.items.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![me.id.clone()]);
    ensure_eq!(seen.total, 1);
    ensure_eq!(store.get_customer(&mine, &me.id).await.step("own record")?.id, me.id);
    expect_kind(store.get_customer(&mine, &other.id).await, ErrorKind::NotFound, "another customer's record")?;

    let issues = store.list_issues(&mine, &IssueFilter::default(), &page).await.step("own issues")?;
    ensure!(!issues.items.is_empty(), "the customer has issues");
    ensure!(issues.items.iter().all(|i| i.customer_id.as_ref() == Some(&me.id)), "only own issues");
    let others = store
        .list_issues(&org, &IssueFilter { customer_id: Some(other.id.clone()), ..Default::default() }, &page)
        .await
        .step("other issues")?;
    expect_kind(store.get_issue(&mine, &others.items[0].id).await, ErrorKind::NotFound, "another customer's issue")?;
    // Asking for the other customer's issues by filter still shows nothing.
    ensure_eq!(
        store
            .list_issues(&mine, &IssueFilter { customer_id: Some(other.id.clone()), ..Default::default() }, &page)
            .await
            .step("filter trick")?
            .total,
        0
    );
    let comments = store.list_issue_comments(&mine, &issues.items[0].id, true, &page).await.step("own comments")?;
    ensure!(comments.items.iter().all(|c| !c.internal), "internal comments never reach a customer");
    ensure_eq!(comments.total, 1);
    expect_kind(
        store.list_issue_comments(&mine, &others.items[0].id, false, &page).await,
        ErrorKind::NotFound,
        "comments on another's issue",
    )?;

    let orders = store.list_orders(&mine, &OrderFilter::default(), &page).await.step("own orders")?;
    ensure_eq!(orders.total, 1);
    ensure!(orders.items.iter().all(|o| o.customer_id == me.id), "only own orders");
    let payments = store.list_payments(&mine, &PaymentFilter::default(), &page).await.step("own payments")?;
    ensure_eq!(payments.total, 1);
    let other_orders = store
        .list_orders(&org, &OrderFilter { customer_id: Some(other.id.clone()), ..Default::default() }, &page)
        .await
        .step("other orders")?;
    expect_kind(store.get_order(&mine, &other_orders.items[0].id).await, ErrorKind::NotFound, "another's order")?;

    // Nothing without a customer link is visible.
    ensure_eq!(store.list_leads(&mine, &LeadFilter::default(), &page).await.step("leads")?.total, 0);
    ensure_eq!(store.list_deals(&mine, &DealFilter::default(), &page).await.step("deals")?.total, 0);
    ensure_eq!(store.list_employees(&mine, &EmployeeFilter::default(), &page).await.step("employees")?.total, 0);
    ensure_eq!(store.list_activities(&mine, &ActivityFilter::default(), &page).await.step("activities")?.total, 0);
    ensure_eq!(store.list_audit_events(&mine, &AuditFilter::default(), &page).await.step("audit")?.total, 0);
    ensure!(store.list_roles(&mine).await.step("roles")?.is_empty(), "roles hidden");
    ensure_eq!(store.deal_stats(&mine).await.step("deal stats")?.total, 0);
    ensure_eq!(store.employee_performance(&mine).await.step("performance")?.len(), 0);

    // Writes: own issues and comments only.
    let mut raised = NewIssue::titled("My own problem");
    raised.customer_id = Some(me.id.clone());
    let raised = store.create_issue(&mine, raised).await.step("raise own issue")?;
    ensure_eq!(raised.customer_id.as_ref(), Some(&me.id));
    let mut for_other = NewIssue::titled("Pretending");
    for_other.customer_id = Some(other.id.clone());
    expect_kind(store.create_issue(&mine, for_other).await, ErrorKind::NotFound, "issue for another customer")?;
    expect_kind(
        store.create_issue(&mine, NewIssue::titled("Nobody's")).await,
        ErrorKind::NotFound,
        "issue without the customer",
    )?;
    store
        .add_issue_comment(
            &mine,
            NewIssueComment {
                issue_id: raised.id.clone(),
                author_user_id: "me".into(),
                author_name: "Me".into(),
                body: "Any news?".into(),
                internal: false,
            },
        )
        .await
        .step("comment own issue")?;
    expect_kind(
        store
            .add_issue_comment(
                &mine,
                NewIssueComment {
                    issue_id: others.items[0].id.clone(),
                    author_user_id: "me".into(),
                    author_name: "Me".into(),
                    body: "x".into(),
                    internal: false,
                },
            )
            .await,
        ErrorKind::NotFound,
        "comment on another's issue",
    )?;
    // Beyond raising and commenting on their own issues, a customer scope writes nothing.
    let denied = ErrorKind::PermissionDenied;
    expect_kind(
        store
            .update_issue(&mine, &others.items[0].id, IssuePatch { title: Some("x".into()), ..Default::default() })
            .await,
        denied,
        "update another's issue",
    )?;
    expect_kind(
        store
            .update_issue(&mine, &raised.id, IssuePatch { status: Some(IssueStatus::Closed), ..Default::default() })
            .await,
        denied,
        "update own issue",
    )?;
    expect_kind(
        store
            .update_customer(&mine, &me.id, CustomerPatch { status: Some(CustomerStatus::Vip), ..Default::default() })
            .await,
        denied,
        "promote itself",
    )?;
    expect_kind(store.create_order(&mine, new_order(&me.id, &[(1, 100)])).await, denied, "order for itself")?;
    expect_kind(store.create_payment(&mine, new_payment(&me.id, None, 100)).await, denied, "payment for itself")?;
    expect_kind(
        store
            .add_issue_comment(
                &mine,
                NewIssueComment {
                    issue_id: raised.id.clone(),
                    author_user_id: "me".into(),
                    author_name: "Me".into(),
                    body: "x".into(),
                    internal: true,
                },
            )
            .await,
        denied,
        "internal comment",
    )?;
    let mut with_foreign_order = NewIssue::titled("About their order");
    with_foreign_order.customer_id = Some(me.id.clone());
    with_foreign_order.order_id = Some(other_orders.items[0].id.clone());
    expect_kind(
        store.create_issue(&mine, with_foreign_order).await,
        ErrorKind::NotFound,
        "issue about another customer's order",
    )?;
    expect_kind(
        store.create_lead(&mine, NewLead::named("x")).await,
        ErrorKind::PermissionDenied,
        "customer creating a lead",
    )?;
    expect_kind(
        store.create_customer(&mine, NewCustomer::named("x")).await,
        ErrorKind::PermissionDenied,
        "customer creating a customer",
    )?;
    Ok(())
}

async fn concurrent_numbers(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "num").await?;
    let buyer = customer(&*store, &scope, "Buyer").await?;
    let issues = (0..50).map(|i| {
        let store = store.clone();
        let scope = scope.clone();
        async move { store.create_issue(&scope, NewIssue::titled(format!("Concurrent {i}"))).await.map(|i| i.number) }
    });
    let orders = (0..50).map(|_| {
        let store = store.clone();
        let scope = scope.clone();
        let customer = buyer.id.clone();
        async move { store.create_order(&scope, new_order(&customer, &[(1, 100)])).await.map(|o| o.number) }
    });
    let (issue_numbers, order_numbers) = futures::join!(join_all(issues), join_all(orders));
    let year = Utc::now().year();
    for (numbers, kind) in [(issue_numbers, NumberKind::Issue), (order_numbers, NumberKind::Order)] {
        let numbers: BTreeSet<String> = numbers.into_iter().collect::<Result<_>>().step("concurrent create")?;
        let expected: BTreeSet<String> = (1..=50).map(|n| kind.format(year, n)).collect();
        ensure_eq!(numbers, expected);
    }
    Ok(())
}

/// Two deals moved between the same two stages, and two customers between the same two
/// statuses, in opposite directions at once (as two people dragging cards across a pipeline
/// board do): every move succeeds, and the counts per group add up afterwards. A store that keeps
/// per-group totals must not deadlock on them here.
/// A deal created closed on a day no deal closed on yet, while another deal is closed on that
/// day: the first creates the day's totals row, the second moves into the same stage totals.
/// On PostgreSQL the totals rows are created and locked in one order by both writes (migration
/// 15), where creating the day's row after the stage's lock was taken made them wait on each
/// other.
async fn closing_on_a_new_day_at_once(store: Arc<dyn Store>) -> CheckResult {
    const DAYS: u32 = 150;
    let (_, scope) = tenant(&*store, "closings").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let (open_stage, won) = (stage(&pipe, "Proposal")?.id.clone(), stage(&pipe, "Closed Won")?.id.clone());
    let first_day = chrono::NaiveDate::from_ymd_opt(2031, 1, 1).ok_or("a day")?;
    let day = move |n: u32| first_day + chrono::Days::new(u64::from(n));
    let open = NewDeal::new("Closer", pipe.id.clone(), open_stage.clone(), Money::new(500, 0));
    let closer = store.create_deal(&scope, open).await.step("create the closer")?.id;
    // Both start each day's write together, to meet inside the triggers as often as they can.
    let together = Arc::new(tokio::sync::Barrier::new(2));
    let creator = {
        let (store, scope, pipe, won) = (store.clone(), scope.clone(), pipe.id.clone(), won.clone());
        let together = together.clone();
        async move {
            // A failure is kept, not returned: the other side must not wait at the barrier forever.
            let mut first_failure = Ok(());
            for n in 0..DAYS {
                together.wait().await;
                let mut new = NewDeal::new(format!("Won {n}"), pipe.clone(), won.clone(), Money::new(100, 0));
                (new.status, new.probability, new.actual_close_date) = (DealStatus::Won, 100, Some(day(n)));
                if let Err(error) = store.create_deal(&scope, new).await {
                    first_failure = first_failure.and(Err(error));
                }
            }
            first_failure
        }
    };
    let closing = {
        let (store, scope, closer) = (store.clone(), scope.clone(), closer.clone());
        async move {
            let mut first_failure = Ok(());
            for n in 0..DAYS {
                together.wait().await;
                let close = DealPatch {
                    stage_id: Some(won.clone()),
                    status: Some(DealStatus::Won),
                    actual_close_date: Change::Set(day(n)),
                    ..Default::default()
                };
                let reopen = DealPatch {
                    stage_id: Some(open_stage.clone()),
                    status: Some(DealStatus::Open),
                    actual_close_date: Change::Clear,
                    ..Default::default()
                };
                let moved = match store.update_deal(&scope, &closer, close).await {
                    Ok(_) => store.update_deal(&scope, &closer, reopen).await.map(drop),
                    Err(error) => Err(error),
                };
                first_failure = first_failure.and(moved);
            }
            first_failure
        }
    };
    let (created, closed) = futures::join!(creator, closing);
    created.step("creating closed deals")?;
    closed.step("closing and reopening")?;
    let group_by = ["actual_close_date:year".to_owned(), "status".to_owned()];
    let query = AggregateQuery::new(
        RecordFilter::Deals(DealFilter::default()),
        Measure::Count,
        None,
        &group_by,
        chrono_tz::UTC,
    )
    .step("query")?;
    let answer = store.aggregate_records(&scope, &query).await.step("aggregate")?;
    let counts: Vec<(serde_json::Value, serde_json::Value, u64)> = answer
        .groups
        .iter()
        .map(|g| (g.key["actual_close_date:year"].clone(), g.key["status"].clone(), g.count))
        .collect();
    ensure_eq!(
        counts,
        vec![
            (serde_json::json!("2031"), serde_json::json!("won"), u64::from(DAYS)),
            (serde_json::Value::Null, serde_json::json!("open"), 1)
        ]
    );
    Ok(())
}

async fn opposite_moves_at_once(store: Arc<dyn Store>) -> CheckResult {
    /// Round trips per mover. Without migration 9's ordered locks, PostgreSQL's totals
    /// triggers deadlocked within these in each of three runs.
    const ROUND_TRIPS: usize = 400;
    let (_, scope) = tenant(&*store, "moves").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let stages = [stage(&pipe, "Lead")?.id.clone(), stage(&pipe, "Qualified")?.id.clone()];
    let statuses = [CustomerStatus::Active, CustomerStatus::Vip];
    let (mut deals, mut customers) = (Vec::new(), Vec::new());
    for i in 0..2 {
        let deal = NewDeal::new(format!("Mover {i}"), pipe.id.clone(), stages[i].clone(), Money::new(1_000, 0));
        deals.push(store.create_deal(&scope, deal).await.step("create deal")?.id);
        let mut customer = NewCustomer::named(format!("Mover {i}"));
        customer.status = statuses[i];
        customers.push(store.create_customer(&scope, customer).await.step("create customer")?.id);
    }
    // Mover i starts in group i and goes to the other group and back: the two always cross.
    let movers = (0..2).map(|i| {
        let (store, scope, stages) = (store.clone(), scope.clone(), stages.clone());
        let (deal, customer) = (deals[i].clone(), customers[i].clone());
        async move {
            for step in 0..2 * ROUND_TRIPS {
                let to = (i + step + 1) % 2;
                let patch = DealPatch { stage_id: Some(stages[to].clone()), ..Default::default() };
                store.update_deal(&scope, &deal, patch).await?;
                let patch = CustomerPatch { status: Some(statuses[to]), ..Default::default() };
                store.update_customer(&scope, &customer, patch).await?;
            }
            Result::Ok(())
        }
    });
    for moved in join_all(movers).await {
        moved.step("a move")?;
    }
    let page = PageRequest::first(10);
    for i in 0..2 {
        let filter = DealFilter { stage_id: Some(stages[i].clone()), ..Default::default() };
        let listed = store.list_deals(&scope, &filter, &page).await.step("deals by stage")?;
        ensure_eq!(
            (listed.total, listed.items.into_iter().map(|d| d.id).collect::<Vec<_>>()),
            (1, vec![deals[i].clone()])
        );
        let filter = CustomerFilter { status: Some(statuses[i]), ..Default::default() };
        let listed = store.list_customers(&scope, &filter, &page).await.step("customers by status")?;
        ensure_eq!(
            (listed.total, listed.items.into_iter().map(|c| c.id).collect::<Vec<_>>()),
            (1, vec![customers[i].clone()])
        );
    }
    Ok(())
}

async fn failed_multi_row_writes_roll_back(store: Arc<dyn Store>) -> CheckResult {
    let (_, a) = tenant(&*store, "rb").await?;
    let (_, b) = tenant(&*store, "rb-other").await?;
    let foreign = employee(&*store, &b, "Foreign").await?;
    let foreign_stage = pipeline(&*store, &b).await?.stages[0].id.clone();
    let lead = store.create_lead(&a, NewLead::named("Rollback")).await.step("create lead")?;
    // Conversion claims the lead, then fails on the customer's foreign assignee: the claim must roll back.
    let mut customer = NewCustomer::named("Should not exist");
    customer.assigned_to = Some(foreign.id.clone());
    expect_kind(
        store.convert_lead(&a, &lead.id, customer).await,
        ErrorKind::NotFound,
        "conversion with a foreign assignee",
    )?;
    let after = store.get_lead(&a, &lead.id).await.step("lead after")?;
    ensure!(!after.converted && after.converted_customer_id.is_none(), "the lead is not half-converted");
    ensure_eq!(after, lead.clone());
    ensure_eq!(
        store.list_customers(&a, &CustomerFilter::default(), &PageRequest::default()).await.step("customers")?.total,
        0
    );
    // A lead update whose history entry is invalid leaves the lead unchanged.
    let history = NewLeadHistory {
        from_stage_id: None,
        to_stage_id: Some(foreign_stage),
        from_score: None,
        to_score: None,
        changed_by: "u".into(),
        note: None,
    };
    expect_kind(
        store
            .update_lead(&a, &lead.id, LeadPatch { name: Some("Renamed".into()), ..Default::default() }, Some(history))
            .await,
        ErrorKind::NotFound,
        "history with a foreign stage",
    )?;
    ensure_eq!(store.get_lead(&a, &lead.id).await.step("lead after")?.name, "Rollback".to_string());
    ensure!(store.lead_history(&a, &lead.id).await.step("history")?.is_empty(), "no history row was kept");
    // The conversion still works afterwards.
    ensure!(
        store.convert_lead(&a, &lead.id, NewCustomer::named("Real")).await.step("convert")?.newly_converted,
        "converts after the failure"
    );
    Ok(())
}

async fn audit_events(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "aud").await?;
    for (i, outcome) in [AuditOutcome::Ok, AuditOutcome::Denied, AuditOutcome::Ok].iter().enumerate() {
        store
            .record_audit(
                &scope,
                NewAuditEvent {
                    user_id: format!("u{}", i % 2),
                    action: "update_customer".into(),
                    outcome: *outcome,
                    error_kind: None,
                    duration_us: 12,
                    arguments: serde_json::json!({"id": i}),
                    record_type: Some("customer".into()),
                    record_id: Some(format!("cus_{}", i % 2)),
                    changes: vec![FieldChange::between(
                        "status",
                        &serde_json::json!("active"),
                        &serde_json::json!(format!("s{i}")),
                    )],
                    at: Utc::now(),
                },
            )
            .await
            .step("record")?;
    }
    let all = store.list_audit_events(&scope, &AuditFilter::default(), &PageRequest::default()).await.step("list")?;
    ensure_eq!(all.total, 3);
    ensure_eq!(all.items[0].arguments, serde_json::json!({"id": 2}), "newest first");
    let denied = store
        .list_audit_events(
            &scope,
            &AuditFilter { outcome: Some(AuditOutcome::Denied), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("denied")?;
    ensure_eq!(denied.total, 1);
    let u0 = store
        .list_audit_events(
            &scope,
            &AuditFilter { user_id: Some("u0".into()), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("user")?;
    ensure_eq!(u0.total, 2);
    // One record's events, with the record and its changes as recorded.
    let record = store
        .list_audit_events(
            &scope,
            &AuditFilter { record_id: Some("cus_1".into()), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("record")?;
    ensure_eq!(record.total, 1);
    let event = &record.items[0];
    ensure_eq!((event.record_type.as_deref(), event.record_id.as_deref()), (Some("customer"), Some("cus_1")));
    ensure_eq!(event.changes[0].after.as_deref(), Some("s1"));
    Ok(())
}

// --- the assistant: conversations, messages, pending actions -----------------------------------

/// Every page of a list call, checking `total` on each and the page size; `$call` is evaluated
/// with `$page` bound to each page request in turn.
macro_rules! pages_of {
    ($limit:expr, |$page:ident| $call:expr) => {{
        let mut items = Vec::new();
        let mut $page = PageRequest::first($limit);
        let mut total = None;
        loop {
            let batch = $call.await.step(stringify!($call))?;
            if let Some(t) = total {
                ensure_eq!(t, batch.total, "total changed between pages");
            }
            total = Some(batch.total);
            ensure!(batch.items.len() <= $limit as usize, "page larger than its limit");
            items.extend(batch.items);
            match batch.next_cursor {
                Some(cursor) => $page = PageRequest::after($limit, cursor),
                None => break,
            }
        }
        ensure_eq!(total.unwrap_or(0), items.len() as u64, "total of every page");
        items
    }};
}

/// Now, to the microsecond (what a store keeps), so values read back compare equal.
fn micros_now() -> Timestamp {
    let now = Utc::now();
    Timestamp::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

fn new_conversation(user: &str, title: &str) -> NewConversation {
    NewConversation { user_id: user.into(), title: title.into() }
}

fn message(role: MessageRole, text: &str) -> NewMessage {
    NewMessage { role, parts: serde_json::json!([{ "text": text }]) }
}

fn new_action(user: &str, conversation: Option<&ConversationId>, created_at: Timestamp) -> NewPendingAction {
    NewPendingAction {
        user_id: user.into(),
        conversation_id: conversation.cloned(),
        tool: "create_customer".into(),
        arguments: serde_json::json!({ "name": "Acme", "tags": ["vip"] }),
        summary: "Create customer Acme".into(),
        created_at,
        expires_at: created_at + PENDING_ACTION_TTL,
    }
}

/// Checks that `result` is a conflict whose message mentions `needle`.
fn expect_conflict<T: std::fmt::Debug>(result: Result<T>, needle: &str, what: &str) -> CheckResult {
    match result {
        Err(e) if e.kind() == ErrorKind::Conflict => {
            ensure!(e.to_string().contains(needle), "{what}: the conflict should say `{needle}`: {e}");
            Ok(())
        }
        other => expect_kind(other, ErrorKind::Conflict, what),
    }
}

async fn conversations_crud_and_pages(store: Arc<dyn Store>) -> CheckResult {
    let (org, scope) = tenant(&*store, "conv").await?;
    let first = store.create_conversation(&scope, new_conversation("u1", "First")).await.step("create")?;
    ensure_eq!(first.organization_id, org.id);
    ensure_eq!(first.user_id, "u1".to_string());
    ensure_eq!(first.title, "First".to_string());
    ensure_eq!(first.message_count, 0);
    ensure_eq!(first.created_at, first.updated_at);
    ensure!(first.id.as_str().len() > 4, "an id is assigned");
    ensure_eq!(store.get_conversation(&scope, "u1", &first.id).await.step("get")?, first.clone());

    // Shapes are checked.
    let invalid = ErrorKind::InvalidArgument;
    expect_kind(store.create_conversation(&scope, new_conversation("u1", "  ")).await, invalid, "blank title")?;
    expect_kind(
        store.create_conversation(&scope, new_conversation("u1", &"x".repeat(MAX_TITLE + 1))).await,
        invalid,
        "long title",
    )?;
    expect_kind(store.create_conversation(&scope, new_conversation("", "No owner")).await, invalid, "no user")?;

    // Rename.
    let renamed = store
        .update_conversation(&scope, "u1", &first.id, ConversationPatch { title: Some("Renamed".into()) })
        .await
        .step("rename")?;
    ensure_eq!(renamed.title, "Renamed".to_string());
    ensure_eq!(
        (renamed.id.clone(), renamed.created_at, renamed.message_count),
        (first.id.clone(), first.created_at, 0)
    );
    ensure!(renamed.updated_at >= first.updated_at, "renaming moves updated_at forward");
    ensure_eq!(store.get_conversation(&scope, "u1", &first.id).await.step("get renamed")?, renamed.clone());
    let untouched =
        store.update_conversation(&scope, "u1", &first.id, ConversationPatch::default()).await.step("empty patch")?;
    ensure_eq!(untouched, renamed.clone());
    expect_kind(
        store.update_conversation(&scope, "u1", &first.id, ConversationPatch { title: Some(String::new()) }).await,
        invalid,
        "rename to nothing",
    )?;
    ensure_eq!(store.get_conversation(&scope, "u1", &first.id).await.step("get")?.title, "Renamed".to_string());
    expect_kind(
        store
            .update_conversation(&scope, "u1", &ConversationId::from("cnv_missing"), ConversationPatch::default())
            .await,
        ErrorKind::NotFound,
        "rename a missing conversation",
    )?;

    // Pages, newest first, per user.
    let mut created = vec![first.id.clone()];
    for i in 1..25 {
        created.push(
            store.create_conversation(&scope, new_conversation("u1", &format!("Chat {i}"))).await.step("create")?.id,
        );
    }
    for i in 0..3 {
        store.create_conversation(&scope, new_conversation("u2", &format!("Other {i}"))).await.step("create u2")?;
    }
    let listed = pages_of!(10, |page| store.list_conversations(&scope, "u1", &page));
    ensure_eq!(listed.len(), 25);
    ensure!(listed.iter().all(|c| c.user_id == "u1"), "only u1's conversations");
    let listed_ids: Vec<ConversationId> = listed.iter().map(|c| c.id.clone()).collect();
    ensure_eq!(listed_ids, created.iter().rev().cloned().collect::<Vec<_>>(), "newest first");
    ensure_eq!(listed.last().map(|c| c.title.clone()), Some("Renamed".to_string()));
    let page = store.list_conversations(&scope, "u1", &PageRequest::first(10)).await.step("first page")?;
    ensure_eq!((page.items.len(), page.total), (10, 25));
    ensure!(page.next_cursor.is_some(), "a full page has a next cursor");
    ensure_eq!(store.list_conversations(&scope, "u2", &PageRequest::default()).await.step("u2")?.total, 3);
    ensure_eq!(store.list_conversations(&scope, "u3", &PageRequest::default()).await.step("u3")?.total, 0);

    // Delete.
    store.delete_conversation(&scope, "u1", &first.id).await.step("delete")?;
    expect_kind(store.get_conversation(&scope, "u1", &first.id).await, ErrorKind::NotFound, "get deleted")?;
    expect_kind(store.delete_conversation(&scope, "u1", &first.id).await, ErrorKind::NotFound, "delete twice")?;
    ensure_eq!(store.list_conversations(&scope, "u1", &PageRequest::first(10)).await.step("after delete")?.total, 24);
    Ok(())
}

async fn assistant_records_are_per_user(store: Arc<dyn Store>) -> CheckResult {
    let (_, a) = tenant(&*store, "own-a").await?;
    let (_, b) = tenant(&*store, "own-b").await?;
    let now = micros_now();
    let conversation = store.create_conversation(&a, new_conversation("owner", "Mine")).await.step("create")?;
    store
        .append_messages(&a, "owner", &conversation.id, vec![message(MessageRole::User, "secret plans")], now)
        .await
        .step("append")?;
    let action =
        store.create_pending_action(&a, new_action("owner", Some(&conversation.id), now)).await.step("action")?;
    let before = store.get_conversation(&a, "owner", &conversation.id).await.step("get")?;

    // A colleague in the same organization, and the same user id in another organization.
    let page = PageRequest::default();
    let nf = ErrorKind::NotFound;
    for (scope, user, who) in [(&a, "colleague", "a colleague"), (&b, "owner", "another organization")] {
        let id = &conversation.id;
        expect_kind(store.get_conversation(scope, user, id).await, nf, &format!("{who}: get conversation"))?;
        expect_kind(
            store.update_conversation(scope, user, id, ConversationPatch { title: Some("Mine now".into()) }).await,
            nf,
            &format!("{who}: rename"),
        )?;
        expect_kind(
            store.update_conversation(scope, user, id, ConversationPatch::default()).await,
            nf,
            &format!("{who}: empty patch"),
        )?;
        expect_kind(
            store.append_messages(scope, user, id, vec![message(MessageRole::User, "injected")], now).await,
            nf,
            &format!("{who}: append"),
        )?;
        expect_kind(store.append_messages(scope, user, id, vec![], now).await, nf, &format!("{who}: append none"))?;
        expect_kind(store.list_messages(scope, user, id, &page).await, nf, &format!("{who}: list messages"))?;
        expect_kind(store.delete_conversation(scope, user, id).await, nf, &format!("{who}: delete"))?;
        expect_kind(
            store.create_pending_action(scope, new_action(user, Some(id), now)).await,
            nf,
            &format!("{who}: action in a foreign conversation"),
        )?;
        expect_kind(store.get_pending_action(scope, user, &action.id).await, nf, &format!("{who}: get action"))?;
        for to in [ActionStatus::Executing, ActionStatus::Rejected] {
            expect_kind(
                store.decide_pending_action(scope, user, &action.id, to, now).await,
                nf,
                &format!("{who}: decide {to}"),
            )?;
        }
        expect_kind(
            store.finish_pending_action(scope, user, &action.id, ActionStatus::Succeeded, serde_json::json!({})).await,
            nf,
            &format!("{who}: finish"),
        )?;
        ensure_eq!(store.list_conversations(scope, user, &page).await.step("list conversations")?.total, 0, "{who}");
        ensure_eq!(
            store
                .list_pending_actions(scope, user, &PendingActionFilter::default(), &page)
                .await
                .step("list actions")?
                .total,
            0,
            "{who}"
        );
        let by_conversation = PendingActionFilter { conversation_id: Some(id.clone()), ..Default::default() };
        ensure_eq!(
            store.list_pending_actions(scope, user, &by_conversation, &page).await.step("list actions")?.total,
            0,
            "{who}: actions of the foreign conversation"
        );
    }
    // The owner's records are untouched.
    ensure_eq!(store.get_conversation(&a, "owner", &conversation.id).await.step("get after")?, before);
    let messages = store.list_messages(&a, "owner", &conversation.id, &page).await.step("messages after")?;
    ensure_eq!(messages.total, 1);
    ensure_eq!(messages.items[0].parts, serde_json::json!([{ "text": "secret plans" }]));
    ensure_eq!(store.get_pending_action(&a, "owner", &action.id).await.step("action after")?, action.clone());

    // A customer user keeps conversations of their own, in a customer scope.
    let buyer = customer(&*store, &a, "Buyer").await?;
    let customer_scope = Scope::customer(a.organization_id().clone(), buyer.id.clone());
    let theirs =
        store.create_conversation(&customer_scope, new_conversation("buyer", "Help")).await.step("customer create")?;
    store
        .append_messages(
            &customer_scope,
            "buyer",
            &theirs.id,
            vec![message(MessageRole::User, "where is my order")],
            now,
        )
        .await
        .step("customer append")?;
    ensure_eq!(
        store.get_conversation(&customer_scope, "buyer", &theirs.id).await.step("customer get")?.message_count,
        1
    );
    ensure_eq!(
        store.list_messages(&customer_scope, "buyer", &theirs.id, &page).await.step("customer messages")?.total,
        1
    );
    expect_kind(
        store.get_conversation(&customer_scope, "buyer", &conversation.id).await,
        nf,
        "a customer user reading a staff user's conversation",
    )?;
    Ok(())
}

async fn messages_append_in_order(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "msg").await?;
    let conversation = store.create_conversation(&scope, new_conversation("u1", "Order")).await.step("create")?;
    let other = store.create_conversation(&scope, new_conversation("u1", "Other")).await.step("create other")?;
    // One `now` for every append: ids must still follow the order of the appends.
    let now = micros_now();
    let verbatim = serde_json::json!([
        { "text": "thinking", "thought": true, "thoughtSignature": "c2lnbmF0dXJl" },
        { "functionCall": { "id": "call-1", "name": "list_customers", "args": { "limit": 5, "ratio": 2.5, "x": null } } }
    ]);
    let batch = vec![
        message(MessageRole::User, "m00"),
        NewMessage { role: MessageRole::Model, parts: verbatim.clone() },
        message(MessageRole::Tool, "m02"),
    ];
    let appended = store.append_messages(&scope, "u1", &conversation.id, batch.clone(), now).await.step("append")?;
    ensure_eq!(appended.len(), 3);
    for (got, sent) in appended.iter().zip(&batch) {
        ensure_eq!((got.role, &got.parts, got.created_at), (sent.role, &sent.parts, now));
        ensure_eq!(got.conversation_id, conversation.id.clone());
    }
    ensure!(appended.windows(2).all(|w| w[0].id < w[1].id), "ids of one batch increase");
    let mut expected: Vec<Message> = appended.clone();
    for i in 3..33 {
        let role = if i % 2 == 0 { MessageRole::User } else { MessageRole::Model };
        let one = store
            .append_messages(&scope, "u1", &conversation.id, vec![message(role, &format!("m{i:02}"))], now)
            .await
            .step("append one")?;
        ensure_eq!(one.len(), 1);
        expected.extend(one);
        if i % 5 == 0 {
            // Ids made for another time in between must not disturb the order.
            store
                .append_messages(
                    &scope,
                    "u1",
                    &other.id,
                    vec![message(MessageRole::User, "x")],
                    now + Duration::days(1),
                )
                .await
                .step("append elsewhere")?;
        }
    }
    let listed = pages_of!(7, |page| store.list_messages(&scope, "u1", &conversation.id, &page));
    ensure_eq!(listed.len(), 33);
    ensure!(listed.windows(2).all(|w| w[0].id > w[1].id), "newest first by id");
    let oldest_first: Vec<Message> = listed.into_iter().rev().collect();
    ensure_eq!(oldest_first, expected, "messages read back in the order they were appended");
    ensure_eq!(oldest_first[1].parts, verbatim, "parts are kept verbatim");
    let texts: Vec<String> = oldest_first
        .iter()
        .filter_map(|m| m.parts[0]["text"].as_str().map(str::to_owned))
        .filter(|t| t != "thinking")
        .collect();
    ensure_eq!(texts, (0..33).filter(|i| *i != 1).map(|i| format!("m{i:02}")).collect::<Vec<_>>());
    let latest = store.list_messages(&scope, "u1", &conversation.id, &PageRequest::first(2)).await.step("latest")?;
    ensure_eq!((latest.total, latest.items[0].parts[0]["text"].clone()), (33, serde_json::json!("m32")));

    let after = store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?;
    ensure_eq!(after.message_count, 33);
    ensure_eq!(after.updated_at, now);
    ensure_eq!(store.get_conversation(&scope, "u1", &other.id).await.step("get other")?.message_count, 6);

    // An empty append changes nothing.
    let later = now + Duration::minutes(5);
    ensure!(
        store.append_messages(&scope, "u1", &conversation.id, vec![], later).await.step("append none")?.is_empty(),
        "nothing appended"
    );
    ensure_eq!(store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?, after);

    // A later append moves updated_at.
    store
        .append_messages(&scope, "u1", &conversation.id, vec![message(MessageRole::System, "note")], later)
        .await
        .step("append later")?;
    let last = store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?;
    ensure_eq!((last.message_count, last.updated_at), (34, later));
    Ok(())
}

async fn concurrent_appends_keep_batches_whole(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "appends").await?;
    let conversation = store.create_conversation(&scope, new_conversation("u1", "Busy")).await.step("create")?;
    let now = micros_now();
    let appends = (0..10).map(|i| {
        let (store, scope, id) = (store.clone(), scope.clone(), conversation.id.clone());
        let batch = vec![message(MessageRole::User, &format!("{i}-a")), message(MessageRole::Model, &format!("{i}-b"))];
        async move { store.append_messages(&scope, "u1", &id, batch, now).await }
    });
    for appended in join_all(appends).await {
        ensure_eq!(appended.step("concurrent append")?.len(), 2);
    }
    ensure_eq!(store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?.message_count, 20);
    let listed = pages_of!(6, |page| store.list_messages(&scope, "u1", &conversation.id, &page));
    let texts: Vec<String> =
        listed.iter().rev().map(|m| m.parts[0]["text"].as_str().unwrap_or_default().to_owned()).collect();
    ensure_eq!(texts.len(), 20);
    for pair in texts.chunks(2) {
        let batch = pair[0].trim_end_matches("-a");
        ensure_eq!(
            pair.to_vec(),
            vec![format!("{batch}-a"), format!("{batch}-b")],
            "a batch reads back whole, in order"
        );
    }
    ensure_eq!(texts.iter().collect::<BTreeSet<_>>().len(), 20);
    Ok(())
}

async fn append_is_atomic(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "atomic").await?;
    let now = micros_now();
    let conversation = store.create_conversation(&scope, new_conversation("u1", "Atomic")).await.step("create")?;
    store
        .append_messages(&scope, "u1", &conversation.id, vec![message(MessageRole::User, "kept")], now)
        .await
        .step("append")?;
    let before = store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?;
    let later = now + Duration::minutes(1);
    for (bad, what) in [
        (serde_json::json!([]), "empty parts"),
        (serde_json::json!("text"), "parts that are not an array"),
        (serde_json::json!([{ "text": "ok" }, 42]), "a part that is not an object"),
    ] {
        let batch = vec![
            message(MessageRole::User, "lost 1"),
            message(MessageRole::Model, "lost 2"),
            NewMessage { role: MessageRole::Tool, parts: bad },
        ];
        expect_kind(
            store.append_messages(&scope, "u1", &conversation.id, batch, later).await,
            ErrorKind::InvalidArgument,
            what,
        )?;
        ensure_eq!(store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?, before.clone(), "{what}");
        let messages =
            store.list_messages(&scope, "u1", &conversation.id, &PageRequest::default()).await.step("list")?;
        ensure_eq!(messages.total, 1, "{what}: nothing written");
    }
    // Appending to someone else's or a missing conversation writes nothing either.
    let foreign = store.create_conversation(&scope, new_conversation("u2", "Theirs")).await.step("create u2")?;
    for (user, id, what) in [
        ("u1", &foreign.id, "another user's conversation"),
        ("u1", &ConversationId::from("cnv_000000000000000000000000"), "a missing conversation"),
    ] {
        expect_kind(
            store.append_messages(&scope, user, id, vec![message(MessageRole::User, "stray")], later).await,
            ErrorKind::NotFound,
            what,
        )?;
    }
    ensure_eq!(store.get_conversation(&scope, "u2", &foreign.id).await.step("get u2")?, foreign.clone());
    ensure_eq!(
        store.list_messages(&scope, "u2", &foreign.id, &PageRequest::default()).await.step("u2 messages")?.total,
        0
    );
    ensure_eq!(store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?, before);
    Ok(())
}

async fn deleting_a_conversation_cascades(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "cascade").await?;
    let now = micros_now();
    let doomed = store.create_conversation(&scope, new_conversation("u1", "Doomed")).await.step("create")?;
    let kept = store.create_conversation(&scope, new_conversation("u1", "Kept")).await.step("create")?;
    for id in [&doomed.id, &kept.id] {
        store
            .append_messages(
                &scope,
                "u1",
                id,
                vec![message(MessageRole::User, "hello"), message(MessageRole::Model, "hi")],
                now,
            )
            .await
            .step("append")?;
    }
    let action = |created_at: Timestamp| {
        let (store, scope, doomed) = (store.clone(), scope.clone(), doomed.id.clone());
        async move { store.create_pending_action(&scope, new_action("u1", Some(&doomed), created_at)).await }
    };
    let decide = |id: ActionId, to: ActionStatus| {
        let (store, scope) = (store.clone(), scope.clone());
        async move { store.decide_pending_action(&scope, "u1", &id, to, now).await }
    };
    let finish = |id: ActionId, to: ActionStatus| {
        let (store, scope) = (store.clone(), scope.clone());
        async move { store.finish_pending_action(&scope, "u1", &id, to, serde_json::json!({ "done": to })).await }
    };
    // Still pending (one of them expired): they go with the conversation.
    let waiting = action(now).await.step("action")?;
    let expired = action(now - Duration::hours(1)).await.step("expired action")?;
    // Decided on: they stay, unlinked.
    let executing = action(now).await.step("action")?;
    decide(executing.id.clone(), ActionStatus::Executing).await.step("confirm")?;
    let succeeded = action(now).await.step("action")?;
    decide(succeeded.id.clone(), ActionStatus::Executing).await.step("confirm")?;
    finish(succeeded.id.clone(), ActionStatus::Succeeded).await.step("succeed")?;
    let failed = action(now).await.step("action")?;
    decide(failed.id.clone(), ActionStatus::Executing).await.step("confirm")?;
    finish(failed.id.clone(), ActionStatus::Failed).await.step("fail")?;
    let rejected = action(now).await.step("action")?;
    decide(rejected.id.clone(), ActionStatus::Rejected).await.step("reject")?;
    let elsewhere = store.create_pending_action(&scope, new_action("u1", Some(&kept.id), now)).await.step("action")?;
    let unlinked = store.create_pending_action(&scope, new_action("u1", None, now)).await.step("action")?;
    let mut decided = Vec::new();
    for a in [&executing, &succeeded, &failed, &rejected] {
        decided.push(store.get_pending_action(&scope, "u1", &a.id).await.step("get decided")?);
    }

    store.delete_conversation(&scope, "u1", &doomed.id).await.step("delete")?;
    let nf = ErrorKind::NotFound;
    expect_kind(store.get_conversation(&scope, "u1", &doomed.id).await, nf, "deleted conversation")?;
    expect_kind(
        store.list_messages(&scope, "u1", &doomed.id, &PageRequest::default()).await,
        nf,
        "messages of a deleted conversation",
    )?;
    expect_kind(store.get_pending_action(&scope, "u1", &waiting.id).await, nf, "its pending action")?;
    expect_kind(store.get_pending_action(&scope, "u1", &expired.id).await, nf, "its expired pending action")?;
    expect_kind(
        store.decide_pending_action(&scope, "u1", &waiting.id, ActionStatus::Executing, now).await,
        nf,
        "confirm a deleted action",
    )?;
    // The decided ones are kept as they were, without their conversation.
    for before in &decided {
        let after = store.get_pending_action(&scope, "u1", &before.id).await.step("get kept action")?;
        ensure_eq!(after, PendingAction { conversation_id: None, ..before.clone() }, "{} action", before.status);
    }
    // A confirm that was running finishes its action.
    let finished = finish(executing.id.clone(), ActionStatus::Succeeded).await.step("finish after delete")?;
    ensure_eq!((finished.status, finished.conversation_id), (ActionStatus::Succeeded, None));
    let left = store
        .list_pending_actions(&scope, "u1", &PendingActionFilter::default(), &PageRequest::default())
        .await
        .step("actions left")?;
    ensure_eq!(
        ids(&left.items, |a| a.id.0.clone()),
        ids(&[&elsewhere, &unlinked, &executing, &succeeded, &failed, &rejected], |a| a.id.0.clone())
    );
    let by_doomed = PendingActionFilter { conversation_id: Some(doomed.id.clone()), ..Default::default() };
    ensure_eq!(
        store.list_pending_actions(&scope, "u1", &by_doomed, &PageRequest::default()).await.step("by doomed")?.total,
        0
    );
    let by_kept = PendingActionFilter { conversation_id: Some(kept.id.clone()), ..Default::default() };
    let of_kept = store.list_pending_actions(&scope, "u1", &by_kept, &PageRequest::default()).await.step("by kept")?;
    ensure_eq!(of_kept.items, vec![elsewhere.clone()], "another conversation's actions are untouched");
    ensure_eq!(store.get_conversation(&scope, "u1", &kept.id).await.step("kept")?.message_count, 2);
    ensure_eq!(
        store.list_messages(&scope, "u1", &kept.id, &PageRequest::default()).await.step("kept messages")?.total,
        2
    );
    ensure_eq!(store.list_conversations(&scope, "u1", &PageRequest::default()).await.step("list")?.total, 1);
    Ok(())
}

async fn pending_action_lifecycle(store: Arc<dyn Store>) -> CheckResult {
    let (org, scope) = tenant(&*store, "pact").await?;
    let t0 = micros_now();
    let conversation = store.create_conversation(&scope, new_conversation("u1", "Writes")).await.step("create")?;
    let new = new_action("u1", Some(&conversation.id), t0);
    let action = store.create_pending_action(&scope, new.clone()).await.step("create action")?;
    ensure_eq!(action.organization_id, org.id);
    ensure_eq!(
        (&action.user_id, &action.conversation_id, &action.tool, &action.arguments, &action.summary),
        (&new.user_id, &new.conversation_id, &new.tool, &new.arguments, &new.summary)
    );
    ensure_eq!((action.status, action.created_at, action.expires_at), (ActionStatus::Pending, t0, new.expires_at));
    ensure_eq!((action.outcome.clone(), action.decided_at), (None, None));
    ensure!(action.is_open(t0), "a new action is open");
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, action.clone());

    // Shapes are checked.
    let invalid = ErrorKind::InvalidArgument;
    let mut bad = new.clone();
    bad.arguments = serde_json::json!(["not", "an", "object"]);
    expect_kind(store.create_pending_action(&scope, bad).await, invalid, "arguments that are not an object")?;
    let mut bad = new.clone();
    bad.expires_at = bad.created_at;
    expect_kind(store.create_pending_action(&scope, bad).await, invalid, "expiring when created")?;
    let mut bad = new.clone();
    bad.tool = String::new();
    expect_kind(store.create_pending_action(&scope, bad).await, invalid, "no tool")?;
    let mut bad = new.clone();
    bad.conversation_id = Some(ConversationId::from("cnv_000000000000000000000000"));
    expect_kind(store.create_pending_action(&scope, bad).await, ErrorKind::NotFound, "a missing conversation")?;

    // Not confirmed yet: nothing to finish; a decision must be executing or rejected.
    expect_conflict(
        store.finish_pending_action(&scope, "u1", &action.id, ActionStatus::Succeeded, serde_json::json!({})).await,
        "not been confirmed",
        "finish a pending action",
    )?;
    for to in [ActionStatus::Pending, ActionStatus::Succeeded, ActionStatus::Failed] {
        expect_kind(
            store.decide_pending_action(&scope, "u1", &action.id, to, t0).await,
            invalid,
            &format!("decide to {to}"),
        )?;
    }
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, action.clone());

    // Confirm, then finish.
    let t1 = t0 + Duration::minutes(1);
    let running =
        store.decide_pending_action(&scope, "u1", &action.id, ActionStatus::Executing, t1).await.step("confirm")?;
    ensure_eq!(
        (running.status, running.decided_at, running.outcome.clone()),
        (ActionStatus::Executing, Some(t1), None)
    );
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, running.clone());
    expect_conflict(
        store.decide_pending_action(&scope, "u1", &action.id, ActionStatus::Executing, t1).await,
        "already confirmed",
        "confirm twice",
    )?;
    expect_conflict(
        store.decide_pending_action(&scope, "u1", &action.id, ActionStatus::Rejected, t1).await,
        "already confirmed",
        "reject after confirming",
    )?;
    expect_kind(
        store.finish_pending_action(&scope, "u1", &action.id, ActionStatus::Rejected, serde_json::json!({})).await,
        invalid,
        "finish as rejected",
    )?;
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, running.clone());
    let outcome = serde_json::json!({ "id": "cus_1", "name": "Acme" });
    let done = store
        .finish_pending_action(&scope, "u1", &action.id, ActionStatus::Succeeded, outcome.clone())
        .await
        .step("finish")?;
    ensure_eq!(
        (done.status, done.outcome.clone(), done.decided_at),
        (ActionStatus::Succeeded, Some(outcome), Some(t1))
    );
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, done.clone());
    expect_conflict(
        store.finish_pending_action(&scope, "u1", &action.id, ActionStatus::Failed, serde_json::json!({})).await,
        "already finished",
        "finish twice",
    )?;
    expect_conflict(
        store.decide_pending_action(&scope, "u1", &action.id, ActionStatus::Executing, t1).await,
        "already confirmed",
        "confirm a finished action",
    )?;
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, done);

    // A failure is recorded too.
    let failing = store.create_pending_action(&scope, new_action("u1", None, t0)).await.step("create")?;
    store.decide_pending_action(&scope, "u1", &failing.id, ActionStatus::Executing, t1).await.step("confirm")?;
    let error = serde_json::json!({ "error": { "kind": "conflict", "message": "boom" } });
    let failed = store
        .finish_pending_action(&scope, "u1", &failing.id, ActionStatus::Failed, error.clone())
        .await
        .step("fail")?;
    ensure_eq!((failed.status, failed.outcome), (ActionStatus::Failed, Some(error)));

    // Reject.
    let rejected = store.create_pending_action(&scope, new_action("u1", None, t0)).await.step("create")?;
    let decided =
        store.decide_pending_action(&scope, "u1", &rejected.id, ActionStatus::Rejected, t1).await.step("reject")?;
    ensure_eq!((decided.status, decided.decided_at), (ActionStatus::Rejected, Some(t1)));
    expect_conflict(
        store.decide_pending_action(&scope, "u1", &rejected.id, ActionStatus::Executing, t1).await,
        "already rejected",
        "confirm after rejecting",
    )?;
    expect_conflict(
        store.finish_pending_action(&scope, "u1", &rejected.id, ActionStatus::Succeeded, serde_json::json!({})).await,
        "rejected",
        "finish a rejected action",
    )?;
    ensure_eq!(store.get_pending_action(&scope, "u1", &rejected.id).await.step("get")?, decided);

    // Expired: neither confirmed nor rejected, and still pending.
    let expiring = store.create_pending_action(&scope, new_action("u1", None, t0)).await.step("create")?;
    for (to, at) in [
        (ActionStatus::Executing, expiring.expires_at),
        (ActionStatus::Executing, expiring.expires_at + Duration::hours(1)),
        (ActionStatus::Rejected, expiring.expires_at),
    ] {
        expect_conflict(
            store.decide_pending_action(&scope, "u1", &expiring.id, to, at).await,
            "expired",
            &format!("decide {to} an expired action"),
        )?;
    }
    let still = store.get_pending_action(&scope, "u1", &expiring.id).await.step("get expired")?;
    ensure_eq!((still.status, still.decided_at), (ActionStatus::Pending, None));
    ensure_eq!(still, expiring.clone());
    ensure!(!still.is_open(still.expires_at), "an action is closed at its expiry");
    // Past its expiry an action reads as expired, and lists say so.
    let stale = new_action("u1", None, t0 - Duration::hours(1));
    let stale = store.create_pending_action(&scope, stale).await.step("create stale")?;
    ensure_eq!(stale.status, ActionStatus::Expired);
    ensure_eq!(
        store.get_pending_action(&scope, "u1", &stale.id).await.step("get stale")?.status,
        ActionStatus::Expired
    );
    let listed = |status| PendingActionFilter { status: Some(status), ..Default::default() };
    let (only_pending, only_expired, first) =
        (listed(ActionStatus::Pending), listed(ActionStatus::Expired), PageRequest::default());
    let pending = store.list_pending_actions(&scope, "u1", &only_pending, &first).await.step("list pending")?;
    ensure!(pending.items.iter().all(|a| a.id != stale.id), "an expired action is not listed as pending");
    ensure!(pending.items.iter().any(|a| a.id == expiring.id), "an open action is listed as pending");
    let expired = store.list_pending_actions(&scope, "u1", &only_expired, &first).await.step("list expired")?;
    ensure_eq!(expired.items.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), vec![stale.id.clone()]);
    // Just before the expiry it can still be confirmed.
    let last_moment = expiring.expires_at - Duration::microseconds(1);
    ensure_eq!(
        store
            .decide_pending_action(&scope, "u1", &expiring.id, ActionStatus::Executing, last_moment)
            .await
            .step("confirm at the last moment")?
            .status,
        ActionStatus::Executing
    );

    // Unknown ids.
    let missing = ActionId::from("pac_000000000000000000000000");
    let nf = ErrorKind::NotFound;
    expect_kind(store.get_pending_action(&scope, "u1", &missing).await, nf, "get missing")?;
    expect_kind(
        store.decide_pending_action(&scope, "u1", &missing, ActionStatus::Executing, t1).await,
        nf,
        "confirm missing",
    )?;
    expect_kind(
        store.finish_pending_action(&scope, "u1", &missing, ActionStatus::Succeeded, serde_json::json!({})).await,
        nf,
        "finish missing",
    )?;
    Ok(())
}

/// An action left `executing` past [`ACTION_RUN_LIMIT`] (its process stopped mid-run) reads and
/// lists as `failed` with the interrupted outcome, and its end can no longer be recorded.
async fn a_run_cut_off_reads_as_failed(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "cutoff").await?;
    let now = micros_now();
    let proposed = now - ACTION_RUN_LIMIT - Duration::minutes(1);
    let stuck = store.create_pending_action(&scope, new_action("u1", None, proposed)).await.step("create")?;
    let confirmed_at = now - ACTION_RUN_LIMIT - Duration::seconds(1);
    store
        .decide_pending_action(&scope, "u1", &stuck.id, ActionStatus::Executing, confirmed_at)
        .await
        .step("confirm")?;
    let running = store.create_pending_action(&scope, new_action("u1", None, now)).await.step("create")?;
    store.decide_pending_action(&scope, "u1", &running.id, ActionStatus::Executing, now).await.step("confirm")?;

    let read = store.get_pending_action(&scope, "u1", &stuck.id).await.step("get the stuck action")?;
    ensure_eq!(
        (read.status, read.outcome, read.decided_at),
        (ActionStatus::Failed, Some(interrupted_outcome()), Some(confirmed_at))
    );
    ensure_eq!(store.get_pending_action(&scope, "u1", &running.id).await.step("get")?.status, ActionStatus::Executing);
    let listed = |status| PendingActionFilter { status: Some(status), ..Default::default() };
    let ids_with = |page: Page<PendingAction>| page.items.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let first = PageRequest::default();
    let failed = store.list_pending_actions(&scope, "u1", &listed(ActionStatus::Failed), &first).await;
    ensure_eq!(ids_with(failed.step("list failed")?), vec![stuck.id.clone()]);
    let executing = store.list_pending_actions(&scope, "u1", &listed(ActionStatus::Executing), &first).await;
    ensure_eq!(ids_with(executing.step("list executing")?), vec![running.id.clone()]);
    let all = store.list_pending_actions(&scope, "u1", &PendingActionFilter::default(), &first).await;
    let all = all.step("list all")?;
    ensure!(
        all.items.iter().any(|a| a.id == stuck.id && a.status == ActionStatus::Failed),
        "an unfiltered list shows the stuck action as failed"
    );

    expect_conflict(
        store.finish_pending_action(&scope, "u1", &stuck.id, ActionStatus::Succeeded, serde_json::json!({})).await,
        "already finished",
        "finish a run that was cut off",
    )?;
    expect_conflict(
        store.decide_pending_action(&scope, "u1", &stuck.id, ActionStatus::Rejected, now).await,
        "already confirmed",
        "reject a run that was cut off",
    )?;
    let finished = store
        .finish_pending_action(&scope, "u1", &running.id, ActionStatus::Succeeded, serde_json::json!({"ok": true}))
        .await
        .step("finish a run within the limit")?;
    ensure_eq!(finished.status, ActionStatus::Succeeded);
    Ok(())
}

/// [`Store::transaction`]: the calls of a unit of work see each other's writes, are invisible
/// outside until it commits, and take effect together; a failed call inside it leaves nothing
/// and the unit goes on; a mark undoes only what came after it; a dropped unit wrote nothing.
async fn units_of_work_commit_together(store: Arc<dyn Store>) -> CheckResult {
    let (org, scope) = tenant(&*store, "unit").await?;
    let Some(unit) = store.transaction().await.step("start a unit")? else {
        return Ok(()); // A store without units of work records confirmed writes step by step.
    };
    let inside = unit.store();
    let kept = customer(&*inside, &scope, "Kept Ltd").await?;
    ensure_eq!(inside.get_customer(&scope, &kept.id).await.step("read inside")?.name, "Kept Ltd");
    expect_kind(store.get_customer(&scope, &kept.id).await, ErrorKind::NotFound, "read outside before the commit")?;

    // A call that fails in the database (a slug taken) leaves nothing, and the unit goes on.
    let taken = NewOrganization {
        name: "Taken".into(),
        slug: org.slug.clone(),
        industry: None,
        website: None,
        settings: OrganizationSettings::default(),
        active: true,
        created_at: None,
    };
    expect_kind(inside.create_organization(taken).await, ErrorKind::Conflict, "a taken slug inside the unit")?;
    let renamed = CustomerPatch { name: Some("Kept & Renamed".into()), ..Default::default() };
    inside.update_customer(&scope, &kept.id, renamed).await.step("update after a failed call")?;

    unit.mark().await.step("mark")?;
    let undone = customer(&*inside, &scope, "Undone Ltd").await?;
    unit.roll_back_to_mark().await.step("roll back to the mark")?;
    expect_kind(inside.get_customer(&scope, &undone.id).await, ErrorKind::NotFound, "a call after the mark")?;
    let after = customer(&*inside, &scope, "After Ltd").await?;
    unit.commit().await.step("commit")?;

    ensure_eq!(store.get_customer(&scope, &kept.id).await.step("read kept")?.name, "Kept & Renamed");
    store.get_customer(&scope, &after.id).await.step("read the write after the rollback")?;
    expect_kind(store.get_customer(&scope, &undone.id).await, ErrorKind::NotFound, "the rolled-back write")?;
    let everyone = CustomerFilter::default();
    let listed = store.list_customers(&scope, &everyone, &PageRequest::default()).await.step("list")?;
    ensure_eq!(listed.total, 2);
    expect_kind(inside.get_customer(&scope, &kept.id).await, ErrorKind::Internal, "the unit's store after its commit")?;

    // Dropped without a commit: nothing happened, and the store takes writes again at once.
    let dropped = store.transaction().await.step("start another unit")?.ok_or_else(|| "a second unit".to_owned())?;
    let ghost = customer(&*dropped.store(), &scope, "Ghost Ltd").await?;
    drop(dropped);
    expect_kind(store.get_customer(&scope, &ghost.id).await, ErrorKind::NotFound, "a dropped unit's write")?;
    customer(&*store, &scope, "Later Ltd").await?;
    Ok(())
}

/// [`Store::take_rate_budget`]: a full budget spends `burst` units at once, refills one unit
/// per interval, refuses (taking nothing) with the time until enough is back, keeps users,
/// budgets and organizations apart, and lets no two concurrent takers spend the same unit.
async fn rate_budgets_are_leaky_buckets(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "rate").await?;
    let (_, other_org) = tenant(&*store, "rate-other").await?;
    let budget = RateBudget { per_minute: 60, burst: 10 };
    let t0 = micros_now();
    let take = |scope: Scope, user: &'static str, bucket: &'static str, cost: u32, at: Timestamp| {
        let store = store.clone();
        async move { store.take_rate_budget(&scope, user, bucket, budget, cost, at).await }
    };
    for i in 0..10 {
        ensure_eq!(take(scope.clone(), "u1", "chat", 1, t0).await.step("take")?, None, "unit {i} of a full budget");
    }
    let refused = take(scope.clone(), "u1", "chat", 1, t0).await.step("take past the burst")?;
    ensure_eq!(refused, Some(Duration::seconds(1)), "one unit comes back after one interval");
    ensure_eq!(take(scope.clone(), "u2", "chat", 1, t0).await.step("another user")?, None);
    ensure_eq!(take(scope.clone(), "u1", "mcp", 1, t0).await.step("another budget")?, None);
    ensure_eq!(take(other_org.clone(), "u1", "chat", 1, t0).await.step("another organization")?, None);

    // 2.5 intervals later two units are back, not three; a refusal took nothing.
    let later = t0 + Duration::milliseconds(2500);
    ensure_eq!(take(scope.clone(), "u1", "chat", 3, later).await.step("three")?, Some(Duration::milliseconds(500)));
    ensure_eq!(take(scope.clone(), "u1", "chat", 2, later).await.step("two")?, None);
    ensure!(take(scope.clone(), "u1", "chat", 1, later).await.step("one more")?.is_some(), "the budget is spent");
    // A long pause fills it again, to the burst and no further.
    let much_later = t0 + Duration::hours(1);
    ensure_eq!(take(scope.clone(), "u1", "chat", 10, much_later).await.step("a full burst")?, None);
    ensure!(
        take(scope.clone(), "u1", "chat", 1, much_later).await.step("past it")?.is_some(),
        "no more than the burst"
    );
    expect_kind(
        take(scope.clone(), "u1", "chat", 11, much_later).await,
        ErrorKind::InvalidArgument,
        "a cost past the burst",
    )?;
    expect_kind(take(scope.clone(), "u1", "chat", 0, much_later).await, ErrorKind::InvalidArgument, "no cost")?;

    // Concurrent takers share the budget exactly.
    let racers = (0..25).map(|_| take(scope.clone(), "racer", "chat", 1, t0));
    let taken = join_all(racers).await.into_iter().collect::<Result<Vec<_>>>().step("race")?;
    ensure_eq!(taken.iter().filter(|wait| wait.is_none()).count(), 10, "units spent by 25 concurrent takers");
    Ok(())
}

async fn concurrent_decisions_have_one_winner(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "race").await?;
    let now = micros_now();
    // 20 confirmations of one action.
    let action = store.create_pending_action(&scope, new_action("u1", None, now)).await.step("create")?;
    let attempts = (0..20).map(|_| {
        let (store, scope, id) = (store.clone(), scope.clone(), action.id.clone());
        async move { store.decide_pending_action(&scope, "u1", &id, ActionStatus::Executing, now).await }
    });
    let results = join_all(attempts).await;
    let mut winners = Vec::new();
    for result in results {
        match result {
            Ok(won) => winners.push(won),
            Err(e) if e.kind() == ErrorKind::Conflict => {}
            Err(e) => return Err(format!("a concurrent confirmation failed with {} ({e})", e.kind())),
        }
    }
    ensure_eq!(winners.len(), 1, "exactly one confirmation wins");
    ensure_eq!(winners[0].status, ActionStatus::Executing);
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, winners[0].clone());

    // Confirmations racing rejections: one decision, and it is the one that stuck.
    let action = store.create_pending_action(&scope, new_action("u1", None, now)).await.step("create")?;
    let attempts = (0..20).map(|i| {
        let (store, scope, id) = (store.clone(), scope.clone(), action.id.clone());
        let to = if i % 2 == 0 { ActionStatus::Executing } else { ActionStatus::Rejected };
        async move { store.decide_pending_action(&scope, "u1", &id, to, now).await }
    });
    let results = join_all(attempts).await;
    let mut winners = Vec::new();
    for result in results {
        match result {
            Ok(won) => winners.push(won),
            Err(e) if e.kind() == ErrorKind::Conflict => {}
            Err(e) => return Err(format!("a concurrent decision failed with {} ({e})", e.kind())),
        }
    }
    ensure_eq!(winners.len(), 1, "exactly one decision wins");
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?.status, winners[0].status);
    Ok(())
}

async fn pending_action_filters(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "pfilter").await?;
    let now = micros_now();
    let c1 = store.create_conversation(&scope, new_conversation("u1", "One")).await.step("create")?;
    let c2 = store.create_conversation(&scope, new_conversation("u1", "Two")).await.step("create")?;
    let mut created = Vec::new();
    for conversation in [Some(&c1.id), Some(&c2.id), Some(&c1.id), None, Some(&c2.id), Some(&c1.id)] {
        created.push(store.create_pending_action(&scope, new_action("u1", conversation, now)).await.step("create")?);
    }
    store.create_pending_action(&scope, new_action("u2", None, now)).await.step("create u2")?;
    store.decide_pending_action(&scope, "u1", &created[0].id, ActionStatus::Executing, now).await.step("confirm")?;
    store.decide_pending_action(&scope, "u1", &created[1].id, ActionStatus::Rejected, now).await.step("reject")?;

    let all = pages_of!(2, |page| store.list_pending_actions(&scope, "u1", &PendingActionFilter::default(), &page));
    ensure_eq!(
        all.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        created.iter().rev().map(|a| a.id.clone()).collect::<Vec<_>>(),
        "u1's actions, newest first"
    );
    let list = |filter: PendingActionFilter| {
        let (store, scope) = (store.clone(), scope.clone());
        async move {
            store
                .list_pending_actions(&scope, "u1", &filter, &PageRequest::default())
                .await
                .map(|p| (p.total, p.items.into_iter().map(|a| a.id).collect::<BTreeSet<_>>()))
        }
    };
    let expect = |indexes: &[usize]| -> BTreeSet<ActionId> { indexes.iter().map(|i| created[*i].id.clone()).collect() };
    let by = |conversation: Option<&ConversationId>, status: Option<ActionStatus>| PendingActionFilter {
        conversation_id: conversation.cloned(),
        status,
    };
    ensure_eq!(list(by(Some(&c1.id), None)).await.step("c1")?, (3, expect(&[0, 2, 5])));
    ensure_eq!(list(by(Some(&c2.id), None)).await.step("c2")?, (2, expect(&[1, 4])));
    ensure_eq!(list(by(Some(&c1.id), Some(ActionStatus::Pending))).await.step("c1 pending")?, (2, expect(&[2, 5])));
    ensure_eq!(list(by(None, Some(ActionStatus::Pending))).await.step("pending")?, (4, expect(&[2, 3, 4, 5])));
    ensure_eq!(list(by(None, Some(ActionStatus::Executing))).await.step("executing")?, (1, expect(&[0])));
    ensure_eq!(list(by(Some(&c2.id), Some(ActionStatus::Rejected))).await.step("c2 rejected")?, (1, expect(&[1])));
    ensure_eq!(list(by(Some(&c2.id), Some(ActionStatus::Succeeded))).await.step("none")?, (0, BTreeSet::new()));
    let first = store
        .list_pending_actions(&scope, "u1", &PendingActionFilter::default(), &PageRequest::first(4))
        .await
        .step("first page")?;
    ensure_eq!((first.items.len(), first.total), (4, 6));
    ensure_eq!(
        store
            .list_pending_actions(&scope, "u2", &PendingActionFilter::default(), &PageRequest::default())
            .await
            .step("u2")?
            .total,
        1
    );
    Ok(())
}

// --- API tokens ----------------------------------------------------------------------------------

/// A secret hash no other call returns (64 lowercase hex digits, as SHA-256 gives).
fn fresh_hash() -> String {
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
    format!("{:032x}{:032x}", u128::from(std::process::id()), (u128::from(n) << 64) | 0xfeed)
}

fn new_token(user: &str, name: &str, created_at: Timestamp) -> NewApiToken {
    let secret_hash = fresh_hash();
    NewApiToken {
        user_id: user.into(),
        name: name.into(),
        prefix: format!("crm_{}", &secret_hash[56..]),
        secret_hash,
        created_at,
        expires_at: None,
        limits: ToolLimits::default(),
    }
}

async fn api_tokens_round_trip(store: Arc<dyn Store>) -> CheckResult {
    let (org, scope) = tenant(&*store, "tokens").await?;
    let t0 = micros_now();
    let first_new = new_token("u1", "Claude Desktop", t0);
    let first = store.create_api_token(&scope, first_new.clone()).await.step("create")?;
    ensure_eq!(first.organization_id, org.id);
    ensure_eq!(
        (first.user_id.clone(), first.name.clone(), first.prefix.clone()),
        ("u1".to_string(), "Claude Desktop".to_string(), first_new.prefix.clone())
    );
    ensure_eq!((first.created_at, first.expires_at, first.revoked_at), (t0, None, None));
    ensure!(first.id.as_str().len() > 4, "an id is assigned");
    let json = serde_json::to_string(&first).map_err(|e| e.to_string())?;
    ensure!(!json.contains(&first_new.secret_hash), "a token never carries its secret hash: {json}");
    ensure!(first.is_active(t0 + Duration::days(3650)), "a token without expiry stays active");

    let mut second_new = new_token("u1", "CI", t0 + Duration::seconds(1));
    second_new.expires_at = Some(t0 + Duration::days(30));
    // Limits are kept as given: a store that dropped them would widen the token.
    second_new.limits = ToolLimits { read_only: true, toolsets: Some([Toolset::Sales, Toolset::Support].into()) };
    let second = store.create_api_token(&scope, second_new.clone()).await.step("create expiring")?;
    ensure_eq!((second.created_at, second.expires_at), (second_new.created_at, second_new.expires_at));
    ensure_eq!(second.limits, second_new.limits);
    ensure_eq!(first.limits, ToolLimits::default());
    let third = store
        .create_api_token(&scope, new_token("u1", "Laptop", t0 + Duration::seconds(2)))
        .await
        .step("create third")?;
    let theirs = store.create_api_token(&scope, new_token("u2", "Theirs", t0)).await.step("create u2")?;
    ensure!(BTreeSet::from([&first.id, &second.id, &third.id, &theirs.id]).len() == 4, "every token has its own id");

    // Lists: that user's tokens, newest first, as created.
    let listed = store.list_api_tokens(&scope, "u1").await.step("list")?;
    ensure_eq!(listed, vec![third.clone(), second.clone(), first.clone()], "u1's tokens, newest first");
    ensure_eq!(store.list_api_tokens(&scope, "u2").await.step("list u2")?, vec![theirs.clone()]);
    ensure_eq!(store.list_api_tokens(&scope, "u3").await.step("list u3")?, Vec::<ApiToken>::new());

    // Found by hash, in any organization, with nothing else needed.
    ensure_eq!(store.find_api_token(&first_new.secret_hash).await.step("find")?, first.clone());
    ensure_eq!(store.find_api_token(&second_new.secret_hash).await.step("find second")?, second.clone());

    // Revoke: the token says when, and keeps every other value.
    let t1 = t0 + Duration::minutes(5);
    let revoked = store.revoke_api_token(&scope, "u1", &second.id, t1).await.step("revoke")?;
    ensure_eq!(revoked.revoked_at, Some(t1));
    ensure_eq!(ApiToken { revoked_at: None, ..revoked.clone() }, second.clone(), "revoking changes nothing else");
    ensure!(!revoked.is_active(t1), "a revoked token is not active");
    // Revoked tokens are still listed and found (the caller decides).
    ensure_eq!(
        store.list_api_tokens(&scope, "u1").await.step("list after revoke")?,
        vec![third.clone(), revoked.clone(), first.clone()]
    );
    ensure_eq!(store.find_api_token(&second_new.secret_hash).await.step("find revoked")?, revoked.clone());
    ensure_eq!(store.find_api_token(&first_new.secret_hash).await.step("find first")?, first.clone());

    // Shapes are checked before anything is written.
    let invalid = ErrorKind::InvalidArgument;
    let bad = |f: &dyn Fn(&mut NewApiToken)| {
        let mut token = new_token("u1", "Bad", t0);
        f(&mut token);
        token
    };
    for (token, what) in [
        (bad(&|t| t.user_id = String::new()), "no user"),
        (bad(&|t| t.name = "  ".into()), "blank name"),
        (bad(&|t| t.name = "x".repeat(MAX_SHORT_TEXT + 1)), "long name"),
        (bad(&|t| t.secret_hash = "abc123".into()), "short hash"),
        (bad(&|t| t.secret_hash = "z".repeat(64)), "hash that is not hex"),
        (bad(&|t| t.secret_hash = "secret-token-in-clear".into()), "a secret instead of a hash"),
        (bad(&|t| t.expires_at = Some(t0)), "expires when created"),
        (bad(&|t| t.expires_at = Some(t0 - Duration::hours(1))), "expires before created"),
    ] {
        expect_kind(store.create_api_token(&scope, token).await, invalid, what)?;
    }
    ensure_eq!(store.list_api_tokens(&scope, "u1").await.step("list after bad")?.len(), 3, "nothing written");

    // Unknown ids.
    expect_kind(
        store.revoke_api_token(&scope, "u1", &ApiTokenId::from("tok_000000000000000000000000"), t1).await,
        ErrorKind::NotFound,
        "revoke a missing token",
    )?;
    Ok(())
}

async fn api_tokens_are_per_user(store: Arc<dyn Store>) -> CheckResult {
    let (org_a, a) = tenant(&*store, "tok-a").await?;
    let (_, b) = tenant(&*store, "tok-b").await?;
    let now = micros_now();
    let new = new_token("owner", "Mine", now);
    let token = store.create_api_token(&a, new.clone()).await.step("create")?;
    // The same user id has a token of its own in B.
    let in_b = store.create_api_token(&b, new_token("owner", "In B", now)).await.step("create in b")?;

    let nf = ErrorKind::NotFound;
    for (scope, user, who) in [(&a, "colleague", "a colleague"), (&b, "owner", "the same user in another organization")]
    {
        expect_kind(store.revoke_api_token(scope, user, &token.id, now).await, nf, &format!("{who}: revoke"))?;
        let listed = store.list_api_tokens(scope, user).await.step("list")?;
        ensure!(listed.iter().all(|t| t.id != token.id), "{who} listed the owner's token");
    }
    ensure_eq!(store.list_api_tokens(&a, "colleague").await.step("colleague list")?, Vec::<ApiToken>::new());
    ensure_eq!(store.list_api_tokens(&b, "owner").await.step("list in b")?, vec![in_b.clone()]);
    expect_kind(store.revoke_api_token(&a, "owner", &in_b.id, now).await, nf, "revoke B's token from A")?;

    // Untouched, and still found (with its own organization) by hash.
    ensure_eq!(store.list_api_tokens(&a, "owner").await.step("owner list")?, vec![token.clone()]);
    let found = store.find_api_token(&new.secret_hash).await.step("find")?;
    ensure_eq!(found.clone(), token.clone());
    ensure_eq!((found.organization_id, found.user_id, found.revoked_at), (org_a.id, "owner".to_string(), None));
    Ok(())
}

async fn revoking_a_token_keeps_the_first_time(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "revoke").await?;
    let t0 = micros_now();
    let token = store.create_api_token(&scope, new_token("u1", "Twice", t0)).await.step("create")?;
    let t1 = t0 + Duration::minutes(1);
    let first = store.revoke_api_token(&scope, "u1", &token.id, t1).await.step("revoke")?;
    ensure_eq!(first.revoked_at, Some(t1));
    let again = store.revoke_api_token(&scope, "u1", &token.id, t1 + Duration::hours(1)).await.step("revoke again")?;
    ensure_eq!(again, first.clone(), "a second revocation changes nothing");
    ensure_eq!(store.list_api_tokens(&scope, "u1").await.step("list")?, vec![first.clone()]);

    // Concurrent revocations: every one succeeds and reports the one time that stuck.
    let raced = store.create_api_token(&scope, new_token("u1", "Raced", t0)).await.step("create")?;
    let attempts = (0..10).map(|i| {
        let (store, scope, id) = (store.clone(), scope.clone(), raced.id.clone());
        async move { store.revoke_api_token(&scope, "u1", &id, t1 + Duration::seconds(i)).await }
    });
    let mut times = BTreeSet::new();
    for result in join_all(attempts).await {
        times.insert(result.step("concurrent revoke")?.revoked_at);
    }
    ensure_eq!(times.len(), 1, "every revocation reports the same time: {times:?}");
    let stuck = times.into_iter().next().flatten();
    ensure!(
        stuck.is_some_and(|t| t >= t1 && t < t1 + Duration::seconds(10)),
        "the time is one of the revocations': {stuck:?}"
    );
    let stored = store.list_api_tokens(&scope, "u1").await.step("list")?;
    ensure_eq!(stored.iter().find(|t| t.id == raced.id).map(|t| t.revoked_at), Some(stuck));

    // is_active follows revocation and expiry, on values read back.
    let mut expiring = new_token("u1", "Expiring", t0);
    expiring.expires_at = Some(t0 + Duration::hours(1));
    let hash = expiring.secret_hash.clone();
    store.create_api_token(&scope, expiring).await.step("create expiring")?;
    let expiring = store.find_api_token(&hash).await.step("find expiring")?;
    ensure!(expiring.is_active(t0), "active when created");
    ensure!(expiring.is_active(t0 + Duration::minutes(59)), "active before it expires");
    ensure!(!expiring.is_active(t0 + Duration::hours(1)), "not active when it expires");
    ensure!(!expiring.is_active(t0 + Duration::days(1)), "not active after it expired");
    ensure!(!first.is_active(t0 + Duration::seconds(30)), "a revoked token is not active, even before it was revoked");
    let fresh = store.create_api_token(&scope, new_token("u1", "Fresh", t0)).await.step("create fresh")?;
    ensure!(fresh.is_active(t1), "a new token is active");
    let revoked = store.revoke_api_token(&scope, "u1", &fresh.id, t1).await.step("revoke fresh")?;
    ensure!(!revoked.is_active(t1), "revoked: not active");
    ensure!(!revoked.is_active(t0), "revoked: not active at any time");
    Ok(())
}

async fn api_token_hashes_are_unique(store: Arc<dyn Store>) -> CheckResult {
    let (_, a) = tenant(&*store, "hash-a").await?;
    let (_, b) = tenant(&*store, "hash-b").await?;
    let now = micros_now();
    let original = new_token("u1", "Original", now);
    let token = store.create_api_token(&a, original.clone()).await.step("create")?;
    // The same hash again: for the same user, another user, another organization.
    for (scope, user, what) in [(&a, "u1", "same user"), (&a, "u2", "another user"), (&b, "u1", "another organization")]
    {
        let mut copy = new_token(user, "Copy", now + Duration::seconds(1));
        copy.secret_hash = original.secret_hash.clone();
        expect_kind(
            store.create_api_token(scope, copy).await,
            ErrorKind::Conflict,
            &format!("duplicate hash: {what}"),
        )?;
    }
    // Nothing was written by the refused ones.
    ensure_eq!(store.list_api_tokens(&a, "u1").await.step("list")?, vec![token.clone()]);
    ensure_eq!(store.list_api_tokens(&a, "u2").await.step("list u2")?, Vec::<ApiToken>::new());
    ensure_eq!(store.list_api_tokens(&b, "u1").await.step("list b")?, Vec::<ApiToken>::new());
    ensure_eq!(store.find_api_token(&original.secret_hash).await.step("find")?, token.clone());

    // Unknown hashes are not found, whatever their shape.
    let nf = ErrorKind::NotFound;
    expect_kind(store.find_api_token(&fresh_hash()).await, nf, "unknown hash")?;
    expect_kind(store.find_api_token("").await, nf, "empty hash")?;
    expect_kind(store.find_api_token("not a hash").await, nf, "malformed hash")?;
    expect_kind(store.find_api_token(&original.prefix).await, nf, "a token's prefix")?;
    expect_kind(store.find_api_token(token.id.as_str()).await, nf, "a token's id")?;
    Ok(())
}

/// Tenant and customer isolation of customers alone, so a partial (host) store that keeps only
/// customers is held to it too; [`tenant_isolation`] covers every entity of a full store.
async fn customer_isolation(store: Arc<dyn Store>) -> CheckResult {
    let (_, a) = tenant(&*store, "ci-a").await?;
    let (_, b) = tenant(&*store, "ci-b").await?;
    let mine = customer(&*store, &a, "alpha one").await?;
    let neighbour = customer(&*store, &a, "alpha two").await?;
    let foreign = customer(&*store, &b, "bravo one").await?;
    let page = PageRequest::first(100);
    let nf = ErrorKind::NotFound;

    let listed = store.list_customers(&a, &CustomerFilter::default(), &page).await.step("list A")?;
    ensure_eq!(listed.total, 2, "A sees its own two customers");
    ensure!(!listed.items.iter().any(|c| c.id == foreign.id), "A listed B's customer");
    let search = CustomerFilter { search: Some("bravo".into()), ..Default::default() };
    ensure_eq!(store.list_customers(&a, &search, &page).await.step("search A")?.total, 0, "search crosses tenants");
    expect_kind(store.get_customer(&a, &foreign.id).await, nf, "get B's customer from A")?;
    let rename = CustomerPatch { name: Some("hijacked".into()), ..Default::default() };
    expect_kind(store.update_customer(&a, &foreign.id, rename.clone()).await, nf, "update B's customer from A")?;
    ensure_eq!(store.get_customer(&b, &foreign.id).await.step("B's customer")?.name, "bravo one");

    // A customer sees only their own record and may not write customers.
    let own = Scope::customer(a.organization_id().clone(), mine.id.clone());
    let seen = store.list_customers(&own, &CustomerFilter::default(), &page).await.step("own list")?;
    ensure_eq!(seen.items.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![mine.id.clone()]);
    ensure_eq!(seen.total, 1);
    expect_kind(store.get_customer(&own, &neighbour.id).await, nf, "another customer's record")?;
    ensure!(
        store.update_customer(&own, &neighbour.id, rename.clone()).await.is_err(),
        "a customer updated another customer"
    );
    ensure!(store.create_customer(&own, NewCustomer::named("sneaky")).await.is_err(), "a customer created a customer");
    ensure_eq!(store.get_customer(&a, &neighbour.id).await.step("neighbour")?.name, "alpha two");
    ensure_eq!(store.list_customers(&a, &CustomerFilter::default(), &page).await.step("after")?.total, 2);
    Ok(())
}

/// Tenant and customer isolation of issues and their comments, for stores that keep customers
/// and issues (with or without the rest).
async fn issue_isolation(store: Arc<dyn Store>) -> CheckResult {
    let (_, a) = tenant(&*store, "ii-a").await?;
    let (_, b) = tenant(&*store, "ii-b").await?;
    let me = customer(&*store, &a, "alpha me").await?;
    let other = customer(&*store, &a, "alpha other").await?;
    let foreign_customer = customer(&*store, &b, "bravo customer").await?;
    let issue_for = |title: &str, customer: &Customer| {
        let mut new = NewIssue::titled(title);
        new.customer_id = Some(customer.id.clone());
        new
    };
    let my_issue = store.create_issue(&a, issue_for("mine", &me)).await.step("my issue")?;
    let other_issue = store.create_issue(&a, issue_for("theirs", &other)).await.step("other issue")?;
    let foreign = store.create_issue(&b, issue_for("bravo issue", &foreign_customer)).await.step("B's issue")?;
    let comment = |issue: &Issue, body: &str, internal: bool| NewIssueComment {
        issue_id: issue.id.clone(),
        author_user_id: "staff".into(),
        author_name: "Staff".into(),
        body: body.into(),
        internal,
    };
    store.add_issue_comment(&a, comment(&my_issue, "public note", false)).await.step("public comment")?;
    store.add_issue_comment(&a, comment(&my_issue, "internal note", true)).await.step("internal comment")?;
    let page = PageRequest::first(100);
    let nf = ErrorKind::NotFound;

    let listed = store.list_issues(&a, &IssueFilter::default(), &page).await.step("list A")?;
    ensure_eq!(listed.total, 2);
    ensure!(!listed.items.iter().any(|i| i.id == foreign.id), "A listed B's issue");
    expect_kind(store.get_issue(&a, &foreign.id).await, nf, "get B's issue from A")?;
    let retitle = IssuePatch { title: Some("hijacked".into()), ..Default::default() };
    expect_kind(store.update_issue(&a, &foreign.id, retitle.clone()).await, nf, "update B's issue from A")?;
    expect_kind(store.add_issue_comment(&a, comment(&foreign, "x", false)).await, nf, "comment on B's issue")?;
    expect_kind(store.list_issue_comments(&a, &foreign.id, true, &page).await, nf, "B's comments from A")?;
    expect_kind(store.create_issue(&a, issue_for("cross", &foreign_customer)).await, nf, "issue for B's customer")?;
    ensure_eq!(store.get_issue(&b, &foreign.id).await.step("B's issue")?.title, "bravo issue");
    ensure_eq!(store.list_issue_comments(&b, &foreign.id, true, &page).await.step("B's comments")?.total, 0);

    // A customer sees their own issues and public comments only, and raises issues for itself.
    let own = Scope::customer(a.organization_id().clone(), me.id.clone());
    let seen = store.list_issues(&own, &IssueFilter::default(), &page).await.step("own issues")?;
    ensure_eq!(seen.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), vec![my_issue.id.clone()]);
    ensure_eq!(seen.total, 1);
    let trick = IssueFilter { customer_id: Some(other.id.clone()), ..Default::default() };
    ensure_eq!(store.list_issues(&own, &trick, &page).await.step("filter trick")?.total, 0);
    expect_kind(store.get_issue(&own, &other_issue.id).await, nf, "another customer's issue")?;
    let comments = store.list_issue_comments(&own, &my_issue.id, true, &page).await.step("own comments")?;
    ensure_eq!(comments.total, 1, "internal comments never reach a customer");
    ensure!(comments.items.iter().all(|c| !c.internal), "an internal comment reached a customer");
    expect_kind(store.list_issue_comments(&own, &other_issue.id, false, &page).await, nf, "another's comments")?;
    ensure!(
        store.update_issue(&own, &other_issue.id, retitle).await.is_err(),
        "a customer updated another customer's issue"
    );
    let raised = store.create_issue(&own, issue_for("help", &me)).await.step("customer raises an issue")?;
    ensure_eq!(raised.customer_id.as_ref(), Some(&me.id), "a customer's issue is theirs");
    ensure!(
        store.create_issue(&own, issue_for("spoof", &other)).await.is_err(),
        "raised an issue for another customer"
    );
    ensure_eq!(store.get_issue(&a, &other_issue.id).await.step("other issue after")?.title, "theirs");
    Ok(())
}

/// Serializes anything for leak checks.
mod erased {
    pub(super) trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

macro_rules! case {
    ($name:ident, [$($op:ident),* $(,)?]) => {
        Case { name: stringify!($name), needs: &[$(StoreOp::$op),*], run: |store| Box::pin($name(store)) }
    };
    // Needs shared by several cases, as a constant.
    ($name:ident, $needs:expr) => {
        Case { name: stringify!($name), needs: $needs, run: |store| Box::pin($name(store)) }
    };
}

/// What the aggregate cases need: everything `populate` writes, and the stats.
const AGGREGATE_NEEDS: &[StoreOp] = &[
    StoreOp::Organizations,
    StoreOp::ReadCustomers,
    StoreOp::WriteCustomers,
    StoreOp::ReadLeads,
    StoreOp::WriteLeads,
    StoreOp::ConvertLeads,
    StoreOp::ReadDeals,
    StoreOp::WriteDeals,
    StoreOp::ReadPipelines,
    StoreOp::ReadIssues,
    StoreOp::WriteIssues,
    StoreOp::WriteOrders,
    StoreOp::WritePayments,
    StoreOp::ReadActivities,
    StoreOp::WriteActivities,
    StoreOp::ReadEmployees,
    StoreOp::WriteEmployees,
];

/// Every case of the suite, in order.
pub fn cases() -> Vec<Case> {
    vec![
        case!(organizations_and_members, [Organizations, Members, Roles, ReadEmployees, WriteEmployees]),
        case!(customers_crud_and_filters, [Organizations, ReadCustomers, WriteCustomers, WriteEmployees]),
        case!(pagination_totals, [Organizations, ReadCustomers, WriteCustomers]),
        case!(customer_dates_and_orders, [Organizations, ReadCustomers, WriteCustomers]),
        case!(deal_dates_and_orders, [Organizations, ReadDeals, WriteDeals, ReadPipelines]),
        case!(overdue_activities, [Organizations, ReadActivities, WriteActivities]),
        case!(aggregate_records_match_reference, [Organizations, ReadDeals, WriteDeals, ReadPipelines]),
        case!(
            leads_history_and_conversion,
            [Organizations, ReadLeads, WriteLeads, ConvertLeads, ReadPipelines, WriteEmployees, ReadCustomers]
        ),
        case!(concurrent_conversion_is_idempotent, [Organizations, WriteLeads, ConvertLeads, ReadCustomers]),
        case!(
            deals_and_pipelines,
            [Organizations, ReadDeals, WriteDeals, ReadPipelines, WritePipelines, WriteCustomers]
        ),
        case!(issues_numbers_and_comments, [Organizations, ReadIssues, WriteIssues, WriteCustomers, WriteEmployees]),
        case!(
            orders_and_payments,
            [Organizations, ReadOrders, WriteOrders, ReadPayments, WritePayments, WriteCustomers]
        ),
        case!(activities_crud, [Organizations, ReadActivities, WriteActivities, WriteCustomers, WriteEmployees]),
        case!(roles_and_employees, [Organizations, Roles, ReadEmployees, WriteEmployees]),
        case!(aggregates_match_reference, AGGREGATE_NEEDS),
        case!(aggregates_follow_updates, AGGREGATE_NEEDS),
        case!(
            tenant_isolation,
            [
                Organizations,
                Members,
                Roles,
                ReadCustomers,
                WriteCustomers,
                ReadLeads,
                WriteLeads,
                ConvertLeads,
                ReadDeals,
                WriteDeals,
                ReadPipelines,
                ReadIssues,
                WriteIssues,
                ReadOrders,
                WriteOrders,
                ReadPayments,
                WritePayments,
                ReadActivities,
                WriteActivities,
                ReadEmployees,
                WriteEmployees,
                Audit
            ]
        ),
        case!(
            customer_scope,
            [
                Organizations,
                Roles,
                ReadCustomers,
                WriteCustomers,
                ReadLeads,
                WriteLeads,
                ConvertLeads,
                ReadDeals,
                WriteDeals,
                ReadIssues,
                WriteIssues,
                ReadOrders,
                WriteOrders,
                ReadPayments,
                WritePayments,
                ReadActivities,
                WriteActivities,
                ReadEmployees,
                WriteEmployees,
                Audit
            ]
        ),
        case!(customer_isolation, [Organizations, ReadCustomers, WriteCustomers]),
        case!(issue_isolation, [Organizations, ReadCustomers, WriteCustomers, ReadIssues, WriteIssues]),
        case!(concurrent_numbers, [Organizations, WriteIssues, WriteOrders, WriteCustomers]),
        case!(
            opposite_moves_at_once,
            [Organizations, ReadDeals, WriteDeals, ReadPipelines, ReadCustomers, WriteCustomers]
        ),
        case!(closing_on_a_new_day_at_once, [Organizations, ReadDeals, WriteDeals, ReadPipelines]),
        case!(
            failed_multi_row_writes_roll_back,
            [Organizations, ReadLeads, WriteLeads, ConvertLeads, ReadCustomers, WriteEmployees, ReadPipelines]
        ),
        case!(audit_events, [Organizations, Audit]),
        case!(conversations_crud_and_pages, [Organizations, Conversations]),
        case!(assistant_records_are_per_user, [Organizations, Conversations, PendingActions, WriteCustomers]),
        case!(messages_append_in_order, [Organizations, Conversations]),
        case!(concurrent_appends_keep_batches_whole, [Organizations, Conversations]),
        case!(append_is_atomic, [Organizations, Conversations]),
        case!(deleting_a_conversation_cascades, [Organizations, Conversations, PendingActions]),
        case!(pending_action_lifecycle, [Organizations, Conversations, PendingActions]),
        case!(a_run_cut_off_reads_as_failed, [Organizations, PendingActions]),
        case!(units_of_work_commit_together, [Organizations, ReadCustomers, WriteCustomers]),
        case!(rate_budgets_are_leaky_buckets, [Organizations, RateLimits]),
        case!(concurrent_decisions_have_one_winner, [Organizations, PendingActions]),
        case!(pending_action_filters, [Organizations, Conversations, PendingActions]),
        case!(api_tokens_round_trip, [Organizations, ApiTokens]),
        case!(api_tokens_are_per_user, [Organizations, ApiTokens]),
        case!(revoking_a_token_keeps_the_first_time, [Organizations, ApiTokens]),
        case!(api_token_hashes_are_unique, [Organizations, ApiTokens]),
    ]
}

/// Runs every case against fresh stores from `factory`, one after another.
pub async fn run(factory: StoreFactory) -> Report {
    run_cases(factory, cases()).await
}

/// Runs the given cases.
pub async fn run_cases(factory: StoreFactory, cases: Vec<Case>) -> Report {
    let mut report = Report::default();
    for case in cases {
        let outcome = match factory().await {
            Err(e) => Outcome::Failed(format!("could not create a store: {e}")),
            Ok(store) => match case.needs.iter().find(|op| !store.supports(**op)) {
                Some(op) => Outcome::Skipped(format!("store does not support {op:?}")),
                None => match (case.run)(store).await {
                    Ok(()) => Outcome::Passed,
                    Err(message) => Outcome::Failed(message),
                },
            },
        };
        report.cases.push(CaseResult { name: case.name, outcome });
    }
    report
}

/// A loop index of the fixtures as an `i64` (they count to a handful).
fn small(i: usize) -> i64 {
    i64::try_from(i).expect("fixture counts are small")
}
