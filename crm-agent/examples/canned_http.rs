//! The ceiling `benches/mcp/run.sh` compares crm-agent's MCP endpoint with: the same HTTP
//! server (`mcp::http::serve`, axum over hyper) answering every POST with the bytes of a file
//! (one real `tools/call` answer), so that nothing but HTTP itself is measured.
//!
//! `cargo run --release --example canned_http --features mcp -- 127.0.0.1:18805 answer.json`

use std::net::SocketAddr;

use axum::http::header;
use axum::routing::post;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: canned_http ADDR BODY_FILE");
        std::process::exit(2);
    };
    let addr: SocketAddr = addr.parse().map_err(std::io::Error::other)?;
    let body = bytes::Bytes::from(std::fs::read(file)?);
    let answer = move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    };
    let app = axum::Router::new().route("/mcp", post(answer));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    crm_agent::mcp::http::serve(listener, app, Default::default(), std::future::pending()).await
}
