//! The `serve` command: the web service with the chat API, conversations, MCP at /mcp and the web
//! chat page, seeding an empty database with the demo data first.

use crm_agent::SqlStore;
use crm_agent::seed::{DemoSeedState, SeedOptions, demo_seed_state, seed_demo, unfinished_seed};
use crm_agent::store::sql::redact_url as redact;

use crate::args::{McpExposure, ModelArgs};
use crate::net::{listen, shutdown_signal};

/// `serve --no-demo` and `serve --demo`.
pub(crate) struct DemoMode {
    pub(crate) off: bool,
    pub(crate) any_client: bool,
}

/// `crm-agent serve`.
pub(crate) async fn serve(
    db: String,
    addr: std::net::SocketAddr,
    demo_mode: DemoMode,
    mcp_stateless: bool,
    model: ModelArgs,
    exposure: McpExposure,
    limits: crm_agent::mcp::http::ConnectionLimits,
) -> crm_agent::Result<()> {
    use crm_agent::http::{HttpOptions, HttpState, demo};
    use std::io::Write as _;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CRM_AGENT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,rmcp=warn,hyper=warn")),
        )
        .try_init();
    // Bound first: a second `serve` on a port in use must fail before it migrates, seeds or
    // touches the running server's demo tokens.
    let listener = listen(addr).await?;
    let store = std::sync::Arc::new(SqlStore::open(&db).await?);
    if demo_seed_state(store.as_ref()).await? == DemoSeedState::Unfinished {
        return Err(unfinished_seed());
    }
    if store.is_empty().await? {
        eprintln!("{} is empty: seeding the demo organizations", redact(&db));
        seed_demo(store.as_ref(), &SeedOptions::default()).await?;
        store.optimize().await?;
    }
    let authenticator = crm_agent::auth::TokenAuthenticator::new(store.clone());
    let demo_users = if !demo_mode.off && demo::has_demo_users(store.as_ref()).await? {
        Some(demo::demo_users(store.as_ref(), &authenticator).await?)
    } else {
        None
    };
    let agent = model.agent(store.clone())?;
    let mut options = HttpOptions {
        demo_users: demo_users.clone(),
        demo_for_any_client: demo_mode.any_client,
        ..HttpOptions::default()
    };
    let oauth = exposure.apply(&mut options.mcp_http, &mut options.mcp);
    options.mcp_http.stateless = mcp_stateless;
    let model_name = agent.model().model_name().to_owned();
    let configured = agent.model().is_configured();
    let bound = listener.local_addr().map_err(|e| crm_agent::Error::Internal(e.to_string()))?;
    let (state, shutdown) = HttpState::new(agent.clone(), oauth.authenticator(store, bound).await?, options);
    let app = crm_agent::http::router(state);
    let url = format!("http://{bound}");
    out!("crm-agent serving {} on {url}", redact(&db));
    out!(
        "  model: {model_name} ({})",
        if configured {
            "API key configured"
        } else {
            "no GEMINI_API_KEY: chat answers with an error; tools, MCP and conversations work"
        }
    );
    out!("  web chat: {url}/   MCP: {url}/mcp   health: {url}/healthz");
    if let Some(users) = &demo_users {
        let who = if demo_mode.any_client { "any client" } else { "clients on this machine" };
        out!("  demo users (the page offers them to {who}; or send `Authorization: Bearer TOKEN`):");
        for user in users {
            out!("    {:<14} {:<8} {:<28} {}", user.user_id, user.organization, user.role, user.token);
        }
    }
    out!("CRM_AGENT_URL={url}");
    let _ = std::io::stdout().flush();
    let stop = async move {
        shutdown_signal().await;
        eprintln!("shutting down: ending open chat streams");
        shutdown.trigger();
    };
    crm_agent::mcp::http::serve(listener, app, limits, stop)
        .await
        .map_err(|e| crm_agent::Error::Internal(format!("the HTTP server failed: {e}")))?;
    agent.registry().flush_audit().await;
    Ok(())
}
