//! Live researcher events (`researcherEvents` over graphql-transport-ws):
//! across instances and processes, nothing for a rolled-back write, bounded
//! per connection and per instance, closed at shutdown, and back after the
//! database restarts.
use std::time::Duration;

use scholargraph::domain::changes::{self, ChangeKind, NewChange};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{json, Value};

use crate::helpers::{
    operation, spawn_app, spawn_app_on_postgres, spawn_app_with, spawn_with, token, PostgresCluster, TestApp, WsClient,
};

const M: &str = "mutations.graphql";
/// Generous: a test machine may be slow; the bench measures latency.
const DEADLINE: Duration = Duration::from_secs(30);
const ORCID: &str = "0000-0002-1825-0097";

/// A client subscribed, under id `events`, to the contract's subscription.
pub async fn subscribe(app: &TestApp, researcher: &str) -> WsClient {
    let mut client = app.ws_connect().await;
    client.init(None).await;
    start_subscription(&mut client, "events", researcher).await;
    client
}

async fn start_subscription(client: &mut WsClient, id: &str, researcher: &str) {
    let payload = json!({
        "query": operation("subscription.graphql"),
        "operationName": "ResearcherEvents",
        "variables": { "researcherId": researcher },
    });
    client.send(json!({ "id": id, "type": "subscribe", "payload": payload })).await;
}

/// The next event of the `events` subscription: `researcherEvents` and the payload's extensions.
async fn next_event(client: &mut WsClient) -> (Value, Value) {
    let payload = client.next_payload("events").await;
    assert!(payload.get("errors").is_none(), "{payload:#}");
    (payload["data"]["researcherEvents"].clone(), payload.get("extensions").cloned().unwrap_or(Value::Null))
}

/// Runs a contract mutation that must succeed.
async fn mutate(app: &TestApp, as_token: &str, name: &str, variables: Value) -> Value {
    app.operation_data_as(as_token, M, name, variables).await
}

/// Waits until `app` delivers events (the first follow may run before the
/// subscription is in place: it is made again until one arrives), and
/// returns the first event of that follow.
pub async fn wait_until_live(app: &TestApp, client: &mut WsClient, researcher: &str) -> Value {
    let probe = token("probe", None, &[]);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        mutate(app, &probe, "Follow", json!({ "researcherId": researcher })).await;
        let received = tokio::time::timeout(Duration::from_millis(500), client.receive()).await;
        mutate(app, &probe, "Unfollow", json!({ "researcherId": researcher })).await;
        if let Ok(message) = received {
            assert_eq!(message["type"], "next", "{message:#}");
            let event = message["payload"]["data"]["researcherEvents"].clone();
            assert_eq!(event["kind"], "FOLLOWED", "{message:#}");
            // The unfollow's event, or a newer one after it.
            let (after, _) = next_event(client).await;
            assert_eq!(after["kind"], "UNFOLLOWED");
            return event;
        }
        assert!(tokio::time::Instant::now() < deadline, "no event within {DEADLINE:?}");
    }
}

#[tokio::test]
async fn follows_claims_and_profile_edits_on_one_instance_reach_a_subscriber_on_another() {
    let a = spawn_app().await;
    let b = a.another_instance(|_| {}).await;
    a.db.execute_unprepared(&format!("UPDATE researchers SET orcid = '{ORCID}' WHERE slug = 'marc-mezard'"))
        .await
        .expect("set orcid");
    let marc = a.researcher_id("marc-mezard").await;
    let mut client = subscribe(&a, &marc).await;
    let first = wait_until_live(&b, &mut client, &marc).await;
    assert_eq!(first["kind"], "FOLLOWED");

    let alice = token("alice", None, &[]);
    mutate(&b, &alice, "Follow", json!({ "researcherId": marc })).await;
    let (event, _) = next_event(&mut client).await;
    assert_eq!(
        event,
        json!({ "kind": "FOLLOWED", "researcher": { "id": marc, "counts": { "followers": 1 }, "claimStatus": "UNCLAIMED" } })
    );
    mutate(&b, &alice, "Unfollow", json!({ "researcherId": marc })).await;
    let (event, _) = next_event(&mut client).await;
    assert_eq!((&event["kind"], &event["researcher"]["counts"]["followers"]), (&json!("UNFOLLOWED"), &json!(0)));

    let owner = token("marc", Some(ORCID), &[]);
    let claimed = b.operation_as(&owner, M, "Claim", json!({ "researcherId": marc })).await;
    assert!(claimed.get("errors").is_none(), "{claimed:#}");
    let (event, _) = next_event(&mut client).await;
    assert_eq!((&event["kind"], &event["researcher"]["claimStatus"]), (&json!("CLAIM_UPDATED"), &json!("CLAIMED")));

    let open = "query($id: ID!) { node(id: $id) { ... on Researcher { openToCollaborate } } }";
    let open = a.data(open, json!({ "id": marc })).await["node"]["openToCollaborate"].as_bool().expect("a flag");
    mutate(&b, &owner, "UpdateProfile", json!({ "researcherId": marc, "openToCollaborate": !open })).await;
    let (event, _) = next_event(&mut client).await;
    assert_eq!(event["kind"], "PROFILE_UPDATED");
    assert_eq!(event["researcher"]["id"], json!(marc));
}

/// One OpenAlex work line of the import fixture.
fn fixture_lines() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import/openalex-works.jsonl");
    std::fs::read_to_string(path).expect("read the fixture").lines().map(str::to_owned).collect()
}

async fn import_in_another_process(app: &TestApp, lines: &[String]) {
    let file = std::env::temp_dir().join(format!("scholargraph-live-{}.jsonl", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, lines.join("\n")).expect("write the import file");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_scholargraph"))
        .args(["import", "openalex"])
        .arg(&file)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run scholargraph import");
    let _ = std::fs::remove_file(&file);
    assert!(output.status.success(), "import failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test]
async fn works_imported_by_another_process_reach_the_subscriber_as_works_added() {
    let app = spawn_with(|config| config.seed_demo_when_empty = false).await;
    let lines = fixture_lines();
    import_in_another_process(&app, &lines[..1]).await;
    // Past the first import in the log, so that its events are not taken for the second's.
    app.search_caught_up().await;
    let marc = app.researcher_id("marc-mezard").await;
    let mut client = subscribe(&app, &marc).await;
    wait_until_live(&app, &mut client, &marc).await;

    import_in_another_process(&app, &lines).await;
    let works_now = json!(lines.len());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (event, _) = next_event(&mut client).await;
        assert_eq!(event["kind"], "WORKS_ADDED", "{event:#}");
        let works = app
            .data("query($id: ID!) { node(id: $id) { ... on Researcher { counts { works } } } }", json!({ "id": marc }))
            .await;
        if works["node"]["counts"]["works"] == works_now {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the imported works were not announced");
    }
}

#[tokio::test]
async fn a_rolled_back_write_announces_nothing() {
    let app = spawn_app().await;
    let marc = app.researcher_id("marc-mezard").await;
    let mut client = subscribe(&app, &marc).await;
    wait_until_live(&app, &mut client, &marc).await;

    let number = scholargraph::graphql::ids::decode(&marc).expect("a researcher id").1;
    let txn = app.db.begin().await.expect("begin");
    changes::record(&txn, &[NewChange::of_researcher(ChangeKind::ProfileUpdated, number)]).await.expect("record");
    txn.rollback().await.expect("roll back");

    // The next event is the follow that committed, not the rolled-back edit.
    mutate(&app, &token("alice", None, &[]), "Follow", json!({ "researcherId": marc })).await;
    let (event, _) = next_event(&mut client).await;
    assert_eq!((&event["kind"], &event["researcher"]["counts"]["followers"]), (&json!("FOLLOWED"), &json!(1)));
}

#[tokio::test]
async fn unknown_and_malformed_ids_answer_their_error_then_complete() {
    let app = spawn_app().await;
    let mut client = app.ws_connect().await;
    client.init(None).await;
    let unknown = scholargraph::graphql::ids::encode(scholargraph::graphql::ids::NodeType::Researcher, 987_654).0;
    for (id, code) in [(unknown, "NOT_FOUND"), ("not-an-id".to_owned(), "BAD_USER_INPUT")] {
        start_subscription(&mut client, "events", &id).await;
        let payload = client.next_payload("events").await;
        assert_eq!(payload["errors"][0]["extensions"]["code"], code, "{payload:#}");
        assert_eq!(payload["errors"][0]["path"], json!(["researcherEvents"]));
        assert_eq!(client.receive().await, json!({ "id": "events", "type": "complete" }));
    }
}

#[tokio::test]
async fn a_subscriber_that_reads_late_loses_no_follow_uncounted() {
    let app = spawn_app().await;
    let marc = app.researcher_id("marc-mezard").await;
    let mut client = subscribe(&app, &marc).await;
    wait_until_live(&app, &mut client, &marc).await;

    // The client reads nothing while the follows happen.
    let follows = 150;
    for n in 0..follows {
        mutate(&app, &token(&format!("fan-{n}"), None, &[]), "Follow", json!({ "researcherId": marc })).await;
    }
    // Every follow is either delivered or counted in `missedEvents`, and the
    // last event has the final count.
    let (mut delivered, mut missed) = (0, 0);
    while delivered + missed < follows {
        let (event, extensions) = next_event(&mut client).await;
        assert_eq!(event["kind"], "FOLLOWED");
        delivered += 1;
        missed += extensions["missedEvents"].as_u64().unwrap_or(0);
        if delivered + missed == follows {
            assert_eq!(event["researcher"]["counts"]["followers"], follows, "{event:#}");
        }
    }
    assert_eq!(delivered + missed, follows, "delivered {delivered}, missed {missed}");
}

#[tokio::test]
async fn subscriptions_past_the_per_connection_cap_get_a_rate_limited_error() {
    let app = spawn_app_with(|config| config.limits.ws_max_operations = 2).await;
    let marc = app.researcher_id("marc-mezard").await;
    let mut client = app.ws_connect().await;
    client.init(None).await;
    for id in ["one", "two", "three"] {
        start_subscription(&mut client, id, &marc).await;
    }
    let refused = client.receive().await;
    assert_eq!((refused["type"].as_str(), refused["id"].as_str()), (Some("error"), Some("three")), "{refused:#}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    // Completing one makes room.
    client.send(json!({ "id": "one", "type": "complete" })).await;
    start_subscription(&mut client, "four", &marc).await;
    client.send(json!({ "type": "ping" })).await;
    assert_eq!(client.receive().await, json!({ "type": "pong" }), "the fourth was admitted without an error");
}

#[tokio::test]
async fn sockets_past_the_instance_cap_close_1013_and_shutdown_closes_the_rest_1001() {
    let mut app = spawn_app_with(|config| config.limits.ws_max_connections = 2).await;
    let marc = app.researcher_id("marc-mezard").await;
    let mut first = subscribe(&app, &marc).await;
    let mut second = app.ws_connect().await;
    second.init(None).await;
    let mut third = app.ws_connect().await;
    assert_eq!(third.expect_close().await.0, 1013);

    // A closed socket frees its place.
    drop(second);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut again = loop {
        let mut client = app.ws_connect().await;
        client.send(json!({ "type": "connection_init" })).await;
        let answer = client.receive_any().await;
        if answer == Ok(json!({ "type": "connection_ack" })) {
            break client;
        }
        assert!(tokio::time::Instant::now() < deadline, "the place was not freed: {answer:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    app.shut_down();
    assert_eq!(first.expect_close().await, (1001, "Server shutting down".to_owned()));
    assert_eq!(again.expect_close().await.0, 1001);
}

#[tokio::test]
async fn after_postgres_restarts_the_next_event_carries_the_current_state() {
    let Some(mut cluster) = PostgresCluster::for_the_postgres_run().await else { return };
    let app = spawn_app_on_postgres(&cluster.url).await;
    let marc = app.researcher_id("marc-mezard").await;
    let mut client = subscribe(&app, &marc).await;
    wait_until_live(&app, &mut client, &marc).await;

    cluster.restart().await;
    // The service's pools reconnect at their next use; a request caught by
    // the restart itself may fail, so the follow is made until it lands.
    let alice = token("alice", None, &[]);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let answer = app.operation_as(&alice, M, "Follow", json!({ "researcherId": marc })).await;
        if answer.get("errors").is_none() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no follow after the restart: {answer:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (event, _) = next_event(&mut client).await;
    assert_eq!((&event["kind"], &event["researcher"]["counts"]["followers"]), (&json!("FOLLOWED"), &json!(1)));
    drop(app);
    cluster.remove().await;
}

#[tokio::test]
async fn a_second_subscribe_under_a_live_subscriptions_id_closes_4409() {
    let app = spawn_app().await;
    let marc = app.researcher_id("marc-mezard").await;
    let mut client = subscribe(&app, &marc).await;
    wait_until_live(&app, &mut client, &marc).await;
    start_subscription(&mut client, "events", &marc).await;
    assert_eq!(client.expect_close().await.0, 4409);
}
