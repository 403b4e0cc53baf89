//! What the per-entity modules share: transaction and reader helpers, and the rules every
//! write checks (scope, ownership, pending-action states).

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::*;
use crate::error::{Error, Result};
use crate::store::Scope;
use crate::store::sql::codec::{self, Row, SqlValue};
use crate::store::sql::entities::{self as e, Table};
use crate::store::sql::query::{Reference, SortOrder, Visibility, Where};
use crate::store::sql::{SqlStore, Tx};

/// Column values of one row to write.
pub(super) type Values = Vec<(&'static str, SqlValue)>;

/// Writes of organization-internal data are refused in a customer scope.
pub(super) fn require_organization_scope(scope: &Scope, what: &str) -> Result<()> {
    if scope.is_customer() {
        return Err(Error::PermissionDenied(format!("a customer cannot {what}")));
    }
    Ok(())
}

/// In a customer scope a new customer-owned record must belong to that customer.
pub(super) fn require_own_customer(scope: &Scope, customer: Option<&CustomerId>) -> Result<()> {
    match scope.customer_id() {
        Some(own) if customer != Some(own) => {
            Err(Error::not_found("customer", customer.map_or("(none)", |c| c.as_str())))
        }
        _ => Ok(()),
    }
}

/// The scope's clause plus `user_id = ?`: the assistant's records belong to one user, and any
/// other user's (or organization's) are "not found". A customer scope sees its own user's.
pub(super) fn owned(dialect: crate::store::sql::Dialect, scope: &Scope, table: &Table, user_id: &str) -> Where {
    let mut filter = Where::scoped(dialect, scope, table.visibility);
    filter.push("user_id = ?", [SqlValue::from(user_id)]);
    filter
}

/// Why a pending action can no longer be decided (confirmed or rejected).
pub(super) fn not_decidable(action: &PendingAction) -> Error {
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
pub(super) fn not_finishable(action: &PendingAction) -> Error {
    Error::conflict(match action.status {
        ActionStatus::Pending | ActionStatus::Expired => "this action has not been confirmed".to_owned(),
        ActionStatus::Rejected => "this action was rejected".to_owned(),
        status => format!("this action already finished ({status})"),
    })
}

impl Tx {
    /// When a record names both a customer and an order, the order must be that customer's:
    /// otherwise one customer's issue or payment could expose another customer's order.
    pub(super) async fn order_belongs_to(
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

    pub(super) async fn ensure_all(&mut self, scope: &Scope, references: Vec<Reference<'_>>) -> Result<()> {
        for reference in &references {
            self.ensure_visible(scope, reference).await?;
        }
        Ok(())
    }

    /// Inserts a new entity row with a fresh id and the bookkeeping columns; returns the id.
    pub(super) async fn insert_entity(
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

    pub(super) async fn update_entity(
        &mut self,
        table: &Table,
        scope: &Scope,
        id: &str,
        mut values: Values,
    ) -> Result<Row> {
        if !values.is_empty() {
            values.push(("updated_at", codec::ts(codec::now())));
        }
        self.update(table.name, table.entity, scope, table.visibility, id, values).await?;
        self.row_by_id(table.name, table.columns, table.entity, scope, table.visibility, id).await
    }

    pub(super) async fn read_entity(&mut self, table: &Table, scope: &Scope, id: &str) -> Result<Row> {
        self.row_by_id(table.name, table.columns, table.entity, scope, table.visibility, id).await
    }

    /// Reads a row and, on PostgreSQL, locks it until the transaction ends (SQLite's single
    /// `BEGIN IMMEDIATE` writer already excludes concurrent writers).
    pub(super) async fn lock_entity(&mut self, table: &Table, scope: &Scope, id: &str) -> Result<Row> {
        let mut filter = Where::scoped(self.dialect(), scope, table.visibility);
        filter.push("id = ?", [SqlValue::from(id)]);
        let lock = if self.dialect() == crate::store::sql::Dialect::Postgres { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {} FROM {} WHERE {}{lock}", table.columns, table.name, filter.sql());
        self.fetch(&sql, filter.args).await?.into_iter().next().ok_or_else(|| Error::not_found(table.entity, id))
    }

    /// Every id in `ids` must be a row of `table` visible in `scope` (batched, for imports).
    pub(super) async fn ensure_all_exist(&mut self, scope: &Scope, table: &Table, ids: BTreeSet<&str>) -> Result<()> {
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
    pub(super) async fn import_entities(
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

    pub(super) async fn stage_in_pipeline(
        &mut self,
        scope: &Scope,
        pipeline: &PipelineId,
        stage: &StageId,
    ) -> Result<()> {
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
    pub(super) async fn owned_row(
        &mut self,
        table: &Table,
        columns: &str,
        scope: &Scope,
        user_id: &str,
        id: &str,
    ) -> Result<Row> {
        let mut filter = owned(self.dialect(), scope, table, user_id);
        filter.push("id = ?", [SqlValue::from(id)]);
        let sql = format!("SELECT {columns} FROM {} WHERE {}", table.name, filter.sql());
        self.fetch(&sql, filter.args).await?.into_iter().next().ok_or_else(|| Error::not_found(table.entity, id))
    }

    pub(super) async fn employee_with_roles(&mut self, scope: &Scope, id: &str) -> Result<Employee> {
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
    pub(super) async fn list_of<T>(
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

    pub(super) async fn get_of<T>(
        &self,
        table: &Table,
        scope: &Scope,
        id: &str,
        map: impl Fn(&Row) -> Result<T>,
    ) -> Result<T> {
        map(&self.row_by_id(table.name, table.columns, table.entity, scope, table.visibility, id).await?)
    }

    pub(super) fn filter(&self, scope: &Scope, table: &Table) -> Where {
        Where::scoped(self.dialect, scope, table.visibility)
    }

    /// Like [`Tx::owned_row`], on a reader.
    pub(super) async fn owned_row(
        &self,
        table: &Table,
        columns: &str,
        scope: &Scope,
        user_id: &str,
        id: &str,
    ) -> Result<Row> {
        let mut filter = owned(self.dialect, scope, table, user_id);
        filter.push("id = ?", [SqlValue::from(id)]);
        let sql = format!("SELECT {columns} FROM {} WHERE {}", table.name, filter.sql());
        self.read(&sql, filter.args).await?.into_iter().next().ok_or_else(|| Error::not_found(table.entity, id))
    }

    pub(super) async fn fill_role_ids(&self, scope: &Scope, employees: &mut [Employee]) -> Result<()> {
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

    pub(super) async fn order_items(&self, scope: &Scope, order: &mut Order) -> Result<()> {
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
