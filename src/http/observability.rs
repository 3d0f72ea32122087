//! The metrics of GraphQL requests over HTTP (`crate::metrics`).
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::response::Outcome;
use crate::metrics::{observe, Observed};
use crate::state::AppState;

/// Measures a GraphQL request over HTTP: its operation (named by
/// admission), outcome, duration, cost and SQL statements. Requests that
/// were not answered as GraphQL (GraphiQL's page) are not counted.
pub async fn graphql_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let operation = Arc::new(Observed::default());
    let started = Instant::now();
    let response = observe::within(Some(operation.clone()), next.run(request)).await;
    if let Some(Outcome(outcome)) = response.extensions().get::<Outcome>() {
        state.metrics.record_operation(&operation, outcome, Some(started.elapsed()));
    }
    response
}
