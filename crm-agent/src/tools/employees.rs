//! Employee tools. Salary, commission rate and emergency contact are returned only to callers
//! with `employee:update`; everyone else gets them redacted.

use schemars::JsonSchema;
use serde::Deserialize;

use super::args::{Paging, ToolPage};
use super::{Tool, ToolContext, Toolset};
use crate::domain::*;
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
    paging: Paging,
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
        Tool::builder("list_employees", "List employees of the organization. Filter by status, department, or search text in name, email and job title. Returns total and next_cursor.")
            .permission(employee(Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadEmployees])
            .handler(|cx: ToolContext, args: ListEmployees| async move {
                let mut page = ToolPage::from(cx.store.list_employees(&cx.scope, &args.filter, &args.paging.request()?).await?);
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
