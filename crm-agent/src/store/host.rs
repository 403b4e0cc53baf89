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

use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

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

/// The groups the SDK keeps for itself when the host does not: tenants and the assistant's
/// own records. CRM entities are never taken from `own`, so a host that leaves out, say,
/// deals gets no deal tools rather than deals stored somewhere it does not know. Members and
/// roles point at employees, so they stay with the host's people (a host that builds its
/// users' contexts itself needs neither).
pub const BOOKKEEPING: &[StoreOp] = &[
    StoreOp::Organizations,
    StoreOp::Audit,
    StoreOp::Idempotency,
    StoreOp::Conversations,
    StoreOp::PendingActions,
    StoreOp::ApiTokens,
    StoreOp::RateLimits,
];

/// Puts `host` in front of `own`: each [bookkeeping](BOOKKEEPING) group goes to the host when
/// it supports it and to `own` otherwise; everything else goes to the host.
pub fn with_bookkeeping(host: Arc<dyn Store>, own: Arc<dyn Store>) -> Arc<dyn Store> {
    Arc::new(BookkeepingStore { host, own })
}

/// See [`with_bookkeeping`].
struct BookkeepingStore {
    host: Arc<dyn Store>,
    own: Arc<dyn Store>,
}

impl BookkeepingStore {
    /// The store that answers for `op`.
    fn pick(&self, op: StoreOp) -> &dyn Store {
        if BOOKKEEPING.contains(&op) && !self.host.supports(op) { &*self.own } else { &*self.host }
    }
}

#[async_trait]
impl Store for BookkeepingStore {
    fn supports(&self, op: StoreOp) -> bool {
        self.pick(op).supports(op)
    }

    async fn create_organization(&self, new: NewOrganization) -> Result<Organization> {
        self.pick(StoreOp::Organizations).create_organization(new).await
    }
    async fn find_organization(&self, id_or_slug: &str) -> Result<Organization> {
        self.pick(StoreOp::Organizations).find_organization(id_or_slug).await
    }
    async fn get_organization(&self, scope: &Scope) -> Result<Organization> {
        self.pick(StoreOp::Organizations).get_organization(scope).await
    }
    async fn update_organization(&self, scope: &Scope, patch: OrganizationPatch) -> Result<Organization> {
        self.pick(StoreOp::Organizations).update_organization(scope, patch).await
    }
    async fn put_member(&self, scope: &Scope, member: NewMember) -> Result<Member> {
        self.pick(StoreOp::Members).put_member(scope, member).await
    }
    async fn get_member(&self, scope: &Scope, user_id: &str) -> Result<Member> {
        self.pick(StoreOp::Members).get_member(scope, user_id).await
    }
    async fn list_memberships(&self, user_id: &str) -> Result<Vec<Member>> {
        self.pick(StoreOp::Members).list_memberships(user_id).await
    }
    async fn list_roles(&self, scope: &Scope) -> Result<Vec<RoleDefinition>> {
        self.pick(StoreOp::Roles).list_roles(scope).await
    }
    async fn create_role(&self, scope: &Scope, new: NewRoleDefinition) -> Result<RoleDefinition> {
        self.pick(StoreOp::Roles).create_role(scope, new).await
    }
    async fn update_role(&self, scope: &Scope, id: &RoleId, patch: RoleDefinitionPatch) -> Result<RoleDefinition> {
        self.pick(StoreOp::Roles).update_role(scope, id, patch).await
    }
    async fn assign_role(&self, scope: &Scope, employee: &EmployeeId, role: &RoleId) -> Result<Employee> {
        self.pick(StoreOp::Roles).assign_role(scope, employee, role).await
    }

    async fn list_employees(
        &self,
        scope: &Scope,
        filter: &EmployeeFilter,
        page: &PageRequest,
    ) -> Result<Page<Employee>> {
        self.host.list_employees(scope, filter, page).await
    }
    async fn get_employee(&self, scope: &Scope, id: &EmployeeId) -> Result<Employee> {
        self.host.get_employee(scope, id).await
    }
    async fn create_employee(&self, scope: &Scope, new: NewEmployee) -> Result<Employee> {
        self.host.create_employee(scope, new).await
    }
    async fn update_employee(&self, scope: &Scope, id: &EmployeeId, patch: EmployeePatch) -> Result<Employee> {
        self.host.update_employee(scope, id, patch).await
    }
    async fn list_customers(
        &self,
        scope: &Scope,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<Customer>> {
        self.host.list_customers(scope, filter, page).await
    }
    async fn get_customer(&self, scope: &Scope, id: &CustomerId) -> Result<Customer> {
        self.host.get_customer(scope, id).await
    }
    async fn create_customer(&self, scope: &Scope, new: NewCustomer) -> Result<Customer> {
        self.host.create_customer(scope, new).await
    }
    async fn update_customer(&self, scope: &Scope, id: &CustomerId, patch: CustomerPatch) -> Result<Customer> {
        self.host.update_customer(scope, id, patch).await
    }
    async fn import_customers(&self, scope: &Scope, batch: Vec<NewCustomer>) -> Result<Vec<CustomerId>> {
        self.host.import_customers(scope, batch).await
    }
    async fn customer_stats(&self, scope: &Scope) -> Result<CustomerStats> {
        self.host.customer_stats(scope).await
    }
    async fn list_pipelines(&self, scope: &Scope) -> Result<Vec<Pipeline>> {
        self.host.list_pipelines(scope).await
    }
    async fn create_pipeline(&self, scope: &Scope, new: NewPipeline) -> Result<Pipeline> {
        self.host.create_pipeline(scope, new).await
    }
    async fn list_leads(&self, scope: &Scope, filter: &LeadFilter, page: &PageRequest) -> Result<Page<Lead>> {
        self.host.list_leads(scope, filter, page).await
    }
    async fn get_lead(&self, scope: &Scope, id: &LeadId) -> Result<Lead> {
        self.host.get_lead(scope, id).await
    }
    async fn create_lead(&self, scope: &Scope, new: NewLead) -> Result<Lead> {
        self.host.create_lead(scope, new).await
    }
    async fn update_lead(
        &self,
        scope: &Scope,
        id: &LeadId,
        patch: LeadPatch,
        history: Option<NewLeadHistory>,
    ) -> Result<Lead> {
        self.host.update_lead(scope, id, patch, history).await
    }
    async fn lead_history(&self, scope: &Scope, id: &LeadId) -> Result<Vec<LeadHistory>> {
        self.host.lead_history(scope, id).await
    }
    async fn convert_lead(&self, scope: &Scope, id: &LeadId, customer: NewCustomer) -> Result<LeadConversion> {
        self.host.convert_lead(scope, id, customer).await
    }
    async fn import_leads(&self, scope: &Scope, batch: Vec<NewLead>) -> Result<Vec<LeadId>> {
        self.host.import_leads(scope, batch).await
    }
    async fn lead_stats(&self, scope: &Scope) -> Result<LeadStats> {
        self.host.lead_stats(scope).await
    }
    async fn list_deals(&self, scope: &Scope, filter: &DealFilter, page: &PageRequest) -> Result<Page<Deal>> {
        self.host.list_deals(scope, filter, page).await
    }
    async fn get_deal(&self, scope: &Scope, id: &DealId) -> Result<Deal> {
        self.host.get_deal(scope, id).await
    }
    async fn create_deal(&self, scope: &Scope, new: NewDeal) -> Result<Deal> {
        self.host.create_deal(scope, new).await
    }
    async fn update_deal(&self, scope: &Scope, id: &DealId, patch: DealPatch) -> Result<Deal> {
        self.host.update_deal(scope, id, patch).await
    }
    async fn import_deals(&self, scope: &Scope, batch: Vec<NewDeal>) -> Result<Vec<DealId>> {
        self.host.import_deals(scope, batch).await
    }
    async fn deal_stats(&self, scope: &Scope) -> Result<DealStats> {
        self.host.deal_stats(scope).await
    }
    async fn list_issues(&self, scope: &Scope, filter: &IssueFilter, page: &PageRequest) -> Result<Page<Issue>> {
        self.host.list_issues(scope, filter, page).await
    }
    async fn get_issue(&self, scope: &Scope, id: &IssueId) -> Result<Issue> {
        self.host.get_issue(scope, id).await
    }
    async fn create_issue(&self, scope: &Scope, new: NewIssue) -> Result<Issue> {
        self.host.create_issue(scope, new).await
    }
    async fn update_issue(&self, scope: &Scope, id: &IssueId, patch: IssuePatch) -> Result<Issue> {
        self.host.update_issue(scope, id, patch).await
    }
    async fn add_issue_comment(&self, scope: &Scope, new: NewIssueComment) -> Result<IssueComment> {
        self.host.add_issue_comment(scope, new).await
    }
    async fn list_issue_comments(
        &self,
        scope: &Scope,
        issue: &IssueId,
        include_internal: bool,
        page: &PageRequest,
    ) -> Result<Page<IssueComment>> {
        self.host.list_issue_comments(scope, issue, include_internal, page).await
    }
    async fn issue_stats(&self, scope: &Scope) -> Result<IssueStats> {
        self.host.issue_stats(scope).await
    }
    async fn list_orders(&self, scope: &Scope, filter: &OrderFilter, page: &PageRequest) -> Result<Page<Order>> {
        self.host.list_orders(scope, filter, page).await
    }
    async fn get_order(&self, scope: &Scope, id: &OrderId) -> Result<Order> {
        self.host.get_order(scope, id).await
    }
    async fn create_order(&self, scope: &Scope, new: NewOrder) -> Result<Order> {
        self.host.create_order(scope, new).await
    }
    async fn list_payments(&self, scope: &Scope, filter: &PaymentFilter, page: &PageRequest) -> Result<Page<Payment>> {
        self.host.list_payments(scope, filter, page).await
    }
    async fn get_payment(&self, scope: &Scope, id: &PaymentId) -> Result<Payment> {
        self.host.get_payment(scope, id).await
    }
    async fn create_payment(&self, scope: &Scope, new: NewPayment) -> Result<Payment> {
        self.host.create_payment(scope, new).await
    }
    async fn list_activities(
        &self,
        scope: &Scope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<Activity>> {
        self.host.list_activities(scope, filter, page).await
    }
    async fn get_activity(&self, scope: &Scope, id: &ActivityId) -> Result<Activity> {
        self.host.get_activity(scope, id).await
    }
    async fn create_activity(&self, scope: &Scope, new: NewActivity) -> Result<Activity> {
        self.host.create_activity(scope, new).await
    }
    async fn update_activity(&self, scope: &Scope, id: &ActivityId, patch: ActivityPatch) -> Result<Activity> {
        self.host.update_activity(scope, id, patch).await
    }
    async fn activity_stats(&self, scope: &Scope) -> Result<ActivityStats> {
        self.host.activity_stats(scope).await
    }
    async fn dashboard_stats(&self, scope: &Scope, now: Timestamp) -> Result<DashboardStats> {
        self.host.dashboard_stats(scope, now).await
    }
    async fn sales_funnel(&self, scope: &Scope) -> Result<SalesFunnel> {
        self.host.sales_funnel(scope).await
    }
    async fn revenue_by_period(&self, scope: &Scope, buckets: &[(Date, Date)]) -> Result<Vec<RevenueBucket>> {
        self.host.revenue_by_period(scope, buckets).await
    }
    async fn employee_performance(&self, scope: &Scope) -> Result<Vec<EmployeePerformance>> {
        self.host.employee_performance(scope).await
    }

    async fn create_conversation(&self, scope: &Scope, new: NewConversation) -> Result<Conversation> {
        self.pick(StoreOp::Conversations).create_conversation(scope, new).await
    }
    async fn get_conversation(&self, scope: &Scope, user_id: &str, id: &ConversationId) -> Result<Conversation> {
        self.pick(StoreOp::Conversations).get_conversation(scope, user_id, id).await
    }
    async fn list_conversations(&self, scope: &Scope, user_id: &str, page: &PageRequest) -> Result<Page<Conversation>> {
        self.pick(StoreOp::Conversations).list_conversations(scope, user_id, page).await
    }
    async fn update_conversation(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        patch: ConversationPatch,
    ) -> Result<Conversation> {
        self.pick(StoreOp::Conversations).update_conversation(scope, user_id, id, patch).await
    }
    async fn delete_conversation(&self, scope: &Scope, user_id: &str, id: &ConversationId) -> Result<()> {
        self.pick(StoreOp::Conversations).delete_conversation(scope, user_id, id).await
    }
    async fn append_messages(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        messages: Vec<NewMessage>,
        now: Timestamp,
    ) -> Result<Vec<Message>> {
        self.pick(StoreOp::Conversations).append_messages(scope, user_id, id, messages, now).await
    }
    async fn list_messages(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>> {
        self.pick(StoreOp::Conversations).list_messages(scope, user_id, id, page).await
    }
    async fn create_pending_action(&self, scope: &Scope, new: NewPendingAction) -> Result<PendingAction> {
        self.pick(StoreOp::PendingActions).create_pending_action(scope, new).await
    }
    async fn get_pending_action(&self, scope: &Scope, user_id: &str, id: &ActionId) -> Result<PendingAction> {
        self.pick(StoreOp::PendingActions).get_pending_action(scope, user_id, id).await
    }
    async fn list_pending_actions(
        &self,
        scope: &Scope,
        user_id: &str,
        filter: &PendingActionFilter,
        page: &PageRequest,
    ) -> Result<Page<PendingAction>> {
        self.pick(StoreOp::PendingActions).list_pending_actions(scope, user_id, filter, page).await
    }
    async fn decide_pending_action(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ActionId,
        to: ActionStatus,
        now: Timestamp,
    ) -> Result<PendingAction> {
        self.pick(StoreOp::PendingActions).decide_pending_action(scope, user_id, id, to, now).await
    }
    async fn finish_pending_action(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ActionId,
        to: ActionStatus,
        outcome: Value,
    ) -> Result<PendingAction> {
        self.pick(StoreOp::PendingActions).finish_pending_action(scope, user_id, id, to, outcome).await
    }
    async fn create_api_token(&self, scope: &Scope, new: NewApiToken) -> Result<ApiToken> {
        self.pick(StoreOp::ApiTokens).create_api_token(scope, new).await
    }
    async fn list_api_tokens(&self, scope: &Scope, user_id: &str) -> Result<Vec<ApiToken>> {
        self.pick(StoreOp::ApiTokens).list_api_tokens(scope, user_id).await
    }
    async fn revoke_api_token(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ApiTokenId,
        now: Timestamp,
    ) -> Result<ApiToken> {
        self.pick(StoreOp::ApiTokens).revoke_api_token(scope, user_id, id, now).await
    }
    async fn find_api_token(&self, secret_hash: &str) -> Result<ApiToken> {
        self.pick(StoreOp::ApiTokens).find_api_token(secret_hash).await
    }
    async fn record_audit(&self, scope: &Scope, event: NewAuditEvent) -> Result<()> {
        self.pick(StoreOp::Audit).record_audit(scope, event).await
    }
    async fn record_audits(&self, events: Vec<(OrganizationId, NewAuditEvent)>) -> Result<()> {
        self.pick(StoreOp::Audit).record_audits(events).await
    }
    async fn list_audit_events(
        &self,
        scope: &Scope,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        self.pick(StoreOp::Audit).list_audit_events(scope, filter, page).await
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
        self.pick(StoreOp::Idempotency).claim_idempotency_key(scope, user_id, key, tool, fingerprint, now).await
    }
    async fn complete_idempotency_key(&self, scope: &Scope, user_id: &str, key: &str, result: &Value) -> Result<()> {
        self.pick(StoreOp::Idempotency).complete_idempotency_key(scope, user_id, key, result).await
    }
    async fn release_idempotency_key(&self, scope: &Scope, user_id: &str, key: &str) -> Result<()> {
        self.pick(StoreOp::Idempotency).release_idempotency_key(scope, user_id, key).await
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
        self.pick(StoreOp::RateLimits).take_rate_budget(scope, user_id, bucket, budget, cost, now).await
    }
}
