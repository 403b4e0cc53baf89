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
//!
//! [`UserContext`]: crate::context::UserContext

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::agent::CrmAgent;
use crate::auth::RequestAuthenticator;
use crate::limits::RateLimiter;
use crate::mcp::http::McpHttpOptions;
use crate::mcp::{McpOptions, McpServer};
use crate::store::RateBudget;

mod assets;
mod compat;
pub mod demo;
mod error;
mod extractors;
mod middleware;
mod routes;

pub use error::ApiError;

use compat::{compat_chat, compat_status};
use middleware::{check_host, request_span};
use routes::{
    api_not_found, chat, confirm_action, delete_conversation, demo_users, get_conversation, list_actions,
    list_conversations, list_tokens, reject_action, rename_conversation, revoke_token, status, tools,
};

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
        .layer(axum::middleware::from_fn_with_state(allowed_hosts, check_host))
        .layer(axum::middleware::from_fn(request_span))
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
        .route("/api/gemini/chat/", post(compat_chat))
        .route("/api/gemini/status/", get(compat_status))
        .route("/api/gemini/actions/{id}/confirm/", post(confirm_action))
        .route("/api/gemini/actions/{id}/reject/", post(reject_action))
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(state.options.body_limit))
        .with_state(state)
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
