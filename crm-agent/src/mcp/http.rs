//! MCP over Streamable HTTP: an axum [`Router`] serving `/mcp`, mountable in any axum app.
//!
//! Every request is authenticated by a [`RequestAuthenticator`] (crm-agent's API tokens, as
//! `Authorization: Bearer TOKEN`, or a host's own); the middleware resolves it to a
//! [`UserContext`](crate::UserContext) and hands that to the handler through the request's
//! extensions. A request without acceptable credentials is `401` with `WWW-Authenticate`. Host and Origin headers are checked against allowlists (requests without
//! an Origin, i.e. not from a browser, pass the Origin check), bodies are limited, and the server
//! can run with sessions (the default; needed for elicitation) or stateless with plain JSON
//! responses (for horizontal scaling behind a load balancer). In stateless mode, `tools/list`
//! and read-only `tools/call` are answered without rmcp's per-request service when that is
//! certain to give rmcp's answer (see the `stateless` module).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

use super::McpServer;
use super::stateless::DirectPath;
use crate::auth::RequestAuthenticator;
use crate::error::ErrorKind;

/// How the HTTP endpoint is exposed.
#[derive(Debug, Clone)]
pub struct McpHttpOptions {
    /// Accepted `Host` header values (a name without a port matches any port).
    pub allowed_hosts: Vec<String>,
    /// Accepted `Origin` values, e.g. `http://localhost:8000` (`:*` for any port).
    pub allowed_origins: Vec<String>,
    /// Largest request body, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Stateless mode: no sessions, each POST answered with a plain JSON response. Scales
    /// horizontally, but the server cannot ask the client anything (no elicitation).
    pub stateless: bool,
}

impl Default for McpHttpOptions {
    fn default() -> Self {
        McpHttpOptions {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: vec![
                "http://localhost:*".into(),
                "http://127.0.0.1:*".into(),
                "https://localhost:*".into(),
                "https://127.0.0.1:*".into(),
            ],
            max_body_bytes: 1 << 20,
            stateless: false,
        }
    }
}

/// A router serving MCP at `/mcp` for `server` (built with [`McpServer::per_request`]), every
/// request authenticated by `authenticator`.
///
/// The allowlists and body limit given in `options` are rmcp's, which checks every request; the
/// stateless direct path checks a stricter subset of them before answering itself.
pub fn router(server: McpServer, authenticator: Arc<dyn RequestAuthenticator>, options: McpHttpOptions) -> Router {
    let direct = options.stateless.then(|| DirectPath {
        server: server.clone(),
        allowed_hosts: options.allowed_hosts.clone(),
        max_body_bytes: options.max_body_bytes,
    });
    let guard = Guard { authenticator, sessions: Arc::default(), direct };
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(options.allowed_hosts)
        .with_allowed_origins(options.allowed_origins)
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_legacy_session_mode(!options.stateless)
        .with_json_response(options.stateless);
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(LocalSessionManager::default()), config);
    Router::new().nest_service("/mcp", service).layer(middleware::from_fn_with_state(guard, require_identity))
}

/// What the middleware in front of `/mcp` keeps: the authenticator, and which user each MCP
/// session belongs to.
#[derive(Clone)]
struct Guard {
    authenticator: Arc<dyn RequestAuthenticator>,
    /// Session id → (organization, user, when it was bound). A session id leaked to someone else
    /// is of no use with their own token: every request of a session must come from its user
    /// (tool calls, and the answers to the server's confirmation questions alike).
    sessions: Arc<Mutex<HashMap<String, SessionOwner>>>,
    /// In stateless mode: answers `tools/list` and read-only `tools/call` without rmcp's
    /// per-request service (see [`super::stateless`]).
    direct: Option<DirectPath>,
}

type SessionOwner = (crate::domain::OrganizationId, String, Instant);

/// Most remembered sessions; past it, bindings older than a day are forgotten (rmcp ends idle
/// sessions long before that).
const MAX_SESSIONS: usize = 50_000;

const SESSION_HEADER: &str = "mcp-session-id";

/// Resolves the request's credentials to a [`crate::UserContext`] (or answers 401), and keeps
/// every MCP session to the user who opened it (another user's request in it is 404, as for an
/// unknown session).
async fn require_identity(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let user = match guard.authenticator.authenticate_request(&parts).await {
        Ok(user) => user,
        Err(error) if error.kind() == ErrorKind::Unauthenticated => {
            return unauthorized(guard.authenticator.as_ref(), &parts, &error.to_string());
        }
        Err(error) => {
            tracing::error!(%error, "could not authenticate an MCP request");
            let body = serde_json::json!({"error": {"code": error.kind().as_str(), "message": "authentication is unavailable"}});
            let status =
                if error.is_retryable() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::INTERNAL_SERVER_ERROR };
            return (status, axum::Json(body)).into_response();
        }
    };
    let mut request = Request::from_parts(parts, body);
    let session = request.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(session) = &session {
        let sessions = guard.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((organization, user_id, _)) = sessions.get(session)
            && (organization != &user.organization_id || user_id != &user.user_id)
        {
            let body = serde_json::json!({"error": {"code": "not_found", "message": "no such MCP session"}});
            return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
        }
    }
    if let Some(direct) = &guard.direct {
        request = match direct.answer(&user, request).await {
            Ok(answered) => return answered,
            Err(for_rmcp) => for_rmcp,
        };
    }
    let owner = (user.organization_id.clone(), user.user_id.clone());
    request.extensions_mut().insert(user);
    let response = next.run(request).await;
    // A new session's id comes back on the answer to the request that opened it.
    if session.is_none()
        && let Some(opened) = response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok())
    {
        let now = Instant::now();
        let mut sessions = guard.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, (_, _, bound)| now.duration_since(*bound) < Duration::from_secs(24 * 3600));
        }
        sessions.insert(opened.to_owned(), (owner.0, owner.1, now));
    }
    response
}

/// A 401 with the same error code as the rest of the HTTP API (`unauthenticated`) and the
/// authenticator's challenge; RFC 6750's `error="invalid_token"` is added when the request did
/// send credentials.
pub(crate) fn unauthorized(authenticator: &dyn RequestAuthenticator, request: &Parts, message: &str) -> Response {
    let mut challenge = authenticator.challenge();
    if request.headers.contains_key(header::AUTHORIZATION) {
        challenge.push_str(", error=\"invalid_token\"");
    }
    let body = serde_json::json!({"error": {"code": ErrorKind::Unauthenticated.as_str(), "message": message}});
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Serves `app` on `listener` with `TCP_NODELAY` on every connection (small JSON-RPC
/// exchanges otherwise wait on Nagle's algorithm) until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
