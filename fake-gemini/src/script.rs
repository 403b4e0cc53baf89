//! The script: which reply the fake gives to which request (see the crate docs for the JSON format).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the fake answers: an ordered list of [`Turn`]s plus an optional API key and the client checks switch.
///
/// Build it in Rust ([`Script::new`], [`Script::with_turn`], …) or load it from JSON
/// ([`Script::from_json`], [`Script::from_file`]); the JSON format is described in the crate docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The API key clients must send; `None` accepts any non-empty key.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Whether requests are checked (contents shape, echoed function calls and signatures,
    /// function responses, `parametersJsonSchema`). Default `true`.
    #[serde(default = "default_true")]
    pub checks: bool,
    /// Whether request bodies are kept for [`crate::FakeGemini::requests`]. Default `true`;
    /// load tests turn it off so the fake's memory does not grow with every request (requests
    /// are still counted, with a `null` body).
    #[serde(default = "default_true")]
    pub record_bodies: bool,
    /// The scripted turns, tried in order for every request.
    #[serde(default)]
    pub turns: Vec<Turn>,
    /// Directory that relative replay paths resolve against (set by [`Script::from_file`];
    /// defaults to the current directory). Not part of the JSON.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

fn default_true() -> bool {
    true
}

impl Default for Script {
    fn default() -> Self {
        Script { api_key: None, checks: true, record_bodies: true, turns: Vec::new(), base_dir: None }
    }
}

impl Script {
    /// An empty script: any API key, checks on, no turns.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a script from JSON (relative replay paths resolve against the current directory
    /// unless [`Script::with_base_dir`] is used).
    pub fn from_json(json: &str) -> serde_json::Result<Script> {
        serde_json::from_str(json)
    }

    /// Reads a script from a JSON file; relative replay paths resolve against the file's directory.
    pub fn from_file(path: impl AsRef<Path>) -> std::io::Result<Script> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)?;
        let mut script = Script::from_json(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        script.base_dir = Some(if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir });
        Ok(script)
    }

    /// Sets the directory relative replay paths resolve against.
    pub fn with_base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// Requires this API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Turns the request checks on or off.
    pub fn with_checks(mut self, checks: bool) -> Self {
        self.checks = checks;
        self
    }

    /// Appends a turn.
    pub fn with_turn(mut self, turn: Turn) -> Self {
        self.turns.push(turn);
        self
    }
}

/// One scripted answer: the first turn (in order) that is not used up and whose `when` matches answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Conditions on the request; all given ones must hold. Default: matches anything.
    #[serde(default, skip_serializing_if = "When::is_any")]
    pub when: When,
    /// How many requests this turn may answer; `0` = unlimited. Default 1.
    #[serde(default = "default_times")]
    pub times: u32,
    /// What to answer.
    pub reply: Reply,
}

fn default_times() -> u32 {
    1
}

impl Turn {
    /// A turn answering one request (any request) with `reply`.
    pub fn new(reply: Reply) -> Self {
        Turn { when: When::default(), times: 1, reply }
    }

    /// Sets how many requests the turn may answer (`0` = unlimited).
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    /// Only when the last content is a `user` content with a text part containing `needle`.
    pub fn when_user_text_contains(mut self, needle: impl Into<String>) -> Self {
        self.when.user_text_contains = Some(needle.into());
        self
    }

    /// Only when the last content has a `functionResponse` part named `name`.
    pub fn when_function_response(mut self, name: impl Into<String>) -> Self {
        self.when.function_response = Some(name.into());
        self
    }

    /// Only for requests to this model (the `{model}` in the path).
    pub fn when_model(mut self, model: impl Into<String>) -> Self {
        self.when.model = Some(model.into());
        self
    }
}

/// Conditions a request must meet for a [`Turn`] to answer it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// The last content has role `user` and a `text` part containing this string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_text_contains: Option<String>,
    /// The last content has a `functionResponse` part with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_response: Option<String>,
    /// The model in the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl When {
    /// True when no condition is set.
    pub fn is_any(&self) -> bool {
        self.user_text_contains.is_none() && self.function_response.is_none() && self.model.is_none()
    }
}

/// A scripted reply: one [`ReplyKind`] plus timing and fault modifiers.
///
/// In JSON it is one flat object (see the crate docs); exactly one reply form must be present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawReply", into = "RawReply")]
pub struct Reply {
    /// The reply form.
    pub kind: ReplyKind,
    /// Sleep this long before answering at all (status line and headers included).
    pub first_byte_delay_ms: u64,
    /// Sleep this long before every streamed chunk after the first.
    pub chunk_delay_ms: u64,
    /// A fault injected into the streamed body.
    pub fault: Option<Fault>,
}

/// The forms a [`Reply`] can take.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyKind {
    /// Text split into deltas, then an empty-text chunk with `finishReason: STOP` and usage.
    Text {
        /// The whole text.
        text: String,
        /// Characters per delta; `None` = a few words per delta.
        chunk_size: Option<usize>,
    },
    /// Optional text deltas, one chunk holding all function calls, then the final STOP chunk.
    FunctionCalls {
        /// The calls (parallel calls share one chunk).
        calls: Vec<FunctionCall>,
        /// Text streamed before the calls.
        text: Option<String>,
        /// Characters per text delta; `None` = a few words per delta.
        chunk_size: Option<usize>,
        /// Give the first call a fresh `thoughtSignature` (unless it has one), as Gemini 3 does.
        signatures: bool,
    },
    /// Raw chunks: each inner list is the `parts` of one chunk.
    Chunks {
        /// Parts per chunk.
        chunks: Vec<Vec<Value>>,
        /// `finishReason` of the last chunk; `None` (JSON `""`) = none. Default `STOP`.
        finish_reason: Option<String>,
        /// `usageMetadata` of the last chunk; `None` = generated.
        usage: Option<Value>,
    },
    /// A recorded SSE file sent byte for byte.
    Replay {
        /// The file (relative paths resolve against the script's base dir).
        path: PathBuf,
    },
    /// A JSONL file of chunks, each line sent as `data: LINE\r\n\r\n`.
    ReplayJsonl {
        /// The file (relative paths resolve against the script's base dir).
        path: PathBuf,
    },
    /// An HTTP error with a Gemini error body.
    Error(ErrorReply),
    /// A 200 stream with one chunk holding only `promptFeedback.blockReason` and usage.
    Blocked {
        /// The block reason, e.g. `SAFETY`.
        reason: String,
    },
}

/// One function call of a [`ReplyKind::FunctionCalls`] reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// Arguments (a JSON object). Default `{}`.
    #[serde(default = "empty_object")]
    pub args: Value,
    /// `functionCall.id`, if the call should carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A fixed `thoughtSignature` for this part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

impl FunctionCall {
    /// A call without id or signature.
    pub fn new(name: impl Into<String>, args: Value) -> Self {
        FunctionCall { name: name.into(), args, id: None, thought_signature: None }
    }

    /// Sets `functionCall.id`.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets a fixed `thoughtSignature`.
    pub fn with_thought_signature(mut self, signature: impl Into<String>) -> Self {
        self.thought_signature = Some(signature.into());
        self
    }
}

/// An error reply: HTTP status plus a generated (or given) Gemini error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReply {
    /// HTTP status (429, 503, 500, 400, 403, 404, …).
    pub status: u16,
    /// Error message; default: the real API's usual message for that status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `RetryInfo.retryDelay` (e.g. `"0.2s"`); only added to 429 bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay: Option<String>,
    /// For 429: a per-day quota instead of a per-minute one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub daily_quota: bool,
    /// A body sent as is instead of the generated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl ErrorReply {
    /// An error with this status and the default body.
    pub fn new(status: u16) -> Self {
        ErrorReply { status, message: None, retry_delay: None, daily_quota: false, body: None }
    }
}

/// A fault injected into a streamed reply after some chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// How many chunks (SSE events) are sent before the fault.
    pub after_chunks: usize,
    /// What happens then.
    pub kind: FaultKind,
}

/// Kinds of [`Fault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// The connection is aborted mid-body (the client sees an incomplete body).
    #[serde(rename = "cut")]
    Cut,
    /// A bare pretty-printed 503 `UNAVAILABLE` error object is appended (no `data:`) and the body ends.
    #[serde(rename = "error_503")]
    Error503,
    /// `data: {"candidates": [` is sent and the body ends.
    #[serde(rename = "malformed")]
    Malformed,
}

impl Reply {
    fn of(kind: ReplyKind) -> Self {
        Reply { kind, first_byte_delay_ms: 0, chunk_delay_ms: 0, fault: None }
    }

    /// A text reply split into word-group deltas.
    pub fn text(text: impl Into<String>) -> Self {
        Self::of(ReplyKind::Text { text: text.into(), chunk_size: None })
    }

    /// A text reply split into deltas of `chunk_size` characters.
    pub fn text_chunked(text: impl Into<String>, chunk_size: usize) -> Self {
        Self::of(ReplyKind::Text { text: text.into(), chunk_size: Some(chunk_size) })
    }

    /// A function-call reply (no text, no generated signatures).
    pub fn function_calls(calls: Vec<FunctionCall>) -> Self {
        Self::of(ReplyKind::FunctionCalls { calls, text: None, chunk_size: None, signatures: false })
    }

    /// A function-call reply whose first call gets a fresh `thoughtSignature` (Gemini 3 style).
    pub fn function_calls_signed(calls: Vec<FunctionCall>) -> Self {
        Self::of(ReplyKind::FunctionCalls { calls, text: None, chunk_size: None, signatures: true })
    }

    /// Raw chunks (each inner list is the parts of one chunk), `finishReason: STOP` on the last.
    pub fn chunks(chunks: Vec<Vec<Value>>) -> Self {
        Self::of(ReplyKind::Chunks { chunks, finish_reason: Some("STOP".into()), usage: None })
    }

    /// Replays a recorded SSE file byte for byte.
    pub fn replay(path: impl Into<PathBuf>) -> Self {
        Self::of(ReplyKind::Replay { path: path.into() })
    }

    /// Replays a JSONL file of chunks.
    pub fn replay_jsonl(path: impl Into<PathBuf>) -> Self {
        Self::of(ReplyKind::ReplayJsonl { path: path.into() })
    }

    /// An HTTP error with the default Gemini body for `status`.
    pub fn error(status: u16) -> Self {
        Self::of(ReplyKind::Error(ErrorReply::new(status)))
    }

    /// An HTTP error described in full.
    pub fn error_with(error: ErrorReply) -> Self {
        Self::of(ReplyKind::Error(error))
    }

    /// A prompt blocked up front with this reason.
    pub fn blocked(reason: impl Into<String>) -> Self {
        Self::of(ReplyKind::Blocked { reason: reason.into() })
    }

    /// Sets the delay before the reply starts.
    pub fn with_first_byte_delay_ms(mut self, ms: u64) -> Self {
        self.first_byte_delay_ms = ms;
        self
    }

    /// Sets the delay before each streamed chunk after the first.
    pub fn with_chunk_delay_ms(mut self, ms: u64) -> Self {
        self.chunk_delay_ms = ms;
        self
    }

    /// Injects a fault after `after_chunks` chunks.
    pub fn with_fault(mut self, after_chunks: usize, kind: FaultKind) -> Self {
        self.fault = Some(Fault { after_chunks, kind });
        self
    }

    /// Resolves relative replay paths against `base`.
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        match &mut self.kind {
            ReplyKind::Replay { path } | ReplyKind::ReplayJsonl { path } if path.is_relative() => {
                *path = base.join(&*path);
            }
            _ => {}
        }
    }
}

/// The flat JSON shape of a [`Reply`].
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunk_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    function_calls: Option<Vec<FunctionCall>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signatures: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunks: Option<Vec<Vec<Value>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usage: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replay: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replay_jsonl: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<ErrorReply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blocked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chunk_delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_byte_delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fault: Option<Fault>,
}

impl TryFrom<RawReply> for Reply {
    type Error = String;

    fn try_from(raw: RawReply) -> Result<Self, String> {
        let forms = [
            ("text", raw.text.is_some() && raw.function_calls.is_none()),
            ("function_calls", raw.function_calls.is_some()),
            ("chunks", raw.chunks.is_some()),
            ("replay", raw.replay.is_some()),
            ("replay_jsonl", raw.replay_jsonl.is_some()),
            ("error", raw.error.is_some()),
            ("blocked", raw.blocked.is_some()),
        ];
        let present: Vec<&str> = forms.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
        if present.len() != 1 {
            return Err(format!(
                "a reply needs exactly one of text, function_calls, chunks, replay, replay_jsonl, \
                 error, blocked (found: {})",
                if present.is_empty() { "none".to_string() } else { present.join(", ") }
            ));
        }
        let form = present[0];
        let misplaced = |field: &str, set: bool, allowed: &[&str]| -> Result<(), String> {
            if set && !allowed.contains(&form) {
                Err(format!("`{field}` cannot be used with a `{form}` reply"))
            } else {
                Ok(())
            }
        };
        misplaced("chunk_size", raw.chunk_size.is_some(), &["text", "function_calls"])?;
        misplaced("signatures", raw.signatures.is_some(), &["function_calls"])?;
        misplaced("finish_reason", raw.finish_reason.is_some(), &["chunks"])?;
        misplaced("usage", raw.usage.is_some(), &["chunks"])?;
        let streamed = ["text", "function_calls", "chunks", "replay", "replay_jsonl", "blocked"];
        misplaced("chunk_delay_ms", raw.chunk_delay_ms.is_some(), &streamed)?;
        misplaced("fault", raw.fault.is_some(), &streamed)?;
        if raw.chunk_size == Some(0) {
            return Err("`chunk_size` must be at least 1".into());
        }

        let kind = match form {
            "text" => ReplyKind::Text { text: raw.text.unwrap_or_default(), chunk_size: raw.chunk_size },
            "function_calls" => ReplyKind::FunctionCalls {
                calls: raw.function_calls.unwrap_or_default(),
                text: raw.text,
                chunk_size: raw.chunk_size,
                signatures: raw.signatures.unwrap_or(false),
            },
            "chunks" => ReplyKind::Chunks {
                chunks: raw.chunks.unwrap_or_default(),
                finish_reason: match raw.finish_reason {
                    None => Some("STOP".into()),
                    Some(r) if r.is_empty() => None,
                    Some(r) => Some(r),
                },
                usage: raw.usage,
            },
            "replay" => ReplyKind::Replay { path: raw.replay.unwrap_or_default() },
            "replay_jsonl" => ReplyKind::ReplayJsonl { path: raw.replay_jsonl.unwrap_or_default() },
            "error" => ReplyKind::Error(raw.error.unwrap_or_else(|| ErrorReply::new(500))),
            _ => ReplyKind::Blocked { reason: raw.blocked.unwrap_or_default() },
        };
        Ok(Reply {
            kind,
            first_byte_delay_ms: raw.first_byte_delay_ms.unwrap_or(0),
            chunk_delay_ms: raw.chunk_delay_ms.unwrap_or(0),
            fault: raw.fault,
        })
    }
}

impl From<Reply> for RawReply {
    fn from(reply: Reply) -> Self {
        let mut raw = RawReply {
            chunk_delay_ms: (reply.chunk_delay_ms != 0).then_some(reply.chunk_delay_ms),
            first_byte_delay_ms: (reply.first_byte_delay_ms != 0).then_some(reply.first_byte_delay_ms),
            fault: reply.fault,
            ..RawReply::default()
        };
        match reply.kind {
            ReplyKind::Text { text, chunk_size } => {
                raw.text = Some(text);
                raw.chunk_size = chunk_size;
            }
            ReplyKind::FunctionCalls { calls, text, chunk_size, signatures } => {
                raw.function_calls = Some(calls);
                raw.text = text;
                raw.chunk_size = chunk_size;
                raw.signatures = signatures.then_some(true);
            }
            ReplyKind::Chunks { chunks, finish_reason, usage } => {
                raw.chunks = Some(chunks);
                raw.finish_reason = match finish_reason {
                    Some(r) if r == "STOP" => None,
                    Some(r) => Some(r),
                    None => Some(String::new()),
                };
                raw.usage = usage;
            }
            ReplyKind::Replay { path } => raw.replay = Some(path),
            ReplyKind::ReplayJsonl { path } => raw.replay_jsonl = Some(path),
            ReplyKind::Error(e) => raw.error = Some(e),
            ReplyKind::Blocked { reason } => raw.blocked = Some(reason),
        }
        raw
    }
}
