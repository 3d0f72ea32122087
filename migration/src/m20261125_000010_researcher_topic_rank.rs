//! A researcher's main topics without reading their whole topic profile:
//! `researchers.topics_count` (distinct topics over their works, for the
//! profile's counts) and `ix_researcher_topics_rank`, which lists a
//! researcher's topics most works first. A prolific author has thousands of
//! topics; the profile shows a dozen.
use sea_orm_migration::prelude::*;

const UP: &[&str] = &[
    "ALTER TABLE researchers ADD COLUMN topics_count INTEGER NOT NULL DEFAULT 0",
    "UPDATE researchers SET topics_count = c.n FROM \
     (SELECT researcher_id, COUNT(*) AS n FROM researcher_topics GROUP BY researcher_id) AS c \
     WHERE researchers.id = c.researcher_id",
    "CREATE INDEX ix_researcher_topics_rank ON researcher_topics (researcher_id, works_count, topic_id)",
];

const DOWN: &[&str] = &["DROP INDEX ix_researcher_topics_rank", "ALTER TABLE researchers DROP COLUMN topics_count"];

crate::plain_sql_migration!();
