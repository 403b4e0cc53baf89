use serde::{Deserialize, Serialize};

use super::{
    Change, CustomFields, CustomerId, EmployeeId, IssueId, IssueSort, OrderId, OrganizationId, Priority, Sort,
    TimeRange, Timestamp, check, string_enum,
};
use crate::error::{Error, Result};

string_enum! {
    /// What an issue is about.
    IssueCategory { General => "general", Delivery => "delivery", Quality => "quality", Billing => "billing", Communication => "communication", Technical => "technical", Other => "other" }
}

string_enum! {
    /// Where an issue stands.
    IssueStatus { Open => "open", InProgress => "in_progress", Resolved => "resolved", Closed => "closed" }
}

/// A support issue (ticket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Issue {
    /// Opaque id (not the `ISS-` number).
    pub id: IssueId,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// `ISS-YYYY-NNNN`, unique per organization.
    pub number: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// Category.
    pub category: IssueCategory,
    /// Status.
    pub status: IssueStatus,
    /// The customer who raised it.
    pub customer_id: Option<CustomerId>,
    /// The order it is about.
    pub order_id: Option<OrderId>,
    /// The employee handling it.
    pub assigned_to: Option<EmployeeId>,
    /// How it was resolved.
    pub resolution_notes: Option<String>,
    /// When it was resolved.
    pub resolved_at: Option<Timestamp>,
    /// The user who resolved it.
    pub resolved_by: Option<String>,
    /// The host's own fields.
    pub custom_fields: CustomFields,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record was last changed.
    pub updated_at: Timestamp,
}

/// The fields of an issue to create. The store allocates the number, id and timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIssue {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Priority. (default `medium`).
    #[serde(default = "default_priority")]
    pub priority: Priority,
    /// Category. (default `general`).
    #[serde(default = "default_category")]
    pub category: IssueCategory,
    /// Status. (default `open`).
    #[serde(default = "default_status")]
    pub status: IssueStatus,
    /// The customer who raised it.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// The order it is about.
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// The employee handling it.
    #[serde(default)]
    pub assigned_to: Option<EmployeeId>,
    /// The host's own fields.
    #[serde(default)]
    pub custom_fields: CustomFields,
    /// Creation time; `None` means now. Importers may backdate it, through the `Store` API or a
    /// create tool (holding `data:import`, which alone see the argument); never into the future.
    /// Left out of the derived schema: the registry adds it for importers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub created_at: Option<Timestamp>,
}

impl NewIssue {
    /// Checks lengths and custom fields.
    pub fn validate(&self) -> Result<()> {
        check::not_future("created_at", self.created_at)?;
        check::required("title", &self.title)?;
        check::opt(self.description.as_deref(), |v| check::long("description", v))?;
        check::custom_fields("custom_fields", &self.custom_fields)?;
        Ok(())
    }
}

/// A partial update of an issue. Each [`Change`] keeps, clears or sets its field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuePatch {
    /// New value: title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New value: description.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub description: Change<String>,
    /// New value: priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// New value: category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<IssueCategory>,
    /// New value: status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<IssueStatus>,
    /// New value: the customer who raised it.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub customer_id: Change<CustomerId>,
    /// New value: the order it is about.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub order_id: Change<OrderId>,
    /// New value: the employee handling it.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub assigned_to: Change<EmployeeId>,
    /// New value: how it was resolved.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub resolution_notes: Change<String>,
    /// New value: when it was resolved.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub resolved_at: Change<Timestamp>,
    /// New value: the user who resolved it.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub resolved_by: Change<String>,
    /// New value: the host's own fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<CustomFields>,
}

impl IssuePatch {
    /// Checks the given fields as [`NewIssue::validate`] does.
    pub fn validate(&self) -> Result<()> {
        check::opt(self.title.as_deref(), |v| check::required("title", v))?;
        check::opt(self.description.as_deref(), |v| check::long("description", v))?;
        check::opt(self.resolution_notes.as_deref(), |v| check::long("resolution_notes", v))?;
        check::opt(self.resolved_by.as_deref(), |v| check::short("resolved_by", v))?;
        check::opt(self.custom_fields.as_ref(), |v| check::custom_fields("custom_fields", v))?;
        Ok(())
    }
}

/// Filters of `list_issues`; all given filters must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IssueFilter {
    /// Only this status.
    #[serde(default)]
    pub status: Option<IssueStatus>,
    /// Only this priority.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Only this category.
    #[serde(default)]
    pub category: Option<IssueCategory>,
    /// Only issues assigned to this employee.
    #[serde(default)]
    pub assigned_to: Option<EmployeeId>,
    /// Only issues of this customer.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// Only issues about this order.
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// Case-insensitive text over number, title and description.
    #[serde(default)]
    pub search: Option<String>,
    /// Equality on custom fields.
    #[serde(default)]
    pub custom_fields: CustomFields,
    /// Only issues created in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub created: TimeRange,
    /// Only issues last changed in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub updated: TimeRange,
    /// Only issues resolved in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub resolved: TimeRange,
    /// The order (default: newest first).
    #[serde(default, skip_serializing_if = "super::query::is_default_sort")]
    #[schemars(skip)]
    pub sort: Option<Sort<IssueSort>>,
}

fn default_priority() -> Priority {
    Priority::Medium
}

fn default_category() -> IssueCategory {
    IssueCategory::General
}

fn default_status() -> IssueStatus {
    IssueStatus::Open
}

impl NewIssue {
    /// A new open issue with only a title.
    pub fn titled(title: impl Into<String>) -> Self {
        NewIssue {
            title: title.into(),
            description: None,
            priority: Priority::Medium,
            category: IssueCategory::General,
            status: IssueStatus::Open,
            customer_id: None,
            order_id: None,
            assigned_to: None,
            custom_fields: CustomFields::new(),
            created_at: None,
        }
    }
}

/// A comment on an issue. Internal comments are never shown to customers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IssueComment {
    /// Opaque id.
    pub id: String,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// The issue.
    pub issue_id: IssueId,
    /// The author's user id.
    pub author_user_id: String,
    /// The author's display name.
    pub author_name: String,
    /// The text.
    pub body: String,
    /// Staff-only comment.
    pub internal: bool,
    /// When it was written.
    pub created_at: Timestamp,
}

/// A comment to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIssueComment {
    /// The issue.
    pub issue_id: IssueId,
    /// The author's user id.
    pub author_user_id: String,
    /// The author's display name.
    pub author_name: String,
    /// The text.
    pub body: String,
    /// Staff-only comment.
    #[serde(default)]
    pub internal: bool,
}

impl NewIssueComment {
    /// Checks the author and body.
    pub fn validate(&self) -> Result<()> {
        check::required("author_user_id", &self.author_user_id)?;
        check::required("author_name", &self.author_name)?;
        if self.body.trim().is_empty() {
            return Err(Error::invalid("`body` must not be empty"));
        }
        check::long("body", &self.body)
    }
}
