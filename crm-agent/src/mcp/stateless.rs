//! Direct answers to the two requests that make up nearly all stateless MCP traffic:
//! `tools/list` and `tools/call` of a tool that only reads.
//!
//! For every stateless POST, rmcp builds a one-request service: a peer, channels, a
//! cancellation tree, a spawned service loop and a spawned handler, and a parse of the message
//! into the whole protocol's request enum. Profiled under load (`perf`, `benches/mcp/run.sh`),
//! that machinery cost more server time per `tools/call get_customer` than the call itself.
//! So [`http::router`](super::http::router) answers these two requests here, with the same
//! handler code ([`McpServer::legacy_tool_list`], [`McpServer::call_read_only`]), rmcp's own
//! result types, and the shaping rmcp gives a result for the request's protocol version: the
//! answer is the one rmcp would give (the MCP tests compare the two, request by request).
//!
//! Only requests this module can take with certainty are taken; everything else goes to rmcp
//! as it came:
//! - its checks accept a subset of what rmcp accepts: no `Origin` header (not a browser), a
//!   `Host` equal to an allowed host (or to its name with any port, for an entry without one),
//!   an `Accept` of plain media types naming both JSON and SSE, a JSON `Content-Type`, a
//!   declared `Content-Length` within the body limit, and an `MCP-Protocol-Version` from
//!   2024-11-05 to 2025-11-25 (later versions negotiate per request, which stays with rmcp);
//! - the body is one JSON-RPC request with only `jsonrpc`, `id`, `method` and `params`, and
//!   `params` is empty (`tools/list`) or only `name` and `arguments` (`tools/call`: no `_meta`,
//!   no input responses);
//! - the tool exists and does not write (writes may need the user's confirmation, and unknown
//!   names are protocol errors: both rmcp's path).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::AsHeaderName;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::model::{JsonObject, ProtocolVersion, RequestId, ServerJsonRpcMessage, ServerResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::McpServer;
use crate::context::UserContext;

/// The protocol versions answered here: those before 2026-07-28, whose results rmcp shapes
/// with [`for_legacy_peer`].
const VERSIONS: [ProtocolVersion; 4] = [
    ProtocolVersion::V_2024_11_05,
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
];

/// What the direct path needs besides the handler.
#[derive(Clone)]
pub(crate) struct DirectPath {
    pub(crate) server: McpServer,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) max_body_bytes: usize,
}

/// A result as rmcp gives it to a peer on a version before 2026-07-28 (no `resultType`, tool
/// output only as objects).
pub(super) fn for_legacy_peer(mut result: ServerResult) -> ServerResult {
    result.strip_result_type_for_legacy_peer();
    result.strip_non_object_output_for_legacy_peer();
    result
}

/// One JSON-RPC request, as this module takes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    jsonrpc: String,
    id: RequestId,
    method: String,
    #[serde(default)]
    params: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallParams {
    name: String,
    #[serde(default)]
    arguments: Option<JsonObject>,
}

impl DirectPath {
    /// Answers `request` as `user`, or gives it back for rmcp.
    pub(crate) async fn answer(&self, user: &UserContext, request: Request) -> Result<Response, Request> {
        if !takes(request.method(), request.headers(), &self.allowed_hosts, self.max_body_bytes) {
            return Err(request);
        }
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, self.max_body_bytes).await else {
            // Framing is hyper's: only a body cut short (a dropped connection) gets here.
            return Ok((StatusCode::BAD_REQUEST, "Bad Request: incomplete body").into_response());
        };
        match self.result(user, &bytes).await {
            Some(body) => {
                Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
            }
            None => Err(Request::from_parts(parts, Body::from(bytes))),
        }
    }

    /// The encoded answer to `body`, or `None` when it is not a request this module takes.
    async fn result(&self, user: &UserContext, body: &[u8]) -> Option<Vec<u8>> {
        let message: Message = serde_json::from_slice(body).ok()?;
        if message.jsonrpc != "2.0" {
            return None;
        }
        let params = message.params.as_deref().map(RawValue::get);
        match message.method.as_str() {
            "tools/list" => {
                if let Some(params) = params {
                    serde_json::from_str::<NoParams>(params).ok()?;
                }
                // (Should encoding ever fail, rmcp's path answers with its error.)
                let result = self.server.legacy_tool_list(user).ok()?;
                serde_json::to_vec(&Answer { jsonrpc: "2.0", id: message.id, result }).ok()
            }
            "tools/call" => {
                let call: CallParams = serde_json::from_str(params?).ok()?;
                let args = Value::Object(call.arguments.unwrap_or_default());
                let result = self.server.call_read_only(user, &call.name, args).await?;
                let answer =
                    ServerJsonRpcMessage::response(for_legacy_peer(ServerResult::CallToolResult(result)), message.id);
                serde_json::to_vec(&answer).ok()
            }
            _ => None,
        }
    }
}

/// Whether a request with `method` and `headers` is one the direct path may answer.
fn takes(method: &Method, headers: &HeaderMap, allowed_hosts: &[String], max_body_bytes: usize) -> bool {
    let accepted = single(headers, header::ACCEPT).is_some_and(|value| {
        let types: Vec<String> = value.split(',').map(|t| t.trim().to_ascii_lowercase()).collect();
        types.iter().all(|t| !t.contains(';'))
            && types.iter().any(|t| t == "application/json")
            && types.iter().any(|t| t == "text/event-stream")
    });
    let json_body = single(headers, header::CONTENT_TYPE).is_some_and(|value| {
        value.split_once(';').map_or(value, |(essence, _)| essence).trim().eq_ignore_ascii_case("application/json")
    });
    let length = single(headers, header::CONTENT_LENGTH).and_then(|value| value.parse::<usize>().ok());
    let version = single(headers, "mcp-protocol-version");
    *method == Method::POST
        && !headers.contains_key(header::ORIGIN)
        && single(headers, header::HOST).is_some_and(|host| host_allowed(allowed_hosts, host))
        && accepted
        && json_body
        && length.is_some_and(|length| length <= max_body_bytes)
        && version.is_some_and(|version| VERSIONS.iter().any(|known| known.as_str() == version))
}

/// `host` (a `Host` header) equals an allowed entry, or is an allowed name without a port
/// followed by `:port`. Anything else (other spellings, IPv6 literals) goes to rmcp, whose
/// check is the full one.
fn host_allowed(allowed_hosts: &[String], host: &str) -> bool {
    if allowed_hosts.is_empty() {
        return true; // rmcp's rule too: an empty allowlist checks nothing.
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    allowed_hosts.iter().any(|allowed| allowed == host || (!allowed.contains(':') && allowed == name))
}

/// The value of a header that appears exactly once, as text.
fn single(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    let mut values = headers.get_all(name).into_iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    }
}

/// A JSON-RPC answer around an already encoded result.
#[derive(Serialize)]
struct Answer {
    jsonrpc: &'static str,
    id: RequestId,
    result: Arc<RawValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    const PLAIN: &[(&str, &str)] = &[
        ("host", "127.0.0.1:8000"),
        ("accept", "application/json, text/event-stream"),
        ("content-type", "application/json"),
        ("content-length", "60"),
        ("mcp-protocol-version", "2025-06-18"),
    ];

    fn taken(pairs: &[(&'static str, &'static str)]) -> bool {
        takes(&Method::POST, &headers(pairs), &["localhost".into(), "127.0.0.1".into(), "::1".into()], 1024)
    }

    /// Every header outside the narrow, certain case leaves the request to rmcp.
    #[test]
    fn only_plain_requests_of_known_versions_are_taken() {
        assert!(taken(PLAIN));
        let with = |name: &'static str, value: &'static str| {
            let mut pairs: Vec<_> = PLAIN.iter().copied().filter(|(n, _)| *n != name).collect();
            pairs.push((name, value));
            taken(&pairs)
        };
        assert!(with("content-type", "Application/JSON; charset=utf-8"));
        assert!(with("mcp-protocol-version", "2025-11-25"));
        assert!(with("host", "localhost"));
        for (name, value) in [
            ("origin", "http://localhost:5173"),
            ("host", "evil.example"),
            ("host", "127.0.0.1.evil.example:8000"),
            ("host", "[::1]:8000"),
            ("accept", "application/json"),
            ("accept", "application/json;q=0, text/event-stream"),
            ("content-type", "text/plain"),
            ("content-length", "2048"),
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-protocol-version", "1999-01-01"),
        ] {
            assert!(!with(name, value), "{name}: {value}");
        }
        let without = |name: &str| taken(&PLAIN.iter().copied().filter(|(n, _)| *n != name).collect::<Vec<_>>());
        for name in ["host", "accept", "content-type", "content-length", "mcp-protocol-version"] {
            assert!(!without(name), "without {name}");
        }
        let twice: Vec<_> = PLAIN.iter().copied().chain([("mcp-protocol-version", "2025-06-18")]).collect();
        assert!(!taken(&twice));
        assert!(!takes(&Method::GET, &headers(PLAIN), &[], 1024));
    }

    #[test]
    fn hosts_match_exactly_or_by_name_with_any_port() {
        let allowed = ["localhost".to_owned(), "api.example:8443".to_owned()];
        assert!(host_allowed(&allowed, "localhost"));
        assert!(host_allowed(&allowed, "localhost:3000"));
        assert!(host_allowed(&allowed, "api.example:8443"));
        assert!(!host_allowed(&allowed, "api.example"));
        assert!(!host_allowed(&allowed, "api.example:443"));
        assert!(!host_allowed(&allowed, "LOCALHOST"));
        assert!(!host_allowed(&allowed, "localhost:http"));
        assert!(host_allowed(&[], "anything"));
    }
}
