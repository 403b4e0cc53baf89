//! The listening socket and the shutdown signal of the HTTP servers (`serve`, `mcp --http`).

/// The listening socket of `serve` and `mcp --http`. A port in use (or one this user may not
/// bind) is an unavailable resource, named in the message.
pub(crate) async fn listen(addr: std::net::SocketAddr) -> crm_agent::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the address is already in use (is another server running?)".to_owned(),
            _ => e.to_string(),
        };
        crm_agent::Error::unavailable(format!("cannot listen on {addr}: {reason}"))
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
