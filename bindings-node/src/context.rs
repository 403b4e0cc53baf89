//! The caller's identity as JavaScript passes it: `{ userId, organizationId, role, … }`.
//!
//! It crosses as JSON text (`index.cjs` sends `JSON.stringify(ctx)`): one string instead of a
//! property read per field and per grant, and `null` and missing fields alike mean "none".
//! It is read under the agent's policy, as the Python binding reads its `UserContext`: `role`
//! may be one of the policy's host role names, and `roles` names the policy's system roles
//! whose grants the caller holds.

use crm_agent::UserContext;
use crm_agent::policy::Policy;
use napi_derive::napi;
use serde::Deserialize;

use crate::errors;

/// Who is calling, as `resolveContext` answers it (the same fields JavaScript passes in).
#[napi(object)]
#[derive(Clone)]
pub struct Context {
    /// The host's user id.
    pub user_id: String,
    /// The organization this request acts in.
    pub organization_id: String,
    /// `owner`, `employee`, `customer` or `platform_admin` (or a host role name of the policy).
    pub role: String,
    /// The employee record of this user, if any.
    pub employee_id: Option<String>,
    /// The customer record of this user (required for customers).
    pub customer_id: Option<String>,
    /// For employees: the policy's system roles they hold, e.g. `["sales_rep"]`.
    pub roles: Option<Vec<String>>,
    /// For employees: grants held besides those of `roles`, e.g. `["customer:read", "deal:*"]`.
    pub grants: Option<Vec<String>>,
    /// A name for prompts and audit displays.
    pub display_name: Option<String>,
}

/// The JSON form of a context.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContextJson {
    user_id: String,
    organization_id: String,
    role: String,
    #[serde(default)]
    employee_id: Option<String>,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    grants: Option<Vec<String>>,
    #[serde(default)]
    display_name: Option<String>,
}

/// The core's context from its JSON text, read under `policy` (`Policy::host_context`).
pub(crate) fn parse(json: &str, policy: &Policy) -> napi::Result<UserContext> {
    let given: ContextJson =
        serde_json::from_str(json).map_err(|e| errors::invalid(format!("the context is not valid: {e}")))?;
    let grants = given.grants.unwrap_or_default().iter().map(|g| g.parse()).collect::<crm_agent::Result<Vec<_>>>();
    let roles = given.roles.unwrap_or_default();
    let mut ctx = grants
        .and_then(|grants| policy.host_context(given.user_id, given.organization_id, &given.role, grants, &roles))
        .map_err(errors::to_napi)?;
    ctx.employee_id = given.employee_id.map(Into::into);
    ctx.customer_id = given.customer_id.map(Into::into);
    ctx.display_name = given.display_name;
    Ok(ctx)
}

impl Context {
    /// From the core's context (for `agent.resolveContext`).
    pub(crate) fn from_core(ctx: UserContext) -> Self {
        Context {
            user_id: ctx.user_id,
            organization_id: ctx.organization_id.to_string(),
            role: ctx.role.as_str().to_owned(),
            employee_id: ctx.employee_id.map(|id| id.to_string()),
            customer_id: ctx.customer_id.map(|id| id.to_string()),
            roles: None,
            grants: Some(ctx.grants.iter().map(ToString::to_string).collect()),
            display_name: ctx.display_name,
        }
    }
}
