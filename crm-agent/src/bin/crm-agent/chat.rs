//! The `chat` command: one message to the assistant as a user, its answer streamed to the terminal
//! or as JSON lines.

use crm_agent::ChatEvent;
use crm_agent::domain::ConversationId;
use futures::StreamExt;

use crate::args::{ActAs, ModelArgs};
use crate::output::{print_event, to_json};

/// `crm-agent chat`.
pub(crate) async fn chat(
    who: ActAs,
    model: ModelArgs,
    conversation: Option<String>,
    message: String,
    json: bool,
) -> crm_agent::Result<()> {
    let (store, ctx) = who.open().await?;
    let agent = model.agent(store)?;
    let mut events = agent.chat(&ctx, message, conversation.map(ConversationId::from));
    let mut failure = None;
    while let Some(event) = events.next().await {
        if json {
            out!("{}", to_json(&event, false)?);
        } else {
            print_event(&event);
        }
        if let ChatEvent::Error { code, .. } = &event {
            failure = Some(code.clone());
        }
    }
    agent.registry().flush_audit().await;
    // The error event was printed already; the exit status says the turn failed.
    if let Some(code) = failure {
        return Err(crm_agent::Error::Model {
            message: format!("the turn ended with an error ({code}, above)"),
            retryable: false,
        });
    }
    Ok(())
}
