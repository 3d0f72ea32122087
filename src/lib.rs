//! scholargraph: the GraphQL API behind researcher profile pages.
//!
//! `config` and `startup` build the application; `http` wires routes; `auth`
//! verifies tokens; `graphql` is the API (types, queries, mutations,
//! subscriptions, loaders, pagination); `domain` holds every SQL statement of
//! the serving side; `ingest` is the batch write side (seeds, bulk loads,
//! recount); `metrics` and `telemetry` are what the service tells of itself.
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod search;
pub mod startup;
pub mod state;
pub mod telemetry;
