//! `/metrics`: the instance's metrics in the Prometheus text exposition
//! format (`crate::metrics`); the pool gauges are read at each scrape.
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

/// The content type of the Prometheus text format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.sample_pool(&state.db, state.config.database_max_connections);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], state.metrics.render())
}
