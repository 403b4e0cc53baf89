//! The assistant's records: conversations, messages and pending actions. Rows of one user: every
//! query adds `user_id = ?` (messages go through their conversation).

use super::Table;
use crate::domain::*;
use crate::error::Result;
use crate::store::sql::codec::{self, Row};
use crate::store::sql::query::{Visibility, Where};

pub(crate) const CONVERSATIONS: Table = Table {
    name: "conversations",
    entity: "conversation",
    visibility: Visibility::UserOwned,
    columns: "id, organization_id, user_id, title, message_count, created_at, updated_at",
    id_prefix: "cnv",
};

pub(crate) fn conversation_from_row(r: &Row) -> Result<Conversation> {
    Ok(Conversation {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        user_id: r.text("user_id")?,
        title: r.text("title")?,
        message_count: r.count("message_count")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) const MESSAGES: Table = Table {
    name: "messages",
    entity: "message",
    visibility: Visibility::UserOwned,
    columns: "id, conversation_id, role, parts, created_at",
    id_prefix: "msg",
};

pub(crate) fn message_from_row(r: &Row) -> Result<Message> {
    Ok(Message {
        id: r.id("id")?,
        conversation_id: r.id("conversation_id")?,
        role: r.parse("role")?,
        parts: r.json("parts")?,
        created_at: r.ts("created_at")?,
    })
}

pub(crate) const PENDING_ACTIONS: Table = Table {
    name: "pending_actions",
    entity: "pending action",
    visibility: Visibility::UserOwned,
    columns: "id, organization_id, user_id, conversation_id, tool, arguments, summary, status, outcome, created_at, \
              expires_at, decided_at",
    id_prefix: "pac",
};

pub(crate) fn pending_action_from_row(r: &Row) -> Result<PendingAction> {
    let now = chrono::Utc::now();
    let expires_at = r.ts("expires_at")?;
    let decided_at = r.opt_ts("decided_at")?;
    let mut outcome = r.opt_json("outcome")?;
    let status = match r.parse("status")? {
        ActionStatus::Pending if expires_at <= now => ActionStatus::Expired,
        ActionStatus::Executing if decided_at.is_some_and(|at| at + ACTION_RUN_LIMIT <= now) => {
            outcome = Some(interrupted_outcome());
            ActionStatus::Failed
        }
        status => status,
    };
    Ok(PendingAction {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        user_id: r.text("user_id")?,
        conversation_id: r.opt_id("conversation_id")?,
        tool: r.text("tool")?,
        arguments: r.json("arguments")?,
        summary: r.text("summary")?,
        status,
        outcome,
        created_at: r.ts("created_at")?,
        expires_at,
        decided_at,
    })
}

/// Expiry is read, not written: a pending action past `expires_at` is `expired`. So is the end
/// of a run cut off: an action `executing` for [`ACTION_RUN_LIMIT`] is `failed`.
pub(crate) fn pending_action_filter(w: &mut Where, f: &PendingActionFilter) {
    w.eq("conversation_id", f.conversation_id.as_ref().map(|c| c.as_str()));
    let now = chrono::Utc::now();
    let cut_off = codec::ts(now - ACTION_RUN_LIMIT);
    let now = codec::ts(now);
    match f.status {
        Some(ActionStatus::Pending) => w.push("status = 'pending' AND expires_at > ?", [now]),
        Some(ActionStatus::Expired) => w.push("status = 'pending' AND expires_at <= ?", [now]),
        Some(ActionStatus::Executing) => w.push("status = 'executing' AND decided_at > ?", [cut_off]),
        Some(ActionStatus::Failed) => {
            w.push("(status = 'failed' OR (status = 'executing' AND decided_at <= ?))", [cut_off])
        }
        status => w.eq("status", status.map(codec::text)),
    }
}
