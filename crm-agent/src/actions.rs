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
use crate::store::{Scope, StoreTransaction};
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
///
/// On a store with units of work ([`Store::transaction`](crate::store::Store::transaction)) the
/// claim, the tool's writes and the outcome commit together: a crash at any point leaves the
/// action `pending` with nothing written, or finished with its write done. A failing tool's
/// writes are undone and its failure recorded. Elsewhere the three are recorded in turn, the run
/// is given up after half of [`ACTION_RUN_LIMIT`], and an action a crash left `executing` reads
/// as `failed` once the limit has passed.
pub(crate) async fn confirm(registry: &ToolRegistry, ctx: &UserContext, id: &ActionId) -> Result<ConfirmedAction> {
    let scope = ctx.scope()?;
    let pending = registry.store().get_pending_action(&scope, &ctx.user_id, id).await?;
    // Check before claiming, so an action the user can no longer run stays pending (and
    // expires) instead of being marked as attempted.
    registry.check(ctx, &pending.tool, &pending.arguments)?;
    // Claim, run and record in a task of its own: a caller that goes away (a dropped HTTP
    // request) must not cut the run short.
    let (registry, ctx) = (registry.clone(), ctx.clone());
    tokio::spawn(async move {
        match registry.store().transaction().await? {
            Some(unit) => run_in_unit(&registry, &ctx, &scope, &pending, unit).await,
            None => run_then_record(&registry, &ctx, &scope, &pending).await,
        }
    })
    .await
    .map_err(|e| Error::Internal(format!("the confirmed action's task failed: {e}")))?
}

/// Claims, runs and finishes `pending` inside `unit`, committing the three together.
async fn run_in_unit(
    registry: &ToolRegistry,
    ctx: &UserContext,
    scope: &Scope,
    pending: &PendingAction,
    unit: Box<dyn StoreTransaction>,
) -> Result<ConfirmedAction> {
    let store = unit.store();
    let id = &pending.id;
    store.decide_pending_action(scope, &ctx.user_id, id, ActionStatus::Executing, chrono::Utc::now()).await?;
    unit.mark().await?;
    let result = registry.on_store(store.clone()).call(ctx, &pending.tool, pending.arguments.clone()).await;
    if result.is_err() {
        unit.roll_back_to_mark().await?;
    }
    let action = store.finish_pending_action(scope, &ctx.user_id, id, finished(&result), outcome(&result)).await?;
    unit.commit().await?;
    // The call said so already, but before the commit: an identity resolved in between saw
    // the old role.
    if result.is_ok() && registry.get(&pending.tool).is_some_and(Tool::changes_identities) {
        crate::auth::identities_changed();
    }
    Ok(ConfirmedAction { action, result: result? })
}

/// Claims `pending`, runs it and records how it ended, each step on its own.
async fn run_then_record(
    registry: &ToolRegistry,
    ctx: &UserContext,
    scope: &Scope,
    pending: &PendingAction,
) -> Result<ConfirmedAction> {
    let store = registry.store();
    let id = &pending.id;
    store.decide_pending_action(scope, &ctx.user_id, id, ActionStatus::Executing, chrono::Utc::now()).await?;
    // In a task of its own: given up on, the call still finishes (a host store's write cannot be
    // recalled) and is audited, and an idempotency key it holds is released.
    let run = tokio::spawn({
        let (registry, ctx, tool, args) =
            (registry.clone(), ctx.clone(), pending.tool.clone(), pending.arguments.clone());
        async move { registry.call(&ctx, &tool, args).await }
    });
    let run_limit = (ACTION_RUN_LIMIT / 2).to_std().unwrap_or(std::time::Duration::from_secs(60));
    let (status, outcome, result) = match tokio::time::timeout(run_limit, run).await {
        Ok(joined) => {
            let result = joined.map_err(|e| Error::Internal(format!("the confirmed action's call failed: {e}")))?;
            (finished(&result), outcome(&result), result)
        }
        Err(_) => {
            let cut_off = Error::unavailable(format!(
                "this change did not finish within {} s and was given up: check the record before asking for it again",
                run_limit.as_secs()
            ));
            (ActionStatus::Failed, error_json(&cut_off), Err(cut_off))
        }
    };
    let action = store.finish_pending_action(scope, &ctx.user_id, id, status, outcome).await?;
    Ok(ConfirmedAction { action, result: result? })
}

/// The status a run ends in.
fn finished(result: &Result<Value>) -> ActionStatus {
    if result.is_ok() { ActionStatus::Succeeded } else { ActionStatus::Failed }
}

/// What a run's action records: the tool's answer, or how it failed.
fn outcome(result: &Result<Value>) -> Value {
    match result {
        Ok(value) => value.clone(),
        Err(error) => error_json(error),
    }
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
