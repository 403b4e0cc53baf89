use serde::{Deserialize, Serialize};

use super::{
    CustomerId, Date, DateRange, Money, OrderId, OrderSort, OrganizationId, PaymentId, PaymentSort, Sort, TimeRange,
    Timestamp, check, string_enum,
};
use crate::error::{Error, Result};

string_enum! {
    /// What an order is for.
    OrderType { Purchase => "purchase", Service => "service", Subscription => "subscription", Maintenance => "maintenance" }
}

string_enum! {
    /// Where an order stands.
    OrderStatus {
        Draft => "draft", Pending => "pending", Approved => "approved", InProgress => "in_progress",
        Completed => "completed", Cancelled => "cancelled",
    }
}

string_enum! {
    /// How a payment is made.
    PaymentMethod {
        BankTransfer => "bank_transfer", CreditCard => "credit_card", DebitCard => "debit_card", Check => "check",
        Cash => "cash", Paypal => "paypal", Stripe => "stripe", Other => "other",
    }
}

string_enum! {
    /// Money in or out.
    PaymentType { Incoming => "incoming", Outgoing => "outgoing" }
}

string_enum! {
    /// Where a payment stands.
    PaymentStatus {
        Pending => "pending", Processing => "processing", Completed => "completed", Failed => "failed",
        Refunded => "refunded", Cancelled => "cancelled",
    }
}

/// An order of a customer, with its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Order {
    /// Opaque id (not the `ORD-` number).
    pub id: OrderId,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// `ORD-YYYY-NNNN`, unique per organization.
    pub number: String,
    /// The customer.
    pub customer_id: CustomerId,
    /// What it is for.
    pub order_type: OrderType,
    /// Status.
    pub status: OrderStatus,
    /// ISO currency code.
    pub currency: String,
    /// Σ item totals.
    pub subtotal: Money,
    /// Tax.
    pub tax: Money,
    /// subtotal + tax.
    pub total: Money,
    /// Order date.
    pub order_date: Date,
    /// Due date.
    pub due_date: Option<Date>,
    /// Notes.
    pub notes: Option<String>,
    /// The items (empty in list results; filled by get).
    pub items: Vec<OrderItem>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderItem {
    /// Opaque id.
    pub id: String,
    /// Product name.
    pub product: String,
    /// Stock keeping unit.
    pub sku: Option<String>,
    /// How many.
    pub quantity: u32,
    /// Price of one.
    pub unit_price: Money,
    /// quantity × unit price.
    pub total: Money,
}

/// An order to create, with its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// The customer.
    pub customer_id: CustomerId,
    /// What it is for (default `purchase`).
    #[serde(default = "default_order_type")]
    pub order_type: OrderType,
    /// Status (default `pending`).
    #[serde(default = "default_order_status")]
    pub status: OrderStatus,
    /// ISO currency code (default `USD`).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Tax (default 0).
    #[serde(default)]
    pub tax: Money,
    /// Order date.
    pub order_date: Date,
    /// Due date.
    #[serde(default)]
    pub due_date: Option<Date>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// The items (at least one).
    pub items: Vec<NewOrderItem>,
    /// Creation time; `None` means now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub created_at: Option<Timestamp>,
}

/// One line of a new order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrderItem {
    /// Product name.
    pub product: String,
    /// Stock keeping unit.
    #[serde(default)]
    pub sku: Option<String>,
    /// How many (1 to 1,000,000).
    pub quantity: u32,
    /// Price of one.
    pub unit_price: Money,
}

fn default_order_type() -> OrderType {
    OrderType::Purchase
}

fn default_order_status() -> OrderStatus {
    OrderStatus::Pending
}

fn default_currency() -> String {
    "USD".into()
}

fn default_payment_method() -> PaymentMethod {
    PaymentMethod::BankTransfer
}

fn default_payment_type() -> PaymentType {
    PaymentType::Incoming
}

fn default_payment_status() -> PaymentStatus {
    PaymentStatus::Pending
}

/// Most items on one order.
pub const MAX_ORDER_ITEMS: usize = 500;

impl NewOrderItem {
    /// quantity × unit price.
    pub fn total(&self) -> Money {
        self.unit_price * Money::from(self.quantity)
    }

    /// Checks the product, quantity and price.
    pub fn validate(&self) -> Result<()> {
        check::required("items.product", &self.product)?;
        check::opt(self.sku.as_deref(), |v| check::short("items.sku", v))?;
        if !(1..=1_000_000).contains(&self.quantity) {
            return Err(Error::invalid(format!(
                "`items.quantity` must be between 1 and 1000000 (got {})",
                self.quantity
            )));
        }
        check::money("items.unit_price", self.unit_price)?;
        check::money("items.total", self.total())
    }
}

impl NewOrder {
    /// Σ item totals.
    pub fn subtotal(&self) -> Money {
        self.items.iter().map(NewOrderItem::total).sum()
    }

    /// subtotal + tax.
    pub fn total(&self) -> Money {
        self.subtotal() + self.tax
    }

    /// Checks every item and the totals.
    pub fn validate(&self) -> Result<()> {
        check::not_future("created_at", self.created_at)?;
        if self.items.is_empty() || self.items.len() > MAX_ORDER_ITEMS {
            return Err(Error::invalid(format!("`items` must have between 1 and {MAX_ORDER_ITEMS} items")));
        }
        for item in &self.items {
            item.validate()?;
        }
        check::currency("currency", &self.currency)?;
        check::money("tax", self.tax)?;
        check::money("total", self.total())?;
        check::opt(self.notes.as_deref(), |v| check::long("notes", v))
    }
}

/// Filters of `list_orders`; all given filters must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderFilter {
    /// Only this status.
    #[serde(default)]
    pub status: Option<OrderStatus>,
    /// Only this type.
    #[serde(default)]
    pub order_type: Option<OrderType>,
    /// Only this customer's orders.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// Case-insensitive text over number and notes.
    #[serde(default)]
    pub search: Option<String>,
    /// Only orders created in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub created: TimeRange,
    /// Only orders last changed in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub updated: TimeRange,
    /// Only orders placed on these days.
    #[serde(default, skip_serializing_if = "DateRange::is_open")]
    #[schemars(skip)]
    pub ordered: DateRange,
    /// The order (default: newest first).
    #[serde(default, skip_serializing_if = "super::query::is_default_sort")]
    #[schemars(skip)]
    pub sort: Option<Sort<OrderSort>>,
}

/// A payment by (or to) a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Payment {
    /// Opaque id (not the `PAY-` number).
    pub id: PaymentId,
    /// The owning organization.
    pub organization_id: OrganizationId,
    /// `PAY-YYYY-NNNN`, unique per organization.
    pub number: String,
    /// The order it pays.
    pub order_id: Option<OrderId>,
    /// The customer.
    pub customer_id: CustomerId,
    /// Amount.
    pub amount: Money,
    /// ISO currency code.
    pub currency: String,
    /// Method.
    pub method: PaymentMethod,
    /// In or out.
    pub payment_type: PaymentType,
    /// Status.
    pub status: PaymentStatus,
    /// Payment date.
    pub payment_date: Option<Date>,
    /// External reference.
    pub reference: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// A payment to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    /// The order it pays.
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// The customer.
    pub customer_id: CustomerId,
    /// Amount (more than zero).
    pub amount: Money,
    /// ISO currency code (default `USD`).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Method (default `bank_transfer`).
    #[serde(default = "default_payment_method")]
    pub method: PaymentMethod,
    /// In or out (default `incoming`).
    #[serde(default = "default_payment_type")]
    pub payment_type: PaymentType,
    /// Status (default `pending`).
    #[serde(default = "default_payment_status")]
    pub status: PaymentStatus,
    /// Payment date.
    #[serde(default)]
    pub payment_date: Option<Date>,
    /// External reference.
    #[serde(default)]
    pub reference: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// Creation time; `None` means now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub created_at: Option<Timestamp>,
}

impl NewPayment {
    /// Checks the amount, currency and texts.
    pub fn validate(&self) -> Result<()> {
        check::not_future("created_at", self.created_at)?;
        check::money("amount", self.amount)?;
        if self.amount.is_zero() {
            return Err(Error::invalid("`amount` must be more than zero"));
        }
        check::currency("currency", &self.currency)?;
        check::opt(self.reference.as_deref(), |v| check::short("reference", v))?;
        check::opt(self.notes.as_deref(), |v| check::long("notes", v))
    }
}

/// Filters of `list_payments`; all given filters must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PaymentFilter {
    /// Only this status.
    #[serde(default)]
    pub status: Option<PaymentStatus>,
    /// Only this method.
    #[serde(default)]
    pub method: Option<PaymentMethod>,
    /// Only incoming or outgoing.
    #[serde(default)]
    pub payment_type: Option<PaymentType>,
    /// Only this customer's payments.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// Only payments of this order.
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// Only payments created in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub created: TimeRange,
    /// Only payments last changed in this span.
    #[serde(default, skip_serializing_if = "TimeRange::is_open")]
    #[schemars(skip)]
    pub updated: TimeRange,
    /// Only payments made on these days.
    #[serde(default, skip_serializing_if = "DateRange::is_open")]
    #[schemars(skip)]
    pub paid: DateRange,
    /// The order (default: newest first).
    #[serde(default, skip_serializing_if = "super::query::is_default_sort")]
    #[schemars(skip)]
    pub sort: Option<Sort<PaymentSort>>,
}
