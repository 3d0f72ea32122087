//! Where each imported record came from, and the other names a researcher
//! is known by. `work_sources` and `researcher_sources` hold one row per
//! (source, id in that source): the import matches records through them
//! (an OpenAlex work id, an OpenAlex author id) and a later merge or
//! correction can trace every fact back to its source.
use sea_orm_migration::prelude::*;

const UP: &[&str] = &[
    "CREATE TABLE work_sources (
        source VARCHAR(16) NOT NULL,
        source_id VARCHAR(128) NOT NULL,
        work_id BIGINT NOT NULL REFERENCES works (id) ON DELETE CASCADE,
        PRIMARY KEY (source, source_id)
    )",
    "CREATE INDEX ix_work_sources_work ON work_sources (work_id)",
    "CREATE TABLE researcher_sources (
        source VARCHAR(16) NOT NULL,
        source_id VARCHAR(128) NOT NULL,
        researcher_id BIGINT NOT NULL REFERENCES researchers (id) ON DELETE CASCADE,
        PRIMARY KEY (source, source_id)
    )",
    "CREATE INDEX ix_researcher_sources_researcher ON researcher_sources (researcher_id)",
    "CREATE TABLE researcher_names (
        researcher_id BIGINT NOT NULL REFERENCES researchers (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        PRIMARY KEY (researcher_id, name)
    )",
];

const DOWN: &[&str] = &["DROP TABLE researcher_names", "DROP TABLE researcher_sources", "DROP TABLE work_sources"];

crate::plain_sql_migration!();
