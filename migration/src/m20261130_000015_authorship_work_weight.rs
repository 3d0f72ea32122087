//! The research graph picks a researcher's works with the longest bylines
//! first. Ordering by `works.authors_count` through a join reads and sorts
//! every work of the researcher (20 000 for the most prolific author), so the
//! byline length is kept beside each authorship, like `work_year`, and an
//! index reads the first `limit` in order.
use sea_orm_migration::prelude::*;

const UP: &[&str] = &[
    "ALTER TABLE authorships ADD COLUMN work_authors_count INTEGER NOT NULL DEFAULT 0",
    "UPDATE authorships SET work_authors_count = w.authors_count FROM works w WHERE w.id = authorships.work_id",
    "CREATE INDEX ix_authorships_researcher_weight ON authorships (researcher_id, work_authors_count DESC, work_id)",
];

const DOWN: &[&str] =
    &["DROP INDEX ix_authorships_researcher_weight", "ALTER TABLE authorships DROP COLUMN work_authors_count"];

crate::plain_sql_migration!();
