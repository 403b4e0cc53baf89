//! [`StoreOp`]: the groups of store operations a store may implement.

/// Groups of store operations, for [`Store::supports`](super::Store::supports). Tools declare the groups they need and
/// are hidden when the store lacks one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StoreOp {
    /// create/find/get/update organization.
    Organizations,
    /// add/get members, list a user's memberships.
    Members,
    /// list/create/update/assign roles.
    Roles,
    /// list/get employees.
    ReadEmployees,
    /// create/update employees.
    WriteEmployees,
    /// list/get customers.
    ReadCustomers,
    /// create/update customers.
    WriteCustomers,
    /// list/get leads and their history.
    ReadLeads,
    /// create/update leads.
    WriteLeads,
    /// convert a lead into a customer atomically.
    ConvertLeads,
    /// list pipelines.
    ReadPipelines,
    /// create pipelines.
    WritePipelines,
    /// list/get deals.
    ReadDeals,
    /// create/update deals.
    WriteDeals,
    /// list/get issues and their comments.
    ReadIssues,
    /// create/update issues, add comments.
    WriteIssues,
    /// list/get orders.
    ReadOrders,
    /// create orders.
    WriteOrders,
    /// list/get payments.
    ReadPayments,
    /// create payments.
    WritePayments,
    /// list/get activities.
    ReadActivities,
    /// create/update activities.
    WriteActivities,
    /// record and list audit events.
    Audit,
    /// claim, complete and release idempotency keys.
    Idempotency,
    /// the assistant's conversations and their messages.
    Conversations,
    /// the assistant's pending actions (writes waiting for confirmation).
    PendingActions,
    /// API tokens (MCP and other programs acting as a user).
    ApiTokens,
    /// Rate budgets shared by every process on the store.
    RateLimits,
}

impl StoreOp {
    /// Every group.
    pub const ALL: &'static [StoreOp] = &[
        StoreOp::Organizations,
        StoreOp::Members,
        StoreOp::Roles,
        StoreOp::ReadEmployees,
        StoreOp::WriteEmployees,
        StoreOp::ReadCustomers,
        StoreOp::WriteCustomers,
        StoreOp::ReadLeads,
        StoreOp::WriteLeads,
        StoreOp::ConvertLeads,
        StoreOp::ReadPipelines,
        StoreOp::WritePipelines,
        StoreOp::ReadDeals,
        StoreOp::WriteDeals,
        StoreOp::ReadIssues,
        StoreOp::WriteIssues,
        StoreOp::ReadOrders,
        StoreOp::WriteOrders,
        StoreOp::ReadPayments,
        StoreOp::WritePayments,
        StoreOp::ReadActivities,
        StoreOp::WriteActivities,
        StoreOp::Audit,
        StoreOp::Idempotency,
        StoreOp::Conversations,
        StoreOp::PendingActions,
        StoreOp::ApiTokens,
        StoreOp::RateLimits,
    ];
}
