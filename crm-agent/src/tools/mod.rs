//! The tool catalogue (listed in `docs/tools.md`) and [`ToolRegistry::call`], the one path every
//! tool call takes.
//!
//! `call` does, in order: look the tool up → check the caller may use it
//! ([`Policy`](crate::policy::Policy)) → check the store supports it → validate the arguments
//! against the tool's input JSON Schema (errors name the field) → run the handler with the
//! caller's [`Scope`](crate::store::Scope) → record an audit event for every call, refusal and
//! failure (arguments kept, secrets redacted) → return the typed result as JSON.
//! Chat, MCP and the direct `call_tool` APIs all come through here.
//!
//! Each domain's tools live in their own file (`customers.rs`, `leads.rs`, …); a tool is a
//! [`Tool`] built with [`ToolBuilder`] from a typed handler, so its input and output schemas are
//! derived from the same Rust types serde uses.

mod activities;
mod analytics;
mod args;
mod audit;
mod customers;
mod dates;
mod deals;
mod docs;
mod employees;
mod history;
mod idempotency;
mod issues;
mod leads;
mod orders;
mod organization;
mod redaction;
mod registry;
mod schema;
mod search;
mod tool;

pub use args::{Paging, ToolPage};
pub use docs::tools_markdown;
pub use redaction::redact;
pub(crate) use registry::visible_custom_fields;
pub use registry::{RegistryOptions, ToolRegistry};
pub use tool::{Access, Annotations, Tool, ToolBuilder, ToolContext, ToolDeclaration};

pub use crate::domain::{ToolLimits, Toolset};

/// Every tool of the catalogue, in name order.
pub fn catalogue() -> Vec<Tool> {
    let mut tools = Vec::new();
    tools.extend(customers::tools());
    tools.extend(leads::tools());
    tools.extend(deals::tools());
    tools.extend(issues::tools());
    tools.extend(orders::tools());
    tools.extend(employees::tools());
    tools.extend(activities::tools());
    tools.extend(analytics::tools());
    tools.extend(organization::tools());
    tools.extend(search::tools());
    tools.extend(history::tools());
    tools.sort_by_key(|t| t.spec.name);
    tools
}
