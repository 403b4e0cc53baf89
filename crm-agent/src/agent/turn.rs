//! One chat turn: the multi-step loop between the model and the tools.
//!
//! Per step: stream the model's answer (text deltas go straight to the host), then run every
//! function call it made — through [`ToolRegistry::call`](crate::ToolRegistry::call), or as a
//! pending action when the write needs confirmation — and store the step (the model's content
//! exactly as received, and all function responses in one tool message) atomically before the
//! next step. A step that fails midway stores nothing, so the conversation is always a
//! sequence of whole steps.

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::CrmAgent;
use super::events::{ChatEvent, Usage};
use super::history::{self, ContentBuilder};
use super::prompt::{PromptInputs, system_prompt};
use crate::actions::{self, error_json, needs_confirmation};
use crate::context::UserContext;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::model::gemini::wire::{FunctionCallingConfig, FunctionCallingMode, GenerationConfig, ToolConfig};
use crate::model::{Content, FunctionCall, FunctionResponse, GenerateContentRequest, Part};
use crate::store::Scope;

/// Why a turn stopped before its end.
enum Stop {
    /// The host dropped the stream.
    Cancelled,
    /// Tell the host (an error event).
    Failed(ChatEvent),
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Stop::Failed(ChatEvent::from_error(&error))
    }
}

pub(super) struct Turn {
    agent: CrmAgent,
    user: UserContext,
    message: String,
    conversation: Option<ConversationId>,
    events: mpsc::Sender<ChatEvent>,
    usage: Usage,
    /// Where this turn's messages go, once the conversation is known.
    target: Option<(Scope, ConversationId)>,
    /// Messages not stored yet: the user's message waits to be stored with the first step
    /// (one transaction instead of two), and is stored alone if the turn ends before.
    unsaved: Vec<NewMessage>,
}

/// What the model produced in one step.
struct StepAnswer {
    content: ContentBuilder,
    block_reason: Option<String>,
    finish_reason: Option<String>,
}

impl Turn {
    pub(super) fn new(
        agent: CrmAgent,
        user: UserContext,
        message: String,
        conversation: Option<ConversationId>,
        events: mpsc::Sender<ChatEvent>,
    ) -> Self {
        Turn { agent, user, message, conversation, events, usage: Usage::default(), target: None, unsaved: Vec::new() }
    }

    pub(super) async fn run(mut self) {
        let outcome = self.steps().await;
        // A turn that ended before storing the user's message (the model failed, the host hung
        // up) still keeps the message: the conversation shows what was asked.
        if let Err(error) = self.save(Vec::new()).await {
            tracing::error!(%error, "could not store the user's message of a failed turn");
        }
        let last = match outcome {
            Ok(()) => ChatEvent::Done { usage: self.usage },
            Err(Stop::Failed(event)) => event,
            Err(Stop::Cancelled) => return,
        };
        let _ = self.events.send(last).await;
    }

    /// Stores the unsaved messages followed by `more`, atomically.
    async fn save(&mut self, more: Vec<NewMessage>) -> Result<()> {
        let Some((scope, conversation)) = &self.target else { return Ok(()) };
        let mut messages = std::mem::take(&mut self.unsaved);
        messages.extend(more);
        if messages.is_empty() {
            return Ok(());
        }
        let store = &self.agent.inner.store;
        let stored =
            store.append_messages(scope, &self.user.user_id, conversation, messages.clone(), chrono::Utc::now()).await;
        if let Err(error) = stored {
            // Keep the user's message for the final attempt in `run`; the step itself is lost
            // with the error the host is told about.
            self.unsaved = messages.into_iter().filter(|m| m.role == MessageRole::User).collect();
            return Err(error);
        }
        Ok(())
    }

    async fn emit(&self, event: ChatEvent) -> Result<(), Stop> {
        self.events.send(event).await.map_err(|_| Stop::Cancelled)
    }

    async fn steps(&mut self) -> Result<(), Stop> {
        let agent = self.agent.clone();
        let inner = &agent.inner;
        agent.check_message(&self.message)?;
        let message = self.message.trim().to_owned();
        if !inner.model.is_configured() {
            return Err(Stop::Failed(ChatEvent::Error {
                code: "model_not_configured".into(),
                message: "The assistant's model is not configured: set GEMINI_API_KEY on the server. \
                          Tools, conversations and MCP keep working."
                    .into(),
                retryable: false,
            }));
        }
        let scope = self.user.scope()?;
        let store = inner.store.as_ref();
        let organization = store.get_organization(&scope).await?;
        let conversation = match &self.conversation {
            Some(id) => store.get_conversation(&scope, &self.user.user_id, id).await?,
            None => {
                let new = NewConversation { user_id: self.user.user_id.clone(), title: title_of(&message) };
                store.create_conversation(&scope, new).await?
            }
        };
        self.target = Some((scope.clone(), conversation.id.clone()));
        self.unsaved.push(history::message(MessageRole::User, &[Part::text(message.clone())])?);
        self.emit(ChatEvent::Started { conversation_id: conversation.id.clone() }).await?;

        let tools = self.agent.tools(&self.user);
        let confirmation = inner.options.confirmation.unwrap_or(organization.settings.confirmation_mode);
        let prompt = system_prompt(&PromptInputs {
            user: &self.user,
            organization: &organization,
            policy: inner.registry.policy(),
            tool_count: tools.len(),
            confirmation,
            now: chrono::Utc::now(),
        });
        let mut request = GenerateContentRequest {
            contents: history::with_user_message(
                history::load(store, &scope, &self.user.user_id, &conversation.id, inner.options.history_token_budget)
                    .await?,
                message,
            ),
            system_instruction: Some(Content { role: None, parts: vec![Part::text(prompt)], ..Content::default() }),
            tools: self.agent.declarations(&tools, inner.registry.may_import(&self.user)),
            tool_config: (!tools.is_empty()).then(|| ToolConfig {
                function_calling_config: Some(FunctionCallingConfig {
                    mode: Some(FunctionCallingMode::Auto),
                    allowed_function_names: None,
                }),
                ..ToolConfig::default()
            }),
            generation_config: inner
                .options
                .temperature
                .map(|t| GenerationConfig { temperature: Some(t), ..GenerationConfig::default() }),
            ..GenerateContentRequest::default()
        };

        for step in 1..=inner.options.max_steps.max(1) {
            let answer = self.stream_step(request.clone()).await?;
            if let Some(reason) = answer.block_reason {
                return Err(Stop::Failed(ChatEvent::Error {
                    code: "blocked".into(),
                    message: format!("The model declined this message ({reason}). Try rephrasing it."),
                    retryable: false,
                }));
            }
            let calls: Vec<FunctionCall> =
                answer.content.parts().iter().filter_map(|p| p.function_call.clone()).collect();
            if calls.is_empty() {
                if let Some(reason) = answer.finish_reason.as_deref().filter(|r| is_failed_finish(r)) {
                    // Keep what was said; the turn itself failed.
                    self.store_model_answer(answer.content).await?;
                    return Err(Stop::Failed(ChatEvent::Error {
                        code: "model".into(),
                        message: format!("The model stopped before finishing its answer ({reason})."),
                        retryable: true,
                    }));
                }
                self.store_model_answer(answer.content).await?;
                return Ok(());
            }
            let model_content = answer.content.into_content();
            let responses = self.run_calls(&conversation.id, step, &calls, confirmation).await;
            let messages = vec![
                history::message(MessageRole::Model, &model_content.parts)?,
                history::message(MessageRole::Tool, &responses)?,
            ];
            self.save(messages).await?;
            // Now that the step is stored, give the host a chance to stop the turn.
            if self.events.is_closed() {
                return Err(Stop::Cancelled);
            }
            request.contents.push(model_content);
            request.contents.push(Content::new("user", responses));
        }
        Err(Stop::Failed(ChatEvent::Error {
            code: "step_limit".into(),
            message: format!(
                "Stopped after {} model steps without a final answer; the tool results so far are saved. \
                 Ask again to continue.",
                inner.options.max_steps
            ),
            retryable: false,
        }))
    }

    /// Streams one model answer, forwarding text deltas; stops early when the host hangs up.
    async fn stream_step(&mut self, request: GenerateContentRequest) -> Result<StepAnswer, Stop> {
        let model = self.agent.inner.model.clone();
        let mut stream = tokio::select! {
            opened = model.stream_generate(request) => opened?,
            () = self.events.closed() => return Err(Stop::Cancelled),
        };
        let mut answer = StepAnswer { content: ContentBuilder::default(), block_reason: None, finish_reason: None };
        let mut step_usage = None;
        loop {
            let chunk = tokio::select! {
                chunk = stream.next() => chunk,
                () = self.events.closed() => return Err(Stop::Cancelled),
            };
            let Some(chunk) = chunk else { break };
            let chunk = chunk?;
            if let Some(reason) = chunk.block_reason() {
                answer.block_reason = Some(reason.to_owned());
            }
            if let Some(reason) = chunk.finish_reason() {
                answer.finish_reason = Some(reason.to_owned());
            }
            if chunk.usage_metadata.is_some() {
                step_usage = chunk.usage_metadata.clone();
            }
            for part in chunk.candidates.into_iter().next().and_then(|c| c.content).map(|c| c.parts).unwrap_or_default()
            {
                // Answer text goes to the host as it comes (a signature on the part changes
                // nothing); thoughts do not.
                if part.thought != Some(true)
                    && part.function_call.is_none()
                    && let Some(delta) = part.text.as_deref().filter(|t| !t.is_empty())
                {
                    self.emit(ChatEvent::Text { delta: delta.to_owned() }).await?;
                }
                answer.content.push(part);
            }
        }
        self.usage.steps += 1;
        if let Some(usage) = step_usage {
            self.usage.prompt_tokens += usage.prompt_token_count.unwrap_or(0);
            self.usage.output_tokens +=
                usage.candidates_token_count.unwrap_or(0) + usage.thoughts_token_count.unwrap_or(0);
            self.usage.total_tokens += usage.total_token_count.unwrap_or(0);
        }
        Ok(answer)
    }

    async fn store_model_answer(&mut self, content: ContentBuilder) -> Result<()> {
        if content.parts().is_empty() {
            return self.save(Vec::new()).await;
        }
        let message = history::message(MessageRole::Model, content.parts())?;
        self.save(vec![message]).await
    }

    /// Runs (or proposes) every call of one step, in order, and returns the function
    /// responses for the model. Events go to the host as calls start and finish; a host that
    /// hung up meanwhile does not stop them (the step must be stored whole).
    async fn run_calls(
        &self,
        conversation: &ConversationId,
        step: u32,
        calls: &[FunctionCall],
        confirmation: ConfirmationMode,
    ) -> Vec<Part> {
        let inner = &self.agent.inner;
        let mut responses = Vec::with_capacity(calls.len());
        for (index, call) in calls.iter().enumerate() {
            let event_id = call.id.clone().unwrap_or_else(|| format!("call_{step}_{}", index + 1));
            let _ = self
                .emit(ChatEvent::ToolCall { id: event_id.clone(), name: call.name.clone(), args: call.args.clone() })
                .await;
            let needs_confirmation =
                inner.registry.get(&call.name).is_some_and(|tool| needs_confirmation(confirmation, tool));
            let response = if needs_confirmation {
                match self.propose(conversation, call).await {
                    Ok(action) => {
                        let _ = self
                            .emit(ChatEvent::ConfirmationRequired {
                                action_id: action.id.clone(),
                                tool: action.tool.clone(),
                                args: action.arguments.clone(),
                                summary: action.summary.clone(),
                                expires_at: action.expires_at,
                            })
                            .await;
                        json!({"output": {
                            "status": "pending_confirmation",
                            "action_id": action.id,
                            "summary": action.summary,
                            "message": "Nothing has been changed yet. The user must confirm this action in their \
                                        interface; tell them what it will do."
                        }})
                    }
                    Err(error) => {
                        let _ = self.emit(tool_result(&event_id, &call.name, Err(&error))).await;
                        json!({ "error": error_json(&error)["error"] })
                    }
                }
            } else {
                let result = inner.registry.call(&self.user, &call.name, call.args.clone()).await;
                let _ = self.emit(tool_result(&event_id, &call.name, result.as_ref())).await;
                match result {
                    Ok(value) => json!({ "output": cap_json_value(value, inner.options.max_tool_result_bytes) }),
                    Err(error) => json!({ "error": error_json(&error)["error"] }),
                }
            };
            responses.push(Part::function_response(FunctionResponse {
                id: call.id.clone(),
                name: call.name.clone(),
                response,
                ..FunctionResponse::default()
            }));
        }
        responses
    }

    /// A write that needs confirmation: checked (and audited) now, recorded as a pending
    /// action bound to these exact arguments.
    async fn propose(&self, conversation: &ConversationId, call: &FunctionCall) -> Result<PendingAction> {
        actions::propose(&self.agent.inner.registry, &self.user, Some(conversation), &call.name, &call.args).await
    }
}

/// Finish reasons that mean the answer is not what the model meant to say.
fn is_failed_finish(reason: &str) -> bool {
    matches!(reason, "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "OTHER" | "SAFETY" | "RECITATION")
}

/// A conversation's default title: the start of its first message, on one line.
fn title_of(message: &str) -> String {
    let line: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
    actions::cap_text(&line, 81)
}

fn tool_result(id: &str, name: &str, result: std::result::Result<&Value, &Error>) -> ChatEvent {
    let (ok, summary) = match result {
        Ok(value) => (true, result_summary(value)),
        Err(error) => (false, error.to_string()),
    };
    ChatEvent::ToolResult { id: id.to_owned(), name: name.to_owned(), ok, summary }
}

/// One line about a tool result: "3 of 120 results", "Acme Ltd", "ok".
fn result_summary(value: &Value) -> String {
    if let (Some(items), Some(total)) = (value.get("items").and_then(Value::as_array), value.get("total")) {
        return format!("{} of {} results", items.len(), total);
    }
    for key in ["name", "title", "number", "full_name", "id"] {
        if let Some(text) = value.get(key).and_then(Value::as_str) {
            return text.chars().take(120).collect();
        }
    }
    match value {
        Value::Object(map) => format!("{} fields", map.len()),
        Value::Array(items) => format!("{} results", items.len()),
        _ => "ok".into(),
    }
}

/// A tool result for the model, cut to `max_bytes` of JSON (marked as cut) when longer.
fn cap_json_value(value: Value, max_bytes: usize) -> Value {
    let text = value.to_string();
    if text.len() <= max_bytes {
        return value;
    }
    json!({"truncated": true, "note": "the result was too long and was cut; ask for a smaller page",
           "partial_json": cap_json(&value, max_bytes)})
}

/// JSON text of `value`, at most `max_bytes` long (cut on a character boundary).
pub(super) fn cap_json(value: &Value, max_bytes: usize) -> String {
    let mut text = value.to_string();
    if text.len() > max_bytes {
        let mut end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_one_short_line() {
        assert_eq!(title_of("  How many\n deals?  "), "How many deals?");
        assert_eq!(title_of(&"x".repeat(100)).chars().count(), 81);
    }

    #[test]
    fn summaries_are_short_and_readable() {
        assert_eq!(result_summary(&json!({"items": [1, 2], "total": 9, "next_cursor": "c"})), "2 of 9 results");
        assert_eq!(result_summary(&json!({"id": "cus_1", "name": "Acme"})), "Acme");
        let long = cap_json(&json!({"a": "é".repeat(100)}), 11);
        assert!(long.len() <= 11 + '…'.len_utf8());
    }
}
