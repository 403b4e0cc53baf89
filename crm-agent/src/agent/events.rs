//! What a chat turn streams to its host, and the two ways to put it on the wire.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{ActionId, ConversationId, Timestamp};

/// Token counts of a whole turn (every model step added up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Usage {
    /// Tokens sent to the model.
    pub prompt_tokens: u64,
    /// Tokens the model produced (answer and thinking).
    pub output_tokens: u64,
    /// Everything the model billed.
    pub total_tokens: u64,
    /// How many model calls the turn took.
    pub steps: u32,
}

/// One event of a chat turn. Serialized as an object with a `type` key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    /// The turn started in this conversation (new or resumed). Always the first event of a
    /// turn that got as far as a conversation.
    Started {
        /// The conversation.
        conversation_id: ConversationId,
    },
    /// A piece of the answer's text (Markdown).
    Text {
        /// The new text.
        delta: String,
    },
    /// The model called a tool; it is running now.
    ToolCall {
        /// The call's id (the model's, or one crm-agent made up when the model gave none).
        id: String,
        /// The tool.
        name: String,
        /// The arguments.
        args: Value,
    },
    /// A tool call finished.
    ToolResult {
        /// The call's id.
        id: String,
        /// The tool.
        name: String,
        /// Whether it succeeded.
        ok: bool,
        /// A one-line summary of the result or the error.
        summary: String,
    },
    /// The model wants to make a write that needs the user's confirmation.
    ConfirmationRequired {
        /// What `confirm` / `reject` take.
        action_id: ActionId,
        /// The tool that will run.
        tool: String,
        /// The exact arguments it will run with.
        args: Value,
        /// A one-line description for the confirmation card.
        summary: String,
        /// After this it can no longer be confirmed.
        expires_at: Timestamp,
    },
    /// The turn finished.
    Done {
        /// What it cost.
        usage: Usage,
    },
    /// The turn failed; nothing follows. What was said and done before stays in the
    /// conversation.
    Error {
        /// A stable code: an error kind (`model`, `not_found`, `invalid_argument`, …) or one of
        /// `model_not_configured`, `blocked`, `step_limit`.
        code: String,
        /// What went wrong, for the user.
        message: String,
        /// Whether sending the same message again may work.
        retryable: bool,
    },
}

impl ChatEvent {
    /// The `type` value (`started`, `text`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            ChatEvent::Started { .. } => "started",
            ChatEvent::Text { .. } => "text",
            ChatEvent::ToolCall { .. } => "tool_call",
            ChatEvent::ToolResult { .. } => "tool_result",
            ChatEvent::ConfirmationRequired { .. } => "confirmation_required",
            ChatEvent::Done { .. } => "done",
            ChatEvent::Error { .. } => "error",
        }
    }

    /// Whether this event ends the turn.
    pub fn is_terminal(&self) -> bool {
        matches!(self, ChatEvent::Done { .. } | ChatEvent::Error { .. })
    }

    /// An error event from a crm-agent error.
    pub fn from_error(error: &crate::Error) -> Self {
        ChatEvent::Error {
            code: error.kind().to_string(),
            message: error.public_detail(),
            retryable: error.is_retryable(),
        }
    }

    /// The event as one Server-Sent Event: `event: TYPE`, `data: JSON`, blank line.
    pub fn to_sse(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        format!("event: {}\ndata: {json}\n\n", self.kind())
    }

    /// The event in the encoding of the system crm-agent replaces, so its frontend can switch
    /// over unchanged: `connected` (with the conversation id), `message` (text deltas as
    /// `content`), `completed`, `error`. Tool activity has no counterpart there and yields
    /// `None`; a confirmation becomes a `message` telling the user to confirm.
    pub fn to_compat(&self) -> Option<Value> {
        use serde_json::json;
        match self {
            ChatEvent::Started { conversation_id } => {
                Some(json!({"type": "connected", "conversation_id": conversation_id}))
            }
            ChatEvent::Text { delta } => Some(json!({"type": "message", "content": delta})),
            ChatEvent::ConfirmationRequired { action_id, summary, .. } => Some(json!({
                "type": "message",
                "content": format!("\n\n**Confirmation needed:** {summary} (action `{action_id}`)\n\n"),
                "action_id": action_id,
            })),
            ChatEvent::Done { usage } => Some(json!({"type": "completed", "usage": usage})),
            ChatEvent::Error { code, message, .. } => Some(json!({"type": "error", "error": message, "code": code})),
            ChatEvent::ToolCall { .. } | ChatEvent::ToolResult { .. } => None,
        }
    }
}

/// One event as a Server-Sent Event (see [`ChatEvent::to_sse`]): the one helper a host needs
/// to stream a turn over HTTP.
pub fn sse_encode(event: &ChatEvent) -> String {
    event.to_sse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_with_their_type() {
        let event =
            ChatEvent::ToolResult { id: "c1".into(), name: "get_customer".into(), ok: true, summary: "s".into() };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "tool_result");
        assert_eq!(serde_json::from_value::<ChatEvent>(json).unwrap(), event);
        let sse = sse_encode(&ChatEvent::Text { delta: "a\nb".into() });
        assert_eq!(sse, "event: text\ndata: {\"type\":\"text\",\"delta\":\"a\\nb\"}\n\n");
    }
}
