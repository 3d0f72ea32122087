//! `catalogue_changes`: the change log (an outbox) of the catalogue. Every
//! write that changes a researcher, a work, an authorship, a follow or a
//! claim adds rows here in its own transaction (`scholargraph::domain::changes`),
//! so derived state (the search index, live events, a public feed) follows
//! one feed that commits or rolls back with the write itself.
//!
//! Readers keep a position. On SQLite writers are serialized, so ids commit
//! in order and `id` alone is the position (`AUTOINCREMENT`: an id is never
//! reused, even after the newest rows are deleted). On PostgreSQL a sequence
//! value can commit after a larger one, so each row also holds the writing
//! transaction's id (`xid`): a reader takes rows below its snapshot's `xmin`
//! (every such transaction has ended) in `(xid, id)` order, which the index
//! serves.
use sea_orm_migration::prelude::*;

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE catalogue_changes (id BIGSERIAL PRIMARY KEY, subject VARCHAR(16) NOT NULL, \
     subject_id BIGINT NOT NULL, kind VARCHAR(32) NOT NULL, researcher_id BIGINT, \
     created_at TIMESTAMPTZ NOT NULL, xid XID8 NOT NULL DEFAULT pg_current_xact_id())",
    "CREATE INDEX ix_catalogue_changes_xid ON catalogue_changes (xid, id)",
];

const SQLITE_UP: &[&str] =
    &["CREATE TABLE catalogue_changes (id INTEGER PRIMARY KEY AUTOINCREMENT, subject VARCHAR(16) NOT NULL, \
     subject_id BIGINT NOT NULL, kind VARCHAR(32) NOT NULL, researcher_id BIGINT, \
     created_at timestamp_with_timezone_text NOT NULL)"];

const POSTGRES_DOWN: &[&str] = &["DROP TABLE catalogue_changes"];
const SQLITE_DOWN: &[&str] = POSTGRES_DOWN;

crate::per_backend_sql_migration!();
