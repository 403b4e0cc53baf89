//! Order and payment tools. All read-only; customers see only their own (the store scope).

use schemars::JsonSchema;
use serde::Deserialize;

use super::args::{Paging, ToolPage};
use super::{Tool, ToolContext, Toolset};
use crate::domain::*;
use crate::policy::{Action, Permission, Resource};
use crate::store::StoreOp;

const ORDER_READ: Permission = Permission::new(Resource::Order, Action::Read);
const PAYMENT_READ: Permission = Permission::new(Resource::Payment, Action::Read);

/// Arguments of `list_orders`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ListOrders {
    #[serde(flatten)]
    filter: OrderFilter,
    #[serde(flatten)]
    paging: Paging,
}

/// Arguments naming one order.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OrderRef {
    /// The order's id (not its `ORD-` number).
    order_id: OrderId,
}

/// Arguments of `list_payments`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ListPayments {
    #[serde(flatten)]
    filter: PaymentFilter,
    #[serde(flatten)]
    paging: Paging,
}

/// Arguments naming one payment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PaymentRef {
    /// The payment's id (not its `PAY-` number).
    payment_id: PaymentId,
}

pub(super) fn tools() -> Vec<Tool> {
    let sets = &[Toolset::Support];
    vec![
        Tool::builder("list_orders", "List orders, newest first, without their items. Filter by status, type, customer, or search text in number and notes. Returns total and next_cursor.")
            .permission(ORDER_READ)
            .for_customers()
            .toolsets(sets)
            .needs(&[StoreOp::ReadOrders])
            .handler(|cx: ToolContext, args: ListOrders| async move {
                Ok(ToolPage::from(cx.store.list_orders(&cx.scope, &args.filter, &args.paging.request()?).await?))
            }),
        Tool::builder("get_order", "Get one order by id, with its items (product, sku, quantity, unit price, total), totals, status and dates.")
            .permission(ORDER_READ)
            .for_customers()
            .toolsets(sets)
            .needs(&[StoreOp::ReadOrders])
            .handler(|cx: ToolContext, args: OrderRef| async move { cx.store.get_order(&cx.scope, &args.order_id).await }),
        Tool::builder("list_payments", "List payments, newest first. Filter by status, method, incoming or outgoing, customer or order. Returns total and next_cursor.")
            .permission(PAYMENT_READ)
            .for_customers()
            .toolsets(sets)
            .needs(&[StoreOp::ReadPayments])
            .handler(|cx: ToolContext, args: ListPayments| async move {
                Ok(ToolPage::from(cx.store.list_payments(&cx.scope, &args.filter, &args.paging.request()?).await?))
            }),
        Tool::builder("get_payment", "Get one payment by id, with its amount, method, status, order and dates.")
            .permission(PAYMENT_READ)
            .for_customers()
            .toolsets(sets)
            .needs(&[StoreOp::ReadPayments])
            .handler(|cx: ToolContext, args: PaymentRef| async move { cx.store.get_payment(&cx.scope, &args.payment_id).await }),
    ]
}
