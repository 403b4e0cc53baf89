use serde::{Deserialize, Serialize};

use super::{
    Change, CustomFields, CustomerId, Date, DateRange, DealId, DealSort, EmployeeId, LeadId, Money, OrganizationId,
    PipelineId, Priority, Sort, StageId, TimeRange, Timestamp, check, string_enum,
};
use crate::error::Result;

string_enum! {
    /// Whether a deal is still open.
    DealStatus { Open => "open", Won => "won", Lost => "lost" }
}

/// A deal in a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Deal {
    /// Opaque id.
    pub id: DealId,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// Title.
    pub title: String,
    /// The customer buying.
    pub customer_id: Option<CustomerId>,
    /// The lead it came from.
    pub lead_id: Option<LeadId>,
    /// The pipeline.
    pub pipeline_id: PipelineId,
    /// The stage within the pipeline.
    pub stage_id: StageId,
    /// Deal value.
    pub value: Money,
    /// ISO currency code.
    pub currency: String,
    /// Win probability in percent.
    pub probability: u8,
    /// Expected close date.
    pub expected_close_date: Option<Date>,
    /// Actual close date (won or lost).
    pub actual_close_date: Option<Date>,
    /// Priority.
    pub priority: Priority,
    /// Open, won or lost.
    pub status: DealStatus,
    /// Why it was lost.
    pub lost_reason: Option<String>,
    /// The responsible employee.
    pub assigned_to: Option<EmployeeId>,
    /// Tags.
    pub tags: Vec<String>,
    /// Notes.
    pub notes: Option<String>,
    /// The host's own fields.
    pub custom_fields: CustomFields,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record was last changed.
    pub updated_at: Timestamp,
}

/// The fields of a deal to create. The store assigns the id and timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeal {
    /// Title.
    pub title: String,
    /// The customer buying.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// The lead it came from.
    #[serde(default)]
    pub lead_id: Option<LeadId>,
    /// The pipeline.
    pub pipeline_id: PipelineId,
    /// The stage within the pipeline.
    pub stage_id: StageId,
    /// Deal value. (default `0`).
    #[serde(default = "default_value")]
    pub value: Money,
    /// ISO currency code. (default `USD`).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Win probability in percent. (default `0`).
    #[serde(default = "default_probability")]
    pub probability: u8,
    /// Expected close date.
    #[serde(default)]
    pub expected_close_date: Option<Date>,
    /// Actual close date (won or lost).
    #[serde(default)]
    pub actual_close_date: Option<Date>,
    /// Priority. (default `medium`).
    #[serde(default = "default_priority")]
    pub priority: Priority,
    /// Open, won or lost. (default `open`).
    #[serde(default = "default_status")]
    pub status: DealStatus,
    /// Why it was lost.
    #[serde(default)]
    pub lost_reason: Option<String>,
    /// The responsible employee.
    #[serde(default)]
    pub assigned_to: Option<EmployeeId>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
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

impl NewDeal {
    /// Checks lengths, formats, ranges and references' shapes.
    pub fn validate(&self) -> Result<()> {
        check::not_future("created_at", self.created_at)?;
        check::required("title", &self.title)?;
        check::money("value", self.value)?;
        check::currency("currency", &self.currency)?;
        check::percent("probability", i64::from(self.probability))?;
        check::opt(self.lost_reason.as_deref(), |v| check::short("lost_reason", v))?;
        check::tags("tags", &self.tags)?;
        check::opt(self.notes.as_deref(), |v| check::long("notes", v))?;
        check::custom_fields("custom_fields", &self.custom_fields)?;
        Ok(())
    }
}

/// A partial update of a deal. Each [`Change`] keeps, clears or sets its field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DealPatch {
    /// New value: title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New value: the customer buying.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub customer_id: Change<CustomerId>,
    /// New value: the lead it came from.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub lead_id: Change<LeadId>,
    /// New value: the pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<PipelineId>,
    /// New value: the stage within the pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_id: Option<StageId>,
    /// New value: deal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Money>,
    /// New value: ISO currency code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// New value: win probability in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<u8>,
    /// New value: expected close date.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub expected_close_date: Change<Date>,
    /// New value: actual close date (won or lost).
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub actual_close_date: Change<Date>,
    /// New value: priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// New value: open, won or lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DealStatus>,
    /// New value: why it was lost.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub lost_reason: Change<String>,
    /// New value: the responsible employee.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub assigned_to: Change<EmployeeId>,
    /// New value: tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// New value: notes.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub notes: Change<String>,
    /// New value: the host's own fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<CustomFields>,
}

impl DealPatch {
    /// Checks the given fields as [`NewDeal::validate`] does.
    pub fn validate(&self) -> Result<()> {
        check::opt(self.title.as_deref(), |v| check::required("title", v))?;
        check::opt(self.value.as_ref(), |v| check::money("value", *v))?;
        check::opt(self.currency.as_deref(), |v| check::currency("currency", v))?;
        check::opt(self.probability.as_ref(), |v| check::percent("probability", i64::from(*v)))?;
        check::opt(self.lost_reason.as_deref(), |v| check::short("lost_reason", v))?;
        check::opt(self.tags.as_deref(), |v| check::tags("tags", v))?;
        check::opt(self.notes.as_deref(), |v| check::long("notes", v))?;
        check::opt(self.custom_fields.as_ref(), |v| check::custom_fields("custom_fields", v))?;
        Ok(())
    }
}

/// Filters of `list_deals`; all given filters must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DealFilter {
    /// Only this status.
    #[serde(default)]
    pub status: Option<DealStatus>,
    /// Only this stage.
    #[serde(default)]
    pub stage_id: Option<StageId>,
    /// Only this pipeline.
    #[serde(default)]
    pub pipeline_id: Option<PipelineId>,
    /// Only this priority.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Only deals assigned to this employee.
    #[serde(default)]
    pub assigned_to: Option<EmployeeId>,
    /// Only deals of this customer.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// Value at least this.
    #[serde(default)]
    pub min_value: Option<Money>,
    /// Value at most this.
    #[serde(default)]
    pub max_value: Option<Money>,
    /// Case-insensitive text over title and notes.
    #[serde(default)]
    pub search: Option<String>,
    /// Equality on custom fields.
    #[serde(default)]
    pub custom_fields: CustomFields,
    /// Only deals created in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub created: TimeRange,
    /// Only deals last changed in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub updated: TimeRange,
    /// Only deals expected to close on these days.
    #[serde(default, skip_serializing_if = "DateRange::is_open")]
    #[schemars(skip)]
    pub expected_close: DateRange,
    /// Only deals that closed (won or lost) on these days.
    #[serde(default, skip_serializing_if = "DateRange::is_open")]
    #[schemars(skip)]
    pub closed: DateRange,
    /// The order (default: newest first).
    #[serde(default, skip_serializing_if = "super::query::is_default_sort")]
    #[schemars(skip)]
    pub sort: Option<Sort<DealSort>>,
}

fn default_value() -> Money {
    Money::ZERO
}

fn default_currency() -> String {
    "USD".into()
}

fn default_probability() -> u8 {
    0
}

fn default_priority() -> Priority {
    Priority::Medium
}

fn default_status() -> DealStatus {
    DealStatus::Open
}

impl Deal {
    /// value × probability, to the cent. Derived, so it is always consistent.
    pub fn expected_revenue(&self) -> Money {
        (self.value * Money::from(self.probability) / Money::from(100)).round_dp(2)
    }
}

impl NewDeal {
    /// A new open deal in `stage_id` of `pipeline_id`.
    pub fn new(title: impl Into<String>, pipeline_id: PipelineId, stage_id: StageId, value: Money) -> Self {
        NewDeal {
            title: title.into(),
            customer_id: None,
            lead_id: None,
            pipeline_id,
            stage_id,
            value,
            currency: default_currency(),
            probability: 0,
            expected_close_date: None,
            actual_close_date: None,
            priority: Priority::Medium,
            status: DealStatus::Open,
            lost_reason: None,
            assigned_to: None,
            tags: Vec::new(),
            notes: None,
            custom_fields: CustomFields::new(),
            created_at: None,
        }
    }
}
