//! Configuration, read from environment variables with defaults that let a
//! fresh clone run with no set-up.
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

/// The embedded default: a SQLite file under `./data/`, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/scholargraph.db?mode=rwc";

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database to use: `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Address the HTTP server listens on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Largest number of pooled database connections.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,

    /// Deepest selection set a query may nest.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 12)]
    pub max_depth: usize,

    /// Largest complexity (roughly: fields times page sizes) a query may have.
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value_t = 20_000)]
    pub max_complexity: usize,

    /// Largest request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// Load the demo dataset into an empty embedded SQLite catalogue at start.
    #[arg(long, env = "SEED_DEMO_WHEN_EMPTY", default_value_t = true, action = clap::ArgAction::Set)]
    pub seed_demo_when_empty: bool,

    /// How long a batch loader gathers keys before it queries, in microseconds.
    /// 200 measured best on the profile and works pages (BENCHMARKS.md): a
    /// shorter wait adds less latency per loader level, and concurrent
    /// requests still share batches.
    #[arg(long, env = "LOADER_DELAY_MICROS", default_value_t = 200)]
    pub loader_delay_micros: u64,

    #[command(flatten)]
    pub auth: crate::auth::AuthConfig,

    /// Time a GraphQL request may run before it is stopped with an error.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
}

impl Config {
    /// The configuration from the environment alone (no subcommand given).
    pub fn parse_from_env() -> Self {
        #[derive(clap::Parser)]
        struct FromEnv {
            #[command(flatten)]
            config: Config,
        }
        <FromEnv as clap::Parser>::parse_from(["scholargraph"]).config
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// A configuration with every default, for `database_url`; tests and
    /// tools that do not read the command line start from here.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_max_connections: 16,
            max_depth: 12,
            max_complexity: 20_000,
            max_body_bytes: 256 * 1024,
            seed_demo_when_empty: true,
            loader_delay_micros: 200,
            request_timeout_secs: 30,
            auth: crate::auth::AuthConfig::default(),
        }
    }
}
