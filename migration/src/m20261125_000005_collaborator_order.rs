//! Keeps each co-author's display name beside the pair, so that a
//! researcher's collaborator list (most shared works first, then by name)
//! is read in order from one index instead of sorting every co-author.
use sea_orm_migration::prelude::*;

const UP: &[&str] = &[
    "ALTER TABLE collaborations ADD COLUMN coauthor_name TEXT NOT NULL DEFAULT ''",
    "UPDATE collaborations SET coauthor_name = (SELECT r.display_name FROM researchers r WHERE r.id = collaborations.coauthor_id)",
    "CREATE INDEX ix_collaborations_order ON collaborations (researcher_id, (-shared_works), coauthor_name, coauthor_id)",
];

const DOWN: &[&str] = &["DROP INDEX ix_collaborations_order", "ALTER TABLE collaborations DROP COLUMN coauthor_name"];

crate::plain_sql_migration!();
