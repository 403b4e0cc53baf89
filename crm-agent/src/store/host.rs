//! Stores implemented in a host language (Python, JavaScript) through the bindings.
//!
//! A binding implements one small trait, [`HostBackend`]: "does the host object have method
//! `m`?" and "call `m` with these named arguments". [`HostStore`] turns every [`Store`] method
//! into such a call, with the arguments and the result as JSON in the same shapes the tools
//! use, so the Python and Node bindings share one definition of what a host store receives and
//! must answer (documented in `docs/python.md` and `docs/node.md`):
//!
//! - the method names are the [`Store`] method names (`get_customer`); a binding may respell
//!   them for its language (`getCustomer`);
//! - the arguments are one object of named values: `scope` is
//!   `{"organization_id": …, "customer_id": … | null}`, then the method's own parameters by
//!   their Rust names (`id`, `filter`, `page`, `new`, `patch`, …);
//! - results are the domain types' JSON (a `Page` is `{"items", "total", "next_cursor"}`).
//!
//! Inputs (`new`, `patch`, messages) are validated by the core before the host sees them, with
//! the same rules and errors as the SQL store, so a host store only persists.
//!
//! A host implements whole groups ([`StoreOp`]): a group with a missing method is unsupported,
//! and the tools that need it are hidden. Aggregates (stats, dashboard, funnel) are computed
//! by the core from the list methods.
//!
//! [`with_bookkeeping`] puts a host store in front of a store of the SDK's own (usually
//! [`SqlStore`](super::SqlStore)): the host keeps its CRM tables, and the SDK keeps what only
//! the assistant needs — organizations, conversations, pending actions, audit events,
//! idempotency keys, API tokens — unless the host implements those too.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use super::bookkeeping::{BOOKKEEPING, with_bookkeeping};
use super::{IdempotencyClaim, RateBudget, Scope, Store, StoreOp};
use crate::domain::*;
use crate::error::{Error, Result};

/// What a binding implements to let host code act as a [`Store`].
#[async_trait]
pub trait HostBackend: Send + Sync + 'static {
    /// Whether the host object implements `method` (a [`Store`] method name).
    fn implements(&self, method: &str) -> bool;

    /// Calls `method` with its named arguments and answers its result (`null` for none).
    /// Host exceptions come back as [`Error::Host`], so the binding can return the original
    /// object to its caller.
    async fn call(&self, method: &'static str, args: Value) -> Result<Value>;
}

/// The methods a host must implement for each group.
pub fn methods_of(op: StoreOp) -> &'static [&'static str] {
    match op {
        StoreOp::Organizations => {
            &["create_organization", "find_organization", "get_organization", "update_organization"]
        }
        StoreOp::Members => &["put_member", "get_member", "list_memberships"],
        StoreOp::Roles => &["list_roles", "create_role", "update_role", "assign_role"],
        StoreOp::ReadEmployees => &["list_employees", "get_employee"],
        StoreOp::WriteEmployees => &["create_employee", "update_employee"],
        StoreOp::ReadCustomers => &["list_customers", "get_customer"],
        StoreOp::WriteCustomers => &["create_customer", "update_customer"],
        StoreOp::ReadLeads => &["list_leads", "get_lead", "lead_history"],
        StoreOp::WriteLeads => &["create_lead", "update_lead"],
        StoreOp::ConvertLeads => &["convert_lead"],
        StoreOp::ReadPipelines => &["list_pipelines"],
        StoreOp::WritePipelines => &["create_pipeline"],
        StoreOp::ReadDeals => &["list_deals", "get_deal"],
        StoreOp::WriteDeals => &["create_deal", "update_deal"],
        StoreOp::ReadIssues => &["list_issues", "get_issue", "list_issue_comments"],
        StoreOp::WriteIssues => &["create_issue", "update_issue", "add_issue_comment"],
        StoreOp::ReadOrders => &["list_orders", "get_order"],
        StoreOp::WriteOrders => &["create_order"],
        StoreOp::ReadPayments => &["list_payments", "get_payment"],
        StoreOp::WritePayments => &["create_payment"],
        StoreOp::ReadActivities => &["list_activities", "get_activity"],
        StoreOp::WriteActivities => &["create_activity", "update_activity"],
        StoreOp::Audit => &["record_audit", "list_audit_events"],
        StoreOp::Idempotency => &["claim_idempotency_key", "complete_idempotency_key", "release_idempotency_key"],
        StoreOp::Conversations => &[
            "create_conversation",
            "get_conversation",
            "list_conversations",
            "update_conversation",
            "delete_conversation",
            "append_messages",
            "list_messages",
        ],
        StoreOp::PendingActions => &[
            "create_pending_action",
            "get_pending_action",
            "list_pending_actions",
            "decide_pending_action",
            "finish_pending_action",
        ],
        StoreOp::ApiTokens => &["create_api_token", "list_api_tokens", "revoke_api_token", "find_api_token"],
        StoreOp::RateLimits => &["take_rate_budget"],
    }
}

/// The JSON a host receives for a [`Scope`].
pub fn scope_json(scope: &Scope) -> Value {
    json!({ "organization_id": scope.organization_id(), "customer_id": scope.customer_id() })
}

/// A [`Store`] whose every method is answered by host code through a [`HostBackend`].
pub struct HostStore<B> {
    backend: B,
}

impl<B: HostBackend> HostStore<B> {
    /// Wraps a binding's backend.
    pub fn new(backend: B) -> Self {
        HostStore { backend }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Calls `method` and decodes its answer; a missing method is [`Error::Unsupported`], an
    /// answer of the wrong shape is a store error naming the method.
    async fn invoke<T: DeserializeOwned>(&self, method: &'static str, args: Value) -> Result<T> {
        if !self.backend.implements(method) {
            return Err(Error::unsupported(format!("the host store does not implement `{method}`")));
        }
        let answer = self.backend.call(method, args).await?;
        serde_json::from_value(answer)
            .map_err(|e| Error::store(format!("the host store's `{method}` answered an unexpected shape: {e}")))
    }

    /// Like [`invoke`](Self::invoke) for methods that answer nothing.
    async fn invoke_unit(&self, method: &'static str, args: Value) -> Result<()> {
        self.invoke::<serde::de::IgnoredAny>(method, args).await.map(|_| ())
    }
}

impl<B> std::fmt::Debug for HostStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostStore").finish_non_exhaustive()
    }
}

/// How a host answers `take_rate_budget`: `{"taken": true}`, or `{"taken": false, "wait_ms": N}`.
#[derive(serde::Deserialize)]
struct HostRateAnswer {
    taken: bool,
    #[serde(default)]
    wait_ms: i64,
}

/// How a host answers `claim_idempotency_key`: `{"status": "claimed"}`,
/// `{"status": "done", "result": …}` or `{"status": "in_progress"}`.
#[derive(serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum HostClaim {
    Claimed,
    Done { result: Value },
    InProgress,
}

#[async_trait]
impl<B: HostBackend> Store for HostStore<B> {
    fn supports(&self, op: StoreOp) -> bool {
        methods_of(op).iter().all(|m| self.backend.implements(m))
    }

    async fn create_organization(&self, new: NewOrganization) -> Result<Organization> {
        new.validate()?;
        self.invoke("create_organization", json!({ "new": new })).await
    }
    async fn find_organization(&self, id_or_slug: &str) -> Result<Organization> {
        self.invoke("find_organization", json!({ "id_or_slug": id_or_slug })).await
    }
    async fn get_organization(&self, scope: &Scope) -> Result<Organization> {
        self.invoke("get_organization", json!({ "scope": scope_json(scope) })).await
    }
    async fn update_organization(&self, scope: &Scope, patch: OrganizationPatch) -> Result<Organization> {
        patch.validate()?;
        self.invoke("update_organization", json!({ "scope": scope_json(scope), "patch": patch })).await
    }
    async fn put_member(&self, scope: &Scope, member: NewMember) -> Result<Member> {
        member.validate()?;
        self.invoke("put_member", json!({ "scope": scope_json(scope), "member": member })).await
    }
    async fn get_member(&self, scope: &Scope, user_id: &str) -> Result<Member> {
        self.invoke("get_member", json!({ "scope": scope_json(scope), "user_id": user_id })).await
    }
    async fn list_memberships(&self, user_id: &str) -> Result<Vec<Member>> {
        self.invoke("list_memberships", json!({ "user_id": user_id })).await
    }

    async fn list_roles(&self, scope: &Scope) -> Result<Vec<RoleDefinition>> {
        self.invoke("list_roles", json!({ "scope": scope_json(scope) })).await
    }
    async fn create_role(&self, scope: &Scope, new: NewRoleDefinition) -> Result<RoleDefinition> {
        new.validate()?;
        self.invoke("create_role", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn update_role(&self, scope: &Scope, id: &RoleId, patch: RoleDefinitionPatch) -> Result<RoleDefinition> {
        patch.validate()?;
        self.invoke("update_role", json!({ "scope": scope_json(scope), "id": id, "patch": patch })).await
    }
    async fn assign_role(&self, scope: &Scope, employee: &EmployeeId, role: &RoleId) -> Result<Employee> {
        self.invoke("assign_role", json!({ "scope": scope_json(scope), "employee": employee, "role": role })).await
    }

    async fn list_employees(
        &self,
        scope: &Scope,
        filter: &EmployeeFilter,
        page: &PageRequest,
    ) -> Result<Page<Employee>> {
        self.invoke("list_employees", json!({ "scope": scope_json(scope), "filter": filter, "page": page })).await
    }
    async fn get_employee(&self, scope: &Scope, id: &EmployeeId) -> Result<Employee> {
        self.invoke("get_employee", json!({ "scope": scope_json(scope), "id": id })).await
    }
    async fn create_employee(&self, scope: &Scope, new: NewEmployee) -> Result<Employee> {
        new.validate()?;
        self.invoke("create_employee", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn update_employee(&self, scope: &Scope, id: &EmployeeId, patch: EmployeePatch) -> Result<Employee> {
        patch.validate()?;
        self.invoke("update_employee", json!({ "scope": scope_json(scope), "id": id, "patch": patch })).await
    }

    async fn list_customers(
        &self,
        scope: &Scope,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<Customer>> {
        self.invoke("list_customers", json!({ "scope": scope_json(scope), "filter": filter, "page": page })).await
    }
    async fn get_customer(&self, scope: &Scope, id: &CustomerId) -> Result<Customer> {
        self.invoke("get_customer", json!({ "scope": scope_json(scope), "id": id })).await
    }
    async fn create_customer(&self, scope: &Scope, new: NewCustomer) -> Result<Customer> {
        new.validate()?;
        self.invoke("create_customer", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn update_customer(&self, scope: &Scope, id: &CustomerId, patch: CustomerPatch) -> Result<Customer> {
        patch.validate()?;
        self.invoke("update_customer", json!({ "scope": scope_json(scope), "id": id, "patch": patch })).await
    }

    async fn list_pipelines(&self, scope: &Scope) -> Result<Vec<Pipeline>> {
        self.invoke("list_pipelines", json!({ "scope": scope_json(scope) })).await
    }
    async fn create_pipeline(&self, scope: &Scope, new: NewPipeline) -> Result<Pipeline> {
        new.validate()?;
        self.invoke("create_pipeline", json!({ "scope": scope_json(scope), "new": new })).await
    }

    async fn list_leads(&self, scope: &Scope, filter: &LeadFilter, page: &PageRequest) -> Result<Page<Lead>> {
        self.invoke("list_leads", json!({ "scope": scope_json(scope), "filter": filter, "page": page })).await
    }
    async fn get_lead(&self, scope: &Scope, id: &LeadId) -> Result<Lead> {
        self.invoke("get_lead", json!({ "scope": scope_json(scope), "id": id })).await
    }
    async fn create_lead(&self, scope: &Scope, new: NewLead) -> Result<Lead> {
        new.validate()?;
        self.invoke("create_lead", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn update_lead(
        &self,
        scope: &Scope,
        id: &LeadId,
        patch: LeadPatch,
        history: Option<NewLeadHistory>,
    ) -> Result<Lead> {
        patch.validate()?;
        if let Some(h) = &history {
            h.validate()?;
        }
        let args = json!({ "scope": scope_json(scope), "id": id, "patch": patch, "history": history });
        self.invoke("update_lead", args).await
    }
    async fn lead_history(&self, scope: &Scope, id: &LeadId) -> Result<Vec<LeadHistory>> {
        self.invoke("lead_history", json!({ "scope": scope_json(scope), "id": id })).await
    }
    async fn convert_lead(&self, scope: &Scope, id: &LeadId, customer: NewCustomer) -> Result<LeadConversion> {
        customer.validate()?;
        self.invoke("convert_lead", json!({ "scope": scope_json(scope), "id": id, "customer": customer })).await
    }

    async fn list_deals(&self, scope: &Scope, filter: &DealFilter, page: &PageRequest) -> Result<Page<Deal>> {
        self.invoke("list_deals", json!({ "scope": scope_json(scope), "filter": filter, "page": page })).await
    }
    async fn get_deal(&self, scope: &Scope, id: &DealId) -> Result<Deal> {
        self.invoke("get_deal", json!({ "scope": scope_json(scope), "id": id })).await
    }
    async fn create_deal(&self, scope: &Scope, new: NewDeal) -> Result<Deal> {
        new.validate()?;
        self.invoke("create_deal", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn update_deal(&self, scope: &Scope, id: &DealId, patch: DealPatch) -> Result<Deal> {
        patch.validate()?;
        self.invoke("update_deal", json!({ "scope": scope_json(scope), "id": id, "patch": patch })).await
    }

    async fn list_issues(&self, scope: &Scope, filter: &IssueFilter, page: &PageRequest) -> Result<Page<Issue>> {
        self.invoke("list_issues", json!({ "scope": scope_json(scope), "filter": filter, "page": page })).await
    }
    async fn get_issue(&self, scope: &Scope, id: &IssueId) -> Result<Issue> {
        self.invoke("get_issue", json!({ "scope": scope_json(scope), "id": id })).await
    }
    async fn create_issue(&self, scope: &Scope, new: NewIssue) -> Result<Issue> {
        new.validate()?;
        self.invoke("create_issue", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn update_issue(&self, scope: &Scope, id: &IssueId, patch: IssuePatch) -> Result<Issue> {
        patch.validate()?;
        self.invoke("update_issue", json!({ "scope": scope_json(scope), "id": id, "patch": patch })).await
    }
    async fn add_issue_comment(&self, scope: &Scope, new: NewIssueComment) -> Result<IssueComment> {
        new.validate()?;
        self.invoke("add_issue_comment", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn list_issue_comments(
        &self,
        scope: &Scope,
        issue: &IssueId,
        include_internal: bool,
        page: &PageRequest,
    ) -> Result<Page<IssueComment>> {
        let args = json!({
            "scope": scope_json(scope), "issue": issue, "include_internal": include_internal, "page": page
        });
        self.invoke("list_issue_comments", args).await
    }

    async fn list_orders(&self, scope: &Scope, filter: &OrderFilter, page: &PageRequest) -> Result<Page<Order>> {
        self.invoke("list_orders", json!({ "scope": scope_json(scope), "filter": filter, "page": page })).await
    }
    async fn get_order(&self, scope: &Scope, id: &OrderId) -> Result<Order> {
        self.invoke("get_order", json!({ "scope": scope_json(scope), "id": id })).await
    }
    async fn create_order(&self, scope: &Scope, new: NewOrder) -> Result<Order> {
        new.validate()?;
        self.invoke("create_order", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn list_payments(&self, scope: &Scope, filter: &PaymentFilter, page: &PageRequest) -> Result<Page<Payment>> {
        self.invoke("list_payments", json!({ "scope": scope_json(scope), "filter": filter, "page": page })).await
    }
    async fn get_payment(&self, scope: &Scope, id: &PaymentId) -> Result<Payment> {
        self.invoke("get_payment", json!({ "scope": scope_json(scope), "id": id })).await
    }
    async fn create_payment(&self, scope: &Scope, new: NewPayment) -> Result<Payment> {
        new.validate()?;
        self.invoke("create_payment", json!({ "scope": scope_json(scope), "new": new })).await
    }

    async fn list_activities(
        &self,
        scope: &Scope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<Activity>> {
        self.invoke("list_activities", json!({ "scope": scope_json(scope), "filter": filter, "page": page })).await
    }
    async fn get_activity(&self, scope: &Scope, id: &ActivityId) -> Result<Activity> {
        self.invoke("get_activity", json!({ "scope": scope_json(scope), "id": id })).await
    }
    async fn create_activity(&self, scope: &Scope, new: NewActivity) -> Result<Activity> {
        new.validate()?;
        self.invoke("create_activity", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn update_activity(&self, scope: &Scope, id: &ActivityId, patch: ActivityPatch) -> Result<Activity> {
        patch.validate()?;
        self.invoke("update_activity", json!({ "scope": scope_json(scope), "id": id, "patch": patch })).await
    }

    async fn create_conversation(&self, scope: &Scope, new: NewConversation) -> Result<Conversation> {
        new.validate()?;
        self.invoke("create_conversation", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn get_conversation(&self, scope: &Scope, user_id: &str, id: &ConversationId) -> Result<Conversation> {
        self.invoke("get_conversation", json!({ "scope": scope_json(scope), "user_id": user_id, "id": id })).await
    }
    async fn list_conversations(&self, scope: &Scope, user_id: &str, page: &PageRequest) -> Result<Page<Conversation>> {
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "page": page });
        self.invoke("list_conversations", args).await
    }
    async fn update_conversation(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        patch: ConversationPatch,
    ) -> Result<Conversation> {
        patch.validate()?;
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "id": id, "patch": patch });
        self.invoke("update_conversation", args).await
    }
    async fn delete_conversation(&self, scope: &Scope, user_id: &str, id: &ConversationId) -> Result<()> {
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "id": id });
        self.invoke_unit("delete_conversation", args).await
    }
    async fn append_messages(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        messages: Vec<NewMessage>,
        now: Timestamp,
    ) -> Result<Vec<Message>> {
        NewMessage::validate_batch(&messages)?;
        let args = json!({
            "scope": scope_json(scope), "user_id": user_id, "id": id, "messages": messages, "now": now
        });
        self.invoke("append_messages", args).await
    }
    async fn list_messages(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>> {
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "id": id, "page": page });
        self.invoke("list_messages", args).await
    }

    async fn create_pending_action(&self, scope: &Scope, new: NewPendingAction) -> Result<PendingAction> {
        new.validate()?;
        self.invoke("create_pending_action", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn get_pending_action(&self, scope: &Scope, user_id: &str, id: &ActionId) -> Result<PendingAction> {
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "id": id });
        self.invoke("get_pending_action", args).await
    }
    async fn list_pending_actions(
        &self,
        scope: &Scope,
        user_id: &str,
        filter: &PendingActionFilter,
        page: &PageRequest,
    ) -> Result<Page<PendingAction>> {
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "filter": filter, "page": page });
        self.invoke("list_pending_actions", args).await
    }
    async fn decide_pending_action(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ActionId,
        to: ActionStatus,
        now: Timestamp,
    ) -> Result<PendingAction> {
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "id": id, "to": to, "now": now });
        self.invoke("decide_pending_action", args).await
    }
    async fn finish_pending_action(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ActionId,
        to: ActionStatus,
        outcome: Value,
    ) -> Result<PendingAction> {
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "id": id, "to": to, "outcome": outcome });
        self.invoke("finish_pending_action", args).await
    }

    async fn create_api_token(&self, scope: &Scope, new: NewApiToken) -> Result<ApiToken> {
        new.validate()?;
        self.invoke("create_api_token", json!({ "scope": scope_json(scope), "new": new })).await
    }
    async fn list_api_tokens(&self, scope: &Scope, user_id: &str) -> Result<Vec<ApiToken>> {
        self.invoke("list_api_tokens", json!({ "scope": scope_json(scope), "user_id": user_id })).await
    }
    async fn revoke_api_token(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ApiTokenId,
        now: Timestamp,
    ) -> Result<ApiToken> {
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "id": id, "now": now });
        self.invoke("revoke_api_token", args).await
    }
    async fn find_api_token(&self, secret_hash: &str) -> Result<ApiToken> {
        self.invoke("find_api_token", json!({ "secret_hash": secret_hash })).await
    }

    async fn record_audit(&self, scope: &Scope, event: NewAuditEvent) -> Result<()> {
        self.invoke_unit("record_audit", json!({ "scope": scope_json(scope), "event": event })).await
    }
    async fn list_audit_events(
        &self,
        scope: &Scope,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let args = json!({ "scope": scope_json(scope), "filter": filter, "page": page });
        self.invoke("list_audit_events", args).await
    }
    async fn claim_idempotency_key(
        &self,
        scope: &Scope,
        user_id: &str,
        key: &str,
        tool: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<IdempotencyClaim> {
        let args = json!({
            "scope": scope_json(scope), "user_id": user_id, "key": key, "tool": tool, "fingerprint": fingerprint, "now": now
        });
        Ok(match self.invoke::<HostClaim>("claim_idempotency_key", args).await? {
            HostClaim::Claimed => IdempotencyClaim::Claimed,
            HostClaim::Done { result } => IdempotencyClaim::Done(result),
            HostClaim::InProgress => IdempotencyClaim::InProgress,
        })
    }
    async fn complete_idempotency_key(&self, scope: &Scope, user_id: &str, key: &str, result: &Value) -> Result<()> {
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "key": key, "result": result });
        self.invoke_unit("complete_idempotency_key", args).await
    }
    async fn release_idempotency_key(&self, scope: &Scope, user_id: &str, key: &str) -> Result<()> {
        let args = json!({ "scope": scope_json(scope), "user_id": user_id, "key": key });
        self.invoke_unit("release_idempotency_key", args).await
    }
    async fn take_rate_budget(
        &self,
        scope: &Scope,
        user_id: &str,
        bucket: &str,
        budget: RateBudget,
        cost: u32,
        now: Timestamp,
    ) -> Result<Option<chrono::Duration>> {
        let args = json!({
            "scope": scope_json(scope), "user_id": user_id, "bucket": bucket,
            "per_minute": budget.per_minute, "burst": budget.burst, "cost": cost, "now": now
        });
        let answer = self.invoke::<HostRateAnswer>("take_rate_budget", args).await?;
        Ok((!answer.taken).then(|| chrono::Duration::milliseconds(answer.wait_ms.max(0))))
    }
}
