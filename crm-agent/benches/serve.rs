//! `crm-agent serve` benchmarks, printed as plain figures:
//!
//! 1. **Start-up**: from spawning `crm-agent serve` on an existing (demo) database to the first
//!    successful `/healthz`.
//! 2. **First byte of a chat**: from sending `POST /api/chat` to the first byte of the SSE body
//!    (the `started` event), the fake model answering instantly.
//! 3. **Open streams**: N chat streams held open at once (the fake answers slowly), in four
//!    waves: peak memory per open stream, and whether later waves need more than earlier ones.
//!
//! `cargo bench -p crm-agent --bench serve` (N = 500); `cargo test --benches` runs tiny sizes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_agent::auth::{TokenAuthenticator, create_token};
use crm_agent::http::{HttpOptions, HttpState};
use crm_agent::model::{GeminiClient, GeminiConfig};
use crm_agent::seed::{SeedOptions, seed_demo};
use crm_agent::{CrmAgent, SqlStore, UserContext};
use fake_gemini::{FakeGemini, Script};
use futures::StreamExt;
use serde_json::json;

fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn memory_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Spawns the real binary and waits for its first healthy answer.
fn startup(db: &str, runs: usize) {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_crm-agent"))
            .args(["serve", "--db", db, "--addr", "127.0.0.1:0"])
            .env_remove("GEMINI_API_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("serve printed its URL").expect("stdout");
            if let Some(url) = line.strip_prefix("CRM_AGENT_URL=") {
                break url.to_owned();
            }
        };
        let address = url.trim_start_matches("http://").to_owned();
        loop {
            use std::io::{Read, Write};
            if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
                let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                if answer.starts_with("HTTP/1.1 200") {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        samples.push(started.elapsed());
        let _ = child.kill();
        let _ = child.wait();
    }
    println!(
        "serve start-up to first healthy /healthz (existing demo database): p50 {:?} over {runs} starts (target <= 150ms)",
        median(samples)
    );
}

async fn in_process(script: serde_json::Value, store: Arc<SqlStore>) -> (String, String, FakeGemini) {
    let fake = FakeGemini::start(Script::from_json(&script.to_string()).unwrap()).await.unwrap();
    let config = GeminiConfig::new("bench-key").with_base_url(fake.base_url()).with_model("gemini-bench");
    let agent = CrmAgent::builder(store.clone()).model(Arc::new(GeminiClient::new(config).unwrap())).build().unwrap();
    let owner = UserContext::resolve(&*store, "acme-owner", None).await.unwrap();
    let token = create_token(store.as_ref(), &owner, "bench", None).await.unwrap().secret;
    let options = HttpOptions { chats_per_minute: 1_000_000, ..HttpOptions::default() };
    let (state, _shutdown) = HttpState::new(agent, TokenAuthenticator::new(store), options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(crm_agent::mcp::http::serve(
        listener,
        crm_agent::http::router(state),
        crm_agent::mcp::http::ConnectionLimits::default(),
        std::future::pending(),
    ));
    (url, token, fake)
}

async fn first_byte(store: Arc<SqlStore>, iterations: usize) {
    let script = json!({"record_bodies": false, "turns": [{"times": 0, "reply": {"text": "Hello!"}}]});
    let (url, token, _fake) = in_process(script, store).await;
    let http = reqwest::Client::new();
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let response = http
            .post(format!("{url}/api/chat"))
            .bearer_auth(&token)
            .json(&json!({"message": "hi"}))
            .send()
            .await
            .unwrap();
        let mut body = response.bytes_stream();
        body.next().await.expect("a first chunk").expect("bytes");
        samples.push(started.elapsed());
        while body.next().await.is_some() {}
    }
    println!(
        "first SSE byte of /api/chat (fake model answering at once): p50 {:?} over {iterations} chats (target <= 5ms)",
        median(samples)
    );
}

async fn open_streams(store: Arc<SqlStore>, streams: usize) {
    // Each answer: 8 chunks 250 ms apart, so every stream stays open for about 2 s.
    let script = json!({"record_bodies": false, "turns": [
        {"times": 0, "reply": {"text": "one two three four five six seven eight", "chunk_size": 4, "chunk_delay_ms": 250}}
    ]});
    let (url, token, _fake) = in_process(script, store).await;
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut peaks = Vec::new();
    for wave in 1..=4 {
        let before = memory_kib();
        let peak = Arc::new(std::sync::atomic::AtomicU64::new(before));
        let sampler = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(memory_kib(), std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let started = Instant::now();
        let tasks: Vec<_> = (0..streams)
            .map(|_| {
                let (http, url, token) = (http.clone(), url.clone(), token.clone());
                tokio::spawn(async move {
                    let response = http
                        .post(format!("{url}/api/chat"))
                        .bearer_auth(&token)
                        .json(&json!({"message": "hi"}))
                        .send()
                        .await
                        .unwrap();
                    let body = response.text().await.unwrap();
                    let done = body.contains("event: done");
                    if !done {
                        eprintln!("a stream ended without `done`: {body}");
                    }
                    done
                })
            })
            .collect();
        let mut done = 0;
        for task in tasks {
            done += usize::from(task.await.unwrap());
        }
        sampler.abort();
        let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(done, streams, "every stream finishes");
        println!(
            "open chat streams, wave {wave}: {done}/{streams} held open together and finished in {:.2}s; RSS {before} KiB before, peak {peak} KiB ({:.1} KiB per open stream, fake server and clients in the same process)",
            started.elapsed().as_secs_f64(),
            peak.saturating_sub(before) as f64 / streams as f64
        );
        peaks.push(peak);
    }
    let peaks: Vec<String> = peaks.iter().map(|p| format!("{p} KiB")).collect();
    println!("open chat streams: peak RSS by wave: {}", peaks.join(", "));
}

fn main() {
    let full = bench_mode();
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("serve.db").display());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let store = runtime.block_on(async {
        let store = SqlStore::open(&db).await.expect("open");
        seed_demo(&store, &SeedOptions::default()).await.expect("seed");
        Arc::new(store)
    });
    startup(&db, if full { 30 } else { 2 });
    runtime.block_on(async {
        first_byte(store.clone(), if full { 500 } else { 5 }).await;
        open_streams(store, if full { 500 } else { 10 }).await;
    });
}
