//! Creating a tenant the way SPEC §1–2 says every new organization starts: the organization
//! itself, the default "Sales Pipeline", and the system roles of the policy in force.

use crate::domain::{NewOrganization, NewPipeline, Organization};
use crate::error::Result;
use crate::policy::Policy;
use crate::store::{Scope, Store};

/// Creates an organization with its default pipeline and `policy`'s system roles.
///
/// The writes are separate store calls (a host store need not offer cross-entity
/// transactions); if a later one fails, calling [`ensure_defaults`] again completes the set.
pub async fn create_organization(store: &dyn Store, policy: &Policy, new: NewOrganization) -> Result<Organization> {
    let organization = store.create_organization(new).await?;
    ensure_defaults(store, policy, &Scope::organization(organization.id.clone())).await?;
    Ok(organization)
}

/// Adds whatever of the default pipeline and `policy`'s system roles the organization lacks.
pub async fn ensure_defaults(store: &dyn Store, policy: &Policy, scope: &Scope) -> Result<()> {
    if store.list_pipelines(scope).await?.is_empty() {
        store.create_pipeline(scope, NewPipeline::default_sales()).await?;
    }
    let existing = store.list_roles(scope).await?;
    for role in policy.system_roles() {
        if !existing.iter().any(|r| r.name == role.name) {
            store.create_role(scope, role).await?;
        }
    }
    Ok(())
}
