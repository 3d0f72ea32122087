//! The GraphQL endpoint, per GraphQL over HTTP: `POST /graphql` with a JSON
//! body, `GET /graphql?query=…` for queries (never mutations), and GraphiQL
//! for a browser's `GET /graphql`. Malformed or oversized requests are
//! answered with a GraphQL error that has a code, never a bare status.
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, ServerError};
use async_graphql_axum::GraphQLResponse;
use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response as HttpResponse};

use crate::domain::users;
use crate::error::AppError;
use crate::graphql::viewer::RequestViewer;
use crate::state::AppState;

/// A response holding one error with `code`, with the given HTTP status.
pub fn graphql_error_response(status: StatusCode, code: &'static str, message: &str) -> HttpResponse {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    let response = Response::from_errors(vec![error]);
    (status, GraphQLResponse::from(response)).into_response()
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

/// The signed-in viewer of a request: none without an `Authorization`
/// header; an error (401) for any token that fails, never "anonymous".
async fn viewer_of(state: &AppState, headers: &HeaderMap) -> Result<Option<RequestViewer>, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let malformed = || AppError::Unauthenticated("the Authorization header must be `Bearer <token>`".to_owned());
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(malformed());
    }
    let Some(auth) = &state.auth else {
        return Err(AppError::Unauthenticated("this server accepts no tokens: sign-in is not configured".to_owned()));
    };
    let claims = auth.verify(token.trim()).await?;
    let user_id = users::ensure(&state.db, &claims.sub, claims.orcid.as_deref()).await?;
    Ok(Some(RequestViewer { user_id, orcid: claims.orcid, roles: claims.roles }))
}

async fn execute(state: &AppState, headers: &HeaderMap, request: Request) -> HttpResponse {
    let request = match viewer_of(state, headers).await {
        Ok(Some(viewer)) => request.data(viewer),
        Ok(None) => request,
        Err(err) => return err.into_response(),
    };
    let limit = state.config.request_timeout();
    match tokio::time::timeout(limit, state.schema.execute(request)).await {
        Ok(response) => GraphQLResponse::from(response).into_response(),
        // Too expensive to answer in time: stopped, with a code like any error.
        Err(_) => graphql_error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "QUERY_TOO_COMPLEX",
            &format!("the request took longer than {} s and was stopped", limit.as_secs()),
        ),
    }
}

pub async fn post_handler(State(state): State<AppState>, headers: HeaderMap, body: Body) -> HttpResponse {
    let limit = state.config.max_body_bytes;
    let Ok(bytes) = to_bytes(body, limit).await else {
        return graphql_error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BAD_USER_INPUT",
            &format!("request body is larger than {limit} bytes"),
        );
    };
    match serde_json::from_slice::<Request>(&bytes) {
        Ok(request) if !request.query.trim().is_empty() => execute(&state, &headers, request).await,
        Ok(_) => graphql_error_response(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", "the request has no `query`"),
        Err(err) => graphql_error_response(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            &format!(
                "the body must be a JSON object with `query`, and optionally `variables` and `operationName`: {err}"
            ),
        ),
    }
}

pub async fn get_handler(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> HttpResponse {
    let query_string = uri.query().unwrap_or_default();
    if query_string.is_empty() && wants_html(&headers) {
        return Html(GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql/ws").finish())
            .into_response();
    }
    let request = match async_graphql::http::parse_query_string(query_string) {
        Ok(request) => request,
        Err(err) => {
            return graphql_error_response(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                &format!("bad query string: {err}"),
            );
        }
    };
    if is_mutation(&request) {
        let mut response = graphql_error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_USER_INPUT",
            "mutations must be sent with POST",
        );
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &headers, request).await
}

/// Whether the operation a GET request would run is a mutation. A query
/// that does not parse is left to the executor, which reports it.
fn is_mutation(request: &Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else { return false };
    let operation_type = match &request.operation_name {
        Some(name) => document
            .operations
            .iter()
            .find(|(op_name, _)| op_name.map(|n| n.as_str()) == Some(name.as_str()))
            .map(|(_, op)| op.node.ty),
        None => document.operations.iter().next().map(|(_, op)| op.node.ty),
    };
    operation_type == Some(OperationType::Mutation)
}

impl IntoResponse for AppError {
    fn into_response(self) -> HttpResponse {
        let status = match &self {
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        graphql_error_response(status, self.code(), self.message())
    }
}
