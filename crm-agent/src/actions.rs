//! Pending actions: writes proposed by a model that wait for a human's decision.
//!
//! Shared by the chat assistant (confirmation cards) and the MCP server (elicitation and
//! input-required results), so both bind an action to the exact tool and arguments, run it at
//! most once, and re-check the permission when it runs.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::context::UserContext;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::store::Scope;
use crate::tools::{Tool, ToolRegistry};

/// A confirmed action and what its tool returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfirmedAction {
    /// The action, now `succeeded`.
    pub action: PendingAction,
    /// The tool's result.
    pub result: Value,
}

/// Whether a write requested by a model must wait for the user under `mode`.
pub(crate) fn needs_confirmation(mode: ConfirmationMode, tool: &Tool) -> bool {
    tool.writes()
        && match mode {
            ConfirmationMode::Never => false,
            ConfirmationMode::Destructive => tool.annotations().destructive,
            ConfirmationMode::AllWrites => true,
        }
}

/// The confirmation mode in force for `ctx`: `forced` when the host set one, else the
/// organization's setting.
#[cfg(feature = "mcp")]
pub(crate) async fn mode_for(
    registry: &ToolRegistry,
    ctx: &UserContext,
    forced: Option<ConfirmationMode>,
) -> Result<ConfirmationMode> {
    match forced {
        Some(mode) => Ok(mode),
        None => Ok(registry.store().get_organization(&ctx.scope()?).await?.settings.confirmation_mode),
    }
}

/// Most writes one user may have waiting for a decision at once. Proposals past it are refused
/// until some are confirmed, rejected or expire: a client that never answers (an MCP client
/// dropping input-required results, say) cannot fill the store. Concurrent proposals are
/// counted before either is recorded, so a burst can pass it by as many as arrive together.
pub(crate) const MAX_PENDING_ACTIONS_PER_USER: u64 = 50;

/// Checks (and audits, as `pending`) a call that will run only once the user confirms it, and
/// records it as a pending action bound to these exact arguments.
pub(crate) async fn propose(
    registry: &ToolRegistry,
    ctx: &UserContext,
    conversation: Option<&ConversationId>,
    tool: &str,
    args: &Value,
) -> Result<PendingAction> {
    let tool = registry.propose(ctx, tool, args)?;
    let pending = PendingActionFilter { status: Some(ActionStatus::Pending), ..Default::default() };
    let count_only = PageRequest { limit: 1, cursor: None };
    let waiting =
        registry.store().list_pending_actions(&ctx.scope()?, &ctx.user_id, &pending, &count_only).await?.total;
    if waiting >= MAX_PENDING_ACTIONS_PER_USER {
        return Err(Error::conflict(format!(
            "{waiting} changes are already waiting for your decision; confirm or reject some of them (or let \
             them expire) before proposing more. Nothing was changed."
        )));
    }
    let now = chrono::Utc::now();
    let new = NewPendingAction {
        user_id: ctx.user_id.clone(),
        conversation_id: conversation.cloned(),
        tool: tool.name().to_owned(),
        arguments: args.clone(),
        summary: summary(tool, args),
        created_at: now,
        expires_at: now + PENDING_ACTION_TTL,
    };
    registry.store().create_pending_action(&ctx.scope()?, new).await
}

/// Runs one of `ctx`'s pending actions, once: the permission is checked again, the action
/// moves from `pending` to `executing` atomically (of two confirms exactly one runs), the tool
/// runs through the registry, and the outcome is recorded on the action. A tool failure is
/// returned as the error (the action is then `failed`).
pub(crate) async fn confirm(registry: &ToolRegistry, ctx: &UserContext, id: &ActionId) -> Result<ConfirmedAction> {
    let scope = ctx.scope()?;
    let store = registry.store();
    let pending = store.get_pending_action(&scope, &ctx.user_id, id).await?;
    // Check before claiming, so an action the user can no longer run stays pending (and
    // expires) instead of being marked as attempted.
    registry.check(ctx, &pending.tool, &pending.arguments)?;
    // Claim, run and record in a task of its own: a caller that goes away (a dropped HTTP
    // request) must not leave the action `executing` with its outcome unrecorded.
    let (registry, ctx, id) = (registry.clone(), ctx.clone(), id.clone());
    tokio::spawn(async move {
        let store = registry.store();
        store.decide_pending_action(&scope, &ctx.user_id, &id, ActionStatus::Executing, chrono::Utc::now()).await?;
        let result = registry.call(&ctx, &pending.tool, pending.arguments.clone()).await;
        let (status, outcome) = match &result {
            Ok(value) => (ActionStatus::Succeeded, value.clone()),
            Err(error) => (ActionStatus::Failed, error_json(error)),
        };
        let action = store.finish_pending_action(&scope, &ctx.user_id, &id, status, outcome).await?;
        Ok(ConfirmedAction { action, result: result? })
    })
    .await
    .map_err(|e| Error::Internal(format!("the confirmed action's task failed: {e}")))?
}

/// Rejects one of `ctx`'s pending actions: it never runs.
pub(crate) async fn reject(registry: &ToolRegistry, ctx: &UserContext, id: &ActionId) -> Result<PendingAction> {
    let scope: Scope = ctx.scope()?;
    registry.store().decide_pending_action(&scope, &ctx.user_id, id, ActionStatus::Rejected, chrono::Utc::now()).await
}

/// `{"error": {"kind", "message"}}`: how a failure is shown to a model and stored.
pub(crate) fn error_json(error: &Error) -> Value {
    json!({"error": {"kind": error.kind().as_str(), "message": error.public_detail()}})
}

/// "Create customer: name=Acme Ltd, email=a@b.c" — what a confirmation asks about.
pub(crate) fn summary(tool: &Tool, args: &Value) -> String {
    let words = tool.title();
    let details: Vec<String> = args
        .as_object()
        .map(|map| {
            map.iter()
                .filter(|(key, _)| key.as_str() != "idempotency_key")
                .map(|(key, value)| {
                    let shown = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    format!("{key}={}", cap_text(&shown, 60))
                })
                .collect()
        })
        .unwrap_or_default();
    let summary = if details.is_empty() { words } else { format!("{words}: {}", details.join(", ")) };
    cap_text(&summary, 500)
}

/// `text` cut to `max` characters, with `…` marking a cut.
pub(crate) fn cap_text(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
