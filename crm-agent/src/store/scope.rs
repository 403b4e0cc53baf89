//! [`Scope`]: where a store call may look.

use crate::domain::{CustomerId, OrganizationId};

/// Where a store call may look: one organization, and for customer users only their own records.
///
/// Built by the core from a [`crate::UserContext`]; tools never build one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    organization_id: OrganizationId,
    customer_id: Option<CustomerId>,
}

impl Scope {
    /// Everything inside `organization_id`.
    pub fn organization(organization_id: OrganizationId) -> Self {
        Scope { organization_id, customer_id: None }
    }

    /// Only the records of `customer_id` inside `organization_id`: their customer record, their
    /// issues (and public comments), orders and payments. Leads, deals, activities, employees,
    /// roles and audit events are invisible. A customer scope may raise issues for itself and
    /// comment on them; every other write is refused.
    pub fn customer(organization_id: OrganizationId, customer_id: CustomerId) -> Self {
        Scope { organization_id, customer_id: Some(customer_id) }
    }

    /// The organization.
    pub fn organization_id(&self) -> &OrganizationId {
        &self.organization_id
    }

    /// The customer restriction, if any.
    pub fn customer_id(&self) -> Option<&CustomerId> {
        self.customer_id.as_ref()
    }

    /// Whether this scope is restricted to one customer.
    pub fn is_customer(&self) -> bool {
        self.customer_id.is_some()
    }
}
