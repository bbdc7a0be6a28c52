//! Veiviser's outbound HTTP client (health probes, alert webhooks, feed harvests), bound to
//! the [`NetworkPolicy`]: an IP-literal URL is judged before anything is sent, a host name
//! is judged on the addresses it resolves to — and those exact addresses are the ones
//! connected to, so DNS cannot rebind between check and connect. Every redirect hop is
//! judged the same way.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Client, Url};

pub mod policy;

use crate::model::health::{FailureKind, Outcome};
pub use policy::{Cidr, NetworkPolicy, Refusal};

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 3;

/// Installs rustls' crypto provider (ring) once per process; reqwest needs it before the
/// first client is built.
pub fn install_crypto_provider() {
    // An error only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What an outbound request is for, said in its User-Agent so that agencies can tell.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// Health probes and alert webhooks.
    HealthCheck,
    /// Fetching an agency's feed.
    Harvest,
}

/// A client that only reaches what `policy` allows.
pub fn guarded_client(policy: Arc<NetworkPolicy>, purpose: Purpose) -> reqwest::Result<Client> {
    install_crypto_provider();
    let redirect_policy = {
        let policy = policy.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(TooManyRedirects);
            }
            match policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(refusal),
            }
        })
    };
    Client::builder()
        .user_agent(match purpose {
            Purpose::HealthCheck => concat!(
                "Veiviser/",
                env!("CARGO_PKG_VERSION"),
                " (+https://veiviser.ung.no; service health check)"
            ),
            Purpose::Harvest => concat!(
                "Veiviser/",
                env!("CARGO_PKG_VERSION"),
                " (+https://veiviser.ung.no; feed harvester)"
            ),
        })
        .no_proxy()
        .redirect(redirect_policy)
        .dns_resolver(PolicyResolver { policy })
        .connect_timeout(Duration::from_secs(5))
        // A probe measures a fresh connection; keeping none also keeps nothing to reuse
        // across a change of policy.
        .pool_max_idle_per_host(0)
        .build()
}

/// Sends `request` to `url` unless the policy refuses the URL itself.
pub async fn send_checked(
    policy: &NetworkPolicy,
    url: &Url,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, SendError> {
    policy.check_url(url).map_err(SendError::Refused)?;
    request.send().await.map_err(SendError::Http)
}

/// Why an outbound request did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("refused by the network policy: {0}")]
    Refused(Refusal),
    #[error("{0}")]
    Http(reqwest::Error),
}

impl SendError {
    /// The probe outcome this error stands for, with a readable detail.
    pub fn classify(&self) -> (Outcome, String) {
        let error = match self {
            SendError::Refused(refusal) => return (Outcome::Blocked, refusal.to_string()),
            SendError::Http(error) => error,
        };
        if let Some(refusal) = find_source::<Refusal>(error) {
            return (Outcome::Blocked, refusal.to_string());
        }
        let kind = if find_source::<TooManyRedirects>(error).is_some() {
            FailureKind::TooManyRedirects
        } else if error.is_timeout() {
            FailureKind::Timeout
        } else if find_source::<DnsFailure>(error).is_some() {
            FailureKind::Dns
        } else if find_source::<rustls::Error>(error).is_some() {
            FailureKind::Tls
        } else if let Some(io) = find_source::<std::io::Error>(error) {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => FailureKind::ConnectRefused,
                ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe => {
                    FailureKind::ConnectionReset
                }
                TimedOut => FailureKind::Timeout,
                _ if find_source::<rustls::Error>(io).is_some() => FailureKind::Tls,
                _ => FailureKind::Other,
            }
        } else if find_source::<hyper::Error>(error).is_some_and(|h| h.is_incomplete_message()) {
            FailureKind::ConnectionReset
        } else {
            FailureKind::Other
        };
        (Outcome::Fail { error: kind }, describe(error))
    }
}

/// Resolves names with the system resolver, then refuses the answer if any address is one
/// the policy does not allow.
struct PolicyResolver {
    policy: Arc<NetworkPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| DnsFailure(format!("cannot resolve {host}: {e}")))?
                .collect();
            if addrs.is_empty() {
                return Err(DnsFailure(format!("{host} has no addresses")).into());
            }
            for addr in &addrs {
                policy.check_ip(addr.ip()).map_err(|refusal| {
                    Refusal(format!("{host} resolves to {}: {refusal}", addr.ip()))
                })?;
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct DnsFailure(String);

#[derive(Debug, thiserror::Error)]
#[error("more than {MAX_REDIRECTS} redirects")]
struct TooManyRedirects;

fn find_source<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// The error and its causes in one line, without repeating reqwest's "error sending request".
fn describe(error: &reqwest::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}
