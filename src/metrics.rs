//! The figures the service keeps about itself, served at `/metrics` in the
//! Prometheus text format (README, "Metrics").
//!
//! Each instance owns a `prometheus::Registry` of its own, kept in
//! `AppState`, rather than the crate's process-wide default registry (or a
//! global `metrics` recorder): the tests start many instances in one process
//! and each asserts on its own instance's figures, which a global registry
//! would mix. A production process runs one instance, so it loses nothing.
//!
//! Operation names come from clients, so they are never labels as sent: a
//! name the service knows ([`KNOWN_OPERATIONS`]) is its own label, any other
//! name is `other`, and an operation without a name is `anonymous`. Outcomes
//! are `ok` or the first error's code, from the service's fixed set.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sea_orm::{DatabaseConnection, DatabaseConnectionType};

use crate::error::AppError;

/// The operations the frontend sends (the contract's, `tests/operations/`):
/// the only operation names that become labels. A test checks that this list
/// is the contract's. Persisted documents, once the service keeps a list of
/// its own, belong here too; names a client registers at will do not.
pub const KNOWN_OPERATIONS: &[&str] = &[
    "AcademicProfile",
    "Claim",
    "Collaborators",
    "Follow",
    "Invite",
    "PendingClaims",
    "ResearchGraph",
    "ResearcherEvents",
    "ResearcherProfile",
    "ResearcherWorks",
    "RespondToInvite",
    "ReviewClaim",
    "SearchResearchers",
    "SearchWorks",
    "Topic",
    "Unfollow",
    "UpdateProfile",
    "Viewer",
    "WithdrawClaim",
    "Work",
];

/// The label of an operation that has a name the service does not know.
pub const OTHER_OPERATION: &str = "other";
/// The label of an operation without a name.
pub const ANONYMOUS_OPERATION: &str = "anonymous";

/// The label an operation name is counted under.
pub fn operation_label(name: Option<&str>) -> &'static str {
    match name {
        None => ANONYMOUS_OPERATION,
        Some(name) => KNOWN_OPERATIONS.iter().find(|known| **known == name).copied().unwrap_or(OTHER_OPERATION),
    }
}

/// The outcome label of an answer: `ok`, or its first error's code.
pub fn outcome_label(first_error_code: Option<&str>) -> &'static str {
    match first_error_code {
        None => "ok",
        // The service's own codes (there should be no other) are labels;
        // anything else is counted as `ERROR`.
        Some(code) => AppError::CODES.iter().find(|known| **known == code).copied().unwrap_or("ERROR"),
    }
}

/// Which charge on a client's budget was refused.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// The fee every request pays before its document is read.
    Fee,
    /// The operation's cost, once validated.
    Cost,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Self::Fee => "fee",
            Self::Cost => "cost",
        }
    }
}

/// Every metric of one instance, registered in its registry.
pub struct Metrics {
    registry: Registry,
    sql_statements: IntCounter,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    query_cost: HistogramVec,
    request_statements: HistogramVec,
    rate_limit_refusals: IntCounterVec,
    loader_batch_size: HistogramVec,
    pool_connections: IntGaugeVec,
    pool_acquire: Histogram,
    websocket_connections: IntGauge,
    subscriptions: IntGauge,
}

/// Buckets for counts that grow roughly geometrically (batch sizes, SQL
/// statements per request).
const COUNT_BUCKETS: &[f64] = &[0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 100.0, 200.0, 500.0, 1000.0];

/// Buckets for query cost, up to the default cost limit of 50 000.
const COST_BUCKETS: &[f64] = &[1.0, 10.0, 50.0, 100.0, 500.0, 1_000.0, 2_500.0, 5_000.0, 10_000.0, 25_000.0, 50_000.0];

/// Buckets for waits on the pool: most are microseconds, a saturated pool
/// waits up to `DATABASE_ACQUIRE_TIMEOUT_MS` (5 s by default).
const ACQUIRE_BUCKETS: &[f64] = &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("scholargraph".to_owned()), None).unwrap_or_else(|_| Registry::new());
        let sql_statements = IntCounter::with_opts(Opts::new(
            "sql_statements_total",
            "SQL statements the serving pool executed since the process started.",
        ));
        let requests = IntCounterVec::new(
            Opts::new("graphql_requests_total", "GraphQL requests answered, by operation and outcome."),
            &["operation", "outcome"],
        );
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "Time from a GraphQL request's arrival to its answer (queries and mutations), by operation.",
            ),
            &["operation"],
        );
        let query_cost = HistogramVec::new(
            HistogramOpts::new("graphql_query_cost", "The cost charged for each priced operation, by operation.")
                .buckets(COST_BUCKETS.to_vec()),
            &["operation"],
        );
        let request_statements = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_sql_statements",
                "SQL statements one query or mutation ran (a shared loader batch counts for the request that \
                 opened it), by operation.",
            )
            .buckets(COUNT_BUCKETS.to_vec()),
            &["operation"],
        );
        let rate_limit_refusals = IntCounterVec::new(
            Opts::new(
                "rate_limit_refusals_total",
                "Requests refused for a client's rate limit, by the charge refused (fee or cost).",
            ),
            &["charge"],
        );
        let loader_batch_size = HistogramVec::new(
            HistogramOpts::new("dataloader_batch_size", "Keys per DataLoader batch, by loader.")
                .buckets(COUNT_BUCKETS.to_vec()),
            &["loader"],
        );
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Connections of the serving pool, at scrape time: `open` (idle or in use), `idle`, and `max`.",
            ),
            &["state"],
        );
        let pool_acquire = Histogram::with_opts(
            HistogramOpts::new(
                "db_pool_acquire_seconds",
                "Time to take a connection from the serving pool, probed once a second (see README).",
            )
            .buckets(ACQUIRE_BUCKETS.to_vec()),
        );
        let websocket_connections =
            IntGauge::with_opts(Opts::new("websocket_connections", "GraphQL WebSocket connections open."));
        let subscriptions = IntGauge::with_opts(Opts::new("graphql_subscriptions", "GraphQL subscriptions running."));
        // Every name, help text and label set above is fixed and valid, so
        // building and registering cannot fail; the expects state that.
        let metrics = Self {
            sql_statements: sql_statements.expect("a valid counter"),
            requests: requests.expect("a valid counter"),
            request_duration: request_duration.expect("a valid histogram"),
            query_cost: query_cost.expect("a valid histogram"),
            request_statements: request_statements.expect("a valid histogram"),
            rate_limit_refusals: rate_limit_refusals.expect("a valid counter"),
            loader_batch_size: loader_batch_size.expect("a valid histogram"),
            pool_connections: pool_connections.expect("a valid gauge"),
            pool_acquire: pool_acquire.expect("a valid histogram"),
            websocket_connections: websocket_connections.expect("a valid gauge"),
            subscriptions: subscriptions.expect("a valid gauge"),
            registry,
        };
        metrics.register_all();
        // Refusals are counted from zero, so that a rate over them has a start.
        for charge in [Refusal::Fee, Refusal::Cost] {
            metrics.rate_limit_refusals.with_label_values(&[charge.label()]);
        }
        metrics
    }

    fn register_all(&self) {
        let collectors: [Box<dyn prometheus::core::Collector>; 11] = [
            Box::new(self.sql_statements.clone()),
            Box::new(self.requests.clone()),
            Box::new(self.request_duration.clone()),
            Box::new(self.query_cost.clone()),
            Box::new(self.request_statements.clone()),
            Box::new(self.rate_limit_refusals.clone()),
            Box::new(self.loader_batch_size.clone()),
            Box::new(self.pool_connections.clone()),
            Box::new(self.pool_acquire.clone()),
            Box::new(self.websocket_connections.clone()),
            Box::new(self.subscriptions.clone()),
        ];
        for collector in collectors {
            if let Err(err) = self.registry.register(collector) {
                tracing::error!(%err, "a metric could not be registered");
            }
        }
    }

    /// Counts one statement of the serving pool, for the process and for
    /// the request running it (SeaORM's metric callback).
    pub fn record_sql_statement(&self) {
        self.sql_statements.inc();
        observe::count_statement();
    }

    /// SQL statements executed since start (for the N+1 test and benchmarks).
    pub fn sql_statements(&self) -> u64 {
        self.sql_statements.get()
    }

    /// Records an answered operation. `duration` is `None` for a
    /// subscription, whose length is the client's choice.
    pub fn record_operation(&self, operation: &Observed, outcome: &'static str, duration: Option<Duration>) {
        let label = operation.label();
        self.requests.with_label_values(&[label, outcome]).inc();
        if let Some(duration) = duration {
            self.request_duration.with_label_values(&[label]).observe(duration.as_secs_f64());
            self.request_statements.with_label_values(&[label]).observe(operation.statements() as f64);
        }
        if let Some(cost) = operation.cost.get() {
            self.query_cost.with_label_values(&[label]).observe(*cost as f64);
        }
    }

    pub fn record_refusal(&self, refusal: Refusal) {
        self.rate_limit_refusals.with_label_values(&[refusal.label()]).inc();
    }

    /// The batch-size histogram of the loader named `loader`.
    pub fn loader_batch_sizes(&self, loader: &str) -> Histogram {
        self.loader_batch_size.with_label_values(&[loader])
    }

    /// Open WebSocket connections, as a gauge a connection holds up while it lives.
    pub fn websocket_connection(&self) -> GaugeHeld {
        GaugeHeld::new(&self.websocket_connections)
    }

    /// Running subscriptions, as a gauge a subscription holds up while it runs.
    pub fn subscription(&self) -> GaugeHeld {
        GaugeHeld::new(&self.subscriptions)
    }

    /// The serving pool's size, read now (gauges are sampled at scrape time).
    pub fn sample_pool(&self, db: &DatabaseConnection, max: u32) {
        let (open, idle) = match &db.inner {
            DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
                let pool = db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
                let pool = db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => return,
        };
        self.pool_connections.with_label_values(&["open"]).set(i64::from(open));
        self.pool_connections.with_label_values(&["idle"]).set(i64::try_from(idle).unwrap_or(i64::MAX));
        self.pool_connections.with_label_values(&["max"]).set(i64::from(max));
    }

    /// Times taking one connection from the serving pool and giving it back.
    ///
    /// SeaORM acquires inside each statement call and exposes no hook around
    /// it, and sqlx's `before_acquire` does not see when the wait began. So a
    /// probe takes a connection once a second, as a request would (same
    /// queue, same checks), and records how long that took: the wait a
    /// request arriving then would have had. It holds the connection for no
    /// statement, and returns it at once.
    pub async fn probe_acquire(&self, db: &DatabaseConnection) {
        let started = std::time::Instant::now();
        let acquired = match &db.inner {
            DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
                db.get_postgres_connection_pool().acquire().await.map(drop)
            }
            DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
                db.get_sqlite_connection_pool().acquire().await.map(drop)
            }
            _ => return,
        };
        match acquired {
            Ok(()) => self.pool_acquire.observe(started.elapsed().as_secs_f64()),
            // A timed-out wait is still a wait; other failures say nothing of the queue.
            Err(sea_orm::sqlx::Error::PoolTimedOut) => self.pool_acquire.observe(started.elapsed().as_secs_f64()),
            Err(err) => tracing::debug!(%err, "the pool probe could not take a connection"),
        }
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_else(|err| {
            tracing::error!(%err, "the metrics could not be encoded");
            String::new()
        })
    }
}

/// How often the pool probe takes a connection.
pub const ACQUIRE_PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Probes the serving pool until the task is aborted (see [`Metrics::probe_acquire`]).
pub async fn probe_pool(metrics: Arc<Metrics>, db: DatabaseConnection) {
    let mut every = tokio::time::interval(ACQUIRE_PROBE_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        metrics.probe_acquire(&db).await;
    }
}

/// One step of a gauge, held up until dropped (so an aborted task gives it back).
pub struct GaugeHeld(IntGauge);

impl GaugeHeld {
    fn new(gauge: &IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for GaugeHeld {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What is learnt about one operation while it runs: its label (once its
/// document is read), its cost (once priced) and the SQL statements it ran.
#[derive(Debug, Default)]
pub struct Observed {
    label: OnceLock<&'static str>,
    cost: OnceLock<u64>,
    statements: AtomicU64,
}

impl Observed {
    pub fn label(&self) -> &'static str {
        self.label.get().copied().unwrap_or(ANONYMOUS_OPERATION)
    }

    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}

/// The operation the current task works for, so that code far from the
/// transport (admission, the SQL callback, loader batches) can add to it.
pub mod observe {
    use std::future::Future;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    use async_graphql::parser::types::DocumentOperations;
    use async_graphql::{Request, ServerError, Value};

    use super::{operation_label, Observed};

    /// The most characters of an operation name a log line carries.
    const MAX_LOGGED_NAME: usize = 100;

    tokio::task_local! {
        static CURRENT: Arc<Observed>;
    }

    /// The operation of the current task, if any.
    pub fn current() -> Option<Arc<Observed>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    /// Runs `future` working for `operation` (or for none).
    pub async fn within<F: Future>(operation: Option<Arc<Observed>>, future: F) -> F::Output {
        match operation {
            Some(operation) => CURRENT.scope(operation, future).await,
            None => future.await,
        }
    }

    /// Runs `f` working for `operation`.
    pub fn within_sync<R>(operation: Arc<Observed>, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(operation, f)
    }

    /// Names the current operation, in its metrics (the first name given
    /// sticks) and in the current span. `None` leaves it unnamed for now.
    pub fn named(name: Option<&str>) {
        let Some(name) = name else { return };
        let _ = CURRENT.try_with(|operation| operation.label.set(operation_label(Some(name))));
        // The span carries the name as sent, cut short: it is the client's text.
        let shown = name.char_indices().nth(MAX_LOGGED_NAME).map_or(name, |(end, _)| &name[..end]);
        tracing::Span::current().record("operation", shown);
    }

    /// Names the signed-in viewer in the current span.
    pub fn viewer(user_id: Option<i64>) {
        if let Some(user_id) = user_id {
            tracing::Span::current().record("user_id", user_id);
        }
    }

    /// Records the current operation's cost, from its `extensions.cost`.
    pub fn priced(cost: &Value) {
        let requested = match cost {
            Value::Object(fields) => fields.get("requestedQueryCost"),
            _ => None,
        };
        if let Some(Value::Number(requested)) = requested {
            if let Some(requested) = requested.as_u64() {
                let _ = CURRENT.try_with(|operation| operation.cost.set(requested));
            }
        }
    }

    /// The name of the only operation of a request's parsed document, when
    /// the request does not select one itself.
    pub fn only_operation_name(request: &mut Request) -> Option<String> {
        match &request.parsed_query().ok()?.operations {
            DocumentOperations::Multiple(operations) if operations.len() == 1 => {
                operations.keys().next().map(|name| name.to_string())
            }
            _ => None,
        }
    }

    /// The code of an answer's first error.
    pub fn first_error_code(errors: &[ServerError]) -> Option<&str> {
        let error = errors.first()?;
        match error.extensions.as_ref()?.get("code")? {
            Value::String(code) => Some(code),
            _ => Some("ERROR"),
        }
    }

    pub(super) fn count_statement() {
        let _ = CURRENT.try_with(|operation| operation.statements.fetch_add(1, Ordering::Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_operation_names_become_labels() {
        assert_eq!(operation_label(Some("ResearcherProfile")), "ResearcherProfile");
        assert_eq!(operation_label(Some("MyOwnQuery")), "other");
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(outcome_label(None), "ok");
        assert_eq!(outcome_label(Some("RATE_LIMITED")), "RATE_LIMITED");
        assert_eq!(outcome_label(Some("SOMETHING_NEW")), "ERROR");
    }

    #[test]
    fn every_code_the_service_answers_is_an_outcome_of_its_own() {
        let message = || "m".to_owned();
        let errors = [
            AppError::NotFound(message()),
            AppError::BadInput(message()),
            AppError::Unauthenticated(message()),
            AppError::Forbidden(message()),
            AppError::Conflict(message()),
            AppError::TooComplex(message()),
            AppError::Timeout(message()),
            AppError::RateLimited { message: message(), retry_after: Duration::from_secs(1) },
            AppError::Unavailable(message()),
            AppError::PersistedQueryNotFound,
            AppError::Internal,
        ];
        for error in &errors {
            // Exhaustive: a new variant does not compile until it is listed above.
            match error {
                AppError::NotFound(_)
                | AppError::BadInput(_)
                | AppError::Unauthenticated(_)
                | AppError::Forbidden(_)
                | AppError::Conflict(_)
                | AppError::TooComplex(_)
                | AppError::Timeout(_)
                | AppError::RateLimited { .. }
                | AppError::Unavailable(_)
                | AppError::PersistedQueryNotFound
                | AppError::Internal => {}
            }
            assert_eq!(outcome_label(Some(error.code())), error.code());
        }
    }

    #[test]
    fn the_registry_renders_every_metric_family() {
        let metrics = Metrics::new();
        metrics.record_operation(&Observed::default(), "ok", Some(Duration::from_millis(3)));
        let text = metrics.render();
        assert!(
            text.contains("scholargraph_graphql_requests_total{operation=\"anonymous\",outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("# TYPE scholargraph_sql_statements_total counter"), "{text}");
    }
}
