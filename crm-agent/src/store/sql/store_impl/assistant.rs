//! The assistant's records in the SQL store: conversations, messages and pending actions.

use super::shared::*;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::store::Scope;
use crate::store::sql::SqlStore;
use crate::store::sql::codec::{self, SqlValue};
use crate::store::sql::entities as e;
use crate::store::sql::query::SortOrder;

pub(super) async fn create_conversation(store: &SqlStore, scope: &Scope, new: NewConversation) -> Result<Conversation> {
    new.validate()?;
    let table = &e::CONVERSATIONS;
    let user_id = new.user_id.clone();
    let values = vec![("user_id", new.user_id.into()), ("title", new.title.into()), ("message_count", 0_i64.into())];
    let mut tx = store.begin().await?;
    let id = tx.insert_entity(table, scope, values, None, true).await?;
    let row = tx.owned_row(table, table.columns, scope, &user_id, &id).await?;
    tx.commit().await?;
    e::conversation_from_row(&row)
}

pub(super) async fn get_conversation(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    id: &ConversationId,
) -> Result<Conversation> {
    let table = &e::CONVERSATIONS;
    e::conversation_from_row(&store.owned_row(table, table.columns, scope, user_id, id.as_str()).await?)
}

pub(super) async fn list_conversations(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    page: &PageRequest,
) -> Result<Page<Conversation>> {
    let table = &e::CONVERSATIONS;
    let w = owned(store.dialect, scope, table, user_id);
    store.list_of(table, w, page, SortOrder::NEWEST_FIRST, e::conversation_from_row).await
}

pub(super) async fn update_conversation(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    id: &ConversationId,
    patch: ConversationPatch,
) -> Result<Conversation> {
    patch.validate()?;
    let table = &e::CONVERSATIONS;
    let mut tx = store.begin().await?;
    if let Some(title) = patch.title {
        let mut w = owned(tx.dialect(), scope, table, user_id);
        w.push("id = ?", [id.as_str().into()]);
        let mut args: Vec<SqlValue> = vec![title.into(), codec::ts(codec::now())];
        let sql = format!("UPDATE {} SET title = ?, updated_at = ? WHERE {}", table.name, w.sql());
        args.extend(w.args);
        if tx.execute(&sql, args).await? == 0 {
            return Err(Error::not_found(table.entity, id.as_str()));
        }
    }
    let row = tx.owned_row(table, table.columns, scope, user_id, id.as_str()).await?;
    tx.commit().await?;
    e::conversation_from_row(&row)
}

pub(super) async fn delete_conversation(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    id: &ConversationId,
) -> Result<()> {
    let table = &e::CONVERSATIONS;
    let org = scope.organization_id().as_str();
    let mut tx = store.begin().await?;
    let mut w = owned(tx.dialect(), scope, table, user_id);
    w.push("id = ?", [id.as_str().into()]);
    if tx.execute(&format!("DELETE FROM {} WHERE {}", table.name, w.sql()), w.args).await? == 0 {
        return Err(Error::not_found(table.entity, id.as_str()));
    }
    tx.execute(
        "DELETE FROM messages WHERE organization_id = ? AND conversation_id = ?",
        vec![org.into(), id.as_str().into()],
    )
    .await?;
    // Actions still waiting for a decision go with the conversation. The others stay,
    // unlinked: they record writes the user decided on, and a confirm that is running must
    // still be able to finish its action. (On PostgreSQL a decision committing meanwhile
    // makes the DELETE re-check `status` and skip the row, which the UPDATE then unlinks.)
    tx.execute(
        "DELETE FROM pending_actions \
         WHERE organization_id = ? AND user_id = ? AND conversation_id = ? AND status = ?",
        vec![org.into(), user_id.into(), id.as_str().into(), codec::text(ActionStatus::Pending)],
    )
    .await?;
    tx.execute(
        "UPDATE pending_actions SET conversation_id = NULL \
         WHERE organization_id = ? AND user_id = ? AND conversation_id = ?",
        vec![org.into(), user_id.into(), id.as_str().into()],
    )
    .await?;
    tx.commit().await
}

pub(super) async fn append_messages(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    id: &ConversationId,
    messages: Vec<NewMessage>,
    now: Timestamp,
) -> Result<Vec<Message>> {
    NewMessage::validate_batch(&messages)?;
    let parts = messages.iter().map(|m| codec::json(&m.parts)).collect::<Result<Vec<_>>>()?;
    let now = codec::truncate(now);
    let table = &e::CONVERSATIONS;
    let org = scope.organization_id().as_str();
    let mut tx = store.begin().await?;
    if messages.is_empty() {
        tx.owned_row(table, "id", scope, user_id, id.as_str()).await?;
        return Ok(Vec::new());
    }
    // Bumping the conversation first checks that it is this user's and, on PostgreSQL,
    // locks it, so concurrent appends to one conversation take turns.
    let mut w = owned(tx.dialect(), scope, table, user_id);
    w.push("id = ?", [id.as_str().into()]);
    let mut args: Vec<SqlValue> = vec![codec::count(messages.len()), codec::ts(now)];
    // One round trip: the bump also returns the conversation's newest message id, after
    // which the new ids must sort, whatever clock wrote it.
    let sql = format!(
        "UPDATE {table} SET message_count = message_count + ?, updated_at = ? WHERE {filter} \
         RETURNING (SELECT MAX(m.id) FROM messages m WHERE m.organization_id = {table}.organization_id \
         AND m.conversation_id = {table}.id) AS newest",
        table = table.name,
        filter = w.sql()
    );
    args.extend(w.args);
    let bumped = tx.fetch(&sql, args).await?;
    let Some(row) = bumped.first() else {
        return Err(Error::not_found(table.entity, id.as_str()));
    };
    let newest = row.opt_text("newest")?;
    let ids = codec::new_ids_after(e::MESSAGES.id_prefix, now, newest.as_deref(), messages.len());
    let rows = ids
        .iter()
        .zip(&messages)
        .zip(parts)
        .map(|((message_id, message), parts)| {
            vec![
                ("id", message_id.into()),
                ("organization_id", org.into()),
                ("conversation_id", id.as_str().into()),
                ("role", codec::text(message.role)),
                ("parts", parts),
                ("created_at", codec::ts(now)),
            ]
        })
        .collect();
    tx.insert_many(e::MESSAGES.name, rows).await?;
    tx.commit().await?;
    Ok(ids
        .into_iter()
        .zip(messages)
        .map(|(message_id, message)| Message {
            id: MessageId(message_id),
            conversation_id: id.clone(),
            role: message.role,
            parts: message.parts,
            created_at: now,
        })
        .collect())
}

pub(super) async fn list_messages(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    id: &ConversationId,
    page: &PageRequest,
) -> Result<Page<Message>> {
    store.owned_row(&e::CONVERSATIONS, "id", scope, user_id, id.as_str()).await?;
    let mut w = store.filter(scope, &e::MESSAGES);
    w.push("conversation_id = ?", [id.as_str().into()]);
    store.list_of(&e::MESSAGES, w, page, SortOrder::NEWEST_FIRST, e::message_from_row).await
}

pub(super) async fn create_pending_action(
    store: &SqlStore,
    scope: &Scope,
    new: NewPendingAction,
) -> Result<PendingAction> {
    new.validate()?;
    let table = &e::PENDING_ACTIONS;
    let values = vec![
        ("user_id", new.user_id.as_str().into()),
        ("conversation_id", codec::opt_text(new.conversation_id.as_ref())),
        ("tool", new.tool.into()),
        ("arguments", codec::json(&new.arguments)?),
        ("summary", new.summary.into()),
        ("status", codec::text(ActionStatus::Pending)),
        ("outcome", SqlValue::Text(None)),
        ("expires_at", codec::ts(codec::truncate(new.expires_at))),
        ("decided_at", SqlValue::Int(None)),
    ];
    let mut tx = store.begin().await?;
    if let Some(conversation) = &new.conversation_id {
        tx.owned_row(&e::CONVERSATIONS, "id", scope, &new.user_id, conversation.as_str()).await?;
    }
    let id = tx.insert_entity(table, scope, values, Some(new.created_at), false).await?;
    let row = tx.owned_row(table, table.columns, scope, &new.user_id, &id).await?;
    tx.commit().await?;
    e::pending_action_from_row(&row)
}

pub(super) async fn get_pending_action(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    id: &ActionId,
) -> Result<PendingAction> {
    let table = &e::PENDING_ACTIONS;
    e::pending_action_from_row(&store.owned_row(table, table.columns, scope, user_id, id.as_str()).await?)
}

pub(super) async fn list_pending_actions(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    filter: &PendingActionFilter,
    page: &PageRequest,
) -> Result<Page<PendingAction>> {
    let table = &e::PENDING_ACTIONS;
    let mut w = owned(store.dialect, scope, table, user_id);
    e::pending_action_filter(&mut w, filter);
    store.list_of(table, w, page, SortOrder::NEWEST_FIRST, e::pending_action_from_row).await
}

pub(super) async fn decide_pending_action(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    id: &ActionId,
    to: ActionStatus,
    now: Timestamp,
) -> Result<PendingAction> {
    if !matches!(to, ActionStatus::Executing | ActionStatus::Rejected) {
        return Err(Error::invalid(format!(
            "a pending action is decided to `executing` (confirmed) or `rejected`, not `{to}`"
        )));
    }
    let now = codec::truncate(now);
    let table = &e::PENDING_ACTIONS;
    let mut tx = store.begin().await?;
    // Compare-and-set in one statement: of concurrent decisions exactly one matches
    // (PostgreSQL re-checks the condition after the first commits; SQLite has one writer).
    let mut w = owned(tx.dialect(), scope, table, user_id);
    w.push(
        "id = ? AND status = ? AND expires_at > ?",
        [id.as_str().into(), codec::text(ActionStatus::Pending), codec::ts(now)],
    );
    let mut args: Vec<SqlValue> = vec![codec::text(to), codec::ts(now)];
    let sql = format!("UPDATE {} SET status = ?, decided_at = ? WHERE {}", table.name, w.sql());
    args.extend(w.args);
    let decided = tx.execute(&sql, args).await? == 1;
    let action = e::pending_action_from_row(&tx.owned_row(table, table.columns, scope, user_id, id.as_str()).await?)?;
    if !decided {
        return Err(not_decidable(&action));
    }
    tx.commit().await?;
    Ok(action)
}

pub(super) async fn finish_pending_action(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    id: &ActionId,
    to: ActionStatus,
    outcome: serde_json::Value,
) -> Result<PendingAction> {
    if !matches!(to, ActionStatus::Succeeded | ActionStatus::Failed) {
        return Err(Error::invalid(format!("a confirmed action finishes as `succeeded` or `failed`, not `{to}`")));
    }
    let table = &e::PENDING_ACTIONS;
    let mut tx = store.begin().await?;
    let mut w = owned(tx.dialect(), scope, table, user_id);
    // A run past the limit already reads as cut off; its end is no longer recorded.
    let cut_off = codec::ts(chrono::Utc::now() - ACTION_RUN_LIMIT);
    w.push(
        "id = ? AND status = ? AND decided_at > ?",
        [id.as_str().into(), codec::text(ActionStatus::Executing), cut_off],
    );
    let mut args: Vec<SqlValue> = vec![codec::text(to), codec::json(&outcome)?];
    let sql = format!("UPDATE {} SET status = ?, outcome = ? WHERE {}", table.name, w.sql());
    args.extend(w.args);
    let finished = tx.execute(&sql, args).await? == 1;
    let action = e::pending_action_from_row(&tx.owned_row(table, table.columns, scope, user_id, id.as_str()).await?)?;
    if !finished {
        return Err(not_finishable(&action));
    }
    tx.commit().await?;
    Ok(action)
}
