//! The Gemini client: our own thin client over the native REST API (`streamGenerateContent`
//! with `alt=sse`, and `generateContent`), because every public Rust client has had
//! thought-signature or call-id bugs.
//!
//! - [`wire`]: the JSON types, keeping unknown fields;
//! - [`sse`]: the incremental SSE parser;
//! - [`GeminiClient`]: requests, retries with backoff, timeouts, error mapping.

mod client;
pub mod sse;
pub mod wire;

pub use client::{DEFAULT_BASE_URL, DEFAULT_MODEL, GeminiClient, GeminiConfig, RetryPolicy, decode_stream_item};
