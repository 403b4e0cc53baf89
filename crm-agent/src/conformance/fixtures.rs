//! What the cases share: the check macros, fresh organizations and records, `populate`, and the
//! assistant's records (conversations, messages, pending actions, timestamps as stores keep them).

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;

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
pub(super) trait Step<T> {
    fn step(self, what: &str) -> std::result::Result<T, String>;
}

impl<T> Step<T> for Result<T> {
    fn step(self, what: &str) -> std::result::Result<T, String> {
        self.map_err(|e| format!("{what}: unexpected error ({}): {e}", e.kind()))
    }
}

/// Checks that `result` failed with `kind`.
pub(super) fn expect_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind, what: &str) -> CheckResult {
    match result {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(format!("{what}: expected {kind}, got {} ({e})", e.kind())),
        Ok(v) => Err(format!("{what}: expected {kind}, got success: {v:?}")),
    }
}

pub(super) static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A fresh organization with defaults, plus its scope.
pub(super) async fn tenant(store: &dyn Store, label: &str) -> std::result::Result<(Organization, Scope), String> {
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

pub(super) async fn employee(store: &dyn Store, scope: &Scope, first: &str) -> std::result::Result<Employee, String> {
    store
        .create_employee(scope, NewEmployee::named(first, "Tester", format!("{}@example.com", first.to_lowercase())))
        .await
        .step("create employee")
}

pub(super) async fn customer(store: &dyn Store, scope: &Scope, name: &str) -> std::result::Result<Customer, String> {
    store.create_customer(scope, NewCustomer::named(name)).await.step("create customer")
}

pub(super) async fn pipeline(store: &dyn Store, scope: &Scope) -> std::result::Result<Pipeline, String> {
    store
        .list_pipelines(scope)
        .await
        .step("list pipelines")?
        .into_iter()
        .next()
        .ok_or_else(|| "no default pipeline".to_string())
}

pub(super) fn stage<'a>(pipeline: &'a Pipeline, name: &str) -> std::result::Result<&'a PipelineStage, String> {
    pipeline.stages.iter().find(|s| s.name == name).ok_or_else(|| format!("no stage {name}"))
}

pub(super) fn order_items(prices: &[(u32, i64)]) -> Vec<NewOrderItem> {
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

pub(super) fn new_order(customer: &CustomerId, prices: &[(u32, i64)]) -> NewOrder {
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

pub(super) fn new_payment(customer: &CustomerId, order: Option<&OrderId>, cents: i64) -> NewPayment {
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

pub(super) fn ids<T, F: Fn(&T) -> String>(items: &[T], f: F) -> BTreeSet<String> {
    items.iter().map(f).collect()
}

/// A day of 2026 at 00:00 UTC, plus `hours`.
pub(super) fn day_2026(month: u32, day: u32, hours: i64) -> Timestamp {
    let midnight = chrono::NaiveDate::from_ymd_opt(2026, month, day).expect("a day of 2026").and_hms_opt(0, 0, 0);
    midnight.expect("midnight").and_utc() + chrono::Duration::hours(hours)
}

/// Populates a tenant with a spread of records for aggregate and isolation checks.
pub(super) async fn populate(store: &dyn Store, scope: &Scope, label: &str) -> std::result::Result<(), String> {
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

/// A loop index of the fixtures as an `i64` (they count to a handful).
pub(super) fn small(i: usize) -> i64 {
    i64::try_from(i).expect("fixture counts are small")
}

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
pub(super) fn micros_now() -> Timestamp {
    let now = Utc::now();
    Timestamp::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

pub(super) fn new_conversation(user: &str, title: &str) -> NewConversation {
    NewConversation { user_id: user.into(), title: title.into() }
}

pub(super) fn message(role: MessageRole, text: &str) -> NewMessage {
    NewMessage { role, parts: serde_json::json!([{ "text": text }]) }
}

pub(super) fn new_action(user: &str, conversation: Option<&ConversationId>, created_at: Timestamp) -> NewPendingAction {
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
pub(super) fn expect_conflict<T: std::fmt::Debug>(result: Result<T>, needle: &str, what: &str) -> CheckResult {
    match result {
        Err(e) if e.kind() == ErrorKind::Conflict => {
            ensure!(e.to_string().contains(needle), "{what}: the conflict should say `{needle}`: {e}");
            Ok(())
        }
        other => expect_kind(other, ErrorKind::Conflict, what),
    }
}
