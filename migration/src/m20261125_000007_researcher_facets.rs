//! `researcher_facets`: works per researcher by year, by kind and by venue,
//! so the statistics of a prolific author read a few hundred summary rows
//! instead of grouping all of their works on every view. Kept by
//! `scholargraph::domain::catalogue` in the same transaction as a new work,
//! and rebuilt from the base tables after a bulk load.
//!
//! `facet` is `year`, `kind` or `venue`, and `value` the year (as text), the
//! kind or the venue. Works without a year or a venue count only under the
//! facets they have.
use sea_orm_migration::prelude::*;

const UP: &[&str] = &[
    "CREATE TABLE researcher_facets (researcher_id BIGINT NOT NULL REFERENCES researchers (id) ON DELETE CASCADE, \
     facet VARCHAR(8) NOT NULL, value TEXT NOT NULL, works_count INTEGER NOT NULL, \
     PRIMARY KEY (researcher_id, facet, value))",
    "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
     SELECT researcher_id, 'year', CAST(work_year AS VARCHAR(8)), COUNT(*) FROM authorships \
     WHERE work_year <> 0 GROUP BY researcher_id, work_year",
    "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
     SELECT a.researcher_id, 'kind', w.kind, COUNT(*) FROM authorships a JOIN works w ON w.id = a.work_id \
     GROUP BY a.researcher_id, w.kind",
    "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
     SELECT a.researcher_id, 'venue', w.venue, COUNT(*) FROM authorships a JOIN works w ON w.id = a.work_id \
     WHERE w.venue IS NOT NULL GROUP BY a.researcher_id, w.venue",
];

const DOWN: &[&str] = &["DROP TABLE researcher_facets"];

crate::plain_sql_migration!();
