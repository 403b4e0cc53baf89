//! Direct answers to the two requests that make up nearly all stateless MCP traffic:
//! `tools/list` and `tools/call` of a tool that only reads.
//!
//! For every stateless POST, rmcp builds a one-request service: a peer, channels, a
//! cancellation tree, a spawned service loop and a spawned handler, and a parse of the message
//! into the whole protocol's request enum. Profiled under load (`perf`, `benches/mcp/run.sh`),
//! that machinery cost more server time per `tools/call get_customer` than the call itself.
//! So [`http::router`](super::http::router) answers these two requests here, with the same
//! handler code ([`McpServer::older_protocol_tool_list`], [`McpServer::call_read_only`]), rmcp's own
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

use std::convert::Infallible;

use axum::body::Body;
use axum::http::header::AsHeaderName;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress, Status};
use rmcp::model::{JsonObject, ProtocolVersion, RequestId, ServerJsonRpcMessage, ServerResult};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::McpServer;
use crate::context::UserContext;

/// The protocol versions answered here: those before 2026-07-28, whose results rmcp shapes
/// with [`for_older_protocol_peer`].
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
pub(super) fn for_older_protocol_peer(mut result: ServerResult) -> ServerResult {
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
    /// Answers a POST (its head and whole body) as `user`, or `None` to leave it to rmcp.
    pub(crate) async fn answer(&self, user: &UserContext, parts: &Parts, body: &[u8]) -> Option<Response> {
        if !takes(&parts.method, &parts.headers, &self.allowed_hosts, self.max_body_bytes) {
            return None;
        }
        self.answer_to(user, body, accepts_gzip(&parts.headers)).await
    }

    /// The answer to `body`, or `None` when it is not a request this module takes.
    async fn answer_to(&self, user: &UserContext, body: &[u8], gzip: bool) -> Option<Response> {
        let message: Message = serde_json::from_slice(body).ok()?;
        if message.jsonrpc != "2.0" {
            return None;
        }
        let params = message.params.as_deref().map(RawValue::get);
        match message.method.as_str() {
            // Pages (see `McpOptions::tools_page_size`) are rmcp's path.
            "tools/list" if self.server.inner.options.tools_page_size.is_none() => {
                if let Some(params) = params {
                    serde_json::from_str::<NoParams>(params).ok()?;
                }
                // (Should encoding ever fail, rmcp's path answers with its error.)
                let list = self.server.older_protocol_tool_list(user).ok()?;
                list.answer(&message.id, gzip).ok()
            }
            "tools/call" => {
                let call: CallParams = serde_json::from_str(params?).ok()?;
                let args = Value::Object(call.arguments.unwrap_or_default());
                let result = self.server.call_read_only(user, &call.name, args).await?;
                let answer = ServerJsonRpcMessage::response(
                    for_older_protocol_peer(ServerResult::CallToolResult(result)),
                    message.id,
                );
                let body = serde_json::to_vec(&answer).ok()?;
                Some(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
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

/// A `tools/list` answer for one set of tools, encoded once: the JSON up to the request's id,
/// and the same bytes gzip-compressed for clients that accept gzip (the official Python
/// client's HTTP stack does). A list is ~185 KB of schemas and compresses to a tenth of that;
/// compressing it per request would cost more than sending it.
pub(super) struct ListAnswer {
    /// `{"jsonrpc":"2.0","result":{…}`: the id and the closing brace follow.
    json: Bytes,
    /// A gzip header, then `json` deflated and flushed to a byte boundary, in non-final
    /// blocks: each answer appends a final block with its id, and the gzip trailer.
    gzip: Bytes,
    /// CRC-32 of `json` (the trailer's checksum covers the whole answer).
    crc: u32,
}

/// A gzip member header: deflate, no name or comment, no time, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl ListAnswer {
    /// From the encoded `result` of `tools/list`.
    pub(super) fn new(result: &RawValue) -> std::io::Result<Self> {
        let mut json = Vec::with_capacity(result.get().len() + 32);
        json.extend_from_slice(br#"{"jsonrpc":"2.0","result":"#);
        json.extend_from_slice(result.get().as_bytes());
        let mut gzip = GZIP_HEADER.to_vec();
        deflate(&json, FlushCompress::Sync, &mut gzip)?;
        let crc = crc32fast::hash(&json);
        Ok(ListAnswer { json: json.into(), gzip: gzip.into(), crc })
    }

    /// The answer to the request `id`, gzip-encoded if `gzip`. The body goes out as two
    /// chunks, the shared encoded list and this answer's end, so the list is never copied.
    fn answer(&self, id: &RequestId, gzip: bool) -> std::io::Result<Response> {
        let mut end = br#","id":"#.to_vec();
        serde_json::to_writer(&mut end, id)?;
        end.push(b'}');
        let (head, end) = if gzip {
            let mut checksum = crc32fast::Hasher::new_with_initial_len(self.crc, self.json.len() as u64);
            checksum.update(&end);
            // A fresh deflate stream never refers back into the list's blocks, and the list's
            // last block ended on a byte boundary: the two together are one valid stream.
            let mut last = Vec::new();
            deflate(&end, FlushCompress::Finish, &mut last)?;
            last.extend_from_slice(&checksum.finalize().to_le_bytes());
            // ISIZE: the uncompressed length modulo 2^32.
            #[allow(clippy::cast_possible_truncation, reason = "ISIZE is the length modulo 2^32")]
            let isize = (self.json.len() + end.len()) as u32;
            last.extend_from_slice(&isize.to_le_bytes());
            (self.gzip.clone(), last)
        } else {
            (self.json.clone(), end)
        };
        let length = head.len() + end.len();
        let chunks = [Ok::<_, Infallible>(head), Ok(Bytes::from(end))];
        let mut response = Response::new(Body::from_stream(futures::stream::iter(chunks)));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if gzip {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Ok(response)
    }
}

/// Raw-deflates all of `input` onto `out`, ending with `flush`.
fn deflate(input: &[u8], flush: FlushCompress, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut compress = Compress::new(Compression::default(), false);
    loop {
        out.reserve(input.len() / 4 + 64);
        // What the compressor took, at most `input.len()`: a usize.
        let consumed = usize::try_from(compress.total_in()).unwrap_or(usize::MAX).min(input.len());
        let status = compress.compress_vec(&input[consumed..], out, flush)?;
        let all_in = usize::try_from(compress.total_in()).is_ok_and(|taken| taken == input.len());
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            // Flushed once the compressor stopped short of filling the space it had.
            _ => all_in && out.len() < out.capacity(),
        };
        if done {
            return Ok(());
        }
    }
}

/// Whether the request's `Accept-Encoding` names gzip (with a nonzero quality, if any).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |entry| {
            let mut parts = entry.split(';').map(str::trim);
            parts.next().is_some_and(|coding| coding.eq_ignore_ascii_case("gzip"))
                && parts.all(|p| !p.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0)))
        },
    )
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

    /// Each answer built from the one cached list is a complete JSON-RPC answer, and its gzip
    /// form (the cached deflate blocks, the answer's own final block, the combined trailer)
    /// decompresses to exactly the same bytes.
    #[tokio::test]
    async fn list_answers_and_their_gzip_forms_agree() {
        use std::io::Read;
        let schemas: Vec<Value> = (0..200).map(|i| serde_json::json!({"name": format!("tool_{i}"), "n": i})).collect();
        let result = serde_json::value::to_raw_value(&serde_json::json!({"tools": schemas})).unwrap();
        let list = ListAnswer::new(&result).unwrap();
        for id in [RequestId::Number(7), RequestId::String("req-\"x\"".into())] {
            let plain = list.answer(&id, false).unwrap();
            assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
            let length: usize = plain.headers()[header::CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
            let plain = axum::body::to_bytes(plain.into_body(), usize::MAX).await.unwrap();
            assert_eq!(plain.len(), length);
            let decoded: Value = serde_json::from_slice(&plain).unwrap();
            assert_eq!(decoded["id"], serde_json::to_value(&id).unwrap());
            assert_eq!(decoded["result"]["tools"][199]["name"], "tool_199");

            let zipped = list.answer(&id, true).unwrap();
            assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
            let zipped = axum::body::to_bytes(zipped.into_body(), usize::MAX).await.unwrap();
            assert!(zipped.len() < plain.len() / 4, "{} of {}", zipped.len(), plain.len());
            let mut unzipped = Vec::new();
            flate2::read::GzDecoder::new(&zipped[..]).read_to_end(&mut unzipped).unwrap();
            assert_eq!(unzipped, plain);
        }
    }

    #[test]
    fn gzip_is_taken_only_when_accepted() {
        let accepts = |value: &'static str| accepts_gzip(&headers(&[("accept-encoding", value)]));
        assert!(accepts("gzip, deflate"));
        assert!(accepts("br;q=1.0, GZIP;q=0.5"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("deflate, br"));
        assert!(!accepts_gzip(&HeaderMap::new()));
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
