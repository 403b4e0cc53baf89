//! The assistant's own records: conversations, their messages, and the writes waiting for a
//! human's confirmation.
//!
//! All three belong to one user inside one organization: a store returns them only to that
//! user (any other caller gets "not found"), so a conversation id leaked to a colleague is of
//! no use to them.

use serde::{Deserialize, Serialize};

use super::{OrganizationId, Timestamp, check, id_type, string_enum};
use crate::error::{Error, Result};

id_type!(
    /// A conversation id.
    ConversationId
);
id_type!(
    /// A message id.
    MessageId
);
id_type!(
    /// A pending action id (what `confirm` and `reject` take).
    ActionId
);

/// Longest conversation title.
pub const MAX_TITLE: usize = 200;

/// A conversation between one user and the assistant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Conversation {
    /// Opaque id.
    pub id: ConversationId,
    /// The organization it happened in.
    pub organization_id: OrganizationId,
    /// The user it belongs to.
    pub user_id: String,
    /// A title (by default the start of the first message).
    pub title: String,
    /// How many messages it holds.
    pub message_count: u64,
    /// When it was started.
    pub created_at: Timestamp,
    /// When a message was last added (or it was renamed).
    pub updated_at: Timestamp,
}

/// A conversation to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewConversation {
    /// The user it belongs to.
    pub user_id: String,
    /// Its title.
    pub title: String,
}

impl NewConversation {
    /// Checks the user and title.
    pub fn validate(&self) -> Result<()> {
        check::required("user_id", &self.user_id)?;
        check_title(&self.title)
    }
}

fn check_title(title: &str) -> Result<()> {
    check::required("title", title)?;
    if title.chars().count() > MAX_TITLE {
        return Err(Error::invalid(format!("`title` is longer than {MAX_TITLE} characters")));
    }
    Ok(())
}

/// A change to a conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationPatch {
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl ConversationPatch {
    /// Checks the title.
    pub fn validate(&self) -> Result<()> {
        check::opt(self.title.as_deref(), check_title)
    }
}

string_enum! {
    /// Who a message is from.
    MessageRole {
        /// The human.
        User => "user",
        /// The model (text, thoughts and function calls, kept exactly as the model sent them).
        Model => "model",
        /// The results of the model's function calls, returned to it as data.
        Tool => "tool",
        /// A note from crm-agent itself, e.g. the outcome of a confirmed action.
        System => "system"
    }
}

/// One message of a conversation.
///
/// `parts` are the model API's content parts, kept verbatim (unknown fields included): the
/// Gemini API requires thought signatures and function call ids to be sent back exactly as
/// it produced them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    /// Opaque id; ids sort in the order messages were added.
    pub id: MessageId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Who it is from.
    pub role: MessageRole,
    /// The content parts (a JSON array).
    pub parts: serde_json::Value,
    /// When it was added.
    pub created_at: Timestamp,
}

/// A message to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    /// Who it is from.
    pub role: MessageRole,
    /// The content parts (a JSON array).
    pub parts: serde_json::Value,
}

impl NewMessage {
    /// Checks that `parts` is a non-empty array of objects.
    pub fn validate(&self) -> Result<()> {
        match &self.parts {
            serde_json::Value::Array(parts) if !parts.is_empty() && parts.iter().all(|p| p.is_object()) => Ok(()),
            _ => Err(Error::invalid("a message's `parts` must be a non-empty array of objects")),
        }
    }

    /// Checks every message of a batch before any is written; the error names the message
    /// when there are several.
    pub fn validate_batch(messages: &[NewMessage]) -> Result<()> {
        for (i, message) in messages.iter().enumerate() {
            message.validate().map_err(|err| match err {
                Error::InvalidArgument(m) if messages.len() > 1 => Error::invalid(format!("message {}: {m}", i + 1)),
                other => other,
            })?;
        }
        Ok(())
    }
}

/// How long a pending action waits for its confirmation.
pub const PENDING_ACTION_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// How long a confirmed action may stay `executing`. A store that runs the write and records
/// its outcome in one transaction never shows `executing` at all; on one that cannot, an action
/// whose process stopped mid-run reads as `failed` (with [`interrupted_outcome`]) once this has
/// passed since its confirmation, and the core gives up waiting on a run well before it.
pub const ACTION_RUN_LIMIT: chrono::Duration = chrono::Duration::minutes(2);

/// The outcome of a confirmed action whose run was cut off before it recorded how it ended:
/// whether its write happened is unknown to crm-agent.
pub fn interrupted_outcome() -> serde_json::Value {
    serde_json::json!({"error": {
        "kind": "unavailable",
        "message": "this change was cut off while it ran (the server stopped) and how it ended was not recorded: \
                    check the record before asking for the change again",
    }})
}

string_enum! {
    /// Where a pending action stands.
    ActionStatus {
        /// Waiting for the user's confirm or reject.
        Pending => "pending",
        /// Confirmed; the tool is running.
        Executing => "executing",
        /// Confirmed and run successfully.
        Succeeded => "succeeded",
        /// Confirmed, but the tool failed.
        Failed => "failed",
        /// Rejected by the user.
        Rejected => "rejected",
        /// Not decided before `expires_at`: it can no longer be confirmed. Stores answer it for
        /// a pending action past its expiry (the stored status may stay `pending`), and a
        /// `status` filter of `pending` leaves such actions out.
        Expired => "expired"
    }
}

/// A write the assistant proposed, bound to the exact tool and arguments, waiting for the
/// user's decision. It runs at most once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PendingAction {
    /// Opaque id.
    pub id: ActionId,
    /// The organization.
    pub organization_id: OrganizationId,
    /// The user who must decide (the one the assistant was talking to).
    pub user_id: String,
    /// The conversation it came from, if any.
    pub conversation_id: Option<ConversationId>,
    /// The tool to run.
    pub tool: String,
    /// The exact arguments it will run with.
    pub arguments: serde_json::Value,
    /// A one-line description for the confirmation card.
    pub summary: String,
    /// Where it stands.
    pub status: ActionStatus,
    /// The tool's result (on success) or `{"error": …}` (on failure).
    pub outcome: Option<serde_json::Value>,
    /// When it was proposed.
    pub created_at: Timestamp,
    /// After this it can no longer be confirmed.
    pub expires_at: Timestamp,
    /// When it was confirmed or rejected.
    pub decided_at: Option<Timestamp>,
}

impl PendingAction {
    /// Whether it is still waiting and not expired at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.status == ActionStatus::Pending && now < self.expires_at
    }
}

/// A pending action to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPendingAction {
    /// The user who must decide.
    pub user_id: String,
    /// The conversation it came from.
    pub conversation_id: Option<ConversationId>,
    /// The tool to run.
    pub tool: String,
    /// The exact arguments.
    pub arguments: serde_json::Value,
    /// A one-line description.
    pub summary: String,
    /// When it was proposed.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
}

impl NewPendingAction {
    /// Checks the fields.
    pub fn validate(&self) -> Result<()> {
        check::required("user_id", &self.user_id)?;
        check::required("tool", &self.tool)?;
        check::long("summary", &self.summary)?;
        if !self.arguments.is_object() {
            return Err(Error::invalid("a pending action's `arguments` must be a JSON object"));
        }
        if self.expires_at <= self.created_at {
            return Err(Error::invalid("a pending action must expire after it is created"));
        }
        Ok(())
    }
}

/// Filters of `list_pending_actions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PendingActionFilter {
    /// Only those of this conversation.
    #[serde(default)]
    pub conversation_id: Option<ConversationId>,
    /// Only those in this status.
    #[serde(default)]
    pub status: Option<ActionStatus>,
}
