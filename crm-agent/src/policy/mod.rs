//! Permissions, roles and decisions.
//!
//! Permissions are typed: a [`Permission`] is a [`Resource`] and an [`Action`]; a [`Grant`] may
//! use `*` for either. [`Policy::decide`] is the one place that says whether a caller holds a
//! permission. Nothing in the tool layer matches permission strings by hand.

mod engine;
mod visibility;

pub use crate::domain::{Action, Grant, Permission, Resource};
pub use engine::{BUILTIN_POLICY, Decision, Policy, SystemRole};
pub use visibility::{
    CustomerRecord, Shape, check_customer_arguments, check_customer_field, hide_staff_fields, staff_fields_optional,
};
