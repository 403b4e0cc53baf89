use serde::{Deserialize, Serialize};

use super::{
    ActivityId, ActivitySort, Change, CustomerId, Date, DateRange, DealId, EmployeeId, LeadId, OrganizationId, Overdue,
    Sort, TimeRange, Timestamp, check, string_enum,
};
use crate::error::{Error, Result};

string_enum! {
    /// Kinds of activity.
    ActivityType { Call => "call", Email => "email", Meeting => "meeting", Note => "note", Task => "task" }
}

string_enum! {
    /// Where an activity stands.
    ActivityStatus { Scheduled => "scheduled", InProgress => "in_progress", Completed => "completed", Cancelled => "cancelled" }
}

/// A call, email, meeting, note or task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Activity {
    /// Opaque id.
    pub id: ActivityId,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// Call, email, meeting, note or task.
    pub activity_type: ActivityType,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// The customer it concerns.
    pub customer_id: Option<CustomerId>,
    /// The lead it concerns.
    pub lead_id: Option<LeadId>,
    /// The deal it concerns.
    pub deal_id: Option<DealId>,
    /// Status.
    pub status: ActivityStatus,
    /// When it is planned.
    pub scheduled_at: Option<Timestamp>,
    /// When it was done.
    pub completed_at: Option<Timestamp>,
    /// Who does it.
    pub assigned_to: Option<EmployeeId>,
    /// Length of a call or meeting, in minutes.
    pub duration_minutes: Option<u32>,
    /// Outcome of a call.
    pub outcome: Option<String>,
    /// Where a meeting happens.
    pub location: Option<String>,
    /// Subject of an email.
    pub email_subject: Option<String>,
    /// Due date of a task.
    pub due_date: Option<Date>,
    /// The user who logged it.
    pub created_by: Option<String>,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record was last changed.
    pub updated_at: Timestamp,
}

/// The fields of an activity to create. The store assigns the id and timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    /// Call, email, meeting, note or task.
    pub activity_type: ActivityType,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The customer it concerns.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// The lead it concerns.
    #[serde(default)]
    pub lead_id: Option<LeadId>,
    /// The deal it concerns.
    #[serde(default)]
    pub deal_id: Option<DealId>,
    /// Status. (default `scheduled`).
    #[serde(default = "default_status")]
    pub status: ActivityStatus,
    /// When it is planned.
    #[serde(default)]
    pub scheduled_at: Option<Timestamp>,
    /// When it was done.
    #[serde(default)]
    pub completed_at: Option<Timestamp>,
    /// Who does it.
    #[serde(default)]
    pub assigned_to: Option<EmployeeId>,
    /// Length of a call or meeting, in minutes.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// Outcome of a call.
    #[serde(default)]
    pub outcome: Option<String>,
    /// Where a meeting happens.
    #[serde(default)]
    pub location: Option<String>,
    /// Subject of an email.
    #[serde(default)]
    pub email_subject: Option<String>,
    /// Due date of a task.
    #[serde(default)]
    pub due_date: Option<Date>,
    /// The user who logged it.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Creation time; `None` means now. Importers may backdate it, through the `Store` API or a
    /// create tool (holding `data:import`, which alone see the argument); never into the future.
    /// Left out of the derived schema: the registry adds it for importers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub created_at: Option<Timestamp>,
}

impl NewActivity {
    /// Checks lengths, formats, ranges and references' shapes.
    pub fn validate(&self) -> Result<()> {
        check::not_future("created_at", self.created_at)?;
        check::required("title", &self.title)?;
        check::opt(self.description.as_deref(), |v| check::long("description", v))?;
        check::opt(self.outcome.as_deref(), |v| check::short("outcome", v))?;
        check::opt(self.location.as_deref(), |v| check::short("location", v))?;
        check::opt(self.email_subject.as_deref(), |v| check::short("email_subject", v))?;
        check::opt(self.created_by.as_deref(), |v| check::short("created_by", v))?;
        check_duration(self.duration_minutes)?;
        Ok(())
    }
}

/// A partial update of an activity. Each [`Change`] keeps, clears or sets its field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityPatch {
    /// New value: call, email, meeting, note or task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_type: Option<ActivityType>,
    /// New value: title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New value: description.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub description: Change<String>,
    /// New value: the customer it concerns.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub customer_id: Change<CustomerId>,
    /// New value: the lead it concerns.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub lead_id: Change<LeadId>,
    /// New value: the deal it concerns.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub deal_id: Change<DealId>,
    /// New value: status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ActivityStatus>,
    /// New value: when it is planned.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub scheduled_at: Change<Timestamp>,
    /// New value: when it was done.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub completed_at: Change<Timestamp>,
    /// New value: who does it.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub assigned_to: Change<EmployeeId>,
    /// New value: length of a call or meeting, in minutes.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub duration_minutes: Change<u32>,
    /// New value: outcome of a call.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub outcome: Change<String>,
    /// New value: where a meeting happens.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub location: Change<String>,
    /// New value: subject of an email.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub email_subject: Change<String>,
    /// New value: due date of a task.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub due_date: Change<Date>,
    /// New value: the user who logged it.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub created_by: Change<String>,
}

impl ActivityPatch {
    /// Checks the given fields as [`NewActivity::validate`] does.
    pub fn validate(&self) -> Result<()> {
        check::opt(self.title.as_deref(), |v| check::required("title", v))?;
        check::opt(self.description.as_deref(), |v| check::long("description", v))?;
        check::opt(self.outcome.as_deref(), |v| check::short("outcome", v))?;
        check::opt(self.location.as_deref(), |v| check::short("location", v))?;
        check::opt(self.email_subject.as_deref(), |v| check::short("email_subject", v))?;
        check::opt(self.created_by.as_deref(), |v| check::short("created_by", v))?;
        check_duration(self.duration_minutes.value().copied())?;
        Ok(())
    }
}

/// Filters of `list_activities`; all given filters must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActivityFilter {
    /// Only this type.
    #[serde(default)]
    pub activity_type: Option<ActivityType>,
    /// Only this status.
    #[serde(default)]
    pub status: Option<ActivityStatus>,
    /// Only about this customer.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// Only about this lead.
    #[serde(default)]
    pub lead_id: Option<LeadId>,
    /// Only about this deal.
    #[serde(default)]
    pub deal_id: Option<DealId>,
    /// Only assigned to this employee.
    #[serde(default)]
    pub assigned_to: Option<EmployeeId>,
    /// Case-insensitive text over title and description.
    #[serde(default)]
    pub search: Option<String>,
    /// Only activities created in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub created: TimeRange,
    /// Only activities last changed in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub updated: TimeRange,
    /// Only activities scheduled in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub scheduled: TimeRange,
    /// Only activities due on these days.
    #[serde(default, skip_serializing_if = "DateRange::is_open")]
    #[schemars(skip)]
    pub due: DateRange,
    /// Only activities overdue at this moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub overdue: Option<Overdue>,
    /// The order (default: newest first).
    #[serde(default, skip_serializing_if = "super::query::is_default_sort")]
    #[schemars(skip)]
    pub sort: Option<Sort<ActivitySort>>,
}

fn default_status() -> ActivityStatus {
    ActivityStatus::Scheduled
}

/// The longest accepted duration: a week.
const MAX_DURATION_MINUTES: u32 = 7 * 24 * 60;

fn check_duration(minutes: Option<u32>) -> Result<()> {
    match minutes {
        Some(m) if m > MAX_DURATION_MINUTES => {
            Err(Error::invalid(format!("`duration_minutes` must be at most {MAX_DURATION_MINUTES} (got {m})")))
        }
        _ => Ok(()),
    }
}

impl NewActivity {
    /// A new scheduled activity of `activity_type`.
    pub fn new(activity_type: ActivityType, title: impl Into<String>) -> Self {
        NewActivity {
            activity_type,
            title: title.into(),
            description: None,
            customer_id: None,
            lead_id: None,
            deal_id: None,
            status: ActivityStatus::Scheduled,
            scheduled_at: None,
            completed_at: None,
            assigned_to: None,
            duration_minutes: None,
            outcome: None,
            location: None,
            email_subject: None,
            due_date: None,
            created_by: None,
            created_at: None,
        }
    }
}
