//! Employees: their table, columns, insert and patch values, filter, sort order and references.

use super::{Table, Values, set, table_ref, try_set};
use crate::domain::*;
use crate::error::Result;
use crate::store::sql::codec::{self, Row, SqlValue};
use crate::store::sql::query::{Reference, SortKey, SortOrder, TextSearch, Visibility, Where};

pub(crate) const EMPLOYEES: Table = Table {
    name: "employees",
    entity: "employee",
    visibility: Visibility::Internal,
    columns: "id, organization_id, user_id, first_name, last_name, email, phone, job_title, department, employment_type, \
              status, manager_id, hire_date, salary, commission_rate, emergency_contact, created_at, updated_at",
    id_prefix: "emp",
};

/// Reads an employee; `role_ids` are filled in separately from `employee_roles`.
pub(crate) fn employee_from_row(r: &Row) -> Result<Employee> {
    Ok(Employee {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        user_id: r.opt_text("user_id")?,
        first_name: r.text("first_name")?,
        last_name: r.text("last_name")?,
        email: r.text("email")?,
        phone: r.opt_text("phone")?,
        job_title: r.opt_text("job_title")?,
        department: r.opt_text("department")?,
        employment_type: r.parse("employment_type")?,
        status: r.parse("status")?,
        manager_id: r.opt_id("manager_id")?,
        role_ids: Vec::new(),
        hire_date: r.opt_date("hire_date")?,
        salary: r.opt_money("salary")?,
        commission_rate: r.opt_money("commission_rate")?,
        emergency_contact: r.opt_text("emergency_contact")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn employee_insert(new: &NewEmployee) -> Result<Values> {
    Ok(vec![
        ("user_id", new.user_id.clone().into()),
        ("first_name", (&new.first_name).into()),
        ("last_name", (&new.last_name).into()),
        ("email", (&new.email).into()),
        ("phone", new.phone.clone().into()),
        ("job_title", new.job_title.clone().into()),
        ("department", new.department.clone().into()),
        ("employment_type", codec::text(new.employment_type)),
        ("status", codec::text(new.status)),
        ("manager_id", codec::opt_text(new.manager_id.as_ref())),
        ("hire_date", codec::opt_date(new.hire_date)),
        ("salary", codec::opt_money(new.salary)?),
        ("commission_rate", codec::opt_money(new.commission_rate)?),
        ("emergency_contact", new.emergency_contact.clone().into()),
    ])
}

pub(crate) fn employee_patch(p: &EmployeePatch) -> Result<Values> {
    let mut v = Values::new();
    set(&mut v, "user_id", p.user_id.clone(), SqlValue::from);
    set(&mut v, "first_name", p.first_name.clone(), SqlValue::from);
    set(&mut v, "last_name", p.last_name.clone(), SqlValue::from);
    set(&mut v, "email", p.email.clone(), SqlValue::from);
    set(&mut v, "phone", p.phone.clone(), SqlValue::from);
    set(&mut v, "job_title", p.job_title.clone(), SqlValue::from);
    set(&mut v, "department", p.department.clone(), SqlValue::from);
    set(&mut v, "employment_type", p.employment_type, codec::text);
    set(&mut v, "status", p.status, codec::text);
    set(&mut v, "manager_id", p.manager_id.clone(), codec::opt_text);
    set(&mut v, "hire_date", p.hire_date, codec::opt_date);
    try_set(&mut v, "salary", p.salary, codec::opt_money)?;
    try_set(&mut v, "commission_rate", p.commission_rate, codec::opt_money)?;
    set(&mut v, "emergency_contact", p.emergency_contact.clone(), SqlValue::from);
    Ok(v)
}

pub(crate) const EMPLOYEE_SEARCH: TextSearch =
    TextSearch { index: "employees_search", columns: &["first_name", "last_name", "email", "job_title"] };

pub(crate) fn employee_filter(w: &mut Where, f: &EmployeeFilter) {
    w.eq("status", f.status.map(codec::text));
    w.eq("department", f.department.as_deref());
    w.search(&EMPLOYEE_SEARCH, f.search.as_deref());
    w.created(EMPLOYEES.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
}

pub(crate) fn employee_order(f: &EmployeeFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        EmployeeSort::CreatedAt => None,
        EmployeeSort::LastName => Some(SortKey::text("last_name")),
        EmployeeSort::HireDate => Some(SortKey::text("hire_date").or_null()),
    })
}

pub(crate) fn employee_refs(manager: Option<&EmployeeId>) -> Vec<Reference<'_>> {
    vec![table_ref(&EMPLOYEES, manager.map(EmployeeId::as_str))]
}
