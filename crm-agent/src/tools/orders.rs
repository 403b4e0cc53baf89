//! Order and payment tools. All read-only; customers see only their own (the store scope).

use schemars::JsonSchema;
use serde::Deserialize;

use super::args::{Paging, ToolPage};
use super::dates::{Calendar, Changed, SortArg, sort_of};
use super::{Tool, ToolContext, Toolset};
use crate::domain::*;
use crate::error::Result;
use crate::policy::{Action, CustomerRecord, Permission, Resource};
use crate::store::StoreOp;

const ORDER_READ: Permission = Permission::new(Resource::Order, Action::Read);
const PAYMENT_READ: Permission = Permission::new(Resource::Payment, Action::Read);

/// Arguments of `list_orders`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ListOrders {
    #[serde(flatten)]
    filter: OrderFilter,
    #[serde(flatten)]
    changed: Changed,
    /// Only orders placed on or after this day (`YYYY-MM-DD`; a time stands for its day).
    #[serde(default)]
    ordered_after: Option<String>,
    /// Only orders placed on or before this day (`YYYY-MM-DD`; a time stands for its day).
    #[serde(default)]
    ordered_before: Option<String>,
    /// The order: a field, or `-` and a field for largest or latest first (default: newest first).
    #[serde(default)]
    sort: Option<SortArg<OrderSort>>,
    #[serde(flatten)]
    paging: Paging,
}

/// `aggregate_records`' filter of this kind: `list_orders`'s arguments without paging and order.
pub(super) async fn aggregate_filter(cx: &ToolContext, filter: serde_json::Value) -> Result<OrderFilter> {
    super::args::list_filter::<ListOrders>("list_orders", filter)?.filter(cx).await
}

/// `aggregate_records`' filter of payments: `list_payments`' arguments without paging and order.
pub(super) async fn aggregate_payment_filter(cx: &ToolContext, filter: serde_json::Value) -> Result<PaymentFilter> {
    super::args::list_filter::<ListPayments>("list_payments", filter)?.filter(cx).await
}

impl ListOrders {
    /// The store's filter, with the date arguments turned into spans by the organization's
    /// calendar (read only when a date argument is given).
    async fn filter(self, cx: &ToolContext) -> Result<OrderFilter> {
        let calendar =
            Calendar::of(cx, self.changed.given() || self.ordered_after.is_some() || self.ordered_before.is_some())
                .await?;
        let mut filter = self.filter;
        (filter.created, filter.updated) = self.changed.spans(&calendar)?;
        filter.ordered =
            calendar.days(("ordered_after", &self.ordered_after), ("ordered_before", &self.ordered_before))?;
        filter.sort = sort_of(self.sort);
        Ok(filter)
    }
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
    changed: Changed,
    /// Only payments paid on or after this day (`YYYY-MM-DD`; a time stands for its day).
    #[serde(default)]
    paid_after: Option<String>,
    /// Only payments paid on or before this day (`YYYY-MM-DD`; a time stands for its day).
    #[serde(default)]
    paid_before: Option<String>,
    /// The order: a field, or `-` and a field for largest or latest first (default: newest first).
    #[serde(default)]
    sort: Option<SortArg<PaymentSort>>,
    #[serde(flatten)]
    paging: Paging,
}

impl ListPayments {
    /// The store's filter, with the date arguments turned into spans by the organization's
    /// calendar (read only when a date argument is given).
    async fn filter(self, cx: &ToolContext) -> Result<PaymentFilter> {
        let calendar =
            Calendar::of(cx, self.changed.given() || self.paid_after.is_some() || self.paid_before.is_some()).await?;
        let mut filter = self.filter;
        (filter.created, filter.updated) = self.changed.spans(&calendar)?;
        filter.paid = calendar.days(("paid_after", &self.paid_after), ("paid_before", &self.paid_before))?;
        filter.sort = sort_of(self.sort);
        Ok(filter)
    }
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
        Tool::builder("list_orders", "List orders, newest first, without their items. Filter by order date, creation or change date, status, type, customer, or search text in number and notes. Dates are `YYYY-MM-DD` (a whole day in the organization's time zone) or RFC 3339. Returns total and next_cursor.")
            .permission(ORDER_READ)
            .for_customers()
            .lists(CustomerRecord::Order)
            .toolsets(sets)
            .needs(&[StoreOp::ReadOrders])
            .handler(|cx: ToolContext, args: ListOrders| async move {
                let page = args.paging.request()?;
                let filter = args.filter(&cx).await?;
                Ok(ToolPage::from(cx.store.list_orders(&cx.scope, &filter, &page).await?))
            }),
        Tool::builder("get_order", "Get one order by id, with its items (product, sku, quantity, unit price, total), totals, status and dates.")
            .permission(ORDER_READ)
            .for_customers()
            .shows(CustomerRecord::Order)
            .toolsets(sets)
            .needs(&[StoreOp::ReadOrders])
            .handler(|cx: ToolContext, args: OrderRef| async move { cx.store.get_order(&cx.scope, &args.order_id).await }),
        Tool::builder("list_payments", "List payments, newest first unless `sort` names another order. Filter by payment date, creation or change date, status, method, incoming or outgoing, customer or order. Dates are `YYYY-MM-DD` (a whole day in the organization's time zone) or RFC 3339. Returns total and next_cursor.")
            .permission(PAYMENT_READ)
            .for_customers()
            .lists(CustomerRecord::Payment)
            .toolsets(sets)
            .needs(&[StoreOp::ReadPayments])
            .handler(|cx: ToolContext, args: ListPayments| async move {
                let page = args.paging.request()?;
                let filter = args.filter(&cx).await?;
                Ok(ToolPage::from(cx.store.list_payments(&cx.scope, &filter, &page).await?))
            }),
        Tool::builder("get_payment", "Get one payment by id, with its amount, method, status, order and dates.")
            .permission(PAYMENT_READ)
            .for_customers()
            .shows(CustomerRecord::Payment)
            .toolsets(sets)
            .needs(&[StoreOp::ReadPayments])
            .handler(|cx: ToolContext, args: PaymentRef| async move { cx.store.get_payment(&cx.scope, &args.payment_id).await }),
    ]
}
