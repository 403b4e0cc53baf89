//! The handlers of `/api/gemini/chat/` and `/api/gemini/status/`, which answer in the encoding of
//! the Django frontend that crm-agent replaces.

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use axum::response::sse::Event;
use futures::StreamExt;
use serde_json::Value;

use super::extractors::{Body, Caller};
use super::routes::{ChatRequest, sse_response, start_turn};
use super::{ApiError, HttpState};

/// `POST /api/gemini/chat/`: the same turn in the stream encoding of the older Django frontend
/// (`connected`, `message`, `completed`, `error`; see
/// [`ChatEvent::to_compat`](crate::agent::ChatEvent::to_compat)).
pub(super) async fn compat_chat(
    State(state): State<HttpState>,
    Caller(user): Caller,
    Body(request): Body<ChatRequest>,
) -> Result<Response, ApiError> {
    let stream = start_turn(&state, &user, request)
        .await?
        .filter_map(|event| async move { event.to_compat() })
        .map(|compat| Ok::<_, Infallible>(Event::default().data(compat.to_string())));
    Ok(sse_response(stream, state.options.keep_alive))
}

pub(super) async fn compat_status(
    State(state): State<HttpState>,
    Caller(user): Caller,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.agent.status(&user).await?.to_compat()))
}
