//! [`with_bookkeeping`]: a host store in front of a store of the SDK's own, which keeps the
//! assistant's bookkeeping (organizations, conversations, pending actions, audit events,
//! idempotency keys, API tokens, rate budgets) for a host that does not.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{IdempotencyClaim, RateBudget, Scope, Store, StoreOp};
use crate::domain::*;
use crate::error::Result;

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
