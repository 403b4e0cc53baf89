//! A local HTTP server speaking the Gemini API wire protocol, for tests.
//!
//! It is the one allowed stand-in for the real Gemini API in this project's tests (Rust, Python,
//! Node, browser). It answers from a [`Script`] of [`Turn`]s, replays recorded streams byte for
//! byte, injects faults, and checks what the client sends (echoed function calls and thought
//! signatures, function responses, tool declarations), recording every mistake as a violation.
//!
//! # Endpoints
//!
//! - `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` → `200`, `content-type:
//!   text/event-stream`, events `data: {GenerateContentResponse}\r\n\r\n`, no `event:` lines, no
//!   `[DONE]`, ends at EOF.
//! - `POST /v1beta/models/{model}:generateContent` → the same reply as one JSON response (parts of
//!   all chunks in one candidate, adjacent text deltas concatenated, the closing empty text dropped).
//! - `GET /v1beta/models/{model}` → `{"name":"models/{model}","displayName":…}`.
//! - `/v1/...` is served the same way.
//! - Auth: `x-goog-api-key` header or `?key=`. Missing → 403 `PERMISSION_DENIED`; different from the
//!   script's `api_key` → 400 `INVALID_ARGUMENT` with an `ErrorInfo` detail, reason `API_KEY_INVALID`.
//! - Errors are `{"error":{"code","message","status","details"?}}` (pretty-printed); on the stream
//!   endpoint with `content-type: text/event-stream` and a plain JSON body, like the real API.
//! - CORS is open (`Access-Control-Allow-Origin: *`, preflights answered with 204) so a browser
//!   test may call the fake directly.
//! - Control (for tests in other languages): `GET /_fake/requests` (array of [`RecordedRequest`];
//!   a streamed reply's `stream` is `sending`, then `sent`, or `abandoned` when the client hung up),
//!   `GET /_fake/violations` (array of strings), `GET /_fake/unused_turns` (`{"unused_turns":N}`),
//!   `POST /_fake/turns` (one turn or an array; appended), `POST /_fake/reset` (a new script, or an
//!   empty body for an empty one; forgets requests, violations and emitted parts).
//!
//! # Script format (JSON; [`Script`] is its serde type)
//!
//! ```json
//! {
//!   "api_key": null,
//!   "checks": true,
//!   "turns": [
//!     { "when": { "user_text_contains": "revenue", "function_response": "get_deal_stats", "model": "gemini-x" },
//!       "times": 1,
//!       "reply": { "text": "Hello there", "chunk_size": 8 } }
//!   ]
//! }
//! ```
//!
//! Every field is optional except `reply`; unknown fields are rejected. For each generate request
//! the first turn, in order, that is not used up and whose `when` matches answers (all given
//! matchers must hold): `user_text_contains` — the last content has role `user` and a `text` part
//! containing the string; `function_response` — the last content has a `functionResponse` part
//! with that name; `model` — the model in the path. `times` (default 1; 0 = unlimited) is how many
//! requests the turn may answer. No turn left → HTTP 500 whose message starts with
//! `fake-gemini: no scripted turn`, and a violation.
//!
//! A `reply` is one flat object holding exactly one of these forms:
//!
//! | form | JSON | stream sent |
//! | --- | --- | --- |
//! | text | `{"text": "Hi there", "chunk_size": 8}` | deltas of `chunk_size` characters (default: three words each), then `{"text":""}` + `finishReason: STOP` |
//! | function calls | `{"function_calls": [{"name": "f", "args": {}, "id": "opt", "thought_signature": "opt"}], "text": "opt", "chunk_size": 8, "signatures": true}` | optional text deltas, ONE chunk with all `functionCall` parts, then the empty-text STOP chunk; `signatures: true` gives the first call a fresh base64 `thoughtSignature` unless it has one |
//! | raw chunks | `{"chunks": [[part, …], …], "finish_reason": "STOP", "usage": {…}}` | one chunk per inner list; `finish_reason` (default `STOP`, `""` = none) and `usage` (default generated) go on the last |
//! | replay | `{"replay": "file.sse"}` | the file's bytes unchanged |
//! | replay JSONL | `{"replay_jsonl": "file.jsonl"}` | each non-empty line as `data: LINE\r\n\r\n` |
//! | error | `{"error": {"status": 429, "message": "opt", "retry_delay": "0.2s", "daily_quota": false, "body": null}}` | that status with a Gemini error body (see below) |
//! | blocked | `{"blocked": "SAFETY"}` | one chunk with only `promptFeedback.blockReason`, usage, model version and response id |
//!
//! Generated chunks look like the real ones: `{"candidates":[{"content":{"parts":[…],"role":"model"},
//! "index":0}],"usageMetadata":{"promptTokenCount","candidatesTokenCount","totalTokenCount"},
//! "modelVersion":"{model}","responseId":"…"}` with usage on every chunk and a fresh `responseId`
//! per reply. Replay paths that are relative resolve against the script file's directory
//! ([`Script::from_file`]), [`Script::base_dir`], or the current directory; files are read once and
//! cached.
//!
//! Error bodies: 429 → `RESOURCE_EXHAUSTED` with `QuotaFailure` (quota id per minute, or per day
//! with `daily_quota`), `Help`, and `RetryInfo.retryDelay` when `retry_delay` is given; 503
//! `UNAVAILABLE`, 500 `INTERNAL`, 400 `INVALID_ARGUMENT`, 403 `PERMISSION_DENIED`, 404 `NOT_FOUND`
//! with the real API's usual messages; `body` (any JSON) is sent instead of the generated body.
//!
//! Modifiers, allowed on every form but error (which only takes `first_byte_delay_ms`):
//! - `"first_byte_delay_ms": N` — wait before answering at all (status line included).
//! - `"chunk_delay_ms": N` — wait before every chunk after the first.
//! - `"fault": {"after_chunks": N, "kind": "cut" | "error_503" | "malformed"}` — after N events:
//!   `cut` aborts the connection (the body stream fails, so the client sees an incomplete body);
//!   `error_503` appends a bare pretty-printed `{"error":{"code":503,…,"status":"UNAVAILABLE"}}`
//!   (no `data:`) and ends; `malformed` sends `data: {"candidates": [\r\n\r\n` and ends. On the unary
//!   endpoint the faults become an aborted body, a 503 error, and a truncated JSON body.
//!
//! # Checks (when `checks` is true, the default)
//!
//! The fake remembers every part holding a `functionCall` or `thoughtSignature` it emitted
//! (including parts of replayed files). Each generate request must have: (1) a non-empty
//! `contents` array whose contents have role `user`/`model` and non-empty `parts`; (2) every
//! `model` part with a `functionCall` equal (as JSON: key order ignored, `2.0` = `2`, missing
//! `args` = `{}`) to an emitted part — signature and `functionCall.id` echoed exactly — and every
//! other part's `thoughtSignature` one the fake emitted; (3) each `model` content with calls
//! followed directly by ONE `user` content with exactly one `functionResponse` per call (matching
//! name, and id when the call had one), each `response` a JSON object; (4) tool declarations with
//! `parametersJsonSchema`, not `parameters`. A failure answers 400 `INVALID_ARGUMENT` (with real
//! Gemini's "Function call is missing a thought_signature…" message when only the signature is
//! missing) and records a violation naming the request.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use fake_gemini::{FakeGemini, FunctionCall, Reply, Script, Turn};
//! let script = Script::new()
//!     .with_turn(Turn::new(Reply::function_calls_signed(vec![FunctionCall::new(
//!         "get_customer",
//!         serde_json::json!({"id": 7}),
//!     )])))
//!     .with_turn(Turn::new(Reply::text("Customer 7 is ACME.")).when_function_response("get_customer"));
//! let fake = FakeGemini::start(script).await?;
//! let _url = format!("{}/v1beta/models/gemini-x:streamGenerateContent?alt=sse", fake.base_url());
//! // ... run the client ...
//! fake.assert_clean();
//! fake.shutdown().await;
//! # Ok(()) }
//! ```

mod checks;
mod script;
mod server;
mod wire;

pub use script::{ErrorReply, Fault, FaultKind, FunctionCall, Reply, ReplyKind, Script, Turn, When};
pub use server::{FakeGemini, RecordedRequest, StreamState};
