//! The GraphQL endpoint, per GraphQL over HTTP: `POST /graphql` with a JSON
//! body, `GET /graphql?query=…` for queries (never mutations), and the
//! GraphiQL playground for a browser's `GET /graphql` (unless `GRAPHIQL=false`).
//! A request may name a persisted query by its hash instead of sending
//! `query`. Malformed or oversized requests are answered with a GraphQL
//! error that has a code, never a bare status. Answers of more than
//! [`COMPRESS_ABOVE_BYTES`] are compressed (gzip or Brotli) for clients that
//! accept it.
use async_graphql::parser::types::OperationType;
use async_graphql::Request;
use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response as HttpResponse;
use axum::routing::get;
use axum::Router;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;

use super::admission::{admit, execute, Caller};
use super::client::ClientAddress;
use super::response::{refuse, reject, render, Media};
use super::{cors, playground};
use crate::domain::users;
use crate::error::AppError;
use crate::graphql::persisted::PersistedQueries;
use crate::graphql::viewer::RequestViewer;
use crate::state::AppState;

/// Answers up to this size go uncompressed: they fit in a packet or two,
/// and compressing them would cost more time than it saves.
pub const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// `/graphql` over HTTP and the playground's files, with compression and
/// CORS. (The WebSocket endpoint has neither: it is not fetched by CORS
/// rules, and its messages are small.)
pub fn routes(state: &AppState) -> Router<AppState> {
    let config = &state.config;
    let metrics = axum::middleware::from_fn_with_state(state.clone(), super::observability::graphql_metrics);
    let mut router = Router::new().route("/graphql", get(get_handler).post(post_handler).layer(metrics));
    if config.web.graphiql {
        router = router.merge(playground::routes());
    }
    let compression =
        CompressionLayer::new().compress_when(DefaultPredicate::new().and(SizeAbove::new(COMPRESS_ABOVE_BYTES)));
    cors::apply(router.layer(compression), &config.web)
}

/// Whether the request carries a document, or names a persisted one.
fn has_document(request: &Request) -> bool {
    !request.query.trim().is_empty() || PersistedQueries::is_named(request)
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

/// The signed-in viewer of a request: none without an `Authorization`
/// header; an error (401) for any token that fails, never "anonymous".
pub async fn viewer_of(state: &AppState, authorization: Option<&str>) -> Result<Option<RequestViewer>, AppError> {
    let Some(value) = authorization else { return Ok(None) };
    let malformed = || AppError::Unauthenticated("the Authorization header must be `Bearer <token>`".to_owned());
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(malformed());
    }
    let Some(auth) = &state.auth else {
        return Err(AppError::Unauthenticated("this server accepts no tokens: sign-in is not configured".to_owned()));
    };
    let claims = auth.verify(token.trim()).await?;
    let user_id = users::ensure(&state.db, &claims.sub, claims.orcid.as_deref())
        .await
        .map_err(|error| super::admission::outage_aware(state, error))?;
    Ok(Some(RequestViewer { user_id, orcid: claims.orcid, roles: claims.roles }))
}

/// Which HTTP method a request came with: GET may not run mutations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

async fn run(
    state: &AppState,
    media: Media,
    method: Method,
    address: ClientAddress,
    headers: &HeaderMap,
    request: Request,
) -> HttpResponse {
    let authorization = match headers.get(header::AUTHORIZATION).map(HeaderValue::to_str) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => {
            return refuse(media, AppError::Unauthenticated("the Authorization header is not valid text".into()))
        }
    };
    let viewer = match viewer_of(state, authorization).await {
        Ok(viewer) => viewer,
        Err(err) => return refuse(media, err),
    };
    let admitted = match admit(state, &Caller::new(viewer, address.0), request) {
        Ok(admitted) => admitted,
        Err(err) => return refuse(media, err),
    };
    if method == Method::Get && admitted.operation == Some(OperationType::Mutation) {
        let mut response =
            reject(media, StatusCode::METHOD_NOT_ALLOWED, "BAD_USER_INPUT", "mutations must be sent with POST");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    match execute(state, admitted).await {
        Ok(response) => render(media, &response),
        Err(err) => refuse(media, err),
    }
}

/// Whether the body is declared JSON. Anything else (notably `text/plain`,
/// which browsers send cross-site without a CORS preflight) is refused.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

pub async fn post_handler(
    State(state): State<AppState>,
    address: ClientAddress,
    headers: HeaderMap,
    body: Body,
) -> HttpResponse {
    let Some(media) = Media::negotiate(&headers) else { return not_acceptable() };
    if !is_json(&headers) {
        return reject(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            "the body must be sent as `Content-Type: application/json`",
        );
    }
    let limit = state.config.limits.max_body_bytes;
    let Ok(bytes) = to_bytes(body, limit).await else {
        return reject(
            media,
            StatusCode::PAYLOAD_TOO_LARGE,
            "BAD_USER_INPUT",
            &format!("request body is larger than {limit} bytes"),
        );
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return reject(
            media,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "batched requests (a JSON array) are not supported: send one operation per request",
        );
    }
    match serde_json::from_slice::<Request>(&bytes) {
        Ok(request) if has_document(&request) => run(&state, media, Method::Post, address, &headers, request).await,
        Ok(_) => reject(media, StatusCode::BAD_REQUEST, "BAD_USER_INPUT", "the request has no `query`"),
        Err(err) => reject(
            media,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            &format!(
                "the body must be a JSON object with `query`, and optionally `variables` and `operationName`: {err}"
            ),
        ),
    }
}

pub async fn get_handler(
    State(state): State<AppState>,
    address: ClientAddress,
    headers: HeaderMap,
    uri: Uri,
) -> HttpResponse {
    let query_string = uri.query().unwrap_or_default();
    if query_string.is_empty() && state.config.web.graphiql && wants_html(&headers) {
        return playground::page(&headers);
    }
    let Some(media) = Media::negotiate(&headers) else { return not_acceptable() };
    let mut response = match async_graphql::http::parse_query_string(query_string) {
        Ok(request) if has_document(&request) => run(&state, media, Method::Get, address, &headers, request).await,
        Ok(_) => reject(media, StatusCode::BAD_REQUEST, "BAD_USER_INPUT", "the request has no `query`"),
        Err(err) => reject(media, StatusCode::BAD_REQUEST, "BAD_USER_INPUT", &format!("bad query string: {err}")),
    };
    // The answer's media type (and for a browser, the page) follows `Accept`.
    response.headers_mut().append(header::VARY, HeaderValue::from_static("accept"));
    response
}

fn not_acceptable() -> HttpResponse {
    reject(
        Media::Json,
        StatusCode::NOT_ACCEPTABLE,
        "BAD_USER_INPUT",
        "this endpoint answers application/graphql-response+json or application/json",
    )
}
