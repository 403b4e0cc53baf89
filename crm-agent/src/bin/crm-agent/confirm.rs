//! The `confirm` and `reject` commands: a write the assistant proposed, run once as the user or
//! refused.

use crm_agent::CrmAgent;
use crm_agent::domain::ActionId;
use crm_agent::model::GeminiClient;

use crate::args::ActAs;
use crate::output::to_json;

/// `crm-agent confirm`.
pub(crate) async fn confirm(action_id: String, who: ActAs) -> crm_agent::Result<()> {
    let (store, ctx) = who.open().await?;
    let agent = CrmAgent::builder(store).model(std::sync::Arc::new(GeminiClient::from_env()?)).build()?;
    let confirmed = agent.confirm(&ctx, &ActionId::from(action_id)).await;
    agent.registry().flush_audit().await;
    out!("{}", to_json(&confirmed?, true)?);
    Ok(())
}

/// `crm-agent reject`.
pub(crate) async fn reject(action_id: String, who: ActAs) -> crm_agent::Result<()> {
    let (store, ctx) = who.open().await?;
    let agent = CrmAgent::builder(store).model(std::sync::Arc::new(GeminiClient::from_env()?)).build()?;
    out!("{}", to_json(&agent.reject(&ctx, &ActionId::from(action_id)).await?, true)?);
    Ok(())
}
