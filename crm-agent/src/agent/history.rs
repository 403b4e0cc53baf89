//! Conversation history: assembling a streamed answer into one content, storing turns as
//! messages, and rebuilding the model's history from the store within a token budget.
//!
//! The history sent to the model is always rebuilt from the store — never taken from the
//! client — so a client cannot put words in the assistant's mouth or forge tool results.

use serde_json::Value;

use crate::domain::{ConversationId, Message, MessageRole, NewMessage, PageRequest};
use crate::error::{Error, Result};
use crate::model::{Content, Part};
use crate::store::{Scope, Store};

/// Assembles the parts of a streamed answer into one content.
///
/// Plain text deltas are joined into one part (as Gemini's own SDKs do); every other part —
/// function calls, and anything carrying a `thoughtSignature` — is kept exactly as received,
/// in order, because Gemini requires those parts back unchanged.
#[derive(Debug, Default)]
pub(crate) struct ContentBuilder {
    parts: Vec<Part>,
}

impl ContentBuilder {
    pub(crate) fn push(&mut self, part: Part) {
        if part.is_text_only() {
            let text = part.text.as_deref().unwrap_or_default();
            if text.is_empty() {
                return; // the empty text part closing a stream carries nothing
            }
            if let Some(last) = self.parts.last_mut().filter(|last| last.is_text_only() && last.thought == part.thought)
            {
                last.text.get_or_insert_with(String::new).push_str(text);
                return;
            }
        }
        self.parts.push(part);
    }

    pub(crate) fn parts(&self) -> &[Part] {
        &self.parts
    }

    pub(crate) fn into_content(self) -> Content {
        Content::new("model", self.parts)
    }
}

/// A stored message from content parts.
pub(crate) fn message(role: MessageRole, parts: &[Part]) -> Result<NewMessage> {
    let parts = serde_json::to_value(parts).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(NewMessage { role, parts })
}

/// The model's view of a stored message: tool results and system notes go back as `user`
/// turns (the Gemini API has only `user` and `model`).
fn content_of(message: &Message) -> Result<Content> {
    let parts: Vec<Part> = serde_json::from_value(message.parts.clone())
        .map_err(|e| Error::store(format!("message {} has unreadable parts: {e}", message.id)))?;
    let role = match message.role {
        MessageRole::Model => "model",
        MessageRole::User | MessageRole::Tool | MessageRole::System => "user",
    };
    Ok(Content::new(role, parts))
}

/// A rough token count of a message (about four bytes of JSON per token): enough to keep the
/// history inside a budget without a tokenizer.
fn estimated_tokens(message: &Message) -> usize {
    message.parts.to_string().len() / 4 + 4
}

/// The history of a conversation for the model, oldest first: as many of the latest messages
/// as fit in `budget_tokens`, starting at a message of the user (a tool result or a model
/// turn without what came before it would be meaningless, and the API rejects a function
/// response whose call is missing), with consecutive turns of one role merged.
pub(crate) async fn load(
    store: &dyn Store,
    scope: &Scope,
    user_id: &str,
    conversation: &ConversationId,
    budget_tokens: usize,
) -> Result<Vec<Content>> {
    let mut newest_first: Vec<Message> = Vec::new();
    let mut spent = 0;
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    'pages: loop {
        let batch = store.list_messages(scope, user_id, conversation, &page).await?;
        for message in batch.items {
            spent += estimated_tokens(&message);
            // Always keep the latest message, even when it alone is over budget.
            if spent > budget_tokens && !newest_first.is_empty() {
                break 'pages;
            }
            newest_first.push(message);
        }
        match batch.next_cursor {
            Some(cursor) => page = PageRequest::after(PageRequest::MAX_LIMIT, cursor),
            None => break,
        }
    }
    newest_first.reverse();
    let oldest_first = newest_first;
    let start = oldest_first.iter().position(|m| m.role == MessageRole::User).unwrap_or(oldest_first.len());
    let mut contents: Vec<Content> = Vec::new();
    for message in &oldest_first[start..] {
        let content = content_of(message)?;
        match contents.last_mut() {
            Some(last) if last.role == content.role => last.parts.extend(content.parts),
            _ => contents.push(content),
        }
    }
    Ok(contents)
}

/// The history followed by the user's new message (merged into a last `user` turn, as
/// [`load`] merges consecutive turns of one role).
pub(crate) fn with_user_message(mut contents: Vec<Content>, message: String) -> Vec<Content> {
    match contents.last_mut() {
        Some(last) if last.role.as_deref() == Some("user") => last.parts.push(Part::text(message)),
        _ => contents.push(Content::user_text(message)),
    }
    contents
}

/// A note from crm-agent into a conversation (e.g. the outcome of a confirmed action). It is
/// sent to the model as text of the user turn, marked as coming from the system.
pub(crate) fn system_note(text: &str) -> Result<NewMessage> {
    message(MessageRole::System, &[Part::text(format!("[crm-agent note] {text}"))])
}

/// The text of a stored message for display (answers and user messages; tool traffic and
/// thoughts left out).
pub fn message_text(message: &Message) -> String {
    message
        .parts
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FunctionCall;

    #[test]
    fn text_deltas_merge_but_signed_parts_stay_verbatim() {
        let mut builder = ContentBuilder::default();
        builder.push(Part::text("Hel"));
        builder.push(Part::text("lo"));
        let call = Part {
            function_call: Some(FunctionCall { id: Some("c1".into()), name: "f".into(), ..FunctionCall::default() }),
            thought_signature: Some("sig".into()),
            ..Part::default()
        };
        builder.push(call.clone());
        builder.push(Part::text(""));
        let signed_text = Part { text: Some("x".into()), thought_signature: Some("s2".into()), ..Part::default() };
        builder.push(signed_text.clone());
        builder.push(Part::text("y"));
        assert_eq!(builder.parts(), &[Part::text("Hello"), call, signed_text, Part::text("y")]);
    }

    #[test]
    fn thoughts_do_not_merge_into_answers() {
        let thought = |t: &str| Part { text: Some(t.into()), thought: Some(true), ..Part::default() };
        let mut builder = ContentBuilder::default();
        builder.push(thought("a"));
        builder.push(thought("b"));
        builder.push(Part::text("c"));
        assert_eq!(builder.parts(), &[thought("ab"), Part::text("c")]);
    }
}
