//! Nothing runs unbounded on the database while serving: a statement past
//! the serving pool's limit is stopped by the database (PostgreSQL's
//! `statement_timeout`, SQLite's progress handler) and its connection is
//! reusable at once; waiting for a connection is bounded too. Command-line
//! pools have no statement limit.
use std::time::Duration;

use scholargraph::error::AppError;
use scholargraph::startup::{connect, PoolRole};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};

use crate::helpers::{spawn_app_with, spawn_with};

/// A statement that sleeps `seconds` on PostgreSQL, or counts to `rows`
/// on SQLite (millions a second).
fn slow_statement(db: &DatabaseConnection, seconds: u32, rows: u64) -> Statement {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!("SELECT pg_sleep({seconds})::text AS done"),
        _ => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) \
             SELECT count(*) AS done FROM c"
        ),
    };
    Statement::from_string(db.get_database_backend(), sql)
}

async fn answers_one(db: &DatabaseConnection) {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT 1 AS one"))
        .await
        .expect("the connection is reusable")
        .expect("a row");
    assert_eq!(row.try_get::<i32>("", "one").expect("one"), 1);
}

#[tokio::test]
async fn a_statement_past_its_limit_is_stopped_and_its_connection_reused() {
    let app = spawn_app_with(|c| {
        c.database_max_connections = 1;
        c.limits.statement_timeout_ms = 300;
    })
    .await;
    let started = std::time::Instant::now();
    let err =
        tokio::time::timeout(Duration::from_secs(30), app.db.query_one_raw(slow_statement(&app.db, 3, 300_000_000)))
            .await
            .expect("the statement does not hang")
            .expect_err("the statement is stopped");
    let stopped_after = started.elapsed();
    let err = AppError::from(err);
    assert_eq!(err.code(), "QUERY_TOO_COMPLEX", "{err:?}");
    assert!(err.message().contains("time limit"), "{err:?}");
    assert!(!err.message().to_lowercase().contains("select"), "no SQL in the message");
    assert!(stopped_after >= Duration::from_millis(300), "not stopped before its limit: {stopped_after:?}");
    assert!(stopped_after < Duration::from_secs(3), "stopped before it finished: {stopped_after:?}");
    // The pool's only connection is healthy again.
    answers_one(&app.db).await;
    // And the service on top of it answers.
    let data = app.data("{ researcher(slug: \"marc-mezard\") { displayName } }", serde_json::json!({})).await;
    assert_eq!(data["researcher"]["displayName"], "Marc Mézard");
}

/// Requests' statements never start parallel workers on PostgreSQL: the
/// serving pool's sessions turn them off.
#[tokio::test]
async fn serving_connections_plan_without_parallel_workers() {
    let app = spawn_with(|_| {}).await;
    if app.db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let show = Statement::from_string(DbBackend::Postgres, "SHOW max_parallel_workers_per_gather");
    let row = app.db.query_one_raw(show).await.expect("show").expect("a row");
    assert_eq!(row.try_get::<String>("", "max_parallel_workers_per_gather").expect("setting"), "0");
}

#[tokio::test]
async fn command_line_pools_have_no_statement_limit() {
    let app = spawn_with(|c| c.limits.statement_timeout_ms = 100).await;
    let mut config = scholargraph::config::Config::for_database(app.database_url.clone());
    config.limits.statement_timeout_ms = 100;
    let batch = connect(&config, Default::default(), PoolRole::Batch).await.expect("connect");
    let started = std::time::Instant::now();
    let row = batch.query_one_raw(slow_statement(&batch, 1, 3_000_000)).await.expect("runs to the end");
    assert!(row.is_some());
    assert!(started.elapsed() > Duration::from_millis(100), "the statement outlived the serving limit");
}

#[tokio::test]
async fn waiting_for_a_pooled_connection_is_bounded() {
    let app = spawn_with(|c| {
        c.database_max_connections = 1;
        c.limits.acquire_timeout_ms = 200;
    })
    .await;
    // Hold the only connection.
    let transaction = app.db.begin().await.expect("begin");
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), "SELECT 1 AS one")),
    )
    .await
    .expect("the wait is bounded")
    .expect_err("no connection is free");
    let err = AppError::from(err);
    assert_eq!(err.code(), "RATE_LIMITED", "{err:?}");
    assert!(err.retry_after().is_some());
    transaction.rollback().await.expect("rollback");
    answers_one(&app.db).await;
}
