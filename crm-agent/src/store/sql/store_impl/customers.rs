//! Customers of the SQL store.

use std::collections::BTreeSet;

use super::shared::*;
use crate::domain::*;
use crate::error::Result;
use crate::store::Scope;
use crate::store::sql::SqlStore;
use crate::store::sql::entities as e;

pub(super) async fn list_customers(
    store: &SqlStore,
    scope: &Scope,
    filter: &CustomerFilter,
    page: &PageRequest,
) -> Result<Page<Customer>> {
    let mut w = store.filter(scope, &e::CUSTOMERS);
    e::customer_filter(&mut w, filter)?;
    e::customer_totals(&mut w, scope, filter);
    store.list_of(&e::CUSTOMERS, w, page, e::customer_order(filter), e::customer_from_row).await
}

pub(super) async fn get_customer(store: &SqlStore, scope: &Scope, id: &CustomerId) -> Result<Customer> {
    store.get_of(&e::CUSTOMERS, scope, id.as_str(), e::customer_from_row).await
}

pub(super) async fn create_customer(store: &SqlStore, scope: &Scope, new: NewCustomer) -> Result<Customer> {
    require_organization_scope(scope, "create customers")?;
    new.validate()?;
    let mut tx = store.begin().await?;
    tx.ensure_all(scope, e::customer_refs(new.assigned_to.as_ref(), new.converted_from_lead.as_ref())).await?;
    let id = tx.insert_entity(&e::CUSTOMERS, scope, e::customer_insert(&new)?, new.created_at, true).await?;
    let row = tx.read_entity(&e::CUSTOMERS, scope, &id).await?;
    tx.commit().await?;
    e::customer_from_row(&row)
}

pub(super) async fn update_customer(
    store: &SqlStore,
    scope: &Scope,
    id: &CustomerId,
    patch: CustomerPatch,
) -> Result<Customer> {
    require_organization_scope(scope, "change customer records")?;
    patch.validate()?;
    let mut tx = store.begin().await?;
    tx.ensure_all(scope, e::customer_refs(patch.assigned_to.value(), None)).await?;
    let row = tx.update_entity(&e::CUSTOMERS, scope, id.as_str(), e::customer_patch(&patch)?).await?;
    tx.commit().await?;
    e::customer_from_row(&row)
}

pub(super) async fn import_customers(
    store: &SqlStore,
    scope: &Scope,
    batch: Vec<NewCustomer>,
) -> Result<Vec<CustomerId>> {
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
    let mut tx = store.begin().await?;
    tx.ensure_all_exist(scope, &e::EMPLOYEES, employees).await?;
    tx.ensure_all_exist(scope, &e::LEADS, leads).await?;
    let ids = tx.import_entities(&e::CUSTOMERS, scope, rows).await?;
    tx.commit().await?;
    Ok(ids.into_iter().map(CustomerId).collect())
}

pub(super) async fn customer_stats(store: &SqlStore, scope: &Scope) -> Result<CustomerStats> {
    store.sql_customer_stats(scope).await
}
