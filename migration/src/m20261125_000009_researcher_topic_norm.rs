//! `researchers.topic_norm2`: the squared length of the researcher's topic
//! profile (the sum of `researcher_topics.works_count²`), the denominator of
//! the similar-researchers cosine. Without it, scoring a candidate read their
//! whole topic profile, thousands of rows for a prolific author.
use sea_orm_migration::prelude::*;

const UP: &[&str] = &[
    "ALTER TABLE researchers ADD COLUMN topic_norm2 BIGINT NOT NULL DEFAULT 0",
    "UPDATE researchers SET topic_norm2 = c.n FROM \
     (SELECT researcher_id, SUM(CAST(works_count AS BIGINT) * works_count) AS n FROM researcher_topics \
      GROUP BY researcher_id) AS c WHERE researchers.id = c.researcher_id",
];

const DOWN: &[&str] = &["ALTER TABLE researchers DROP COLUMN topic_norm2"];

crate::plain_sql_migration!();
