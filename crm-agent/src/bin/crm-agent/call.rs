//! The `call` command: one tool run as a user through the registry, its JSON result printed.

use crate::args::ActAs;

/// `crm-agent call`.
pub(crate) async fn call(tool: String, who: ActAs, args: String) -> crm_agent::Result<()> {
    let args: serde_json::Value =
        serde_json::from_str(&args).map_err(|e| crm_agent::Error::invalid(format!("--args is not JSON: {e}")))?;
    let (store, ctx) = who.open().await?;
    let registry = crm_agent::ToolRegistry::new(store);
    let result = registry.call(&ctx, &tool, args).await;
    registry.flush_audit().await;
    let result = result?;
    out!("{}", serde_json::to_string_pretty(&result).map_err(|e| crm_agent::Error::Internal(e.to_string()))?);
    Ok(())
}
