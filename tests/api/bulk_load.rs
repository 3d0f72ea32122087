//! A bulk load that fails midway leaves nothing behind: no rows, and every
//! index, foreign key and trigger it set aside is back and enforced.
use scholargraph::ingest::synthetic::{self, SyntheticSize};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::{spawn_with, TestApp};
use crate::summaries::{assert_summaries_agree, count};

/// The schema's foreign keys, indexes and triggers, one line each, sorted.
async fn schema_objects(app: &TestApp) -> Vec<String> {
    let backend = app.db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT 'key ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS s \
             FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace \
             UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() \
             UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"
        }
        _ => {
            "SELECT 'key ' || m.name || '.' || k.\"from\" || ' -> ' || k.\"table\" || '.' || k.\"to\" AS s \
             FROM sqlite_master m, pragma_foreign_key_list(m.name) k WHERE m.type = 'table' \
             UNION ALL SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master \
             WHERE type IN ('index', 'trigger') ORDER BY 1"
        }
    };
    let rows = app.db.query_all_raw(Statement::from_string(backend, sql)).await.expect("read the catalogue");
    rows.iter().map(|row| row.try_get::<String>("", "s").expect("s")).collect()
}

async fn execute(app: &TestApp, sql: &str) -> Result<(), sea_orm::DbErr> {
    app.db.execute_unprepared(sql).await.map(|_| ())
}

/// Rows that point at a researcher, work, topic or user that does not exist:
/// both keys of each link table the load writes, and one key it does not
/// set aside (claims). (The other keys are compared by `schema_objects`. A
/// researcher with a dangling affiliation is left out: on SQLite, the
/// failed insert, which fires the full-text trigger, leaves its pooled
/// connection reading an old snapshot, which then sees none of the load.)
const DANGLING: &[&str] = &[
    "INSERT INTO follows (user_id, researcher_id, created_at) VALUES (1, 999999, CURRENT_TIMESTAMP)",
    "INSERT INTO follows (user_id, researcher_id, created_at) VALUES (999999, 1, CURRENT_TIMESTAMP)",
    "INSERT INTO authorships (work_id, researcher_id, position, work_year) VALUES (999999, 1, 1, 2020)",
    "INSERT INTO authorships (work_id, researcher_id, position, work_year) VALUES (1, 999999, 1, 2020)",
    "INSERT INTO work_topics (work_id, topic_id) VALUES (1, 999999)",
    "INSERT INTO work_topics (work_id, topic_id) VALUES (999999, 1)",
    "INSERT INTO claims (user_id, researcher_id, status, created_at) \
     VALUES (1, 999999, 'pending', CURRENT_TIMESTAMP)",
];

/// Every row of `DANGLING` is refused, by a foreign key.
async fn assert_foreign_keys_enforced(app: &TestApp) {
    for sql in DANGLING {
        match execute(app, sql).await {
            Ok(()) => panic!("a dangling reference was accepted: {sql}"),
            // SQLite: "FOREIGN KEY constraint failed"; PostgreSQL: "violates foreign key constraint".
            Err(err) => assert!(err.to_string().to_lowercase().contains("foreign key"), "{sql}: {err}"),
        }
    }
}

const LOADED: &[&str] = &[
    "institutions",
    "topics",
    "researchers",
    "works",
    "authorships",
    "work_topics",
    "follows",
    "collaborations",
    "researcher_topics",
    "researcher_facets",
];

#[tokio::test]
async fn a_bulk_load_that_fails_midway_leaves_no_rows_and_every_key_and_index_in_place() {
    let app = spawn_with(|c| c.seed_demo_when_empty = false).await;
    // Someone signed in before the load: user 1 exists, so the load fails
    // when it writes its synthetic users, after the catalogue, the bylines
    // and the topic links, with the indexes and keys set aside.
    execute(&app, "INSERT INTO users (id, subject, created_at) VALUES (1, 'early-bird', CURRENT_TIMESTAMP)")
        .await
        .expect("a user");
    let schema = schema_objects(&app).await;
    assert!(schema.iter().filter(|s| s.starts_with("key ")).count() >= 8, "foreign keys: {schema:#?}");
    let size = SyntheticSize {
        researchers: 200,
        works: 1_000,
        topics: 30,
        institutions: 10,
        follows: 300,
        prolific_works: 100,
        largest_byline: 20,
        seed: 3,
    };

    let failed = synthetic::seed(&app.db, &size, false).await;
    assert!(failed.is_err(), "the load should fail on the existing user 1");
    assert_eq!(schema_objects(&app).await, schema, "indexes, keys or triggers differ after the failed load");
    for table in LOADED {
        assert_eq!(count(&app, &format!("SELECT COUNT(*) AS n FROM {table}")).await, 0, "rows left in {table}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM users").await, 1);
    assert_foreign_keys_enforced(&app).await;

    // Nothing was left half-done: once the clash is gone, the same load
    // runs into the same database and restores everything it set aside.
    execute(&app, "DELETE FROM users").await.expect("remove the user");
    let report = synthetic::seed(&app.db, &size, false).await.expect("the load runs again");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM works").await, report.works as i64);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM authorships").await, report.authorships as i64);
    assert_eq!(schema_objects(&app).await, schema, "indexes, keys or triggers differ after the load");
    assert_foreign_keys_enforced(&app).await;
    assert_summaries_agree(&app).await;
}
