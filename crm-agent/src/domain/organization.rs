use serde::{Deserialize, Serialize};

use super::{Change, CustomerId, EmployeeId, Grant, OrganizationId, Role, RoleId, Timestamp, check, string_enum};
use crate::error::{Error, Result};

string_enum! {
    /// When a write the assistant wants to make needs a human's confirmation first.
    ConfirmationMode { Never => "never", Destructive => "destructive", AllWrites => "all_writes" }
}

impl Default for ConfirmationMode {
    /// By default every write the assistant wants to make waits for a human's confirmation.
    fn default() -> Self {
        ConfirmationMode::AllWrites
    }
}

/// Per-organization settings. Unknown keys are kept, so hosts can store their own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrganizationSettings {
    /// Extra system-prompt text for this organization's assistant.
    #[serde(default)]
    pub assistant_instructions: Option<String>,
    /// When assistant writes need confirmation.
    #[serde(default)]
    pub confirmation_mode: ConfirmationMode,
    /// The organization's IANA time zone, e.g. `Europe/Berlin` (default `UTC`): where its days
    /// begin when a list is filtered by a date, and what the assistant calls today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The organization's default currency, a three-letter ISO code (default `USD`): listed
    /// first wherever analytics report money per currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_currency: Option<String>,
    /// Custom field keys customers see on their own records. By default they see none: custom
    /// fields are the staff's, as notes, credit limits and assignees are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_visible_custom_fields: Vec<String>,
    /// Any other settings, kept as given.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// An organization: one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Organization {
    /// Opaque id.
    pub id: OrganizationId,
    /// Name.
    pub name: String,
    /// Unique URL-safe short name.
    pub slug: String,
    /// Industry.
    pub industry: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Settings.
    pub settings: OrganizationSettings,
    /// Whether it is active.
    pub active: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// An organization to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    /// Name.
    pub name: String,
    /// Unique slug: 1–64 of `a-z 0-9 -`, not starting or ending with `-`.
    pub slug: String,
    /// Industry.
    #[serde(default)]
    pub industry: Option<String>,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// Settings.
    #[serde(default)]
    pub settings: OrganizationSettings,
    /// Whether it is active (default true).
    #[serde(default = "default_active")]
    pub active: bool,
    /// Creation time; `None` means now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub created_at: Option<Timestamp>,
}

fn default_active() -> bool {
    true
}

fn check_settings(settings: &OrganizationSettings) -> Result<()> {
    check::opt(settings.assistant_instructions.as_deref(), |v| check::long("settings.assistant_instructions", v))?;
    check::opt(settings.default_currency.as_deref(), |v| check::currency("settings.default_currency", v))?;
    for key in &settings.customer_visible_custom_fields {
        check::custom_field_key("settings.customer_visible_custom_fields", key)?;
    }
    settings.time_zone().map(drop)
}

impl OrganizationSettings {
    /// The organization's default currency: `default_currency`, or `USD` when it is not set.
    pub fn default_currency(&self) -> &str {
        self.default_currency.as_deref().unwrap_or("USD")
    }

    /// The organization's time zone: `timezone`, or UTC when it is not set.
    pub fn time_zone(&self) -> Result<chrono_tz::Tz> {
        match self.timezone.as_deref() {
            None => Ok(chrono_tz::UTC),
            Some(name) => name.parse().map_err(|_| {
                Error::invalid(format!(
                    "`settings.timezone` must be an IANA time zone name such as `UTC` or `Europe/Berlin` (got `{name}`)"
                ))
            }),
        }
    }
}

impl NewOrganization {
    /// An active organization with default settings.
    pub fn named(name: impl Into<String>, slug: impl Into<String>) -> Self {
        NewOrganization {
            name: name.into(),
            slug: slug.into(),
            industry: None,
            website: None,
            settings: OrganizationSettings::default(),
            active: true,
            created_at: None,
        }
    }

    /// Checks the name, slug and settings.
    pub fn validate(&self) -> Result<()> {
        check::not_future("created_at", self.created_at)?;
        check::required("name", &self.name)?;
        let slug_ok = !self.slug.is_empty()
            && self.slug.len() <= 64
            && self.slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !self.slug.starts_with('-')
            && !self.slug.ends_with('-');
        if !slug_ok {
            return Err(Error::invalid(format!(
                "`slug` must be 1-64 lowercase letters, digits or dashes, not starting or ending with a dash (got `{}`)",
                self.slug
            )));
        }
        check::opt(self.industry.as_deref(), |v| check::short("industry", v))?;
        check::opt(self.website.as_deref(), |v| check::short("website", v))?;
        check_settings(&self.settings)
    }
}

/// A partial update of the organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New industry.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub industry: Change<String>,
    /// New website.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub website: Change<String>,
    /// Replacement settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<OrganizationSettings>,
    /// Activate or deactivate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

impl OrganizationPatch {
    /// Checks the given fields.
    pub fn validate(&self) -> Result<()> {
        check::opt(self.name.as_deref(), |v| check::required("name", v))?;
        check::opt(self.industry.as_deref(), |v| check::short("industry", v))?;
        check::opt(self.website.as_deref(), |v| check::short("website", v))?;
        check::opt(self.settings.as_ref(), check_settings)
    }
}

/// A user's membership of one organization: who they are there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Member {
    /// The organization.
    pub organization_id: OrganizationId,
    /// The host's user id.
    pub user_id: String,
    /// The kind of principal they are there.
    pub role: Role,
    /// Their employee record, for staff.
    pub employee_id: Option<EmployeeId>,
    /// Their customer record, for customers.
    pub customer_id: Option<CustomerId>,
    /// Name to show.
    pub display_name: String,
    /// When the membership was created.
    pub created_at: Timestamp,
}

/// A membership to add or replace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The host's user id.
    pub user_id: String,
    /// The kind of principal.
    pub role: Role,
    /// Their employee record (required for employees).
    #[serde(default)]
    pub employee_id: Option<EmployeeId>,
    /// Their customer record (required for customers).
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// Name to show.
    pub display_name: String,
}

impl NewMember {
    /// Checks the ids and that customers and employees name their record.
    pub fn validate(&self) -> Result<()> {
        check::required("user_id", &self.user_id)?;
        check::required("display_name", &self.display_name)?;
        match self.role {
            Role::Customer if self.customer_id.is_none() => Err(Error::invalid("a customer member needs customer_id")),
            Role::Employee if self.employee_id.is_none() => Err(Error::invalid("an employee member needs employee_id")),
            _ => Ok(()),
        }
    }
}

/// A role of an organization (system or custom) and the permissions it grants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RoleDefinition {
    /// Opaque id.
    pub id: RoleId,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// Unique name within the organization (`sales_rep`).
    pub name: String,
    /// What the role is for.
    pub description: Option<String>,
    /// The permissions it grants.
    pub grants: Vec<Grant>,
    /// Built in (seeded with the organization).
    pub is_system: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// A role to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoleDefinition {
    /// Name: 1–64 of `a-z 0-9 _`.
    pub name: String,
    /// What the role is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The permissions it grants.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Built in.
    #[serde(default)]
    pub is_system: bool,
}

/// Most grants on one role.
pub const MAX_GRANTS: usize = 100;

impl NewRoleDefinition {
    /// Checks the name, description and number of grants.
    pub fn validate(&self) -> Result<()> {
        let ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(Error::invalid(format!(
                "role `name` must be 1-64 lowercase letters, digits or underscores (got `{}`)",
                self.name
            )));
        }
        check::opt(self.description.as_deref(), |v| check::long("description", v))?;
        if self.grants.len() > MAX_GRANTS {
            return Err(Error::invalid(format!("a role has at most {MAX_GRANTS} grants")));
        }
        Ok(())
    }
}

/// A change to a role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleDefinitionPatch {
    /// New description.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub description: Change<String>,
    /// Replacement grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<Grant>>,
}

impl RoleDefinitionPatch {
    /// Checks the description and number of grants.
    pub fn validate(&self) -> Result<()> {
        check::opt(self.description.as_deref(), |v| check::long("description", v))?;
        if self.grants.as_ref().is_some_and(|g| g.len() > MAX_GRANTS) {
            return Err(Error::invalid(format!("a role has at most {MAX_GRANTS} grants")));
        }
        Ok(())
    }
}

string_enum! {
    /// How an audited call ended.
    AuditOutcome { Ok => "ok", Denied => "denied", Invalid => "invalid", Failed => "failed", Pending => "pending" }
}

/// One audited action (a tool call, a refusal, a failure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditEvent {
    /// Opaque id.
    pub id: String,
    /// The organization acted in.
    pub organization_id: OrganizationId,
    /// Who acted.
    pub user_id: String,
    /// What they did (a tool name or another action).
    pub action: String,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The error kind, when it failed.
    pub error_kind: Option<String>,
    /// How long it took, in microseconds.
    pub duration_us: u64,
    /// The arguments, with secrets redacted.
    pub arguments: serde_json::Value,
    /// The kind of record a successful write changed (`customer`, `lead`, `deal`, `issue`,
    /// `activity`, `employee`), when it changed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// That record's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The fields the write changed, before → after (none for creations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// When.
    pub at: Timestamp,
}

/// An audit event to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewAuditEvent {
    /// Who acted.
    pub user_id: String,
    /// What they did.
    pub action: String,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The error kind, when it failed.
    pub error_kind: Option<String>,
    /// How long it took, in microseconds.
    pub duration_us: u64,
    /// The arguments, with secrets redacted.
    pub arguments: serde_json::Value,
    /// The kind of record a successful write changed (`customer`, `lead`, `deal`, `issue`,
    /// `activity`, `employee`), when it changed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// That record's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// The fields the write changed, before → after (none for creations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// When.
    pub at: Timestamp,
}

/// Filters of `list_audit_events`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditFilter {
    /// Only this user's events.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Only this action.
    #[serde(default)]
    pub action: Option<String>,
    /// Only this outcome.
    #[serde(default)]
    pub outcome: Option<AuditOutcome>,
    /// Only the events of writes to this record.
    #[serde(default)]
    pub record_id: Option<String>,
}

/// One field a write changed, as the audit log keeps it. Values are shown as text: a text field
/// as itself, money as its decimal string, anything else (numbers, flags, lists, objects) as
/// compact JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldChange {
    /// The field.
    pub field: String,
    /// Its value before; absent when it had none, or when `hidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Its value after; absent when it has none, or when `hidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Whether the reader may not see this field's values: it shows as changed, without them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

impl FieldChange {
    /// The change of `field` from `before` to `after` (record fields as JSON).
    pub fn between(field: &str, before: &serde_json::Value, after: &serde_json::Value) -> Self {
        let shown = |value: &serde_json::Value| match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        };
        FieldChange { field: field.to_owned(), before: shown(before), after: shown(after), hidden: false }
    }
}
