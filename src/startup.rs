//! Building the application: connect, migrate, (on an empty embedded
//! database) seed the demo, bind the listener, and serve until a signal.
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnection, SqliteJournalMode};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::domain::changes::{self, ChangeFeed};
use crate::domain::researcher_events::LiveEvents;
use crate::graphql::build_schema;
use crate::graphql::limits::{DocumentGuard, Pricer, RateLimiter};
use crate::graphql::persisted::PersistedQueries;
use crate::http::router;
use crate::http::ws::Sockets;
use crate::ingest::demo;
use crate::search::{SimilarIndex, TantivySearch};
use crate::state::{AppState, Metrics};

/// What a pool is for. Serving connections run under a per-statement time
/// limit; command-line work (migrations, seeding, imports) runs without one,
/// and so does the service's background work (following the change log,
/// building the search index) on a small pool of its own, whose statements
/// are not counted as requests'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolRole {
    Serving,
    Batch,
    Background,
}

/// Connections of the background pool: the change feed's reads, the index
/// follower's and the live events' record reads.
const BACKGROUND_CONNECTIONS: u32 = 3;

/// How long the background pool waits for a connection.
const BACKGROUND_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// Opens the pool and counts every statement it runs in `metrics`.
pub async fn connect(config: &Config, metrics: Arc<Metrics>, role: PoolRole) -> anyhow::Result<DatabaseConnection> {
    if config.is_sqlite() {
        create_sqlite_parent_dir(&config.database_url)?;
    }
    let limits = &config.limits;
    let mut options = ConnectOptions::new(config.database_url.clone());
    let max_connections =
        if role == PoolRole::Background { BACKGROUND_CONNECTIONS } else { config.database_max_connections };
    // The background pool gives up sooner: its change feed's failed reads
    // are how requests tell an unreachable database from a busy one
    // (`http::admission::outage_aware`), so they must come first.
    let acquire_timeout = if role == PoolRole::Background {
        limits.acquire_timeout().min(BACKGROUND_ACQUIRE_TIMEOUT)
    } else {
        limits.acquire_timeout()
    };
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(acquire_timeout)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            // WAL lets readers run while a writer commits; writers wait their
            // turn instead of failing at once. SQLite's page caches and sorters
            // across the pool give memory back beyond a process-wide soft limit.
            opts.journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("soft_heap_limit", SQLITE_SOFT_HEAP_LIMIT_BYTES.to_string())
        });
    if role == PoolRole::Serving {
        // PostgreSQL stops a statement past the limit itself (SQLSTATE 57014).
        options.statement_timeout(limits.statement_timeout());
        // Requests run short index reads. For batched lookups with long `IN`
        // lists the planner chose parallel plans, and starting their workers
        // cost more CPU than it saved (BENCHMARKS.md).
        options.map_sqlx_postgres_opts(|opts| opts.options([("max_parallel_workers_per_gather", "0")]));
        // SQLite has no statement timeout: a progress handler interrupts the
        // statement (SQLITE_INTERRUPT) once the connection has been out of the
        // pool longer than the limit. It is armed afresh at every checkout.
        let budget = limits.statement_timeout();
        options
            .map_sqlx_sqlite_pool_opts(move |pool| {
                pool.after_connect(move |connection, _| Box::pin(arm_sqlite_deadline(connection, budget)))
            })
            .map_sqlx_sqlite_before_acquire(move |connection, _| {
                Box::pin(async move { arm_sqlite_deadline(connection, budget).await.map(|()| true) })
            });
    }
    let mut db = Database::connect(options).await.context("connecting to the database")?;
    db.set_metric_callback(move |_| metrics.record_sql_statement());
    Ok(db)
}

/// SQLite VM instructions between two looks at the clock: frequent enough
/// to stop within a millisecond or so, rare enough to cost nothing measurable.
const SQLITE_PROGRESS_INTERVAL: i32 = 10_000;

async fn arm_sqlite_deadline(connection: &mut SqliteConnection, budget: Duration) -> Result<(), sea_orm::sqlx::Error> {
    let deadline = Instant::now() + budget;
    // sqlx's handler returns whether to go on; `false` interrupts the statement.
    connection.lock_handle().await?.set_progress_handler(SQLITE_PROGRESS_INTERVAL, move || Instant::now() <= deadline);
    Ok(())
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

/// Applies pending migrations, then fills the derived columns a migration
/// adds empty because only the service can compute them (sort keys). This
/// runs under a [`MigrationLock`], so that replicas starting together
/// migrate one after the other: the first applies, the others then find
/// nothing pending.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    let lock = MigrationLock::take(db).await?;
    let migrated = async {
        Migrator::up(db, None).await.context("running migrations")?;
        crate::ingest::sort_keys::refresh(db, crate::ingest::sort_keys::Scope::Missing)
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("filling sort keys: {e:?}"))
    }
    .await;
    lock.release().await;
    migrated
}

/// Fails unless every migration has been applied (`serve --no-migrate`).
pub async fn ensure_migrated(db: &DatabaseConnection) -> anyhow::Result<()> {
    let pending = Migrator::get_pending_migrations(db).await.context("reading the applied migrations")?;
    if let Some(first) = pending.first() {
        anyhow::bail!(
            "the database has {} pending migration(s), the first {}: run `scholargraph migrate` first, \
             or serve without --no-migrate",
            pending.len(),
            first.name()
        );
    }
    Ok(())
}

/// The key of the advisory lock migrations run under: "sg-migr" in ASCII.
const MIGRATION_LOCK_KEY: i64 = 0x0073_672d_6d69_6772;

/// What migrations run under, so that processes starting together on one
/// database migrate one after the other. On PostgreSQL: a session advisory
/// lock on a connection taken out of the pool, which closing releases,
/// whatever happened. On SQLite: an exclusive lock on a file beside the
/// database (the database's own write lock cannot be held across the
/// migrator's statements, which run on other connections).
enum MigrationLock {
    Postgres(sea_orm::sqlx::PgConnection),
    SqliteFile(std::fs::File),
    /// An in-memory SQLite database: one process only.
    Unneeded,
}

impl MigrationLock {
    async fn take(db: &DatabaseConnection) -> anyhow::Result<Self> {
        tracing::debug!("waiting for the migration lock");
        match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                let mut connection = pool.acquire().await.context("connecting for the migration lock")?.detach();
                sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(MIGRATION_LOCK_KEY)
                    .execute(&mut connection)
                    .await
                    .context("taking the migration lock")?;
                Ok(Self::Postgres(connection))
            }
            _ => {
                let options = db.get_sqlite_connection_pool().connect_options();
                let database = options.get_filename();
                if database.as_os_str().is_empty() || database.as_os_str() == ":memory:" {
                    return Ok(Self::Unneeded);
                }
                let mut path = database.as_os_str().to_owned();
                path.push("-migrate.lock");
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .with_context(|| format!("opening the migration lock {}", Path::new(&path).display()))?;
                let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
                    .await
                    .context("waiting for the migration lock")?
                    .context("taking the migration lock")?;
                Ok(Self::SqliteFile(file))
            }
        }
    }

    async fn release(self) {
        match self {
            // Ending the session releases its advisory locks.
            Self::Postgres(connection) => {
                if let Err(error) = sea_orm::sqlx::Connection::close(connection).await {
                    tracing::warn!(%error, "closing the migration lock's connection");
                }
            }
            // Closing the file releases its lock.
            Self::SqliteFile(file) => drop(file),
            Self::Unneeded => {}
        }
    }
}

/// What follows the change log on this instance.
struct Followers {
    search: TantivySearch,
    similar: SimilarIndex,
    changes: Arc<ChangeFeed>,
    live: Arc<LiveEvents>,
}

/// Opens the search index and starts following the change log: the feed
/// (LISTEN on PostgreSQL, polling anywhere) wakes the index's follower,
/// which first builds the index if it has none (until then the service is
/// not ready, `/readyz`, and searches answer `SERVICE_UNAVAILABLE`), and
/// feeds the live researcher events.
async fn follow_changes(config: &Config, db: &DatabaseConnection) -> anyhow::Result<Followers> {
    let search = TantivySearch::open(&config.search_index_location(), config.search_limits())
        .context("opening the search index")?;
    let similar = SimilarIndex::default();
    let head = changes::head(db).await.map_err(|e| anyhow::anyhow!("reading the change log: {e:?}"))?;
    let listen_url = (!config.is_sqlite()).then(|| config.database_url.clone());
    let feed = ChangeFeed::spawn(db.clone(), listen_url, head, changes::POLL_INTERVAL);
    tokio::spawn(crate::search::follow(search.clone(), similar.clone(), db.clone(), feed.subscribe()));
    let live = Arc::new(LiveEvents::spawn(db.clone(), feed.subscribe()));
    Ok(Followers { search, similar, changes: Arc::new(feed), live })
}

/// How long shutdown waits for WebSocket clients to take their close frame.
const SOCKETS_CLOSE_GRACE: Duration = Duration::from_secs(5);

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
        config.web.check()?;
        let auth = Authenticator::from_config(&config.auth).await.context("configuring token verification")?;
        if auth.is_none() {
            tracing::warn!("no JWT key configured (JWT_SECRET, JWT_PUBLIC_KEY_FILE or JWT_JWKS): sign-in is off");
        }
        let metrics = Arc::new(Metrics::default());
        // Migrations and the demo seed may run long on a big database: they
        // use a pool of their own, without the serving statement limit.
        let setup = connect(&config, Arc::default(), PoolRole::Batch).await?;
        if config.no_migrate {
            ensure_migrated(&setup).await?;
        } else {
            migrate(&setup).await?;
        }
        if config.is_sqlite()
            && config.seed_demo_when_empty
            && demo::catalogue_is_empty(&setup).await.map_err(|e| anyhow::anyhow!("{e:?}"))?
        {
            let outcome = demo::seed(&setup).await.map_err(|e| anyhow::anyhow!("seeding the demo dataset: {e:?}"))?;
            tracing::info!(?outcome, "seeded the demo dataset into the empty embedded database");
        }
        setup.close().await.context("closing the set-up pool")?;
        let db = connect(&config, metrics.clone(), PoolRole::Serving).await?;
        let listener = TcpListener::bind(config.bind).await.with_context(|| format!("binding {}", config.bind))?;
        let background = connect(&config, Arc::default(), PoolRole::Background).await?;
        let Followers { search, similar, changes, live } = follow_changes(&config, &background).await?;
        let rate_limiter = Arc::new(RateLimiter::new(config.limits.rate()));
        let schema = build_schema(&db, &config, &metrics, Arc::new(search.clone()), similar.clone(), live.clone());
        let pricer = Arc::new(Pricer::new(&config, rate_limiter.clone()));
        let guard = Arc::new(DocumentGuard::new(config.limits.document(), &schema.sdl()));
        let sockets = Arc::new(Sockets::new(config.limits.ws_max_connections));
        let persisted = Arc::new(PersistedQueries::new(config.web.apq_capacity()));
        let state = AppState {
            db,
            schema,
            config: Arc::new(config),
            metrics,
            auth,
            guard,
            persisted,
            rate_limiter,
            pricer,
            search,
            similar,
            changes,
            live,
            sockets,
        };
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
        let probe_pool = tokio::spawn(crate::metrics::probe_pool(self.state.metrics.clone(), self.state.db.clone()));
        let sockets = self.state.sockets.clone();
        // In-flight requests end within their time limit; the grace adds
        // room for their answers to be written.
        let drain_grace = self.state.config.limits.request_timeout() + SOCKETS_CLOSE_GRACE;
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let closing = sockets.clone();
        let (began, shutting_down) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            shutdown.await;
            closing.close_all();
            let _ = began.send(());
        };
        let serving = axum::serve(self.listener, app).with_graceful_shutdown(shutdown);
        let drain_bound = async move {
            match shutting_down.await {
                Ok(()) => tokio::time::sleep(drain_grace).await,
                Err(_) => std::future::pending().await,
            }
        };
        // axum stops accepting at the signal and waits for in-flight requests,
        // for as long as the slowest takes: bounded here.
        let served = tokio::select! {
            served = serving => served.context("serving HTTP"),
            () = drain_bound => {
                tracing::warn!(grace = ?drain_grace, "requests still running at the end of the shutdown grace; exiting");
                Ok(())
            }
        };
        // axum waited for HTTP requests, not for upgraded sockets.
        sockets.closed(SOCKETS_CLOSE_GRACE).await;
        forget_idle_clients.abort();
        probe_pool.abort();
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
