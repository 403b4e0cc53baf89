//! The decision engine: who may use which permission.
//!
//! A [`Policy`] holds the grants of each principal kind, the system roles new organizations
//! get, and a map of host role names to principal kinds. [`Policy::builtin`] is the default;
//! [`Policy::from_toml`] loads a host's own (see `docs/policy.md`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::context::UserContext;
use crate::domain::{Grant, NewRoleDefinition, Permission, Role};
use crate::error::{Error, Result};

/// The outcome of [`Policy::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The caller holds the permission.
    Allow,
    /// The caller lacks it. The reason names the missing permission, never the caller's grants.
    Deny {
        /// What was missing.
        missing: Permission,
        /// A sentence for the caller (and the model).
        reason: String,
    },
}

impl Decision {
    /// Whether this is [`Decision::Allow`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }

    /// `Ok(())` on allow, [`Error::PermissionDenied`] with the reason on deny.
    pub fn into_result(self) -> Result<()> {
        match self {
            Decision::Allow => Ok(()),
            Decision::Deny { reason, .. } => Err(Error::PermissionDenied(reason)),
        }
    }
}

/// A role seeded into every new organization.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemRole {
    /// What the role is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Its grants.
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalGrants {
    #[serde(default)]
    grants: Vec<Grant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    principals: BTreeMap<String, PrincipalGrants>,
    #[serde(default)]
    roles: BTreeMap<String, SystemRole>,
    #[serde(default)]
    role_names: BTreeMap<String, String>,
}

/// Who may do what. Cheap to clone behind an `Arc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    owner: BTreeSet<Grant>,
    platform_admin: BTreeSet<Grant>,
    customer: BTreeSet<Grant>,
    /// Grants every employee has on top of their roles.
    employee_base: BTreeSet<Grant>,
    system_roles: BTreeMap<String, SystemRole>,
    role_names: BTreeMap<String, Role>,
}

/// The built-in policy, in the same format hosts use.
pub const BUILTIN_POLICY: &str = include_str!("builtin_policy.toml");

impl Default for Policy {
    fn default() -> Self {
        Policy::builtin()
    }
}

impl Policy {
    /// The built-in policy (`builtin_policy.toml`): owners and platform admins hold every
    /// permission, employees what their roles grant (plus reading the organization and its
    /// pipelines), customers a few grants on their own records only.
    pub fn builtin() -> Self {
        Policy::empty().merge_toml(BUILTIN_POLICY).expect("the built-in policy is valid")
    }

    /// Loads a policy from TOML text on top of the built-in one: principal kinds and sections
    /// the text leaves out keep their built-in values.
    pub fn from_toml(text: &str) -> Result<Self> {
        Policy::builtin().merge_toml(text)
    }

    fn empty() -> Self {
        Policy {
            owner: BTreeSet::new(),
            platform_admin: BTreeSet::new(),
            customer: BTreeSet::new(),
            employee_base: BTreeSet::new(),
            system_roles: BTreeMap::new(),
            role_names: BTreeMap::new(),
        }
    }

    fn merge_toml(mut self, text: &str) -> Result<Self> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| Error::invalid(format!("bad policy file: {e}")))?;
        let policy = &mut self;
        for (name, grants) in file.principals {
            let set: BTreeSet<Grant> = grants.grants.into_iter().collect();
            match name.as_str() {
                "owner" => policy.owner = set,
                "platform_admin" => policy.platform_admin = set,
                "customer" => policy.customer = set,
                "employee" => policy.employee_base = set,
                other => {
                    return Err(Error::invalid(format!(
                        "bad policy file: unknown principal `{other}`; allowed: owner, employee, customer, platform_admin"
                    )));
                }
            }
        }
        if !file.roles.is_empty() {
            for name in file.roles.keys() {
                NewRoleDefinition { name: name.clone(), description: None, grants: Vec::new(), is_system: true }
                    .validate()?;
            }
            policy.system_roles = file.roles;
        }
        for (host_name, kind) in file.role_names {
            policy.role_names.insert(host_name, kind.parse()?);
        }
        Ok(self)
    }

    /// Loads a policy from a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid(format!("cannot read policy file {}: {e}", path.display())))?;
        Policy::from_toml(&text)
    }

    /// The principal kind a host role name stands for (`vendor` → owner), including the
    /// canonical names.
    pub fn principal_for(&self, host_role: &str) -> Result<Role> {
        match self.role_names.get(host_role) {
            Some(role) => Ok(*role),
            None => host_role.parse(),
        }
    }

    /// The grants `ctx` holds under this policy.
    pub fn grants_of<'a>(&'a self, ctx: &'a UserContext) -> Box<dyn Iterator<Item = &'a Grant> + 'a> {
        match ctx.role {
            Role::Owner => Box::new(self.owner.iter()),
            Role::PlatformAdmin => Box::new(self.platform_admin.iter()),
            Role::Customer => Box::new(self.customer.iter()),
            Role::Employee => Box::new(self.employee_base.iter().chain(ctx.grants.iter())),
        }
    }

    /// Whether `ctx` may use `permission`.
    pub fn decide(&self, ctx: &UserContext, permission: Permission) -> Decision {
        if self.grants_of(ctx).any(|g| g.covers(permission)) {
            Decision::Allow
        } else {
            Decision::Deny { missing: permission, reason: format!("this action needs the `{permission}` permission") }
        }
    }

    /// Every concrete permission `ctx` holds, sorted.
    pub fn permissions_of(&self, ctx: &UserContext) -> Vec<Permission> {
        Permission::all().filter(|p| self.decide(ctx, *p).is_allowed()).collect()
    }

    /// The grants of the policy's system roles named in `names`, for hosts that give their
    /// users policy roles directly (rather than through crm-agent's own role records). An
    /// unknown name is an error listing the roles the policy has.
    pub fn grants_of_roles(&self, names: &[String]) -> Result<BTreeSet<Grant>> {
        let mut grants = BTreeSet::new();
        for name in names {
            let role = self.system_roles.get(name).ok_or_else(|| {
                let known: Vec<&str> = self.system_roles.keys().map(String::as_str).collect();
                Error::invalid(format!("unknown role `{name}`; the policy has: {}", known.join(", ")))
            })?;
            grants.extend(role.grants.iter().copied());
        }
        Ok(grants)
    }

    /// The context of a caller that a host describes itself: `role` by any name this policy
    /// knows ([`principal_for`](Self::principal_for)), the explicit `grants`, and the grants of
    /// the policy's system `roles` ([`grants_of_roles`](Self::grants_of_roles)). The Python and
    /// Node bindings build their contexts here, so both read a host's context the same way.
    pub fn host_context(
        &self,
        user_id: impl Into<String>,
        organization_id: impl Into<crate::domain::OrganizationId>,
        role: &str,
        grants: impl IntoIterator<Item = Grant>,
        roles: &[String],
    ) -> Result<UserContext> {
        let mut ctx = UserContext::new(user_id, organization_id, self.principal_for(role)?);
        ctx.grants.extend(grants);
        ctx.grants.extend(self.grants_of_roles(roles)?);
        Ok(ctx)
    }

    /// The system roles to seed into a new organization.
    pub fn system_roles(&self) -> Vec<NewRoleDefinition> {
        self.system_roles
            .iter()
            .map(|(name, role)| NewRoleDefinition {
                name: name.clone(),
                description: role.description.clone(),
                grants: role.grants.clone(),
                is_system: true,
            })
            .collect()
    }
}
