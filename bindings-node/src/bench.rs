//! Benchmark helpers: the same work measured inside Rust, so `bench/bench.mjs` can subtract
//! it from what JavaScript sees and report the binding's own overhead. Not part of the typed
//! API (`index.cjs` does not expose them on `Agent`).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use crm_agent::domain::ConversationId;
use crm_agent::model::gemini::wire::{Candidate, UsageMetadata};
use crm_agent::model::{Content, GenerateContentRequest, GenerateContentResponse, Model, Part, ResponseStream};
use crm_agent::{CrmAgent, SqlStore};
use futures::StreamExt;
use napi_derive::napi;
use serde_json::Value;

use crate::agent::NativeAgent;
use crate::errors::napi_result;

/// A model that answers every request at once with `deltas` one-word text chunks from memory,
/// so that a streaming benchmark measures the agent → JavaScript path, not a model or HTTP.
struct InstantModel {
    deltas: u32,
}

fn text_chunk(text: &str, last: bool) -> GenerateContentResponse {
    GenerateContentResponse {
        candidates: vec![Candidate {
            content: Some(Content { role: Some("model".into()), parts: vec![Part::text(text)], ..Content::default() }),
            finish_reason: last.then(|| "STOP".into()),
            index: Some(0),
            ..Candidate::default()
        }],
        usage_metadata: last.then(|| UsageMetadata {
            prompt_token_count: Some(10),
            candidates_token_count: Some(10),
            total_token_count: Some(20),
            ..UsageMetadata::default()
        }),
        ..GenerateContentResponse::default()
    }
}

#[async_trait]
impl Model for InstantModel {
    fn model_name(&self) -> &str {
        "instant-bench-model"
    }

    fn is_configured(&self) -> bool {
        true
    }

    async fn stream_generate(&self, _request: GenerateContentRequest) -> crm_agent::Result<ResponseStream> {
        let n = self.deltas;
        Ok(futures::stream::iter((0..n).map(move |i| Ok(text_chunk("word ", i + 1 == n)))).boxed())
    }

    async fn probe(&self) -> crm_agent::Result<()> {
        Ok(())
    }
}

/// An agent on a fresh in-memory database whose model streams `deltas` text events per turn
/// at once (see [`InstantModel`]).
#[napi]
pub async fn open_bench_agent(deltas: u32) -> napi::Result<NativeAgent> {
    let sql = Arc::new(napi_result(SqlStore::open("sqlite::memory:").await)?);
    let agent = CrmAgent::builder(sql.clone()).model(Arc::new(InstantModel { deltas })).build();
    Ok(NativeAgent::new(napi_result(agent)?, sql))
}

/// What a Rust-side measurement saw.
#[napi(object)]
pub struct RustTiming {
    /// Operations (calls, or events).
    pub count: u32,
    /// Wall time in nanoseconds.
    pub nanos: f64,
}

#[napi]
impl NativeAgent {
    /// Calls `name` `iterations` times from Rust, as the core's own API would: `concurrency`
    /// loops of calls one after another, all in one task (as JavaScript's calls all run on its
    /// one thread).
    #[napi]
    pub async fn bench_call_tool_in_rust(
        &self,
        ctx: String,
        name: String,
        args: Value,
        iterations: u32,
        concurrency: Option<u32>,
    ) -> napi::Result<RustTiming> {
        let (agent, ctx) = self.acting(&ctx)?;
        let loops = concurrency.unwrap_or(1).max(1);
        let per_loop = iterations / loops;
        let started = Instant::now();
        let runs = (0..loops).map(|_| async {
            for _ in 0..per_loop {
                agent.call_tool(&ctx, &name, args.clone()).await?;
            }
            crm_agent::Result::Ok(())
        });
        for outcome in futures::future::join_all(runs).await {
            napi_result(outcome)?;
        }
        Ok(RustTiming { count: per_loop * loops, nanos: started.elapsed().as_nanos() as f64 })
    }

    /// Runs one chat turn and consumes its events in Rust.
    #[napi]
    pub async fn bench_chat_in_rust(
        &self,
        ctx: String,
        message: String,
        conversation_id: Option<String>,
    ) -> napi::Result<RustTiming> {
        let (agent, ctx) = self.acting(&ctx)?;
        let started = Instant::now();
        let mut stream = agent.chat(&ctx, message, conversation_id.map(ConversationId::from));
        let mut count = 0;
        while stream.next().await.is_some() {
            count += 1;
        }
        Ok(RustTiming { count, nanos: started.elapsed().as_nanos() as f64 })
    }
}

/// Does nothing, asynchronously: the cost of one promise round trip through the runtime
/// (JS → tokio task → promise resolved on the JS thread).
#[napi]
pub async fn bench_async_noop() -> u32 {
    1
}
