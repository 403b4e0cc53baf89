//! Runs the example: `cargo run -p crm-agent-axum-example` (GEMINI_API_KEY for a real model;
//! EXAMPLE_DB and EXAMPLE_ADDR to change where it keeps data and listens).

use crm_agent::CrmAgent;
use crm_agent_axum_example::{app, example_users, open_store};

#[tokio::main]
async fn main() -> crm_agent::Result<()> {
    let db = std::env::var("EXAMPLE_DB").unwrap_or_else(|_| "sqlite://axum-example.db".to_owned());
    let addr = std::env::var("EXAMPLE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let agent = CrmAgent::builder(open_store(&db).await?).build()?;
    let (app, shutdown) = app(agent.clone(), example_users()).await?;
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| crm_agent::Error::unavailable(format!("cannot listen on {addr}: {e}")))?;
    println!("listening on http://{addr}: POST /login {{\"username\": \"alice\", \"password\": \"alice-password\"}}");
    let stop = async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.trigger();
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| crm_agent::Error::Internal(e.to_string()))?;
    // Audit events still queued in memory are written before the process ends.
    agent.registry().flush_audit().await;
    Ok(())
}
