//! HTTP wiring: routes, request logging and limits.
pub mod admission;
pub mod client;
mod cors;
mod graphql;
mod health;
mod metrics;
pub mod observability;
mod playground;
pub mod response;
pub mod ws;

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::state::AppState;

pub use graphql::viewer_of;

pub fn router(state: AppState) -> Router {
    // Layers run outermost last: the request id is set (kept from the
    // client, or made) before the span that carries it opens, and copied
    // to the answer.
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .merge(graphql::routes(&state))
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
