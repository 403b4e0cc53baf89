//! The HTTP server: routing, auth, checks, turn matching and reply streaming.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::serve::ListenerExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::checks::{self, Emitted};
use crate::script::{FaultKind, Reply, ReplyKind, Script, Turn, When};
use crate::wire::{self, IdGen, Segment};

/// One request the fake received (API routes only, not `/_fake/...`), in arrival order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path without the query, e.g. `/v1beta/models/gemini-x:streamGenerateContent`.
    pub path: String,
    /// The raw query string, if any (e.g. `alt=sse`).
    pub query: Option<String>,
    /// The `{model}` of the path, if it had one.
    pub model: Option<String>,
    /// The API key sent (`x-goog-api-key` header or `key` query parameter).
    pub api_key: Option<String>,
    /// The body as JSON (`null` when empty or not JSON).
    pub body: Value,
    /// How its streamed reply went, for a `streamGenerateContent` request answered with a
    /// stream (`null` otherwise): a test waits for `abandoned` to know the client hung up.
    #[serde(default)]
    pub stream: Option<StreamState>,
    /// Told apart from every other request of this server, across resets.
    #[serde(default)]
    pub serial: u64,
}

/// How a streamed reply went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamState {
    /// Still being sent.
    Sending,
    /// Sent to the end (including a scripted fault at its end).
    Sent,
    /// The client went away before the end: it dropped the response.
    Abandoned,
}

/// A running fake Gemini server. Dropping it asks the server to shut down.
pub struct FakeGemini {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

struct Shared {
    script: Mutex<ScriptState>,
    requests: Mutex<Vec<RecordedRequest>>,
    violations: Mutex<Vec<String>>,
    emitted: Mutex<Emitted>,
    replays: Mutex<ReplayCache>,
    base_dir: PathBuf,
    ids: IdGen,
    serials: std::sync::atomic::AtomicU64,
}

/// Replay files read so far, by path and whether they are JSONL.
type ReplayCache = HashMap<(PathBuf, bool), Arc<Vec<Segment>>>;

struct ScriptState {
    api_key: Option<String>,
    checks: bool,
    record_bodies: bool,
    turns: Vec<Slot>,
}

struct Slot {
    when: When,
    times: u32,
    used: u32,
    reply: Arc<Reply>,
}

impl Slot {
    fn new(turn: Turn, base: &Path) -> Self {
        let mut reply = turn.reply;
        reply.resolve_paths(base);
        Slot { when: turn.when, times: turn.times, used: 0, reply: Arc::new(reply) }
    }

    fn available(&self) -> bool {
        self.times == 0 || self.used < self.times
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another request must not poison the whole fake.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ScriptState {
    fn from_script(script: Script, fallback_base: &Path) -> Self {
        let base = script.base_dir.clone().unwrap_or_else(|| fallback_base.to_path_buf());
        ScriptState {
            api_key: script.api_key,
            checks: script.checks,
            record_bodies: script.record_bodies,
            turns: script.turns.into_iter().map(|t| Slot::new(t, &base)).collect(),
        }
    }
}

impl FakeGemini {
    /// Starts the fake on `127.0.0.1` with a random port.
    pub async fn start(script: Script) -> std::io::Result<FakeGemini> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), script).await
    }

    /// Starts the fake on `addr` (port 0 = a random port). Replay files of the script are read
    /// (and cached) now, so a missing file is an error here.
    pub async fn start_on(addr: SocketAddr, script: Script) -> std::io::Result<FakeGemini> {
        let base_dir = match &script.base_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        };
        let shared = Arc::new(Shared {
            script: Mutex::new(ScriptState::from_script(script, &base_dir)),
            requests: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            emitted: Mutex::new(Emitted::default()),
            replays: Mutex::new(HashMap::new()),
            base_dir,
            ids: IdGen::new(),
            serials: std::sync::atomic::AtomicU64::new(1),
        });
        let replies: Vec<Arc<Reply>> = lock(&shared.script).turns.iter().map(|s| s.reply.clone()).collect();
        for reply in replies {
            if let ReplyKind::Replay { path } | ReplyKind::ReplayJsonl { path } = &reply.kind {
                let jsonl = matches!(reply.kind, ReplyKind::ReplayJsonl { .. });
                shared
                    .load_replay(path, jsonl)
                    .await
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::NotFound, e))?;
            }
        }

        let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        // A deep accept queue: tests open thousands of connections at once.
        let listener = socket.listen(4096)?;
        let local = listener.local_addr()?;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });

        let router = router(shared.clone());
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let server = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = shutdown_rx.await;
        });
        let task = tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!("fake-gemini server error: {e}");
            }
        });
        tracing::info!("fake-gemini listening on {local}");
        Ok(FakeGemini { addr: local, shared, shutdown_tx: Some(shutdown_tx), task: Some(task) })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (clients append `/v1beta/models/...`).
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Appends a turn (relative replay paths resolve against the script's base dir).
    pub fn push_turn(&self, turn: Turn) {
        let slot = Slot::new(turn, &self.shared.base_dir);
        lock(&self.shared.script).turns.push(slot);
    }

    /// Replaces the script and forgets requests, violations and emitted parts.
    pub fn reset(&self, script: Script) {
        self.shared.reset(script);
    }

    /// The requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Waits until the latest request with a streamed reply has reached `state`, and answers
    /// it: an event to wait for, where a test would otherwise sleep and hope (a client that
    /// dropped a turn has hung up once its stream reads [`StreamState::Abandoned`]). Panics
    /// after 10 s.
    #[track_caller]
    pub fn wait_for_stream(&self, state: StreamState) -> impl std::future::Future<Output = RecordedRequest> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let latest = self.requests().into_iter().rev().find(|r| r.stream.is_some());
                match latest {
                    Some(request) if request.stream == Some(state) => return request,
                    latest if tokio::time::Instant::now() >= deadline => {
                        panic!("{caller}: no streamed reply reached {state:?} in 10 s; the latest: {latest:?}")
                    }
                    _ => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        }
    }

    /// The violations recorded so far (client mistakes and unscripted requests).
    pub fn violations(&self) -> Vec<String> {
        lock(&self.shared.violations).clone()
    }

    /// Panics listing the violations, if any were recorded.
    #[track_caller]
    pub fn assert_clean(&self) {
        let v = self.violations();
        if !v.is_empty() {
            panic!("fake-gemini recorded {} violation(s):\n- {}", v.len(), v.join("\n- "));
        }
    }

    /// How many scripted turns with a finite `times` still have uses left.
    pub fn unused_turns(&self) -> usize {
        lock(&self.shared.script).turns.iter().filter(|s| s.times > 0 && s.used < s.times).count()
    }

    /// Stops accepting connections and waits (up to 5 s) for open ones to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for FakeGemini {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(());
        }
    }
}

impl std::fmt::Debug for FakeGemini {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGemini").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Shared {
    fn reset(&self, script: Script) {
        *lock(&self.script) = ScriptState::from_script(script, &self.base_dir);
        lock(&self.requests).clear();
        lock(&self.violations).clear();
        *lock(&self.emitted) = Emitted::default();
    }

    fn violation(&self, text: String) {
        tracing::warn!("fake-gemini violation: {text}");
        lock(&self.violations).push(text);
    }

    async fn load_replay(&self, path: &Path, jsonl: bool) -> Result<Arc<Vec<Segment>>, String> {
        let key = (path.to_path_buf(), jsonl);
        if let Some(segs) = lock(&self.replays).get(&key) {
            return Ok(segs.clone());
        }
        let owned = path.to_path_buf();
        let raw = tokio::task::spawn_blocking(move || std::fs::read(owned))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map_err(|e| format!("fake-gemini: cannot read replay file {}: {e}", path.display()))?;
        let segs = Arc::new(if jsonl { wire::split_jsonl(&raw) } else { wire::split_sse(&Bytes::from(raw)) });
        Ok(lock(&self.replays).entry(key).or_insert(segs).clone())
    }

    fn record_emitted<'a>(&self, chunks: impl IntoIterator<Item = &'a Value>) {
        let prepared = checks::prepare(chunks);
        if !prepared.is_empty() {
            lock(&self.emitted).record(prepared);
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1beta/models/{name}", any(api))
        .route("/v1/models/{name}", any(api))
        .route("/_fake/requests", get(control_requests))
        .route("/_fake/violations", get(control_violations))
        .route("/_fake/unused_turns", get(control_unused_turns))
        .route("/_fake/turns", post(control_turns))
        .route("/_fake/reset", post(control_reset))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn(cors))
        .with_state(shared)
}

/// Permissive CORS, so a page in a browser test may call the fake directly: preflights are
/// answered here (never recorded, no key needed) and every response allows any origin.
async fn cors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

const SSE: &str = "text/event-stream";
const JSON: &str = "application/json; charset=UTF-8";

fn json_response(status: StatusCode, content_type: &'static str, body: &Value) -> Response {
    let text = serde_json::to_string_pretty(body).unwrap_or_else(|_| body.to_string());
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn error_response(code: u16, message: &str, details: Vec<Value>, content_type: &'static str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, content_type, &wire::error_body(code, message, details))
}

async fn not_found(uri: Uri) -> Response {
    error_response(404, &format!("fake-gemini: no route for {}", uri.path()), Vec::new(), JSON)
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// What turn matching needs from the last content of a request.
struct LastContent<'a> {
    role: &'a str,
    texts: Vec<&'a str>,
    function_responses: Vec<&'a str>,
}

impl<'a> LastContent<'a> {
    fn of(body: &'a Value) -> Self {
        let last = body.get("contents").and_then(Value::as_array).and_then(|c| c.last());
        let parts = last.and_then(|c| c.get("parts")).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        LastContent {
            role: last.and_then(|c| c.get("role")).and_then(Value::as_str).unwrap_or(""),
            texts: parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect(),
            function_responses: parts
                .iter()
                .filter_map(|p| p.pointer("/functionResponse/name").and_then(Value::as_str))
                .collect(),
        }
    }

    fn matches(&self, when: &When, model: &str) -> bool {
        when.model.as_deref().is_none_or(|m| m == model)
            && when
                .user_text_contains
                .as_deref()
                .is_none_or(|needle| self.role == "user" && self.texts.iter().any(|t| t.contains(needle)))
            && when.function_response.as_deref().is_none_or(|name| self.function_responses.contains(&name))
    }

    fn describe(&self) -> String {
        let mut s = format!("last content role `{}`", self.role);
        if let Some(t) = self.texts.first() {
            let t: String = t.chars().take(80).collect();
            s.push_str(&format!(", text {t:?}"));
        }
        if !self.function_responses.is_empty() {
            s.push_str(&format!(", functionResponse {:?}", self.function_responses));
        }
        s
    }
}

async fn api(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let query = uri.query();
    let name = path.rsplit('/').next().unwrap_or("");
    let (model, action) = match name.rsplit_once(':') {
        Some((m, a)) => (m.to_string(), Some(a.to_string())),
        None => (name.to_string(), None),
    };
    let stream = action.as_deref() == Some("streamGenerateContent");
    let content_type = if stream { SSE } else { JSON };
    let api_key = headers
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query_param(query, "key").map(str::to_string))
        .filter(|k| !k.is_empty());
    let (parsed, json_ok) = if body.is_empty() {
        (Value::Null, false)
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => (v, true),
            Err(_) => (Value::Null, false),
        }
    };
    let record_bodies = lock(&shared.script).record_bodies;
    let serial = shared.serials.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let number = {
        let mut requests = lock(&shared.requests);
        requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            query: query.map(str::to_string),
            model: Some(model.clone()),
            api_key: api_key.clone(),
            body: if record_bodies { parsed.clone() } else { Value::Null },
            stream: None,
            serial,
        });
        requests.len()
    };
    let tag = format!("request #{number} ({method} {path})");

    let (expected_key, checks_on) = {
        let s = lock(&shared.script);
        (s.api_key.clone(), s.checks)
    };
    match (&api_key, &expected_key) {
        (None, _) => {
            return error_response(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). Please use API \
                 Key or other form of API consumer identity to call this API.",
                Vec::new(),
                content_type,
            );
        }
        (Some(got), Some(want)) if got != want => {
            return error_response(
                400,
                "API key not valid. Please pass a valid API key.",
                vec![json!({
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": { "service": "generativelanguage.googleapis.com" },
                })],
                content_type,
            );
        }
        _ => {}
    }

    match (&method, action.as_deref()) {
        (&Method::GET, None) => {
            return json_response(
                StatusCode::OK,
                JSON,
                &json!({
                    "name": format!("models/{model}"),
                    "version": "001",
                    "displayName": format!("{model} (fake-gemini)"),
                    "description": "A scripted stand-in for the Gemini API, for tests.",
                    "inputTokenLimit": 1_048_576,
                    "outputTokenLimit": 65_536,
                    "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
                }),
            );
        }
        (&Method::POST, Some("generateContent" | "streamGenerateContent")) => {}
        _ => {
            return error_response(
                404,
                &format!(
                    "fake-gemini: {method} {path} is not supported (only generateContent, streamGenerateContent and GET model)"
                ),
                Vec::new(),
                content_type,
            );
        }
    }

    if checks_on {
        let problems = if json_ok {
            checks::check_request(&parsed, &shared.emitted)
        } else {
            vec!["the request body is not valid JSON".to_string()]
        };
        if !problems.is_empty() {
            for p in &problems {
                shared.violation(format!("{tag}: {p}"));
            }
            let message = if json_ok { problems[0].clone() } else { "Invalid JSON payload received.".to_string() };
            return error_response(400, &message, Vec::new(), content_type);
        }
    }

    let last = LastContent::of(&parsed);
    let reply = {
        let mut s = lock(&shared.script);
        s.turns.iter_mut().find(|slot| slot.available() && last.matches(&slot.when, &model)).map(|slot| {
            slot.used += 1;
            slot.reply.clone()
        })
    };
    let Some(reply) = reply else {
        let message =
            format!("fake-gemini: no scripted turn matches this request (model `{model}`, {})", last.describe());
        shared.violation(format!("{tag}: {message}"));
        return error_response(500, &message, Vec::new(), content_type);
    };

    if reply.first_byte_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(reply.first_byte_delay_ms)).await;
    }
    if let ReplyKind::Error(e) = &reply.kind {
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return json_response(status, content_type, &wire::scripted_error_body(e, &model));
    }
    let prompt = wire::prompt_tokens(&parsed);
    let segments = match build_segments(&shared, &reply, &model, prompt).await {
        Ok(segs) => segs,
        Err(message) => {
            shared.violation(format!("{tag}: {message}"));
            return error_response(500, &message, Vec::new(), content_type);
        }
    };

    let limit = reply.fault.map_or(segments.len(), |f| f.after_chunks.min(segments.len()));
    if stream {
        shared.record_emitted(segments[..limit].iter().filter_map(|s| s.chunk.as_ref()));
        let tail = reply.fault.map(|f| match f.kind {
            FaultKind::Cut => Tail::Cut,
            FaultKind::Error503 => Tail::Bytes(Bytes::from_static(wire::MIDSTREAM_503.as_bytes())),
            FaultKind::Malformed => Tail::Bytes(Bytes::from_static(wire::MALFORMED.as_bytes())),
        });
        let watch = StreamWatch::start(shared.clone(), serial);
        let body = sse_body(BodyState {
            segments,
            limit,
            next: 0,
            delay: Duration::from_millis(reply.chunk_delay_ms),
            tail,
            watch: Some(watch),
        });
        let mut resp = Response::new(body);
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SSE));
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return resp;
    }

    // Unary generateContent: everything merged into one response.
    match reply.fault.map(|f| f.kind) {
        Some(FaultKind::Cut) => {
            let body = sse_body(BodyState {
                segments,
                limit: 0,
                next: 0,
                delay: Duration::ZERO,
                tail: Some(Tail::Cut),
                watch: None,
            });
            let mut resp = Response::new(body);
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
            resp
        }
        Some(FaultKind::Error503) => {
            error_response(503, "The model is overloaded. Please try again later.", Vec::new(), JSON)
        }
        Some(FaultKind::Malformed) => {
            ([(header::CONTENT_TYPE, HeaderValue::from_static(JSON))], "{\"candidates\": [").into_response()
        }
        None => {
            let merged = wire::merge_chunks(segments.iter().filter_map(|s| s.chunk.as_ref()));
            shared.record_emitted([&merged]);
            json_response(StatusCode::OK, JSON, &merged)
        }
    }
}

/// The chunks of a streamed reply (none for an error reply, which has no body stream).
async fn build_segments(shared: &Shared, reply: &Reply, model: &str, prompt: u64) -> Result<Arc<Vec<Segment>>, String> {
    let rid = shared.ids.response_id();
    let mut chunks: Vec<Value> = Vec::new();
    let mut produced = 0u64;
    let text_chunks = |chunks: &mut Vec<Value>, produced: &mut u64, text: &str, size: Option<usize>| {
        for delta in wire::split_text(text, size) {
            *produced += wire::tokens(&delta);
            chunks.push(wire::chunk(&[json!({ "text": delta })], None, &wire::usage(prompt, *produced), model, &rid));
        }
    };
    match &reply.kind {
        ReplyKind::Text { text, chunk_size } => {
            text_chunks(&mut chunks, &mut produced, text, *chunk_size);
            chunks.push(wire::chunk(&[json!({"text": ""})], Some("STOP"), &wire::usage(prompt, produced), model, &rid));
        }
        ReplyKind::FunctionCalls { calls, text, chunk_size, signatures } => {
            if let Some(text) = text {
                text_chunks(&mut chunks, &mut produced, text, *chunk_size);
            }
            let parts: Vec<Value> = calls
                .iter()
                .enumerate()
                .map(|(i, call)| {
                    let sig = call
                        .thought_signature
                        .clone()
                        .or_else(|| (*signatures && i == 0).then(|| shared.ids.signature()));
                    produced += wire::tokens(&call.name) + wire::tokens(&call.args.to_string());
                    wire::function_call_part(call, sig)
                })
                .collect();
            if !parts.is_empty() {
                chunks.push(wire::chunk(&parts, None, &wire::usage(prompt, produced), model, &rid));
            }
            chunks.push(wire::chunk(&[json!({"text": ""})], Some("STOP"), &wire::usage(prompt, produced), model, &rid));
        }
        ReplyKind::Chunks { chunks: raw, finish_reason, usage } => {
            let n = raw.len().max(1);
            for i in 0..n {
                let parts = raw.get(i).cloned().unwrap_or_else(|| vec![json!({"text": ""})]);
                produced += parts.iter().map(|p| wire::tokens(&p.to_string())).sum::<u64>();
                let last = i + 1 == n;
                let u = match (last, usage) {
                    (true, Some(u)) => u.clone(),
                    _ => wire::usage(prompt, produced),
                };
                let finish = if last { finish_reason.as_deref() } else { None };
                chunks.push(wire::chunk(&parts, finish, &u, model, &rid));
            }
        }
        ReplyKind::Blocked { reason } => {
            chunks.push(json!({
                "promptFeedback": { "blockReason": reason },
                "usageMetadata": { "promptTokenCount": prompt, "totalTokenCount": prompt },
                "modelVersion": model,
                "responseId": rid,
            }));
        }
        ReplyKind::Replay { path } => return shared.load_replay(path, false).await,
        ReplyKind::ReplayJsonl { path } => return shared.load_replay(path, true).await,
        ReplyKind::Error(_) => {}
    }
    Ok(Arc::new(chunks.into_iter().map(Segment::framed).collect()))
}

enum Tail {
    Bytes(Bytes),
    Cut,
}

struct BodyState {
    segments: Arc<Vec<Segment>>,
    limit: usize,
    next: usize,
    delay: Duration,
    tail: Option<Tail>,
    watch: Option<StreamWatch>,
}

/// Records how a streamed reply went in its request's [`RecordedRequest::stream`]: dropped
/// before [`StreamWatch::finish`], the body was abandoned by the client.
struct StreamWatch {
    shared: Arc<Shared>,
    serial: u64,
    finished: bool,
}

impl StreamWatch {
    fn start(shared: Arc<Shared>, serial: u64) -> Self {
        let watch = StreamWatch { shared, serial, finished: false };
        watch.record(StreamState::Sending);
        watch
    }

    fn finish(&mut self) {
        self.finished = true;
    }

    fn record(&self, state: StreamState) {
        // A reset may have forgotten the request; then there is nothing to record.
        if let Some(request) = lock(&self.shared.requests).iter_mut().find(|r| r.serial == self.serial) {
            request.stream = Some(state);
        }
    }
}

impl Drop for StreamWatch {
    fn drop(&mut self) {
        self.record(if self.finished { StreamState::Sent } else { StreamState::Abandoned });
    }
}

fn sse_body(state: BodyState) -> Body {
    let stream = futures::stream::unfold(state, |mut st| async move {
        if st.next < st.limit {
            if st.next > 0 && !st.delay.is_zero() {
                tokio::time::sleep(st.delay).await;
            }
            let bytes = st.segments[st.next].bytes.clone();
            st.next += 1;
            return Some((Ok(bytes), st));
        }
        let Some(tail) = st.tail.take() else {
            if let Some(watch) = st.watch.as_mut() {
                watch.finish();
            }
            return None;
        };
        match tail {
            Tail::Bytes(bytes) => {
                if st.next > 0 && !st.delay.is_zero() {
                    tokio::time::sleep(st.delay).await;
                }
                Some((Ok(bytes), st))
            }
            Tail::Cut => {
                // Let hyper flush what was sent, then fail the body so it aborts the connection
                // (no terminating chunk: the client sees an incomplete body, not a clean EOF).
                tokio::time::sleep(Duration::from_millis(30)).await;
                // The scripted end of this reply: hyper stops reading the body at the error.
                if let Some(watch) = st.watch.as_mut() {
                    watch.finish();
                }
                Some((Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "fake-gemini: cut fault")), st))
            }
        }
    });
    Body::from_stream(stream)
}

async fn control_requests(State(shared): State<Arc<Shared>>) -> Response {
    let requests = lock(&shared.requests).clone();
    json_response(StatusCode::OK, JSON, &serde_json::to_value(requests).unwrap_or(Value::Null))
}

async fn control_violations(State(shared): State<Arc<Shared>>) -> Response {
    let v = lock(&shared.violations).clone();
    json_response(StatusCode::OK, JSON, &json!(v))
}

async fn control_unused_turns(State(shared): State<Arc<Shared>>) -> Response {
    let n = lock(&shared.script).turns.iter().filter(|s| s.times > 0 && s.used < s.times).count();
    json_response(StatusCode::OK, JSON, &json!({ "unused_turns": n }))
}

fn bad_control(message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, JSON, &json!({ "error": message }))
}

async fn control_turns(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let turns = match serde_json::from_slice::<Value>(&body) {
        Ok(v @ Value::Array(_)) => serde_json::from_value::<Vec<Turn>>(v),
        Ok(v) => serde_json::from_value::<Turn>(v).map(|t| vec![t]),
        Err(e) => Err(e),
    };
    let turns = match turns {
        Ok(t) => t,
        Err(e) => return bad_control(&format!("invalid turn(s): {e}")),
    };
    let added = turns.len();
    let mut s = lock(&shared.script);
    s.turns.extend(turns.into_iter().map(|t| Slot::new(t, &shared.base_dir)));
    let total = s.turns.len();
    drop(s);
    json_response(StatusCode::OK, JSON, &json!({ "added": added, "turns": total }))
}

async fn control_reset(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let script = if body.iter().all(u8::is_ascii_whitespace) {
        Script::default()
    } else {
        match serde_json::from_slice::<Script>(&body) {
            Ok(s) => s,
            Err(e) => return bad_control(&format!("invalid script: {e}")),
        }
    };
    shared.reset(script);
    json_response(StatusCode::OK, JSON, &json!({ "ok": true }))
}
