//! The store methods a host implements, listed once.
//!
//! [`with_host_methods!`] hands the list to a macro that writes code from it: the forwarding of
//! [`HostStore`](super::host::HostStore), the bookkeeping router of
//! [`with_bookkeeping`](super::host::with_bookkeeping), and [`HOST_METHODS`], the table the
//! bindings read and their typed host contracts (`crm_agent/store.py`, `index.d.ts`) are
//! generated from. Each entry is a [`Store`](super::Store) method with its parameters by name and its
//! result; the compiler holds every generated method to the trait's signature.
//!
//! The methods come in [`StoreOp`] groups. `forwarded` methods are passed to the host as
//! they are (the arguments as one JSON object of named values, the answer decoded as the
//! result); the two `handwritten` ones have answers of their own shape, written out in
//! `host.rs`. The store's other methods are not a host's: the core computes stats, imports,
//! `aggregate_records` and `record_audits` from these, and a host store has no `transaction`.

use super::StoreOp;

/// Calls `$then! { $($extra)* forwarded { … } handwritten { … } }` with every host method,
/// grouped by [`StoreOp`] (see the [module docs](self)).
macro_rules! with_host_methods {
    ($then:ident $(, $($extra:tt)*)?) => {
        $then! {
            $($($extra)*)?
            forwarded {
                Organizations {
                    create_organization(new: NewOrganization) -> Organization;
                    find_organization(id_or_slug: &str) -> Organization;
                    get_organization(scope: &Scope) -> Organization;
                    update_organization(scope: &Scope, patch: OrganizationPatch) -> Organization;
                }
                Members {
                    put_member(scope: &Scope, member: NewMember) -> Member;
                    get_member(scope: &Scope, user_id: &str) -> Member;
                    list_memberships(user_id: &str) -> Vec<Member>;
                }
                Roles {
                    list_roles(scope: &Scope) -> Vec<RoleDefinition>;
                    create_role(scope: &Scope, new: NewRoleDefinition) -> RoleDefinition;
                    update_role(scope: &Scope, id: &RoleId, patch: RoleDefinitionPatch) -> RoleDefinition;
                    assign_role(scope: &Scope, employee: &EmployeeId, role: &RoleId) -> Employee;
                }
                ReadEmployees {
                    list_employees(scope: &Scope, filter: &EmployeeFilter, page: &PageRequest) -> Page<Employee>;
                    get_employee(scope: &Scope, id: &EmployeeId) -> Employee;
                }
                WriteEmployees {
                    create_employee(scope: &Scope, new: NewEmployee) -> Employee;
                    update_employee(scope: &Scope, id: &EmployeeId, patch: EmployeePatch) -> Employee;
                }
                ReadCustomers {
                    list_customers(scope: &Scope, filter: &CustomerFilter, page: &PageRequest) -> Page<Customer>;
                    get_customer(scope: &Scope, id: &CustomerId) -> Customer;
                }
                WriteCustomers {
                    create_customer(scope: &Scope, new: NewCustomer) -> Customer;
                    update_customer(scope: &Scope, id: &CustomerId, patch: CustomerPatch) -> Customer;
                }
                ReadLeads {
                    list_leads(scope: &Scope, filter: &LeadFilter, page: &PageRequest) -> Page<Lead>;
                    get_lead(scope: &Scope, id: &LeadId) -> Lead;
                    lead_history(scope: &Scope, id: &LeadId) -> Vec<LeadHistory>;
                }
                WriteLeads {
                    create_lead(scope: &Scope, new: NewLead) -> Lead;
                    update_lead(
                        scope: &Scope,
                        id: &LeadId,
                        patch: LeadPatch,
                        history: Option<NewLeadHistory>,
                    ) -> Lead;
                }
                ConvertLeads {
                    convert_lead(scope: &Scope, id: &LeadId, customer: NewCustomer) -> LeadConversion;
                }
                ReadPipelines {
                    list_pipelines(scope: &Scope) -> Vec<Pipeline>;
                }
                WritePipelines {
                    create_pipeline(scope: &Scope, new: NewPipeline) -> Pipeline;
                }
                ReadDeals {
                    list_deals(scope: &Scope, filter: &DealFilter, page: &PageRequest) -> Page<Deal>;
                    get_deal(scope: &Scope, id: &DealId) -> Deal;
                }
                WriteDeals {
                    create_deal(scope: &Scope, new: NewDeal) -> Deal;
                    update_deal(scope: &Scope, id: &DealId, patch: DealPatch) -> Deal;
                }
                ReadIssues {
                    list_issues(scope: &Scope, filter: &IssueFilter, page: &PageRequest) -> Page<Issue>;
                    get_issue(scope: &Scope, id: &IssueId) -> Issue;
                    list_issue_comments(
                        scope: &Scope,
                        issue: &IssueId,
                        include_internal: bool,
                        page: &PageRequest,
                    ) -> Page<IssueComment>;
                }
                WriteIssues {
                    create_issue(scope: &Scope, new: NewIssue) -> Issue;
                    update_issue(scope: &Scope, id: &IssueId, patch: IssuePatch) -> Issue;
                    add_issue_comment(scope: &Scope, new: NewIssueComment) -> IssueComment;
                }
                ReadOrders {
                    list_orders(scope: &Scope, filter: &OrderFilter, page: &PageRequest) -> Page<Order>;
                    get_order(scope: &Scope, id: &OrderId) -> Order;
                }
                WriteOrders {
                    create_order(scope: &Scope, new: NewOrder) -> Order;
                }
                ReadPayments {
                    list_payments(scope: &Scope, filter: &PaymentFilter, page: &PageRequest) -> Page<Payment>;
                    get_payment(scope: &Scope, id: &PaymentId) -> Payment;
                }
                WritePayments {
                    create_payment(scope: &Scope, new: NewPayment) -> Payment;
                }
                ReadActivities {
                    list_activities(scope: &Scope, filter: &ActivityFilter, page: &PageRequest) -> Page<Activity>;
                    get_activity(scope: &Scope, id: &ActivityId) -> Activity;
                }
                WriteActivities {
                    create_activity(scope: &Scope, new: NewActivity) -> Activity;
                    update_activity(scope: &Scope, id: &ActivityId, patch: ActivityPatch) -> Activity;
                }
                Audit {
                    record_audit(scope: &Scope, event: NewAuditEvent) -> ();
                    list_audit_events(scope: &Scope, filter: &AuditFilter, page: &PageRequest) -> Page<AuditEvent>;
                }
                Idempotency {
                    complete_idempotency_key(scope: &Scope, user_id: &str, key: &str, result: &Value) -> ();
                    release_idempotency_key(scope: &Scope, user_id: &str, key: &str) -> ();
                }
                Conversations {
                    create_conversation(scope: &Scope, new: NewConversation) -> Conversation;
                    get_conversation(scope: &Scope, user_id: &str, id: &ConversationId) -> Conversation;
                    list_conversations(scope: &Scope, user_id: &str, page: &PageRequest) -> Page<Conversation>;
                    update_conversation(
                        scope: &Scope,
                        user_id: &str,
                        id: &ConversationId,
                        patch: ConversationPatch,
                    ) -> Conversation;
                    delete_conversation(scope: &Scope, user_id: &str, id: &ConversationId) -> ();
                    append_messages(
                        scope: &Scope,
                        user_id: &str,
                        id: &ConversationId,
                        messages: Vec<NewMessage>,
                        now: Timestamp,
                    ) -> Vec<Message>;
                    list_messages(
                        scope: &Scope,
                        user_id: &str,
                        id: &ConversationId,
                        page: &PageRequest,
                    ) -> Page<Message>;
                }
                PendingActions {
                    create_pending_action(scope: &Scope, new: NewPendingAction) -> PendingAction;
                    get_pending_action(scope: &Scope, user_id: &str, id: &ActionId) -> PendingAction;
                    list_pending_actions(
                        scope: &Scope,
                        user_id: &str,
                        filter: &PendingActionFilter,
                        page: &PageRequest,
                    ) -> Page<PendingAction>;
                    decide_pending_action(
                        scope: &Scope,
                        user_id: &str,
                        id: &ActionId,
                        to: ActionStatus,
                        now: Timestamp,
                    ) -> PendingAction;
                    finish_pending_action(
                        scope: &Scope,
                        user_id: &str,
                        id: &ActionId,
                        to: ActionStatus,
                        outcome: Value,
                    ) -> PendingAction;
                }
                ApiTokens {
                    create_api_token(scope: &Scope, new: NewApiToken) -> ApiToken;
                    list_api_tokens(scope: &Scope, user_id: &str) -> Vec<ApiToken>;
                    revoke_api_token(scope: &Scope, user_id: &str, id: &ApiTokenId, now: Timestamp) -> ApiToken;
                    find_api_token(secret_hash: &str) -> ApiToken;
                }
            }
            handwritten {
                Idempotency {
                    claim_idempotency_key(
                        scope: &Scope,
                        user_id: &str,
                        key: &str,
                        tool: &str,
                        fingerprint: &str,
                        now: Timestamp,
                    ) -> IdempotencyClaim;
                }
                RateLimits {
                    take_rate_budget(
                        scope: &Scope,
                        user_id: &str,
                        bucket: &str,
                        budget: RateBudget,
                        cost: u32,
                        now: Timestamp,
                    ) -> Option<chrono::Duration>;
                }
            }
        }
    };
}
pub(crate) use with_host_methods;

/// One method a host store may implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostMethod {
    /// The [`Store`](super::Store) method's name (`get_customer`); a binding may respell it
    /// for its language (`getCustomer`).
    pub name: &'static str,
    /// The group it belongs to: a host implements whole groups.
    pub group: StoreOp,
    /// Its arguments in the order the trait declares them: each one's name and Rust type
    /// (`("id", "&CustomerId")`; the spacing inside a type is the compiler's).
    pub args: &'static [(&'static str, &'static str)],
    /// The Rust type of its result (`"Customer"`, `"Page<Customer>"`, `"()"`).
    pub result: &'static str,
}

impl HostMethod {
    /// The method as JSON, for the bindings' typed host contracts:
    /// `{"name", "group", "args": [{"name", "type"}], "result"}`, types as Rust spells them
    /// (`&CustomerId`, `Page<Customer>`, `()`), without spaces.
    pub fn describe(&self) -> serde_json::Value {
        let tight = |ty: &str| ty.split_whitespace().collect::<String>();
        serde_json::json!({
            "name": self.name,
            "group": format!("{:?}", self.group),
            "args": self.args.iter().map(|(name, ty)| serde_json::json!({ "name": name, "type": tight(ty) })).collect::<Vec<_>>(),
            "result": tight(self.result),
        })
    }
}

macro_rules! host_method_table {
    ($(
        $section:ident { $(
            $group:ident { $( $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty ; )* }
        )* }
    )*) => {
        /// Every method a host store may implement, group by group.
        pub const HOST_METHODS: &[HostMethod] = &[$($($(
            HostMethod {
                name: stringify!($name),
                group: StoreOp::$group,
                args: &[$((stringify!($arg), stringify!($ty))),*],
                result: stringify!($ret),
            },
        )*)*)*];
    };
}
with_host_methods!(host_method_table);

/// The methods a host must implement for `op`'s group to be supported.
pub fn methods_of(op: StoreOp) -> impl Iterator<Item = &'static str> {
    HOST_METHODS.iter().filter(move |method| method.group == op).map(|method| method.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_each_method_once_with_its_arguments_and_types() {
        let mut names: Vec<_> = HOST_METHODS.iter().map(|method| method.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), HOST_METHODS.len());
        let list = HOST_METHODS.iter().find(|method| method.name == "list_customers").unwrap();
        assert_eq!(list.group, StoreOp::ReadCustomers);
        let args: Vec<_> = list.args.iter().map(|(name, ty)| format!("{name}: {}", ty.replace(' ', ""))).collect();
        assert_eq!(args, ["scope: &Scope", "filter: &CustomerFilter", "page: &PageRequest"]);
        assert_eq!(list.result.replace(' ', ""), "Page<Customer>");
        let forget = HOST_METHODS.iter().find(|method| method.name == "release_idempotency_key").unwrap();
        assert_eq!(forget.result, "()");
        let described = HOST_METHODS.iter().find(|method| method.name == "update_lead").unwrap().describe();
        assert_eq!(
            described,
            serde_json::json!({
                "name": "update_lead",
                "group": "WriteLeads",
                "args": [
                    { "name": "scope", "type": "&Scope" },
                    { "name": "id", "type": "&LeadId" },
                    { "name": "patch", "type": "LeadPatch" },
                    { "name": "history", "type": "Option<NewLeadHistory>" },
                ],
                "result": "Lead",
            })
        );
    }

    #[test]
    fn every_group_has_methods() {
        for op in StoreOp::ALL {
            assert!(methods_of(*op).next().is_some(), "{op:?} has no methods");
        }
    }
}
