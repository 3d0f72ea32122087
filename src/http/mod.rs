//! HTTP wiring: routes, request logging and limits.
pub mod admission;
pub mod client;
mod graphql;
mod health;
mod metrics;
pub mod observability;
pub mod response;
pub mod ws;

use axum::middleware::from_fn_with_state;
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::state::AppState;

pub use graphql::viewer_of;

pub fn router(state: AppState) -> Router {
    let graphql_metrics = from_fn_with_state(state.clone(), observability::graphql_metrics);
    // Layers run outermost last: the request id is set (kept from the
    // client, or made) before the span that carries it opens, and copied
    // to the answer.
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .route("/graphql", get(graphql::get_handler).post(graphql::post_handler).layer(graphql_metrics))
        .route("/graphql/ws", get(ws::handler))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .layer(PropagateRequestIdLayer::new(observability::REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(observability::request_span)
                .on_request(())
                .on_response(observability::on_response),
        )
        .layer(SetRequestIdLayer::new(observability::REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}
