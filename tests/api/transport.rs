//! What the web frontend needs of the transport: CORS for its origins,
//! compressed answers, and automatic persisted queries (over POST and GET).
use std::io::Read;

use serde_json::{json, Value};

use crate::helpers::{error_code, operation, spawn_app, spawn_app_with, TestApp};

const FRONTEND: &str = "https://app.example.org";
const OTHER_SITE: &str = "https://elsewhere.example.com";

/// The `access-control-*` headers of a response.
fn cors_headers(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .expect("send")
}

async fn post_from(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/graphql", app.address))
        .header("origin", origin)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .expect("send")
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_succeeds_and_from_another_is_refused() {
    let app = spawn_app_with(|config| config.web.cors_allowed_origins = vec![FRONTEND.to_owned()]).await;

    let allowed = preflight(&app, FRONTEND).await;
    assert_eq!(allowed.status().as_u16(), 200);
    let header = |name: &str| allowed.headers().get(name).map(|v| v.to_str().expect("text").to_ascii_lowercase());
    assert_eq!(header("access-control-allow-origin").as_deref(), Some(FRONTEND));
    assert_eq!(header("access-control-allow-credentials").as_deref(), Some("true"));
    let allowed_headers = header("access-control-allow-headers").expect("allowed headers");
    assert!(allowed_headers.contains("authorization") && allowed_headers.contains("content-type"), "{allowed_headers}");
    assert!(header("access-control-allow-methods").expect("allowed methods").contains("post"));
    assert_eq!(header("access-control-max-age").as_deref(), Some("7200"), "the preflight is cached");

    let refused = preflight(&app, OTHER_SITE).await;
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(cors_headers(&refused), Vec::<String>::new());

    // The requests themselves: CORS headers for the frontend only. (A
    // client that is not a browser is answered either way.)
    let response = post_from(&app, FRONTEND).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], FRONTEND);
    assert_eq!(response.headers()["access-control-allow-credentials"], "true");
    let response = post_from(&app, OTHER_SITE).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(cors_headers(&response), Vec::<String>::new());
}

#[tokio::test]
async fn without_allowed_origins_there_are_no_cors_headers_at_all() {
    let app = spawn_app().await;
    let response = preflight(&app, FRONTEND).await;
    assert!(!response.status().is_success(), "{}", response.status());
    assert_eq!(cors_headers(&response), Vec::<String>::new());
    let response = post_from(&app, FRONTEND).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(cors_headers(&response), Vec::<String>::new());
}

/// POSTs `body` with `Accept-Encoding: encoding` (or none) and returns the
/// `Content-Encoding` and the body as it came over the wire.
async fn post_encoded(app: &TestApp, body: &Value, encoding: Option<&str>) -> (Option<String>, Vec<u8>) {
    let mut request = app.client.post(format!("{}/graphql", app.address)).json(body);
    if let Some(encoding) = encoding {
        request = request.header("accept-encoding", encoding);
    }
    let response = request.send().await.expect("send");
    assert_eq!(response.status().as_u16(), 200);
    let content_encoding = response.headers().get("content-encoding").map(|v| v.to_str().expect("text").to_owned());
    (content_encoding, response.bytes().await.expect("body").to_vec())
}

fn decode(encoding: &str, bytes: &[u8]) -> Value {
    let mut text = String::new();
    match encoding {
        "gzip" => flate2::read::GzDecoder::new(bytes).read_to_string(&mut text),
        "br" => brotli_decompressor::Decompressor::new(bytes, 4096).read_to_string(&mut text),
        other => panic!("unexpected encoding {other}"),
    }
    .expect("a compressed JSON body");
    serde_json::from_str(&text).expect("JSON")
}

#[tokio::test]
async fn large_answers_are_compressed_for_clients_that_accept_it_and_small_ones_are_not() {
    let app = spawn_app().await;
    let introspection =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/introspection.graphql"))
            .expect("read the introspection query");
    let large = json!({ "query": introspection });
    let (plain_encoding, plain) = post_encoded(&app, &large, None).await;
    assert_eq!(plain_encoding, None);
    let plain: Value = serde_json::from_slice(&plain).expect("JSON");
    for encoding in ["gzip", "br"] {
        let (content_encoding, wire) = post_encoded(&app, &large, Some(encoding)).await;
        assert_eq!(content_encoding.as_deref(), Some(encoding));
        let plain_len = serde_json::to_vec(&plain).expect("JSON").len();
        assert!(wire.len() * 4 < plain_len, "{encoding}: {} bytes for {plain_len}", wire.len());
        // The cost report's throttle status moves between requests; the data may not.
        assert_eq!(decode(encoding, &wire)["data"], plain["data"], "{encoding}");
    }
    let (encoding, _) = post_encoded(&app, &json!({ "query": "{ __typename }" }), Some("gzip, br")).await;
    assert_eq!(encoding, None, "a small answer is sent as is");
}

/// `extensions.persistedQuery` for `document`, hashed as Apollo clients do.
fn persisted(document: &str) -> Value {
    use sha2::{Digest, Sha256};
    let hash = format!("{:x}", Sha256::digest(document.as_bytes()));
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[tokio::test]
async fn a_persisted_query_is_served_by_its_hash_after_one_registration() {
    let app = spawn_app().await;
    let document = operation("profile.graphql");
    let variables = json!({ "slug": "marc-mezard", "worksFirst": 2 });
    let by_hash =
        json!({ "operationName": "ResearcherProfile", "variables": variables, "extensions": persisted(&document) });

    // Unknown hash: the answer Apollo clients expect, whatever the media type.
    for accept in ["application/json", "application/graphql-response+json"] {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("accept", accept)
            .json(&by_hash)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 200, "{accept}");
        assert!(response.headers()["cache-control"].to_str().expect("text").contains("no-cache"));
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound", "{body}");
        assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND");
    }
    // Counted under its own outcome, not as an unknown error.
    let metrics = app.client.get(format!("{}/metrics", app.address)).send().await.expect("send");
    let metrics = metrics.text().await.expect("body");
    let misses = "graphql_requests_total{operation=\"ResearcherProfile\",outcome=\"PERSISTED_QUERY_NOT_FOUND\"} 2";
    assert!(metrics.contains(misses), "{metrics}");

    // Registration: the document and its hash.
    let mut registration = by_hash.clone();
    registration["query"] = json!(document);
    let (status, registered) = app.post(&registration).await;
    assert_eq!(status, 200);
    assert!(registered.get("errors").is_none(), "{registered}");
    assert_eq!(registered["data"]["researcher"]["displayName"], "Marc Mézard");

    // From then on the hash alone, over POST and over GET.
    let (status, answered) = app.post(&by_hash).await;
    assert_eq!(status, 200);
    assert_eq!(answered["data"], registered["data"]);
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[
            ("operationName", "ResearcherProfile".to_owned()),
            ("variables", json!({ "slug": "marc-mezard", "worksFirst": 5 }).to_string()),
            ("extensions", persisted(&document).to_string()),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["researcher"]["works"]["edges"].as_array().map(Vec::len), Some(5));
}

#[tokio::test]
async fn a_persisted_query_can_be_registered_over_get_as_apollo_clients_do() {
    let app = spawn_app().await;
    let document = "query Name($slug: String!) { researcher(slug: $slug) { displayName } }";
    let get = |with_query: bool| {
        let mut params = vec![
            ("variables", json!({ "slug": "marc-mezard" }).to_string()),
            ("extensions", persisted(document).to_string()),
        ];
        if with_query {
            params.push(("query", document.to_owned()));
        }
        app.client.get(format!("{}/graphql", app.address)).query(&params).send()
    };
    let unknown: Value = get(false).await.expect("send").json().await.expect("json");
    assert_eq!(error_code(&unknown), "PERSISTED_QUERY_NOT_FOUND");
    let registered: Value = get(true).await.expect("send").json().await.expect("json");
    assert_eq!(registered["data"], json!({ "researcher": { "displayName": "Marc Mézard" } }));
    let answered: Value = get(false).await.expect("send").json().await.expect("json");
    assert_eq!(answered["data"], registered["data"]);
}

#[tokio::test]
async fn a_wrong_hash_is_refused_and_an_invalid_document_is_not_registered() {
    let app = spawn_app().await;
    let (_, body) = app.post(&json!({ "query": "{ __typename }", "extensions": persisted("{ somethingElse }") })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["message"], "provided sha does not match query");

    let invalid = "{ noSuchField }";
    let (_, body) = app.post(&json!({ "query": invalid, "extensions": persisted(invalid) })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let (_, body) = app.post(&json!({ "extensions": persisted(invalid) })).await;
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "only valid documents are kept: {body}");

    let (_, body) =
        app.post(&json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": "00" } } })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    // Without `query` or a persisted query there is nothing to run.
    let (status, body) = app.post(&json!({ "extensions": {} })).await;
    assert_eq!((status, error_code(&body)), (400, "BAD_USER_INPUT"));
}

#[tokio::test]
async fn the_document_caps_apply_to_a_document_named_by_its_hash() {
    let app = spawn_app().await;
    // Nested pages: n + n² objects, within the caps for small pages only.
    let document = "query Nested($n: Int!) { researchers(first: $n) { nodes { works(first: $n) { nodes { id } } } } }";
    let (_, body) =
        app.post(&json!({ "query": document, "variables": { "n": 2 }, "extensions": persisted(document) })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let (_, body) = app.post(&json!({ "variables": { "n": 2 }, "extensions": persisted(document) })).await;
    assert!(body.get("errors").is_none(), "{body}");

    let (_, body) = app.post(&json!({ "variables": { "n": 100 }, "extensions": persisted(document) })).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    let message = body["errors"][0]["message"].as_str().expect("a message");
    assert!(message.contains("objects"), "the node cap: {message}");
}
