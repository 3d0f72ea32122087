//! `catalogue_identity`: one random token per database, made when the
//! database is. Whatever an instance derives from the catalogue and keeps
//! (its search index on disk) records the token, so that state built from
//! another database (say one deleted and created again at the same URL) is
//! recognised and rebuilt, however its change log compares.
use sea_orm_migration::prelude::*;

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE catalogue_identity (id INTEGER PRIMARY KEY CHECK (id = 1), token VARCHAR(64) NOT NULL)",
    "INSERT INTO catalogue_identity (id, token) VALUES (1, CAST(gen_random_uuid() AS TEXT))",
];

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE catalogue_identity (id INTEGER PRIMARY KEY CHECK (id = 1), token VARCHAR(64) NOT NULL)",
    "INSERT INTO catalogue_identity (id, token) VALUES (1, lower(hex(randomblob(16))))",
];

const POSTGRES_DOWN: &[&str] = &["DROP TABLE catalogue_identity"];
const SQLITE_DOWN: &[&str] = POSTGRES_DOWN;

crate::per_backend_sql_migration!();
