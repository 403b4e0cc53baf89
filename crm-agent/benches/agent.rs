//! Assistant benchmarks, printed as plain figures:
//!
//! 1. **Agent overhead per model step**: turns through `CrmAgent::chat` against the fake Gemini
//!    server, minus the time the fake itself takes to answer the same requests (replayed with a
//!    bare HTTP client). Comparing one-step and four-step turns separates the cost of a step
//!    (request encoding, SSE parsing, the tool call through the registry, the stored messages)
//!    from the cost of starting a turn (conversation, history, prompt).
//! 2. **Concurrent chats**: N chats at once in this process (the fake server included), each
//!    held open by a slow stream: completion, throughput, and peak memory per open chat.
//!
//! `cargo bench -p crm-agent --bench agent` (N = 2,000); under `cargo test --benches` it runs
//! tiny sizes so the code stays tested. CRM_AGENT_BENCH_CHATS overrides N.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_agent::agent::{AgentOptions, ChatEvent};
use crm_agent::domain::*;
use crm_agent::model::{GeminiClient, GeminiConfig};
use crm_agent::seed::{SeedOptions, seed_demo};
use crm_agent::{CrmAgent, SqlStore, Store, UserContext};
use fake_gemini::{FakeGemini, Script};
use futures::StreamExt;
use serde_json::json;

fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// This process's resident memory (`VmRSS`) or its peak (`VmHWM`), in KiB.
fn memory_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn store(dir: &tempfile::TempDir) -> Arc<SqlStore> {
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = SqlStore::open(&url).await.expect("open");
    let seed = SeedOptions {
        customers: 200,
        leads: 50,
        deals: 50,
        issues: 10,
        orders: 10,
        activities: 10,
        ..SeedOptions::default()
    };
    seed_demo(&store, &seed).await.expect("seed");
    Arc::new(store)
}

fn agent(store: Arc<SqlStore>, fake: &FakeGemini) -> CrmAgent {
    let config = GeminiConfig::new("bench-key").with_base_url(fake.base_url()).with_model("gemini-bench");
    let model = Arc::new(GeminiClient::new(config).expect("client"));
    CrmAgent::builder(store).model(model).options(AgentOptions::default()).build().expect("agent")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Median wall time of `iterations` turns of `message`, and of the fake alone answering the
/// same requests (replayed with a bare HTTP client, bodies read to the end).
async fn turn_and_fake(
    agent: &CrmAgent,
    owner: &UserContext,
    fake: &FakeGemini,
    message: &str,
    iterations: usize,
) -> (Duration, Duration, usize) {
    let turn = || async {
        let events: Vec<ChatEvent> = agent.chat(owner, message, None).collect().await;
        assert!(matches!(events.last(), Some(ChatEvent::Done { .. })), "{events:?}");
    };
    // Warm up, and capture the request bodies the agent sends for one turn.
    let before = fake.requests().len();
    turn().await;
    let bodies: Vec<Vec<u8>> = fake.requests()[before..].iter().map(|r| serde_json::to_vec(&r.body).unwrap()).collect();
    let mut turns = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        turn().await;
        turns.push(started.elapsed());
    }
    let http = reqwest::Client::new();
    let url = format!("{}/v1beta/models/gemini-bench:streamGenerateContent?alt=sse", fake.base_url());
    let mut fake_only = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        for body in &bodies {
            let response =
                http.post(&url).header("x-goog-api-key", "bench-key").body(body.clone()).send().await.unwrap();
            assert!(response.status().is_success());
            response.bytes().await.unwrap();
        }
        fake_only.push(started.elapsed());
    }
    (median(turns), median(fake_only), bodies.len())
}

/// The agent's own time per model step: turns of one step (a direct answer) and of four steps
/// (three sequential calls of cheap tools — a customer by id, the caller's context, the caller's
/// permissions — then the answer), each minus the fake's own time for the same
/// requests; the difference between the two, divided by the three extra steps, is the cost of a
/// step, and what is left of the one-step turn is the cost of starting a turn.
async fn step_overhead(iterations: usize) {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir).await;
    let owner = UserContext::resolve(&*store, "acme-owner", None).await.expect("owner");
    let customer = store
        .list_customers(&owner.scope().unwrap(), &CustomerFilter::default(), &PageRequest::first(1))
        .await
        .expect("customers")
        .items[0]
        .id
        .clone();
    let script = json!({"turns": [
        {"when": {"user_text_contains": "quick"}, "times": 0, "reply": {"text": "Here you are."}},
        {"when": {"user_text_contains": "deep"}, "times": 0,
         "reply": {"function_calls": [{"name": "get_customer", "args": {"customer_id": customer}, "id": "b1"}]}},
        {"when": {"function_response": "get_customer"}, "times": 0,
         "reply": {"function_calls": [{"name": "get_current_user_context", "args": {}, "id": "b2"}]}},
        {"when": {"function_response": "get_current_user_context"}, "times": 0,
         "reply": {"function_calls": [{"name": "get_my_permissions", "args": {}, "id": "b3"}]}},
        {"when": {"function_response": "get_my_permissions"}, "times": 0, "reply": {"text": "That customer is active."}}
    ]});
    let fake = FakeGemini::start(Script::from_json(&script.to_string()).unwrap()).await.expect("fake");
    let agent = agent(store.clone(), &fake);
    let (one, one_fake, one_requests) = turn_and_fake(&agent, &owner, &fake, "quick question", iterations).await;
    let (four, four_fake, four_requests) = turn_and_fake(&agent, &owner, &fake, "deep question", iterations).await;
    assert_eq!((one_requests, four_requests), (1, 4));
    // What one step's storage and one tool call cost on their own, for the breakdown.
    let scope = owner.scope().unwrap();
    let conversation = store
        .create_conversation(&scope, NewConversation { user_id: owner.user_id.clone(), title: "bench".into() })
        .await
        .unwrap();
    let step_messages = || {
        vec![
            NewMessage {
                role: MessageRole::Model,
                parts: json!([{"functionCall": {"name": "get_customer", "args": {"customer_id": customer}}}]),
            },
            NewMessage {
                role: MessageRole::Tool,
                parts: json!([{"functionResponse": {"name": "get_customer", "response": {"output": {"id": customer}}}}]),
            },
        ]
    };
    let mut appends = Vec::with_capacity(iterations);
    let mut calls = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        store
            .append_messages(&scope, &owner.user_id, &conversation.id, step_messages(), chrono::Utc::now())
            .await
            .unwrap();
        appends.push(started.elapsed());
        let started = Instant::now();
        agent.call_tool(&owner, "get_customer", json!({"customer_id": customer})).await.unwrap();
        calls.push(started.elapsed());
    }
    let (append, call) = (median(appends), median(calls));
    let own_one = one.saturating_sub(one_fake);
    let own_four = four.saturating_sub(four_fake);
    let per_step = own_four.saturating_sub(own_one) / 3;
    let turn_start = own_one.saturating_sub(per_step);
    println!(
        "agent overhead: {per_step:?} per model step (target <= 200us), {turn_start:?} to start a turn; \
         1-step turn p50 {one:?} (fake alone {one_fake:?}), 4-step turn p50 {four:?} (fake alone {four_fake:?}), {iterations} turns each"
    );
    println!(
        "  of a step: storing it (append_messages, 2 messages) p50 {append:?}; one tool call through the registry \
         (get_customer) p50 {call:?}; the rest (request encoding, HTTP, SSE parsing, events) {:?}",
        per_step.saturating_sub(append).saturating_sub(call)
    );
}

async fn concurrent_chats(chats: usize) {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir).await;
    let owner = UserContext::resolve(&*store, "acme-owner", None).await.expect("owner");
    // Every chat stays open for about a second: the answer comes in 5 chunks 200 ms apart.
    // The fake keeps no request bodies here, so its memory does not count against the chats.
    let script = json!({"record_bodies": false, "turns": [
        {"times": 0, "reply": {"text": "one two three four five", "chunk_size": 4, "chunk_delay_ms": 200}}
    ]});
    let fake = FakeGemini::start(Script::from_json(&script.to_string()).unwrap()).await.expect("fake");
    let agent = agent(store, &fake);
    let before = memory_kib("VmRSS:");
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(memory_kib("VmRSS:"), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    let handles: Vec<_> = (0..chats)
        .map(|i| {
            let agent = agent.clone();
            let owner = owner.clone();
            tokio::spawn(async move {
                let events: Vec<ChatEvent> = agent.chat(&owner, format!("hello number {i}"), None).collect().await;
                matches!(events.last(), Some(ChatEvent::Done { .. }))
            })
        })
        .collect();
    let mut completed = 0;
    for handle in handles {
        completed += usize::from(handle.await.expect("chat task"));
    }
    let elapsed = started.elapsed();
    sampler.abort();
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(completed, chats, "every chat completes");
    println!(
        "concurrent chats: {completed}/{chats} completed in {:.2}s ({:.0} chats/s, each held open ~1 s by the slow stream); \
         RSS {before} KiB before, peak {peak} KiB => {:.1} KiB per open chat (fake server in the same process)",
        elapsed.as_secs_f64(),
        chats as f64 / elapsed.as_secs_f64(),
        (peak.saturating_sub(before)) as f64 / chats as f64,
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let full = bench_mode();
    let chats = std::env::var("CRM_AGENT_BENCH_CHATS").ok().and_then(|v| v.parse().ok()).unwrap_or(if full {
        2_000
    } else {
        20
    });
    runtime.block_on(async {
        // Memory first, while the process is fresh.
        concurrent_chats(chats).await;
        step_overhead(if full { 300 } else { 3 }).await;
    });
}
