//! Bad input of every kind gets a GraphQL error with a code, never a panic,
//! a 500 or a leaked SQL message.
use serde_json::json;

use crate::helpers::{error_code, spawn_app, spawn_with};

#[tokio::test]
async fn malformed_queries_are_bad_user_input() {
    let app = spawn_app().await;
    let response = app.graphql("{ researcher(slug: \"marc-mezard\") { slug ", json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let response = app.graphql("{ researcher(slug: \"marc-mezard\") { noSuchField } }", json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let response = app.graphql("query($s: String!) { researcher(slug: $s) { slug } }", json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let response = app.graphql("{ researchers(first: \"ten\") { totalCount } }", json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_body_that_is_not_a_graphql_request_is_a_400_with_a_code() {
    let app = spawn_app().await;
    for body in ["not json", "{\"variables\": {}}", "[1, 2]"] {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let json: serde_json::Value = response.json().await.expect("json");
        assert_eq!(error_code(&json), "BAD_USER_INPUT", "{body}");
    }
}

#[tokio::test]
async fn oversized_requests_are_refused_with_a_code() {
    let app = spawn_with(|c| c.limits.max_body_bytes = 4096).await;
    let padding = "a".repeat(8000);
    let (status, body) = app.post(&json!({ "query": format!("{{ __typename }} # {padding}") })).await;
    assert_eq!(status, 413);
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

#[tokio::test]
async fn too_costly_queries_are_refused() {
    let app = spawn_app().await;
    let wide =
        "{ researchers(first: 100) { nodes { works(first: 100) { nodes { authorships { researcher { slug } } } } } } }";
    let response = app.graphql(wide, json!({})).await;
    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX");
    assert!(response["errors"][0]["message"].as_str().is_some_and(|m| m.contains("objects")), "{response}");

    // Under the node cap, but every byline of a 100-work page asks for
    // 50 topics per author: async-graphql's cost limit refuses it.
    let costly = "{ works(first: 100) { nodes { authorships { researcher { topics(first: 50) { topic { id name } worksCount share } } } } } }";
    let response = app.graphql(costly, json!({})).await;
    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX");
    assert!(response["errors"][0]["message"].as_str().is_some_and(|m| m.contains("too complex")), "{response}");
}

#[tokio::test]
async fn malformed_ids_are_bad_user_input_and_unknown_ids_are_null() {
    let app = spawn_app().await;
    for id in ["garbage", "V29yazo", "UmVzZWFyY2hlcjotMQ", "Zm9vOjE"] {
        let response = app.graphql("query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{id}");
    }
    // A work id where a researcher id is expected.
    let work = app.data("{ works(first: 1) { nodes { id } } }", json!({})).await["works"]["nodes"][0]["id"].clone();
    let response = app.graphql("query($id: ID!) { researcher(id: $id) { slug } }", json!({ "id": work })).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let response = app.graphql("{ node(id: \"UmVzZWFyY2hlcjo5OTk5OTk\") { id } }", json!({})).await;
    assert!(response.get("errors").is_none());
    assert_eq!(response["data"]["node"], json!(null));
    let response =
        app.graphql("{ node(id: \"UmVzZWFyY2hlcjo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5\") { id } }", json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
}

#[tokio::test]
async fn mutations_need_a_signed_in_user() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let response = app.operation("mutations.graphql", "Follow", json!({ "researcherId": id })).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    let viewer = app.operation("viewer.graphql", "Viewer", json!({})).await;
    assert_eq!(viewer["data"]["viewer"], json!(null));
    let claims = app.operation("viewer.graphql", "PendingClaims", json!({})).await;
    assert_eq!(error_code(&claims), "UNAUTHENTICATED");
}
