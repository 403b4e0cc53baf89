//! The Gemini client: our own thin client over the native REST API (`streamGenerateContent`
//! with `alt=sse`, and `generateContent`), because every public Rust client has had
//! thought-signature or call-id bugs.
//!
//! - [`wire`]: the JSON types, keeping unknown fields;
//! - [`sse`]: the incremental SSE parser;
//! - `GeminiClient` (feature `gemini`): requests, retries with backoff, timeouts, error mapping;
//! - [`decode_stream_item`]: one streamed event as a response chunk or the API error it carries.

#[cfg(feature = "gemini")]
mod client;
mod decode;
pub mod sse;
pub mod wire;

#[cfg(feature = "gemini")]
pub use client::{DEFAULT_BASE_URL, DEFAULT_MODEL, GeminiClient, GeminiConfig, RetryPolicy};
pub use decode::decode_stream_item;
