//! Summary tables and denormalised columns that keep the profile's heavy
//! reads bounded at scale. Every write that changes their inputs updates
//! them in the same transaction (`scholargraph::domain::catalogue`), and the
//! bulk loader rebuilds them from the base tables.
//!
//! - `collaborations`: each ordered co-author pair with shared works and
//!   first/last year (the collaborator list and counts);
//! - `researcher_topics`: works per researcher and topic (topic profiles,
//!   topic counts, similar researchers);
//! - `authorships.work_year`: the work's year (0 when unknown) beside the
//!   researcher, so a researcher's works page is one index range in year order;
//! - `works.authors_count`: byline length (the research graph's work weight).
use sea_orm_migration::prelude::*;

const UP: &[&str] = &[
    "CREATE TABLE collaborations (researcher_id BIGINT NOT NULL REFERENCES researchers (id) ON DELETE CASCADE, \
     coauthor_id BIGINT NOT NULL REFERENCES researchers (id) ON DELETE CASCADE, shared_works INTEGER NOT NULL, \
     first_year INTEGER, last_year INTEGER, PRIMARY KEY (researcher_id, coauthor_id))",
    "CREATE TABLE researcher_topics (researcher_id BIGINT NOT NULL REFERENCES researchers (id) ON DELETE CASCADE, \
     topic_id BIGINT NOT NULL REFERENCES topics (id) ON DELETE CASCADE, works_count INTEGER NOT NULL, \
     PRIMARY KEY (researcher_id, topic_id))",
    "ALTER TABLE authorships ADD COLUMN work_year INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE works ADD COLUMN authors_count INTEGER NOT NULL DEFAULT 0",
    "UPDATE authorships SET work_year = COALESCE((SELECT w.year FROM works w WHERE w.id = authorships.work_id), 0)",
    "UPDATE works SET authors_count = (SELECT COUNT(*) FROM authorships a WHERE a.work_id = works.id)",
    "INSERT INTO collaborations (researcher_id, coauthor_id, shared_works, first_year, last_year) \
     SELECT a.researcher_id, b.researcher_id, COUNT(*), MIN(w.year), MAX(w.year) FROM authorships a \
     JOIN authorships b ON b.work_id = a.work_id AND b.researcher_id <> a.researcher_id \
     JOIN works w ON w.id = a.work_id GROUP BY a.researcher_id, b.researcher_id",
    "INSERT INTO researcher_topics (researcher_id, topic_id, works_count) \
     SELECT a.researcher_id, wt.topic_id, COUNT(*) FROM authorships a \
     JOIN work_topics wt ON wt.work_id = a.work_id GROUP BY a.researcher_id, wt.topic_id",
    "CREATE INDEX ix_collaborations_rank ON collaborations (researcher_id, shared_works, coauthor_id)",
    "CREATE INDEX ix_researcher_topics_topic ON researcher_topics (topic_id, works_count, researcher_id)",
    "CREATE INDEX ix_authorships_researcher_year ON authorships (researcher_id, work_year, work_id)",
];

const DOWN: &[&str] = &[
    "DROP INDEX ix_authorships_researcher_year",
    "ALTER TABLE works DROP COLUMN authors_count",
    "ALTER TABLE authorships DROP COLUMN work_year",
    "DROP TABLE researcher_topics",
    "DROP TABLE collaborations",
];

crate::plain_sql_migration!();
