//! What customers see of their own records.
//!
//! The store scope decides *which* records a customer reaches (their own); this decides which
//! *fields*. Each kind of record a customer can read has a customer-visible field set, and every
//! other field is the staff's: notes, custom fields, credit limit, assignees, the lead it came
//! from. A custom field is shown when its organization lists the key in
//! `settings.customer_visible_custom_fields`. Staff fields are left out of answers, and arguments
//! that would let a customer learn them by probing (filtering or sorting on them, a text search
//! that matches them) are refused.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::domain::{Customer, Issue, Order, Payment};
use crate::error::{Error, Result};

/// The kinds of record a customer can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CustomerRecord {
    /// Their own customer record.
    Customer,
    /// Their issues.
    Issue,
    /// Their orders.
    Order,
    /// Their payments.
    Payment,
}

impl CustomerRecord {
    /// Every kind.
    pub const ALL: [CustomerRecord; 4] =
        [CustomerRecord::Customer, CustomerRecord::Issue, CustomerRecord::Order, CustomerRecord::Payment];

    /// The fields a customer sees.
    pub fn visible_fields(self) -> &'static [&'static str] {
        match self {
            CustomerRecord::Customer => &[
                "id",
                "organization_id",
                "name",
                "customer_type",
                "company_name",
                "email",
                "phone",
                "address",
                "city",
                "state",
                "postal_code",
                "country",
                "industry",
                "website",
                "status",
                "custom_fields",
                "created_at",
                "updated_at",
            ],
            CustomerRecord::Issue => &[
                "id",
                "organization_id",
                "number",
                "title",
                "description",
                "priority",
                "category",
                "status",
                "customer_id",
                "order_id",
                "resolution_notes",
                "resolved_at",
                "custom_fields",
                "created_at",
                "updated_at",
            ],
            CustomerRecord::Order => &[
                "id",
                "organization_id",
                "number",
                "customer_id",
                "order_type",
                "status",
                "currency",
                "subtotal",
                "tax",
                "total",
                "order_date",
                "due_date",
                "items",
                "created_at",
                "updated_at",
            ],
            CustomerRecord::Payment => &[
                "id",
                "organization_id",
                "number",
                "order_id",
                "customer_id",
                "amount",
                "currency",
                "method",
                "payment_type",
                "status",
                "payment_date",
                "reference",
                "created_at",
                "updated_at",
            ],
        }
    }

    /// The fields a list's `search` text matches, as the SQL stores search them.
    pub(crate) fn searched_fields(self) -> &'static [&'static str] {
        match self {
            CustomerRecord::Customer => &["name", "company_name", "email", "phone"],
            CustomerRecord::Issue => &["number", "title", "description"],
            CustomerRecord::Order => &["number", "notes"],
            CustomerRecord::Payment => &[],
        }
    }

    /// Every field of the record (its JSON form).
    fn all_fields(self) -> &'static [String] {
        static FIELDS: OnceLock<BTreeMap<CustomerRecord, Vec<String>>> = OnceLock::new();
        let fields = FIELDS.get_or_init(|| {
            let names = |schema: schemars::Schema| -> Vec<String> {
                schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|properties| properties.keys().cloned().collect())
                    .unwrap_or_default()
            };
            BTreeMap::from([
                (CustomerRecord::Customer, names(schemars::schema_for!(Customer))),
                (CustomerRecord::Issue, names(schemars::schema_for!(Issue))),
                (CustomerRecord::Order, names(schemars::schema_for!(Order))),
                (CustomerRecord::Payment, names(schemars::schema_for!(Payment))),
            ])
        });
        &fields[&self]
    }

    fn is_visible(self, field: &str) -> bool {
        self.visible_fields().contains(&field)
    }

    /// Whether `field` is a field of this record that customers do not see.
    fn is_staff_field(self, field: &str) -> bool {
        !self.is_visible(field) && self.all_fields().iter().any(|f| f == field)
    }
}

/// How a tool's answer holds its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The answer is one record.
    One,
    /// The answer is a page: the records are its `items`. (Only the declaration can tell: an
    /// order has `items` too, its lines.)
    Page,
}

impl Shape {
    /// The records of `answer`: itself, or its `items`.
    fn records(self, answer: &mut Value) -> Vec<&mut Value> {
        match (self, answer) {
            (Shape::One, answer) => vec![answer],
            (Shape::Page, Value::Object(page)) => match page.get_mut("items") {
                Some(Value::Array(items)) => items.iter_mut().collect(),
                _ => Vec::new(),
            },
            (Shape::Page, _) => Vec::new(),
        }
    }
}

/// Leaves out of `answer` (records of `kind`, held as `shape` says) what a customer does not
/// see; of `custom_fields`, the keys in `visible_custom_fields` stay.
pub fn hide_staff_fields(kind: CustomerRecord, shape: Shape, answer: &mut Value, visible_custom_fields: &[String]) {
    for record in shape.records(answer) {
        let Value::Object(fields) = record else { continue };
        fields.retain(|name, _| kind.is_visible(name));
        if let Some(Value::Object(custom)) = fields.get_mut("custom_fields") {
            custom.retain(|key, _| visible_custom_fields.contains(key));
        }
    }
}

/// Makes the fields customers do not see optional in `schema`, the output schema of a tool
/// answering with records of `kind` held as `shape` says: a customer's answer leaves them out,
/// and it must still match the schema the tool declares.
pub fn staff_fields_optional(kind: CustomerRecord, shape: Shape, schema: &mut Value) {
    let record = match shape {
        Shape::One => Some(schema),
        Shape::Page => schema.pointer_mut("/properties/items/items"),
    };
    if let Some(Value::Array(required)) = record.and_then(|record| record.get_mut("required")) {
        required.retain(|field| field.as_str().is_some_and(|field| kind.is_visible(field)));
    }
}

/// Refuses list arguments (a list tool's, or an aggregate's `filter`) on records of `kind` that
/// would tell a customer about a field they do not see: a filter on it, a sort by it, a filter
/// on a custom field key they do not see, or a `search` whose text is matched against it.
pub fn check_customer_arguments(kind: CustomerRecord, args: &Value, visible_custom_fields: &[String]) -> Result<()> {
    let Value::Object(args) = args else { return Ok(()) };
    for (name, value) in args {
        if kind.is_staff_field(name) {
            return Err(not_for_customers(name));
        }
        match (name.as_str(), value) {
            ("custom_fields", Value::Object(keys)) => {
                if let Some(key) = keys.keys().find(|key| !visible_custom_fields.contains(key)) {
                    return Err(not_for_customers(&format!("custom_fields.{key}")));
                }
            }
            ("sort", Value::String(sort)) => check_customer_field(kind, sort.trim_start_matches('-'))?,
            ("search", Value::String(_)) => {
                if let Some(field) = kind.searched_fields().iter().find(|f| !kind.is_visible(f)) {
                    return Err(Error::PermissionDenied(format!(
                        "`search` is not available to customers here: its text is matched against `{field}`, \
                         which customers do not see"
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuses `field` of `kind` (an aggregate's measured or grouped field) when customers do not
/// see it.
pub fn check_customer_field(kind: CustomerRecord, field: &str) -> Result<()> {
    if kind.is_staff_field(field) { Err(not_for_customers(field)) } else { Ok(()) }
}

fn not_for_customers(field: &str) -> Error {
    Error::PermissionDenied(format!("`{field}` is not available to customers"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_visible_field_is_a_field_of_its_record() {
        for kind in CustomerRecord::ALL {
            for field in kind.visible_fields().iter().chain(kind.searched_fields()) {
                assert!(kind.all_fields().iter().any(|f| f == field), "{kind:?} has no field `{field}`");
            }
        }
    }

    #[test]
    fn staff_fields_leave_records_and_pages() {
        let record = serde_json::json!({
            "id": "cus_1", "name": "Ann", "notes": "INTERNAL: slow payer", "credit_limit": "5000.00",
            "assigned_to": "emp_1", "custom_fields": {"tier": "gold", "risk": "high"}
        });
        let mut one = record.clone();
        hide_staff_fields(CustomerRecord::Customer, Shape::One, &mut one, &["tier".to_owned()]);
        assert_eq!(one, serde_json::json!({"id": "cus_1", "name": "Ann", "custom_fields": {"tier": "gold"}}));
        let mut page = serde_json::json!({"items": [record], "total": 1, "next_cursor": null});
        hide_staff_fields(CustomerRecord::Customer, Shape::Page, &mut page, &[]);
        assert_eq!(page["items"][0], serde_json::json!({"id": "cus_1", "name": "Ann", "custom_fields": {}}));
        assert_eq!(page["total"], 1);
    }

    #[test]
    fn an_orders_lines_are_not_a_page() {
        let mut order = serde_json::json!({
            "id": "ord_1", "total": "10.00", "notes": "INTERNAL", "items": [{"product": "Widget", "quantity": 1}]
        });
        hide_staff_fields(CustomerRecord::Order, Shape::One, &mut order, &[]);
        assert_eq!(
            order,
            serde_json::json!({"id": "ord_1", "total": "10.00", "items": [{"product": "Widget", "quantity": 1}]})
        );
    }

    #[test]
    fn probing_arguments_are_refused() {
        let check = |kind, args: Value| check_customer_arguments(kind, &args, &["tier".to_owned()]);
        assert!(check(CustomerRecord::Customer, serde_json::json!({"assigned_to": "emp_1"})).is_err());
        assert!(check(CustomerRecord::Customer, serde_json::json!({"sort": "-credit_limit"})).is_err());
        assert!(check(CustomerRecord::Customer, serde_json::json!({"custom_fields": {"risk": "high"}})).is_err());
        assert!(check(CustomerRecord::Order, serde_json::json!({"search": "slow payer"})).is_err());
        assert!(check(CustomerRecord::Customer, serde_json::json!({"custom_fields": {"tier": "gold"}})).is_ok());
        assert!(check(CustomerRecord::Issue, serde_json::json!({"search": "broken", "sort": "-priority"})).is_ok());
        assert!(check(CustomerRecord::Payment, serde_json::json!({"status": "completed", "limit": 5})).is_ok());
    }
}
