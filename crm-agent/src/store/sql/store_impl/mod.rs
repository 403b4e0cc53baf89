//! `impl Store for SqlStore`: each method is a short transaction script over the generic
//! query shapes of `query.rs` and the mappings of `entities`, written in the module of its
//! entity; this impl routes to them (it answers `transaction` and the analytics calls, one
//! line each, itself).

use async_trait::async_trait;

use crate::domain::*;
use crate::error::Result;
use crate::store::sql::{Pools, SqlStore};
use crate::store::{IdempotencyClaim, RateBudget, Scope, Store, StoreTransaction};

mod activities;
mod assistant;
mod audit;
mod customers;
mod issues;
mod orders;
mod organization;
mod sales;
mod shared;
mod tokens;

#[async_trait]
impl Store for SqlStore {
    async fn transaction(&self) -> Result<Option<Box<dyn StoreTransaction>>> {
        if let Pools::Bound(_) = self.pools {
            // Already inside one: its calls commit together with it.
            return Ok(None);
        }
        Ok(Some(Box::new(crate::store::sql::unit::SqlUnit::new(self.begin().await?))))
    }

    // --- organizations and members ---------------------------------------------------------------

    async fn create_organization(&self, new: NewOrganization) -> Result<Organization> {
        organization::create_organization(self, new).await
    }
    async fn find_organization(&self, id_or_slug: &str) -> Result<Organization> {
        organization::find_organization(self, id_or_slug).await
    }
    async fn get_organization(&self, scope: &Scope) -> Result<Organization> {
        organization::get_organization(self, scope).await
    }
    async fn update_organization(&self, scope: &Scope, patch: OrganizationPatch) -> Result<Organization> {
        organization::update_organization(self, scope, patch).await
    }
    async fn put_member(&self, scope: &Scope, member: NewMember) -> Result<Member> {
        organization::put_member(self, scope, member).await
    }
    async fn get_member(&self, scope: &Scope, user_id: &str) -> Result<Member> {
        organization::get_member(self, scope, user_id).await
    }
    async fn list_memberships(&self, user_id: &str) -> Result<Vec<Member>> {
        organization::list_memberships(self, user_id).await
    }

    // --- roles -----------------------------------------------------------------------------------

    async fn list_roles(&self, scope: &Scope) -> Result<Vec<RoleDefinition>> {
        organization::list_roles(self, scope).await
    }
    async fn create_role(&self, scope: &Scope, new: NewRoleDefinition) -> Result<RoleDefinition> {
        organization::create_role(self, scope, new).await
    }
    async fn update_role(&self, scope: &Scope, id: &RoleId, patch: RoleDefinitionPatch) -> Result<RoleDefinition> {
        organization::update_role(self, scope, id, patch).await
    }
    async fn assign_role(&self, scope: &Scope, employee: &EmployeeId, role: &RoleId) -> Result<Employee> {
        organization::assign_role(self, scope, employee, role).await
    }

    // --- employees -------------------------------------------------------------------------------

    async fn list_employees(
        &self,
        scope: &Scope,
        filter: &EmployeeFilter,
        page: &PageRequest,
    ) -> Result<Page<Employee>> {
        organization::list_employees(self, scope, filter, page).await
    }
    async fn get_employee(&self, scope: &Scope, id: &EmployeeId) -> Result<Employee> {
        organization::get_employee(self, scope, id).await
    }
    async fn create_employee(&self, scope: &Scope, new: NewEmployee) -> Result<Employee> {
        organization::create_employee(self, scope, new).await
    }
    async fn update_employee(&self, scope: &Scope, id: &EmployeeId, patch: EmployeePatch) -> Result<Employee> {
        organization::update_employee(self, scope, id, patch).await
    }

    // --- customers -------------------------------------------------------------------------------

    async fn list_customers(
        &self,
        scope: &Scope,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<Customer>> {
        customers::list_customers(self, scope, filter, page).await
    }
    async fn get_customer(&self, scope: &Scope, id: &CustomerId) -> Result<Customer> {
        customers::get_customer(self, scope, id).await
    }
    async fn create_customer(&self, scope: &Scope, new: NewCustomer) -> Result<Customer> {
        customers::create_customer(self, scope, new).await
    }
    async fn update_customer(&self, scope: &Scope, id: &CustomerId, patch: CustomerPatch) -> Result<Customer> {
        customers::update_customer(self, scope, id, patch).await
    }
    async fn import_customers(&self, scope: &Scope, batch: Vec<NewCustomer>) -> Result<Vec<CustomerId>> {
        customers::import_customers(self, scope, batch).await
    }
    async fn customer_stats(&self, scope: &Scope) -> Result<CustomerStats> {
        customers::customer_stats(self, scope).await
    }

    // --- pipelines -------------------------------------------------------------------------------

    async fn list_pipelines(&self, scope: &Scope) -> Result<Vec<Pipeline>> {
        sales::list_pipelines(self, scope).await
    }
    async fn create_pipeline(&self, scope: &Scope, new: NewPipeline) -> Result<Pipeline> {
        sales::create_pipeline(self, scope, new).await
    }

    // --- leads -----------------------------------------------------------------------------------

    async fn list_leads(&self, scope: &Scope, filter: &LeadFilter, page: &PageRequest) -> Result<Page<Lead>> {
        sales::list_leads(self, scope, filter, page).await
    }
    async fn get_lead(&self, scope: &Scope, id: &LeadId) -> Result<Lead> {
        sales::get_lead(self, scope, id).await
    }
    async fn create_lead(&self, scope: &Scope, new: NewLead) -> Result<Lead> {
        sales::create_lead(self, scope, new).await
    }
    async fn update_lead(
        &self,
        scope: &Scope,
        id: &LeadId,
        patch: LeadPatch,
        history: Option<NewLeadHistory>,
    ) -> Result<Lead> {
        sales::update_lead(self, scope, id, patch, history).await
    }
    async fn lead_history(&self, scope: &Scope, id: &LeadId) -> Result<Vec<LeadHistory>> {
        sales::lead_history(self, scope, id).await
    }
    async fn convert_lead(&self, scope: &Scope, id: &LeadId, customer: NewCustomer) -> Result<LeadConversion> {
        sales::convert_lead(self, scope, id, customer).await
    }
    async fn import_leads(&self, scope: &Scope, batch: Vec<NewLead>) -> Result<Vec<LeadId>> {
        sales::import_leads(self, scope, batch).await
    }
    async fn lead_stats(&self, scope: &Scope) -> Result<LeadStats> {
        sales::lead_stats(self, scope).await
    }

    // --- deals -----------------------------------------------------------------------------------

    async fn list_deals(&self, scope: &Scope, filter: &DealFilter, page: &PageRequest) -> Result<Page<Deal>> {
        sales::list_deals(self, scope, filter, page).await
    }
    async fn get_deal(&self, scope: &Scope, id: &DealId) -> Result<Deal> {
        sales::get_deal(self, scope, id).await
    }
    async fn create_deal(&self, scope: &Scope, new: NewDeal) -> Result<Deal> {
        sales::create_deal(self, scope, new).await
    }
    async fn update_deal(&self, scope: &Scope, id: &DealId, patch: DealPatch) -> Result<Deal> {
        sales::update_deal(self, scope, id, patch).await
    }
    async fn import_deals(&self, scope: &Scope, batch: Vec<NewDeal>) -> Result<Vec<DealId>> {
        sales::import_deals(self, scope, batch).await
    }
    async fn deal_stats(&self, scope: &Scope) -> Result<DealStats> {
        sales::deal_stats(self, scope).await
    }

    // --- issues ----------------------------------------------------------------------------------

    async fn list_issues(&self, scope: &Scope, filter: &IssueFilter, page: &PageRequest) -> Result<Page<Issue>> {
        issues::list_issues(self, scope, filter, page).await
    }
    async fn get_issue(&self, scope: &Scope, id: &IssueId) -> Result<Issue> {
        issues::get_issue(self, scope, id).await
    }
    async fn create_issue(&self, scope: &Scope, new: NewIssue) -> Result<Issue> {
        issues::create_issue(self, scope, new).await
    }
    async fn update_issue(&self, scope: &Scope, id: &IssueId, patch: IssuePatch) -> Result<Issue> {
        issues::update_issue(self, scope, id, patch).await
    }
    async fn add_issue_comment(&self, scope: &Scope, new: NewIssueComment) -> Result<IssueComment> {
        issues::add_issue_comment(self, scope, new).await
    }
    async fn list_issue_comments(
        &self,
        scope: &Scope,
        issue: &IssueId,
        include_internal: bool,
        page: &PageRequest,
    ) -> Result<Page<IssueComment>> {
        issues::list_issue_comments(self, scope, issue, include_internal, page).await
    }
    async fn issue_stats(&self, scope: &Scope) -> Result<IssueStats> {
        issues::issue_stats(self, scope).await
    }

    // --- orders and payments ---------------------------------------------------------------------

    async fn list_orders(&self, scope: &Scope, filter: &OrderFilter, page: &PageRequest) -> Result<Page<Order>> {
        orders::list_orders(self, scope, filter, page).await
    }
    async fn get_order(&self, scope: &Scope, id: &OrderId) -> Result<Order> {
        orders::get_order(self, scope, id).await
    }
    async fn create_order(&self, scope: &Scope, new: NewOrder) -> Result<Order> {
        orders::create_order(self, scope, new).await
    }
    async fn list_payments(&self, scope: &Scope, filter: &PaymentFilter, page: &PageRequest) -> Result<Page<Payment>> {
        orders::list_payments(self, scope, filter, page).await
    }
    async fn get_payment(&self, scope: &Scope, id: &PaymentId) -> Result<Payment> {
        orders::get_payment(self, scope, id).await
    }
    async fn create_payment(&self, scope: &Scope, new: NewPayment) -> Result<Payment> {
        orders::create_payment(self, scope, new).await
    }

    // --- activities ------------------------------------------------------------------------------

    async fn list_activities(
        &self,
        scope: &Scope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<Activity>> {
        activities::list_activities(self, scope, filter, page).await
    }
    async fn get_activity(&self, scope: &Scope, id: &ActivityId) -> Result<Activity> {
        activities::get_activity(self, scope, id).await
    }
    async fn create_activity(&self, scope: &Scope, new: NewActivity) -> Result<Activity> {
        activities::create_activity(self, scope, new).await
    }
    async fn update_activity(&self, scope: &Scope, id: &ActivityId, patch: ActivityPatch) -> Result<Activity> {
        activities::update_activity(self, scope, id, patch).await
    }
    async fn activity_stats(&self, scope: &Scope) -> Result<ActivityStats> {
        activities::activity_stats(self, scope).await
    }

    // --- analytics -------------------------------------------------------------------------------

    async fn aggregate_records(&self, scope: &Scope, query: &AggregateQuery) -> Result<AggregateAnswer> {
        self.sql_aggregate_records(scope, query).await
    }
    async fn dashboard_stats(&self, scope: &Scope, now: Timestamp) -> Result<DashboardStats> {
        self.sql_dashboard(scope, now).await
    }
    async fn sales_funnel(&self, scope: &Scope) -> Result<SalesFunnel> {
        self.sql_sales_funnel(scope).await
    }
    async fn revenue_by_period(&self, scope: &Scope, buckets: &[(Date, Date)]) -> Result<Vec<RevenueBucket>> {
        self.sql_revenue_by_period(scope, buckets).await
    }
    async fn employee_performance(&self, scope: &Scope) -> Result<Vec<EmployeePerformance>> {
        self.sql_employee_performance(scope).await
    }

    // --- the assistant: conversations, messages, pending actions ---------------------------------

    async fn create_conversation(&self, scope: &Scope, new: NewConversation) -> Result<Conversation> {
        assistant::create_conversation(self, scope, new).await
    }
    async fn get_conversation(&self, scope: &Scope, user_id: &str, id: &ConversationId) -> Result<Conversation> {
        assistant::get_conversation(self, scope, user_id, id).await
    }
    async fn list_conversations(&self, scope: &Scope, user_id: &str, page: &PageRequest) -> Result<Page<Conversation>> {
        assistant::list_conversations(self, scope, user_id, page).await
    }
    async fn update_conversation(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        patch: ConversationPatch,
    ) -> Result<Conversation> {
        assistant::update_conversation(self, scope, user_id, id, patch).await
    }
    async fn delete_conversation(&self, scope: &Scope, user_id: &str, id: &ConversationId) -> Result<()> {
        assistant::delete_conversation(self, scope, user_id, id).await
    }
    async fn append_messages(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        messages: Vec<NewMessage>,
        now: Timestamp,
    ) -> Result<Vec<Message>> {
        assistant::append_messages(self, scope, user_id, id, messages, now).await
    }
    async fn list_messages(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>> {
        assistant::list_messages(self, scope, user_id, id, page).await
    }
    async fn create_pending_action(&self, scope: &Scope, new: NewPendingAction) -> Result<PendingAction> {
        assistant::create_pending_action(self, scope, new).await
    }
    async fn get_pending_action(&self, scope: &Scope, user_id: &str, id: &ActionId) -> Result<PendingAction> {
        assistant::get_pending_action(self, scope, user_id, id).await
    }
    async fn list_pending_actions(
        &self,
        scope: &Scope,
        user_id: &str,
        filter: &PendingActionFilter,
        page: &PageRequest,
    ) -> Result<Page<PendingAction>> {
        assistant::list_pending_actions(self, scope, user_id, filter, page).await
    }
    async fn decide_pending_action(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ActionId,
        to: ActionStatus,
        now: Timestamp,
    ) -> Result<PendingAction> {
        assistant::decide_pending_action(self, scope, user_id, id, to, now).await
    }
    async fn finish_pending_action(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ActionId,
        to: ActionStatus,
        outcome: serde_json::Value,
    ) -> Result<PendingAction> {
        assistant::finish_pending_action(self, scope, user_id, id, to, outcome).await
    }

    // --- API tokens ------------------------------------------------------------------------------

    async fn create_api_token(&self, scope: &Scope, new: NewApiToken) -> Result<ApiToken> {
        tokens::create_api_token(self, scope, new).await
    }
    async fn list_api_tokens(&self, scope: &Scope, user_id: &str) -> Result<Vec<ApiToken>> {
        tokens::list_api_tokens(self, scope, user_id).await
    }
    async fn revoke_api_token(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ApiTokenId,
        now: Timestamp,
    ) -> Result<ApiToken> {
        tokens::revoke_api_token(self, scope, user_id, id, now).await
    }
    async fn find_api_token(&self, secret_hash: &str) -> Result<ApiToken> {
        tokens::find_api_token(self, secret_hash).await
    }

    // --- audit -----------------------------------------------------------------------------------

    async fn record_audit(&self, scope: &Scope, event: NewAuditEvent) -> Result<()> {
        audit::record_audit(self, scope, event).await
    }
    async fn record_audits(&self, events: Vec<(OrganizationId, NewAuditEvent)>) -> Result<()> {
        audit::record_audits(self, events).await
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
        audit::claim_idempotency_key(self, scope, user_id, key, tool, fingerprint, now).await
    }
    async fn complete_idempotency_key(
        &self,
        scope: &Scope,
        user_id: &str,
        key: &str,
        result: &serde_json::Value,
    ) -> Result<()> {
        audit::complete_idempotency_key(self, scope, user_id, key, result).await
    }
    async fn release_idempotency_key(&self, scope: &Scope, user_id: &str, key: &str) -> Result<()> {
        audit::release_idempotency_key(self, scope, user_id, key).await
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
        audit::take_rate_budget(self, scope, user_id, bucket, budget, cost, now).await
    }
    async fn list_audit_events(
        &self,
        scope: &Scope,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        audit::list_audit_events(self, scope, filter, page).await
    }
}
