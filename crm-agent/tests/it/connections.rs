//! `mcp::http::serve` does not let clients hold connections: a header that does not arrive, a
//! connection where nothing moves and connections past the limit are not kept.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use crm_agent::mcp::http::{ConnectionLimits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

async fn start(limits: ConnectionLimits) -> SocketAddr {
    let app = Router::new()
        .route("/peer", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }))
        .route("/echo", post(|body: String| async move { body }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    addr
}

fn limits(header_read: u64, idle: u64, max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_millis(header_read),
        idle_timeout: Duration::from_millis(idle),
        max_connections,
    }
}

/// Reads until the server closes the connection (or fails it); how long that took.
async fn closed_after(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the server kept the connection open for 10 s"),
        }
    }
}

async fn request(stream: &mut TcpStream, text: &str) -> String {
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = timeout(Duration::from_secs(5), stream.read(&mut buf)).await.expect("an answer").unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn a_half_sent_header_is_dropped_after_the_header_read_timeout() {
    let addr = start(limits(300, 60_000, 100)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /peer HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let took = closed_after(&mut stream).await;
    assert!(took >= Duration::from_millis(200), "closed too early: {took:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let addr = start(limits(300, 60_000, 100)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let answer = request(&mut stream, "GET /peer HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The request's peer address is the client's own.
    assert!(answer.ends_with(&stream.local_addr().unwrap().to_string()), "{answer}");
    closed_after(&mut stream).await;
}

#[tokio::test]
async fn a_request_whose_body_stops_coming_is_dropped_after_the_idle_timeout() {
    // The header arrived, so only the idle timeout can end this one.
    let addr = start(limits(60_000, 300, 100)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly ten b").await.unwrap();
    let took = closed_after(&mut stream).await;
    assert!(took >= Duration::from_millis(200), "closed too early: {took:?}");
    // A connection that keeps moving is not idle, however long it lasts.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 8\r\n\r\n").await.unwrap();
    for byte in b"abcdefg" {
        tokio::time::sleep(Duration::from_millis(150)).await;
        stream.write_all(&[*byte]).await.unwrap();
    }
    let answer = request(&mut stream, "h").await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("abcdefgh"), "{answer}");
}

#[tokio::test]
async fn connections_past_the_limit_wait_for_a_free_slot() {
    let addr = start(limits(60_000, 60_000, 2)).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    let second = TcpStream::connect(addr).await.unwrap();
    let answer = request(&mut first, "GET /peer HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The third connection is made (the kernel queues it) but not served while two are open.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(b"GET /peer HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    assert!(timeout(Duration::from_millis(500), third.read(&mut buf)).await.is_err(), "served past the limit");
    drop(second);
    let n = timeout(Duration::from_secs(5), third.read(&mut buf)).await.expect("served once a slot freed").unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}
