//! Orders (with their items) and payments of the SQL store.

use chrono::Datelike;

use super::shared::*;
use crate::domain::*;
use crate::error::Result;
use crate::store::sql::SqlStore;
use crate::store::sql::codec::{self, SqlValue};
use crate::store::sql::entities as e;
use crate::store::{Scope, Store};

pub(super) async fn list_orders(
    store: &SqlStore,
    scope: &Scope,
    filter: &OrderFilter,
    page: &PageRequest,
) -> Result<Page<Order>> {
    let mut w = store.filter(scope, &e::ORDERS);
    e::order_filter(&mut w, filter);
    store.list_of(&e::ORDERS, w, page, e::order_order(filter), e::order_from_row).await
}

pub(super) async fn get_order(store: &SqlStore, scope: &Scope, id: &OrderId) -> Result<Order> {
    let mut order = store.get_of(&e::ORDERS, scope, id.as_str(), e::order_from_row).await?;
    store.order_items(scope, &mut order).await?;
    Ok(order)
}

pub(super) async fn create_order(store: &SqlStore, scope: &Scope, new: NewOrder) -> Result<Order> {
    require_organization_scope(scope, "create orders")?;
    new.validate()?;
    let created_at = new.created_at.map(codec::truncate).unwrap_or_else(codec::now);
    let mut tx = store.begin().await?;
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
    store.get_order(scope, &OrderId(id)).await
}

pub(super) async fn list_payments(
    store: &SqlStore,
    scope: &Scope,
    filter: &PaymentFilter,
    page: &PageRequest,
) -> Result<Page<Payment>> {
    let mut w = store.filter(scope, &e::PAYMENTS);
    e::payment_filter(&mut w, filter);
    store.list_of(&e::PAYMENTS, w, page, e::payment_order(filter), e::payment_from_row).await
}

pub(super) async fn get_payment(store: &SqlStore, scope: &Scope, id: &PaymentId) -> Result<Payment> {
    store.get_of(&e::PAYMENTS, scope, id.as_str(), e::payment_from_row).await
}

pub(super) async fn create_payment(store: &SqlStore, scope: &Scope, new: NewPayment) -> Result<Payment> {
    require_organization_scope(scope, "create payments")?;
    new.validate()?;
    let created_at = new.created_at.map(codec::truncate).unwrap_or_else(codec::now);
    let mut tx = store.begin().await?;
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
