//! How each entity maps onto its table: the columns read, the values written by insert and
//! patch, its filters, and the ids it references.
//!
//! Each entity, or group of entities kept together, has its own module, re-exported here; this
//! one holds what they share: [`Table`], the patch helpers, the references they check, and the
//! list of searches.

mod activities;
mod assistant;
mod audit;
mod customers;
mod deals;
mod employees;
mod issues;
mod leads;
mod orders;
mod organization;
mod tokens;

pub(crate) use activities::*;
pub(crate) use assistant::*;
pub(crate) use audit::*;
pub(crate) use customers::*;
pub(crate) use deals::*;
pub(crate) use employees::*;
pub(crate) use issues::*;
pub(crate) use leads::*;
pub(crate) use orders::*;
pub(crate) use organization::*;
pub(crate) use tokens::*;

use super::codec::SqlValue;
#[cfg(feature = "sqlite")]
use super::query::TextSearch;
use super::query::{Reference, Visibility};
use crate::domain::Change;
use crate::error::Result;

/// A table holding one kind of entity.
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) entity: &'static str,
    pub(crate) visibility: Visibility,
    pub(crate) columns: &'static str,
    pub(crate) id_prefix: &'static str,
}

type Values = Vec<(&'static str, SqlValue)>;

/// A patch field's new value, when it has one: an `Option<T>` (a field that cannot be cleared)
/// gives `T`, a [`Change<T>`] gives `Option<T>` (`None`: clear the column).
trait PatchField {
    type Value;
    fn given(self) -> Option<Self::Value>;
}

impl<T> PatchField for Option<T> {
    type Value = T;
    fn given(self) -> Option<T> {
        self
    }
}

impl<T> PatchField for Change<T> {
    type Value = Option<T>;
    fn given(self) -> Option<Option<T>> {
        self.into_update()
    }
}

/// Appends `column = f(value)` when a patch field is given.
fn set<F: PatchField>(values: &mut Values, column: &'static str, field: F, f: impl FnOnce(F::Value) -> SqlValue) {
    if let Some(v) = field.given() {
        values.push((column, f(v)));
    }
}

/// Like [`set`] for conversions that can fail (money).
fn try_set<F: PatchField>(
    values: &mut Values,
    column: &'static str,
    field: F,
    f: impl FnOnce(F::Value) -> Result<SqlValue>,
) -> Result<()> {
    if let Some(v) = field.given() {
        values.push((column, f(v)?));
    }
    Ok(())
}

pub(crate) fn table_ref<'a>(table: &Table, id: Option<&'a str>) -> Reference<'a> {
    Reference { table: table.name, entity: table.entity, visibility: table.visibility, id }
}

pub(crate) fn stage_ref(id: Option<&str>) -> Reference<'_> {
    Reference { table: "pipeline_stages", entity: "pipeline stage", visibility: Visibility::Shared, id }
}

/// Every table's search, with its SQLite index.
#[cfg(feature = "sqlite")]
pub(crate) const SEARCHES: [&TextSearch; 7] =
    [&EMPLOYEE_SEARCH, &CUSTOMER_SEARCH, &LEAD_SEARCH, &DEAL_SEARCH, &ISSUE_SEARCH, &ORDER_SEARCH, &ACTIVITY_SEARCH];
