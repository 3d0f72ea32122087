//! Full-text search over researcher names and work titles and abstracts:
//! `tsvector` columns with GIN indexes on PostgreSQL, FTS5 tables kept in
//! step by triggers on SQLite.
use sea_orm_migration::prelude::*;

pub(crate) const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE researchers ADD COLUMN search_vector tsvector \
     GENERATED ALWAYS AS (to_tsvector('simple', display_name)) STORED",
    "CREATE INDEX ix_researchers_search ON researchers USING GIN (search_vector)",
    "ALTER TABLE works ADD COLUMN search_vector tsvector GENERATED ALWAYS AS \
     (setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', coalesce(abstract, '')), 'B')) STORED",
    "CREATE INDEX ix_works_search ON works USING GIN (search_vector)",
];

pub(crate) const POSTGRES_DOWN: &[&str] =
    &["ALTER TABLE works DROP COLUMN search_vector", "ALTER TABLE researchers DROP COLUMN search_vector"];

pub(crate) const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE researchers_fts USING fts5(display_name, content='researchers', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER researchers_fts_insert AFTER INSERT ON researchers BEGIN \
       INSERT INTO researchers_fts(rowid, display_name) VALUES (new.id, new.display_name); END",
    "CREATE TRIGGER researchers_fts_delete AFTER DELETE ON researchers BEGIN \
       INSERT INTO researchers_fts(researchers_fts, rowid, display_name) VALUES ('delete', old.id, old.display_name); END",
    "CREATE TRIGGER researchers_fts_update AFTER UPDATE OF display_name ON researchers BEGIN \
       INSERT INTO researchers_fts(researchers_fts, rowid, display_name) VALUES ('delete', old.id, old.display_name); \
       INSERT INTO researchers_fts(rowid, display_name) VALUES (new.id, new.display_name); END",
    "CREATE VIRTUAL TABLE works_fts USING fts5(title, abstract, content='works', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER works_fts_insert AFTER INSERT ON works BEGIN \
       INSERT INTO works_fts(rowid, title, abstract) VALUES (new.id, new.title, new.abstract); END",
    "CREATE TRIGGER works_fts_delete AFTER DELETE ON works BEGIN \
       INSERT INTO works_fts(works_fts, rowid, title, abstract) VALUES ('delete', old.id, old.title, old.abstract); END",
    "CREATE TRIGGER works_fts_update AFTER UPDATE OF title, abstract ON works BEGIN \
       INSERT INTO works_fts(works_fts, rowid, title, abstract) VALUES ('delete', old.id, old.title, old.abstract); \
       INSERT INTO works_fts(rowid, title, abstract) VALUES (new.id, new.title, new.abstract); END",
];

pub(crate) const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER works_fts_insert",
    "DROP TRIGGER works_fts_delete",
    "DROP TRIGGER works_fts_update",
    "DROP TRIGGER researchers_fts_insert",
    "DROP TRIGGER researchers_fts_delete",
    "DROP TRIGGER researchers_fts_update",
    "DROP TABLE works_fts",
    "DROP TABLE researchers_fts",
];

crate::per_backend_sql_migration!();
