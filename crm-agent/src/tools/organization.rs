//! The caller's own context, the organization, and role management.
//!
//! Role tools refuse to hand out more than the caller holds: a grant must be covered by the
//! caller's own grants, so `role:create` + `role:update` cannot be turned into `*:*`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::NoArgs;
use super::{Access, Tool, ToolContext, Toolset};
use crate::context::Role;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::policy::{Action, Grant, Permission, Resource};
use crate::store::StoreOp;

const fn role(action: Action) -> Permission {
    Permission::new(Resource::Role, action)
}

/// Who the caller is (`get_current_user_context`).
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct CurrentUser {
    /// The caller's user id.
    pub user_id: String,
    /// Their display name.
    pub display_name: Option<String>,
    /// The organization they act in.
    pub organization_id: OrganizationId,
    /// Its name.
    pub organization_name: String,
    /// The kind of principal.
    pub role: Role,
    /// Their employee record.
    pub employee_id: Option<EmployeeId>,
    /// Their customer record.
    pub customer_id: Option<CustomerId>,
    /// Every permission they hold.
    pub permissions: Vec<Permission>,
}

/// One organization of the caller (`list_my_organizations`).
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct MyOrganization {
    /// Its id.
    pub id: OrganizationId,
    /// Its name.
    pub name: String,
    /// Its slug.
    pub slug: String,
    /// The caller's kind of principal there.
    pub role: Role,
    /// Whether this is the organization of the current request.
    pub current: bool,
}

/// The caller's permissions (`get_my_permissions`).
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct MyPermissions {
    /// The kind of principal.
    pub role: Role,
    /// Every permission held.
    pub permissions: Vec<Permission>,
}

/// Arguments of `create_role`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateRole {
    /// Role name: lowercase letters, digits and underscores.
    name: String,
    /// What the role is for.
    #[serde(default)]
    description: Option<String>,
    /// Permissions it grants, like `lead:read` or `deal:*`.
    permissions: Vec<Grant>,
    /// Repeat a create safely: the same key (same user, within 24 hours) returns the first result.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// Arguments of `update_role_permissions`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateRolePermissions {
    /// The role's id.
    role_id: RoleId,
    /// The complete new list of permissions.
    permissions: Vec<Grant>,
}

/// Arguments of `assign_role_to_employee`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AssignRole {
    /// The employee's id.
    employee_id: EmployeeId,
    /// The role's id.
    role_id: RoleId,
}

/// One permission of `list_permissions`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct PermissionInfo {
    /// `resource:action`.
    pub permission: Permission,
    /// The resource.
    pub resource: Resource,
    /// The action.
    pub action: Action,
}

pub(super) fn tools() -> Vec<Tool> {
    let general = &[Toolset::General];
    let admin = &[Toolset::Admin];
    vec![
        Tool::builder("get_current_user_context", "Who the current user is: id, name, organization, kind of principal (owner, employee, customer, platform_admin), their records and permissions.")
            .access(Access::Member)
            .for_customers()
            .toolsets(general)
            .needs(&[StoreOp::Organizations])
            .handler(|cx: ToolContext, _: NoArgs| async move {
                let org = cx.store.get_organization(&cx.scope).await?;
                Ok(CurrentUser {
                    user_id: cx.user.user_id.clone(),
                    display_name: cx.user.display_name.clone(),
                    organization_id: org.id,
                    organization_name: org.name,
                    role: cx.user.role,
                    employee_id: cx.user.employee_id.clone(),
                    customer_id: cx.user.customer_id.clone(),
                    permissions: cx.policy.permissions_of(&cx.user),
                })
            }),
        Tool::builder("get_current_organization", "The organization of the current request: name, slug, industry, website and settings.")
            .permission(Permission::new(Resource::Organization, Action::Read))
            .for_customers()
            .toolsets(general)
            .needs(&[StoreOp::Organizations])
            .handler(|cx: ToolContext, _: NoArgs| async move {
                let mut org = cx.store.get_organization(&cx.scope).await?;
                if cx.user.role == Role::Customer {
                    // Assistant instructions and host settings are staff configuration.
                    org.settings = OrganizationSettings::default();
                }
                Ok(org)
            }),
        Tool::builder("list_my_organizations", "The organizations the current user belongs to, with their role in each.")
            .access(Access::Member)
            .for_customers()
            .toolsets(general)
            .needs(&[StoreOp::Organizations, StoreOp::Members])
            .handler(|cx: ToolContext, _: NoArgs| async move {
                let mut result = Vec::new();
                for member in cx.store.list_memberships(&cx.user.user_id).await? {
                    let org = cx.store.find_organization(member.organization_id.as_str()).await?;
                    result.push(MyOrganization { current: org.id == cx.user.organization_id, id: org.id, name: org.name, slug: org.slug, role: member.role });
                }
                Ok(result)
            }),
        Tool::builder("get_my_permissions", "The permissions the current user holds in this organization, as resource:action strings.")
            .access(Access::Member)
            .for_customers()
            .toolsets(general)
            .handler(|cx: ToolContext, _: NoArgs| async move {
                Ok(MyPermissions { role: cx.user.role, permissions: cx.policy.permissions_of(&cx.user) })
            }),
        Tool::builder("list_roles", "The organization's roles (system and custom) with the permissions each grants.")
            .permission(role(Action::Read))
            .toolsets(admin)
            .needs(&[StoreOp::Roles])
            .handler(|cx: ToolContext, _: NoArgs| async move { cx.store.list_roles(&cx.scope).await }),
        Tool::builder("create_role", "Create a custom role granting the given permissions. You can only grant permissions you hold yourself.")
            .permission(role(Action::Create))
            .writes()
            .toolsets(admin)
            .needs(&[StoreOp::Roles])
            .handler(|cx: ToolContext, args: CreateRole| async move {
                ensure_grantable(&cx, &args.permissions)?;
                super::idempotency::once(&cx, "create_role", args.idempotency_key.as_deref(), || {
                    let cx = cx.clone();
                    let new = NewRoleDefinition { name: args.name.clone(), description: args.description.clone(), grants: args.permissions.clone(), is_system: false };
                    async move { cx.store.create_role(&cx.scope, new).await }
                })
                .await
            }),
        Tool::builder("update_role_permissions", "Replace the permissions of a role. You can only grant permissions you hold yourself.")
            .permission(role(Action::Update))
            .writes().idempotent()
            .toolsets(admin)
            .needs(&[StoreOp::Roles])
            .handler(|cx: ToolContext, args: UpdateRolePermissions| async move {
                ensure_grantable(&cx, &args.permissions)?;
                cx.store.update_role(&cx.scope, &args.role_id, RoleDefinitionPatch { description: Change::Keep, grants: Some(args.permissions) }).await
            }),
        Tool::builder("assign_role_to_employee", "Give an employee a role (repeating it changes nothing). You can only assign roles whose permissions you hold yourself.")
            .record(super::history::RecordKind::Employee)
            .permission(role(Action::Update))
            .writes().idempotent()
            .toolsets(admin)
            .needs(&[StoreOp::Roles, StoreOp::ReadEmployees])
            .handler(|cx: ToolContext, args: AssignRole| async move {
                let roles = cx.store.list_roles(&cx.scope).await?;
                let role = roles.iter().find(|r| r.id == args.role_id).ok_or_else(|| Error::not_found("role", args.role_id.as_str()))?;
                ensure_grantable(&cx, &role.grants)?;
                let mut employee = cx.store.assign_role(&cx.scope, &args.employee_id, &args.role_id).await?;
                super::employees::redact_for_caller(&cx, &mut employee);
                Ok(employee)
            }),
        Tool::builder("list_permissions", "Every permission that exists (resource:action), for building roles.")
            .permission(role(Action::Read))
            .toolsets(admin)
            .handler(|_cx: ToolContext, _: NoArgs| async move {
                Ok(Permission::all()
                    .map(|permission| PermissionInfo { permission, resource: permission.resource, action: permission.action })
                    .collect::<Vec<_>>())
            }),
    ]
}

/// Every permission covered by `grants` must be held by the caller.
fn ensure_grantable(cx: &ToolContext, grants: &[Grant]) -> Result<()> {
    for grant in grants {
        for permission in Permission::all() {
            if grant.covers(permission) && !cx.can(permission) {
                return Err(Error::PermissionDenied(format!(
                    "you cannot grant `{grant}`: it includes `{permission}`, which you do not hold"
                )));
            }
        }
    }
    Ok(())
}
