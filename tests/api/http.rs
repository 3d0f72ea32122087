//! HTTP surface: GraphiQL, GET queries, health and readiness.
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn a_browser_gets_graphiql_at_the_endpoint() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("graphiql"), "GraphiQL page");
}

#[tokio::test]
async fn queries_can_be_sent_with_get_but_mutations_cannot() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "{ researcher(slug: \"marc-mezard\") { displayName } }")])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"], json!({ "researcher": { "displayName": "Marc Mézard" } }));

    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "mutation { followResearcher(input: { researcherId: \"x\" }) { researcher { id } } }")])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await.expect("json");
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(format!("{}{path}", app.address)).send().await.expect("send");
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
}

#[tokio::test]
async fn the_response_media_type_follows_accept() {
    let app = spawn_app().await;
    let send = |accept: &'static str, query: &'static str| {
        app.client
            .post(format!("{}/graphql", app.address))
            .header("accept", accept)
            .json(&json!({ "query": query }))
            .send()
    };
    let response = send("application/json", "{ __typename }").await.expect("send");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().expect("text").starts_with("application/json"));

    let response = send("application/graphql-response+json", "{ __typename }").await.expect("send");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("text")
        .starts_with("application/graphql-response+json"));

    // A request error: 200 for application/json, 400 without `data` for
    // application/graphql-response+json.
    let response = send("application/json", "{ noSuchField }").await.expect("send");
    assert_eq!(response.status().as_u16(), 200);
    let response = send("application/graphql-response+json", "{ noSuchField }").await.expect("send");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("json");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    let response = send("text/html", "{ __typename }").await.expect("send");
    assert_eq!(response.status().as_u16(), 406);
}

#[tokio::test]
async fn a_post_not_declared_json_is_refused_415() {
    let app = spawn_app().await;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = app.client.post(format!("{}/graphql", app.address)).body(r#"{"query":"{ __typename }"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("send");
        assert_eq!(response.status().as_u16(), 415, "{content_type:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
    }
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn batched_requests_are_refused_with_a_clear_error() {
    let app = spawn_app().await;
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]);
    let (status, body) = app.post(&batch).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("batched")), "{body}");
}
