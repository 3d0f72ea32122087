//! Each client spends cost from a bucket that refills at a steady rate:
//! past it, requests are answered 429 with `Retry-After`. Every answered
//! request reports its cost and the budget left in `extensions.cost`.
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app_with, token};

const PROFILE: &str = "{ researcher(slug: \"marc-mezard\") { displayName works(first: 5) { nodes { title } } } }";

#[tokio::test]
async fn answered_requests_report_their_cost_and_the_budget_left() {
    let app = spawn_app_with(|_| {}).await;
    let first = app.graphql(PROFILE, json!({})).await;
    let cost = &first["extensions"]["cost"];
    let requested = cost["requestedQueryCost"].as_u64().expect("cost");
    // researcher (1) + displayName (1) + works: 5 rows × (nodes + title).
    assert!(requested >= 10, "{cost}");
    let throttle = &cost["throttleStatus"];
    assert_eq!(throttle["maximumAvailable"], 100_000);
    let left = throttle["currentlyAvailable"].as_u64().expect("left");
    assert!(left < 100_000 && left >= 100_000 - requested - 1, "{cost}");
    assert_eq!(throttle["restoreRate"], 5_000.0, "300 000 a minute");
}

#[tokio::test]
async fn a_burst_past_the_rate_limit_is_answered_429_with_retry_after() {
    let app = spawn_app_with(|c| {
        c.limits.rate_limit_cost_per_minute = 60;
        c.limits.rate_limit_burst = 300;
        c.limits.max_complexity = 150;
        c.limits.mutation_cost = 100;
    })
    .await;
    let mut refused = None;
    for _ in 0..50 {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .json(&json!({ "query": PROFILE }))
            .send()
            .await
            .expect("send");
        if response.status().as_u16() == 429 {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status().as_u16(), 200);
    }
    let response = refused.expect("the burst is refused before 50 requests");
    let retry_after: u64 = response.headers()["retry-after"].to_str().expect("text").parse().expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(error_code(&body), "RATE_LIMITED");
    assert!(body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some());

    // Another client (a signed-in user) has a bucket of its own.
    let (status, body) = app.post_as(&token("someone", None, &[]), &json!({ "query": PROFILE })).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn mutations_cost_more_than_queries() {
    let app = spawn_app_with(|_| {}).await;
    let id = app.researcher_id("marc-mezard").await;
    let follow = app
        .operation_as(&token("follower", None, &[]), "mutations.graphql", "Follow", json!({ "researcherId": id }))
        .await;
    assert!(follow.get("errors").is_none(), "{follow}");
    let mutation_cost = follow["extensions"]["cost"]["requestedQueryCost"].as_u64().expect("cost");
    assert!(mutation_cost >= 100, "a mutation pays the surcharge: {mutation_cost}");
}
