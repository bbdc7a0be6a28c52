//! Building and running the application: open the store, load the default catalogue on a
//! new data directory, make sure there is an operator token, bind the listener, serve.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::api::filters::Services;
use crate::api::{self, AppState};
use crate::auth;
use crate::config::Config;
use crate::federation::{Harvester, Mirror, MirrorSettings};
use crate::health::Checker;
use crate::metrics::Metrics;
use crate::model::Validator;
use crate::registry::Registry;
use crate::routing::Router;
use crate::seed::CatalogueSource;
use crate::store::{self, SharedStore};

/// A bound, ready-to-run Veiviser.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    config: Config,
}

impl Application {
    /// Opens everything and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let location = config.location();
        let (registry, store) =
            open_registry(&location, &config.catalogue, config.store_timeout).await?;
        {
            // Instances sharing a store start together: one sets it up, the others wait
            // and find it set up.
            let _setup = store
                .setup_lock()
                .await
                .context("cannot take the setup lock")?;
            // A mirror's catalogue is its primary's, nothing else.
            if config.mirror_of.is_none() {
                seed_if_new(&registry, &config.catalogue).await?;
            }
            let token_file = (!location.is_shared()).then_some(config.data_dir.as_path());
            ensure_admin_token(&registry, token_file, config.admin_token.as_deref()).await?;
        }
        let metrics = Arc::new(Metrics::default());
        let checker = Checker::new(
            store,
            registry.watch_changes(),
            config.health.clone(),
            metrics.clone(),
        )
        .await
        .context("cannot start the health checker")?;
        let router = Router::follow(
            Arc::new(registry.validator().reference().clone()),
            registry.watch_changes(),
            {
                let registry = registry.clone();
                move || {
                    let registry = registry.clone();
                    async move { Ok(registry.catalogue().await?) }
                }
            },
        )
        .await
        .context("cannot build the routing index")?;
        let (harvester, mirror) = match &config.mirror_of {
            Some(primary) => {
                let settings = MirrorSettings::new(primary.clone());
                let mirror = Mirror::new(registry.clone(), settings)
                    .await
                    .context("cannot set up the mirror's client")?;
                (None, Some(mirror))
            }
            None => {
                let harvester = Harvester::new(registry.clone(), config.harvest.clone())
                    .context("cannot set up the harvester")?;
                (Some(harvester), None)
            }
        };
        let listener =
            listen(config.addr).with_context(|| format!("cannot listen on {}", config.addr))?;
        let state = AppState::new(Services {
            registry,
            checker,
            router,
            harvester,
            mirror,
            metrics,
            public_url: config.public_url.clone(),
            changes_max_wait: config.changes_max_wait,
            started_at: Instant::now(),
            instance: (config.instance_id.clone(), location.engine()),
        });
        Ok(Application {
            listener,
            state,
            config,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn registry(&self) -> &Registry {
        &self.state.registry
    }

    pub fn checker(&self) -> &Checker {
        &self.state.checker
    }

    /// Serves until `shutdown` completes, then drains requests in flight and stops the
    /// background work.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        if let Err(e) = self.state.checker.start().await {
            tracing::error!(error = %e, "health checks are not running");
        }
        if let Some(harvester) = &self.state.harvester {
            if let Err(e) = harvester.start().await {
                tracing::error!(error = %e, "feed harvests are not running");
            }
        }
        if let Some(mirror) = &self.state.mirror {
            tracing::info!(primary = %mirror.primary(), "running as a read-only mirror");
            mirror.start();
        }
        tracing::info!(
            addr = %self.local_addr(),
            instance = %self.config.instance_id,
            store = self.state.instance.1,
            "Veiviser is listening"
        );
        let routes = api::routes(self.state.clone());
        api::server::serve(self.listener, routes, shutdown, self.config.limits).await;
        let state = &self.state;
        let background = async {
            if let Some(mirror) = &state.mirror {
                mirror.stop().await;
            }
            if let Some(harvester) = &state.harvester {
                harvester.stop().await;
            }
            state.checker.stop().await;
        };
        // Background work waiting on a stuck store gets the same grace as requests.
        if tokio::time::timeout(self.config.limits.shutdown_grace, background)
            .await
            .is_err()
        {
            tracing::warn!("background work did not stop within the shutdown grace");
        }
        self.state.router.stop();
    }
}

/// Opens the store at `location` and the validator over the catalogue's reference data,
/// and the registry over both. The store handle is for the health checker, whose records
/// are its own; the catalogue is written only through the registry.
pub async fn open_registry(
    location: &store::Location,
    catalogue: &CatalogueSource,
    deadline: std::time::Duration,
) -> anyhow::Result<(Registry, SharedStore)> {
    if let store::Location::Embedded { dir, .. } = location {
        // Owner only: the store holds token hashes and the operator's audit trail.
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    let reference = catalogue
        .reference()
        .context("cannot read the reference data")?;
    let validator = Arc::new(Validator::new(Arc::new(reference)));
    let store = store::open(location, deadline)
        .await
        .with_context(|| format!("cannot open the store ({})", location.describe()))?;
    let registry = Registry::new(store.clone(), validator).await?;
    Ok((registry, store))
}

/// Loads the default catalogue into a data directory that has never had it.
async fn seed_if_new(registry: &Registry, catalogue: &CatalogueSource) -> anyhow::Result<()> {
    if registry.is_seeded().await? {
        return Ok(());
    }
    let loaded = catalogue.documents()?;
    let report = registry.import(&loaded.documents).await?;
    for (origin, problem) in &loaded.unreadable {
        tracing::error!(file = %origin, problem = %problem, "catalogue file skipped");
    }
    for (origin, violations) in &report.invalid {
        tracing::error!(file = %origin, problems = %violations, "catalogue entry refused");
    }
    registry.mark_seeded().await?;
    tracing::info!(
        agencies = report.agencies_created,
        services = report.created,
        "default catalogue loaded"
    );
    Ok(())
}

/// Sets the operator token's hash: the configured token wins; otherwise an existing hash is
/// kept; otherwise a token is generated and written once to `<data>/admin-token` (0600).
/// A shared store has no data directory to write it to (`data_dir` is `None`): its first
/// instance must be given one.
async fn ensure_admin_token(
    registry: &Registry,
    data_dir: Option<&Path>,
    configured: Option<&str>,
) -> anyhow::Result<()> {
    if let Some(token) = configured {
        anyhow::ensure!(
            token.len() >= 16,
            "the operator token must have at least 16 characters"
        );
        registry
            .set_operator_token_hash(&auth::hash_token(token))
            .await?;
        return Ok(());
    }
    if registry.has_operator_token().await? {
        return Ok(());
    }
    let Some(data_dir) = data_dir else {
        anyhow::bail!(
            "the shared store has no operator token yet: start this first instance with \
             VEIVISER_ADMIN_TOKEN (at least 16 characters); only its hash is stored"
        );
    };
    let token = auth::new_operator_token();
    let path = data_dir.join("admin-token");
    write_private(&path, &token)
        .with_context(|| format!("cannot write the operator token to {}", path.display()))?;
    registry
        .set_operator_token_hash(&auth::hash_token(&token))
        .await?;
    tracing::warn!(path = %path.display(), "generated an operator token; read it once from this file and keep it safe");
    Ok(())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
}

/// Connections the kernel queues before they are accepted: a burst beyond the default 128
/// would otherwise be refused while the accept loop catches up.
const LISTEN_BACKLOG: u32 = 1024;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}
