//! Permissions and the built-in roles.
//!
//! Permissions are typed: a [`Permission`] is a [`Resource`] and an [`Action`]; a [`Grant`] may
//! use `*` for either. Nothing in the tool layer matches permission strings by hand.

mod permission;

pub use permission::{Action, Grant, Permission, Resource};

use crate::domain::NewRoleDefinition;

/// The system roles every new organization gets (SPEC §1), with their grants.
pub fn system_roles() -> Vec<NewRoleDefinition> {
    let role = |name: &str, description: &str, grants: &[&str]| NewRoleDefinition {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        grants: grants.iter().map(|g| g.parse().expect("built-in grants are valid")).collect(),
        is_system: true,
    };
    vec![
        role(
            "sales_manager",
            "Runs the sales team: every sales record, analytics, read access to support and orders.",
            &[
                "customer:*",
                "lead:*",
                "deal:*",
                "pipeline:read",
                "activity:*",
                "analytics:read",
                "employee:read",
                "issue:read",
                "order:read",
                "payment:read",
            ],
        ),
        role(
            "sales_rep",
            "Works leads and deals: reads and updates sales records, logs activities.",
            &[
                "customer:read",
                "customer:create",
                "customer:update",
                "lead:read",
                "lead:create",
                "lead:update",
                "deal:read",
                "deal:create",
                "deal:update",
                "pipeline:read",
                "activity:*",
                "employee:read",
            ],
        ),
        role(
            "support_agent",
            "Handles support issues: issues in full, read access to customers, orders and payments.",
            &["customer:read", "issue:*", "order:read", "payment:read", "activity:*", "employee:read"],
        ),
        role(
            "viewer",
            "Reads the CRM without changing it.",
            &[
                "customer:read",
                "lead:read",
                "deal:read",
                "pipeline:read",
                "issue:read",
                "order:read",
                "payment:read",
                "activity:read",
                "analytics:read",
                "employee:read",
            ],
        ),
    ]
}
