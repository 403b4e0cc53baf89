//! Benchmark helpers: the same work measured inside Rust, so `bench/bench.mjs` can subtract
//! it from what JavaScript sees and report the binding's own overhead. Not part of the typed
//! API (`index.cjs` does not expose them on `Agent`).

use std::time::Instant;

use crm_agent::domain::ConversationId;
use futures::StreamExt;
use napi_derive::napi;
use serde_json::Value;

use crate::agent::NativeAgent;
use crate::context::Context;
use crate::errors::napi_result;

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
    /// Calls `name` `iterations` times one after another from Rust, as the core's own API would.
    #[napi]
    pub async fn bench_call_tool_in_rust(
        &self,
        ctx: Context,
        name: String,
        args: Value,
        iterations: u32,
    ) -> napi::Result<RustTiming> {
        let agent = self.agent()?;
        let ctx = ctx.to_core()?;
        let started = Instant::now();
        for _ in 0..iterations {
            napi_result(agent.call_tool(&ctx, &name, args.clone()).await)?;
        }
        Ok(RustTiming { count: iterations, nanos: started.elapsed().as_nanos() as f64 })
    }

    /// Runs one chat turn and consumes its events in Rust.
    #[napi]
    pub async fn bench_chat_in_rust(
        &self,
        ctx: Context,
        message: String,
        conversation_id: Option<String>,
    ) -> napi::Result<RustTiming> {
        let agent = self.agent()?;
        let ctx = ctx.to_core()?;
        let started = Instant::now();
        let mut stream = agent.chat(&ctx, message, conversation_id.map(ConversationId::from));
        let mut count = 0;
        while stream.next().await.is_some() {
            count += 1;
        }
        Ok(RustTiming { count, nanos: started.elapsed().as_nanos() as f64 })
    }
}
