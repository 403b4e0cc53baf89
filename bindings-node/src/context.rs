//! The caller's identity as JavaScript passes it: `{ userId, organizationId, role, … }`.

use crm_agent::{Role, UserContext};
use napi_derive::napi;

use crate::errors;

/// Who is calling. The host builds it from its own session; the SDK never takes identity
/// from the model or from tool arguments.
#[napi(object)]
#[derive(Clone)]
pub struct Context {
    /// The host's user id.
    pub user_id: String,
    /// The organization this request acts in.
    pub organization_id: String,
    /// `owner`, `employee`, `customer` or `platform_admin` (aliases: `vendor`, `superuser`,
    /// `staff`).
    pub role: String,
    /// The employee record of this user, if any.
    pub employee_id: Option<String>,
    /// The customer record of this user (required for customers).
    pub customer_id: Option<String>,
    /// For employees: the grants of their roles, e.g. `["customer:read", "deal:*"]`.
    pub grants: Option<Vec<String>>,
    /// A name for prompts and audit displays.
    pub display_name: Option<String>,
}

impl Context {
    /// The core's context.
    pub(crate) fn to_core(&self) -> napi::Result<UserContext> {
        let role: Role = self.role.parse().map_err(errors::to_napi)?;
        let mut ctx = UserContext::new(self.user_id.clone(), self.organization_id.clone(), role);
        ctx.employee_id = self.employee_id.clone().map(Into::into);
        ctx.customer_id = self.customer_id.clone().map(Into::into);
        ctx.display_name = self.display_name.clone();
        if let Some(grants) = &self.grants {
            for grant in grants {
                ctx.grants.insert(grant.parse().map_err(errors::to_napi)?);
            }
        }
        Ok(ctx)
    }

    /// From the core's context (for `agent.resolveContext`).
    pub(crate) fn from_core(ctx: UserContext) -> Self {
        Context {
            user_id: ctx.user_id,
            organization_id: ctx.organization_id.to_string(),
            role: ctx.role.as_str().to_owned(),
            employee_id: ctx.employee_id.map(|id| id.to_string()),
            customer_id: ctx.customer_id.map(|id| id.to_string()),
            grants: Some(ctx.grants.iter().map(ToString::to_string).collect()),
            display_name: ctx.display_name,
        }
    }
}
