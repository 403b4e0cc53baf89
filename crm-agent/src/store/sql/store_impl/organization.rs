//! Organizations, members, roles and employees of the SQL store.

use super::shared::*;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::store::sql::SqlStore;
use crate::store::sql::codec::{self, SqlValue};
use crate::store::sql::entities as e;
use crate::store::{Scope, Store};

pub(super) async fn create_organization(store: &SqlStore, new: NewOrganization) -> Result<Organization> {
    new.validate()?;
    let created_at = new.created_at.map(codec::truncate).unwrap_or_else(codec::now);
    let id = codec::new_id("org", created_at);
    let mut tx = store.begin().await?;
    tx.insert(
        "organizations",
        vec![
            ("id", id.as_str().into()),
            ("name", new.name.into()),
            ("slug", new.slug.into()),
            ("industry", new.industry.into()),
            ("website", new.website.into()),
            ("settings", codec::json(&new.settings)?),
            ("active", new.active.into()),
            ("created_at", codec::ts(created_at)),
            ("updated_at", codec::ts(created_at)),
        ],
    )
    .await?;
    let rows = tx
        .fetch(&format!("SELECT {} FROM organizations WHERE id = ?", e::ORGANIZATION_COLUMNS), vec![id.into()])
        .await?;
    tx.commit().await?;
    e::organization_from_row(rows.first().ok_or_else(|| Error::Internal("organization vanished".into()))?)
}

pub(super) async fn find_organization(store: &SqlStore, id_or_slug: &str) -> Result<Organization> {
    let rows = store
        .read(
            &format!("SELECT {} FROM organizations WHERE id = ? OR slug = ?", e::ORGANIZATION_COLUMNS),
            vec![id_or_slug.into(), id_or_slug.into()],
        )
        .await?;
    rows.first().map(e::organization_from_row).transpose()?.ok_or_else(|| Error::not_found("organization", id_or_slug))
}

pub(super) async fn get_organization(store: &SqlStore, scope: &Scope) -> Result<Organization> {
    let id = scope.organization_id().as_str();
    let rows = store
        .read(&format!("SELECT {} FROM organizations WHERE id = ?", e::ORGANIZATION_COLUMNS), vec![id.into()])
        .await?;
    rows.first().map(e::organization_from_row).transpose()?.ok_or_else(|| Error::not_found("organization", id))
}

pub(super) async fn update_organization(
    store: &SqlStore,
    scope: &Scope,
    patch: OrganizationPatch,
) -> Result<Organization> {
    require_organization_scope(scope, "change the organization")?;
    patch.validate()?;
    let mut values: Vec<(&'static str, SqlValue)> = Vec::new();
    if let Some(name) = patch.name {
        values.push(("name", name.into()));
    }
    if let Some(industry) = patch.industry.into_update() {
        values.push(("industry", industry.into()));
    }
    if let Some(website) = patch.website.into_update() {
        values.push(("website", website.into()));
    }
    if let Some(settings) = &patch.settings {
        values.push(("settings", codec::json(settings)?));
    }
    if let Some(active) = patch.active {
        values.push(("active", active.into()));
    }
    let mut tx = store.begin().await?;
    if !values.is_empty() {
        values.push(("updated_at", codec::ts(codec::now())));
        let assignments: Vec<String> = values.iter().map(|(c, _)| format!("{c} = ?")).collect();
        let mut args: Vec<SqlValue> = values.into_iter().map(|(_, v)| v).collect();
        args.push(scope.organization_id().as_str().into());
        if tx.execute(&format!("UPDATE organizations SET {} WHERE id = ?", assignments.join(", ")), args).await? == 0 {
            return Err(Error::not_found("organization", scope.organization_id().as_str()));
        }
    }
    tx.commit().await?;
    store.get_organization(scope).await
}

pub(super) async fn put_member(store: &SqlStore, scope: &Scope, member: NewMember) -> Result<Member> {
    require_organization_scope(scope, "manage members")?;
    member.validate()?;
    let mut tx = store.begin().await?;
    tx.ensure_all(
        scope,
        vec![
            e::table_ref(&e::EMPLOYEES, member.employee_id.as_ref().map(EmployeeId::as_str)),
            e::table_ref(&e::CUSTOMERS, member.customer_id.as_ref().map(CustomerId::as_str)),
        ],
    )
    .await?;
    tx.execute(
        "INSERT INTO members (organization_id, user_id, role, employee_id, customer_id, display_name, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role, \
         employee_id = excluded.employee_id, customer_id = excluded.customer_id, display_name = excluded.display_name",
        vec![
            scope.organization_id().as_str().into(),
            member.user_id.as_str().into(),
            member.role.as_str().into(),
            codec::opt_text(member.employee_id.as_ref()),
            codec::opt_text(member.customer_id.as_ref()),
            member.display_name.into(),
            codec::ts(codec::now()),
        ],
    )
    .await?;
    tx.commit().await?;
    store.get_member(scope, &member.user_id).await
}

pub(super) async fn get_member(store: &SqlStore, scope: &Scope, user_id: &str) -> Result<Member> {
    let rows = store
        .read(
            &format!("SELECT {} FROM members WHERE organization_id = ? AND user_id = ?", e::MEMBER_COLUMNS),
            vec![scope.organization_id().as_str().into(), user_id.into()],
        )
        .await?;
    rows.first().map(e::member_from_row).transpose()?.ok_or_else(|| Error::not_found("member", user_id))
}

pub(super) async fn list_memberships(store: &SqlStore, user_id: &str) -> Result<Vec<Member>> {
    let rows = store
        .read(
            &format!(
                "SELECT {} FROM members WHERE user_id = ? ORDER BY created_at, organization_id",
                e::MEMBER_COLUMNS
            ),
            vec![user_id.into()],
        )
        .await?;
    rows.iter().map(e::member_from_row).collect()
}

pub(super) async fn list_roles(store: &SqlStore, scope: &Scope) -> Result<Vec<RoleDefinition>> {
    let filter = store.filter(scope, &e::ROLES);
    let rows = store
        .read(&format!("SELECT {} FROM roles WHERE {} ORDER BY name", e::ROLES.columns, filter.sql()), filter.args)
        .await?;
    rows.iter().map(e::role_from_row).collect()
}

pub(super) async fn create_role(store: &SqlStore, scope: &Scope, new: NewRoleDefinition) -> Result<RoleDefinition> {
    require_organization_scope(scope, "create roles")?;
    new.validate()?;
    let mut tx = store.begin().await?;
    let values = vec![
        ("name", new.name.as_str().into()),
        ("description", new.description.clone().into()),
        ("grants", codec::json(&new.grants)?),
        ("is_system", new.is_system.into()),
    ];
    let id = match tx.insert_entity(&e::ROLES, scope, values, None, true).await {
        Err(err) if err.kind() == crate::ErrorKind::Conflict => {
            return Err(Error::conflict(format!("a role named `{}` already exists", new.name)));
        }
        other => other?,
    };
    let row = tx.read_entity(&e::ROLES, scope, &id).await?;
    tx.commit().await?;
    e::role_from_row(&row)
}

pub(super) async fn update_role(
    store: &SqlStore,
    scope: &Scope,
    id: &RoleId,
    patch: RoleDefinitionPatch,
) -> Result<RoleDefinition> {
    require_organization_scope(scope, "change roles")?;
    patch.validate()?;
    let mut values = Vec::new();
    if let Some(description) = patch.description.into_update() {
        values.push(("description", SqlValue::from(description)));
    }
    if let Some(grants) = &patch.grants {
        values.push(("grants", codec::json(grants)?));
    }
    let mut tx = store.begin().await?;
    let row = tx.update_entity(&e::ROLES, scope, id.as_str(), values).await?;
    tx.commit().await?;
    e::role_from_row(&row)
}

pub(super) async fn assign_role(
    store: &SqlStore,
    scope: &Scope,
    employee: &EmployeeId,
    role: &RoleId,
) -> Result<Employee> {
    require_organization_scope(scope, "assign roles")?;
    let mut tx = store.begin().await?;
    tx.ensure_all(
        scope,
        vec![e::table_ref(&e::EMPLOYEES, Some(employee.as_str())), e::table_ref(&e::ROLES, Some(role.as_str()))],
    )
    .await?;
    tx.execute(
        "INSERT INTO employee_roles (organization_id, employee_id, role_id) VALUES (?, ?, ?) ON CONFLICT (employee_id, role_id) DO NOTHING",
        vec![scope.organization_id().as_str().into(), employee.as_str().into(), role.as_str().into()],
    )
    .await?;
    let result = tx.employee_with_roles(scope, employee.as_str()).await?;
    tx.commit().await?;
    Ok(result)
}

pub(super) async fn list_employees(
    store: &SqlStore,
    scope: &Scope,
    filter: &EmployeeFilter,
    page: &PageRequest,
) -> Result<Page<Employee>> {
    let mut w = store.filter(scope, &e::EMPLOYEES);
    e::employee_filter(&mut w, filter);
    let mut result = store.list_of(&e::EMPLOYEES, w, page, e::employee_order(filter), e::employee_from_row).await?;
    store.fill_role_ids(scope, &mut result.items).await?;
    Ok(result)
}

pub(super) async fn get_employee(store: &SqlStore, scope: &Scope, id: &EmployeeId) -> Result<Employee> {
    let mut employee = store.get_of(&e::EMPLOYEES, scope, id.as_str(), e::employee_from_row).await?;
    store.fill_role_ids(scope, std::slice::from_mut(&mut employee)).await?;
    Ok(employee)
}

pub(super) async fn create_employee(store: &SqlStore, scope: &Scope, new: NewEmployee) -> Result<Employee> {
    require_organization_scope(scope, "create employees")?;
    new.validate()?;
    let mut tx = store.begin().await?;
    tx.ensure_all(scope, e::employee_refs(new.manager_id.as_ref())).await?;
    let id = tx.insert_entity(&e::EMPLOYEES, scope, e::employee_insert(&new)?, new.created_at, true).await?;
    let employee = tx.employee_with_roles(scope, &id).await?;
    tx.commit().await?;
    Ok(employee)
}

pub(super) async fn update_employee(
    store: &SqlStore,
    scope: &Scope,
    id: &EmployeeId,
    patch: EmployeePatch,
) -> Result<Employee> {
    require_organization_scope(scope, "change employees")?;
    patch.validate()?;
    if patch.manager_id.value() == Some(id) {
        return Err(Error::invalid("an employee cannot be their own manager"));
    }
    let mut tx = store.begin().await?;
    tx.ensure_all(scope, e::employee_refs(patch.manager_id.value())).await?;
    tx.update_entity(&e::EMPLOYEES, scope, id.as_str(), e::employee_patch(&patch)?).await?;
    let employee = tx.employee_with_roles(scope, id.as_str()).await?;
    tx.commit().await?;
    Ok(employee)
}
