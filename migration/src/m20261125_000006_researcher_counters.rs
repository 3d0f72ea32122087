//! Counters beside each researcher for what the profile shows on every
//! view: distinct co-authors, those with two or more shared works, and works
//! linked to an external source (arXiv id or DOI). Without them a prolific
//! author's profile counted tens of thousands of rows per view.
use sea_orm_migration::prelude::*;

const UP: &[&str] = &[
    "ALTER TABLE researchers ADD COLUMN collaborators_count INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE researchers ADD COLUMN close_collaborators_count INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE researchers ADD COLUMN linked_works_count INTEGER NOT NULL DEFAULT 0",
    "UPDATE researchers SET collaborators_count = c.n, close_collaborators_count = c.close FROM \
     (SELECT researcher_id, COUNT(*) AS n, SUM(CASE WHEN shared_works >= 2 THEN 1 ELSE 0 END) AS close \
      FROM collaborations GROUP BY researcher_id) AS c WHERE researchers.id = c.researcher_id",
    "UPDATE researchers SET linked_works_count = c.n FROM \
     (SELECT a.researcher_id AS researcher_id, COUNT(*) AS n FROM authorships a JOIN works w ON w.id = a.work_id \
      WHERE w.arxiv_id IS NOT NULL OR w.doi IS NOT NULL GROUP BY a.researcher_id) AS c \
     WHERE researchers.id = c.researcher_id",
];

const DOWN: &[&str] = &[
    "ALTER TABLE researchers DROP COLUMN linked_works_count",
    "ALTER TABLE researchers DROP COLUMN close_collaborators_count",
    "ALTER TABLE researchers DROP COLUMN collaborators_count",
];

crate::plain_sql_migration!();
