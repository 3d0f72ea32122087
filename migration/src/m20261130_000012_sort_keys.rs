//! Text orders the same on both databases. SQLite compares text byte by
//! byte; PostgreSQL by the database's collation, which on a real cluster
//! (ICU `en-US`, say) puts "b" before "C". Researchers get `sort_name`, a
//! folded key written beside `display_name` (the service computes it, see
//! `domain::names`), and `collaborations` keeps the co-author's sort name for
//! its order index. On PostgreSQL those keys, topic names and the title
//! order index compare with `COLLATE "C"`, which is SQLite's byte order.
//! Replaced indexes get new names: on SQLite, another pooled connection's
//! cached schema can still hold the dropped name and refuse to reuse it.
use sea_orm_migration::prelude::*;

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE researchers ADD COLUMN sort_name TEXT COLLATE \"C\" NOT NULL DEFAULT ''",
    "DROP INDEX ix_researchers_display_name",
    "CREATE INDEX ix_researchers_sort_name ON researchers (sort_name, id)",
    "DROP INDEX ix_researchers_affiliation",
    "CREATE INDEX ix_researchers_affiliation_sort_name ON researchers (affiliation_id, sort_name, id)",
    "ALTER TABLE collaborations RENAME COLUMN coauthor_name TO coauthor_sort_name",
    "ALTER TABLE collaborations ALTER COLUMN coauthor_sort_name TYPE TEXT COLLATE \"C\"",
    "ALTER TABLE topics ALTER COLUMN name TYPE VARCHAR COLLATE \"C\"",
    "DROP INDEX ix_works_title",
    "CREATE INDEX ix_works_title_bytes ON works ((title COLLATE \"C\"), id)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX ix_works_title_bytes",
    "CREATE INDEX ix_works_title ON works (title, id)",
    "ALTER TABLE topics ALTER COLUMN name TYPE VARCHAR COLLATE \"default\"",
    "ALTER TABLE collaborations ALTER COLUMN coauthor_sort_name TYPE TEXT COLLATE \"default\"",
    "ALTER TABLE collaborations RENAME COLUMN coauthor_sort_name TO coauthor_name",
    "DROP INDEX ix_researchers_affiliation_sort_name",
    "CREATE INDEX ix_researchers_affiliation ON researchers (affiliation_id, display_name, id)",
    "DROP INDEX ix_researchers_sort_name",
    "CREATE INDEX ix_researchers_display_name ON researchers (display_name, id)",
    "ALTER TABLE researchers DROP COLUMN sort_name",
];

const SQLITE_UP: &[&str] = &[
    "ALTER TABLE researchers ADD COLUMN sort_name TEXT NOT NULL DEFAULT ''",
    "DROP INDEX ix_researchers_display_name",
    "CREATE INDEX ix_researchers_sort_name ON researchers (sort_name, id)",
    "DROP INDEX ix_researchers_affiliation",
    "CREATE INDEX ix_researchers_affiliation_sort_name ON researchers (affiliation_id, sort_name, id)",
    "ALTER TABLE collaborations RENAME COLUMN coauthor_name TO coauthor_sort_name",
];

const SQLITE_DOWN: &[&str] = &[
    "ALTER TABLE collaborations RENAME COLUMN coauthor_sort_name TO coauthor_name",
    "DROP INDEX ix_researchers_affiliation_sort_name",
    "CREATE INDEX ix_researchers_affiliation ON researchers (affiliation_id, display_name, id)",
    "DROP INDEX ix_researchers_sort_name",
    "CREATE INDEX ix_researchers_display_name ON researchers (display_name, id)",
    "ALTER TABLE researchers DROP COLUMN sort_name",
];

crate::per_backend_sql_migration!();
