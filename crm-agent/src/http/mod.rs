//! The HTTP service behind `crm-agent serve`: the chat API (Server-Sent Events), conversations,
//! pending actions, status, tools, the MCP endpoint, the `/api/gemini/…` routes kept compatible
//! with the Django CRM this replaces, and the web chat page — one axum [`Router`] a Rust host can
//! mount. See `docs/http.md`.
//!
//! Every `/api` route authenticates its request to a [`UserContext`] with the state's
//! [`RequestAuthenticator`]: crm-agent's API tokens (`Authorization: Bearer TOKEN`, or the
//! `Token` scheme of Django REST Framework) by default, or the host's own sessions. Every answer
//! that is not a success is a JSON error with a code ([`ApiError`]). Each request gets an id
//! that every log line of the request carries.
//!
//! [`router`] serves everything `crm-agent serve` does; a host with an axum app of its own
//! mounts [`api_router`] and [`mcp::http::router`](crate::mcp::http::router) instead.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use tracing::Instrument;

use crate::agent::{ChatEvent, CrmAgent};
use crate::auth::RequestAuthenticator;
use crate::context::UserContext;
use crate::domain::{ActionId, ActionStatus, ApiTokenId, ConversationId, PageRequest, PendingActionFilter};
use crate::limits::RateLimiter;
use crate::mcp::http::McpHttpOptions;
use crate::mcp::{McpOptions, McpServer};
use crate::store::RateBudget;

mod assets;
pub mod demo;
mod error;

pub use error::ApiError;

/// A demo user offered by the page's sign-in picker (demo mode only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoUser {
    /// The user id.
    pub user_id: String,
    /// The name shown.
    pub display_name: String,
    /// owner, employee (with their role), customer.
    pub role: String,
    /// The organization's slug.
    pub organization: String,
    /// An API token acting as this user.
    pub token: String,
}

/// How the service behaves.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest request body on `/api` routes (default 512 KiB, which holds a chat message of
    /// the agent's default `max_message_chars` in any script, even JSON-escaped); larger is `413`.
    pub body_limit: usize,
    /// Chat turns each user may start per minute (default 30; bursts of a sixth of it, at least
    /// 10), counted in the store so that every process on one database shares the limit.
    pub chats_per_minute: u32,
    /// How often an idle chat stream gets a keep-alive comment (default 10 s).
    pub keep_alive: Duration,
    /// The MCP endpoint's HTTP settings.
    pub mcp_http: McpHttpOptions,
    /// The MCP server's settings.
    pub mcp: McpOptions,
    /// Demo users for the page's sign-in picker (`None`: not in demo mode).
    pub demo_users: Option<Vec<DemoUser>>,
    /// Offer the demo users to clients on any address. By default only clients on this machine
    /// (a loopback peer address, as [`serve`](crate::mcp::http::serve) reports it) get them: the
    /// picker hands out tokens, owners' included.
    pub demo_for_any_client: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            body_limit: 512 * 1024,
            chats_per_minute: 30,
            keep_alive: Duration::from_secs(10),
            mcp_http: McpHttpOptions::default(),
            mcp: McpOptions::default(),
            demo_users: None,
            demo_for_any_client: false,
        }
    }
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct HttpState {
    agent: CrmAgent,
    authenticator: Arc<dyn RequestAuthenticator>,
    options: Arc<HttpOptions>,
    limiter: Arc<RateLimiter>,
    shutdown: watch::Receiver<bool>,
}

impl std::fmt::Debug for HttpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpState").field("options", &self.options).finish_non_exhaustive()
    }
}

/// Ends open chat streams cleanly when triggered (graceful shutdown).
#[derive(Debug, Clone)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    /// Ends every open chat stream with an `error` event (`shutting_down`, retryable).
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl HttpState {
    /// State for `agent`, with requests authenticated by `authenticator` (a
    /// [`TokenAuthenticator`](crate::auth::TokenAuthenticator) for API tokens). The trigger ends
    /// open chat streams at shutdown.
    pub fn new(
        agent: CrmAgent,
        authenticator: impl RequestAuthenticator,
        options: HttpOptions,
    ) -> (Self, ShutdownTrigger) {
        let (sender, shutdown) = watch::channel(false);
        let budget = RateBudget::per_minute(options.chats_per_minute);
        let limiter = Arc::new(RateLimiter::new(agent.store().clone(), "chat_turns", budget, 1));
        let authenticator = Arc::new(authenticator);
        (HttpState { agent, authenticator, options: Arc::new(options), limiter, shutdown }, ShutdownTrigger(sender))
    }

    /// The authenticator of the requests.
    pub fn authenticator(&self) -> &Arc<dyn RequestAuthenticator> {
        &self.authenticator
    }

    /// The agent.
    pub fn agent(&self) -> &CrmAgent {
        &self.agent
    }
}

/// Every route of the service: `/healthz`, the web chat page, [`api_router`]'s routes and
/// `/mcp`, with the `Host` allowlist checked and every request logged.
pub fn router(state: HttpState) -> Router {
    let mcp = McpServer::per_request(state.agent.registry().clone(), state.options.mcp.clone());
    let allowed_hosts = Arc::new(state.options.mcp_http.allowed_hosts.clone());
    let mcp = crate::mcp::http::router(mcp, state.authenticator.clone(), state.options.mcp_http.clone());
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(assets::router())
        .merge(api_router(state))
        .merge(mcp)
        .layer(middleware::from_fn_with_state(allowed_hosts, check_host))
        .layer(middleware::from_fn(request_span))
}

/// The `/api/…` routes alone (chat, conversations, actions, status, tools, the older frontend's
/// `/api/gemini/…`), for mounting into a host's own axum app, under a prefix if it likes.
pub fn api_router(state: HttpState) -> Router {
    Router::new()
        .route("/api/chat", post(chat))
        .route("/api/status", get(status))
        .route("/api/conversations", get(list_conversations))
        .route("/api/conversations/{id}", get(get_conversation).patch(rename_conversation).delete(delete_conversation))
        .route("/api/actions", get(list_actions))
        .route("/api/actions/{id}/confirm", post(confirm_action))
        .route("/api/actions/{id}/reject", post(reject_action))
        .route("/api/tools", get(tools))
        .route("/api/tokens", get(list_tokens))
        .route("/api/tokens/{id}", delete(revoke_token))
        .route("/api/demo/users", get(demo_users))
        .route("/api/gemini/chat/", post(legacy_chat))
        .route("/api/gemini/status/", get(legacy_status))
        .route("/api/gemini/actions/{id}/confirm/", post(confirm_action))
        .route("/api/gemini/actions/{id}/reject/", post(reject_action))
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(state.options.body_limit))
        .with_state(state)
}

/// Refuses requests whose `Host` is not an allowed name: a page on another site that rebinds
/// its DNS name to this server must not reach the API (least of all the demo tokens). Same
/// allowlist as the MCP endpoint (`HttpOptions::mcp_http.allowed_hosts`; empty: any host).
async fn check_host(State(allowed): State<Arc<Vec<String>>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if allowed.is_empty() || host_allowed(host, &allowed) {
        return next.run(request).await;
    }
    ApiError::new(StatusCode::FORBIDDEN, "forbidden_host", format!("host `{host}` is not allowed (see --allow-host)"))
        .into_response()
}

/// Whether `host` (`name` or `name:port`, IPv6 in brackets) matches an allowed entry (`name`
/// for any port, or `name:port`).
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    allowed.iter().any(|entry| entry.eq_ignore_ascii_case(host) || entry.eq_ignore_ascii_case(name))
}

/// Gives every request an id, carried by every log line of the request (tool calls included),
/// and logs one line per request. Bodies and headers are never logged.
async fn request_span(request: Request, next: Next) -> Response {
    let id = format!("{:016x}", rand::random::<u64>());
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path(),
        user = tracing::field::Empty
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "request"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

async fn api_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// The authenticated caller of an `/api` route.
struct Caller(UserContext);

impl FromRequestParts<HttpState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, Response> {
        match state.authenticator.authenticate_request(parts).await {
            Ok(user) => {
                tracing::Span::current().record("user", user.user_id.as_str());
                Ok(Caller(user))
            }
            Err(error) => Err(crate::mcp::http::authentication_failed(state.authenticator.as_ref(), parts, &error)),
        }
    }
}

/// A JSON body whose rejections are API errors (`400 invalid_argument`, `413`).
struct Body<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(Body(value))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatRequest {
    message: String,
    #[serde(default)]
    conversation_id: Option<ConversationId>,
}

/// Starts a turn once what can be checked before a stream starts has been (so those failures
/// are plain JSON errors), and returns its events, ended cleanly at shutdown.
async fn start_turn(
    state: &HttpState,
    user: &UserContext,
    request: ChatRequest,
) -> Result<impl Stream<Item = ChatEvent> + Send + 'static, ApiError> {
    state.agent.check_message(&request.message)?;
    if let Some(id) = &request.conversation_id {
        state.agent.store().get_conversation(&user.scope()?, &user.user_id, id).await?;
    }
    match state.limiter.check(user).await {
        Ok(()) => {}
        Err(Ok(wait)) => return Err(ApiError::rate_limited(crate::limits::whole_seconds(wait))),
        Err(Err(error)) => return Err(error.into()),
    }
    let events = state.agent.chat(user, request.message, request.conversation_id);
    Ok(until_shutdown(events, state.shutdown.clone()))
}

/// `POST /api/chat`: the turn's events as Server-Sent Events.
async fn chat(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Body(request): Body<ChatRequest>,
) -> Result<Response, ApiError> {
    let stream = start_turn(&state, &user, request).await?.map(|event| Ok::<_, Infallible>(sse_event(&event)));
    Ok(sse_response(stream, state.options.keep_alive))
}

/// `POST /api/gemini/chat/`: the same turn in the stream encoding of the older Django frontend
/// (`connected`, `message`, `completed`, `error`; see [`ChatEvent::to_legacy`]).
async fn legacy_chat(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Body(request): Body<ChatRequest>,
) -> Result<Response, ApiError> {
    let stream = start_turn(&state, &user, request)
        .await?
        .filter_map(|event| async move { event.to_compat() })
        .map(|legacy| Ok::<_, Infallible>(Event::default().data(legacy.to_string())));
    Ok(sse_response(stream, state.options.keep_alive))
}

fn sse_event(event: &ChatEvent) -> Event {
    Event::default().event(event.kind()).data(serde_json::to_string(event).unwrap_or_else(|_| "{}".into()))
}

fn sse_response(
    stream: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
    keep_alive: Duration,
) -> Response {
    let mut response =
        Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive).text("keep-alive")).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The chat events, ended by a retryable `error` event when the server shuts down (the turn
/// is cancelled; what it completed stays stored).
fn until_shutdown(
    events: impl Stream<Item = ChatEvent> + Send + Unpin + 'static,
    mut shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = ChatEvent> + Send + 'static {
    let stopped = async move {
        // A dropped trigger (a host that never shuts down this way) is not a shutdown.
        if shutdown.wait_for(|stopping| *stopping).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let goodbye = ChatEvent::Error {
        code: "shutting_down".into(),
        message: "The server is restarting; send your message again in a moment.".into(),
        retryable: true,
    };
    futures::stream::unfold((events, Box::pin(stopped), false), move |(mut events, mut stopped, finished)| {
        let goodbye = goodbye.clone();
        async move {
            if finished {
                return None;
            }
            tokio::select! {
                biased;
                event = events.next() => event.map(|e| (e, (events, stopped, false))),
                () = &mut stopped => Some((goodbye, (events, stopped, true))),
            }
        }
    })
}

#[derive(Debug, Serialize)]
struct StatusBody {
    #[serde(flatten)]
    status: crate::agent::AgentStatus,
    demo: bool,
}

async fn status(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Caller(user): Caller,
) -> Result<Json<StatusBody>, ApiError> {
    let status = state.agent.status(&user).await?;
    Ok(Json(StatusBody { status, demo: state.demo_users_for(peer).is_some() }))
}

async fn legacy_status(State(state): State<HttpState>, Caller(user): Caller) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.agent.status(&user).await?.to_compat()))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

impl PageQuery {
    fn page(&self) -> PageRequest {
        let limit = self.limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
        match &self.cursor {
            Some(cursor) => PageRequest::after(limit, cursor.clone()),
            None => PageRequest::first(limit),
        }
    }
}

fn query<T>(query: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    query.map(|Query(q)| q).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_argument", e.body_text()))
}

async fn list_conversations(
    State(state): State<HttpState>,
    Caller(user): Caller,
    page: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let page = query(page)?.page();
    Ok(Json(state.agent.conversations(&user, &page).await?).into_response())
}

async fn get_conversation(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    page: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let limit = query(page)?.limit.unwrap_or(PageRequest::MAX_LIMIT);
    Ok(Json(state.agent.conversation(&user, &ConversationId::from(id), limit).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    title: String,
}

async fn rename_conversation(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Body(rename): Body<Rename>,
) -> Result<Response, ApiError> {
    Ok(Json(state.agent.rename_conversation(&user, &ConversationId::from(id), &rename.title).await?).into_response())
}

async fn delete_conversation(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.agent.delete_conversation(&user, &ConversationId::from(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct ActionQuery {
    #[serde(default)]
    status: Option<ActionStatus>,
    #[serde(default)]
    conversation_id: Option<ConversationId>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn list_actions(
    State(state): State<HttpState>,
    Caller(user): Caller,
    filter: Result<Query<ActionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(filter)?;
    let filter = PendingActionFilter { conversation_id: q.conversation_id, status: q.status };
    Ok(Json(state.agent.pending_actions(&user, &filter, &q.page.page()).await?).into_response())
}

async fn confirm_action(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.agent.confirm(&user, &ActionId::from(id)).await?).into_response())
}

async fn reject_action(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.agent.reject(&user, &ActionId::from(id)).await?).into_response())
}

/// The caller's API tokens (never their secrets). Creating tokens stays with the command line
/// and host code: a token that could mint tokens would let a leaked one outlive its revocation.
async fn list_tokens(State(state): State<HttpState>, Caller(user): Caller) -> Result<Response, ApiError> {
    Ok(Json(state.agent.store().list_api_tokens(&user.scope()?, &user.user_id).await?).into_response())
}

/// Revokes one of the caller's tokens: it stops at once in this process, within the
/// authentication cache time in others.
async fn revoke_token(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let revoked = crate::auth::revoke_token(state.agent.store().as_ref(), &user, &ApiTokenId::from(id)).await?;
    Ok(Json(revoked).into_response())
}

async fn tools(State(state): State<HttpState>, Caller(user): Caller) -> Json<Vec<Value>> {
    Json(state.agent.describe_tools(&user))
}

async fn demo_users(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Json<Vec<DemoUser>>, ApiError> {
    match state.demo_users_for(peer) {
        Some(users) => Ok(Json(users.clone())),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "not in demo mode")),
    }
}

impl HttpState {
    /// The demo users a client at `peer` is offered: none outside demo mode, and none for a
    /// client that is not on this machine (or whose address is unknown) unless
    /// [`HttpOptions::demo_for_any_client`] says otherwise.
    fn demo_users_for(&self, peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> Option<&Vec<DemoUser>> {
        let local = peer.is_some_and(|Extension(ConnectInfo(addr))| addr.ip().to_canonical().is_loopback());
        self.options.demo_users.as_ref().filter(|_| local || self.options.demo_for_any_client)
    }
}
