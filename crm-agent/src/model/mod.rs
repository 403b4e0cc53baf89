//! Language models: the [`Model`] trait the assistant talks to, and [`gemini`], its Gemini
//! implementation.
//!
//! The trait speaks the Gemini wire types ([`gemini::wire`]): Gemini is the provider crm-agent
//! is built for, and keeping its parts verbatim is what makes thought signatures and call ids
//! round-trip. Another provider (or a test double) implements the same trait by translating
//! into those types.

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::Result;

pub mod gemini;

pub use gemini::wire::{
    Content, FunctionCall, FunctionResponse, GenerateContentRequest, GenerateContentResponse, Part,
};
#[cfg(feature = "gemini")]
pub use gemini::{GeminiClient, GeminiConfig};

/// The chunks of one streamed model response, in order. A stream error ends the response.
pub type ResponseStream = BoxStream<'static, Result<GenerateContentResponse>>;

/// A language model the assistant can stream from.
#[async_trait]
pub trait Model: Send + Sync + 'static {
    /// The model's name (e.g. `gemini-3.8-flash`).
    fn model_name(&self) -> &str;

    /// Whether it has what it needs to be called (an API key). An unconfigured model fails
    /// every call with a clear error, and the rest of crm-agent keeps working.
    fn is_configured(&self) -> bool;

    /// Streams the response to `request`. Retries of transient failures happen inside;
    /// dropping the stream cancels the request.
    async fn stream_generate(&self, request: GenerateContentRequest) -> Result<ResponseStream>;

    /// Checks that the model endpoint answers (for `status`).
    async fn probe(&self) -> Result<()>;
}
