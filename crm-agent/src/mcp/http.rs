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
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

pub use super::connections::ConnectionLimits;
use super::stateless::DirectPath;
use super::{McpServer, jsonrpc};
use crate::auth::{RequestAuthenticator, ResourceMetadata};
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
    let guard = Guard { authenticator, sessions: Arc::default(), direct, max_body_bytes: options.max_body_bytes };
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(options.allowed_hosts)
        .with_allowed_origins(options.allowed_origins)
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_legacy_session_mode(!options.stateless)
        .with_json_response(options.stateless);
    let metadata = guard.authenticator.protected_resource_metadata();
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(LocalSessionManager::default()), config);
    let router =
        Router::new().nest_service("/mcp", service).layer(middleware::from_fn_with_state(guard, guard_request));
    match metadata {
        Some(metadata) => router.merge(resource_metadata_router(metadata)),
        None => router,
    }
}

/// The request's authenticator, handed to the handler beside the [`UserContext`](crate::UserContext)
/// so that a write approved later in the same request (through an elicitation, which may take
/// minutes) is checked against who the caller is then, not when the request arrived.
#[derive(Clone)]
pub(super) struct Reauthenticate(pub(super) Arc<dyn RequestAuthenticator>);

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
    /// The largest body read (rmcp's limit too).
    max_body_bytes: usize,
}

type SessionOwner = (crate::domain::OrganizationId, String, Instant);

/// Most remembered sessions; past it, bindings older than a day are forgotten (rmcp ends idle
/// sessions long before that).
const MAX_SESSIONS: usize = 50_000;

const SESSION_HEADER: &str = "mcp-session-id";

/// Every request to `/mcp`, before rmcp: resolves its credentials to a
/// [`UserContext`](crate::UserContext) (or answers 401); keeps every MCP session to the user who
/// opened it (another user's request in it is 404, as for an unknown session); answers the
/// messages rmcp would answer wrongly ([`jsonrpc`](super::jsonrpc)) and, in stateless mode, the
/// ones the direct path takes; and fixes up rmcp's answer for older clients.
async fn guard_request(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let user = match guard.authenticator.authenticate_request(&parts).await {
        Ok(user) => user,
        Err(error) => return authentication_failed(guard.authenticator.as_ref(), &parts, &error),
    };
    let session = parts.headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(session) = &session {
        let sessions = guard.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let known = sessions.get(session);
        let someone_elses = known.is_some_and(|(organization, user_id, _)| {
            organization != &user.organization_id || user_id != &user.user_id
        });
        // Ending a session that does not exist (or has ended) is a 404, not rmcp's 202.
        if someone_elses || (known.is_none() && parts.method == Method::DELETE) {
            return no_such_session();
        }
    }
    // The protocol version the answer is for: the header every request after `initialize`
    // carries, or, for `initialize` itself, the version it asks for.
    let mut version = parts.headers.get(PROTOCOL_VERSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut asked_for_progress = false;
    let body = if parts.method == Method::POST {
        let Ok(bytes) = axum::body::to_bytes(body, guard.max_body_bytes).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large: the request body is over the limit")
                .into_response();
        };
        match jsonrpc::check(&bytes) {
            jsonrpc::Checked::NotJson if declares_json(&parts.headers) => {
                return (StatusCode::BAD_REQUEST, axum::Json(jsonrpc::parse_error())).into_response();
            }
            jsonrpc::Checked::InvalidParams { id, message } => {
                let answer = jsonrpc::error_message(&id, jsonrpc::INVALID_PARAMS, &message);
                return (StatusCode::OK, axum::Json(answer)).into_response();
            }
            jsonrpc::Checked::Pass { initialize_version, progress_token } => {
                version = version.or(initialize_version);
                asked_for_progress = progress_token;
            }
            jsonrpc::Checked::NotJson => {}
        }
        if let Some(direct) = &guard.direct
            && let Some(answered) = direct.answer(&user, &parts, &bytes).await
        {
            return answered;
        }
        Body::from(bytes)
    } else {
        body
    };
    if guard.direct.is_some() {
        parts.extensions.insert(StatelessEndpoint);
    }
    let owner = (user.organization_id.clone(), user.user_id.clone());
    let method = parts.method.clone();
    parts.extensions.insert(user);
    parts.extensions.insert(Reauthenticate(guard.authenticator.clone()));
    let response = next.run(Request::from_parts(parts, body)).await;
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
    // An ended session: 204, as the specification's examples have it (rmcp answers 202, which
    // clients log as a failed termination), and its id is forgotten.
    if let Some(session) = &session
        && method == Method::DELETE
        && response.status().is_success()
    {
        guard.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(session);
        return StatusCode::NO_CONTENT.into_response();
    }
    let fixes = SseFixes {
        drop_priming: version.as_deref().is_some_and(|v| v < PRIMING_SINCE),
        drop_progress_tokens: !asked_for_progress,
    };
    fix_sse(response, fixes)
}

/// Marks a request that reached rmcp through a stateless endpoint: the server then knows it
/// cannot send the client a request (an elicitation) while answering it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatelessEndpoint;

const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

/// The first protocol version whose clients expect an SSE stream to open with a priming event
/// (an event id and a retry time, no data); earlier clients read it as a message and fail.
const PRIMING_SINCE: &str = "2025-11-25";

fn no_such_session() -> Response {
    let body = serde_json::json!({"error": {"code": "not_found", "message": "no such MCP session"}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// Whether the request says its body is JSON (rmcp answers other media types with its 415).
fn declares_json(headers: &axum::http::HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|value| {
        value.split_once(';').map_or(value, |(essence, _)| essence).trim().eq_ignore_ascii_case("application/json")
    })
}

/// What to change in an SSE answer for the client that will read it.
#[derive(Debug, Clone, Copy, Default)]
struct SseFixes {
    /// Drop the priming event at the start (see [`PRIMING_SINCE`]).
    drop_priming: bool,
    /// Take the `progressToken` rmcp gives every request it sends off the elicitations in it:
    /// the client asked for no progress on the call that led to them.
    drop_progress_tokens: bool,
}

impl SseFixes {
    fn any(self) -> bool {
        self.drop_priming || self.drop_progress_tokens
    }
}

/// `response` with `fixes` applied to its SSE events, event by event as they stream; any other
/// answer as it is.
fn fix_sse(response: Response, fixes: SseFixes) -> Response {
    let is_sse = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    if !is_sse || !fixes.any() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let state = (body.into_data_stream(), Vec::new(), true, false);
    let stream = futures::stream::unfold(state, move |(mut stream, mut pending, mut first, ended)| async move {
        use futures::StreamExt as _;
        loop {
            // Whole events at the front of what has arrived go out, fixed.
            let mut out = Vec::new();
            while let Some(end) = first_event_end(&pending) {
                let event: Vec<u8> = pending.drain(..end).collect();
                let was_first = std::mem::replace(&mut first, false);
                if was_first && fixes.drop_priming && is_priming(&event) {
                    continue;
                }
                out.extend(if fixes.drop_progress_tokens { without_progress_token(event) } else { event });
            }
            if !out.is_empty() {
                return Some((Ok(bytes::Bytes::from(out)), (stream, pending, first, ended)));
            }
            if ended {
                return None;
            }
            match stream.next().await {
                Some(Ok(chunk)) => pending.extend_from_slice(&chunk),
                Some(Err(error)) => return Some((Err(error), (stream, pending, first, true))),
                None if pending.is_empty() => return None,
                // An unfinished last event goes out as it came.
                None => {
                    return Some((
                        Ok(bytes::Bytes::from(std::mem::take(&mut pending))),
                        (stream, pending, first, true),
                    ));
                }
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// An SSE event carrying an `elicitation/create` request, without `_meta.progressToken`; any
/// other event as it is.
fn without_progress_token(event: Vec<u8>) -> Vec<u8> {
    if memchr::memmem::find(&event, b"elicitation/create").is_none() {
        return event;
    }
    let Ok(text) = std::str::from_utf8(&event) else { return event };
    let mut changed = false;
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            let Some(data) = line.strip_prefix("data:") else { return line.to_owned() };
            let Ok(mut message) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                return line.to_owned();
            };
            if jsonrpc::strip_elicitation_progress_token(&mut message) {
                changed = true;
                format!("data: {message}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    if changed { lines.join("\n").into_bytes() } else { event }
}

/// Where the first SSE event of `bytes` ends (after its blank line), if it has ended.
fn first_event_end(bytes: &[u8]) -> Option<usize> {
    let lf = memchr::memmem::find(bytes, b"\n\n").map(|i| i + 2);
    let crlf = memchr::memmem::find(bytes, b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether an SSE event is a priming one: an id or a retry time, and no data.
fn is_priming(event: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(event) else { return false };
    let mut primes = false;
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        match field {
            "" => {} // a blank line, or a comment
            "id" | "retry" => primes = true,
            "data" if value.trim().is_empty() => {}
            _ => return false,
        }
    }
    primes
}

/// The answer to a request the authenticator did not resolve to a user, with the same error
/// codes as the rest of the HTTP API:
///
/// - [`Unauthenticated`](ErrorKind::Unauthenticated): 401 with the authenticator's challenge,
///   and RFC 6750's `error="invalid_token"` when the request did send credentials.
/// - [`PermissionDenied`](ErrorKind::PermissionDenied): 403, with the authenticator's
///   `insufficient_scope` challenge if it has one.
/// - anything else, the check itself failed (a store or an authorization server that is down):
///   503 or 500, its details only in the log (they name internal URLs and hosts).
pub(crate) fn authentication_failed(
    authenticator: &dyn RequestAuthenticator,
    request: &Parts,
    error: &crate::Error,
) -> Response {
    let (status, challenge) = match error.kind() {
        ErrorKind::Unauthenticated => {
            let mut challenge = authenticator.challenge();
            if request.headers.contains_key(header::AUTHORIZATION) {
                challenge.push_str(", error=\"invalid_token\"");
            }
            (StatusCode::UNAUTHORIZED, Some(challenge))
        }
        ErrorKind::PermissionDenied => (StatusCode::FORBIDDEN, authenticator.forbidden_challenge()),
        _ => {
            tracing::error!(%error, "could not authenticate a request");
            let body = serde_json::json!({"error": {"code": error.kind().as_str(), "message": "authentication is unavailable"}});
            let status =
                if error.is_retryable() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::INTERNAL_SERVER_ERROR };
            return (status, axum::Json(body)).into_response();
        }
    };
    let body = serde_json::json!({"error": {"code": error.kind().as_str(), "message": error.to_string()}});
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// RFC 9728's protected-resource metadata, at `/.well-known/oauth-protected-resource` and at
/// that path followed by the resource's own (`…/mcp`), for clients that read either.
fn resource_metadata_router(metadata: ResourceMetadata) -> Router {
    let ResourceMetadata { resource_path: path, document } = metadata;
    let document = axum::Json(document);
    let serve = move || {
        let document = document.clone();
        async move { ([(header::CACHE_CONTROL, "max-age=3600")], document) }
    };
    let mut router = Router::new().route("/.well-known/oauth-protected-resource", axum::routing::get(serve.clone()));
    if !path.is_empty() && path != "/" {
        router = router.route(&format!("/.well-known/oauth-protected-resource{path}"), axum::routing::get(serve));
    }
    router
}

/// Serves `app` on `listener` until `shutdown` resolves, within `limits`: a header that does not
/// arrive in time, a connection where nothing moves for too long, and connections past the most
/// allowed are not held (see [`ConnectionLimits`]). Requests carry the peer's address as
/// [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    super::connections::serve(listener, app, limits, shutdown).await
}
