use serde::{Deserialize, Serialize};

use super::{
    Change, CustomFields, CustomerId, CustomerSort, EmployeeId, LeadId, Money, OrganizationId, Sort, TimeRange,
    Timestamp, check, string_enum,
};
use crate::error::Result;

string_enum! {
    /// Whether a customer is a person or a company.
    CustomerType { Individual => "individual", Business => "business" }
}

string_enum! {
    /// Lifecycle status of a customer. Deactivating sets `inactive`; nothing is hard-deleted.
    CustomerStatus { Active => "active", Inactive => "inactive", Prospect => "prospect", Vip => "vip" }
}

/// A customer record of one organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Customer {
    /// Opaque id.
    pub id: CustomerId,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// Display name (person or company).
    pub name: String,
    /// Person or company.
    pub customer_type: CustomerType,
    /// Company name, for business customers or employed individuals.
    pub company_name: Option<String>,
    /// Contact email.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or region.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Lifecycle status.
    pub status: CustomerStatus,
    /// The employee responsible for this customer.
    pub assigned_to: Option<EmployeeId>,
    /// Credit limit.
    pub credit_limit: Option<Money>,
    /// Where the customer came from (free text).
    pub source: Option<String>,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// Notes.
    pub notes: Option<String>,
    /// The lead this customer was converted from.
    pub converted_from_lead: Option<LeadId>,
    /// The host user id of this customer's login, when they have one.
    pub user_id: Option<String>,
    /// The host's own fields.
    pub custom_fields: CustomFields,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record was last changed.
    pub updated_at: Timestamp,
}

/// The fields of a customer to create. The store assigns the id and timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// Display name.
    pub name: String,
    /// Person or company (default `individual`).
    #[serde(default = "default_customer_type")]
    pub customer_type: CustomerType,
    /// Company name.
    #[serde(default)]
    pub company_name: Option<String>,
    /// Contact email.
    #[serde(default)]
    pub email: Option<String>,
    /// Contact phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Street address.
    #[serde(default)]
    pub address: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State or region.
    #[serde(default)]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default)]
    pub country: Option<String>,
    /// Industry.
    #[serde(default)]
    pub industry: Option<String>,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// Lifecycle status (default `active`).
    #[serde(default = "default_customer_status")]
    pub status: CustomerStatus,
    /// The responsible employee.
    #[serde(default)]
    pub assigned_to: Option<EmployeeId>,
    /// Credit limit.
    #[serde(default)]
    pub credit_limit: Option<Money>,
    /// Source.
    #[serde(default)]
    pub source: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// The lead this customer comes from (set by lead conversion).
    #[serde(default)]
    pub converted_from_lead: Option<LeadId>,
    /// Linked login.
    #[serde(default)]
    pub user_id: Option<String>,
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

impl CustomerStatus {
    /// Whether a customer of this status counts as active: `active` or `vip` (a VIP is an
    /// active customer of a higher tier). Every figure of active customers uses this.
    pub fn is_active(self) -> bool {
        matches!(self, CustomerStatus::Active | CustomerStatus::Vip)
    }
}

fn default_customer_type() -> CustomerType {
    CustomerType::Individual
}

fn default_customer_status() -> CustomerStatus {
    CustomerStatus::Active
}

impl NewCustomer {
    /// A new active individual customer with only a name.
    pub fn named(name: impl Into<String>) -> Self {
        NewCustomer {
            name: name.into(),
            customer_type: CustomerType::Individual,
            company_name: None,
            email: None,
            phone: None,
            address: None,
            city: None,
            state: None,
            postal_code: None,
            country: None,
            industry: None,
            website: None,
            status: CustomerStatus::Active,
            assigned_to: None,
            credit_limit: None,
            source: None,
            tags: Vec::new(),
            notes: None,
            converted_from_lead: None,
            user_id: None,
            custom_fields: CustomFields::new(),
            created_at: None,
        }
    }

    /// Checks lengths, email, money, tags and custom fields.
    pub fn validate(&self) -> Result<()> {
        check::not_future("created_at", self.created_at)?;
        check::required("name", &self.name)?;
        for (field, value) in [
            ("company_name", &self.company_name),
            ("phone", &self.phone),
            ("address", &self.address),
            ("city", &self.city),
            ("state", &self.state),
            ("postal_code", &self.postal_code),
            ("country", &self.country),
            ("industry", &self.industry),
            ("website", &self.website),
            ("source", &self.source),
            ("user_id", &self.user_id),
        ] {
            check::opt(value.as_deref(), |v| check::short(field, v))?;
        }
        check::opt(self.email.as_deref(), |v| check::email("email", v))?;
        check::opt(self.credit_limit.as_ref(), |v| check::money("credit_limit", *v))?;
        check::opt(self.notes.as_deref(), |v| check::long("notes", v))?;
        check::tags("tags", &self.tags)?;
        check::custom_fields("custom_fields", &self.custom_fields)
    }
}

/// A partial update of a customer. Each [`Change`] keeps, clears or sets its field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_type: Option<CustomerType>,
    /// New company name.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub company_name: Change<String>,
    /// New email.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub email: Change<String>,
    /// New phone.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub phone: Change<String>,
    /// New street address.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub address: Change<String>,
    /// New city.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub city: Change<String>,
    /// New state.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub state: Change<String>,
    /// New postal code.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub postal_code: Change<String>,
    /// New country.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub country: Change<String>,
    /// New industry.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub industry: Change<String>,
    /// New website.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub website: Change<String>,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CustomerStatus>,
    /// New responsible employee, or `null` to unassign.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub assigned_to: Change<EmployeeId>,
    /// New credit limit.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub credit_limit: Change<Money>,
    /// New source.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub source: Change<String>,
    /// Replacement tag list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// New notes.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub notes: Change<String>,
    /// New linked login, or `null` to unlink.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub user_id: Change<String>,
    /// Replacement custom fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<CustomFields>,
}

impl CustomerPatch {
    /// Checks the given fields as [`NewCustomer::validate`] does.
    pub fn validate(&self) -> Result<()> {
        check::opt(self.name.as_deref(), |v| check::required("name", v))?;
        for (field, value) in [
            ("company_name", &self.company_name),
            ("phone", &self.phone),
            ("address", &self.address),
            ("city", &self.city),
            ("state", &self.state),
            ("postal_code", &self.postal_code),
            ("country", &self.country),
            ("industry", &self.industry),
            ("website", &self.website),
            ("source", &self.source),
            ("user_id", &self.user_id),
        ] {
            check::opt(value.as_deref(), |v| check::short(field, v))?;
        }
        check::opt(self.email.as_deref(), |v| check::email("email", v))?;
        check::opt(self.credit_limit.value(), |v| check::money("credit_limit", *v))?;
        check::opt(self.notes.as_deref(), |v| check::long("notes", v))?;
        check::opt(self.tags.as_deref(), |v| check::tags("tags", v))?;
        check::opt(self.custom_fields.as_ref(), |v| check::custom_fields("custom_fields", v))
    }
}

/// Filters of `list_customers`; all given filters must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomerFilter {
    /// Only this status.
    #[serde(default)]
    pub status: Option<CustomerStatus>,
    /// Only this type.
    #[serde(default)]
    pub customer_type: Option<CustomerType>,
    /// Only customers assigned to this employee.
    #[serde(default)]
    pub assigned_to: Option<EmployeeId>,
    /// Case-insensitive text over name, company, email and phone.
    #[serde(default)]
    pub search: Option<String>,
    /// Equality on custom fields.
    #[serde(default)]
    pub custom_fields: CustomFields,
    /// Only customers created in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub created: TimeRange,
    /// Only customers last changed in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub updated: TimeRange,
    /// The order (default: newest first).
    #[serde(default, skip_serializing_if = "super::query::is_default_sort")]
    #[schemars(skip)]
    pub sort: Option<Sort<CustomerSort>>,
}
