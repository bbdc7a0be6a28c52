//! Connection limits on the real server: a body that trickles in is cut off, an idle
//! keep-alive connection is closed, and a flood of held connections cannot keep probes and
//! routing out.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn a_body_that_trickles_in_is_answered_408_and_its_connection_closed() {
    let app = spawn_app_with(|c| c.limits.body_read_timeout = Duration::from_millis(500)).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    // Announces 256 KiB and sends one byte: the server must neither wait for the rest
    // forever nor hold a buffer of the announced size.
    stream
        .write_all(
            b"POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 262144\r\n\r\n{",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the server kept a slow body's connection open"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("/problems/request-timeout"), "{answer}");
    assert_eq!(app.get_json("/healthz").await["status"], "ok");
}

#[tokio::test]
async fn a_body_sent_in_time_in_small_pieces_is_read_whole() {
    let app = spawn_app_with(|c| c.limits.body_read_timeout = Duration::from_secs(3)).await;
    let body = br#"{"q": "kjaeresten min bestemmer hva jeg far ha pa meg"}"#;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /v1/route HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(8) {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = spawn_app_with(|c| c.limits.header_read_timeout = Duration::from_millis(300)).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    // Then nothing: the server must close the connection rather than hold it forever.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "an idle keep-alive connection was held open");
}

#[tokio::test]
async fn a_flood_of_held_connections_leaves_probes_and_routing_answering() {
    const CAP: usize = 40;
    let app = spawn_app_with(|c| {
        c.limits.max_connections = CAP;
        // Long enough that only the cap, not the header timeout, can free a slot here.
        c.limits.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut flood = Vec::new();
    for _ in 0..CAP * 3 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .unwrap();
        flood.push(stream);
    }
    // Every probe gets through while the flood is held.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for _ in 0..10 {
        let health: Value = client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("/healthz answers during the flood")
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        let route = client
            .get(app.url("/v1/route?q=jeg%20blir%20mobbet"))
            .send()
            .await
            .expect("/v1/route answers during the flood");
        assert_eq!(route.status(), 200);
    }
    // The oldest held connections were the ones closed to make room.
    let mut closed = 0;
    for stream in flood.iter_mut().take(CAP) {
        let mut buf = [0u8; 1];
        // Closed with the request unread, the kernel may answer with a reset instead of
        // an orderly end: both mean the server let go of it.
        match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            _ => {}
        }
    }
    assert_eq!(closed, CAP, "the oldest connections were closed first");
}

/// The flood that once took the server down: more held connections than the process has
/// descriptors. The cap (derived from the limit) keeps descriptors free, so accept goes on.
#[tokio::test]
async fn more_held_connections_than_descriptors_leave_the_server_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let mut server =
        crate::helpers::ServerProcess::start_limited(dir.path(), "info", &[], Some(256));
    let addr = server.addr.clone();
    let mut flood = Vec::new();
    for _ in 0..400 {
        match TcpStream::connect(&addr).await {
            Ok(mut stream) => {
                let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\n").await;
                flood.push(stream);
            }
            Err(e) => panic!("connect failed during the flood: {e}"),
        }
    }
    veiviser::outbound::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut answered = 0;
    for _ in 0..16 {
        if let Ok(response) = client.get(format!("http://{addr}/healthz")).send().await {
            answered += usize::from(response.status() == 200);
        }
    }
    let log = server.log.lock().unwrap().clone();
    drop(flood);
    server.terminate();
    assert_eq!(
        answered, 16,
        "probes answered during the flood; log:\n{log}"
    );
    assert_eq!(
        log.matches("connection cap reached").count(),
        1,
        "the cap is logged once per episode:\n{log}"
    );
}
