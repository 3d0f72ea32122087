//! DOIs are case-insensitive, and sources write them in either case: a
//! lookup compares `LOWER(doi)`, which this index serves on both databases.
use sea_orm_migration::prelude::*;

const UP: &[&str] = &["CREATE INDEX ix_works_doi_lower ON works (LOWER(doi))"];

const DOWN: &[&str] = &["DROP INDEX ix_works_doi_lower"];

crate::plain_sql_migration!();
