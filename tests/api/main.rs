//! End-to-end tests: each starts the service on a random port over a fresh
//! database (SQLite, or PostgreSQL when `DATABASE_URL` says so) and talks to
//! it over HTTP like any client.
mod helpers;

mod accounts;
mod auth;
mod bulk_load;
mod catalogue;
mod changes;
mod deployment;
mod errors;
mod fuzz;
mod graph;
mod http;
mod import;
mod limits;
mod live_events;
mod observability;
mod pagination;
mod parsed_documents;
mod playground;
mod profile;
mod rate_limits;
mod schema;
mod search;
mod statement_limits;
mod statements;
mod summaries;
mod transport;
mod websocket;
