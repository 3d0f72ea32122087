//! Drops the databases' own full-text search (`tsvector` columns and GIN
//! indexes on PostgreSQL, FTS5 tables and their triggers on SQLite): search
//! now goes through the service's embedded index, the same on both
//! databases, so these only slowed every write. Down restores them as
//! `_000003` made them.
use sea_orm_migration::prelude::*;

use crate::m20261125_000003_create_search as database_search;

const POSTGRES_UP: &[&str] = database_search::POSTGRES_DOWN;
const SQLITE_UP: &[&str] = database_search::SQLITE_DOWN;
const POSTGRES_DOWN: &[&str] = database_search::POSTGRES_UP;
const SQLITE_DOWN: &[&str] = database_search::SQLITE_UP;

crate::per_backend_sql_migration!();
