//! HTTP wiring: routes, request logging and limits.
pub mod admission;
pub mod client;
mod cors;
mod graphql;
mod health;
mod metrics;
mod playground;
pub mod response;
pub mod ws;

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::state::AppState;

pub use graphql::viewer_of;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .merge(graphql::routes(&state.config))
        .route("/graphql/ws", get(ws::handler))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}
