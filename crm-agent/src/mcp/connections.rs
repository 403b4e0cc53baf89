//! Serving a router on a TCP listener with bounds on what clients can hold open: how long a
//! request's header may take, how long a connection may sit with nothing moving, and how many
//! connections there are at once. Without them, a client that opens connections and sends half a
//! request (or nothing) keeps them, and the process's memory and file descriptors, for ever.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// What clients can hold open on a server started with [`serve`](super::http::serve).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a request's header may take to arrive, counted from when the server starts
    /// waiting for it. On a kept-alive connection that is the end of the previous answer, so this
    /// is also how long an idle kept-alive connection stays open. Default 30 s.
    pub header_read_timeout: Duration,
    /// How long a connection may go with no byte moving either way, also in the middle of a
    /// request: a client that stops sending its body, or stops reading the answer. Chat streams
    /// send a keep-alive comment every 10 s and MCP streams every 15 s, so an open stream is not
    /// idle. Default 60 s.
    pub idle_timeout: Duration,
    /// Most connections open at once. Past it, new connections wait in the listen backlog until
    /// one closes. Default 1,024.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then stops accepting and
/// waits for open connections to finish their requests. Every request carries the peer's
/// address as [`ConnectInfo<SocketAddr>`](ConnectInfo), and `TCP_NODELAY` is set on every connection (small
/// JSON-RPC exchanges otherwise wait on Nagle's algorithm).
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(IdleTimeout::new(stream, limits.idle_timeout));
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection_with_upgrades(io, service).into_owned());
        tokio::spawn(async move {
            // A connection's own failures (a reset, a timeout above) end only that connection.
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed `accept`: a connection that failed before it was accepted concerns only that
/// client; anything else (out of file descriptors, say) is waited out for a second rather than
/// spinning on it.
async fn wait_after_accept_error(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::warn!(%error, "could not accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A TCP stream that fails with [`io::ErrorKind::TimedOut`] once no byte has moved either way
/// for `idle` while it is waited on.
struct IdleTimeout {
    stream: TcpStream,
    idle: Duration,
    last_moved: Instant,
    /// Fires at `last_moved + idle` or earlier; moved forward lazily when it fires early, so a
    /// busy connection does not touch the timer on every read and write.
    alarm: Pin<Box<Sleep>>,
}

impl IdleTimeout {
    fn new(stream: TcpStream, idle: Duration) -> Self {
        let now = Instant::now();
        IdleTimeout { stream, idle, last_moved: now, alarm: Box::pin(tokio::time::sleep_until(now + idle)) }
    }

    /// After an I/O call that is waiting: an error once the connection has been idle too long.
    fn check<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        loop {
            if self.alarm.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let due = self.last_moved + self.idle;
            if Instant::now() >= due {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long")));
            }
            self.alarm.as_mut().reset(due);
        }
    }

    fn outcome<T>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<T>>, moved: bool) -> Poll<io::Result<T>> {
        match polled {
            Poll::Pending => self.check(cx),
            ready => {
                if moved {
                    self.last_moved = Instant::now();
                }
                ready
            }
        }
    }
}

impl AsyncRead for IdleTimeout {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        let moved = buf.filled().len() > before;
        this.outcome(cx, polled, moved)
    }
}

impl AsyncWrite for IdleTimeout {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        let moved = matches!(polled, Poll::Ready(Ok(n)) if n > 0);
        this.outcome(cx, polled, moved)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        let moved = matches!(polled, Poll::Ready(Ok(n)) if n > 0);
        this.outcome(cx, polled, moved)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.outcome(cx, polled, false)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
