//! What a request tells of itself: a span per request, carrying its request
//! id (the client's `x-request-id`, or a UUID the service made, echoed in
//! the answer), and once known its operation name, the viewer's user id,
//! the HTTP status and the duration; and for GraphQL requests, their
//! metrics (`crate::metrics`).
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use tracing::{field, Span};

use super::response::Outcome;
use crate::metrics::{observe, Observed};
use crate::state::AppState;

/// The header a request id travels in, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The span of one HTTP request. The fields left empty are recorded when
/// known: `operation` and `user_id` by admission, `status` and
/// `duration_ms` with the answer.
pub fn request_span(request: &Request) -> Span {
    let request_id = request.headers().get(&REQUEST_ID).and_then(|id| id.to_str().ok()).unwrap_or_default();
    tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        path = request.uri().path(),
        operation = field::Empty,
        user_id = field::Empty,
        status = field::Empty,
        duration_ms = field::Empty,
    )
}

/// Records the answer in the request's span and logs it, once per request.
pub fn on_response(response: &Response, latency: Duration, span: &Span) {
    let duration_ms = latency.as_secs_f64() * 1000.0;
    span.record("status", response.status().as_u16());
    span.record("duration_ms", duration_ms);
    tracing::info!(status = response.status().as_u16(), duration_ms, "answered");
}

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
