//! CORS for the web frontend (`CORS_ALLOWED_ORIGINS`): pages of those
//! origins may call `/graphql` with credentials and the `Authorization`
//! header; a browser may cache a preflight's answer for `CORS_MAX_AGE_SECS`.
//!
//! Every CORS header is for the allowed origins only. A preflight from any
//! other origin is refused (403, no CORS header), and a request from one is
//! answered without CORS headers, so its page cannot read the answer. With
//! no origin configured there is no CORS at all (same-origin pages, such as
//! the playground, need none).
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

use crate::config::Web;
use crate::state::AppState;

/// The configured origins, exactly as browsers send `Origin`.
#[derive(Clone)]
struct AllowedOrigins(Arc<[HeaderValue]>);

impl AllowedOrigins {
    fn allow(&self, origin: &HeaderValue) -> bool {
        self.0.contains(origin)
    }
}

/// `router` with CORS for the configured origins, if there are any.
pub fn apply(router: Router<AppState>, web: &Web) -> Router<AppState> {
    // `Web::check` has refused anything that is not an origin.
    let origins: Vec<HeaderValue> =
        web.cors_origins().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    if origins.is_empty() {
        return router;
    }
    let allowed = AllowedOrigins(origins.clone().into());
    let credentials = allowed.clone();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(AllowCredentials::predicate(move |origin, _| credentials.allow(origin)))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(web.cors_max_age_secs));
    router.layer(cors).layer(middleware::from_fn_with_state(allowed, refuse_foreign_preflight))
}

/// tower-http answers every preflight 200 with the allowed methods and
/// headers, and leaves out only `Access-Control-Allow-Origin` for an origin
/// it does not allow. Here such a preflight gets a plain 403 instead.
async fn refuse_foreign_preflight(State(allowed): State<AllowedOrigins>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let is_preflight =
        request.method() == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    match headers.get(header::ORIGIN) {
        Some(origin) if is_preflight && !allowed.allow(origin) => {
            (StatusCode::FORBIDDEN, "this origin may not call the API from a browser").into_response()
        }
        _ => next.run(request).await,
    }
}
