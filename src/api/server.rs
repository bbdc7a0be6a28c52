//! The HTTP server. warp's own `serve` has no header-read timeout (a slow client could hold a
//! connection forever) and no limit on graceful shutdown, so Veiviser runs its own accept
//! loop over hyper with both.

use std::future::Future;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// Server limits.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// How long a client may take to send its request headers.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
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
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(warp::service(routes.clone()));
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
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
