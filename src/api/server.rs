//! The HTTP server. warp's own `serve` bounds neither how long a client may take to send its
//! request nor how many connections it may hold, and has no limit on graceful shutdown, so
//! Veiviser runs its own accept loop over hyper with all of them:
//! - headers within `header_read_timeout` (hyper's timer, also the keep-alive idle limit);
//! - the body within `body_read_timeout` of the headers ([`DeadlineBody`]), so a body that
//!   trickles in a byte at a time is answered 408 and its connection closed;
//! - at most `max_connections` open, below the descriptor limit: at the cap the oldest
//!   connection is closed to admit the new one, so a flood of held connections cannot keep
//!   probes and routing out (the flooder's own connections are the oldest).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// Server limits.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// How long a client may take to send its request headers, and how long a keep-alive
    /// connection may sit idle between requests.
    pub header_read_timeout: Duration,
    /// How long a client may take to send its request body once the headers are in.
    pub body_read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

/// Descriptors kept free beside the connections: the store's files, outbound probes,
/// harvests and webhooks.
const RESERVED_DESCRIPTORS: u64 = 128;

/// Raises the soft descriptor limit to the hard one (as Go and nginx do) and returns the
/// connection cap that leaves [`RESERVED_DESCRIPTORS`] free under it.
pub fn connection_cap_from_descriptor_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct handed to them.
    let soft = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024 - RESERVED_DESCRIPTORS as usize;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max.min(1 << 20),
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = raised.rlim_cur;
            }
        }
        limit.rlim_cur
    };
    let cap = soft.saturating_sub(RESERVED_DESCRIPTORS).max(16);
    usize::try_from(cap.min(1 << 16)).unwrap_or(1 << 16)
}

/// Serves `routes` on `listener` until `shutdown` completes, then lets requests in flight
/// finish for at most `limits.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    routes: BoxedFilter<(Response,)>,
    shutdown: impl Future<Output = ()>,
    limits: ServerLimits,
) {
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Connections::new(limits.max_connections));
    let mut accept_errors = QuietLog::every(Duration::from_secs(60));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning,
                    // and say so once a minute, not twenty times a second.
                    if let Some(suppressed) = accept_errors.due(Instant::now()) {
                        tracing::warn!(error = %e, suppressed, "accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (id, evicted) = connections.admit();
        let service = Prepare {
            inner: warp::service(routes.clone()),
            body_read_timeout: limits.body_read_timeout,
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let connections = connections.clone();
        tokio::spawn(async move {
            tokio::select! {
                ended = connection => if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended with an error");
                },
                () = evicted.notified() => {}
            }
            connections.leave(id);
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for requests in flight");
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_s = limits.shutdown_grace.as_secs(),
            "requests still in flight at the end of the grace period were dropped"
        );
    }
}

/// The open connections, oldest first, each with the signal that closes it.
struct Connections {
    cap: usize,
    state: Mutex<ConnectionsState>,
}

struct ConnectionsState {
    next_id: u64,
    open: BTreeMap<u64, Arc<Notify>>,
    /// Whether the cap is being hit now (logged once per episode, not per connection).
    at_cap: bool,
}

impl Connections {
    fn new(cap: usize) -> Self {
        Connections {
            cap: cap.max(1),
            state: Mutex::new(ConnectionsState {
                next_id: 0,
                open: BTreeMap::new(),
                at_cap: false,
            }),
        }
    }

    /// Registers a new connection, closing the oldest one if the cap is reached.
    fn admit(&self) -> (u64, Arc<Notify>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.open.len() >= self.cap {
            if let Some((_, oldest)) = state.open.pop_first() {
                oldest.notify_one();
            }
            if !state.at_cap {
                state.at_cap = true;
                tracing::warn!(
                    max_connections = self.cap,
                    "connection cap reached: closing the oldest connections to admit new ones \
                     (the cap keeps descriptors free under the process limit; raise the limit \
                     or --max-connections if this is real traffic)"
                );
            }
        } else if state.at_cap && state.open.len() < self.cap * 9 / 10 {
            state.at_cap = false;
            tracing::info!("connections back under the cap");
        }
        let id = state.next_id;
        state.next_id += 1;
        let signal = Arc::new(Notify::new());
        state.open.insert(id, signal.clone());
        (id, signal)
    }

    fn leave(&self, id: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.open.remove(&id);
    }
}

/// A log line at most once per period, counting the ones it held back.
struct QuietLog {
    period: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl QuietLog {
    fn every(period: Duration) -> Self {
        QuietLog {
            period,
            last: None,
            suppressed: 0,
        }
    }

    /// Some(held back since the last line) when a line is due at `now`.
    fn due(&mut self, now: Instant) -> Option<u64> {
        if self.last.is_some_and(|last| now < last + self.period) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// warp's service with each request's body bounded in time, and `HEAD` answered as `GET`
/// (RFC 9110 §9.3.2): hyper keeps the method it parsed and sends the headers without a body.
#[derive(Clone)]
struct Prepare<S> {
    inner: S,
    body_read_timeout: Duration,
}

impl<S> hyper::service::Service<hyper::Request<Incoming>> for Prepare<S>
where
    S: tower_service::Service<hyper::Request<DeadlineBody>> + Clone,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, mut request: hyper::Request<Incoming>) -> Self::Future {
        let deadline = Instant::now() + self.body_read_timeout;
        if request.method() == hyper::Method::HEAD {
            *request.method_mut() = hyper::Method::GET;
        }
        let request = request.map(|body| DeadlineBody {
            inner: body,
            deadline,
            timer: None,
        });
        self.inner.clone().call(request)
    }
}

/// A request body that fails with [`BodyTimedOut`] if it is not complete by its deadline.
pub struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    /// Armed only when the body is not all there at once (most bodies are).
    timer: Option<Pin<Box<Sleep>>>,
}

/// The error a body gives when its client is too slow to send it.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let deadline = this.deadline;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_oldest_connection_is_closed_first() {
        let connections = Connections::new(2);
        let (a, first) = connections.admit();
        let (_, second) = connections.admit();
        let (_, _third) = connections.admit();
        // The first one was told to close; the second was not.
        let woken = futures_util::FutureExt::now_or_never(first.notified());
        assert!(woken.is_some(), "the oldest connection is closed");
        assert!(futures_util::FutureExt::now_or_never(second.notified()).is_none());
        connections.leave(a);
        assert_eq!(connections.state.lock().unwrap().open.len(), 2);
    }

    #[test]
    fn a_quiet_log_speaks_once_per_period_and_counts_the_rest() {
        let mut log = QuietLog::every(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(log.due(start), Some(0));
        assert_eq!(log.due(start + Duration::from_secs(1)), None);
        assert_eq!(log.due(start + Duration::from_secs(59)), None);
        assert_eq!(log.due(start + Duration::from_secs(61)), Some(2));
    }
}
