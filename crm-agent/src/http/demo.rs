//! Demo mode of `crm-agent serve`: fresh API tokens for the demo users, for the page's picker.

use crate::auth::{TokenAuthenticator, create_token};
use crate::context::{Role, UserContext};
use crate::error::{ErrorKind, Result};
use crate::store::Store;

use super::DemoUser;

/// The demo logins `crm_agent::seed::seed_demo` creates, in the order the picker shows them.
pub const DEMO_USER_IDS: &[&str] = &["acme-owner", "acme-rep", "acme-support", "acme-customer", "globex-owner"];

/// The name of the tokens demo mode creates.
const DEMO_TOKEN_NAME: &str = "demo (crm-agent serve)";

/// Demo tokens kept per user: each start makes one, and older ones past this many are revoked,
/// so restarts do not pile tokens up while other instances on the same database (each handing
/// out its own) keep working.
const DEMO_TOKENS_KEPT: usize = 20;

/// Whether `store` holds the demo organizations (seeded by `crm-agent seed` or `serve`).
pub async fn has_demo_users(store: &dyn Store) -> Result<bool> {
    match store.list_memberships(DEMO_USER_IDS[0]).await {
        Ok(memberships) => Ok(!memberships.is_empty()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// A fresh token for every demo user present in `store`. Tokens earlier starts made stay valid
/// (another instance may be handing them out), up to the newest 20 per user.
pub async fn demo_users(store: &dyn Store, authenticator: &TokenAuthenticator) -> Result<Vec<DemoUser>> {
    let mut users = Vec::new();
    for user_id in DEMO_USER_IDS {
        let ctx = match UserContext::resolve(store, user_id, None).await {
            Ok(ctx) => ctx,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let scope = ctx.scope()?;
        let issued = create_token(store, &ctx, DEMO_TOKEN_NAME, None).await?;
        let mut kept: Vec<_> = store
            .list_api_tokens(&scope, user_id)
            .await?
            .into_iter()
            .filter(|t| t.name == DEMO_TOKEN_NAME && t.revoked_at.is_none())
            .collect();
        kept.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.as_str().cmp(a.id.as_str())));
        for old in kept.iter().skip(DEMO_TOKENS_KEPT).filter(|t| t.id != issued.token.id) {
            authenticator.revoke(&ctx, &old.id).await?;
        }
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
