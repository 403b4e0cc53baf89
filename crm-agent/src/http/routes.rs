//! The handlers of the `/api/…` routes: chat as Server-Sent Events, status, conversations, pending
//! actions, API tokens, tools and the demo users.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::agent::ChatEvent;
use crate::context::UserContext;
use crate::domain::{ActionId, ActionStatus, ApiTokenId, ConversationId, PageRequest, PendingActionFilter};

use super::extractors::{Body, Caller};
use super::{ApiError, DemoUser, HttpState};

pub(super) async fn api_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChatRequest {
    message: String,
    #[serde(default)]
    conversation_id: Option<ConversationId>,
}

/// Starts a turn once what can be checked before a stream starts has been (so those failures
/// are plain JSON errors), and returns its events, ended cleanly at shutdown.
pub(super) async fn start_turn(
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
pub(super) async fn chat(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Body(request): Body<ChatRequest>,
) -> Result<Response, ApiError> {
    let stream = start_turn(&state, &user, request).await?.map(|event| Ok::<_, Infallible>(sse_event(&event)));
    Ok(sse_response(stream, state.options.keep_alive))
}

fn sse_event(event: &ChatEvent) -> Event {
    Event::default().event(event.kind()).data(serde_json::to_string(event).unwrap_or_else(|_| "{}".into()))
}

pub(super) fn sse_response(
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
pub(super) struct StatusBody {
    #[serde(flatten)]
    status: crate::agent::AgentStatus,
    demo: bool,
}

pub(super) async fn status(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Caller(user): Caller,
) -> Result<Json<StatusBody>, ApiError> {
    let status = state.agent.status(&user).await?;
    Ok(Json(StatusBody { status, demo: state.demo_users_for(peer).is_some() }))
}

#[derive(Debug, Deserialize)]
pub(super) struct PageQuery {
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

pub(super) async fn list_conversations(
    State(state): State<HttpState>,
    Caller(user): Caller,
    page: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let page = query(page)?.page();
    Ok(Json(state.agent.conversations(&user, &page).await?).into_response())
}

pub(super) async fn get_conversation(
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
pub(super) struct Rename {
    title: String,
}

pub(super) async fn rename_conversation(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Body(rename): Body<Rename>,
) -> Result<Response, ApiError> {
    Ok(Json(state.agent.rename_conversation(&user, &ConversationId::from(id), &rename.title).await?).into_response())
}

pub(super) async fn delete_conversation(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.agent.delete_conversation(&user, &ConversationId::from(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub(super) struct ActionQuery {
    #[serde(default)]
    status: Option<ActionStatus>,
    #[serde(default)]
    conversation_id: Option<ConversationId>,
    #[serde(flatten)]
    page: PageQuery,
}

pub(super) async fn list_actions(
    State(state): State<HttpState>,
    Caller(user): Caller,
    filter: Result<Query<ActionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(filter)?;
    let filter = PendingActionFilter { conversation_id: q.conversation_id, status: q.status };
    Ok(Json(state.agent.pending_actions(&user, &filter, &q.page.page()).await?).into_response())
}

pub(super) async fn confirm_action(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.agent.confirm(&user, &ActionId::from(id)).await?).into_response())
}

pub(super) async fn reject_action(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.agent.reject(&user, &ActionId::from(id)).await?).into_response())
}

/// The caller's API tokens (never their secrets). Creating tokens stays with the command line
/// and host code: a token that could mint tokens would let a leaked one outlive its revocation.
pub(super) async fn list_tokens(State(state): State<HttpState>, Caller(user): Caller) -> Result<Response, ApiError> {
    Ok(Json(state.agent.store().list_api_tokens(&user.scope()?, &user.user_id).await?).into_response())
}

/// Revokes one of the caller's tokens: it stops at once in this process, within the
/// authentication cache time in others.
pub(super) async fn revoke_token(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let revoked = crate::auth::revoke_token(state.agent.store().as_ref(), &user, &ApiTokenId::from(id)).await?;
    Ok(Json(revoked).into_response())
}

pub(super) async fn tools(State(state): State<HttpState>, Caller(user): Caller) -> Json<Vec<Value>> {
    Json(state.agent.describe_tools(&user))
}

pub(super) async fn demo_users(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Json<Vec<DemoUser>>, ApiError> {
    match state.demo_users_for(peer) {
        Some(users) => Ok(Json(users.clone())),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "not in demo mode")),
    }
}
