//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the
//! database answers too, and the search index has been built).
use axum::extract::State;
use axum::http::StatusCode;

use crate::search::IndexStatus;
use crate::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    if let IndexStatus::Building { done, total } = state.search.status() {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("building the search index: {done} of {total} documents"));
    }
    if !state.similar.is_loaded() {
        return (StatusCode::SERVICE_UNAVAILABLE, "loading the topic profiles".to_owned());
    }
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(err) => {
            tracing::warn!(%err, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable".to_owned())
        }
    }
}
