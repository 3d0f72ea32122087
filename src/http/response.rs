//! GraphQL over HTTP responses: the media type the client accepts, the
//! status each kind of outcome gets, and `Retry-After` for rate limits.
//!
//! - `Accept: application/graphql-response+json` gets that media type; a
//!   request error (nothing executed: parse, validation, limits) is a 400 and
//!   its body has no `data`.
//! - `application/json`, `*/*` or no `Accept` get `application/json`, and a
//!   well-formed request is a 200 whatever its GraphQL errors.
//! - An `Accept` that allows neither is answered 406.
//! - Whatever the media type: 401 for a refused token, 429 with
//!   `Retry-After` over the rate limit, 503 past the time limit, 500 for an
//!   internal error.
//! - `PersistedQueryNotFound` is a 200 that no cache keeps, whatever the
//!   media type, as Apollo Server answers it: Apollo clients then send the
//!   document, and some treat a 400 as "persisted queries unsupported" and
//!   stop using them.
use std::collections::BTreeMap;

use async_graphql::{Response, ServerError, Value};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use serde::Serialize;

use crate::error::AppError;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Json,
    GraphqlResponseJson,
}

impl Media {
    /// The media type the client's `Accept` prefers among those served;
    /// `None` when it accepts neither.
    pub fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(Self::Json);
        };
        let mut best: Option<(f32, Self)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media_range = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let media = match media_range.as_str() {
                GRAPHQL_RESPONSE_JSON => Self::GraphqlResponseJson,
                JSON | "application/*" | "*/*" => Self::Json,
                _ => continue,
            };
            let better = match best {
                None => true,
                // On equal quality the more specific graphql-response+json wins.
                Some((q, current)) => {
                    quality > q || (quality == q && media == Self::GraphqlResponseJson && current != media)
                }
            };
            if quality > 0.0 && better {
                best = Some((quality, media));
            }
        }
        best.map(|(_, media)| media)
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Json => "application/json; charset=utf-8",
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
        })
    }
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, Value>,
}

/// Nothing ran: no data, and only errors without a path (parse, validation,
/// limits, rate limit); field errors have a path.
pub fn is_request_error(response: &Response) -> bool {
    response.data == Value::Null && !response.errors.is_empty() && response.errors.iter().all(|e| e.path.is_empty())
}

/// A GraphQL response as HTTP.
pub fn render(media: Media, response: &Response) -> HttpResponse {
    let request_error = is_request_error(response);
    let code_of = |e: &ServerError| {
        e.extensions.as_ref().and_then(|x| x.get("code")).and_then(|c| match c {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
    };
    let rate_limited = response.errors.iter().find(|e| code_of(e).as_deref() == Some("RATE_LIMITED"));
    if let Some(error) = rate_limited.filter(|_| request_error) {
        let wait = error.extensions.as_ref().and_then(|x| x.get("retryAfterSeconds")).and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            _ => None,
        });
        return with_retry_after(render_with(media, StatusCode::TOO_MANY_REQUESTS, response, true), wait);
    }
    let status =
        if request_error && media == Media::GraphqlResponseJson { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    render_with(media, status, response, request_error)
}

/// How a GraphQL answer ended, for the request's metrics: `ok` or the first
/// error's code (`crate::metrics::outcome_label`). Every GraphQL answer over
/// HTTP carries it in its extensions.
#[derive(Debug, Clone, Copy)]
pub struct Outcome(pub &'static str);

fn render_with(media: Media, status: StatusCode, response: &Response, request_error: bool) -> HttpResponse {
    let body = Body {
        data: (!request_error).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| br#"{"errors":[{"message":"internal error"}]}"#.to_vec());
    let mut http = (status, json).into_response();
    http.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
    let outcome = crate::metrics::outcome_label(crate::metrics::observe::first_error_code(&response.errors));
    http.extensions_mut().insert(Outcome(outcome));
    http
}

fn with_retry_after(mut response: HttpResponse, seconds: Option<u64>) -> HttpResponse {
    if let Some(value) = seconds.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A request refused before it ran: its error as a GraphQL response, with
/// the status its kind calls for.
pub fn refuse(media: Media, error: AppError) -> HttpResponse {
    let status = match &error {
        AppError::PersistedQueryNotFound => {
            let response = Response::from_errors(vec![error.into_server_error()]);
            let mut http = render_with(media, StatusCode::OK, &response, true);
            http.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache, must-revalidate"));
            return http;
        }
        AppError::Unauthenticated(_) => Some(StatusCode::UNAUTHORIZED),
        AppError::Internal => Some(StatusCode::INTERNAL_SERVER_ERROR),
        AppError::Timeout(_) => Some(StatusCode::SERVICE_UNAVAILABLE),
        _ => None,
    };
    // `render` turns a RATE_LIMITED error into 429 with `Retry-After`.
    let response = Response::from_errors(vec![error.into_server_error()]);
    match status {
        Some(status) => render_with(media, status, &response, true),
        None => render(media, &response),
    }
}

/// A request that is not a GraphQL request at all (bad body, method, media
/// type): `status`, with one error that has `code`.
pub fn reject(media: Media, status: StatusCode, code: &'static str, message: &str) -> HttpResponse {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    render_with(media, status, &Response::from_errors(vec![error]), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<Media> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).expect("header"));
        Media::negotiate(&headers)
    }

    #[test]
    fn the_accepted_media_type_is_answered() {
        assert_eq!(Media::negotiate(&HeaderMap::new()), Some(Media::Json));
        assert_eq!(accept("application/json"), Some(Media::Json));
        assert_eq!(accept("application/graphql-response+json"), Some(Media::GraphqlResponseJson));
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Some(Media::GraphqlResponseJson)
        );
        assert_eq!(accept("application/json, application/graphql-response+json;q=0.5"), Some(Media::Json));
        assert_eq!(accept("*/*"), Some(Media::Json));
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/json;q=0"), None);
    }

    #[test]
    fn request_errors_have_no_data_and_a_400_only_for_graphql_response_json() {
        let response = Response::from_errors(vec![AppError::TooComplex("too big".into()).into_server_error()]);
        assert_eq!(render(Media::Json, &response).status(), StatusCode::OK);
        assert_eq!(render(Media::GraphqlResponseJson, &response).status(), StatusCode::BAD_REQUEST);
        let limited = AppError::rate_limited("slow down", std::time::Duration::from_millis(1500));
        let http = refuse(Media::Json, limited);
        assert_eq!(http.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(http.headers()[header::RETRY_AFTER], "2");
    }
}
