//! Who may do what, as plain data: the kinds of principal ([`Role`]) and the permissions a
//! policy grants ([`Permission`], [`Grant`]). The policy engine decides with them; the domain
//! records (role definitions, members) carry them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

crate::domain::string_enum! {
    /// What a permission is about: the `resource` of `resource:action`.
    Resource {
        Customer => "customer",
        Lead => "lead",
        Deal => "deal",
        Pipeline => "pipeline",
        Issue => "issue",
        Order => "order",
        Payment => "payment",
        Employee => "employee",
        Activity => "activity",
        Analytics => "analytics",
        Role => "role",
        Organization => "organization",
        Audit => "audit",
        /// The data as a whole: `data:import`, the one permission of this resource.
        Data => "data",
    }
}

crate::domain::string_enum! {
    /// What a permission allows doing.
    Action {
        Read => "read",
        Create => "create",
        Update => "update",
        Delete => "delete",
        /// Bringing in records from elsewhere as they were (their own creation times): only
        /// `data:import`.
        Import => "import",
    }
}

/// One concrete permission a tool needs, e.g. `customer:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    /// The resource.
    pub resource: Resource,
    /// The action on it.
    pub action: Action,
}

impl Permission {
    /// `resource:action`.
    pub const fn new(resource: Resource, action: Action) -> Self {
        Permission { resource, action }
    }

    /// `data:import`: creating records with their original creation time. Granted only by
    /// name (see [`Grant::covers`]).
    pub const IMPORT: Permission = Permission::new(Resource::Data, Action::Import);

    /// Every permission that exists, in resource then action order: each record resource with
    /// read, create, update and delete, and `data:import`.
    pub fn all() -> impl Iterator<Item = Permission> {
        Resource::ALL
            .iter()
            .flat_map(|r| Action::ALL.iter().map(move |a| Permission::new(*r, *a)))
            .filter(|p| Self::exists(p.resource, p.action))
    }

    /// Whether `resource:action` is a permission: `import` goes with `data` and nothing else.
    fn exists(resource: Resource, action: Action) -> bool {
        (resource == Resource::Data) == (action == Action::Import)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource, self.action)
    }
}

/// A permission as granted by a role: either part may be the wildcard `*`
/// (`customer:*`, `*:read`, `*:*`). `None` stands for `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grant {
    /// The resource, or `None` for every resource.
    pub resource: Option<Resource>,
    /// The action, or `None` for every action.
    pub action: Option<Action>,
}

impl Grant {
    /// `*:*`.
    pub const ALL: Grant = Grant { resource: None, action: None };

    /// A grant of exactly one permission.
    pub const fn exact(resource: Resource, action: Action) -> Self {
        Grant { resource: Some(resource), action: Some(action) }
    }

    /// Whether this grant covers `permission`. `data:import` is covered only by a grant that
    /// names `data` (`data:import`, `data:*`): backdating records is never part of `*:*`, so
    /// an owner holds it only where the policy says so.
    pub fn covers(&self, permission: Permission) -> bool {
        if permission == Permission::IMPORT && self.resource != Some(Resource::Data) {
            return false;
        }
        self.resource.is_none_or(|r| r == permission.resource) && self.action.is_none_or(|a| a == permission.action)
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.resource {
            Some(r) => write!(f, "{r}:")?,
            None => f.write_str("*:")?,
        }
        match self.action {
            Some(a) => write!(f, "{a}"),
            None => f.write_str("*"),
        }
    }
}

impl FromStr for Grant {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let (resource, action) = s
            .split_once(':')
            .ok_or_else(|| Error::invalid(format!("permission `{s}` must look like `resource:action`")))?;
        let resource = match resource {
            "*" => None,
            other => Some(other.parse::<Resource>()?),
        };
        let action = match action {
            "*" => None,
            other => Some(other.parse::<Action>()?),
        };
        // `*:import` would read as granting import while covering nothing (see `covers`).
        let refused = match (resource, action) {
            (Some(resource), Some(action)) => !Permission::exists(resource, action),
            (None, Some(action)) => action == Action::Import,
            _ => false,
        };
        if refused {
            return Err(Error::invalid(format!(
                "`{s}` is not a permission: `import` goes with `data` only (`data:import`), and `data` with `import` only"
            )));
        }
        Ok(Grant { resource, action })
    }
}

impl FromStr for Permission {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.parse::<Grant>()? {
            Grant { resource: Some(resource), action: Some(action) } => Ok(Permission { resource, action }),
            _ => Err(Error::invalid(format!("`{s}` is a wildcard grant, not a single permission"))),
        }
    }
}

/// Both render as `"resource:action"` strings.
macro_rules! string_schema {
    ($ty:ty, $name:literal, $pattern:literal) => {
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "pattern": $pattern })
            }
        }
    };
}

string_schema!(Grant, "Grant", "^([a-z]+|\\*):([a-z]+|\\*)$");
string_schema!(Permission, "Permission", "^[a-z]+:[a-z]+$");

impl Serialize for Grant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Grant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The kind of principal; what each may do is in `docs/policy.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Owns the organization: every permission inside it. Older Django CRMs call this "vendor".
    Owner,
    /// Works for the organization: exactly the permissions of their roles.
    Employee,
    /// A customer of the organization: only their own records.
    Customer,
    /// Operator of the platform (`superuser`/`staff` in older Django CRMs); still acts inside one
    /// organization.
    PlatformAdmin,
}

impl Role {
    /// Every role.
    pub const ALL: &'static [Role] = &[Role::Owner, Role::Employee, Role::Customer, Role::PlatformAdmin];

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Employee => "employee",
            Role::Customer => "customer",
            Role::PlatformAdmin => "platform_admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = Error;

    /// Accepts the canonical names and older Django CRMs' role names (`vendor`, `superuser`, `staff`).
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "owner" | "vendor" => Ok(Role::Owner),
            "employee" => Ok(Role::Employee),
            "customer" => Ok(Role::Customer),
            "platform_admin" | "superuser" | "staff" => Ok(Role::PlatformAdmin),
            other => Err(Error::invalid(format!(
                "`{other}` is not a valid role; allowed values: owner, employee, customer, platform_admin (aliases: vendor, superuser, staff)"
            ))),
        }
    }
}

impl schemars::JsonSchema for Role {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Role".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "enum": ["owner", "employee", "customer", "platform_admin"] })
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(|e: Error| serde::de::Error::custom(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_what_they_say() {
        let read_customer = Permission::new(Resource::Customer, Action::Read);
        assert!("customer:*".parse::<Grant>().unwrap().covers(read_customer));
        assert!("*:read".parse::<Grant>().unwrap().covers(read_customer));
        assert!("*:*".parse::<Grant>().unwrap().covers(read_customer));
        assert!(!"lead:*".parse::<Grant>().unwrap().covers(read_customer));
        assert!(!"customer:update".parse::<Grant>().unwrap().covers(read_customer));
    }

    #[test]
    fn only_a_grant_naming_data_covers_import() {
        for grant in ["data:import", "data:*"] {
            assert!(grant.parse::<Grant>().unwrap().covers(Permission::IMPORT), "{grant}");
        }
        for grant in ["*:*", "customer:*"] {
            assert!(!grant.parse::<Grant>().unwrap().covers(Permission::IMPORT), "{grant}");
        }
        for bad in ["customer:import", "data:read", "*:import"] {
            let err = bad.parse::<Grant>().unwrap_err().to_string();
            assert!(err.contains("data:import"), "{err}");
        }
        assert_eq!(Permission::all().filter(|p| p.action == Action::Import).collect::<Vec<_>>(), [Permission::IMPORT]);
        assert!(Permission::all().all(|p| p.resource != Resource::Data || p == Permission::IMPORT));
    }

    #[test]
    fn bad_permission_names_the_allowed_values() {
        let err = "customer:fly".parse::<Grant>().unwrap_err().to_string();
        assert!(err.contains("read, create, update, delete"), "{err}");
        let err = "planet:read".parse::<Grant>().unwrap_err().to_string();
        assert!(err.contains("customer"), "{err}");
        assert!("customerread".parse::<Grant>().is_err());
    }

    #[test]
    fn round_trips_through_strings() {
        for s in ["customer:read", "lead:*", "*:update", "*:*"] {
            assert_eq!(s.parse::<Grant>().unwrap().to_string(), s);
        }
    }
}
