//! Shared argument and result shapes of the tools.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Change, Page, PageRequest, check};
use crate::error::{Error, Result};

/// `limit` and `cursor` of every list tool.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Paging {
    /// How many items to return (1 to 100, default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page, to continue a list.
    #[serde(default)]
    pub cursor: Option<String>,
}

impl Paging {
    /// The page request these arguments ask for.
    pub fn request(&self) -> Result<PageRequest> {
        let limit = self.limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
        if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid(format!(
                "`limit` must be between 1 and {} (got {limit})",
                PageRequest::MAX_LIMIT
            )));
        }
        Ok(PageRequest { limit, cursor: self.cursor.clone() })
    }
}

/// A page of results as tools return it: never silently truncated.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ToolPage<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// How many match in all.
    pub total: u64,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> From<Page<T>> for ToolPage<T> {
    fn from(page: Page<T>) -> Self {
        ToolPage { items: page.items, total: page.total, next_cursor: page.next_cursor }
    }
}

/// A required free-text argument (a reason, resolution notes): not blank, not oversized.
pub(super) fn required_text(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("`{field}` must not be empty")));
    }
    check::long(field, value)
}

/// `notes` with a `label: text` line appended, as a patch value. Tools that change a status for a
/// reason (deactivate, disqualify, qualify with a note) keep the reason in the record's notes.
pub(super) fn append_note(notes: &Option<String>, label: &str, text: &str) -> Change<String> {
    Change::Set(match notes.as_deref() {
        Some(existing) if !existing.trim().is_empty() => format!("{existing}\n{label}: {text}"),
        _ => format!("{label}: {text}"),
    })
}

/// A tool that takes no arguments.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NoArgs {}

/// A list tool's arguments given as another tool's `filter` (`aggregate_records`): checked
/// against the list's own schema, without `limit`, `cursor` and `sort`, which a filter has no
/// use for. Errors name the field as `filter.<name>`.
pub(super) fn list_filter<A: DeserializeOwned + JsonSchema + 'static>(list_tool: &str, filter: Value) -> Result<A> {
    if let Some(key) = ["limit", "cursor", "sort"].iter().find(|key| filter.get(**key).is_some()) {
        return Err(Error::invalid(format!("`filter.{key}` is not a filter: leave it out")));
    }
    static VALIDATORS: OnceLock<Mutex<HashMap<TypeId, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let validator = {
        let mut validators = VALIDATORS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        validators
            .entry(TypeId::of::<A>())
            .or_insert_with(|| {
                let schema = super::schema::input_schema::<A>();
                Arc::new(jsonschema::validator_for(&schema).expect("a list tool's schema compiles"))
            })
            .clone()
    };
    if let Some(error) = validator.iter_errors(&filter).next() {
        let field = error.instance_path().to_string().trim_start_matches('/').replace('/', ".");
        let place = if field.is_empty() { "`filter`".to_owned() } else { format!("`filter.{field}`") };
        return Err(Error::invalid(format!("{place}: {error} (the filter takes the arguments of `{list_tool}`)")));
    }
    serde_json::from_value(filter).map_err(|e| Error::invalid(format!("`filter`: {e}")))
}
