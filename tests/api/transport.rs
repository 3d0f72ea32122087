//! What the web frontend needs of the transport: CORS for its origins.
use serde_json::json;

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
