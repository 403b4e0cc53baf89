//! Employee tools. Salary, commission rate and emergency contact are returned only to callers
//! with `employee:update`; everyone else gets them redacted.

use schemars::JsonSchema;
use serde::Deserialize;

use super::args::{Paging, ToolPage};
use super::dates::{Calendar, Changed, SortArg, sort_of};
use super::{Tool, ToolContext, Toolset};
use crate::domain::*;
use crate::error::Result;
use crate::policy::{Action, Permission, Resource};
use crate::store::StoreOp;

const fn employee(action: Action) -> Permission {
    Permission::new(Resource::Employee, action)
}

/// Arguments of `list_employees`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ListEmployees {
    #[serde(flatten)]
    filter: EmployeeFilter,
    #[serde(flatten)]
    changed: Changed,
    /// The order: a field, or `-` and a field for largest or latest first (default: newest first).
    #[serde(default)]
    sort: Option<SortArg<EmployeeSort>>,
    #[serde(flatten)]
    paging: Paging,
}

impl ListEmployees {
    /// The store's filter, with the date arguments turned into spans by the organization's
    /// calendar (read only when a date argument is given).
    async fn filter(self, cx: &ToolContext) -> Result<EmployeeFilter> {
        let calendar = Calendar::of(cx, self.changed.given()).await?;
        let mut filter = self.filter;
        (filter.created, filter.updated) = self.changed.spans(&calendar)?;
        filter.sort = sort_of(self.sort);
        Ok(filter)
    }
}

/// Arguments naming one employee.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EmployeeRef {
    /// The employee's id.
    employee_id: EmployeeId,
}

pub(super) fn tools() -> Vec<Tool> {
    let sets = &[Toolset::Admin];
    vec![
        Tool::builder("list_employees", "List employees of the organization, newest first unless `sort` names another order. Filter by creation or change date, status, department, or search text in name, email and job title. Dates are `YYYY-MM-DD` (a whole day in the organization's time zone) or RFC 3339. Returns total and next_cursor.")
            .permission(employee(Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadEmployees])
            .handler(|cx: ToolContext, args: ListEmployees| async move {
                let page = args.paging.request()?;
                let filter = args.filter(&cx).await?;
                let mut page = ToolPage::from(cx.store.list_employees(&cx.scope, &filter, &page).await?);
                page.items.iter_mut().for_each(|e| redact_for_caller(&cx, e));
                Ok(page)
            }),
        Tool::builder("get_employee", "Get one employee by id, with contact details, job title, department, status, manager and roles.")
            .permission(employee(Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadEmployees])
            .handler(|cx: ToolContext, args: EmployeeRef| async move {
                let mut found = cx.store.get_employee(&cx.scope, &args.employee_id).await?;
                redact_for_caller(&cx, &mut found);
                Ok(found)
            }),
    ]
}

/// Removes the sensitive fields unless the caller holds `employee:update`. Every tool that returns
/// an employee goes through here.
pub(super) fn redact_for_caller(cx: &ToolContext, record: &mut Employee) {
    if !cx.can(employee(Action::Update)) {
        record.redact_sensitive();
    }
}
