//! What the web frontend needs of the transport: CORS for its origins and
//! compressed answers.
use std::io::Read;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

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
