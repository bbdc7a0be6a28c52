//! Real HTTP targets on 127.0.0.1 for health checks and webhooks: plain TCP listeners that
//! answer as told and count the connections they accept.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a target answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// The status in the shared cell (change it while the target runs).
    Status,
    /// Reads the request and never answers.
    Hang,
    /// Answers 200 after a delay.
    Slow(Duration),
    /// Answers 302 to this location.
    Redirect(String),
    /// Answers 200 with a body of a gigabyte, streamed until the client goes.
    HugeBody,
    /// Resets the connection as soon as it is accepted.
    Reset,
}

pub struct Target {
    pub port: u16,
    pub status: Arc<AtomicU16>,
    pub connections: Arc<AtomicUsize>,
    /// JSON bodies of the requests received, in order.
    pub bodies: Arc<Mutex<Vec<Value>>>,
    /// Statuses to answer to the first requests, before falling back to `status`.
    pub script: Arc<Mutex<Vec<u16>>>,
}

impl Target {
    pub async fn spawn(behaviour: Behaviour) -> Target {
        Self::spawn_at("127.0.0.1", behaviour).await
    }

    /// A target on another loopback address (127.0.0.0/8 is all loopback on Linux).
    pub async fn spawn_at(ip: &str, behaviour: Behaviour) -> Target {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Target {
            port,
            status: Arc::new(AtomicU16::new(200)),
            connections: Arc::new(AtomicUsize::new(0)),
            bodies: Arc::default(),
            script: Arc::default(),
        };
        let (status, connections, bodies, script) = (
            target.status.clone(),
            target.connections.clone(),
            target.bodies.clone(),
            target.script.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                connections.fetch_add(1, Ordering::SeqCst);
                let behaviour = behaviour.clone();
                let status = {
                    let mut script = script.lock().unwrap();
                    if script.is_empty() {
                        status.load(Ordering::SeqCst)
                    } else {
                        script.remove(0)
                    }
                };
                let bodies = bodies.clone();
                tokio::spawn(serve(stream, behaviour, status, bodies));
            }
        });
        target
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    behaviour: Behaviour,
    status: u16,
    bodies: Arc<Mutex<Vec<Value>>>,
) {
    if let Behaviour::Reset = behaviour {
        let _ = stream.set_zero_linger();
        drop(stream);
        return;
    }
    let Some(body) = read_request(&mut stream).await else {
        return;
    };
    if let Ok(value) = serde_json::from_slice::<Value>(&body) {
        bodies.lock().unwrap().push(value);
    }
    let head = |status: u16, extra: &str| {
        format!("HTTP/1.1 {status} X\r\nconnection: close\r\n{extra}content-length: 2\r\n\r\nok")
    };
    let reply = match behaviour {
        Behaviour::Status => head(status, ""),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        Behaviour::Slow(delay) => {
            tokio::time::sleep(delay).await;
            head(200, "")
        }
        Behaviour::Redirect(location) => head(302, &format!("location: {location}\r\n")),
        Behaviour::HugeBody => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n")
                .await;
            let chunk = vec![b'x'; 64 * 1024];
            while stream.write_all(&chunk).await.is_ok() {}
            return;
        }
        Behaviour::Reset => unreachable!(),
    };
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads one request's head and body (by Content-Length).
async fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf[head_end..].to_vec())
}

/// A port on 127.0.0.1 where nothing listens.
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}
