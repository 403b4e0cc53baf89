//! Who is calling: [`UserContext`], [`Role`], and the [`Scope`] the store is asked with.
//!
//! The host builds a `UserContext` from its own session (or resolves one from a user id with
//! [`UserContext::resolve`]). The SDK never takes identity from the model or from tool arguments.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use crate::domain::Role;
use crate::domain::{CustomerId, EmployeeId, Grant, OrganizationId, ToolLimits};
use crate::error::{Error, Result};
use crate::store::{Scope, Store};

/// The identity every call carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserContext {
    /// The host's user id.
    pub user_id: String,
    /// The organization this request acts in.
    pub organization_id: OrganizationId,
    /// The kind of principal.
    pub role: Role,
    /// The employee record of this user in the organization, if any.
    #[serde(default)]
    pub employee_id: Option<EmployeeId>,
    /// The customer record of this user in the organization (required for customers).
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// For employees: the union of their roles' grants. Ignored for other principals.
    #[serde(default)]
    pub grants: BTreeSet<Grant>,
    /// A human-readable name for prompts and audit displays.
    #[serde(default)]
    pub display_name: Option<String>,
    /// What the credential this request came with is limited to (a read-only or toolset-bound
    /// API token); tools outside it are refused whatever the user's permissions.
    #[serde(default, skip_serializing_if = "ToolLimits::is_none")]
    pub limits: ToolLimits,
}

impl UserContext {
    /// A context for `user_id` acting as `role` in `organization_id`, with no records or grants.
    pub fn new(user_id: impl Into<String>, organization_id: impl Into<OrganizationId>, role: Role) -> Self {
        UserContext {
            user_id: user_id.into(),
            organization_id: organization_id.into(),
            role,
            employee_id: None,
            customer_id: None,
            grants: BTreeSet::new(),
            display_name: None,
            limits: ToolLimits::default(),
        }
    }

    /// The store scope of this caller: the organization, and for customers their own record.
    ///
    /// A customer without a customer record gets no scope at all: they can see nothing.
    pub fn scope(&self) -> Result<Scope> {
        match self.role {
            Role::Customer => match &self.customer_id {
                Some(customer) => Ok(Scope::customer(self.organization_id.clone(), customer.clone())),
                None => Err(Error::PermissionDenied("this customer login is not linked to a customer record".into())),
            },
            _ => Ok(Scope::organization(self.organization_id.clone())),
        }
    }

    /// Builds the context of `user_id` from the store's members and roles.
    ///
    /// With `organization` (an id or a slug) the membership of that organization is used;
    /// without it the user must belong to exactly one organization.
    pub async fn resolve(store: &dyn Store, user_id: &str, organization: Option<&str>) -> Result<Self> {
        let memberships = store.list_memberships(user_id).await?;
        let member = match organization {
            Some(org) => {
                let wanted = match store.find_organization(org).await {
                    Ok(found) => found.id,
                    Err(e) if e.kind() == crate::ErrorKind::NotFound => {
                        return Err(Error::not_found("member", format!("{user_id} in {org}")));
                    }
                    Err(e) => return Err(e),
                };
                memberships
                    .into_iter()
                    .find(|m| m.organization_id == wanted)
                    .ok_or_else(|| Error::not_found("member", format!("{user_id} in {org}")))?
            }
            None => {
                let mut iter = memberships.into_iter();
                match (iter.next(), iter.next()) {
                    (Some(only), None) => only,
                    (None, _) => return Err(Error::not_found("user", user_id)),
                    (Some(_), Some(_)) => {
                        return Err(Error::invalid(format!(
                            "user `{user_id}` belongs to several organizations; name one"
                        )));
                    }
                }
            }
        };
        let mut ctx = UserContext {
            user_id: member.user_id,
            organization_id: member.organization_id,
            role: member.role,
            employee_id: member.employee_id,
            customer_id: member.customer_id,
            grants: BTreeSet::new(),
            display_name: Some(member.display_name),
            limits: ToolLimits::default(),
        };
        if let (Role::Employee, Some(employee_id)) = (ctx.role, &ctx.employee_id) {
            let scope = ctx.scope()?;
            let employee = store.get_employee(&scope, employee_id).await?;
            if !employee.role_ids.is_empty() {
                for role in store.list_roles(&scope).await? {
                    if employee.role_ids.contains(&role.id) {
                        ctx.grants.extend(role.grants);
                    }
                }
            }
        }
        Ok(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_spellings_are_accepted() {
        assert_eq!("vendor".parse::<Role>().unwrap(), Role::Owner);
        assert_eq!("superuser".parse::<Role>().unwrap(), Role::PlatformAdmin);
        let role: Role = serde_json::from_str("\"vendor\"").unwrap();
        assert_eq!(serde_json::to_string(&role).unwrap(), "\"owner\"");
        assert!("admin".parse::<Role>().unwrap_err().to_string().contains("owner, employee"));
    }

    #[test]
    fn customers_without_a_record_have_no_scope() {
        let ctx = UserContext::new("u", "org", Role::Customer);
        assert_eq!(ctx.scope().unwrap_err().kind(), crate::ErrorKind::PermissionDenied);
        let mut ctx = ctx;
        ctx.customer_id = Some("c1".into());
        assert_eq!(ctx.scope().unwrap().customer_id(), Some(&CustomerId::from("c1")));
    }
}
