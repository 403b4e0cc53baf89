//! MCP resources: records readable by URI, for clients that attach them to a conversation.
//!
//! `crm://customers/{id}`, `crm://deals/{id}` and the other record templates read through the
//! record's `get_*` tool, and `crm://me` and `crm://organization` through
//! `get_current_user_context` and `get_current_organization`: every read is a
//! [`ToolRegistry::call`], so permissions, tenant and customer scope, redaction and audit are
//! the tools' own. A user sees the templates and resources of the tools they may use.

use rmcp::model::{Resource, ResourceTemplate};
use serde_json::{Value, json};

use crate::context::UserContext;
use crate::tools::ToolRegistry;

/// The URI scheme.
const SCHEME: &str = "crm://";

/// Records read by id.
pub(super) struct RecordKind {
    /// The URI's path segment (`customers` in `crm://customers/{id}`).
    pub(super) segment: &'static str,
    title: &'static str,
    /// The tool that reads one, and its id argument.
    tool: &'static str,
    id_argument: &'static str,
    /// The list tool whose text search completes an id (`None`: its list has no search).
    pub(super) search_tool: Option<&'static str>,
}

const fn kind(
    segment: &'static str,
    title: &'static str,
    tool: &'static str,
    id_argument: &'static str,
    search_tool: Option<&'static str>,
) -> RecordKind {
    RecordKind { segment, title, tool, id_argument, search_tool }
}

pub(super) static RECORD_KINDS: [RecordKind; 8] = [
    kind("customers", "Customer", "get_customer", "customer_id", Some("list_customers")),
    kind("leads", "Lead", "get_lead", "lead_id", Some("list_leads")),
    kind("deals", "Deal", "get_deal", "deal_id", Some("list_deals")),
    kind("issues", "Support issue", "get_issue", "issue_id", Some("list_issues")),
    kind("orders", "Order", "get_order", "order_id", Some("list_orders")),
    kind("payments", "Payment", "get_payment", "payment_id", None),
    kind("activities", "Activity", "get_activity", "activity_id", Some("list_activities")),
    kind("employees", "Employee", "get_employee", "employee_id", Some("list_employees")),
];

/// Resources with a fixed URI: (path, title, description, tool).
const FIXED: [(&str, &str, &str, &str); 2] = [
    ("me", "Me", "Who you are here: your user, organization, role and permissions.", "get_current_user_context"),
    ("organization", "Organization", "Your organization and its settings.", "get_current_organization"),
];

const JSON: &str = "application/json";

/// Longest record id taken from a URI.
const MAX_ID_CHARS: usize = 100;

fn usable(registry: &ToolRegistry, user: &UserContext) -> Vec<&'static str> {
    registry.list(user).into_iter().map(|t| t.name()).collect()
}

/// The fixed resources `user` may read.
pub(super) fn listed(registry: &ToolRegistry, user: &UserContext) -> Vec<Resource> {
    let usable = usable(registry, user);
    FIXED
        .iter()
        .filter(|(_, _, _, tool)| usable.contains(tool))
        .map(|(path, title, description, _)| {
            Resource::new(format!("{SCHEME}{path}"), *path)
                .with_title(*title)
                .with_description(*description)
                .with_mime_type(JSON)
        })
        .collect()
}

/// The record templates `user` may read.
pub(super) fn templates(registry: &ToolRegistry, user: &UserContext) -> Vec<ResourceTemplate> {
    let usable = usable(registry, user);
    RECORD_KINDS
        .iter()
        .filter(|k| usable.contains(&k.tool))
        .map(|k| {
            ResourceTemplate::new(template_uri(k), k.segment)
                .with_title(k.title)
                .with_description(format!("One {} by id, as `{}` answers it.", k.title.to_lowercase(), k.tool))
                .with_mime_type(JSON)
        })
        .collect()
}

pub(super) fn template_uri(kind: &RecordKind) -> String {
    format!("{SCHEME}{}/{{id}}", kind.segment)
}

/// The tool call that reads `uri`, or `None` when no resource has that URI.
pub(super) fn call_for(uri: &str) -> Option<(&'static str, Value)> {
    let path = uri.strip_prefix(SCHEME)?;
    if let Some((_, _, _, tool)) = FIXED.iter().find(|(fixed, ..)| *fixed == path) {
        return Some((tool, json!({})));
    }
    let (segment, id) = path.split_once('/')?;
    let kind = RECORD_KINDS.iter().find(|k| k.segment == segment)?;
    let id_is_plain = !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    id_is_plain.then(|| (kind.tool, json!({ kind.id_argument: id })))
}

/// The record kind of template `uri`.
pub(super) fn kind_of_template(uri: &str) -> Option<&'static RecordKind> {
    RECORD_KINDS.iter().find(|k| template_uri(k) == uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_name_one_tool_call_or_none() {
        assert_eq!(call_for("crm://customers/cus_01ab"), Some(("get_customer", json!({"customer_id": "cus_01ab"}))));
        assert_eq!(call_for("crm://me"), Some(("get_current_user_context", json!({}))));
        for unknown in
            ["crm://customers/", "crm://customers/a/b", "crm://planets/1", "http://customers/1", "crm://me/x"]
        {
            assert_eq!(call_for(unknown), None, "{unknown}");
        }
        assert_eq!(call_for(&format!("crm://deals/{}", "x".repeat(101))), None);
    }

    /// Each read and each completion is a call its tool's input schema accepts.
    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn every_resource_reads_and_completes_through_calls_its_tools_accept() {
        let store = std::sync::Arc::new(crate::SqlStore::open("sqlite::memory:").await.unwrap());
        let registry = ToolRegistry::new(store);
        let owner = UserContext::new("owner", "org_x", crate::context::Role::Owner);
        for kind in &RECORD_KINDS {
            let (tool, args) = call_for(&format!("crm://{}/x_1", kind.segment)).expect("a record URI");
            registry.check(&owner, tool, &args).unwrap_or_else(|e| panic!("{}: {e}", kind.segment));
            if let Some(search) = kind.search_tool {
                let args = json!({"limit": super::super::prompts::MAX_COMPLETIONS, "search": "x"});
                registry.check(&owner, search, &args).unwrap_or_else(|e| panic!("{search}: {e}"));
            }
            assert_eq!(kind_of_template(&template_uri(kind)).map(|k| k.segment), Some(kind.segment));
        }
        for (path, ..) in FIXED {
            let (tool, args) = call_for(&format!("crm://{path}")).expect("a fixed URI");
            registry.check(&owner, tool, &args).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }
}
