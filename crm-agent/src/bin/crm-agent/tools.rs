//! The `tools` command: the tools one user may use, or the Markdown reference of the whole catalogue.

use crm_agent::{SqlStore, UserContext};

/// `crm-agent tools`.
pub(crate) async fn tools(
    db: String,
    user: Option<String>,
    org: Option<String>,
    json: bool,
    markdown: bool,
) -> crm_agent::Result<()> {
    if markdown {
        out_raw!("{}", crm_agent::tools::tools_markdown(&crm_agent::tools::catalogue()));
        return Ok(());
    }
    let store = std::sync::Arc::new(SqlStore::open(&db).await?);
    let ctx = UserContext::resolve(&*store, user.as_deref().unwrap_or_default(), org.as_deref()).await?;
    let registry = crm_agent::ToolRegistry::new(store);
    let tools = registry.list(&ctx);
    if json {
        let importing = registry.may_import(&ctx);
        let declarations: Vec<_> = tools.iter().map(|t| t.declaration_for(false, importing)).collect();
        out!("{}", serde_json::to_string_pretty(&declarations).map_err(|e| crm_agent::Error::Internal(e.to_string()))?);
    } else {
        for tool in &tools {
            let a = tool.annotations();
            let kind = if a.read_only {
                "read"
            } else if a.destructive {
                "destructive"
            } else {
                "write"
            };
            out!("{:<28} {:<12} {}", tool.name(), kind, tool.permission_label());
        }
        eprintln!("{} tools for {} ({})", tools.len(), ctx.user_id, ctx.role);
    }
    Ok(())
}
