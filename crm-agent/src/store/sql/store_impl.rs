//! `impl Store for SqlStore`: each method is a short transaction script over the generic
//! query shapes of `query.rs` and the mappings of `entities.rs`.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::Datelike;

use super::codec::{self, Row, SqlValue};
use super::entities::{self as e, Table};
#[cfg(feature = "sqlite")]
use super::query::insert_statements;
use super::query::{Reference, SortOrder, Visibility, Where};
use super::{Pools, SqlStore, Tx};
use crate::domain::*;
use crate::error::{Error, Result};
use crate::store::{IdempotencyClaim, RateBudget, Scope, Store, StoreTransaction};

/// Column values of one row to write.
type Values = Vec<(&'static str, SqlValue)>;

/// Writes of organization-internal data are refused in a customer scope.
fn require_organization_scope(scope: &Scope, what: &str) -> Result<()> {
    if scope.is_customer() {
        return Err(Error::PermissionDenied(format!("a customer cannot {what}")));
    }
    Ok(())
}

/// In a customer scope a new customer-owned record must belong to that customer.
fn require_own_customer(scope: &Scope, customer: Option<&CustomerId>) -> Result<()> {
    match scope.customer_id() {
        Some(own) if customer != Some(own) => {
            Err(Error::not_found("customer", customer.map_or("(none)", |c| c.as_str())))
        }
        _ => Ok(()),
    }
}

/// The scope's clause plus `user_id = ?`: the assistant's records belong to one user, and any
/// other user's (or organization's) are "not found". A customer scope sees its own user's.
fn owned(dialect: super::Dialect, scope: &Scope, table: &Table, user_id: &str) -> Where {
    let mut filter = Where::scoped(dialect, scope, table.visibility);
    filter.push("user_id = ?", [SqlValue::from(user_id)]);
    filter
}

/// Why a pending action can no longer be decided (confirmed or rejected).
fn not_decidable(action: &PendingAction) -> Error {
    Error::conflict(match action.status {
        ActionStatus::Pending | ActionStatus::Expired => {
            format!("this action expired at {}", action.expires_at.format("%Y-%m-%d %H:%M:%S UTC"))
        }
        ActionStatus::Executing => "this action was already confirmed and is running".to_owned(),
        ActionStatus::Succeeded => "this action was already confirmed and has run".to_owned(),
        ActionStatus::Failed => "this action was already confirmed and failed".to_owned(),
        ActionStatus::Rejected => "this action was already rejected".to_owned(),
    })
}

/// Why a pending action's outcome cannot be recorded (it is not executing).
fn not_finishable(action: &PendingAction) -> Error {
    Error::conflict(match action.status {
        ActionStatus::Pending | ActionStatus::Expired => "this action has not been confirmed".to_owned(),
        ActionStatus::Rejected => "this action was rejected".to_owned(),
        status => format!("this action already finished ({status})"),
    })
}

impl Tx {
    /// When a record names both a customer and an order, the order must be that customer's:
    /// otherwise one customer's issue or payment could expose another customer's order.
    async fn order_belongs_to(
        &mut self,
        scope: &Scope,
        order: Option<&OrderId>,
        customer: Option<&CustomerId>,
    ) -> Result<()> {
        let (Some(order), Some(customer)) = (order, customer) else { return Ok(()) };
        let row = self
            .row_by_id(e::ORDERS.name, "customer_id", e::ORDERS.entity, scope, e::ORDERS.visibility, order.as_str())
            .await?;
        if row.text("customer_id")? != customer.as_str() {
            return Err(Error::invalid(format!("order {order} belongs to another customer")));
        }
        Ok(())
    }

    async fn ensure_all(&mut self, scope: &Scope, references: Vec<Reference<'_>>) -> Result<()> {
        for reference in &references {
            self.ensure_visible(scope, reference).await?;
        }
        Ok(())
    }

    /// Inserts a new entity row with a fresh id and the bookkeeping columns; returns the id.
    async fn insert_entity(
        &mut self,
        table: &Table,
        scope: &Scope,
        mut values: Values,
        created_at: Option<Timestamp>,
        has_updated_at: bool,
    ) -> Result<String> {
        let created_at = created_at.map(codec::truncate).unwrap_or_else(codec::now);
        let id = codec::new_id(table.id_prefix, created_at);
        values.push(("id", id.as_str().into()));
        values.push(("organization_id", scope.organization_id().as_str().into()));
        values.push(("created_at", codec::ts(created_at)));
        if has_updated_at {
            values.push(("updated_at", codec::ts(created_at)));
        }
        self.insert(table.name, values).await?;
        Ok(id)
    }

    async fn update_entity(&mut self, table: &Table, scope: &Scope, id: &str, mut values: Values) -> Result<Row> {
        if !values.is_empty() {
            values.push(("updated_at", codec::ts(codec::now())));
        }
        self.update(table.name, table.entity, scope, table.visibility, id, values).await?;
        self.row_by_id(table.name, table.columns, table.entity, scope, table.visibility, id).await
    }

    async fn read_entity(&mut self, table: &Table, scope: &Scope, id: &str) -> Result<Row> {
        self.row_by_id(table.name, table.columns, table.entity, scope, table.visibility, id).await
    }

    /// Reads a row and, on PostgreSQL, locks it until the transaction ends (SQLite's single
    /// `BEGIN IMMEDIATE` writer already excludes concurrent writers).
    async fn lock_entity(&mut self, table: &Table, scope: &Scope, id: &str) -> Result<Row> {
        let mut filter = Where::scoped(self.dialect(), scope, table.visibility);
        filter.push("id = ?", [SqlValue::from(id)]);
        let lock = if self.dialect() == super::Dialect::Postgres { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {} FROM {} WHERE {}{lock}", table.columns, table.name, filter.sql());
        self.fetch(&sql, filter.args).await?.into_iter().next().ok_or_else(|| Error::not_found(table.entity, id))
    }

    /// Every id in `ids` must be a row of `table` visible in `scope` (batched, for imports).
    async fn ensure_all_exist(&mut self, scope: &Scope, table: &Table, ids: BTreeSet<&str>) -> Result<()> {
        let ids: Vec<&str> = ids.into_iter().collect();
        for chunk in ids.chunks(500) {
            let mut filter = Where::scoped(self.dialect(), scope, table.visibility);
            filter.push(
                &format!("id IN ({})", vec!["?"; chunk.len()].join(", ")),
                chunk.iter().map(|id| SqlValue::from(*id)),
            );
            let sql = format!("SELECT id FROM {} WHERE {}", table.name, filter.sql());
            let found: BTreeSet<String> =
                self.fetch(&sql, filter.args).await?.iter().map(|r| r.text("id")).collect::<Result<_>>()?;
            if let Some(missing) = chunk.iter().find(|id| !found.contains(**id)) {
                return Err(Error::not_found(table.entity, *missing));
            }
        }
        Ok(())
    }

    /// Inserts many entity rows; returns their ids in order.
    async fn import_entities(
        &mut self,
        table: &Table,
        scope: &Scope,
        rows: Vec<(Values, Option<Timestamp>)>,
    ) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(rows.len());
        let rows = rows
            .into_iter()
            .map(|(mut values, created_at)| {
                let created_at = created_at.map(codec::truncate).unwrap_or_else(codec::now);
                let id = codec::new_id(table.id_prefix, created_at);
                values.push(("id", id.as_str().into()));
                values.push(("organization_id", scope.organization_id().as_str().into()));
                values.push(("created_at", codec::ts(created_at)));
                values.push(("updated_at", codec::ts(created_at)));
                ids.push(id);
                values
            })
            .collect();
        self.insert_many(table.name, rows).await?;
        Ok(ids)
    }

    async fn stage_in_pipeline(&mut self, scope: &Scope, pipeline: &PipelineId, stage: &StageId) -> Result<()> {
        self.ensure_visible(
            scope,
            &Reference {
                table: "pipelines",
                entity: "pipeline",
                visibility: Visibility::Shared,
                id: Some(pipeline.as_str()),
            },
        )
        .await?;
        let rows = self
            .fetch(
                "SELECT id FROM pipeline_stages WHERE organization_id = ? AND id = ? AND pipeline_id = ?",
                vec![scope.organization_id().as_str().into(), stage.as_str().into(), pipeline.as_str().into()],
            )
            .await?;
        if rows.is_empty() {
            return Err(Error::not_found("pipeline stage", format!("{stage} in pipeline {pipeline}")));
        }
        Ok(())
    }

    /// The row `id` of one of `user_id`'s assistant records (`table` has a `user_id` column).
    async fn owned_row(&mut self, table: &Table, columns: &str, scope: &Scope, user_id: &str, id: &str) -> Result<Row> {
        let mut filter = owned(self.dialect(), scope, table, user_id);
        filter.push("id = ?", [SqlValue::from(id)]);
        let sql = format!("SELECT {columns} FROM {} WHERE {}", table.name, filter.sql());
        self.fetch(&sql, filter.args).await?.into_iter().next().ok_or_else(|| Error::not_found(table.entity, id))
    }

    async fn employee_with_roles(&mut self, scope: &Scope, id: &str) -> Result<Employee> {
        let mut employee = e::employee_from_row(&self.read_entity(&e::EMPLOYEES, scope, id).await?)?;
        let rows = self
            .fetch(
                "SELECT role_id FROM employee_roles WHERE organization_id = ? AND employee_id = ? ORDER BY role_id",
                vec![scope.organization_id().as_str().into(), id.into()],
            )
            .await?;
        employee.role_ids = rows.iter().map(|r| r.id("role_id")).collect::<Result<_>>()?;
        Ok(employee)
    }
}

impl SqlStore {
    async fn list_of<T>(
        &self,
        table: &Table,
        filter: Where,
        page: &PageRequest,
        order: SortOrder,
        map: impl Fn(&Row) -> Result<T>,
    ) -> Result<Page<T>> {
        let rows = self.page_of(table.name, table.columns, filter, page, order).await?;
        let items = rows.items.iter().map(map).collect::<Result<Vec<T>>>()?;
        Ok(Page { items, total: rows.total, next_cursor: rows.next_cursor })
    }

    async fn get_of<T>(&self, table: &Table, scope: &Scope, id: &str, map: impl Fn(&Row) -> Result<T>) -> Result<T> {
        map(&self.row_by_id(table.name, table.columns, table.entity, scope, table.visibility, id).await?)
    }

    fn filter(&self, scope: &Scope, table: &Table) -> Where {
        Where::scoped(self.dialect, scope, table.visibility)
    }

    /// Like [`Tx::owned_row`], on a reader.
    async fn owned_row(&self, table: &Table, columns: &str, scope: &Scope, user_id: &str, id: &str) -> Result<Row> {
        let mut filter = owned(self.dialect, scope, table, user_id);
        filter.push("id = ?", [SqlValue::from(id)]);
        let sql = format!("SELECT {columns} FROM {} WHERE {}", table.name, filter.sql());
        self.read(&sql, filter.args).await?.into_iter().next().ok_or_else(|| Error::not_found(table.entity, id))
    }

    async fn fill_role_ids(&self, scope: &Scope, employees: &mut [Employee]) -> Result<()> {
        if employees.is_empty() {
            return Ok(());
        }
        let mut args: Vec<SqlValue> = vec![scope.organization_id().as_str().into()];
        args.extend(employees.iter().map(|e| SqlValue::from(e.id.as_str())));
        let sql = format!(
            "SELECT employee_id, role_id FROM employee_roles WHERE organization_id = ? AND employee_id IN ({}) ORDER BY role_id",
            vec!["?"; employees.len()].join(", ")
        );
        let mut by_employee: BTreeMap<String, Vec<RoleId>> = BTreeMap::new();
        for row in self.read(&sql, args).await? {
            by_employee.entry(row.text("employee_id")?).or_default().push(row.id("role_id")?);
        }
        for employee in employees {
            employee.role_ids = by_employee.remove(employee.id.as_str()).unwrap_or_default();
        }
        Ok(())
    }

    async fn order_items(&self, scope: &Scope, order: &mut Order) -> Result<()> {
        let rows = self
            .read(
                &format!(
                    "SELECT {} FROM order_items WHERE organization_id = ? AND order_id = ? ORDER BY position",
                    e::ORDER_ITEM_COLUMNS
                ),
                vec![scope.organization_id().as_str().into(), order.id.as_str().into()],
            )
            .await?;
        order.items = rows.iter().map(e::order_item_from_row).collect::<Result<_>>()?;
        Ok(())
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn transaction(&self) -> Result<Option<Box<dyn StoreTransaction>>> {
        if let Pools::Bound(_) = self.pools {
            // Already inside one: its calls commit together with it.
            return Ok(None);
        }
        Ok(Some(Box::new(super::unit::SqlUnit::new(self.begin().await?))))
    }

    // --- organizations and members -----------------------------------------------------------

    async fn create_organization(&self, new: NewOrganization) -> Result<Organization> {
        new.validate()?;
        let created_at = new.created_at.map(codec::truncate).unwrap_or_else(codec::now);
        let id = codec::new_id("org", created_at);
        let mut tx = self.begin().await?;
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

    async fn find_organization(&self, id_or_slug: &str) -> Result<Organization> {
        let rows = self
            .read(
                &format!("SELECT {} FROM organizations WHERE id = ? OR slug = ?", e::ORGANIZATION_COLUMNS),
                vec![id_or_slug.into(), id_or_slug.into()],
            )
            .await?;
        rows.first()
            .map(e::organization_from_row)
            .transpose()?
            .ok_or_else(|| Error::not_found("organization", id_or_slug))
    }

    async fn get_organization(&self, scope: &Scope) -> Result<Organization> {
        let id = scope.organization_id().as_str();
        let rows = self
            .read(&format!("SELECT {} FROM organizations WHERE id = ?", e::ORGANIZATION_COLUMNS), vec![id.into()])
            .await?;
        rows.first().map(e::organization_from_row).transpose()?.ok_or_else(|| Error::not_found("organization", id))
    }

    async fn update_organization(&self, scope: &Scope, patch: OrganizationPatch) -> Result<Organization> {
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
        let mut tx = self.begin().await?;
        if !values.is_empty() {
            values.push(("updated_at", codec::ts(codec::now())));
            let assignments: Vec<String> = values.iter().map(|(c, _)| format!("{c} = ?")).collect();
            let mut args: Vec<SqlValue> = values.into_iter().map(|(_, v)| v).collect();
            args.push(scope.organization_id().as_str().into());
            if tx.execute(&format!("UPDATE organizations SET {} WHERE id = ?", assignments.join(", ")), args).await?
                == 0
            {
                return Err(Error::not_found("organization", scope.organization_id().as_str()));
            }
        }
        tx.commit().await?;
        self.get_organization(scope).await
    }

    async fn put_member(&self, scope: &Scope, member: NewMember) -> Result<Member> {
        require_organization_scope(scope, "manage members")?;
        member.validate()?;
        let mut tx = self.begin().await?;
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
        self.get_member(scope, &member.user_id).await
    }

    async fn get_member(&self, scope: &Scope, user_id: &str) -> Result<Member> {
        let rows = self
            .read(
                &format!("SELECT {} FROM members WHERE organization_id = ? AND user_id = ?", e::MEMBER_COLUMNS),
                vec![scope.organization_id().as_str().into(), user_id.into()],
            )
            .await?;
        rows.first().map(e::member_from_row).transpose()?.ok_or_else(|| Error::not_found("member", user_id))
    }

    async fn list_memberships(&self, user_id: &str) -> Result<Vec<Member>> {
        let rows = self
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

    // --- roles ---------------------------------------------------------------------------------

    async fn list_roles(&self, scope: &Scope) -> Result<Vec<RoleDefinition>> {
        let filter = self.filter(scope, &e::ROLES);
        let rows = self
            .read(&format!("SELECT {} FROM roles WHERE {} ORDER BY name", e::ROLES.columns, filter.sql()), filter.args)
            .await?;
        rows.iter().map(e::role_from_row).collect()
    }

    async fn create_role(&self, scope: &Scope, new: NewRoleDefinition) -> Result<RoleDefinition> {
        require_organization_scope(scope, "create roles")?;
        new.validate()?;
        let mut tx = self.begin().await?;
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

    async fn update_role(&self, scope: &Scope, id: &RoleId, patch: RoleDefinitionPatch) -> Result<RoleDefinition> {
        require_organization_scope(scope, "change roles")?;
        patch.validate()?;
        let mut values = Vec::new();
        if let Some(description) = patch.description.into_update() {
            values.push(("description", SqlValue::from(description)));
        }
        if let Some(grants) = &patch.grants {
            values.push(("grants", codec::json(grants)?));
        }
        let mut tx = self.begin().await?;
        let row = tx.update_entity(&e::ROLES, scope, id.as_str(), values).await?;
        tx.commit().await?;
        e::role_from_row(&row)
    }

    async fn assign_role(&self, scope: &Scope, employee: &EmployeeId, role: &RoleId) -> Result<Employee> {
        require_organization_scope(scope, "assign roles")?;
        let mut tx = self.begin().await?;
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

    // --- employees -------------------------------------------------------------------------------

    async fn list_employees(
        &self,
        scope: &Scope,
        filter: &EmployeeFilter,
        page: &PageRequest,
    ) -> Result<Page<Employee>> {
        let mut w = self.filter(scope, &e::EMPLOYEES);
        e::employee_filter(&mut w, filter);
        let mut result = self.list_of(&e::EMPLOYEES, w, page, e::employee_order(filter), e::employee_from_row).await?;
        self.fill_role_ids(scope, &mut result.items).await?;
        Ok(result)
    }

    async fn get_employee(&self, scope: &Scope, id: &EmployeeId) -> Result<Employee> {
        let mut employee = self.get_of(&e::EMPLOYEES, scope, id.as_str(), e::employee_from_row).await?;
        self.fill_role_ids(scope, std::slice::from_mut(&mut employee)).await?;
        Ok(employee)
    }

    async fn create_employee(&self, scope: &Scope, new: NewEmployee) -> Result<Employee> {
        require_organization_scope(scope, "create employees")?;
        new.validate()?;
        let mut tx = self.begin().await?;
        tx.ensure_all(scope, e::employee_refs(new.manager_id.as_ref())).await?;
        let id = tx.insert_entity(&e::EMPLOYEES, scope, e::employee_insert(&new)?, new.created_at, true).await?;
        let employee = tx.employee_with_roles(scope, &id).await?;
        tx.commit().await?;
        Ok(employee)
    }

    async fn update_employee(&self, scope: &Scope, id: &EmployeeId, patch: EmployeePatch) -> Result<Employee> {
        require_organization_scope(scope, "change employees")?;
        patch.validate()?;
        if patch.manager_id.value() == Some(id) {
            return Err(Error::invalid("an employee cannot be their own manager"));
        }
        let mut tx = self.begin().await?;
        tx.ensure_all(scope, e::employee_refs(patch.manager_id.value())).await?;
        tx.update_entity(&e::EMPLOYEES, scope, id.as_str(), e::employee_patch(&patch)?).await?;
        let employee = tx.employee_with_roles(scope, id.as_str()).await?;
        tx.commit().await?;
        Ok(employee)
    }

    // --- customers -------------------------------------------------------------------------------

    async fn list_customers(
        &self,
        scope: &Scope,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<Customer>> {
        let mut w = self.filter(scope, &e::CUSTOMERS);
        e::customer_filter(&mut w, filter)?;
        e::customer_totals(&mut w, scope, filter);
        self.list_of(&e::CUSTOMERS, w, page, e::customer_order(filter), e::customer_from_row).await
    }

    async fn get_customer(&self, scope: &Scope, id: &CustomerId) -> Result<Customer> {
        self.get_of(&e::CUSTOMERS, scope, id.as_str(), e::customer_from_row).await
    }

    async fn create_customer(&self, scope: &Scope, new: NewCustomer) -> Result<Customer> {
        require_organization_scope(scope, "create customers")?;
        new.validate()?;
        let mut tx = self.begin().await?;
        tx.ensure_all(scope, e::customer_refs(new.assigned_to.as_ref(), new.converted_from_lead.as_ref())).await?;
        let id = tx.insert_entity(&e::CUSTOMERS, scope, e::customer_insert(&new)?, new.created_at, true).await?;
        let row = tx.read_entity(&e::CUSTOMERS, scope, &id).await?;
        tx.commit().await?;
        e::customer_from_row(&row)
    }

    async fn update_customer(&self, scope: &Scope, id: &CustomerId, patch: CustomerPatch) -> Result<Customer> {
        require_organization_scope(scope, "change customer records")?;
        patch.validate()?;
        let mut tx = self.begin().await?;
        tx.ensure_all(scope, e::customer_refs(patch.assigned_to.value(), None)).await?;
        let row = tx.update_entity(&e::CUSTOMERS, scope, id.as_str(), e::customer_patch(&patch)?).await?;
        tx.commit().await?;
        e::customer_from_row(&row)
    }

    async fn import_customers(&self, scope: &Scope, batch: Vec<NewCustomer>) -> Result<Vec<CustomerId>> {
        require_organization_scope(scope, "import customers")?;
        let mut rows = Vec::with_capacity(batch.len());
        let mut employees = BTreeSet::new();
        let mut leads = BTreeSet::new();
        for new in &batch {
            new.validate()?;
            employees.extend(new.assigned_to.as_ref().map(EmployeeId::as_str));
            leads.extend(new.converted_from_lead.as_ref().map(LeadId::as_str));
            rows.push((e::customer_insert(new)?, new.created_at));
        }
        let mut tx = self.begin().await?;
        tx.ensure_all_exist(scope, &e::EMPLOYEES, employees).await?;
        tx.ensure_all_exist(scope, &e::LEADS, leads).await?;
        let ids = tx.import_entities(&e::CUSTOMERS, scope, rows).await?;
        tx.commit().await?;
        Ok(ids.into_iter().map(CustomerId).collect())
    }

    async fn customer_stats(&self, scope: &Scope) -> Result<CustomerStats> {
        self.sql_customer_stats(scope).await
    }

    // --- pipelines -------------------------------------------------------------------------------

    async fn list_pipelines(&self, scope: &Scope) -> Result<Vec<Pipeline>> {
        let org = scope.organization_id().as_str();
        let pipelines = self
            .read("SELECT id, organization_id, name, is_default, created_at FROM pipelines WHERE organization_id = ? ORDER BY is_default DESC, id", vec![org.into()])
            .await?;
        let stages = self
            .read(
                &format!(
                    "SELECT {} FROM pipeline_stages WHERE organization_id = ? ORDER BY pipeline_id, position, id",
                    e::STAGE_COLUMNS
                ),
                vec![org.into()],
            )
            .await?;
        let mut by_pipeline: BTreeMap<String, Vec<PipelineStage>> = BTreeMap::new();
        for row in &stages {
            let stage = e::stage_from_row(row)?;
            by_pipeline.entry(stage.pipeline_id.0.clone()).or_default().push(stage);
        }
        pipelines
            .iter()
            .map(|r| {
                let id: String = r.text("id")?;
                Ok(Pipeline {
                    stages: by_pipeline.remove(&id).unwrap_or_default(),
                    id: PipelineId(id),
                    organization_id: r.id("organization_id")?,
                    name: r.text("name")?,
                    is_default: r.boolean("is_default")?,
                    created_at: r.ts("created_at")?,
                })
            })
            .collect()
    }

    async fn create_pipeline(&self, scope: &Scope, new: NewPipeline) -> Result<Pipeline> {
        require_organization_scope(scope, "create pipelines")?;
        new.validate()?;
        let created_at = codec::now();
        let id = codec::new_id("pip", created_at);
        let org = scope.organization_id().as_str();
        let mut tx = self.begin().await?;
        if new.is_default {
            tx.execute("UPDATE pipelines SET is_default = ? WHERE organization_id = ?", vec![false.into(), org.into()])
                .await?;
        }
        tx.insert(
            "pipelines",
            vec![
                ("id", id.as_str().into()),
                ("organization_id", org.into()),
                ("name", new.name.as_str().into()),
                ("is_default", new.is_default.into()),
                ("created_at", codec::ts(created_at)),
            ],
        )
        .await?;
        let stages = new
            .stages
            .iter()
            .map(|s| {
                vec![
                    ("id", SqlValue::from(codec::new_id("stg", created_at))),
                    ("organization_id", org.into()),
                    ("pipeline_id", id.as_str().into()),
                    ("name", s.name.as_str().into()),
                    ("position", i64::from(s.position).into()),
                    ("probability", i64::from(s.probability).into()),
                    ("is_closed_won", s.is_closed_won.into()),
                    ("is_closed_lost", s.is_closed_lost.into()),
                ]
            })
            .collect();
        tx.insert_many("pipeline_stages", stages).await?;
        tx.commit().await?;
        self.list_pipelines(scope)
            .await?
            .into_iter()
            .find(|p| p.id.as_str() == id)
            .ok_or_else(|| Error::Internal("pipeline vanished".into()))
    }

    // --- leads -------------------------------------------------------------------------------------

    async fn list_leads(&self, scope: &Scope, filter: &LeadFilter, page: &PageRequest) -> Result<Page<Lead>> {
        let mut w = self.filter(scope, &e::LEADS);
        e::lead_filter(&mut w, filter)?;
        e::lead_totals(&mut w, scope, filter);
        self.list_of(&e::LEADS, w, page, e::lead_order(filter), e::lead_from_row).await
    }

    async fn get_lead(&self, scope: &Scope, id: &LeadId) -> Result<Lead> {
        self.get_of(&e::LEADS, scope, id.as_str(), e::lead_from_row).await
    }

    async fn create_lead(&self, scope: &Scope, new: NewLead) -> Result<Lead> {
        require_organization_scope(scope, "create leads")?;
        new.validate()?;
        let mut tx = self.begin().await?;
        tx.ensure_all(scope, e::lead_refs(new.assigned_to.as_ref(), new.stage_id.as_ref())).await?;
        let id = tx.insert_entity(&e::LEADS, scope, e::lead_insert(&new)?, new.created_at, true).await?;
        let row = tx.read_entity(&e::LEADS, scope, &id).await?;
        tx.commit().await?;
        e::lead_from_row(&row)
    }

    async fn update_lead(
        &self,
        scope: &Scope,
        id: &LeadId,
        patch: LeadPatch,
        history: Option<NewLeadHistory>,
    ) -> Result<Lead> {
        require_organization_scope(scope, "change leads")?;
        patch.validate()?;
        if let Some(h) = &history {
            h.validate()?;
        }
        let mut tx = self.begin().await?;
        tx.ensure_all(scope, e::lead_refs(patch.assigned_to.value(), patch.stage_id.value())).await?;
        // Read (and on PostgreSQL lock) the lead inside the transaction: the history's "from"
        // values and the converted check must see the row this update replaces.
        let current = e::lead_from_row(&tx.lock_entity(&e::LEADS, scope, id.as_str()).await?)?;
        if current.converted && patch.qualification_status.is_some_and(|s| s != current.qualification_status) {
            return Err(Error::conflict("the lead has been converted; its qualification status cannot change"));
        }
        let history = history.map(|h| NewLeadHistory {
            from_stage_id: if h.to_stage_id.is_some() { current.stage_id.clone() } else { h.from_stage_id },
            from_score: if h.to_score.is_some() { Some(current.score) } else { h.from_score },
            ..h
        });
        let row = tx.update_entity(&e::LEADS, scope, id.as_str(), e::lead_patch(&patch)?).await?;
        if let Some(h) = history {
            tx.ensure_all(
                scope,
                vec![
                    e::stage_ref(h.from_stage_id.as_ref().map(StageId::as_str)),
                    e::stage_ref(h.to_stage_id.as_ref().map(StageId::as_str)),
                ],
            )
            .await?;
            let changed_at = codec::now();
            tx.insert(
                "lead_history",
                vec![
                    ("id", codec::new_id("lhi", changed_at).into()),
                    ("organization_id", scope.organization_id().as_str().into()),
                    ("lead_id", id.as_str().into()),
                    ("from_stage_id", codec::opt_text(h.from_stage_id.as_ref())),
                    ("to_stage_id", codec::opt_text(h.to_stage_id.as_ref())),
                    ("from_score", SqlValue::Int(h.from_score.map(i64::from))),
                    ("to_score", SqlValue::Int(h.to_score.map(i64::from))),
                    ("changed_by", h.changed_by.into()),
                    ("note", h.note.into()),
                    ("changed_at", codec::ts(changed_at)),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        e::lead_from_row(&row)
    }

    async fn lead_history(&self, scope: &Scope, id: &LeadId) -> Result<Vec<LeadHistory>> {
        // Checks the lead is visible first, so a foreign id is "not found" rather than empty.
        self.row_by_id(e::LEADS.name, "id", e::LEADS.entity, scope, e::LEADS.visibility, id.as_str()).await?;
        let rows = self
            .read(
                &format!(
                    "SELECT {} FROM lead_history WHERE organization_id = ? AND lead_id = ? ORDER BY changed_at, id",
                    e::LEAD_HISTORY_COLUMNS
                ),
                vec![scope.organization_id().as_str().into(), id.as_str().into()],
            )
            .await?;
        rows.iter().map(e::lead_history_from_row).collect()
    }

    async fn convert_lead(&self, scope: &Scope, id: &LeadId, customer: NewCustomer) -> Result<LeadConversion> {
        require_organization_scope(scope, "convert leads")?;
        customer.validate()?;
        let now = codec::now();
        let customer_id = codec::new_id(e::CUSTOMERS.id_prefix, now);
        let mut tx = self.begin().await?;
        // Claim the lead with a conditional update: of two concurrent conversions exactly one
        // changes the row (PostgreSQL re-checks `converted = false` after the first commits).
        let mut filter = Where::scoped(tx.dialect(), scope, e::LEADS.visibility);
        filter.push("id = ? AND converted = ?", [SqlValue::from(id.as_str()), SqlValue::from(false)]);
        let sql = format!(
            "UPDATE leads SET converted = ?, converted_at = ?, converted_customer_id = ?, qualification_status = ?, updated_at = ? WHERE {}",
            filter.sql()
        );
        let mut args: Vec<SqlValue> = vec![
            true.into(),
            codec::ts(now),
            customer_id.as_str().into(),
            QualificationStatus::Converted.as_str().into(),
            codec::ts(now),
        ];
        args.extend(filter.args);
        let claimed = tx.execute(&sql, args).await?;
        if claimed == 0 {
            drop(tx);
            let lead = self.get_lead(scope, id).await?;
            let existing = lead
                .converted_customer_id
                .clone()
                .ok_or_else(|| Error::conflict("the lead is marked converted but has no customer"))?;
            let customer = self.get_customer(scope, &existing).await?;
            return Ok(LeadConversion { lead, customer, newly_converted: false });
        }
        let mut new = customer;
        new.converted_from_lead = Some(id.clone());
        tx.ensure_all(scope, e::customer_refs(new.assigned_to.as_ref(), None)).await?;
        let mut values = e::customer_insert(&new)?;
        values.push(("id", customer_id.as_str().into()));
        values.push(("organization_id", scope.organization_id().as_str().into()));
        let created_at = new.created_at.map(codec::truncate).unwrap_or(now);
        values.push(("created_at", codec::ts(created_at)));
        values.push(("updated_at", codec::ts(created_at)));
        tx.insert(e::CUSTOMERS.name, values).await?;
        let customer = e::customer_from_row(&tx.read_entity(&e::CUSTOMERS, scope, &customer_id).await?)?;
        let lead = e::lead_from_row(&tx.read_entity(&e::LEADS, scope, id.as_str()).await?)?;
        tx.commit().await?;
        Ok(LeadConversion { lead, customer, newly_converted: true })
    }

    async fn import_leads(&self, scope: &Scope, batch: Vec<NewLead>) -> Result<Vec<LeadId>> {
        require_organization_scope(scope, "import leads")?;
        let mut rows = Vec::with_capacity(batch.len());
        let mut employees = BTreeSet::new();
        let mut stages = BTreeSet::new();
        for new in &batch {
            new.validate()?;
            employees.extend(new.assigned_to.as_ref().map(EmployeeId::as_str));
            stages.extend(new.stage_id.as_ref().map(StageId::as_str));
            rows.push((e::lead_insert(new)?, new.created_at));
        }
        let mut tx = self.begin().await?;
        tx.ensure_all_exist(scope, &e::EMPLOYEES, employees).await?;
        for stage in stages {
            tx.ensure_visible(scope, &e::stage_ref(Some(stage))).await?;
        }
        let ids = tx.import_entities(&e::LEADS, scope, rows).await?;
        tx.commit().await?;
        Ok(ids.into_iter().map(LeadId).collect())
    }

    async fn lead_stats(&self, scope: &Scope) -> Result<LeadStats> {
        self.sql_lead_stats(scope).await
    }

    // --- deals -------------------------------------------------------------------------------------

    async fn list_deals(&self, scope: &Scope, filter: &DealFilter, page: &PageRequest) -> Result<Page<Deal>> {
        let mut w = self.filter(scope, &e::DEALS);
        e::deal_filter(&mut w, filter)?;
        e::deal_totals(&mut w, scope, filter);
        self.list_of(&e::DEALS, w, page, e::deal_order(filter), e::deal_from_row).await
    }

    async fn get_deal(&self, scope: &Scope, id: &DealId) -> Result<Deal> {
        self.get_of(&e::DEALS, scope, id.as_str(), e::deal_from_row).await
    }

    async fn create_deal(&self, scope: &Scope, new: NewDeal) -> Result<Deal> {
        require_organization_scope(scope, "create deals")?;
        new.validate()?;
        let mut tx = self.begin().await?;
        tx.ensure_all(
            scope,
            vec![
                e::table_ref(&e::CUSTOMERS, new.customer_id.as_ref().map(CustomerId::as_str)),
                e::table_ref(&e::LEADS, new.lead_id.as_ref().map(LeadId::as_str)),
                e::table_ref(&e::EMPLOYEES, new.assigned_to.as_ref().map(EmployeeId::as_str)),
            ],
        )
        .await?;
        tx.stage_in_pipeline(scope, &new.pipeline_id, &new.stage_id).await?;
        let id = tx.insert_entity(&e::DEALS, scope, e::deal_insert(&new)?, new.created_at, true).await?;
        let row = tx.read_entity(&e::DEALS, scope, &id).await?;
        tx.commit().await?;
        e::deal_from_row(&row)
    }

    async fn update_deal(&self, scope: &Scope, id: &DealId, patch: DealPatch) -> Result<Deal> {
        require_organization_scope(scope, "change deals")?;
        patch.validate()?;
        let mut tx = self.begin().await?;
        let current = e::deal_from_row(&tx.read_entity(&e::DEALS, scope, id.as_str()).await?)?;
        tx.ensure_all(
            scope,
            vec![
                e::table_ref(&e::CUSTOMERS, patch.customer_id.value().map(CustomerId::as_str)),
                e::table_ref(&e::LEADS, patch.lead_id.value().map(LeadId::as_str)),
                e::table_ref(&e::EMPLOYEES, patch.assigned_to.value().map(EmployeeId::as_str)),
            ],
        )
        .await?;
        if patch.pipeline_id.is_some() || patch.stage_id.is_some() {
            let pipeline = patch.pipeline_id.as_ref().unwrap_or(&current.pipeline_id);
            let stage = patch.stage_id.as_ref().unwrap_or(&current.stage_id);
            tx.stage_in_pipeline(scope, pipeline, stage).await?;
        }
        let row = tx.update_entity(&e::DEALS, scope, id.as_str(), e::deal_patch(&patch)?).await?;
        tx.commit().await?;
        e::deal_from_row(&row)
    }

    async fn import_deals(&self, scope: &Scope, batch: Vec<NewDeal>) -> Result<Vec<DealId>> {
        require_organization_scope(scope, "import deals")?;
        let mut rows = Vec::with_capacity(batch.len());
        let (mut customers, mut leads, mut employees, mut stages) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for new in &batch {
            new.validate()?;
            customers.extend(new.customer_id.as_ref().map(CustomerId::as_str));
            leads.extend(new.lead_id.as_ref().map(LeadId::as_str));
            employees.extend(new.assigned_to.as_ref().map(EmployeeId::as_str));
            stages.insert((&new.pipeline_id, &new.stage_id));
            rows.push((e::deal_insert(new)?, new.created_at));
        }
        let mut tx = self.begin().await?;
        tx.ensure_all_exist(scope, &e::CUSTOMERS, customers).await?;
        tx.ensure_all_exist(scope, &e::LEADS, leads).await?;
        tx.ensure_all_exist(scope, &e::EMPLOYEES, employees).await?;
        for (pipeline, stage) in stages {
            tx.stage_in_pipeline(scope, pipeline, stage).await?;
        }
        let ids = tx.import_entities(&e::DEALS, scope, rows).await?;
        tx.commit().await?;
        Ok(ids.into_iter().map(DealId).collect())
    }

    async fn deal_stats(&self, scope: &Scope) -> Result<DealStats> {
        self.sql_deal_stats(scope).await
    }

    // --- issues ----------------------------------------------------------------------------------

    async fn list_issues(&self, scope: &Scope, filter: &IssueFilter, page: &PageRequest) -> Result<Page<Issue>> {
        let mut w = self.filter(scope, &e::ISSUES);
        e::issue_filter(&mut w, filter)?;
        self.list_of(&e::ISSUES, w, page, e::issue_order(filter), e::issue_from_row).await
    }

    async fn get_issue(&self, scope: &Scope, id: &IssueId) -> Result<Issue> {
        self.get_of(&e::ISSUES, scope, id.as_str(), e::issue_from_row).await
    }

    async fn create_issue(&self, scope: &Scope, new: NewIssue) -> Result<Issue> {
        new.validate()?;
        require_own_customer(scope, new.customer_id.as_ref())?;
        let created_at = new.created_at.map(codec::truncate).unwrap_or_else(codec::now);
        let mut tx = self.begin().await?;
        tx.ensure_all(scope, e::issue_refs(new.customer_id.as_ref(), new.order_id.as_ref(), new.assigned_to.as_ref()))
            .await?;
        tx.order_belongs_to(scope, new.order_id.as_ref(), new.customer_id.as_ref()).await?;
        let year = created_at.year();
        let number = NumberKind::Issue.format(year, tx.next_number(scope, NumberKind::Issue.prefix(), year).await?);
        let mut values = e::issue_insert(&new)?;
        values.push(("number", number.into()));
        let id = tx.insert_entity(&e::ISSUES, scope, values, Some(created_at), true).await?;
        let row = tx.read_entity(&e::ISSUES, scope, &id).await?;
        tx.commit().await?;
        e::issue_from_row(&row)
    }

    async fn update_issue(&self, scope: &Scope, id: &IssueId, patch: IssuePatch) -> Result<Issue> {
        // Customers raise issues and comment on them; changing one is staff work.
        require_organization_scope(scope, "change issues")?;
        patch.validate()?;
        let mut tx = self.begin().await?;
        tx.ensure_all(
            scope,
            e::issue_refs(patch.customer_id.value(), patch.order_id.value(), patch.assigned_to.value()),
        )
        .await?;
        let issue =
            e::issue_from_row(&tx.update_entity(&e::ISSUES, scope, id.as_str(), e::issue_patch(&patch)?).await?)?;
        // Checked on the result, so changing either side alone cannot mismatch them.
        tx.order_belongs_to(scope, issue.order_id.as_ref(), issue.customer_id.as_ref()).await?;
        tx.commit().await?;
        Ok(issue)
    }

    async fn add_issue_comment(&self, scope: &Scope, new: NewIssueComment) -> Result<IssueComment> {
        new.validate()?;
        if new.internal {
            require_organization_scope(scope, "write internal comments")?;
        }
        let mut tx = self.begin().await?;
        tx.ensure_visible(scope, &e::table_ref(&e::ISSUES, Some(new.issue_id.as_str()))).await?;
        let values = vec![
            ("issue_id", new.issue_id.as_str().into()),
            ("author_user_id", new.author_user_id.as_str().into()),
            ("author_name", new.author_name.as_str().into()),
            ("body", new.body.as_str().into()),
            ("internal", new.internal.into()),
        ];
        let id = tx.insert_entity(&e::COMMENTS, scope, values, None, false).await?;
        let row = tx.read_entity(&e::COMMENTS, scope, &id).await?;
        tx.commit().await?;
        e::comment_from_row(&row)
    }

    async fn list_issue_comments(
        &self,
        scope: &Scope,
        issue: &IssueId,
        include_internal: bool,
        page: &PageRequest,
    ) -> Result<Page<IssueComment>> {
        self.row_by_id(e::ISSUES.name, "id", e::ISSUES.entity, scope, e::ISSUES.visibility, issue.as_str()).await?;
        let mut w = self.filter(scope, &e::COMMENTS);
        w.push("issue_id = ?", [SqlValue::from(issue.as_str())]);
        // Internal comments never reach a customer scope, whatever the caller asked for.
        if !include_internal || scope.is_customer() {
            w.push("internal = ?", [SqlValue::from(false)]);
        }
        self.list_of(&e::COMMENTS, w, page, SortOrder::OLDEST_FIRST, e::comment_from_row).await
    }

    async fn issue_stats(&self, scope: &Scope) -> Result<IssueStats> {
        self.sql_issue_stats(scope).await
    }

    // --- orders and payments -----------------------------------------------------------------------

    async fn list_orders(&self, scope: &Scope, filter: &OrderFilter, page: &PageRequest) -> Result<Page<Order>> {
        let mut w = self.filter(scope, &e::ORDERS);
        e::order_filter(&mut w, filter);
        self.list_of(&e::ORDERS, w, page, e::order_order(filter), e::order_from_row).await
    }

    async fn get_order(&self, scope: &Scope, id: &OrderId) -> Result<Order> {
        let mut order = self.get_of(&e::ORDERS, scope, id.as_str(), e::order_from_row).await?;
        self.order_items(scope, &mut order).await?;
        Ok(order)
    }

    async fn create_order(&self, scope: &Scope, new: NewOrder) -> Result<Order> {
        require_organization_scope(scope, "create orders")?;
        new.validate()?;
        let created_at = new.created_at.map(codec::truncate).unwrap_or_else(codec::now);
        let mut tx = self.begin().await?;
        tx.ensure_visible(scope, &e::table_ref(&e::CUSTOMERS, Some(new.customer_id.as_str()))).await?;
        let year = created_at.year();
        let number = NumberKind::Order.format(year, tx.next_number(scope, NumberKind::Order.prefix(), year).await?);
        let values = vec![
            ("number", number.into()),
            ("customer_id", codec::text(&new.customer_id)),
            ("order_type", codec::text(new.order_type)),
            ("status", codec::text(new.status)),
            ("currency", new.currency.as_str().into()),
            ("subtotal", codec::money(new.subtotal())?),
            ("tax", codec::money(new.tax)?),
            ("total", codec::money(new.total())?),
            ("order_date", codec::date(new.order_date)),
            ("due_date", codec::opt_date(new.due_date)),
            ("notes", new.notes.clone().into()),
        ];
        let id = tx.insert_entity(&e::ORDERS, scope, values, Some(created_at), true).await?;
        let mut items = Vec::with_capacity(new.items.len());
        for (position, item) in new.items.iter().enumerate() {
            items.push(vec![
                ("id", SqlValue::from(codec::new_id("itm", created_at))),
                ("organization_id", scope.organization_id().as_str().into()),
                ("order_id", id.as_str().into()),
                ("position", codec::count(position)),
                ("product", item.product.as_str().into()),
                ("sku", item.sku.clone().into()),
                ("quantity", i64::from(item.quantity).into()),
                ("unit_price", codec::money(item.unit_price)?),
                ("total", codec::money(item.total())?),
            ]);
        }
        tx.insert_many("order_items", items).await?;
        tx.commit().await?;
        self.get_order(scope, &OrderId(id)).await
    }

    async fn list_payments(&self, scope: &Scope, filter: &PaymentFilter, page: &PageRequest) -> Result<Page<Payment>> {
        let mut w = self.filter(scope, &e::PAYMENTS);
        e::payment_filter(&mut w, filter);
        self.list_of(&e::PAYMENTS, w, page, e::payment_order(filter), e::payment_from_row).await
    }

    async fn get_payment(&self, scope: &Scope, id: &PaymentId) -> Result<Payment> {
        self.get_of(&e::PAYMENTS, scope, id.as_str(), e::payment_from_row).await
    }

    async fn create_payment(&self, scope: &Scope, new: NewPayment) -> Result<Payment> {
        require_organization_scope(scope, "create payments")?;
        new.validate()?;
        let created_at = new.created_at.map(codec::truncate).unwrap_or_else(codec::now);
        let mut tx = self.begin().await?;
        tx.ensure_all(
            scope,
            vec![
                e::table_ref(&e::CUSTOMERS, Some(new.customer_id.as_str())),
                e::table_ref(&e::ORDERS, new.order_id.as_ref().map(OrderId::as_str)),
            ],
        )
        .await?;
        tx.order_belongs_to(scope, new.order_id.as_ref(), Some(&new.customer_id)).await?;
        let year = created_at.year();
        let number = NumberKind::Payment.format(year, tx.next_number(scope, NumberKind::Payment.prefix(), year).await?);
        let mut values = e::payment_insert(&new)?;
        values.push(("number", number.into()));
        let id = tx.insert_entity(&e::PAYMENTS, scope, values, Some(created_at), true).await?;
        let row = tx.read_entity(&e::PAYMENTS, scope, &id).await?;
        tx.commit().await?;
        e::payment_from_row(&row)
    }

    // --- activities ------------------------------------------------------------------------------

    async fn list_activities(
        &self,
        scope: &Scope,
        filter: &ActivityFilter,
        page: &PageRequest,
    ) -> Result<Page<Activity>> {
        let mut w = self.filter(scope, &e::ACTIVITIES);
        e::activity_filter(&mut w, filter);
        self.list_of(&e::ACTIVITIES, w, page, e::activity_order(filter), e::activity_from_row).await
    }

    async fn get_activity(&self, scope: &Scope, id: &ActivityId) -> Result<Activity> {
        self.get_of(&e::ACTIVITIES, scope, id.as_str(), e::activity_from_row).await
    }

    async fn create_activity(&self, scope: &Scope, new: NewActivity) -> Result<Activity> {
        require_organization_scope(scope, "create activities")?;
        new.validate()?;
        let mut tx = self.begin().await?;
        tx.ensure_all(
            scope,
            e::activity_refs(
                new.customer_id.as_ref(),
                new.lead_id.as_ref(),
                new.deal_id.as_ref(),
                new.assigned_to.as_ref(),
            ),
        )
        .await?;
        let id = tx.insert_entity(&e::ACTIVITIES, scope, e::activity_insert(&new), new.created_at, true).await?;
        let row = tx.read_entity(&e::ACTIVITIES, scope, &id).await?;
        tx.commit().await?;
        e::activity_from_row(&row)
    }

    async fn update_activity(&self, scope: &Scope, id: &ActivityId, patch: ActivityPatch) -> Result<Activity> {
        require_organization_scope(scope, "change activities")?;
        patch.validate()?;
        let mut tx = self.begin().await?;
        tx.ensure_all(
            scope,
            e::activity_refs(
                patch.customer_id.value(),
                patch.lead_id.value(),
                patch.deal_id.value(),
                patch.assigned_to.value(),
            ),
        )
        .await?;
        let row = tx.update_entity(&e::ACTIVITIES, scope, id.as_str(), e::activity_patch(&patch)).await?;
        tx.commit().await?;
        e::activity_from_row(&row)
    }

    async fn activity_stats(&self, scope: &Scope) -> Result<ActivityStats> {
        self.sql_activity_stats(scope).await
    }

    // --- analytics ---------------------------------------------------------------------------------

    async fn aggregate_records(&self, scope: &Scope, query: &AggregateQuery) -> Result<AggregateAnswer> {
        self.sql_aggregate_records(scope, query).await
    }

    async fn dashboard_stats(&self, scope: &Scope, now: Timestamp) -> Result<DashboardStats> {
        self.sql_dashboard(scope, now).await
    }

    async fn sales_funnel(&self, scope: &Scope) -> Result<SalesFunnel> {
        self.sql_sales_funnel(scope).await
    }

    async fn revenue_by_period(&self, scope: &Scope, buckets: &[(Date, Date)]) -> Result<Vec<RevenueBucket>> {
        self.sql_revenue_by_period(scope, buckets).await
    }

    async fn employee_performance(&self, scope: &Scope) -> Result<Vec<EmployeePerformance>> {
        self.sql_employee_performance(scope).await
    }

    // --- the assistant: conversations, messages, pending actions -------------------------------------

    async fn create_conversation(&self, scope: &Scope, new: NewConversation) -> Result<Conversation> {
        new.validate()?;
        let table = &e::CONVERSATIONS;
        let user_id = new.user_id.clone();
        let values =
            vec![("user_id", new.user_id.into()), ("title", new.title.into()), ("message_count", 0_i64.into())];
        let mut tx = self.begin().await?;
        let id = tx.insert_entity(table, scope, values, None, true).await?;
        let row = tx.owned_row(table, table.columns, scope, &user_id, &id).await?;
        tx.commit().await?;
        e::conversation_from_row(&row)
    }

    async fn get_conversation(&self, scope: &Scope, user_id: &str, id: &ConversationId) -> Result<Conversation> {
        let table = &e::CONVERSATIONS;
        e::conversation_from_row(&self.owned_row(table, table.columns, scope, user_id, id.as_str()).await?)
    }

    async fn list_conversations(&self, scope: &Scope, user_id: &str, page: &PageRequest) -> Result<Page<Conversation>> {
        let table = &e::CONVERSATIONS;
        let w = owned(self.dialect, scope, table, user_id);
        self.list_of(table, w, page, SortOrder::NEWEST_FIRST, e::conversation_from_row).await
    }

    async fn update_conversation(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        patch: ConversationPatch,
    ) -> Result<Conversation> {
        patch.validate()?;
        let table = &e::CONVERSATIONS;
        let mut tx = self.begin().await?;
        if let Some(title) = patch.title {
            let mut w = owned(tx.dialect(), scope, table, user_id);
            w.push("id = ?", [id.as_str().into()]);
            let mut args: Vec<SqlValue> = vec![title.into(), codec::ts(codec::now())];
            let sql = format!("UPDATE {} SET title = ?, updated_at = ? WHERE {}", table.name, w.sql());
            args.extend(w.args);
            if tx.execute(&sql, args).await? == 0 {
                return Err(Error::not_found(table.entity, id.as_str()));
            }
        }
        let row = tx.owned_row(table, table.columns, scope, user_id, id.as_str()).await?;
        tx.commit().await?;
        e::conversation_from_row(&row)
    }

    async fn delete_conversation(&self, scope: &Scope, user_id: &str, id: &ConversationId) -> Result<()> {
        let table = &e::CONVERSATIONS;
        let org = scope.organization_id().as_str();
        let mut tx = self.begin().await?;
        let mut w = owned(tx.dialect(), scope, table, user_id);
        w.push("id = ?", [id.as_str().into()]);
        if tx.execute(&format!("DELETE FROM {} WHERE {}", table.name, w.sql()), w.args).await? == 0 {
            return Err(Error::not_found(table.entity, id.as_str()));
        }
        tx.execute(
            "DELETE FROM messages WHERE organization_id = ? AND conversation_id = ?",
            vec![org.into(), id.as_str().into()],
        )
        .await?;
        // Actions still waiting for a decision go with the conversation. The others stay,
        // unlinked: they record writes the user decided on, and a confirm that is running must
        // still be able to finish its action. (On PostgreSQL a decision committing meanwhile
        // makes the DELETE re-check `status` and skip the row, which the UPDATE then unlinks.)
        tx.execute(
            "DELETE FROM pending_actions \
             WHERE organization_id = ? AND user_id = ? AND conversation_id = ? AND status = ?",
            vec![org.into(), user_id.into(), id.as_str().into(), codec::text(ActionStatus::Pending)],
        )
        .await?;
        tx.execute(
            "UPDATE pending_actions SET conversation_id = NULL \
             WHERE organization_id = ? AND user_id = ? AND conversation_id = ?",
            vec![org.into(), user_id.into(), id.as_str().into()],
        )
        .await?;
        tx.commit().await
    }

    async fn append_messages(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        messages: Vec<NewMessage>,
        now: Timestamp,
    ) -> Result<Vec<Message>> {
        NewMessage::validate_batch(&messages)?;
        let parts = messages.iter().map(|m| codec::json(&m.parts)).collect::<Result<Vec<_>>>()?;
        let now = codec::truncate(now);
        let table = &e::CONVERSATIONS;
        let org = scope.organization_id().as_str();
        let mut tx = self.begin().await?;
        if messages.is_empty() {
            tx.owned_row(table, "id", scope, user_id, id.as_str()).await?;
            return Ok(Vec::new());
        }
        // Bumping the conversation first checks that it is this user's and, on PostgreSQL,
        // locks it, so concurrent appends to one conversation take turns.
        let mut w = owned(tx.dialect(), scope, table, user_id);
        w.push("id = ?", [id.as_str().into()]);
        let mut args: Vec<SqlValue> = vec![codec::count(messages.len()), codec::ts(now)];
        // One round trip: the bump also returns the conversation's newest message id, after
        // which the new ids must sort, whatever clock wrote it.
        let sql = format!(
            "UPDATE {table} SET message_count = message_count + ?, updated_at = ? WHERE {filter} \
             RETURNING (SELECT MAX(m.id) FROM messages m WHERE m.organization_id = {table}.organization_id \
             AND m.conversation_id = {table}.id) AS newest",
            table = table.name,
            filter = w.sql()
        );
        args.extend(w.args);
        let bumped = tx.fetch(&sql, args).await?;
        let Some(row) = bumped.first() else {
            return Err(Error::not_found(table.entity, id.as_str()));
        };
        let newest = row.opt_text("newest")?;
        let ids = codec::new_ids_after(e::MESSAGES.id_prefix, now, newest.as_deref(), messages.len());
        let rows = ids
            .iter()
            .zip(&messages)
            .zip(parts)
            .map(|((message_id, message), parts)| {
                vec![
                    ("id", message_id.into()),
                    ("organization_id", org.into()),
                    ("conversation_id", id.as_str().into()),
                    ("role", codec::text(message.role)),
                    ("parts", parts),
                    ("created_at", codec::ts(now)),
                ]
            })
            .collect();
        tx.insert_many(e::MESSAGES.name, rows).await?;
        tx.commit().await?;
        Ok(ids
            .into_iter()
            .zip(messages)
            .map(|(message_id, message)| Message {
                id: MessageId(message_id),
                conversation_id: id.clone(),
                role: message.role,
                parts: message.parts,
                created_at: now,
            })
            .collect())
    }

    async fn list_messages(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ConversationId,
        page: &PageRequest,
    ) -> Result<Page<Message>> {
        self.owned_row(&e::CONVERSATIONS, "id", scope, user_id, id.as_str()).await?;
        let mut w = self.filter(scope, &e::MESSAGES);
        w.push("conversation_id = ?", [id.as_str().into()]);
        self.list_of(&e::MESSAGES, w, page, SortOrder::NEWEST_FIRST, e::message_from_row).await
    }

    async fn create_pending_action(&self, scope: &Scope, new: NewPendingAction) -> Result<PendingAction> {
        new.validate()?;
        let table = &e::PENDING_ACTIONS;
        let values = vec![
            ("user_id", new.user_id.as_str().into()),
            ("conversation_id", codec::opt_text(new.conversation_id.as_ref())),
            ("tool", new.tool.into()),
            ("arguments", codec::json(&new.arguments)?),
            ("summary", new.summary.into()),
            ("status", codec::text(ActionStatus::Pending)),
            ("outcome", SqlValue::Text(None)),
            ("expires_at", codec::ts(codec::truncate(new.expires_at))),
            ("decided_at", SqlValue::Int(None)),
        ];
        let mut tx = self.begin().await?;
        if let Some(conversation) = &new.conversation_id {
            tx.owned_row(&e::CONVERSATIONS, "id", scope, &new.user_id, conversation.as_str()).await?;
        }
        let id = tx.insert_entity(table, scope, values, Some(new.created_at), false).await?;
        let row = tx.owned_row(table, table.columns, scope, &new.user_id, &id).await?;
        tx.commit().await?;
        e::pending_action_from_row(&row)
    }

    async fn get_pending_action(&self, scope: &Scope, user_id: &str, id: &ActionId) -> Result<PendingAction> {
        let table = &e::PENDING_ACTIONS;
        e::pending_action_from_row(&self.owned_row(table, table.columns, scope, user_id, id.as_str()).await?)
    }

    async fn list_pending_actions(
        &self,
        scope: &Scope,
        user_id: &str,
        filter: &PendingActionFilter,
        page: &PageRequest,
    ) -> Result<Page<PendingAction>> {
        let table = &e::PENDING_ACTIONS;
        let mut w = owned(self.dialect, scope, table, user_id);
        e::pending_action_filter(&mut w, filter);
        self.list_of(table, w, page, SortOrder::NEWEST_FIRST, e::pending_action_from_row).await
    }

    async fn decide_pending_action(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ActionId,
        to: ActionStatus,
        now: Timestamp,
    ) -> Result<PendingAction> {
        if !matches!(to, ActionStatus::Executing | ActionStatus::Rejected) {
            return Err(Error::invalid(format!(
                "a pending action is decided to `executing` (confirmed) or `rejected`, not `{to}`"
            )));
        }
        let now = codec::truncate(now);
        let table = &e::PENDING_ACTIONS;
        let mut tx = self.begin().await?;
        // Compare-and-set in one statement: of concurrent decisions exactly one matches
        // (PostgreSQL re-checks the condition after the first commits; SQLite has one writer).
        let mut w = owned(tx.dialect(), scope, table, user_id);
        w.push(
            "id = ? AND status = ? AND expires_at > ?",
            [id.as_str().into(), codec::text(ActionStatus::Pending), codec::ts(now)],
        );
        let mut args: Vec<SqlValue> = vec![codec::text(to), codec::ts(now)];
        let sql = format!("UPDATE {} SET status = ?, decided_at = ? WHERE {}", table.name, w.sql());
        args.extend(w.args);
        let decided = tx.execute(&sql, args).await? == 1;
        let action =
            e::pending_action_from_row(&tx.owned_row(table, table.columns, scope, user_id, id.as_str()).await?)?;
        if !decided {
            return Err(not_decidable(&action));
        }
        tx.commit().await?;
        Ok(action)
    }

    async fn finish_pending_action(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ActionId,
        to: ActionStatus,
        outcome: serde_json::Value,
    ) -> Result<PendingAction> {
        if !matches!(to, ActionStatus::Succeeded | ActionStatus::Failed) {
            return Err(Error::invalid(format!("a confirmed action finishes as `succeeded` or `failed`, not `{to}`")));
        }
        let table = &e::PENDING_ACTIONS;
        let mut tx = self.begin().await?;
        let mut w = owned(tx.dialect(), scope, table, user_id);
        // A run past the limit already reads as cut off; its end is no longer recorded.
        let cut_off = codec::ts(chrono::Utc::now() - ACTION_RUN_LIMIT);
        w.push(
            "id = ? AND status = ? AND decided_at > ?",
            [id.as_str().into(), codec::text(ActionStatus::Executing), cut_off],
        );
        let mut args: Vec<SqlValue> = vec![codec::text(to), codec::json(&outcome)?];
        let sql = format!("UPDATE {} SET status = ?, outcome = ? WHERE {}", table.name, w.sql());
        args.extend(w.args);
        let finished = tx.execute(&sql, args).await? == 1;
        let action =
            e::pending_action_from_row(&tx.owned_row(table, table.columns, scope, user_id, id.as_str()).await?)?;
        if !finished {
            return Err(not_finishable(&action));
        }
        tx.commit().await?;
        Ok(action)
    }

    // --- API tokens ----------------------------------------------------------------------------------

    async fn create_api_token(&self, scope: &Scope, new: NewApiToken) -> Result<ApiToken> {
        new.validate()?;
        let table = &e::API_TOKENS;
        let user_id = new.user_id.clone();
        let values = vec![
            ("user_id", new.user_id.into()),
            ("name", new.name.into()),
            ("prefix", new.prefix.into()),
            ("secret_hash", new.secret_hash.into()),
            ("expires_at", codec::opt_ts(new.expires_at.map(codec::truncate))),
            ("revoked_at", SqlValue::Int(None)),
            ("limits", if new.limits.is_none() { SqlValue::Text(None) } else { codec::json(&new.limits)? }),
        ];
        let mut tx = self.begin().await?;
        // `secret_hash` is the table's only unique column besides the fresh id: a conflict here
        // is a hash already stored (in any organization).
        let id =
            tx.insert_entity(table, scope, values, Some(new.created_at), false).await.map_err(|err| match err {
                Error::Conflict(_) => Error::conflict("an API token with this secret hash already exists"),
                other => other,
            })?;
        let row = tx.owned_row(table, table.columns, scope, &user_id, &id).await?;
        tx.commit().await?;
        e::api_token_from_row(&row)
    }

    async fn list_api_tokens(&self, scope: &Scope, user_id: &str) -> Result<Vec<ApiToken>> {
        let table = &e::API_TOKENS;
        let w = owned(self.dialect, scope, table, user_id);
        let sql = format!("SELECT {} FROM {} WHERE {} ORDER BY id DESC", table.columns, table.name, w.sql());
        self.read(&sql, w.args).await?.iter().map(e::api_token_from_row).collect()
    }

    async fn revoke_api_token(
        &self,
        scope: &Scope,
        user_id: &str,
        id: &ApiTokenId,
        now: Timestamp,
    ) -> Result<ApiToken> {
        let table = &e::API_TOKENS;
        let mut tx = self.begin().await?;
        // Only a token not revoked yet takes `now`, so the first revocation time stays (of two
        // concurrent revocations on PostgreSQL, the second re-checks and matches nothing).
        let mut w = owned(tx.dialect(), scope, table, user_id);
        w.push("id = ? AND revoked_at IS NULL", [id.as_str().into()]);
        let mut args: Vec<SqlValue> = vec![codec::ts(codec::truncate(now))];
        let sql = format!("UPDATE {} SET revoked_at = ? WHERE {}", table.name, w.sql());
        args.extend(w.args);
        tx.execute(&sql, args).await?;
        let row = tx.owned_row(table, table.columns, scope, user_id, id.as_str()).await?;
        tx.commit().await?;
        e::api_token_from_row(&row)
    }

    async fn find_api_token(&self, secret_hash: &str) -> Result<ApiToken> {
        let table = &e::API_TOKENS;
        // No scope: this is how a request's scope is found. One lookup through the index of the
        // UNIQUE constraint on `secret_hash`.
        let sql = format!("SELECT {} FROM {} WHERE secret_hash = ?", table.columns, table.name);
        let rows = self.read(&sql, vec![secret_hash.into()]).await?;
        // The message does not repeat the hash.
        rows.first()
            .map(e::api_token_from_row)
            .transpose()?
            .ok_or_else(|| Error::not_found(table.entity, "(by secret)"))
    }

    // --- audit ---------------------------------------------------------------------------------------

    async fn record_audit(&self, scope: &Scope, event: NewAuditEvent) -> Result<()> {
        // Audit events of customer users are recorded too: the scope's organization is what counts.
        self.record_audits(vec![(scope.organization_id().clone(), event)]).await
    }

    async fn record_audits(&self, events: Vec<(OrganizationId, NewAuditEvent)>) -> Result<()> {
        let rows = events
            .into_iter()
            .map(|(organization, event)| {
                let at = codec::truncate(event.at);
                Ok(vec![
                    ("id", SqlValue::from(codec::new_id(e::AUDIT.id_prefix, at))),
                    ("organization_id", organization.0.into()),
                    ("user_id", event.user_id.into()),
                    ("action", event.action.into()),
                    ("outcome", codec::text(event.outcome)),
                    ("error_kind", event.error_kind.into()),
                    ("duration_us", i64::try_from(event.duration_us).unwrap_or(i64::MAX).into()),
                    ("arguments", codec::json(&event.arguments)?),
                    ("record_type", event.record_type.into()),
                    ("record_id", event.record_id.into()),
                    (
                        "changes",
                        if event.changes.is_empty() { SqlValue::Text(None) } else { codec::json(&event.changes)? },
                    ),
                    ("at", codec::ts(at)),
                ])
            })
            .collect::<Result<Vec<_>>>()?;
        match &self.pools {
            // A batch is hundreds of rows: off the async workers (see SqliteDb::write_off_thread).
            #[cfg(feature = "sqlite")]
            Pools::Sqlite(db) => {
                let statements = insert_statements(e::AUDIT.name, rows);
                db.write_off_thread(move |tx| {
                    statements.iter().try_for_each(|(sql, args)| tx.execute(sql, args).map(drop))
                })
                .await
            }
            _ => {
                let mut tx = self.begin().await?;
                tx.insert_many(e::AUDIT.name, rows).await?;
                tx.commit().await
            }
        }
    }

    async fn claim_idempotency_key(
        &self,
        scope: &Scope,
        user_id: &str,
        key: &str,
        tool: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<IdempotencyClaim> {
        let org = scope.organization_id().as_str();
        let expired = now - crate::store::IDEMPOTENCY_WINDOW;
        let mut tx = self.begin().await?;
        tx.execute(
            "DELETE FROM idempotency_keys WHERE organization_id = ? AND user_id = ? AND idem_key = ? AND created_at < ?",
            vec![org.into(), user_id.into(), key.into(), codec::ts(expired)],
        )
        .await?;
        let inserted = tx
            .execute(
                "INSERT INTO idempotency_keys \
                 (organization_id, user_id, idem_key, tool, request_hash, status, result, created_at) \
                 VALUES (?, ?, ?, ?, ?, 'pending', NULL, ?) ON CONFLICT (organization_id, user_id, idem_key) DO NOTHING",
                vec![org.into(), user_id.into(), key.into(), tool.into(), fingerprint.into(), codec::ts(now)],
            )
            .await?;
        let claim = if inserted == 1 {
            IdempotencyClaim::Claimed
        } else {
            let rows = tx
                .fetch(
                    "SELECT tool, request_hash, status, result FROM idempotency_keys \
                     WHERE organization_id = ? AND user_id = ? AND idem_key = ?",
                    vec![org.into(), user_id.into(), key.into()],
                )
                .await?;
            let row = rows.first().ok_or_else(|| Error::Internal("idempotency key vanished".into()))?;
            if row.text("tool")? != tool {
                return Err(Error::conflict(format!(
                    "idempotency key `{key}` was already used for `{}`",
                    row.text("tool")?
                )));
            }
            // Keys claimed before fingerprints were kept have none, and match any arguments.
            if row.opt_text("request_hash")?.is_some_and(|stored| stored != fingerprint) {
                return Err(Error::conflict(format!(
                    "idempotency key `{key}` was already used with other arguments; use a new key for a new request"
                )));
            }
            match row.opt_text("result")? {
                Some(result) if row.text("status")? == "done" => {
                    IdempotencyClaim::Done(serde_json::from_str(&result).map_err(|e| Error::store(e.to_string()))?)
                }
                _ => IdempotencyClaim::InProgress,
            }
        };
        tx.commit().await?;
        Ok(claim)
    }

    async fn complete_idempotency_key(
        &self,
        scope: &Scope,
        user_id: &str,
        key: &str,
        result: &serde_json::Value,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            "UPDATE idempotency_keys SET status = 'done', result = ? WHERE organization_id = ? AND user_id = ? AND idem_key = ?",
            vec![codec::json(result)?, scope.organization_id().as_str().into(), user_id.into(), key.into()],
        )
        .await?;
        tx.commit().await
    }

    async fn release_idempotency_key(&self, scope: &Scope, user_id: &str, key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            "DELETE FROM idempotency_keys WHERE organization_id = ? AND user_id = ? AND idem_key = ? AND status = 'pending'",
            vec![scope.organization_id().as_str().into(), user_id.into(), key.into()],
        )
        .await?;
        tx.commit().await
    }

    async fn take_rate_budget(
        &self,
        scope: &Scope,
        user_id: &str,
        bucket: &str,
        budget: RateBudget,
        cost: u32,
        now: Timestamp,
    ) -> Result<Option<chrono::Duration>> {
        if cost == 0 || cost > budget.burst {
            return Err(Error::invalid(format!(
                "a rate budget's cost is 1 to its burst ({}), not {cost}",
                budget.burst
            )));
        }
        // The row keeps when the budget would be full again ("ready at"); taking `cost` units
        // pushes that `cost` intervals later, which is allowed while it stays within `burst`
        // intervals of now. Checked and written in one statement, so processes cannot both
        // spend the last units.
        let interval = budget.interval().num_microseconds().unwrap_or(i64::MAX).max(1);
        let (now, spend, limit) =
            (now.timestamp_micros(), interval * i64::from(cost), interval * i64::from(budget.burst));
        let greatest = if self.dialect == super::Dialect::Postgres { "GREATEST" } else { "MAX" };
        let sql = format!(
            "INSERT INTO rate_limits (organization_id, user_id, bucket, ready_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (organization_id, user_id, bucket) DO UPDATE \
             SET ready_at = {greatest}(rate_limits.ready_at, ?) + ? \
             WHERE {greatest}(rate_limits.ready_at, ?) + ? <= ?"
        );
        let key: Vec<SqlValue> = vec![scope.organization_id().as_str().into(), user_id.into(), bucket.into()];
        let mut args = key.clone();
        args.extend([now + spend, now, spend, now, spend, now + limit].map(SqlValue::from));
        let mut tx = self.begin().await?;
        if tx.execute(&sql, args).await? == 1 {
            tx.commit().await?;
            return Ok(None);
        }
        let sql = "SELECT ready_at FROM rate_limits WHERE organization_id = ? AND user_id = ? AND bucket = ?";
        let ready_at = tx.fetch(sql, key).await?.first().map(|row| row.int("ready_at")).transpose()?.unwrap_or(now);
        Ok(Some(chrono::Duration::microseconds((ready_at.max(now) + spend - (now + limit)).max(1))))
    }

    async fn list_audit_events(
        &self,
        scope: &Scope,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let mut w = self.filter(scope, &e::AUDIT);
        e::audit_filter(&mut w, filter);
        self.list_of(&e::AUDIT, w, page, SortOrder::NEWEST_FIRST, e::audit_from_row).await
    }
}
