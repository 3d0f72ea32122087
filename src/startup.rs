//! Building the application: connect, migrate, (on an empty embedded
//! database) seed the demo, bind the listener, and serve until a signal.
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::domain::seed::demo;
use crate::graphql::build_schema;
use crate::graphql::limits::{DocumentGuard, RateLimiter};
use crate::http::router;
use crate::state::{AppState, Metrics};

/// Opens the pool and counts every statement it runs in `metrics`.
pub async fn connect(config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<DatabaseConnection> {
    if config.is_sqlite() {
        create_sqlite_parent_dir(&config.database_url)?;
    }
    let mut options = ConnectOptions::new(config.database_url.clone());
    options
        .max_connections(config.database_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            // WAL lets readers run while a writer commits; writers wait their
            // turn instead of failing at once.
            // turn instead of failing at once. SQLite's page caches and sorters
            // across the pool give memory back beyond a process-wide soft limit.
            opts.journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("soft_heap_limit", SQLITE_SOFT_HEAP_LIMIT_BYTES.to_string())
        });
    let mut db = Database::connect(options).await.context("connecting to the database")?;
    db.set_metric_callback(move |_| metrics.record_sql_statement());
    Ok(db)
}

/// What SQLite may hold in memory (page caches, sorters) before it frees
/// cache pages. Advisory: on the default synthetic size with 32 connections
/// the server still peaked at 467 MiB (BENCHMARKS.md).
const SQLITE_SOFT_HEAP_LIMIT_BYTES: u64 = 96 * 1024 * 1024;

fn create_sqlite_parent_dir(url: &str) -> anyhow::Result<()> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("running migrations")
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects, migrates and binds. On the embedded SQLite default an empty
    /// catalogue is seeded with the demo dataset, so that a fresh clone
    /// serves something with one command; PostgreSQL is seeded explicitly.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.limits.check()?;
        let auth = Authenticator::from_config(&config.auth).await.context("configuring token verification")?;
        if auth.is_none() {
            tracing::warn!("no JWT key configured (JWT_SECRET, JWT_PUBLIC_KEY_FILE or JWT_JWKS): sign-in is off");
        }
        let metrics = Arc::new(Metrics::default());
        let db = connect(&config, metrics.clone()).await?;
        migrate(&db).await?;
        if config.is_sqlite()
            && config.seed_demo_when_empty
            && demo::catalogue_is_empty(&db).await.map_err(|e| anyhow::anyhow!("{e:?}"))?
        {
            let outcome = demo::seed(&db).await.map_err(|e| anyhow::anyhow!("seeding the demo dataset: {e:?}"))?;
            tracing::info!(?outcome, "seeded the demo dataset into the empty embedded database");
        }
        let listener = TcpListener::bind(config.bind).await.with_context(|| format!("binding {}", config.bind))?;
        let rate_limiter = Arc::new(RateLimiter::new(config.limits.rate()));
        let schema = build_schema(&db, &config, rate_limiter.clone());
        let guard = Arc::new(DocumentGuard::new(config.limits.document(), &schema.sdl()));
        let state = AppState { db, schema, config: Arc::new(config), metrics, auth, guard, rate_limiter };
        Ok(Self { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let limiter = self.state.rate_limiter.clone();
        let forget_idle_clients = tokio::spawn(async move {
            let mut every_minute = tokio::time::interval(Duration::from_secs(60));
            loop {
                every_minute.tick().await;
                limiter.forget_idle();
            }
        });
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await.context("serving HTTP");
        forget_idle_clients.abort();
        served
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
