//! Configuration, read from environment variables with defaults that let a
//! fresh clone run with no set-up.
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use ipnet::IpNet;

use crate::graphql::limits::{DocumentLimits, RateSettings};

/// The embedded default: a SQLite file under `./data/`, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/scholargraph.db?mode=rwc";

/// The search index of the embedded default, beside its database.
pub const DEFAULT_SEARCH_INDEX: &str = "data/search-index";

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

    /// `serve` only: do not migrate at start, for deployments that run
    /// `scholargraph migrate` as a step of their own. The service then
    /// refuses to start on a database with pending migrations.
    #[arg(long = "no-migrate", env = "NO_MIGRATE", default_value_t = false, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub no_migrate: bool,

    /// Load the demo dataset into an empty embedded SQLite catalogue at start.
    #[arg(long, env = "SEED_DEMO_WHEN_EMPTY", default_value_t = true, action = clap::ArgAction::Set)]
    pub seed_demo_when_empty: bool,

    /// How long a batch loader gathers keys before it queries, in microseconds.
    /// 200 measured best on the profile and works pages (BENCHMARKS.md): a
    /// shorter wait adds less latency per loader level, and concurrent
    /// requests still share batches.
    #[arg(long, env = "LOADER_DELAY_MICROS", default_value_t = 200)]
    pub loader_delay_micros: u64,

    /// Proxies (addresses or CIDR blocks, comma-separated) whose
    /// `X-Forwarded-For` names the client; from anyone else it is ignored.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,

    /// Where this instance keeps its search index: a directory, or `memory`
    /// (rebuilt from the database at every start). Each instance has its
    /// own; it is derived from the database and can be deleted at any time.
    #[arg(long, env = "SEARCH_INDEX", default_value = DEFAULT_SEARCH_INDEX)]
    pub search_index: String,

    /// How many hits a list ordered by relevance holds at most.
    #[arg(long, env = "SEARCH_RELEVANCE_DEPTH", default_value_t = crate::search::MAX_RELEVANCE_DEPTH,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub search_relevance_depth: u64,

    /// Up to how many matches a search's `totalCount` is exact (above, a lower bound).
    #[arg(long, env = "SEARCH_EXACT_COUNT_LIMIT", default_value_t = crate::search::EXACT_COUNT_LIMIT,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub search_exact_count_limit: u64,

    #[command(flatten)]
    pub auth: crate::auth::AuthConfig,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub web: Web,
}

/// What browsers and the web frontend get besides GraphQL itself (README,
/// "Web clients").
#[derive(Debug, Clone, Args)]
pub struct Web {
    /// Serve the GraphiQL playground to a browser's `GET /graphql`.
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,

    /// Answer introspection (`__schema`, `__type`); `__typename` always answers.
    #[arg(long, env = "INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,

    /// Origins (comma-separated, such as `https://app.example.org`) whose
    /// pages may call the API with credentials; none: no CORS headers at all.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,

    /// How long a browser may cache a preflight's answer, in seconds
    /// (Chromium uses at most 7200).
    #[arg(long, env = "CORS_MAX_AGE_SECS", default_value_t = defaults::CORS_MAX_AGE_SECS)]
    pub cors_max_age_secs: u64,

    /// Persisted queries kept (least recently used first out).
    #[arg(long, env = "APQ_CACHE_SIZE", default_value_t = defaults::APQ_CACHE_SIZE,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub apq_cache_size: u64,
}

impl Default for Web {
    fn default() -> Self {
        Self {
            graphiql: true,
            introspection: true,
            cors_allowed_origins: Vec::new(),
            cors_max_age_secs: defaults::CORS_MAX_AGE_SECS,
            apq_cache_size: defaults::APQ_CACHE_SIZE,
        }
    }
}

impl Web {
    /// The allowed origins, without the blanks a list such as `a, b,` leaves.
    pub fn cors_origins(&self) -> impl Iterator<Item = &str> {
        self.cors_allowed_origins.iter().map(|origin| origin.trim()).filter(|origin| !origin.is_empty())
    }

    /// `APQ_CACHE_SIZE`, which the command line keeps at 1 or more.
    pub fn apq_capacity(&self) -> std::num::NonZeroUsize {
        let size = usize::try_from(self.apq_cache_size).unwrap_or(usize::MAX);
        std::num::NonZeroUsize::new(size).unwrap_or(std::num::NonZeroUsize::MIN)
    }

    /// Refuses origins a browser would never send: an `Origin` is exactly
    /// `scheme://host[:port]`, with no path, not even `/`; and `*` cannot
    /// be allowed with credentials.
    pub fn check(&self) -> anyhow::Result<()> {
        for origin in self.cors_origins() {
            // As a browser sends it: lower case, `scheme://authority` and no more.
            let uri = origin.parse::<axum::http::Uri>().ok();
            let scheme = uri.as_ref().and_then(|u| u.scheme_str()).unwrap_or_default();
            let authority = uri.as_ref().and_then(|u| u.authority()).map_or("", |a| a.as_str());
            let is_origin = matches!(scheme, "http" | "https")
                && !authority.is_empty()
                && !authority.contains('@')
                && origin == format!("{scheme}://{authority}")
                && origin == origin.to_ascii_lowercase();
            if !is_origin {
                anyhow::bail!(
                    "CORS_ALLOWED_ORIGINS: `{origin}` is not an origin: write it as `https://host[:port]`, \
                     with no path or trailing slash"
                );
            }
        }
        Ok(())
    }
}

/// What one request may cost: its body and document, its cost, its time,
/// its database statements, and the rate at which one client may spend.
/// Defaults leave every contract operation and the standard introspection
/// query a wide margin (README, "Limits").
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Largest request body, in bytes (HTTP body or WebSocket message).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = defaults::MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Largest GraphQL document, in bytes.
    #[arg(long, env = "GRAPHQL_MAX_QUERY_BYTES", default_value_t = defaults::MAX_QUERY_BYTES)]
    pub max_query_bytes: usize,

    /// Most lexical tokens in a document.
    #[arg(long, env = "GRAPHQL_MAX_TOKENS", default_value_t = defaults::MAX_TOKENS)]
    pub max_tokens: usize,

    /// Most field selections, with fragments expanded.
    #[arg(long, env = "GRAPHQL_MAX_SELECTIONS", default_value_t = defaults::MAX_SELECTIONS)]
    pub max_selections: u64,

    /// Most aliases, with fragments expanded.
    #[arg(long, env = "GRAPHQL_MAX_ALIASES", default_value_t = defaults::MAX_ALIASES)]
    pub max_aliases: u64,

    /// Deepest field nesting, through fragments.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = defaults::MAX_DEPTH)]
    pub max_depth: usize,

    /// How deep fragments may spread other fragments.
    #[arg(long, env = "GRAPHQL_MAX_FRAGMENT_DEPTH", default_value_t = defaults::MAX_FRAGMENT_DEPTH)]
    pub max_fragment_depth: u64,

    /// Most fields at an operation's root.
    #[arg(long, env = "GRAPHQL_MAX_ROOT_FIELDS", default_value_t = defaults::MAX_ROOT_FIELDS)]
    pub max_root_fields: u64,

    /// Most directives on one field, fragment or operation.
    #[arg(long, env = "GRAPHQL_MAX_DIRECTIVES", default_value_t = defaults::MAX_DIRECTIVES)]
    pub max_directives: usize,

    /// Most objects one answer may hold: each `first`/`last`/`limit`-sized
    /// list counts its size times the sizes of the lists around it.
    #[arg(long, env = "GRAPHQL_MAX_NODES", default_value_t = defaults::MAX_NODES)]
    pub max_nodes: u64,

    /// Largest query cost: a list's cost is the rows it can return times the
    /// cost of its selection.
    #[arg(long, env = "GRAPHQL_MAX_COMPLEXITY", default_value_t = defaults::MAX_COMPLEXITY)]
    pub max_complexity: usize,

    /// Time a GraphQL operation may run before it is stopped with an error.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = defaults::REQUEST_TIMEOUT_SECS)]
    pub request_timeout_secs: u64,

    /// Time one SQL statement of the serving pool may run before the
    /// database stops it (PostgreSQL `statement_timeout`; a progress handler
    /// on SQLite). Command-line work has no such limit.
    #[arg(long, env = "STATEMENT_TIMEOUT_MS", default_value_t = defaults::STATEMENT_TIMEOUT_MS)]
    pub statement_timeout_ms: u64,

    /// Time a request may wait for a pooled database connection.
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT_MS", default_value_t = defaults::ACQUIRE_TIMEOUT_MS)]
    pub acquire_timeout_ms: u64,

    /// Cost units a client regains per minute (0 turns rate limiting off).
    #[arg(long, env = "RATE_LIMIT_COST_PER_MINUTE", default_value_t = defaults::RATE_LIMIT_COST_PER_MINUTE)]
    pub rate_limit_cost_per_minute: u32,

    /// The most cost a client may spend at once; at least `GRAPHQL_MAX_COMPLEXITY`
    /// plus `MUTATION_COST`, so that every admissible request can pass.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = defaults::RATE_LIMIT_BURST)]
    pub rate_limit_burst: u32,

    /// Cost a mutation pays on top of its query cost.
    #[arg(long, env = "MUTATION_COST", default_value_t = defaults::MUTATION_COST)]
    pub mutation_cost: u32,

    /// Time a WebSocket client has to send `connection_init` before the
    /// connection is closed (4408).
    #[arg(long, env = "WS_INIT_TIMEOUT_SECS", default_value_t = defaults::WS_INIT_TIMEOUT_SECS)]
    pub ws_init_timeout_secs: u64,

    /// Most operations one WebSocket connection may run at once,
    /// subscriptions included.
    #[arg(long, env = "WS_MAX_OPERATIONS", default_value_t = defaults::WS_MAX_OPERATIONS)]
    pub ws_max_operations: usize,

    /// Most WebSocket connections this instance holds open at once; one more
    /// is closed at once with 1013 (try again later).
    #[arg(long, env = "WS_MAX_CONNECTIONS", default_value_t = defaults::WS_MAX_CONNECTIONS)]
    pub ws_max_connections: usize,
}

/// The documented defaults, shared by the command line and `Config::for_database`.
pub mod defaults {
    pub const MAX_BODY_BYTES: usize = 256 * 1024;
    pub const MAX_QUERY_BYTES: usize = 16 * 1024;
    pub const MAX_TOKENS: usize = 3_000;
    /// Bracket nesting in a document's text: far beyond any real document,
    /// well inside the parser's stack.
    pub const MAX_NESTING: usize = 64;
    pub const MAX_SELECTIONS: u64 = 1_500;
    pub const MAX_ALIASES: u64 = 30;
    pub const MAX_DEPTH: usize = 20;
    pub const MAX_FRAGMENT_DEPTH: u64 = 8;
    pub const MAX_ROOT_FIELDS: u64 = 20;
    pub const MAX_DIRECTIVES: usize = 5;
    pub const MAX_NODES: u64 = 10_000;
    pub const MAX_COMPLEXITY: usize = 50_000;
    pub const REQUEST_TIMEOUT_SECS: u64 = 30;
    pub const STATEMENT_TIMEOUT_MS: u64 = 10_000;
    pub const ACQUIRE_TIMEOUT_MS: u64 = 5_000;
    pub const RATE_LIMIT_COST_PER_MINUTE: u32 = 300_000;
    pub const RATE_LIMIT_BURST: u32 = 100_000;
    pub const MUTATION_COST: u32 = 100;
    pub const WS_INIT_TIMEOUT_SECS: u64 = 10;
    pub const WS_MAX_OPERATIONS: usize = 100;
    pub const WS_MAX_CONNECTIONS: usize = 10_000;
    pub const CORS_MAX_AGE_SECS: u64 = 7_200;
    pub const APQ_CACHE_SIZE: u64 = 1_000;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: defaults::MAX_BODY_BYTES,
            max_query_bytes: defaults::MAX_QUERY_BYTES,
            max_tokens: defaults::MAX_TOKENS,
            max_selections: defaults::MAX_SELECTIONS,
            max_aliases: defaults::MAX_ALIASES,
            max_depth: defaults::MAX_DEPTH,
            max_fragment_depth: defaults::MAX_FRAGMENT_DEPTH,
            max_root_fields: defaults::MAX_ROOT_FIELDS,
            max_directives: defaults::MAX_DIRECTIVES,
            max_nodes: defaults::MAX_NODES,
            max_complexity: defaults::MAX_COMPLEXITY,
            request_timeout_secs: defaults::REQUEST_TIMEOUT_SECS,
            statement_timeout_ms: defaults::STATEMENT_TIMEOUT_MS,
            acquire_timeout_ms: defaults::ACQUIRE_TIMEOUT_MS,
            rate_limit_cost_per_minute: defaults::RATE_LIMIT_COST_PER_MINUTE,
            rate_limit_burst: defaults::RATE_LIMIT_BURST,
            mutation_cost: defaults::MUTATION_COST,
            ws_init_timeout_secs: defaults::WS_INIT_TIMEOUT_SECS,
            ws_max_operations: defaults::WS_MAX_OPERATIONS,
            ws_max_connections: defaults::WS_MAX_CONNECTIONS,
        }
    }
}

impl Limits {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn statement_timeout(&self) -> Duration {
        Duration::from_millis(self.statement_timeout_ms)
    }

    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }

    pub fn rate(&self) -> RateSettings {
        RateSettings {
            cost_per_minute: self.rate_limit_cost_per_minute,
            burst: self.rate_limit_burst,
            mutation_surcharge: self.mutation_cost,
        }
    }

    /// Refuses settings that contradict each other.
    pub fn check(&self) -> anyhow::Result<()> {
        let largest = self.max_complexity as u64 + u64::from(self.mutation_cost);
        if self.rate_limit_cost_per_minute > 0 && u64::from(self.rate_limit_burst) < largest {
            anyhow::bail!(
                "RATE_LIMIT_BURST ({}) must be at least GRAPHQL_MAX_COMPLEXITY + MUTATION_COST ({largest}), \
                 or the costliest admissible request could never run",
                self.rate_limit_burst
            );
        }
        if self.statement_timeout() >= self.request_timeout() {
            anyhow::bail!("STATEMENT_TIMEOUT_MS must be shorter than REQUEST_TIMEOUT_SECS");
        }
        Ok(())
    }

    pub fn document(&self) -> DocumentLimits {
        DocumentLimits {
            max_query_bytes: self.max_query_bytes,
            max_tokens: self.max_tokens,
            max_nesting: defaults::MAX_NESTING,
            max_selections: self.max_selections,
            max_aliases: self.max_aliases,
            max_depth: self.max_depth as u64,
            max_fragment_depth: self.max_fragment_depth,
            max_root_fields: self.max_root_fields,
            max_directives: self.max_directives as u64,
            max_nodes: self.max_nodes,
        }
    }
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

    pub fn search_limits(&self) -> crate::search::SearchLimits {
        crate::search::SearchLimits {
            relevance_depth: self.search_relevance_depth,
            exact_count_limit: self.search_exact_count_limit,
        }
    }

    pub fn search_index_location(&self) -> crate::search::IndexLocation {
        crate::search::IndexLocation::parse(&self.search_index)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// A configuration with every default, for `database_url`, and its
    /// search index in memory; tests and tools that do not read the command
    /// line start from here.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_max_connections: 16,
            seed_demo_when_empty: true,
            loader_delay_micros: 200,
            trusted_proxies: Vec::new(),
            no_migrate: false,
            search_index: "memory".to_owned(),
            search_relevance_depth: crate::search::MAX_RELEVANCE_DEPTH,
            search_exact_count_limit: crate::search::EXACT_COUNT_LIMIT,
            auth: crate::auth::AuthConfig::default(),
            limits: Limits::default(),
            web: Web::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Web;

    fn allowing(origins: &[&str]) -> Web {
        Web { cors_allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(), ..Web::default() }
    }

    #[test]
    fn allowed_origins_must_be_written_as_browsers_send_them() {
        assert!(allowing(&["https://app.example.org", "http://localhost:5173", "http://[::1]:3000"]).check().is_ok());
        assert_eq!(
            allowing(&["", " https://a.example ", ""]).cors_origins().collect::<Vec<_>>(),
            ["https://a.example"]
        );
        for wrong in [
            "*",
            "https://app.example.org/",
            "https://app.example.org/path",
            "app.example.org",
            "HTTPS://App.example.org",
            "ftp://example.org",
            "https://user@example.org",
        ] {
            assert!(allowing(&[wrong]).check().is_err(), "{wrong:?} was accepted");
        }
    }
}
