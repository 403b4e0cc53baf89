//! Demo mode of `crm-agent serve`: fresh API tokens for the demo users, for the page's picker.

use crate::auth::{TokenAuthenticator, create_token};
use crate::context::{Role, UserContext};
use crate::error::{ErrorKind, Result};
use crate::store::Store;

use super::DemoUser;

/// The demo logins `crm_agent::seed::seed_demo` creates, in the order the picker shows them.
pub const DEMO_USER_IDS: &[&str] = &["acme-owner", "acme-rep", "acme-support", "acme-customer", "globex-owner"];

/// The name of the tokens demo mode creates (older ones are revoked at each start, so restarts
/// do not pile tokens up).
const DEMO_TOKEN_NAME: &str = "demo (crm-agent serve)";

/// Whether `store` holds the demo organizations (seeded by `crm-agent seed` or `serve`).
pub async fn has_demo_users(store: &dyn Store) -> Result<bool> {
    match store.list_memberships(DEMO_USER_IDS[0]).await {
        Ok(memberships) => Ok(!memberships.is_empty()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// A fresh token for every demo user present in `store`, revoking the tokens earlier starts made.
pub async fn demo_users(store: &dyn Store, authenticator: &TokenAuthenticator) -> Result<Vec<DemoUser>> {
    let mut users = Vec::new();
    for user_id in DEMO_USER_IDS {
        let ctx = match UserContext::resolve(store, user_id, None).await {
            Ok(ctx) => ctx,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let scope = ctx.scope()?;
        for old in store.list_api_tokens(&scope, user_id).await? {
            if old.name == DEMO_TOKEN_NAME && old.revoked_at.is_none() {
                authenticator.revoke(&ctx, &old.id).await?;
            }
        }
        let issued = create_token(store, &ctx, DEMO_TOKEN_NAME, None).await?;
        let organization = store.get_organization(&scope).await?;
        let role = match (ctx.role, &ctx.employee_id) {
            (Role::Employee, Some(employee)) => {
                let employee = store.get_employee(&scope, employee).await?;
                let names: Vec<String> = store
                    .list_roles(&scope)
                    .await?
                    .into_iter()
                    .filter(|r| employee.role_ids.contains(&r.id))
                    .map(|r| r.name)
                    .collect();
                format!("employee ({})", names.join(", "))
            }
            (role, _) => role.to_string(),
        };
        users.push(DemoUser {
            user_id: (*user_id).to_owned(),
            display_name: ctx.display_name.clone().unwrap_or_else(|| (*user_id).to_owned()),
            role,
            organization: organization.slug,
            token: issued.secret,
        });
    }
    Ok(users)
}
