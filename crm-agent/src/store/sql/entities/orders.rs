//! Orders, their items, and payments: the tables, columns, values written, filters and sort orders.

use super::{Table, Values};
use crate::domain::*;
use crate::error::Result;
use crate::store::sql::codec::{self, Row};
use crate::store::sql::query::{SortKey, SortOrder, TextSearch, Visibility, Where};

pub(crate) const ORDERS: Table = Table {
    name: "orders",
    entity: "order",
    visibility: Visibility::CustomerOwned,
    columns: "id, organization_id, number, customer_id, order_type, status, currency, subtotal, tax, total, order_date, \
              due_date, notes, created_at, updated_at",
    id_prefix: "ord",
};

/// Reads an order; `items` are filled in separately.
pub(crate) fn order_from_row(r: &Row) -> Result<Order> {
    Ok(Order {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        number: r.text("number")?,
        customer_id: r.id("customer_id")?,
        order_type: r.parse("order_type")?,
        status: r.parse("status")?,
        currency: r.text("currency")?,
        subtotal: r.money("subtotal")?,
        tax: r.money("tax")?,
        total: r.money("total")?,
        order_date: r.date("order_date")?,
        due_date: r.opt_date("due_date")?,
        notes: r.opt_text("notes")?,
        items: Vec::new(),
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) const ORDER_ITEM_COLUMNS: &str = "id, product, sku, quantity, unit_price, total";

pub(crate) fn order_item_from_row(r: &Row) -> Result<OrderItem> {
    Ok(OrderItem {
        id: r.text("id")?,
        product: r.text("product")?,
        sku: r.opt_text("sku")?,
        quantity: r.opt_u32("quantity")?.unwrap_or(0),
        unit_price: r.money("unit_price")?,
        total: r.money("total")?,
    })
}

pub(crate) const ORDER_SEARCH: TextSearch = TextSearch { index: "orders_search", columns: &["number", "notes"] };

pub(crate) fn order_filter(w: &mut Where, f: &OrderFilter) {
    w.eq("status", f.status.map(codec::text));
    w.eq("order_type", f.order_type.map(codec::text));
    w.eq("customer_id", f.customer_id.as_ref().map(|c| c.as_str()));
    w.search(&ORDER_SEARCH, f.search.as_deref());
    w.created(ORDERS.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.date_range("order_date", &f.ordered);
}

pub(crate) fn order_order(f: &OrderFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        OrderSort::CreatedAt => None,
        OrderSort::UpdatedAt => Some(SortKey::int("updated_at")),
        OrderSort::OrderDate => Some(SortKey::text("order_date")),
        OrderSort::Total => Some(SortKey::int("total")),
    })
}

pub(crate) const PAYMENTS: Table = Table {
    name: "payments",
    entity: "payment",
    visibility: Visibility::CustomerOwned,
    columns: "id, organization_id, number, order_id, customer_id, amount, currency, method, payment_type, status, \
              payment_date, reference, notes, created_at, updated_at",
    id_prefix: "pay",
};

pub(crate) fn payment_from_row(r: &Row) -> Result<Payment> {
    Ok(Payment {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        number: r.text("number")?,
        order_id: r.opt_id("order_id")?,
        customer_id: r.id("customer_id")?,
        amount: r.money("amount")?,
        currency: r.text("currency")?,
        method: r.parse("method")?,
        payment_type: r.parse("payment_type")?,
        status: r.parse("status")?,
        payment_date: r.opt_date("payment_date")?,
        reference: r.opt_text("reference")?,
        notes: r.opt_text("notes")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn payment_insert(new: &NewPayment) -> Result<Values> {
    Ok(vec![
        ("order_id", codec::opt_text(new.order_id.as_ref())),
        ("customer_id", codec::text(&new.customer_id)),
        ("amount", codec::money(new.amount)?),
        ("currency", (&new.currency).into()),
        ("method", codec::text(new.method)),
        ("payment_type", codec::text(new.payment_type)),
        ("status", codec::text(new.status)),
        ("payment_date", codec::opt_date(new.payment_date)),
        ("reference", new.reference.clone().into()),
        ("notes", new.notes.clone().into()),
    ])
}

pub(crate) fn payment_filter(w: &mut Where, f: &PaymentFilter) {
    w.eq("status", f.status.map(codec::text));
    w.eq("method", f.method.map(codec::text));
    w.eq("payment_type", f.payment_type.map(codec::text));
    w.eq("customer_id", f.customer_id.as_ref().map(|c| c.as_str()));
    w.eq("order_id", f.order_id.as_ref().map(|o| o.as_str()));
    w.created(PAYMENTS.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.date_range("payment_date", &f.paid);
}

pub(crate) fn payment_order(f: &PaymentFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        PaymentSort::CreatedAt => None,
        PaymentSort::PaymentDate => Some(SortKey::text("payment_date").or_null()),
        PaymentSort::Amount => Some(SortKey::int("amount")),
    })
}
