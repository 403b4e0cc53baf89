//! The `mcp` command: the tools over MCP, on stdin/stdout as one token's user or on Streamable HTTP
//! with a bearer token per request.

use crm_agent::SqlStore;

use crate::args::{ConnectionArgs, McpExposure};
use crate::net::{listen, shutdown_signal};

/// `crm-agent mcp`.
pub(crate) async fn mcp(
    db: String,
    token: Option<String>,
    http: Option<std::net::SocketAddr>,
    stateless: bool,
    exposure: McpExposure,
    connections: ConnectionArgs,
) -> crm_agent::Result<()> {
    use crm_agent::mcp::{McpOptions, McpServer};
    // Bound before the database is touched: a port in use changes nothing.
    let listener = match http {
        Some(addr) => Some(listen(addr).await?),
        None => None,
    };
    let store = std::sync::Arc::new(SqlStore::open(&db).await?);
    let registry = crm_agent::ToolRegistry::new(store.clone());
    let authenticator = crm_agent::auth::TokenAuthenticator::new(store.clone());
    let mut options = McpOptions::default();
    let mut http_options = crm_agent::mcp::http::McpHttpOptions { stateless, ..Default::default() };
    let oauth = exposure.apply(&mut http_options, &mut options);
    match listener {
        None => {
            if oauth.oauth_issuer.is_some() {
                return Err(crm_agent::Error::invalid("--oauth-issuer needs --http (stdio acts with --token)"));
            }
            let token = token.unwrap_or_default();
            // Fail at start, not on the first request, when the token is wrong.
            let ctx = authenticator.authenticate(&token).await?;
            eprintln!("crm-agent MCP (stdio) as {} in {}", ctx.user_id, ctx.organization_id);
            let server = McpServer::with_token(registry.clone(), authenticator, token, options);
            let served = crm_agent::mcp::serve_stdio(server).await;
            registry.flush_audit().await;
            served?;
        }
        Some(listener) => {
            let bound = listener.local_addr().map_err(|e| crm_agent::Error::Internal(e.to_string()))?;
            let authenticator = oauth.authenticator(store, bound).await?;
            let server = McpServer::per_request(registry.clone(), options);
            let app = crm_agent::mcp::http::router(server, authenticator, http_options);
            out!("MCP_URL=http://{bound}/mcp");
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            crm_agent::mcp::http::serve(listener, app, connections.limits(), shutdown_signal())
                .await
                .map_err(|e| crm_agent::Error::Internal(format!("the HTTP server failed: {e}")))?;
            registry.flush_audit().await;
        }
    }
    Ok(())
}
