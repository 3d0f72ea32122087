//! GraphQL over WebSocket (`graphql-transport-ws`) at `/graphql/ws`: the
//! protocol's handshake and close codes, and the same sign-in, caps and
//! errors as over HTTP.
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, spawn_with, token, TestApp, TEST_SECRET};

const MEZARD: &str = r#"{ researcher(slug: "marc-mezard") { displayName } }"#;
const VIEWER: &str = "{ viewer { roles } }";
/// Goes through the researcher loader, so a long loader delay holds it open.
const BY_ID: &str = "query($id: ID!) { researcher(id: $id) { displayName } }";

fn code(error: &Value) -> &str {
    error["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no code in {error:#}"))
}

/// An app whose loaders wait a second before they read, so that an
/// operation reading through one stays running that long.
async fn spawn_slow_app(max_operations: usize) -> (TestApp, String) {
    let app = spawn_app_with(|config| {
        config.loader_delay_micros = 1_000_000;
        config.limits.ws_max_operations = max_operations;
    })
    .await;
    let id = app.researcher_id("marc-mezard").await;
    (app, id)
}

#[tokio::test]
async fn a_token_in_connection_init_is_acknowledged_and_so_is_an_anonymous_init() {
    let app = spawn_app().await;

    let mut signed_in = app.ws_connect().await;
    signed_in.init(Some(json!({ "Authorization": format!("Bearer {}", token("alice", None, &["moderator"])) }))).await;
    let viewer = signed_in.run("1", VIEWER, json!({})).await;
    assert_eq!(viewer["data"]["viewer"]["roles"], json!(["moderator"]), "{viewer:#}");

    // The lowercase key is read too.
    let mut lowercase = app.ws_connect().await;
    lowercase.init(Some(json!({ "authorization": format!("Bearer {}", token("bob", None, &[])) }))).await;
    assert_eq!(lowercase.run("1", VIEWER, json!({})).await["data"]["viewer"]["roles"], json!([]));

    let mut anonymous = app.ws_connect().await;
    anonymous.init(None).await;
    assert_eq!(anonymous.run("v", VIEWER, json!({})).await["data"], json!({ "viewer": null }));
    let answer = anonymous.run("q", MEZARD, json!({})).await;
    assert_eq!(answer["data"]["researcher"]["displayName"], "Marc Mézard");

    // Ping is answered with its payload; the connection goes on.
    anonymous.send(json!({ "type": "ping", "payload": { "n": 1 } })).await;
    assert_eq!(anonymous.receive().await, json!({ "type": "pong", "payload": { "n": 1 } }));
    anonymous.send(json!({ "type": "pong" })).await;
    let again = anonymous.run("q", MEZARD, json!({})).await;
    assert_eq!(again["data"]["researcher"]["displayName"], "Marc Mézard", "a completed id may be used again");
}

#[tokio::test]
async fn a_refused_token_closes_4403_without_an_ack() {
    let app = spawn_app().await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let expired = encode(
        &Header::new(Algorithm::HS256),
        &json!({ "sub": "alice", "exp": now - 3600 }),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("sign");
    for authorization in [
        json!("Bearer not-a-jwt"),
        json!(format!("Bearer {expired}")),
        json!(format!("Basic {}", token("alice", None, &[]))),
        json!(42),
    ] {
        let mut client = app.ws_connect().await;
        client.send(json!({ "type": "connection_init", "payload": { "Authorization": authorization } })).await;
        assert_eq!(client.expect_close().await, (4403, "Forbidden".to_owned()), "{authorization}");
    }
}

#[tokio::test]
async fn no_connection_init_within_the_timeout_closes_4408() {
    let app = spawn_with(|config| config.limits.ws_init_timeout_secs = 1).await;
    let mut client = app.ws_connect().await;
    let started = std::time::Instant::now();
    assert_eq!(client.expect_close().await, (4408, "Connection initialisation timeout".to_owned()));
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));

    // An init in time holds the connection past the timeout.
    let mut client = app.ws_connect().await;
    client.init(None).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(client.run("1", "{ __typename }", json!({})).await["data"]["__typename"], "Query");
}

#[tokio::test]
async fn protocol_violations_close_with_their_codes() {
    let app = spawn_app().await;

    let mut early = app.ws_connect().await;
    early.subscribe("1", MEZARD, json!({})).await;
    assert_eq!(early.expect_close().await, (4401, "Unauthorized".to_owned()));

    let mut twice = app.ws_connect().await;
    twice.init(None).await;
    twice.send(json!({ "type": "connection_init" })).await;
    assert_eq!(twice.expect_close().await, (4429, "Too many initialisation requests".to_owned()));

    for garbage in ["not json", r#"{"type":"subscribe","id":"1"}"#, r#"{"type":"next","id":"1","payload":{}}"#] {
        let mut client = app.ws_connect().await;
        client.init(None).await;
        client.send_text(garbage).await;
        let (code, reason) = client.expect_close().await;
        assert_eq!(code, 4400, "{garbage}: {reason}");
        assert!(reason.starts_with("Invalid message received"), "{garbage}: {reason}");
    }

    let mut no_protocol = app.ws_connect_offering(None).await;
    assert_eq!(no_protocol.expect_close().await, (4406, "Subprotocol not acceptable".to_owned()));
}

#[tokio::test]
async fn a_second_subscribe_under_a_running_id_closes_4409() {
    let (app, id) = spawn_slow_app(100).await;
    let mut client = app.ws_connect().await;
    client.init(None).await;
    // The first is held by the loader delay while the second arrives.
    client.subscribe("dup", BY_ID, json!({ "id": id })).await;
    client.subscribe("dup", BY_ID, json!({ "id": id })).await;
    assert_eq!(client.expect_close().await, (4409, "Subscriber for dup already exists".to_owned()));
}

#[tokio::test]
async fn operations_past_the_per_connection_cap_get_a_rate_limited_error() {
    let (app, id) = spawn_slow_app(2).await;
    let mut client = app.ws_connect().await;
    client.init(None).await;
    for op in ["a", "b", "c"] {
        client.subscribe(op, BY_ID, json!({ "id": id })).await;
    }
    let refused = client.receive().await;
    assert_eq!((refused["type"].as_str(), refused["id"].as_str()), (Some("error"), Some("c")), "{refused:#}");
    assert_eq!(code(&refused["payload"][0]), "RATE_LIMITED");

    // The client stops `a`; only `b` answers.
    client.send(json!({ "id": "a", "type": "complete" })).await;
    let next = client.receive().await;
    assert_eq!((next["type"].as_str(), next["id"].as_str()), (Some("next"), Some("b")), "{next:#}");
    assert_eq!(next["payload"]["data"]["researcher"]["displayName"], "Marc Mézard");
    assert_eq!(client.receive().await, json!({ "id": "b", "type": "complete" }));

    // Both places are free again.
    let answer = client.run("c", MEZARD, json!({})).await;
    assert_eq!(answer["data"]["researcher"]["displayName"], "Marc Mézard");
}

#[tokio::test]
async fn a_query_over_the_socket_is_held_to_the_same_caps_as_over_http() {
    let app = spawn_app().await;
    let mut client = app.ws_connect().await;
    client.init(None).await;

    let costly = "{ works(first: 100) { nodes { authorships { researcher { topics(first: 50) { topic { id name } worksCount share } } } } } }";
    let refused = client.run_refused("cost", costly).await;
    assert_eq!(code(&refused[0]), "QUERY_TOO_COMPLEX", "{refused:#}");
    // The same document over HTTP is refused with the same code.
    let over_http = app.graphql(costly, json!({})).await;
    assert_eq!(over_http["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");

    let aliases: String = (0..200).map(|i| format!("a{i}: __typename ")).collect();
    let refused = client.run_refused("aliases", &format!("{{ {aliases}}}")).await;
    assert_eq!(code(&refused[0]), "QUERY_TOO_COMPLEX", "{refused:#}");
    assert!(refused[0]["message"].as_str().is_some_and(|m| m.contains("aliases")), "{refused:#}");

    let refused = client.run_refused("invalid", "{ noSuchField }").await;
    assert!(refused[0]["message"].as_str().is_some_and(|m| m.contains("noSuchField")), "{refused:#}");

    // Refusals leave the connection open.
    assert_eq!(client.run("after", "{ __typename }", json!({})).await["data"]["__typename"], "Query");
}

#[tokio::test]
async fn an_anonymous_mutation_gets_unauthenticated_and_a_signed_in_one_runs() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let mut client = app.ws_connect().await;
    client.init(None).await;

    let follow = "mutation($id: ID!) { followResearcher(input: { researcherId: $id }) { researcher { id } } }";
    let answer = client.run("m", follow, json!({ "id": id })).await;
    assert_eq!(code(&answer["errors"][0]), "UNAUTHENTICATED", "{answer:#}");
    assert_eq!(answer["errors"][0]["path"], json!(["followResearcher"]));

    // Signed in, the same mutation runs.
    let mut alice = app.ws_connect().await;
    alice.init(Some(json!({ "Authorization": format!("Bearer {}", token("alice", None, &[])) }))).await;
    let answer = alice.run("m", follow, json!({ "id": id })).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    assert_eq!(answer["data"]["followResearcher"]["researcher"]["id"], json!(id));
}

#[tokio::test]
async fn a_message_over_the_body_limit_closes_1009() {
    let app = spawn_with(|config| config.limits.max_body_bytes = 1024).await;
    let mut client = app.ws_connect().await;
    client.init(None).await;
    client.run("small", "{ __typename }", json!({})).await;
    client.subscribe("big", &format!("{{ __typename }} # {}", "x".repeat(2_000)), json!({})).await;
    assert_eq!(client.expect_close().await.0, 1009);
}
