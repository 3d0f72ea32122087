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
