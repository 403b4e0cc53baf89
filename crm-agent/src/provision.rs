//! Creating a tenant the way every new organization starts: the organization itself, the
//! default "Sales Pipeline", and the system roles of the policy in force.

use crate::domain::{NewOrganization, NewPipeline, Organization};
use crate::error::Result;
use crate::policy::Policy;
use crate::store::{Scope, Store, StoreOp};

/// Creates an organization with its default pipeline and `policy`'s system roles.
///
/// The writes are separate store calls (a host store need not offer cross-entity
/// transactions); if a later one fails, calling [`ensure_defaults`] again completes the set.
pub async fn create_organization(store: &dyn Store, policy: &Policy, new: NewOrganization) -> Result<Organization> {
    let organization = store.create_organization(new).await?;
    ensure_defaults(store, policy, &Scope::organization(organization.id.clone())).await?;
    Ok(organization)
}

/// The organization with `slug`, created (with its defaults) when there is none yet. For hosts
/// whose own tenants map onto crm-agent organizations by slug.
pub async fn ensure_organization(store: &dyn Store, policy: &Policy, new: NewOrganization) -> Result<Organization> {
    match store.find_organization(&new.slug).await {
        Ok(found) => Ok(found),
        Err(e) if e.kind() == crate::ErrorKind::NotFound => match create_organization(store, policy, new.clone()).await
        {
            // Another process created it between the look-up and the insert.
            Err(e) if e.kind() == crate::ErrorKind::Conflict => store.find_organization(&new.slug).await,
            other => other,
        },
        Err(e) => Err(e),
    }
}

/// Adds whatever of the default pipeline and `policy`'s system roles the organization lacks.
/// A partial store without pipelines (or roles) gets none.
pub async fn ensure_defaults(store: &dyn Store, policy: &Policy, scope: &Scope) -> Result<()> {
    let has_pipelines = store.supports(StoreOp::ReadPipelines) && store.supports(StoreOp::WritePipelines);
    if has_pipelines && store.list_pipelines(scope).await?.is_empty() {
        store.create_pipeline(scope, NewPipeline::default_sales()).await?;
    }
    if !store.supports(StoreOp::Roles) {
        return Ok(());
    }
    let existing = store.list_roles(scope).await?;
    for role in policy.system_roles() {
        if !existing.iter().any(|r| r.name == role.name) {
            store.create_role(scope, role).await?;
        }
    }
    Ok(())
}
