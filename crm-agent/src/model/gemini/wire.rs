//! The Gemini REST API's JSON, as typed structs that keep every field they do not know.
//!
//! Every struct has an `extra` map flattened into it: fields the API adds tomorrow survive a
//! round trip through our history untouched. That matters most for [`Part`]: Gemini 3 models
//! reject a follow-up request whose function-call parts lost their `thoughtSignature`, so a
//! part must go back exactly as it came.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One turn of a conversation: a role and its parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    /// `user` or `model` (absent on system instructions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The parts, in order.
    #[serde(default)]
    pub parts: Vec<Part>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Content {
    /// A `user` turn of one text part.
    pub fn user_text(text: impl Into<String>) -> Self {
        Content { role: Some("user".into()), parts: vec![Part::text(text)], extra: Map::new() }
    }

    /// A turn with `role` and `parts`.
    pub fn new(role: &str, parts: Vec<Part>) -> Self {
        Content { role: Some(role.into()), parts, extra: Map::new() }
    }

    /// The function calls among the parts, in order.
    pub fn function_calls(&self) -> impl Iterator<Item = &FunctionCall> {
        self.parts.iter().filter_map(|p| p.function_call.as_ref())
    }

    /// The visible text (thoughts excluded), concatenated.
    pub fn text(&self) -> String {
        self.parts.iter().filter(|p| p.thought != Some(true)).filter_map(|p| p.text.as_deref()).collect()
    }
}

/// One part of a [`Content`]: text, a thought, a function call or response, or anything else
/// the API sends (kept in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    /// Text (a delta, while streaming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Whether the text is the model's thinking rather than its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    /// Opaque signature of the model's reasoning; must be sent back unchanged on this part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
    /// A call the model wants made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    /// The result of a call, sent back to the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponse>,
    /// Fields this crate does not model (inline data, executable code, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Part {
    /// A plain text part.
    pub fn text(text: impl Into<String>) -> Self {
        Part { text: Some(text.into()), ..Part::default() }
    }

    /// A function response part.
    pub fn function_response(response: FunctionResponse) -> Self {
        Part { function_response: Some(response), ..Part::default() }
    }

    /// Whether this is text (answer or thought) and nothing else — no signature, call or
    /// other field — so neighbouring deltas of the same kind may be joined.
    pub fn is_text_only(&self) -> bool {
        self.text.is_some()
            && self.thought_signature.is_none()
            && self.function_call.is_none()
            && self.function_response.is_none()
            && self.extra.is_empty()
    }
}

/// A function call requested by the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCall {
    /// The call id, when the model gives one; echo it in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The function name.
    pub name: String,
    /// The arguments (a JSON object).
    #[serde(default = "empty_object")]
    pub args: Value,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// The result of a function call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResponse {
    /// The id of the call this answers (absent when the call had none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The function name.
    pub name: String,
    /// The result: a JSON object (`{"output": …}` or `{"error": …}`).
    pub response: Value,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `generateContent` / `streamGenerateContent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest {
    /// The conversation so far, oldest first.
    pub contents: Vec<Content>,
    /// The system instruction.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "system_instruction")]
    pub system_instruction: Option<Content>,
    /// The tools the model may call.
    #[serde(default, skip_serializing_if = "ToolList::is_empty")]
    pub tools: ToolList,
    /// How the model may call them.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "tool_config")]
    pub tool_config: Option<ToolConfig>,
    /// Sampling and output settings.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "generation_config")]
    pub generation_config: Option<GenerationConfig>,
    /// Fields this crate does not model (safety settings, cached content, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `tools` of a request: typed, shared, and serialized at most once.
///
/// Tool declarations are most of a request's bytes (tens of kilobytes of schemas) and the same
/// for every step of every turn of a user with the same permissions, so a `ToolList` keeps its
/// JSON once made and clones cheaply.
#[derive(Clone, Default)]
pub struct ToolList {
    tools: std::sync::Arc<Vec<Tool>>,
    json: std::sync::Arc<std::sync::OnceLock<Box<serde_json::value::RawValue>>>,
}

impl ToolList {
    /// A list of tool groups.
    pub fn new(tools: Vec<Tool>) -> Self {
        ToolList { tools: std::sync::Arc::new(tools), json: Default::default() }
    }

    /// The tool groups.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

impl std::fmt::Debug for ToolList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.tools.fmt(f)
    }
}

impl PartialEq for ToolList {
    fn eq(&self, other: &Self) -> bool {
        self.tools == other.tools
    }
}

impl Serialize for ToolList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(json) = self.json.get() {
            return json.serialize(serializer);
        }
        match serde_json::value::to_raw_value(&*self.tools) {
            Ok(json) => self.json.get_or_init(|| json).serialize(serializer),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

impl<'de> Deserialize<'de> for ToolList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(ToolList::new(Vec::deserialize(deserializer)?))
    }
}

/// A group of tools.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// Function declarations.
    #[serde(default, skip_serializing_if = "Vec::is_empty", alias = "function_declarations")]
    pub function_declarations: Vec<FunctionDeclaration>,
    /// Fields this crate does not model (code execution, search, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One function the model may call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDeclaration {
    /// The name.
    pub name: String,
    /// What it does, for the model.
    #[serde(default)]
    pub description: String,
    /// The parameters as plain JSON Schema (not the OpenAPI-subset `parameters`).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "parameters_json_schema")]
    pub parameters_json_schema: Option<Value>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `toolConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    /// How functions may be called.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "function_calling_config")]
    pub function_calling_config: Option<FunctionCallingConfig>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `functionCallingConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallingConfig {
    /// The mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FunctionCallingMode>,
    /// With `ANY`/`VALIDATED`: the only functions that may be called.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "allowed_function_names")]
    pub allowed_function_names: Option<Vec<String>>,
}

/// How the model may call functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FunctionCallingMode {
    /// The model decides between text and calls.
    Auto,
    /// The model must call a function.
    Any,
    /// The model must not call functions.
    None,
    /// Like `Auto`, but calls are constrained to the declared schemas.
    Validated,
}

/// `generationConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "top_p")]
    pub top_p: Option<f32>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "top_k")]
    pub top_k: Option<u32>,
    /// Most output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "max_output_tokens")]
    pub max_output_tokens: Option<u32>,
    /// Thinking settings (`{"thinkingBudget": …, "includeThoughts": …}`), passed through.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "thinking_config")]
    pub thinking_config: Option<Value>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One streamed chunk, or the whole answer of `generateContent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    /// The candidates (crm-agent asks for one).
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    /// Why the prompt was blocked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_feedback: Option<PromptFeedback>,
    /// Token counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageMetadata>,
    /// The model that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    /// The response id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// An error object where a chunk was expected (the API appends one mid-stream on failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl GenerateContentResponse {
    /// The first candidate's parts (empty when there is none).
    pub fn parts(&self) -> &[Part] {
        self.candidates.first().and_then(|c| c.content.as_ref()).map(|c| c.parts.as_slice()).unwrap_or(&[])
    }

    /// The first candidate's finish reason.
    pub fn finish_reason(&self) -> Option<&str> {
        self.candidates.first().and_then(|c| c.finish_reason.as_deref())
    }

    /// Why the prompt was blocked, when it was.
    pub fn block_reason(&self) -> Option<&str> {
        self.prompt_feedback.as_ref().and_then(|f| f.block_reason.as_deref())
    }
}

/// One candidate answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// Its content (parts of it, while streaming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Why generation stopped (`STOP`, `MAX_TOKENS`, `SAFETY`, `MALFORMED_FUNCTION_CALL`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Index among candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `promptFeedback`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    /// Why the prompt was blocked (`SAFETY`, `OTHER`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_reason: Option<String>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Token counts of a response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    /// Tokens in the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_token_count: Option<u64>,
    /// Tokens generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates_token_count: Option<u64>,
    /// Tokens spent thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thoughts_token_count: Option<u64>,
    /// Everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_token_count: Option<u64>,
    /// Fields this crate does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The API's error object: `{"error": {"code", "message", "status", "details"}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// The HTTP status code.
    #[serde(default)]
    pub code: u16,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// The canonical status (`RESOURCE_EXHAUSTED`, `UNAVAILABLE`, …).
    #[serde(default)]
    pub status: String,
    /// Typed details (`RetryInfo`, `QuotaFailure`, `ErrorInfo`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Value>,
}

/// The envelope of an error body.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ApiError,
}

impl ApiError {
    /// `RetryInfo.retryDelay` ("26s", "0.5s"), when the API says how long to wait.
    pub fn retry_delay(&self) -> Option<std::time::Duration> {
        self.details
            .iter()
            .filter(|d| d.get("@type").and_then(Value::as_str).is_some_and(|t| t.ends_with("google.rpc.RetryInfo")))
            .filter_map(|d| d.get("retryDelay").and_then(Value::as_str))
            .find_map(parse_duration)
    }

    /// Whether a 429 is about a per-day quota (waiting seconds will not help).
    pub fn is_daily_quota(&self) -> bool {
        self.details
            .iter()
            .filter(|d| d.get("@type").and_then(Value::as_str).is_some_and(|t| t.ends_with("google.rpc.QuotaFailure")))
            .filter_map(|d| d.get("violations").and_then(Value::as_array))
            .flatten()
            .filter_map(|v| v.get("quotaId").and_then(Value::as_str))
            .any(|id| id.contains("PerDay"))
    }
}

/// Parses a protobuf JSON duration: decimal seconds with an `s` suffix ("26s", "1.5s").
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let seconds: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    // try_from: an absurd delay ("1e20s") is no delay we can honour, not a panic.
    std::time::Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let raw = r#"{"functionCall":{"name":"f","args":{"a":1},"id":"c1","future":true},"thoughtSignature":"sig","videoMetadata":{"x":1}}"#;
        let part: Part = serde_json::from_str(raw).unwrap();
        assert_eq!(part.thought_signature.as_deref(), Some("sig"));
        let back: Value = serde_json::to_value(&part).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(raw).unwrap());
    }

    #[test]
    fn durations_are_protobuf_seconds() {
        assert_eq!(parse_duration("26s"), Some(std::time::Duration::from_secs(26)));
        assert_eq!(parse_duration("0.25s"), Some(std::time::Duration::from_millis(250)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("1e20s"), None);
        assert_eq!(parse_duration("-1s"), None);
    }
}
