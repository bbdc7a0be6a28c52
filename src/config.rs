//! Configuration: the command line, each setting also an environment variable
//! (`VEIVISER_ADDR`, `VEIVISER_DATA`, …). Defaults live here; tests build [`Config`] directly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::api::server::ServerLimits;
use crate::federation::HarvestSettings;
use crate::health::protect::ProtectSettings;
use crate::health::{HealthSettings, Thresholds};
use crate::outbound::NetworkPolicy;
use crate::seed::CatalogueSource;
use crate::store::Location;
use crate::telemetry::LogFormat;

/// Veiviser: the registry and router behind the national front door for young people.
#[derive(Debug, Parser)]
#[command(name = "veiviser", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format: human-readable text or one JSON object per line.
    #[arg(
        long,
        env = "VEIVISER_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API.
    Serve(Box<ServeArgs>),
    /// Validate entry files or folders (as agencies do in their own CI); exit 1 on any error.
    Validate {
        /// Files or folders of `.json` entries (`agencies.json` files hold agencies).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        catalogue: CatalogueArg,
    },
    /// Write the published JSON Schemas.
    Schema {
        /// Folder to write into.
        #[arg(long, default_value = "schemas")]
        out: PathBuf,
    },
    /// Load a catalogue folder, a folder of entries or one file into the data directory.
    Import {
        path: PathBuf,
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        catalogue: CatalogueArg,
    },
    /// Ask the router, on the catalogue files and without a server, where to send a young
    /// person; prints the ranked answer with reasons.
    Route(RouteArgs),
    /// Print the catalogue as JSON: Veiviser's own documents, Open Referral HSDS 3, or
    /// CPSV-AP-NO JSON-LD.
    Export(ExportArgs),
    /// The router's lexicon.
    #[command(subcommand)]
    Lexicon(LexiconCommand),
}

#[derive(Debug, Subcommand)]
pub enum LexiconCommand {
    /// Regenerate `catalog/lexicon/forms.tsv` from `catalog/lexicon/concepts.json` and the
    /// topics, with Hunspell, Apertium, MyThes and FreeDict (Debian: hunspell-no,
    /// apertium-nno-nob, mythes-no, dict-freedict-eng-nor).
    Build(LexiconBuildArgs),
    /// Run a routing evaluation (JSON lines of questions with the services that fit) on
    /// the catalogue, in process: figures per slice and every miss. Exit 1 below the gates.
    Eval(LexiconEvalArgs),
}

#[derive(Debug, Args)]
pub struct LexiconEvalArgs {
    /// JSON-lines files of cases (`tests/data/routing-eval.jsonl`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print only the figures, not the misses.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub catalogue: CatalogueArg,
}

#[derive(Debug, Args)]
pub struct LexiconBuildArgs {
    /// The catalogue folder whose `lexicon/forms.tsv` is rebuilt.
    #[arg(long = "catalog", default_value = "catalog")]
    pub catalog: PathBuf,
    /// Write here instead of `<catalog>/lexicon/forms.tsv`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder with nb_NO and nn_NO Hunspell dictionaries.
    #[arg(long, default_value = "/usr/share/hunspell")]
    pub hunspell: PathBuf,
    /// The MyThes Norwegian thesaurus.
    #[arg(long, default_value = "/usr/share/mythes/th_nb_NO_v2.dat")]
    pub thesaurus: PathBuf,
    /// Folder with Apertium's nob-nno and nno-nob analysers.
    #[arg(long, default_value = "/usr/share/apertium/apertium-nno-nob")]
    pub apertium: PathBuf,
    /// The FreeDict English-Norwegian dictionary.
    #[arg(long, default_value = "/usr/share/dictd/freedict-eng-nor.dict.dz")]
    pub freedict: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// veiviser, hsds or cpsv-ap-no.
    #[arg(long, default_value = "veiviser", value_parser = export_format)]
    pub format: crate::export::ExportFormat,
    /// Language of HSDS's untagged text: nb, nn or en.
    #[arg(long, default_value = "nb", value_parser = ["nb", "nn", "en"])]
    pub lang: String,
    /// Where this Veiviser is published, for links and IRIs.
    #[arg(
        long,
        env = "VEIVISER_PUBLIC_URL",
        default_value = "https://veiviser.ung.no"
    )]
    pub base_url: String,
    #[command(flatten)]
    pub data: DataArg,
    #[command(flatten)]
    pub catalogue: CatalogueArg,
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The question, as a young person would type it.
    pub q: Option<String>,
    #[arg(long)]
    pub age: Option<u8>,
    /// Municipality code (4 digits).
    #[arg(long)]
    pub municipality: Option<String>,
    /// County code (2 digits).
    #[arg(long)]
    pub county: Option<String>,
    /// Topic id (repeatable).
    #[arg(long = "topic")]
    pub topics: Vec<String>,
    /// Channel kind wanted (repeatable).
    #[arg(long = "channel")]
    pub channels: Vec<String>,
    #[arg(long)]
    pub lang: Option<String>,
    /// Only anonymous channels.
    #[arg(long)]
    pub anonymous: bool,
    /// Answer for this time (RFC 3339) instead of now.
    #[arg(long)]
    pub at: Option<String>,
    #[arg(long)]
    pub limit: Option<u8>,
    /// Print the answer as JSON, as the API gives it.
    #[arg(long)]
    pub json: bool,
    /// Also print how the question was read: each word's lemmas and concepts, the
    /// phrases, idioms and negations found, and the danger frames that held.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub catalogue: CatalogueArg,
}

#[derive(Debug, Args)]
pub struct DataArg {
    /// Data directory (sled database).
    #[arg(long = "data", env = "VEIVISER_DATA", default_value = "./data")]
    pub data_dir: PathBuf,
    /// A PostgreSQL database that several instances share instead of `--data`, as a
    /// libpq-style URL: `postgresql:///veiviser?host=/run/postgresql&user=veiviser`.
    #[arg(long = "store", env = "VEIVISER_STORE", hide_env_values = true)]
    pub store: Option<String>,
}

impl DataArg {
    /// Where the store is: the shared database if one is named, else sled in `--data`.
    pub fn location(&self, cache_bytes: u64) -> Location {
        store_location(self.store.as_deref(), &self.data_dir, cache_bytes)
    }
}

/// The shared database at `store` if given, else sled under `data_dir`.
pub fn store_location(store: Option<&str>, data_dir: &Path, cache_bytes: u64) -> Location {
    match store {
        Some(url) => Location::Shared {
            url: url.to_string(),
        },
        None => Location::Embedded {
            dir: data_dir.join("db"),
            cache_bytes,
        },
    }
}

#[derive(Debug, Args)]
pub struct CatalogueArg {
    /// Catalogue folder with topics.json and reference data [default: the catalogue built
    /// into the binary]
    #[arg(long = "catalog", env = "VEIVISER_CATALOG")]
    pub catalog_dir: Option<PathBuf>,
}

impl CatalogueArg {
    pub fn source(&self) -> CatalogueSource {
        self.catalog_dir
            .clone()
            .map_or(CatalogueSource::Embedded, CatalogueSource::Dir)
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "VEIVISER_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub data: DataArg,
    #[command(flatten)]
    pub catalogue: CatalogueArg,
    /// Operator token. When left out, one is generated on first start and written once to
    /// `<data>/admin-token` (mode 0600); only its hash is kept.
    /// Prefer `VEIVISER_ADMIN_TOKEN` or `--admin-token-file`: a flag's value is visible to
    /// every user in the process list.
    #[arg(long, env = "VEIVISER_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// A file holding the operator token (a mounted secret); surrounding whitespace is ignored.
    #[arg(
        long,
        env = "VEIVISER_ADMIN_TOKEN_FILE",
        value_name = "PATH",
        value_parser = secret_from_file,
        conflicts_with = "admin_token"
    )]
    pub admin_token_file: Option<Secret>,
    /// sled page cache, in MiB.
    #[arg(long, env = "VEIVISER_CACHE_MB", default_value_t = 64)]
    pub cache_mb: u64,
    /// Seconds a client may take to send its request headers, and a keep-alive connection
    /// may stay idle between requests.
    #[arg(long, env = "VEIVISER_HEADER_TIMEOUT_S", default_value_t = 10)]
    pub header_timeout_s: u64,
    /// Seconds a client may take to send its request body (at most 256 KiB) after the
    /// headers; a slower one is answered 408 and its connection closed.
    #[arg(long, env = "VEIVISER_BODY_TIMEOUT_S", default_value_t = 10)]
    pub body_timeout_s: u64,
    /// Most connections open at once; at the cap the oldest is closed to admit a new one
    /// [default: the descriptor limit less 128 kept for files and outbound requests].
    #[arg(long, env = "VEIVISER_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds to wait for requests in flight at shutdown.
    #[arg(long, env = "VEIVISER_SHUTDOWN_GRACE_S", default_value_t = 10)]
    pub shutdown_grace_s: u64,
    /// Seconds a store call may take (a write: until it is durable) before the request is
    /// answered 503; a stuck or failing disk then fails requests fast instead of hanging them.
    #[arg(long, env = "VEIVISER_STORE_TIMEOUT_S", default_value_t = 5)]
    pub store_timeout_s: u64,
    #[command(flatten)]
    pub health: HealthArgs,
    #[command(flatten)]
    pub harvest: HarvestArgs,
    /// Where this Veiviser is published, for the links and IRIs of its exports.
    #[arg(
        long,
        env = "VEIVISER_PUBLIC_URL",
        default_value = "https://veiviser.ung.no"
    )]
    pub public_url: String,
    /// The longest a `GET /v1/changes?wait=` request is held, in seconds (at most 60).
    #[arg(long, env = "VEIVISER_CHANGES_MAX_WAIT_S", default_value_t = 60)]
    pub changes_max_wait_s: u64,
    /// Run as a read-only mirror of the Veiviser at this URL: follow its change feed, serve
    /// reads and routing, refuse writes.
    #[arg(long, env = "VEIVISER_MIRROR_OF")]
    pub mirror_of: Option<url::Url>,
    /// This instance's name in logs and `/metrics` [default: the host name].
    #[arg(long, env = "VEIVISER_INSTANCE_ID", value_parser = instance_id)]
    pub instance_id: Option<String>,
}

/// A secret read from a file by the command line's parser, so it never shows in `ps`.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

fn secret_from_file(path: &str) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(format!("{path} is empty"));
    }
    Ok(Secret(secret.to_string()))
}

/// Instance names are label values and log fields: letters, digits, `.`, `_`, `-`.
fn instance_id(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(name.to_string())
    } else {
        Err("use 1 to 64 letters, digits, '.', '_' or '-'".into())
    }
}

/// The host name, as an instance name ("veiviser" when it has none usable).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .and_then(|name| instance_id(name.trim()).ok())
        .unwrap_or_else(|| "veiviser".into())
}

/// Harvesting agencies' feeds (reached under the health checks' network policy).
#[derive(Debug, Args)]
pub struct HarvestArgs {
    /// Largest feed document accepted, in MiB.
    #[arg(long, env = "VEIVISER_HARVEST_MAX_MB", default_value_t = 32)]
    pub harvest_max_mb: usize,
    /// Seconds a feed may take to arrive in full.
    #[arg(long, env = "VEIVISER_HARVEST_TIMEOUT_S", default_value_t = 60)]
    pub harvest_timeout_s: u64,
    /// Consecutive successful harvests an entry may be missing from its feed before it is
    /// retired.
    #[arg(long, env = "VEIVISER_HARVEST_RETIRE_AFTER", default_value_t = 2)]
    pub harvest_retire_after: u32,
}

/// Health checking.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// A network that health checks, webhooks and harvests may reach although it is private
    /// or loopback (CIDR, repeatable; comma-separated in the environment variable). Nothing
    /// is allowed by default.
    #[arg(
        long = "health-allow-net",
        env = "VEIVISER_HEALTH_ALLOW_NET",
        value_delimiter = ','
    )]
    pub allow_net: Vec<crate::outbound::Cidr>,
    /// Probes at once, overall.
    #[arg(long, env = "VEIVISER_HEALTH_CONCURRENCY", default_value_t = 64)]
    pub health_concurrency: usize,
    /// Probes at once to one host.
    #[arg(long, env = "VEIVISER_HEALTH_PER_HOST", default_value_t = 4)]
    pub health_per_host: usize,
    /// Failures in a row before a check is critical.
    #[arg(long, env = "VEIVISER_FAILURES_BEFORE_CRITICAL", default_value_t = 3)]
    pub failures_before_critical: u32,
    /// Successes in a row before a critical check is passing again.
    #[arg(long, env = "VEIVISER_SUCCESSES_BEFORE_PASSING", default_value_t = 2)]
    pub successes_before_passing: u32,
    /// An answer slower than this many milliseconds is a warning.
    #[arg(long, env = "VEIVISER_HEALTH_SLOW_MS", default_value_t = 2000)]
    pub health_slow_ms: u64,
    /// Probe results kept per check.
    #[arg(long, env = "VEIVISER_HEALTH_HISTORY", default_value_t = 50)]
    pub health_history: usize,
    /// Days after which an entry nobody has verified is stale.
    #[arg(long, env = "VEIVISER_STALE_AFTER_DAYS", default_value_t = 180)]
    pub stale_after_days: i64,
    /// Share of all checks that, turning critical within one window, makes the checker take
    /// the failure for its own (no internet) and keep the last known states; 1 turns it off.
    #[arg(long, env = "VEIVISER_HEALTH_PROTECT_THRESHOLD", default_value_t = 0.5)]
    pub health_protect_threshold: f64,
    /// That window in seconds: about the catalogue's check interval.
    #[arg(long, env = "VEIVISER_HEALTH_PROTECT_WINDOW_S", default_value_t = 900)]
    pub health_protect_window_s: u64,
}

impl From<&HealthArgs> for HealthSettings {
    fn from(args: &HealthArgs) -> Self {
        HealthSettings {
            policy: NetworkPolicy::allowing(args.allow_net.clone()),
            concurrency: args.health_concurrency,
            per_host: args.health_per_host,
            thresholds: Thresholds {
                failures_before_critical: args.failures_before_critical.max(1),
                successes_before_passing: args.successes_before_passing.max(1),
                history_len: args.health_history.max(1),
            },
            slow_after: Duration::from_millis(args.health_slow_ms),
            stale_after: chrono::Duration::days(args.stale_after_days),
            protect: ProtectSettings {
                threshold: args.health_protect_threshold,
                window: Duration::from_secs(args.health_protect_window_s),
                ..ProtectSettings::default()
            },
            ..HealthSettings::default()
        }
    }
}

/// Everything `serve` needs, built once and passed down.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    /// sled's directory; unused with a shared store.
    pub data_dir: PathBuf,
    /// The shared database's URL, if the store is shared.
    pub store: Option<String>,
    /// This instance's name.
    pub instance_id: String,
    pub catalogue: CatalogueSource,
    pub admin_token: Option<String>,
    pub cache_bytes: u64,
    /// How long a store call may take before it fails as unavailable.
    pub store_timeout: Duration,
    pub limits: ServerLimits,
    pub health: HealthSettings,
    pub harvest: HarvestSettings,
    /// Set on a read-only mirror.
    pub mirror_of: Option<url::Url>,
    /// Base of the exports' links and IRIs.
    pub public_url: String,
    /// The longest a change-feed long poll is held.
    pub changes_max_wait: Duration,
}

impl From<&ServeArgs> for Config {
    fn from(args: &ServeArgs) -> Self {
        Config {
            addr: args.addr,
            data_dir: args.data.data_dir.clone(),
            store: args.data.store.clone(),
            instance_id: args.instance_id.clone().unwrap_or_else(host_name),
            catalogue: args.catalogue.source(),
            admin_token: args
                .admin_token
                .clone()
                .or_else(|| args.admin_token_file.as_ref().map(|s| s.0.clone())),
            cache_bytes: args.cache_mb << 20,
            store_timeout: Duration::from_secs(args.store_timeout_s.max(1)),
            limits: ServerLimits {
                header_read_timeout: Duration::from_secs(args.header_timeout_s.max(1)),
                body_read_timeout: Duration::from_secs(args.body_timeout_s.max(1)),
                max_connections: args
                    .max_connections
                    .unwrap_or_else(crate::api::server::connection_cap_from_descriptor_limit),
                shutdown_grace: Duration::from_secs(args.shutdown_grace_s),
            },
            health: HealthSettings {
                instance: args.instance_id.clone().unwrap_or_else(host_name),
                ..HealthSettings::from(&args.health)
            },
            harvest: HarvestSettings {
                policy: NetworkPolicy::allowing(args.health.allow_net.clone()),
                max_bytes: args.harvest.harvest_max_mb.max(1) << 20,
                timeout: Duration::from_secs(args.harvest.harvest_timeout_s.max(1)),
                retire_after: args.harvest.harvest_retire_after.max(1),
                ..HarvestSettings::default()
            },
            mirror_of: args.mirror_of.clone(),
            public_url: args.public_url.clone(),
            changes_max_wait: Duration::from_secs(args.changes_max_wait_s.min(60)),
        }
    }
}

impl Config {
    /// Where this configuration's store is.
    pub fn location(&self) -> Location {
        store_location(self.store.as_deref(), &self.data_dir, self.cache_bytes)
    }

    /// A configuration for tests: port 0 on loopback, the given data directory, the
    /// embedded catalogue, a fixed operator token, health checks allowed to reach loopback
    /// (the tests' own targets) and run as soon as they are planned.
    pub fn for_test(data_dir: PathBuf, admin_token: &str) -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            store: None,
            instance_id: "test".into(),
            catalogue: CatalogueSource::Embedded,
            admin_token: Some(admin_token.to_string()),
            cache_bytes: 16 << 20,
            store_timeout: crate::store::DEFAULT_DEADLINE,
            limits: ServerLimits {
                header_read_timeout: Duration::from_secs(5),
                body_read_timeout: Duration::from_secs(5),
                max_connections: 512,
                shutdown_grace: Duration::from_secs(5),
            },
            // Loopback targets are the tests' own, and the only ones: the default catalogue's
            // real sites are not probed on every test run. Checks run as soon as planned.
            health: HealthSettings {
                policy: NetworkPolicy::only(vec!["127.0.0.0/8".parse().expect("a CIDR")]),
                spread_first_checks: false,
                shared_refresh: Duration::from_secs(1),
                alert_backoff: Duration::from_millis(200),
                ..HealthSettings::default()
            },
            harvest: HarvestSettings {
                policy: NetworkPolicy::allowing(vec!["127.0.0.0/8".parse().expect("a CIDR")]),
                timeout: Duration::from_secs(5),
                min_interval: Duration::ZERO,
                ..HarvestSettings::default()
            },
            mirror_of: None,
            public_url: "https://veiviser.ung.no".into(),
            changes_max_wait: Duration::from_secs(60),
        }
    }
}

fn export_format(name: &str) -> Result<crate::export::ExportFormat, String> {
    crate::export::ExportFormat::parse(name).ok_or_else(|| {
        let names = crate::export::ExportFormat::NAMES.join(", ");
        format!("'{name}' is not one of {names}")
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    #[test]
    fn the_operator_token_can_come_from_a_file_and_never_prints() {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  secret-token-from-a-file-0123\n").unwrap();
        let path = path.to_str().unwrap();
        let cli = super::Cli::try_parse_from(["veiviser", "serve", "--admin-token-file", path])
            .expect("parses");
        let super::Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert!(!format!("{args:?}").contains("secret-token"));
        let config = super::Config::from(&*args);
        assert_eq!(
            config.admin_token.as_deref(),
            Some("secret-token-from-a-file-0123")
        );
        // Both at once is a mistake, and an empty file is refused.
        let both = [
            "veiviser",
            "serve",
            "--admin-token",
            "x",
            "--admin-token-file",
            path,
        ];
        assert!(super::Cli::try_parse_from(both).is_err());
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let empty = dir.path().join("empty");
        let empty = [
            "veiviser",
            "serve",
            "--admin-token-file",
            empty.to_str().unwrap(),
        ];
        assert!(super::Cli::try_parse_from(empty).is_err());
    }
}
