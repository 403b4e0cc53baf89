//! Persistence: the [`Store`] trait, the [`Scope`] every call carries, and [`SqlStore`].
//!
//! A store is persistence only: it queries, inserts, updates and aggregates, always inside the
//! [`Scope`] it is given, and keeps referential integrity inside that scope (a referenced id of
//! another organization is "not found"). Business rules — status transitions, what a tool may
//! do, confirmations — live in the core, so a host store (Python over the Django ORM, JS over
//! Prisma) stays small and hard to get wrong.
//!
//! Every method has a default: entity operations report [`Error::Unsupported`] (so a host may
//! implement only some entities, and report what it has through [`Store::supports`]), and
//! aggregates are computed from the list methods. [`SqlStore`] overrides the aggregates with
//! single SQL queries.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::*;
use crate::error::{Error, Result};

pub(crate) mod aggregate;
mod bookkeeping;
pub mod host;
mod methods;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::SqlStore;

mod ops;
mod scope;

pub use ops::StoreOp;
pub use scope::Scope;

fn unsupported<T>(operation: &str) -> Result<T> {
    Err(Error::unsupported(format!("this store does not implement `{operation}`")))
}

/// The state of an idempotency key, as [`Store::claim_idempotency_key`] finds it.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyClaim {
    /// The key was free and is now held by this call, which must complete or release it.
    Claimed,
    /// An earlier call with this key finished with this result.
    Done(serde_json::Value),
    /// An earlier call with this key is still running.
    InProgress,
}

/// A rate budget: `per_minute` units a minute, of which up to `burst` may be spent at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct RateBudget {
    /// Units a minute, over time.
    pub per_minute: u32,
    /// Units that may be spent at once (at least 1).
    pub burst: u32,
}

impl RateBudget {
    /// `per_minute` a minute (at least 1), with a burst of a sixth of it, at least 10 (but
    /// never more than `per_minute`).
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        RateBudget { per_minute, burst: (per_minute / 6).max(10).min(per_minute) }
    }

    /// The time one unit takes to come back.
    pub fn interval(&self) -> chrono::Duration {
        chrono::Duration::microseconds(60_000_000 / i64::from(self.per_minute.max(1)))
    }
}

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// Fetches every page of a list method (used by the default aggregates).
macro_rules! collect_all {
    ($store:ident . $method:ident ( $scope:expr, $filter:expr )) => {{
        let mut items = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let batch = $store.$method($scope, $filter, &page).await?;
            items.extend(batch.items);
            match batch.next_cursor {
                Some(cursor) => page = PageRequest::after(PageRequest::MAX_LIMIT, cursor),
                None => break,
            }
        }
        items
    }};
}

/// Most records the default [`Store::aggregate_records`] reads through a list.
pub const AGGREGATE_IN_MEMORY_CAP: u64 = 10_000;

/// Every record of a list method as JSON, refusing lists longer than
/// [`AGGREGATE_IN_MEMORY_CAP`] (used by the default `aggregate_records`).
macro_rules! records_of {
    ($store:ident . $method:ident ( $scope:expr, $filter:expr )) => {{
        let mut records = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let batch = $store.$method($scope, $filter, &page).await?;
            if batch.total > AGGREGATE_IN_MEMORY_CAP {
                return Err(Error::unsupported(format!(
                    "this store aggregates at most {AGGREGATE_IN_MEMORY_CAP} records by reading them (the filter matches {}): \
                     narrow the filter, or implement `aggregate_records` in the store",
                    batch.total
                )));
            }
            for item in batch.items {
                records.push(serde_json::to_value(item).map_err(|e| Error::Internal(e.to_string()))?);
            }
            match batch.next_cursor {
                Some(cursor) => page = PageRequest::after(PageRequest::MAX_LIMIT, cursor),
                None => break,
            }
        }
        records
    }};
}

/// A unit of work started by [`Store::transaction`]. The calls made through
/// [`StoreTransaction::store`] see each other's writes and take effect together at
/// [`StoreTransaction::commit`]; dropped without a commit (or when the process dies) none of
/// them happened. Each call of that store is itself atomic, as on any store: a call that fails
/// leaves nothing behind.
#[async_trait]
pub trait StoreTransaction: Send + Sync {
    /// The store whose calls join this unit of work.
    fn store(&self) -> Arc<dyn Store>;
    /// Marks the point that [`StoreTransaction::roll_back_to_mark`] returns to.
    async fn mark(&self) -> Result<()>;
    /// Undoes every call made since the last [`StoreTransaction::mark`], keeping the earlier ones.
    async fn roll_back_to_mark(&self) -> Result<()>;
    /// Makes every call's writes permanent.
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Persistence for crm-agent. See the [module docs](self).
///
/// Every method takes the caller's [`Scope`] (except the few organization look-ups that
/// establish one). Lists return pages newest first with `total` and `next_cursor`; the cursor
/// is opaque and store-defined. Writes that touch several rows are atomic.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether this store implements the operations of `op`. Defaults to `true`; partial
    /// stores override it so the tools they cannot serve are hidden.
    fn supports(&self, op: StoreOp) -> bool {
        let _ = op;
        true
    }

    /// Starts a unit of work whose calls commit together, or `None` when this store cannot
    /// (the default). The core runs a confirmed write in one, with the pending action's status
    /// change, so a crash leaves either both or neither: never a write done and its action
    /// unfinished. Without one the two are recorded in turn, and an action left `executing`
    /// by a crash reads as `failed` once [`ACTION_RUN_LIMIT`] has passed.
    async fn transaction(&self) -> Result<Option<Box<dyn StoreTransaction>>> {
        Ok(None)
    }

    // --- organizations and members -------------------------------------------------------

    /// Creates an organization (a tenant). Slugs are unique: a taken slug is a conflict.
    async fn create_organization(&self, new: NewOrganization) -> Result<Organization> {
        let _ = new;
        unsupported("create_organization")
    }
    /// Finds an organization by id or slug. Used to establish a scope, so it takes none.
    async fn find_organization(&self, id_or_slug: &str) -> Result<Organization> {
        let _ = id_or_slug;
        unsupported("find_organization")
    }
    /// The scope's organization.
    async fn get_organization(&self, scope: &Scope) -> Result<Organization> {
        let _ = scope;
        unsupported("get_organization")
    }
    /// Updates the scope's organization.
    async fn update_organization(&self, scope: &Scope, patch: OrganizationPatch) -> Result<Organization> {
        let _ = (scope, patch);
        unsupported("update_organization")
    }
    /// Adds (or replaces) a user's membership of the scope's organization.
    async fn put_member(&self, scope: &Scope, member: NewMember) -> Result<Member> {
        let _ = (scope, member);
        unsupported("put_member")
    }
    /// A user's membership of the scope's organization.
    async fn get_member(&self, scope: &Scope, user_id: &str) -> Result<Member> {
        let _ = (scope, user_id);
        unsupported("get_member")
    }
    /// Every membership of one user, across organizations (the user's own data only).
    async fn list_memberships(&self, user_id: &str) -> Result<Vec<Member>> {
        let _ = user_id;
        unsupported("list_memberships")
    }

    // --- roles -----------------------------------------------------------------------------

    /// The organization's roles, by name.
    async fn list_roles(&self, scope: &Scope) -> Result<Vec<RoleDefinition>> {
        let _ = scope;
        unsupported("list_roles")
    }
    /// Creates a role; a taken name is a conflict.
    async fn create_role(&self, scope: &Scope, new: NewRoleDefinition) -> Result<RoleDefinition> {
        let _ = (scope, new);
        unsupported("create_role")
    }
    /// Updates a role's description or grants.
    async fn update_role(&self, scope: &Scope, id: &RoleId, patch: RoleDefinitionPatch) -> Result<RoleDefinition> {
        let _ = (scope, id, patch);
        unsupported("update_role")
    }
    /// Gives an employee a role (idempotent) and returns the employee.
    async fn assign_role(&self, scope: &Scope, employee: &EmployeeId, role: &RoleId) -> Result<Employee> {
        let _ = (scope, employee, role);
        unsupported("assign_role")
    }

    // --- employees ---------------------------------------------------------------------------

    /// Lists employees.
    async fn list_employees(
        &self,
        scope: &Scope,
        filter: &EmployeeFilter,
        page: &PageRequest,
    ) -> Result<Page<Employee>> {
        let _ = (scope, filter, page);
        unsupported("list_employees")
    }
    /// One employee.
    async fn get_employee(&self, scope: &Scope, id: &EmployeeId) -> Result<Employee> {
        let _ = (scope, id);
        unsupported("get_employee")
    }
    /// Creates an employee.
    async fn create_employee(&self, scope: &Scope, new: NewEmployee) -> Result<Employee> {
        let _ = (scope, new);
        unsupported("create_employee")
    }
    /// Updates an employee.
    async fn update_employee(&self, scope: &Scope, id: &EmployeeId, patch: EmployeePatch) -> Result<Employee> {
        let _ = (scope, id, patch);
        unsupported("update_employee")
    }

    // --- customers ---------------------------------------------------------------------------

    /// Lists customers.
    async fn list_customers(
        &self,
        scope: &Scope,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<Customer>> {
        let _ = (scope, filter, page);
        unsupported("list_customers")
    }
    /// One customer.
    async fn get_customer(&self, scope: &Scope, id: &CustomerId) -> Result<Customer> {
        let _ = (scope, id);
        unsupported("get_customer")
    }
    /// Creates a customer.
    async fn create_customer(&self, scope: &Scope, new: NewCustomer) -> Result<Customer> {
        let _ = (scope, new);
        unsupported("create_customer")
    }
    /// Updates a customer.
    async fn update_customer(&self, scope: &Scope, id: &CustomerId, patch: CustomerPatch) -> Result<Customer> {
        let _ = (scope, id, patch);
        unsupported("update_customer")
    }
    /// Creates many customers at once (demo data, imports); returns their ids in order.
    async fn import_customers(&self, scope: &Scope, batch: Vec<NewCustomer>) -> Result<Vec<CustomerId>> {
        let mut ids = Vec::with_capacity(batch.len());
        for new in batch {
            ids.push(self.create_customer(scope, new).await?.id);
        }
        Ok(ids)
    }
    /// Customer totals by status and type.
    async fn customer_stats(&self, scope: &Scope) -> Result<CustomerStats> {
        let customers = collect_all!(self.list_customers(scope, &CustomerFilter::default()));
        Ok(aggregate::customer_stats(&customers))
    }

    // --- pipelines -------------------------------------------------------------------------

    /// The organization's pipelines with their stages in order.
    async fn list_pipelines(&self, scope: &Scope) -> Result<Vec<Pipeline>> {
        let _ = scope;
        unsupported("list_pipelines")
    }
    /// Creates a pipeline with its stages (atomically).
    async fn create_pipeline(&self, scope: &Scope, new: NewPipeline) -> Result<Pipeline> {
        let _ = (scope, new);
        unsupported("create_pipeline")
    }

    // --- leads -------------------------------------------------------------------------------

    /// Lists leads.
    async fn list_leads(&self, scope: &Scope, filter: &LeadFilter, page: &PageRequest) -> Result<Page<Lead>> {
        let _ = (scope, filter, page);
        unsupported("list_leads")
    }
    /// One lead.
    async fn get_lead(&self, scope: &Scope, id: &LeadId) -> Result<Lead> {
        let _ = (scope, id);
        unsupported("get_lead")
    }
    /// Creates a lead.
    async fn create_lead(&self, scope: &Scope, new: NewLead) -> Result<Lead> {
        let _ = (scope, new);
        unsupported("create_lead")
    }
    /// Updates a lead and, atomically with it, appends `history` (a stage or score change).
    /// The history's `from_stage_id` / `from_score` are taken from the lead as the transaction
    /// finds it (the caller's values are only a fallback), and a converted lead's qualification
    /// status cannot change (a conflict).
    async fn update_lead(
        &self,
        scope: &Scope,
        id: &LeadId,
        patch: LeadPatch,
        history: Option<NewLeadHistory>,
    ) -> Result<Lead> {
        let _ = (scope, id, patch, history);
        unsupported("update_lead")
    }
    /// A lead's history, oldest first.
    async fn lead_history(&self, scope: &Scope, id: &LeadId) -> Result<Vec<LeadHistory>> {
        let _ = (scope, id);
        unsupported("lead_history")
    }
    /// Converts a lead into a new customer, atomically: creates `customer`, marks the lead
    /// converted (status `converted`, date, customer id). A lead converted before is left alone
    /// and its existing customer returned with `newly_converted: false`.
    async fn convert_lead(&self, scope: &Scope, id: &LeadId, customer: NewCustomer) -> Result<LeadConversion> {
        let _ = (scope, id, customer);
        unsupported("convert_lead")
    }
    /// Creates many leads at once; returns their ids in order.
    async fn import_leads(&self, scope: &Scope, batch: Vec<NewLead>) -> Result<Vec<LeadId>> {
        let mut ids = Vec::with_capacity(batch.len());
        for new in batch {
            ids.push(self.create_lead(scope, new).await?.id);
        }
        Ok(ids)
    }
    /// Lead totals.
    async fn lead_stats(&self, scope: &Scope) -> Result<LeadStats> {
        let leads = collect_all!(self.list_leads(scope, &LeadFilter::default()));
        Ok(aggregate::lead_stats(&leads))
    }

    // --- deals -------------------------------------------------------------------------------

    /// Lists deals.
    async fn list_deals(&self, scope: &Scope, filter: &DealFilter, page: &PageRequest) -> Result<Page<Deal>> {
        let _ = (scope, filter, page);
        unsupported("list_deals")
    }
    /// One deal.
    async fn get_deal(&self, scope: &Scope, id: &DealId) -> Result<Deal> {
        let _ = (scope, id);
        unsupported("get_deal")
    }
    /// Creates a deal. Its stage must belong to its pipeline.
    async fn create_deal(&self, scope: &Scope, new: NewDeal) -> Result<Deal> {
        let _ = (scope, new);
        unsupported("create_deal")
    }
    /// Updates a deal.
    async fn update_deal(&self, scope: &Scope, id: &DealId, patch: DealPatch) -> Result<Deal> {
        let _ = (scope, id, patch);
        unsupported("update_deal")
    }
    /// Creates many deals at once; returns their ids in order.
    async fn import_deals(&self, scope: &Scope, batch: Vec<NewDeal>) -> Result<Vec<DealId>> {
        let mut ids = Vec::with_capacity(batch.len());
        for new in batch {
            ids.push(self.create_deal(scope, new).await?.id);
        }
        Ok(ids)
    }
    /// Deal totals and per-stage sums.
    async fn deal_stats(&self, scope: &Scope) -> Result<DealStats> {
        let deals = collect_all!(self.list_deals(scope, &DealFilter::default()));
        let pipelines = self.list_pipelines(scope).await?;
        Ok(aggregate::deal_stats(&deals, &pipelines))
    }

    // --- issues ------------------------------------------------------------------------------

    /// Lists issues.
    async fn list_issues(&self, scope: &Scope, filter: &IssueFilter, page: &PageRequest) -> Result<Page<Issue>> {
        let _ = (scope, filter, page);
        unsupported("list_issues")
    }
    /// One issue.
    async fn get_issue(&self, scope: &Scope, id: &IssueId) -> Result<Issue> {
        let _ = (scope, id);
        unsupported("get_issue")
    }
    /// Creates an issue, allocating its `ISS-YYYY-NNNN` number (unique per organization,
    /// race-free; see [`NumberKind::format`]).
    async fn create_issue(&self, scope: &Scope, new: NewIssue) -> Result<Issue> {
        let _ = (scope, new);
        unsupported("create_issue")
    }
    /// Updates an issue.
    async fn update_issue(&self, scope: &Scope, id: &IssueId, patch: IssuePatch) -> Result<Issue> {
        let _ = (scope, id, patch);
        unsupported("update_issue")
    }
    /// Adds a comment to an issue.
    async fn add_issue_comment(&self, scope: &Scope, new: NewIssueComment) -> Result<IssueComment> {
        let _ = (scope, new);
        unsupported("add_issue_comment")
    }
    /// An issue's comments, oldest first; internal ones only when `include_internal`.
    async fn list_issue_comments(
        &self,
        scope: &Scope,
        issue: &IssueId,
        include_internal: bool,
        page: &PageRequest,
    ) -> Result<Page<IssueComment>> {
        let _ = (scope, issue, include_internal, page);
        unsupported("list_issue_comments")
    }
    /// Issue totals.
    async fn issue_stats(&self, scope: &Scope) -> Result<IssueStats> {
        let issues = collect_all!(self.list_issues(scope, &IssueFilter::default()));
        Ok(aggregate::issue_stats(&issues))
    }

    // --- orders and payments -----------------------------------------------------------------

    /// Lists orders (without items).
    async fn list_orders(&self, scope: &Scope, filter: &OrderFilter, page: &PageRequest) -> Result<Page<Order>> {
        let _ = (scope, filter, page);
        unsupported("list_orders")
    }
    /// One order with its items.
    async fn get_order(&self, scope: &Scope, id: &OrderId) -> Result<Order> {
        let _ = (scope, id);
        unsupported("get_order")
    }
    /// Creates an order and its items atomically, allocating its `ORD-` number.
    async fn create_order(&self, scope: &Scope, new: NewOrder) -> Result<Order> {
        let _ = (scope, new);
        unsupported("create_order")
    }
    /// Lists payments.
    async fn list_payments(&self, scope: &Scope, filter: &PaymentFilter, page: &PageRequest) -> Result<Page<Payment>> {
        let _ = (scope, filter, page);
        unsupported("list_payments")
    }
    /// One payment.
    async fn get_payment(&self, scope: &Scope, id: &PaymentId) -> Result<Payment> {
        let _ = (scope, id);
        unsupported("get_payment")
    }
    /// Creates a payment, allocating its `PAY-` number.
    async fn create_payment(&self, scope: &Scope, new: NewPayment) -> Result<Payment> {
        let _ = (scope, new);
        unsupported("create_payment")
    }

    // --- activities ----------------------------------------------------------------------------

    /// Lists activities.
    async fn list_activities(
        &self,
        scope: &Scope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<Activity>> {
        let _ = (scope, filter, page);
        unsupported("list_activities")
    }
    /// One activity.
    async fn get_activity(&self, scope: &Scope, id: &ActivityId) -> Result<Activity> {
        let _ = (scope, id);
        unsupported("get_activity")
    }
    /// Creates an activity.
    async fn create_activity(&self, scope: &Scope, new: NewActivity) -> Result<Activity> {
        let _ = (scope, new);
        unsupported("create_activity")
    }
    /// Updates an activity.
    async fn update_activity(&self, scope: &Scope, id: &ActivityId, patch: ActivityPatch) -> Result<Activity> {
        let _ = (scope, id, patch);
        unsupported("update_activity")
    }
    /// Activity totals.
    async fn activity_stats(&self, scope: &Scope) -> Result<ActivityStats> {
        let activities = collect_all!(self.list_activities(scope, &ActivityFilter::default()));
        Ok(aggregate::activity_stats(&activities))
    }

    // --- analytics -----------------------------------------------------------------------------

    /// Counts and measures of one kind of record, grouped (see [`AggregateQuery`]). The default
    /// reads the records through their list, up to [`AGGREGATE_IN_MEMORY_CAP`] of them, and is
    /// `Unsupported` past it; stores that can should answer in one query.
    async fn aggregate_records(&self, scope: &Scope, query: &AggregateQuery) -> Result<AggregateAnswer> {
        let records = match &query.filter {
            RecordFilter::Customers(f) => records_of!(self.list_customers(scope, f)),
            RecordFilter::Leads(f) => records_of!(self.list_leads(scope, f)),
            RecordFilter::Deals(f) => records_of!(self.list_deals(scope, f)),
            RecordFilter::Issues(f) => records_of!(self.list_issues(scope, f)),
            RecordFilter::Orders(f) => records_of!(self.list_orders(scope, f)),
            RecordFilter::Payments(f) => records_of!(self.list_payments(scope, f)),
            RecordFilter::Activities(f) => records_of!(self.list_activities(scope, f)),
        };
        let partials = aggregate::partials_of_records(query, &records)?;
        Ok(aggregate::finish_aggregate(query, partials))
    }

    /// The dashboard of `get_dashboard_stats` as of `now`.
    async fn dashboard_stats(&self, scope: &Scope, now: Timestamp) -> Result<DashboardStats> {
        let customers = collect_all!(self.list_customers(scope, &CustomerFilter::default()));
        let leads = collect_all!(self.list_leads(scope, &LeadFilter::default()));
        let deals = collect_all!(self.list_deals(scope, &DealFilter::default()));
        let issues = collect_all!(self.list_issues(scope, &IssueFilter::default()));
        Ok(aggregate::dashboard(&customers, &leads, &deals, &issues, now))
    }
    /// leads → qualified → deals → won.
    async fn sales_funnel(&self, scope: &Scope) -> Result<SalesFunnel> {
        let leads = collect_all!(self.list_leads(scope, &LeadFilter::default()));
        let deals = collect_all!(self.list_deals(scope, &DealFilter::default()));
        Ok(aggregate::sales_funnel(&leads, &deals))
    }
    /// Won value (per currency) and count per bucket (`buckets` are half-open date ranges,
    /// oldest first).
    async fn revenue_by_period(&self, scope: &Scope, buckets: &[(Date, Date)]) -> Result<Vec<RevenueBucket>> {
        let won = DealFilter { status: Some(DealStatus::Won), ..DealFilter::default() };
        let deals = collect_all!(self.list_deals(scope, &won));
        Ok(aggregate::revenue_by_period(&deals, buckets))
    }
    /// Per-employee performance, by name then id; money per currency (see [`Amounts`]).
    async fn employee_performance(&self, scope: &Scope) -> Result<Vec<EmployeePerformance>> {
        let employees = collect_all!(self.list_employees(scope, &EmployeeFilter::default()));
        let customers = collect_all!(self.list_customers(scope, &CustomerFilter::default()));
        let leads = collect_all!(self.list_leads(scope, &LeadFilter::default()));
        let deals = collect_all!(self.list_deals(scope, &DealFilter::default()));
        Ok(aggregate::employee_performance(&employees, &customers, &leads, &deals))
    }

    // --- the assistant: conversations, messages, pending actions -------------------------------
    //
    // These belong to one user: every method takes the owner's `user_id` and treats records of
    // any other user (or organization) as not found.

    /// Starts a conversation for `new.user_id` in the scope's organization.
    async fn create_conversation(&self, scope: &Scope, new: NewConversation) -> Result<Conversation> {
        let _ = (scope, new);
        unsupported("create_conversation")
    }
    /// One of `user_id`'s conversations.
    async fn get_conversation(&self, scope: &Scope, user_id: &str, id: &ConversationId) -> Result<Conversation> {
        let _ = (scope, user_id, id);
        unsupported("get_conversation")
    }
    /// `user_id`'s conversations, newest first.
    async fn list_conversations(&self, scope: &Scope, user_id: &str, page: &PageRequest) -> Result<Page<Conversation>> {
        let _ = (scope, user_id, page);
        unsupported("list_conversations")
    }
    /// Renames one of `user_id`'s conversations.
    async fn update_conversation(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        patch: ConversationPatch,
    ) -> Result<Conversation> {
        let _ = (scope, user_id, id, patch);
        unsupported("update_conversation")
    }
    /// Deletes one of `user_id`'s conversations with its messages and the actions in it still
    /// `pending`. Its actions in any other status (executing, succeeded, failed, rejected) are
    /// kept with `conversation_id` set to `None`: they record writes the user decided on, and a
    /// confirm that is running must still be able to [`finish_pending_action`](Self::finish_pending_action).
    async fn delete_conversation(&self, scope: &Scope, user_id: &str, id: &ConversationId) -> Result<()> {
        let _ = (scope, user_id, id);
        unsupported("delete_conversation")
    }
    /// Appends messages to one of `user_id`'s conversations, atomically (all or none), in
    /// order; bumps its `message_count` and `updated_at` (to `now`).
    async fn append_messages(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        messages: Vec<NewMessage>,
        now: Timestamp,
    ) -> Result<Vec<Message>> {
        let _ = (scope, user_id, id, messages, now);
        unsupported("append_messages")
    }
    /// A conversation's messages, newest first (the assistant reads back from the end until
    /// its history budget is spent).
    async fn list_messages(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>> {
        let _ = (scope, user_id, id, page);
        unsupported("list_messages")
    }

    /// Records a write waiting for `new.user_id`'s confirmation.
    async fn create_pending_action(&self, scope: &Scope, new: NewPendingAction) -> Result<PendingAction> {
        let _ = (scope, new);
        unsupported("create_pending_action")
    }
    /// One of `user_id`'s pending actions (in any status). As with expiry, an action left
    /// `executing` for [`ACTION_RUN_LIMIT`] after its confirmation reads as `failed`, with the
    /// outcome [`interrupted_outcome`], and can no longer be finished: its run was cut off.
    async fn get_pending_action(&self, scope: &Scope, user_id: &str, id: &ActionId) -> Result<PendingAction> {
        let _ = (scope, user_id, id);
        unsupported("get_pending_action")
    }
    /// `user_id`'s pending actions, newest first.
    async fn list_pending_actions(
        &self,
        scope: &Scope,
        user_id: &str,
        filter: &PendingActionFilter,
        page: &PageRequest,
    ) -> Result<Page<PendingAction>> {
        let _ = (scope, user_id, filter, page);
        unsupported("list_pending_actions")
    }
    /// Moves one of `user_id`'s actions out of `pending`, atomically (compare-and-set), to
    /// `to` (`executing` when confirmed, `rejected`), setting `decided_at = now`. Of two
    /// concurrent decisions exactly one succeeds. Fails with a conflict naming the current
    /// status when the action is no longer pending, or saying it expired when
    /// `now >= expires_at`.
    async fn decide_pending_action(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ActionId,
        to: ActionStatus,
        now: Timestamp,
    ) -> Result<PendingAction> {
        let _ = (scope, user_id, id, to, now);
        unsupported("decide_pending_action")
    }
    /// Records how a confirmed action ended: `executing` → `to` (`succeeded` or `failed`) with
    /// its `outcome`. A conflict when the action is not executing (or its run was cut off; see
    /// [`Store::get_pending_action`]).
    async fn finish_pending_action(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ActionId,
        to: ActionStatus,
        outcome: serde_json::Value,
    ) -> Result<PendingAction> {
        let _ = (scope, user_id, id, to, outcome);
        unsupported("finish_pending_action")
    }

    // --- rate limits -------------------------------------------------------------------------

    /// Takes `cost` units from `user_id`'s budget named `bucket` at `now`, atomically, so every
    /// process on this store shares it. The budget is a leaky bucket: it starts full (`burst`
    /// units) and refills one unit per [`RateBudget::interval`]. `Ok(None)`: taken.
    /// `Ok(Some(wait))`: not enough units (none are taken); after `wait` there will be.
    async fn take_rate_budget(
        &self,
        scope: &Scope,
        user_id: &str,
        bucket: &str,
        budget: RateBudget,
        cost: u32,
        now: Timestamp,
    ) -> Result<Option<chrono::Duration>> {
        let _ = (scope, user_id, bucket, budget, cost, now);
        unsupported("take_rate_budget")
    }

    // --- API tokens --------------------------------------------------------------------------

    /// Records a token of `new.user_id` in the scope's organization. A hash already stored is a
    /// conflict.
    async fn create_api_token(&self, scope: &Scope, new: NewApiToken) -> Result<ApiToken> {
        let _ = (scope, new);
        unsupported("create_api_token")
    }
    /// `user_id`'s tokens in the scope's organization (revoked and expired ones included),
    /// newest first.
    async fn list_api_tokens(&self, scope: &Scope, user_id: &str) -> Result<Vec<ApiToken>> {
        let _ = (scope, user_id);
        unsupported("list_api_tokens")
    }
    /// Revokes one of `user_id`'s tokens at `now` (a token revoked before keeps its first
    /// revocation time). Another user's token is not found.
    async fn revoke_api_token(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ApiTokenId,
        now: Timestamp,
    ) -> Result<ApiToken> {
        let _ = (scope, user_id, id, now);
        unsupported("revoke_api_token")
    }
    /// The token whose secret hashes to `secret_hash`, in any organization (this is how a
    /// request's scope is established, so it takes none). Revoked and expired tokens are
    /// returned too; the caller decides.
    async fn find_api_token(&self, secret_hash: &str) -> Result<ApiToken> {
        let _ = secret_hash;
        unsupported("find_api_token")
    }

    // --- audit ---------------------------------------------------------------------------------

    /// Records an audit event in the scope's organization.
    async fn record_audit(&self, scope: &Scope, event: NewAuditEvent) -> Result<()> {
        let _ = (scope, event);
        unsupported("record_audit")
    }
    /// Claims `key` for `user_id`'s call of `tool` with arguments whose fingerprint is
    /// `fingerprint`. Keys older than [`IDEMPOTENCY_WINDOW`] are forgotten; the same key used
    /// for another tool, or with other arguments, is a conflict that names the key.
    async fn claim_idempotency_key(
        &self,
        scope: &Scope,
        user_id: &str,
        key: &str,
        tool: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<IdempotencyClaim> {
        let _ = (scope, user_id, key, tool, fingerprint, now);
        unsupported("claim_idempotency_key")
    }
    /// Stores the result of the call holding `key`.
    async fn complete_idempotency_key(
        &self,
        scope: &Scope,
        user_id: &str,
        key: &str,
        result: &serde_json::Value,
    ) -> Result<()> {
        let _ = (scope, user_id, key, result);
        unsupported("complete_idempotency_key")
    }
    /// Frees `key` after the call holding it failed, so a retry can run.
    async fn release_idempotency_key(&self, scope: &Scope, user_id: &str, key: &str) -> Result<()> {
        let _ = (scope, user_id, key);
        unsupported("release_idempotency_key")
    }

    /// Records several audit events (of any organizations) at once. The default records them
    /// one by one; the SQL store writes them in one transaction.
    async fn record_audits(&self, events: Vec<(OrganizationId, NewAuditEvent)>) -> Result<()> {
        for (organization, event) in events {
            self.record_audit(&Scope::organization(organization), event).await?;
        }
        Ok(())
    }

    /// Lists audit events, newest first.
    async fn list_audit_events(
        &self,
        scope: &Scope,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let _ = (scope, filter, page);
        unsupported("list_audit_events")
    }
}
