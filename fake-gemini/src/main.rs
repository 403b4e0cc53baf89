//! `fake-gemini`: runs the fake Gemini server until killed.
//!
//! Prints `FAKE_GEMINI_URL=http://127.0.0.1:PORT` on stdout once listening; logs go to stderr.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use fake_gemini::{FakeGemini, Script};

/// A local HTTP server speaking the Gemini API wire protocol, for tests.
#[derive(Parser, Debug)]
#[command(name = "fake-gemini", version)]
struct Args {
    /// Address to listen on (port 0 = a random free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Script file (JSON); relative replay paths resolve against its directory. Default: no turns.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Exit when standard input is closed (so a dying parent does not leave the server running).
    #[arg(long)]
    exit_on_stdin_eof: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let script = match &args.script {
        Some(path) => match Script::from_file(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("fake-gemini: cannot load script {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => Script::default(),
    };
    let fake = match FakeGemini::start_on(args.addr, script).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fake-gemini: cannot start on {}: {e}", args.addr);
            return ExitCode::from(1);
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "FAKE_GEMINI_URL={}", fake.base_url());
        let _ = out.flush();
    }
    eprintln!("fake-gemini: listening on {}", fake.base_url());

    let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
    // Without --exit-on-stdin-eof the sender is kept alive here so the receiver never fires.
    let _keep_sender = if args.exit_on_stdin_eof {
        // A plain thread: a blocked stdin read must not keep the runtime from shutting down.
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 1024];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            let _ = eof_tx.send(());
        });
        None
    } else {
        Some(eof_tx)
    };

    let reason = tokio::select! {
        r = wait_for_signal() => r,
        _ = eof_rx => "stdin closed",
    };
    eprintln!("fake-gemini: {reason}, shutting down");
    let violations = fake.violations();
    if !violations.is_empty() {
        eprintln!("fake-gemini: {} violation(s) recorded:\n- {}", violations.len(), violations.join("\n- "));
    }
    fake.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}
