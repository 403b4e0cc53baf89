//! The layers [`router`](super::router) puts around every route: the `Host` allowlist and the
//! per-request id and log line.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::ApiError;

/// Refuses requests whose `Host` is not an allowed name: a page on another site that rebinds
/// its DNS name to this server must not reach the API (least of all the demo tokens). Same
/// allowlist as the MCP endpoint (`HttpOptions::mcp_http.allowed_hosts`; empty: any host).
pub(super) async fn check_host(State(allowed): State<Arc<Vec<String>>>, request: Request, next: Next) -> Response {
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
pub(super) async fn request_span(request: Request, next: Next) -> Response {
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
