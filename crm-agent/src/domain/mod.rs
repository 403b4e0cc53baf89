//! Plain data: every entity, enum, filter and patch that tools and stores exchange.
//!
//! Types here carry no behaviour beyond validation. Enums are validated on input: a bad value
//! is an [`Error::InvalidArgument`] naming the allowed values. Money is [`Decimal`] (never a
//! float), timestamps are UTC.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod access;
mod activity;
mod aggregate;
mod conversation;
mod customer;
mod deal;
mod employee;
mod issue;
mod lead;
mod order;
mod organization;
mod pipeline;
mod query;
mod stats;
mod token;
mod toolset;

pub use access::*;
pub use activity::*;
pub use aggregate::*;
pub use conversation::*;
pub use customer::*;
pub use deal::*;
pub use employee::*;
pub use issue::*;
pub use lead::*;
pub use order::*;
pub use organization::*;
pub use pipeline::*;
pub use query::*;
pub use stats::*;
pub use token::*;
pub use toolset::*;

pub use rust_decimal::Decimal as Money;

/// A point in time, always UTC.
pub type Timestamp = DateTime<Utc>;
/// A calendar date without time zone (hire dates, close dates, due dates).
pub type Date = chrono::NaiveDate;

/// Defines a closed set of snake_case string values with validated parsing: an unknown value
/// is an error that lists every allowed value.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* #[doc = concat!("`", $text, "`")] $variant),+
        }

        impl $name {
            /// Every allowed value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The allowed values joined with `, ` (for error messages and schemas).
            pub fn allowed() -> String {
                [$($text),+].join(", ")
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::error::Error::InvalidArgument(format!(
                        "`{}` is not a valid {}; allowed values: {}",
                        other, $crate::domain::enum_label(stringify!($name)), $name::allowed()
                    ))),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::schemars::json_schema!({ "type": "string", "enum": [$($text),+] })
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(|e: $crate::error::Error| {
                    ::serde::de::Error::custom(e.to_string().trim_start_matches("invalid argument: "))
                })
            }
        }
    };
}
pub(crate) use string_enum;

/// Defines an opaque string id newtype.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize, ::schemars::JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }
    };
}
pub(crate) use id_type;

id_type!(
    /// An organization (tenant) id.
    OrganizationId
);
id_type!(
    /// A customer record id.
    CustomerId
);
id_type!(
    /// An employee record id.
    EmployeeId
);
id_type!(
    /// A lead id.
    LeadId
);
id_type!(
    /// A deal id.
    DealId
);
id_type!(
    /// A pipeline id.
    PipelineId
);
id_type!(
    /// A pipeline stage id.
    StageId
);
id_type!(
    /// A support issue id (not its `ISS-` number).
    IssueId
);
id_type!(
    /// An order id (not its `ORD-` number).
    OrderId
);
id_type!(
    /// A payment id (not its `PAY-` number).
    PaymentId
);
id_type!(
    /// An activity id.
    ActivityId
);
id_type!(
    /// A role id.
    RoleId
);

/// "QualificationStatus" → "qualification status", for error messages.
#[doc(hidden)]
pub fn enum_label(type_name: &str) -> String {
    let mut out = String::with_capacity(type_name.len() + 4);
    for (i, c) in type_name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

string_enum! {
    /// Priority of a deal or an issue.
    Priority { Low => "low", Medium => "medium", High => "high", Urgent => "urgent" }
}

/// A host's own scalar field values on customers, leads, deals and issues
/// (e.g. `{"tier": "gold"}`). Values are strings, numbers or booleans.
pub type CustomFields = BTreeMap<String, serde_json::Value>;

/// Longest accepted names, titles, emails and other one-line text.
pub const MAX_SHORT_TEXT: usize = 200;
/// Longest accepted notes, descriptions and comment bodies.
pub const MAX_LONG_TEXT: usize = 20_000;
/// Most tags on one record.
pub const MAX_TAGS: usize = 50;
/// Most custom fields on one record.
pub const MAX_CUSTOM_FIELDS: usize = 50;
/// Largest amount of money accepted (keeps every sum within 64-bit minor units).
pub const MAX_MONEY: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0); // 1e9

/// Field checks shared by every entity's `validate`.
pub mod check {
    use super::*;

    /// How far ahead of this clock a given creation time may be: another machine's clock.
    pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(1);

    /// A creation time given by an importer: not in the future (beyond [`CLOCK_SKEW`]).
    pub fn not_future(field: &str, value: Option<Timestamp>) -> Result<()> {
        match value {
            Some(at) if at > chrono::Utc::now() + CLOCK_SKEW => {
                Err(Error::invalid(format!("`{field}` must not be in the future (got {})", at.to_rfc3339())))
            }
            _ => Ok(()),
        }
    }

    /// A required one-line text: not blank, at most [`MAX_SHORT_TEXT`] characters.
    pub fn required(field: &str, value: &str) -> Result<()> {
        if value.trim().is_empty() {
            return Err(Error::invalid(format!("`{field}` must not be empty")));
        }
        short(field, value)
    }

    /// An optional one-line text of at most [`MAX_SHORT_TEXT`] characters.
    pub fn short(field: &str, value: &str) -> Result<()> {
        length(field, value, MAX_SHORT_TEXT)
    }

    /// A long text (notes, descriptions) of at most [`MAX_LONG_TEXT`] characters.
    pub fn long(field: &str, value: &str) -> Result<()> {
        length(field, value, MAX_LONG_TEXT)
    }

    fn length(field: &str, value: &str, max: usize) -> Result<()> {
        let n = value.chars().count();
        if n > max {
            return Err(Error::invalid(format!("`{field}` is {n} characters long; at most {max} are allowed")));
        }
        Ok(())
    }

    /// A plausible email address.
    pub fn email(field: &str, value: &str) -> Result<()> {
        short(field, value)?;
        let ok = value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !value.contains(char::is_whitespace)
        });
        if ok { Ok(()) } else { Err(Error::invalid(format!("`{field}` is not a valid email address: `{value}`"))) }
    }

    /// Money: not negative, at most two decimal places, below [`MAX_MONEY`].
    pub fn money(field: &str, value: Decimal) -> Result<()> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(Error::invalid(format!("`{field}` must not be negative (got {value})")));
        }
        if value.normalize().scale() > 2 {
            return Err(Error::invalid(format!("`{field}` has more than two decimal places (got {value})")));
        }
        if value >= MAX_MONEY {
            return Err(Error::invalid(format!("`{field}` is too large (got {value}; limit {MAX_MONEY})")));
        }
        Ok(())
    }

    /// A percentage or score from 0 to 100.
    pub fn percent(field: &str, value: i64) -> Result<()> {
        if !(0..=100).contains(&value) {
            return Err(Error::invalid(format!("`{field}` must be between 0 and 100 (got {value})")));
        }
        Ok(())
    }

    /// A three-letter ISO currency code.
    pub fn currency(field: &str, value: &str) -> Result<()> {
        if value.len() == 3 && value.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(())
        } else {
            Err(Error::invalid(format!("`{field}` must be a three-letter currency code like USD (got `{value}`)")))
        }
    }

    /// Tags: at most [`MAX_TAGS`], each non-empty and at most 64 characters.
    pub fn tags(field: &str, tags: &[String]) -> Result<()> {
        if tags.len() > MAX_TAGS {
            return Err(Error::invalid(format!("`{field}` has {} tags; at most {MAX_TAGS} are allowed", tags.len())));
        }
        for tag in tags {
            if tag.trim().is_empty() || tag.chars().count() > 64 {
                return Err(Error::invalid(format!("`{field}` entries must be 1 to 64 characters (got `{tag}`)")));
            }
        }
        Ok(())
    }

    /// Custom fields: identifier-like keys, scalar values.
    pub fn custom_fields(field: &str, fields: &CustomFields) -> Result<()> {
        if fields.len() > MAX_CUSTOM_FIELDS {
            return Err(Error::invalid(format!(
                "`{field}` has {} keys; at most {MAX_CUSTOM_FIELDS} are allowed",
                fields.len()
            )));
        }
        for (key, value) in fields {
            custom_field_key(field, key)?;
            match value {
                serde_json::Value::String(s) => length(&format!("{field}.{key}"), s, 1000)?,
                serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {}
                _ => {
                    return Err(Error::invalid(format!("`{field}.{key}` must be a string, number or boolean")));
                }
            }
        }
        Ok(())
    }

    /// A custom field key: 1–64 characters of `[A-Za-z0-9_]`, not starting with a digit.
    pub fn custom_field_key(field: &str, key: &str) -> Result<()> {
        let ok = !key.is_empty()
            && key.len() <= 64
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with(|c: char| c.is_ascii_digit());
        if ok {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "`{field}` key `{key}` must be 1-64 letters, digits or underscores, not starting with a digit"
            )))
        }
    }

    /// Validates an optional value with `f`.
    pub fn opt<T: ?Sized>(value: Option<&T>, f: impl FnOnce(&T) -> Result<()>) -> Result<()> {
        value.map_or(Ok(()), f)
    }
}

/// The keyword a [`Change`]'s schema carries, so a tool's input schema can offer the field in
/// its `clear` list; tool input schemas remove it before anyone sees them.
pub(crate) const CLEARABLE_KEYWORD: &str = "x-crm-agent-clearable";

/// One field of a patch: leave it as it is, clear it, or set it.
///
/// In JSON (what stores written in other languages receive, and what patches read) a field
/// that is absent keeps its value, `null` clears it, and any other value sets it. Tool arguments
/// say "clear" by naming the field in the tool's `clear` list instead, since several model APIs
/// cannot send `null` (see `tools::schema`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Change<T> {
    /// Leave the field as it is.
    #[default]
    Keep,
    /// Leave the field without a value.
    Clear,
    /// Give the field this value.
    Set(T),
}

impl<T> Change<T> {
    /// Whether the field is left as it is (for `skip_serializing_if`).
    pub fn is_keep(&self) -> bool {
        matches!(self, Change::Keep)
    }

    /// The value the field is set to, if it is set.
    pub fn value(&self) -> Option<&T> {
        match self {
            Change::Set(value) => Some(value),
            Change::Keep | Change::Clear => None,
        }
    }

    /// The value the field is set to, through `Deref` (`&str` for a `Change<String>`).
    pub fn as_deref(&self) -> Option<&T::Target>
    where
        T: std::ops::Deref,
    {
        self.value().map(|value| &**value)
    }

    /// `None` to keep the field, `Some(None)` to clear it, `Some(Some(value))` to set it.
    pub fn as_update(&self) -> Option<Option<&T>> {
        match self {
            Change::Keep => None,
            Change::Clear => Some(None),
            Change::Set(value) => Some(Some(value)),
        }
    }

    /// [`Change::as_update`], by value.
    pub fn into_update(self) -> Option<Option<T>> {
        match self {
            Change::Keep => None,
            Change::Clear => Some(None),
            Change::Set(value) => Some(Some(value)),
        }
    }
}

impl<T> From<Option<T>> for Change<T> {
    /// `Some(value)` sets the field, `None` clears it.
    fn from(value: Option<T>) -> Self {
        match value {
            Some(value) => Change::Set(value),
            None => Change::Clear,
        }
    }
}

impl<T: Serialize> Serialize for Change<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Change::Set(value) => value.serialize(serializer),
            // `Keep` is skipped by the field's `skip_serializing_if`; alone it reads as "no value".
            Change::Keep | Change::Clear => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Change<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Change::from)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Change<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Change_of_{}", T::schema_name()).into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // The value's schema, nullable (as JSON reads a clear), marked so that tool input
        // schemas list the field under `clear` instead (see `tools::schema`).
        let mut schema = generator.subschema_for::<Option<T>>();
        schema.insert(CLEARABLE_KEYWORD.to_owned(), serde_json::Value::Bool(true));
        schema
    }
}

/// A pagination request: at most `limit` items after the opaque `cursor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageRequest {
    /// How many items to return (1..=[`PageRequest::MAX_LIMIT`]).
    pub limit: u32,
    /// Where to continue: the `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

impl PageRequest {
    /// Default page size of list tools.
    pub const DEFAULT_LIMIT: u32 = 20;
    /// Largest page a list tool returns.
    pub const MAX_LIMIT: u32 = 100;

    /// The first page of `limit` items (clamped to 1..=MAX_LIMIT).
    pub fn first(limit: u32) -> Self {
        PageRequest { limit: limit.clamp(1, Self::MAX_LIMIT), cursor: None }
    }

    /// The page after `cursor`.
    pub fn after(limit: u32, cursor: impl Into<String>) -> Self {
        PageRequest { limit: limit.clamp(1, Self::MAX_LIMIT), cursor: Some(cursor.into()) }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest::first(Self::DEFAULT_LIMIT)
    }
}

/// One page of a list: the items, how many match in all, and where to continue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Page<T> {
    /// The items of this page, newest first.
    pub items: Vec<T>,
    /// How many items match the filter in all (across every page).
    pub total: u64,
    /// The cursor of the next page, or `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Maps the items, keeping `total` and `next_cursor`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total, next_cursor: self.next_cursor }
    }
}

/// The kinds of per-organization document numbers (`ISS-2026-0001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberKind {
    /// Support issues, `ISS-`.
    Issue,
    /// Orders, `ORD-`.
    Order,
    /// Payments, `PAY-`.
    Payment,
}

impl NumberKind {
    /// The number prefix without the dash.
    pub const fn prefix(self) -> &'static str {
        match self {
            NumberKind::Issue => "ISS",
            NumberKind::Order => "ORD",
            NumberKind::Payment => "PAY",
        }
    }

    /// Formats the `sequence`-th number of `year`: `ISS-2026-0042` (more digits past 9999).
    pub fn format(self, year: i32, sequence: u64) -> String {
        format!("{}-{year}-{sequence:04}", self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_enum_values_name_the_allowed_values() {
        let err = "banana".parse::<Priority>().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert_eq!(
            err.to_string(),
            "invalid argument: `banana` is not a valid priority; allowed values: low, medium, high, urgent"
        );
        let err = serde_json::from_str::<Priority>("\"banana\"").unwrap_err().to_string();
        assert!(err.contains("allowed values: low, medium, high, urgent"), "{err}");
        assert_eq!(serde_json::to_string(&Priority::Urgent).unwrap(), "\"urgent\"");
    }

    #[test]
    fn money_is_checked() {
        assert!(check::money("value", Decimal::new(1999, 2)).is_ok());
        assert!(check::money("value", Decimal::new(-1, 0)).unwrap_err().to_string().contains("negative"));
        assert!(check::money("value", Decimal::new(1001, 3)).is_err());
        assert!(check::money("value", Decimal::new(1000, 3)).is_ok(), "1.000 has two significant places");
        assert!(check::money("value", MAX_MONEY).is_err());
    }

    #[test]
    fn oversized_text_is_rejected_with_the_field_name() {
        let long = "x".repeat(MAX_SHORT_TEXT + 1);
        let err = check::required("name", &long).unwrap_err().to_string();
        assert!(err.contains("`name`") && err.contains("at most 200"), "{err}");
        assert!(check::required("name", "  ").is_err());
    }

    #[test]
    fn custom_fields_must_be_scalars_with_plain_keys() {
        let mut fields = CustomFields::new();
        fields.insert("tier".into(), serde_json::json!("gold"));
        fields.insert("seats".into(), serde_json::json!(12));
        assert!(check::custom_fields("custom_fields", &fields).is_ok());
        fields.insert("nested".into(), serde_json::json!({"a": 1}));
        assert!(check::custom_fields("custom_fields", &fields).is_err());
        let mut bad_key = CustomFields::new();
        bad_key.insert("a'b".into(), serde_json::json!(1));
        assert!(check::custom_fields("custom_fields", &bad_key).is_err());
    }

    #[test]
    fn numbers_are_formatted_per_kind_and_year() {
        assert_eq!(NumberKind::Issue.format(2026, 7), "ISS-2026-0007");
        assert_eq!(NumberKind::Order.format(2026, 12345), "ORD-2026-12345");
    }
}
