use serde::{Deserialize, Serialize};

use super::{
    Change, Date, EmployeeId, EmployeeSort, Money, OrganizationId, RoleId, Sort, TimeRange, Timestamp, check,
    string_enum,
};
use crate::error::{Error, Result};

string_enum! {
    /// How an employee is employed.
    EmploymentType { FullTime => "full_time", PartTime => "part_time", Contract => "contract", Intern => "intern" }
}

string_enum! {
    /// Employment status.
    EmployeeStatus { Active => "active", Inactive => "inactive", OnLeave => "on_leave", Terminated => "terminated" }
}

/// An employee of one organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Employee {
    /// Opaque id.
    pub id: EmployeeId,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// The host user id of this employee's login.
    pub user_id: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Work email.
    pub email: String,
    /// Phone.
    pub phone: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Employment type.
    pub employment_type: EmploymentType,
    /// Employment status.
    pub status: EmployeeStatus,
    /// Their manager.
    pub manager_id: Option<EmployeeId>,
    /// The organization roles granted to this employee.
    pub role_ids: Vec<RoleId>,
    /// Hire date.
    pub hire_date: Option<Date>,
    /// Salary (sensitive: shown only with `employee:update`).
    pub salary: Option<Money>,
    /// Commission rate in percent (sensitive).
    pub commission_rate: Option<Money>,
    /// Emergency contact (sensitive).
    pub emergency_contact: Option<String>,
    /// When the record was created.
    pub created_at: Timestamp,
    /// When the record was last changed.
    pub updated_at: Timestamp,
}

/// The fields of an employee to create. The store assigns the id and timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmployee {
    /// The host user id of this employee's login.
    #[serde(default)]
    pub user_id: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Work email.
    pub email: String,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// Employment type. (default `full_time`).
    #[serde(default = "default_employment_type")]
    pub employment_type: EmploymentType,
    /// Employment status. (default `active`).
    #[serde(default = "default_employee_status")]
    pub status: EmployeeStatus,
    /// Their manager.
    #[serde(default)]
    pub manager_id: Option<EmployeeId>,
    /// Hire date.
    #[serde(default)]
    pub hire_date: Option<Date>,
    /// Salary (sensitive: shown only with `employee:update`).
    #[serde(default)]
    pub salary: Option<Money>,
    /// Commission rate in percent (sensitive).
    #[serde(default)]
    pub commission_rate: Option<Money>,
    /// Emergency contact (sensitive).
    #[serde(default)]
    pub emergency_contact: Option<String>,
    /// Creation time; `None` means now. Importers through the `Store` API may backdate; no tool
    /// creates employees, and it is never in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub created_at: Option<Timestamp>,
}

impl NewEmployee {
    /// Checks lengths, formats, ranges and references' shapes.
    pub fn validate(&self) -> Result<()> {
        check::not_future("created_at", self.created_at)?;
        check::opt(self.user_id.as_deref(), |v| check::short("user_id", v))?;
        check::required("first_name", &self.first_name)?;
        check::required("last_name", &self.last_name)?;
        check::email("email", &self.email)?;
        check::opt(self.phone.as_deref(), |v| check::short("phone", v))?;
        check::opt(self.job_title.as_deref(), |v| check::short("job_title", v))?;
        check::opt(self.department.as_deref(), |v| check::short("department", v))?;
        check::opt(self.salary.as_ref(), |v| check::money("salary", *v))?;
        check::opt(self.commission_rate.as_ref(), |v| check::money("commission_rate", *v))?;
        check::opt(self.emergency_contact.as_deref(), |v| check::short("emergency_contact", v))?;
        check_commission(self.commission_rate)?;
        Ok(())
    }
}

/// A partial update of an employee. Each [`Change`] keeps, clears or sets its field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeePatch {
    /// New value: the host user id of this employee's login.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub user_id: Change<String>,
    /// New value: first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// New value: last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// New value: work email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// New value: phone.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub phone: Change<String>,
    /// New value: job title.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub job_title: Change<String>,
    /// New value: department.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub department: Change<String>,
    /// New value: employment type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employment_type: Option<EmploymentType>,
    /// New value: employment status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EmployeeStatus>,
    /// New value: their manager.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub manager_id: Change<EmployeeId>,
    /// New value: hire date.
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub hire_date: Change<Date>,
    /// New value: salary (sensitive: shown only with `employee:update`).
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub salary: Change<Money>,
    /// New value: commission rate in percent (sensitive).
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub commission_rate: Change<Money>,
    /// New value: emergency contact (sensitive).
    #[serde(default, skip_serializing_if = "Change::is_keep")]
    pub emergency_contact: Change<String>,
}

impl EmployeePatch {
    /// Checks the given fields as [`NewEmployee::validate`] does.
    pub fn validate(&self) -> Result<()> {
        check::opt(self.user_id.as_deref(), |v| check::short("user_id", v))?;
        check::opt(self.first_name.as_deref(), |v| check::required("first_name", v))?;
        check::opt(self.last_name.as_deref(), |v| check::required("last_name", v))?;
        check::opt(self.email.as_deref(), |v| check::email("email", v))?;
        check::opt(self.phone.as_deref(), |v| check::short("phone", v))?;
        check::opt(self.job_title.as_deref(), |v| check::short("job_title", v))?;
        check::opt(self.department.as_deref(), |v| check::short("department", v))?;
        check::opt(self.salary.value(), |v| check::money("salary", *v))?;
        check::opt(self.commission_rate.value(), |v| check::money("commission_rate", *v))?;
        check::opt(self.emergency_contact.as_deref(), |v| check::short("emergency_contact", v))?;
        check_commission(self.commission_rate.value().copied())?;
        Ok(())
    }
}

/// Filters of `list_employees`; all given filters must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EmployeeFilter {
    /// Only this status.
    #[serde(default)]
    pub status: Option<EmployeeStatus>,
    /// Only this department.
    #[serde(default)]
    pub department: Option<String>,
    /// Case-insensitive text over name, email and job title.
    #[serde(default)]
    pub search: Option<String>,
    /// Only employees created in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub created: TimeRange,
    /// Only employees last changed in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub updated: TimeRange,
    /// The order (default: newest first).
    #[serde(default, skip_serializing_if = "super::query::is_default_sort")]
    #[schemars(skip)]
    pub sort: Option<Sort<EmployeeSort>>,
}

fn default_employment_type() -> EmploymentType {
    EmploymentType::FullTime
}

fn default_employee_status() -> EmployeeStatus {
    EmployeeStatus::Active
}

fn check_commission(rate: Option<Money>) -> Result<()> {
    match rate {
        Some(rate) if rate > Money::from(100) => {
            Err(Error::invalid(format!("`commission_rate` is a percentage and cannot exceed 100 (got {rate})")))
        }
        _ => Ok(()),
    }
}

impl Employee {
    /// "First Last".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// Removes the sensitive fields (salary, commission rate, emergency contact), which are
    /// shown only to callers with `employee:update`.
    pub fn redact_sensitive(&mut self) {
        self.salary = None;
        self.commission_rate = None;
        self.emergency_contact = None;
    }
}

impl NewEmployee {
    /// A new active full-time employee with only a name and email.
    pub fn named(first_name: impl Into<String>, last_name: impl Into<String>, email: impl Into<String>) -> Self {
        NewEmployee {
            user_id: None,
            first_name: first_name.into(),
            last_name: last_name.into(),
            email: email.into(),
            phone: None,
            job_title: None,
            department: None,
            employment_type: EmploymentType::FullTime,
            status: EmployeeStatus::Active,
            manager_id: None,
            hire_date: None,
            salary: None,
            commission_rate: None,
            emergency_contact: None,
            created_at: None,
        }
    }
}
