//! Drops `ix_collaborations_rank`: every read of `collaborations` in order
//! now uses `ix_collaborations_order` (most shared works first, then name),
//! and the unused index cost a 30 M-row build on every bulk load and a write
//! on every new pair.
use sea_orm_migration::prelude::*;

const UP: &[&str] = &["DROP INDEX ix_collaborations_rank"];

const DOWN: &[&str] =
    &["CREATE INDEX ix_collaborations_rank ON collaborations (researcher_id, shared_works, coauthor_id)"];

crate::plain_sql_migration!();
