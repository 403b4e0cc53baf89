use serde::{Deserialize, Serialize};

use super::{
    Change, CustomFields, Customer, CustomerId, EmployeeId, LeadId, LeadSort, Money, OrganizationId, Sort, StageId,
    TimeRange, Timestamp, check, string_enum,
};
use crate::error::Result;

string_enum! {
    /// Where a lead came from.
    LeadSource { Website => "website", Referral => "referral", SocialMedia => "social_media", EmailCampaign => "email_campaign", ColdCall => "cold_call", Event => "event", Partner => "partner", Other => "other" }
}

string_enum! {
    /// How far a lead is qualified.
    QualificationStatus { New => "new", Contacted => "contacted", Qualified => "qualified", Unqualified => "unqualified", Converted => "converted", Lost => "lost" }
}

/// A sales lead of one organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Lead {
    /// Opaque id.
    pub id: LeadId,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// The contact's name.
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// The lead's company.
    pub company: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Where the lead came from.
    pub source: LeadSource,
    /// Qualification status.
    pub qualification_status: QualificationStatus,
    /// Score from 0 to 100.
    pub score: u8,
    /// Estimated deal value.
    pub estimated_value: Option<Money>,
    /// The responsible employee.
    pub assigned_to: Option<EmployeeId>,
    /// The pipeline stage.
    pub stage_id: Option<StageId>,
    /// Notes.
    pub notes: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether the lead was converted to a customer.
    pub converted: bool,
    /// When it was converted.
    pub converted_at: Option<Timestamp>,
    /// The customer it became.
    pub converted_customer_id: Option<CustomerId>,
    /// The host's own fields.
    pub custom_fields: CustomFields,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record was last changed.
    pub updated_at: Timestamp,
}

/// The fields of a lead to create. The store assigns the id and timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    /// The contact's name.
    pub name: String,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// The lead's company.
    #[serde(default)]
    pub company: Option<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// Where the lead came from. (default `other`).
    #[serde(default = "default_source")]
    pub source: LeadSource,
    /// Qualification status. (default `new`).
    #[serde(default = "default_qualification")]
    pub qualification_status: QualificationStatus,
    /// Score from 0 to 100. (default `0`).
    #[serde(default = "default_score")]
    pub score: u8,
    /// Estimated deal value.
    #[serde(default)]
    pub estimated_value: Option<Money>,
    /// The responsible employee.
    #[serde(default)]
    pub assigned_to: Option<EmployeeId>,
    /// The pipeline stage.
    #[serde(default)]
    pub stage_id: Option<StageId>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
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

impl NewLead {
    /// Checks lengths, formats, ranges and references' shapes.
    pub fn validate(&self) -> Result<()> {
        check::not_future("created_at", self.created_at)?;
        check::required("name", &self.name)?;
        check::opt(self.email.as_deref(), |v| check::email("email", v))?;
        check::opt(self.phone.as_deref(), |v| check::short("phone", v))?;
        check::opt(self.company.as_deref(), |v| check::short("company", v))?;
        check::opt(self.job_title.as_deref(), |v| check::short("job_title", v))?;
        check::percent("score", i64::from(self.score))?;
        check::opt(self.estimated_value.as_ref(), |v| check::money("estimated_value", *v))?;
        check::opt(self.notes.as_deref(), |v| check::long("notes", v))?;
        check::tags("tags", &self.tags)?;
        check::custom_fields("custom_fields", &self.custom_fields)?;
        Ok(())
    }
}

/// A partial update of a lead. Each [`Change`] keeps, clears or sets its field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    /// New value: the contact's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New value: email.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub email: Change<String>,
    /// New value: phone.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub phone: Change<String>,
    /// New value: the lead's company.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub company: Change<String>,
    /// New value: job title.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub job_title: Change<String>,
    /// New value: where the lead came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<LeadSource>,
    /// New value: qualification status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualification_status: Option<QualificationStatus>,
    /// New value: score from 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// New value: estimated deal value.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub estimated_value: Change<Money>,
    /// New value: the responsible employee.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub assigned_to: Change<EmployeeId>,
    /// New value: the pipeline stage.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub stage_id: Change<StageId>,
    /// New value: notes.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub notes: Change<String>,
    /// New value: tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// New value: the host's own fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<CustomFields>,
}

impl LeadPatch {
    /// Checks the given fields as [`NewLead::validate`] does.
    pub fn validate(&self) -> Result<()> {
        check::opt(self.name.as_deref(), |v| check::required("name", v))?;
        check::opt(self.email.as_deref(), |v| check::email("email", v))?;
        check::opt(self.phone.as_deref(), |v| check::short("phone", v))?;
        check::opt(self.company.as_deref(), |v| check::short("company", v))?;
        check::opt(self.job_title.as_deref(), |v| check::short("job_title", v))?;
        check::opt(self.score.as_ref(), |v| check::percent("score", i64::from(*v)))?;
        check::opt(self.estimated_value.value(), |v| check::money("estimated_value", *v))?;
        check::opt(self.notes.as_deref(), |v| check::long("notes", v))?;
        check::opt(self.tags.as_deref(), |v| check::tags("tags", v))?;
        check::opt(self.custom_fields.as_ref(), |v| check::custom_fields("custom_fields", v))?;
        Ok(())
    }
}

/// Filters of `list_leads`; all given filters must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadFilter {
    /// Only this status.
    #[serde(default)]
    pub qualification_status: Option<QualificationStatus>,
    /// Only this source.
    #[serde(default)]
    pub source: Option<LeadSource>,
    /// Score at least this.
    #[serde(default)]
    pub min_score: Option<u8>,
    /// Score at most this.
    #[serde(default)]
    pub max_score: Option<u8>,
    /// Only leads assigned to this employee.
    #[serde(default)]
    pub assigned_to: Option<EmployeeId>,
    /// Only leads in this stage.
    #[serde(default)]
    pub stage_id: Option<StageId>,
    /// Only converted (or not converted) leads.
    #[serde(default)]
    pub converted: Option<bool>,
    /// Case-insensitive text over name, email and company.
    #[serde(default)]
    pub search: Option<String>,
    /// Equality on custom fields.
    #[serde(default)]
    pub custom_fields: CustomFields,
    /// Only leads created in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub created: TimeRange,
    /// Only leads last changed in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub updated: TimeRange,
    /// The order (default: newest first).
    #[serde(default, skip_serializing_if = "super::query::is_default_sort")]
    #[schemars(skip)]
    pub sort: Option<Sort<LeadSort>>,
}

fn default_source() -> LeadSource {
    LeadSource::Other
}

fn default_qualification() -> QualificationStatus {
    QualificationStatus::New
}

fn default_score() -> u8 {
    0
}

impl NewLead {
    /// A new lead with only a name.
    pub fn named(name: impl Into<String>) -> Self {
        NewLead {
            name: name.into(),
            email: None,
            phone: None,
            company: None,
            job_title: None,
            source: LeadSource::Other,
            qualification_status: QualificationStatus::New,
            score: 0,
            estimated_value: None,
            assigned_to: None,
            stage_id: None,
            notes: None,
            tags: Vec::new(),
            custom_fields: CustomFields::new(),
            created_at: None,
        }
    }
}

/// One entry of a lead's history: a stage change, a score change, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadHistory {
    /// Opaque id.
    pub id: String,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// The lead.
    pub lead_id: LeadId,
    /// Stage before the change.
    pub from_stage_id: Option<StageId>,
    /// Stage after the change.
    pub to_stage_id: Option<StageId>,
    /// Score before the change.
    pub from_score: Option<u8>,
    /// Score after the change.
    pub to_score: Option<u8>,
    /// The user who made the change.
    pub changed_by: String,
    /// Why.
    pub note: Option<String>,
    /// When.
    pub changed_at: Timestamp,
}

/// A history entry to append together with a lead update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLeadHistory {
    /// Stage before the change.
    pub from_stage_id: Option<StageId>,
    /// Stage after the change.
    pub to_stage_id: Option<StageId>,
    /// Score before the change.
    pub from_score: Option<u8>,
    /// Score after the change.
    pub to_score: Option<u8>,
    /// The user making the change.
    pub changed_by: String,
    /// Why.
    pub note: Option<String>,
}

impl NewLeadHistory {
    /// Checks the note and the author.
    pub fn validate(&self) -> Result<()> {
        check::required("changed_by", &self.changed_by)?;
        check::opt(self.note.as_deref(), |v| check::long("note", v))?;
        check::opt(self.to_score.as_ref(), |v| check::percent("to_score", i64::from(*v)))
    }
}

/// The result of converting a lead. `newly_converted` is false when the lead had already been
/// converted and its existing customer is returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadConversion {
    /// The lead, marked converted.
    pub lead: Lead,
    /// The customer it became.
    pub customer: Customer,
    /// Whether this call converted it.
    pub newly_converted: bool,
}
