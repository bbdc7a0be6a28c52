//! Configuration: the command line, each setting also an environment variable
//! (`VEIVISER_ADDR`, `VEIVISER_DATA`, …). Defaults live here; tests build [`Config`] directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::api::server::ServerLimits;
use crate::seed::CatalogueSource;
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
    Serve(ServeArgs),
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
    /// Print the catalogue (agencies and entries) as JSON.
    Export {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        catalogue: CatalogueArg,
    },
}

#[derive(Debug, Args)]
pub struct DataArg {
    /// Data directory (sled database).
    #[arg(long = "data", env = "VEIVISER_DATA", default_value = "./data")]
    pub data_dir: PathBuf,
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
    #[arg(long, env = "VEIVISER_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// sled page cache, in MiB.
    #[arg(long, env = "VEIVISER_CACHE_MB", default_value_t = 64)]
    pub cache_mb: u64,
    /// Seconds a client may take to send its request headers.
    #[arg(long, env = "VEIVISER_HEADER_TIMEOUT_S", default_value_t = 10)]
    pub header_timeout_s: u64,
    /// Seconds to wait for requests in flight at shutdown.
    #[arg(long, env = "VEIVISER_SHUTDOWN_GRACE_S", default_value_t = 10)]
    pub shutdown_grace_s: u64,
}

/// Everything `serve` needs, built once and passed down.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub catalogue: CatalogueSource,
    pub admin_token: Option<String>,
    pub cache_bytes: u64,
    pub limits: ServerLimits,
}

impl From<&ServeArgs> for Config {
    fn from(args: &ServeArgs) -> Self {
        Config {
            addr: args.addr,
            data_dir: args.data.data_dir.clone(),
            catalogue: args.catalogue.source(),
            admin_token: args.admin_token.clone(),
            cache_bytes: args.cache_mb << 20,
            limits: ServerLimits {
                header_read_timeout: Duration::from_secs(args.header_timeout_s),
                shutdown_grace: Duration::from_secs(args.shutdown_grace_s),
            },
        }
    }
}

impl Config {
    /// A configuration for tests: port 0 on loopback, the given data directory, the
    /// embedded catalogue, a fixed operator token.
    pub fn for_test(data_dir: PathBuf, admin_token: &str) -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            catalogue: CatalogueSource::Embedded,
            admin_token: Some(admin_token.to_string()),
            cache_bytes: 16 << 20,
            limits: ServerLimits {
                header_read_timeout: Duration::from_secs(5),
                shutdown_grace: Duration::from_secs(5),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
