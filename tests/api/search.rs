//! Search through the embedded index: the same answers on both databases
//! (each test runs on SQLite and, in CI, on PostgreSQL with the same
//! expectations), relevance in an order derived by hand, keyset paging
//! both ways, and an index that follows writes from anywhere.
use std::time::Duration;

use scholargraph::config::Config;
use scholargraph::domain::catalogue::{self, NewWork};
use scholargraph::domain::works::WorkKind;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, spawn_with, token, TestApp};

const DEADLINE: Duration = Duration::from_secs(30);

const SEARCH_RESEARCHERS: &str = r#"
query($filter: ResearcherFilter, $orderBy: ResearcherOrder) {
  researchers(filter: $filter, orderBy: $orderBy, first: 50) { totalCount nodes { slug } }
}"#;

const SEARCH_WORKS: &str = r#"
query($filter: WorkFilter, $orderBy: WorkOrder, $first: Int, $after: String, $last: Int, $before: String) {
  works(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { title }
  }
}"#;

async fn researcher_slugs(app: &TestApp, filter: Value) -> Vec<String> {
    let data = app.data(SEARCH_RESEARCHERS, json!({ "filter": filter })).await;
    let connection = &data["researchers"];
    let slugs = strings(&connection["nodes"], "slug");
    assert_eq!(connection["totalCount"].as_u64(), Some(slugs.len() as u64), "{data:#}");
    slugs
}

fn strings(nodes: &Value, field: &str) -> Vec<String> {
    nodes.as_array().expect("nodes").iter().map(|n| n[field].as_str().expect("a string").to_owned()).collect()
}

async fn work_titles(app: &TestApp, filter: Value, order: Value) -> (Vec<String>, u64) {
    let data = app.data(SEARCH_WORKS, json!({ "filter": filter, "orderBy": order, "first": 100 })).await;
    (strings(&data["works"]["nodes"], "title"), data["works"]["totalCount"].as_u64().expect("a total"))
}

#[tokio::test]
async fn names_match_whatever_the_case_and_accents_and_as_prefixes() {
    let app = spawn_app().await;
    for search in ["mezard", "MÉZARD", "Mézard", "marc mez", "mé"] {
        let slugs = researcher_slugs(&app, json!({ "search": search })).await;
        assert!(slugs.contains(&"marc-mezard".to_owned()), "{search:?} finds Marc Mézard: {slugs:?}");
    }
    // Every word must match a name.
    assert_eq!(researcher_slugs(&app, json!({ "search": "zdeborova lenka" })).await, ["lenka-zdeborova"]);
    assert!(researcher_slugs(&app, json!({ "search": "zdeborova mezard" })).await.is_empty());
    // A whole word outranks a mere prefix: "marc" is Marc Mézard's first
    // name and only the start of nobody else's.
    let slugs = researcher_slugs(&app, json!({ "search": "marc" })).await;
    assert_eq!(slugs.first().map(String::as_str), Some("marc-mezard"));
}

#[tokio::test]
async fn researcher_search_combines_with_every_filter() {
    let app = spawn_app().await;
    let institution = app.affiliate(&["marc-mezard", "lenka-zdeborova"], "École normale supérieure", "FR").await;
    app.search_caught_up().await;
    assert_eq!(
        researcher_slugs(&app, json!({ "search": "m", "institutionId": institution })).await,
        ["marc-mezard"],
        "M… at the ENS"
    );
    assert_eq!(
        researcher_slugs(&app, json!({ "search": "lenka", "institutionId": institution })).await,
        ["lenka-zdeborova"]
    );

    // Claim status follows the claims: pending once a claim is made.
    let marc = app.researcher_id("marc-mezard").await;
    let pending = json!({ "search": "mezard", "claimStatus": "PENDING" });
    assert!(researcher_slugs(&app, pending.clone()).await.is_empty());
    claim(&app, &marc).await;
    app.search_caught_up().await;
    assert_eq!(researcher_slugs(&app, pending).await, ["marc-mezard"]);
    assert!(researcher_slugs(&app, json!({ "search": "mezard", "claimStatus": "UNCLAIMED" })).await.is_empty());

    // Topic and openness filters.
    let topic = app.data(r#"{ topics(first: 1, search: "Statistical physics") { nodes { id } } }"#, json!({})).await;
    let topic_id = topic["topics"]["nodes"][0]["id"].clone();
    let with_topic = researcher_slugs(&app, json!({ "search": "m", "topicId": topic_id })).await;
    let without = researcher_slugs(&app, json!({ "search": "m" })).await;
    assert!(!with_topic.is_empty() && with_topic.len() <= without.len(), "{with_topic:?} of {without:?}");
    let open = researcher_slugs(&app, json!({ "search": "m", "openToCollaborate": true })).await;
    let closed = researcher_slugs(&app, json!({ "search": "m", "openToCollaborate": false })).await;
    assert_eq!(open.len() + closed.len(), without.len());
}

/// A user claims the researcher `id`; the claim waits for review.
async fn claim(app: &TestApp, id: &str) {
    let claimant = token("claimant", None, &[]);
    let claimed = app
        .graphql_as(
            &claimant,
            "mutation($id: ID!) { claimResearcher(input: { researcherId: $id }) { claim { status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(claimed["data"]["claimResearcher"]["claim"]["status"], "PENDING", "{claimed:#}");
}

/// Four works whose scores for "alpha" can be worked out by hand (BM25,
/// k1 = 1.2, b = 0.75, the title's score doubled): every title has three
/// words, so length normalisation is neutral there.
fn scored_corpus() -> Vec<(&'static str, Option<&'static str>)> {
    vec![
        // "alpha" once in the title: 2 × idf(title) = 2 × ln 2 ≈ 1.39.
        ("alpha beta gamma", Some("delta epsilon zeta")),
        // Once in the abstract only: idf(abstract) × 2.2 / (1 + 1.2 × 1.25) ≈ 1.20 × 0.88 ≈ 1.06.
        ("delta epsilon zeta", Some("alpha beta gamma")),
        // Twice in the title: 2 × ln 2 × (2 × 2.2 / (2 + 1.2)) ≈ 1.91.
        ("alpha alpha gamma", Some("delta epsilon zeta")),
        // Not at all.
        ("beta gamma delta", None),
    ]
}

async fn add_works(app: &TestApp, works: &[(&str, Option<&str>)], author: i64) {
    for (title, summary) in works {
        let work = NewWork {
            title: (*title).to_owned(),
            summary: summary.map(str::to_owned),
            kind: WorkKind::Article,
            year: Some(2024),
            venue: None,
            doi: None,
            arxiv_id: None,
            cited_by_count: 0,
            authors: vec![author],
            topics: vec![],
        };
        catalogue::add_work(&app.db, &work).await.expect("add a work");
    }
    app.search_caught_up().await;
}

/// An empty catalogue but for one researcher, so scores depend on the test's works alone.
async fn empty_catalogue() -> (TestApp, i64) {
    empty_catalogue_with(|_| {}).await
}

async fn empty_catalogue_with(adjust: impl FnOnce(&mut Config)) -> (TestApp, i64) {
    let app = spawn_with(|config| {
        config.seed_demo_when_empty = false;
        adjust(config);
    })
    .await;
    app.db
        .execute_unprepared(
            "INSERT INTO researchers (slug, display_name, sort_name, open_to_collaborate, works_count, \
             followers_count, collaborators_count, close_collaborators_count, linked_works_count, topic_norm2, \
             topics_count, created_at) VALUES ('ada', 'Ada', 'ada', false, 0, 0, 0, 0, 0, 0, 0, CURRENT_TIMESTAMP)",
        )
        .await
        .expect("add a researcher");
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id FROM researchers WHERE slug = 'ada'",
        ))
        .await
        .expect("read")
        .expect("a row");
    (app, row.try_get::<i64>("", "id").expect("id"))
}

#[tokio::test]
async fn relevance_ranks_titles_over_abstracts_and_repeats_over_single_words() {
    let (app, ada) = empty_catalogue().await;
    add_works(&app, &scored_corpus(), ada).await;
    let relevance = json!({ "field": "RELEVANCE", "direction": "DESC" });
    let (titles, total) = work_titles(&app, json!({ "search": "alpha" }), relevance.clone()).await;
    assert_eq!(titles, ["alpha alpha gamma", "alpha beta gamma", "delta epsilon zeta"]);
    assert_eq!(total, 3);
    // Relevance is the default order of a search; other orders apply to the same hits.
    let (default_order, _) = work_titles(&app, json!({ "search": "ALPHA" }), Value::Null).await;
    assert_eq!(default_order, titles);
    let (by_title, _) =
        work_titles(&app, json!({ "search": "alpha" }), json!({ "field": "TITLE", "direction": "ASC" })).await;
    assert_eq!(by_title, ["alpha alpha gamma", "alpha beta gamma", "delta epsilon zeta"]);
    let (by_title_desc, _) =
        work_titles(&app, json!({ "search": "alpha" }), json!({ "field": "TITLE", "direction": "DESC" })).await;
    assert_eq!(by_title_desc, ["delta epsilon zeta", "alpha beta gamma", "alpha alpha gamma"]);
    // Both words must appear; the filters narrow the same search.
    let (both, _) = work_titles(&app, json!({ "search": "alpha delta" }), relevance.clone()).await;
    assert_eq!(both.len(), 3, "each alpha work has delta in its title or abstract: {both:?}");
    let (none, total) = work_titles(&app, json!({ "search": "alpha", "yearTo": 2023 }), relevance.clone()).await;
    assert!(none.is_empty() && total == 0);
    let (articles, _) = work_titles(&app, json!({ "search": "alpha", "kind": "ARTICLE" }), relevance).await;
    assert_eq!(articles.len(), 3);
}

/// Pages through `filter` in `order`, `size` at a time, forward to the end
/// and back to the start; returns the titles seen each way (in list order).
async fn page_both_ways(app: &TestApp, filter: &Value, order: &Value, size: u32) -> (Vec<String>, Vec<String>) {
    let mut forward = Vec::new();
    let mut after = Value::Null;
    loop {
        let vars = json!({ "filter": filter, "orderBy": order, "first": size, "after": after });
        let data = app.data(SEARCH_WORKS, vars).await;
        let works = &data["works"];
        forward.extend(strings(&works["nodes"], "title"));
        if works["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = works["pageInfo"]["endCursor"].clone();
        assert!(forward.len() < 1_000, "paging forward does not end");
    }
    let mut backward: Vec<String> = Vec::new();
    let mut before = Value::Null;
    loop {
        let vars = json!({ "filter": filter, "orderBy": order, "last": size, "before": before });
        let data = app.data(SEARCH_WORKS, vars).await;
        let works = &data["works"];
        let mut page = strings(&works["nodes"], "title");
        page.append(&mut backward);
        backward = page;
        if works["pageInfo"]["hasPreviousPage"] != true {
            break;
        }
        before = works["pageInfo"]["startCursor"].clone();
        assert!(backward.len() < 1_000, "paging backward does not end");
    }
    (forward, backward)
}

#[tokio::test]
async fn paging_a_search_both_ways_visits_each_hit_once_in_order() {
    let (app, ada) = empty_catalogue().await;
    // Scores with many ties (same words, same lengths) and some spread.
    let titles: Vec<String> = (0..23)
        .map(|i| match i % 3 {
            0 => format!("omega omega w{i}"),
            1 => format!("omega x w{i}"),
            _ => format!("y z w{i}"),
        })
        .collect();
    let works: Vec<(&str, Option<&str>)> =
        titles.iter().enumerate().map(|(i, t)| (t.as_str(), (i % 3 == 2).then_some("omega here"))).collect();
    // Three commits of the index, so the hits lie in several segments, each
    // with its own term ordinals.
    for chunk in works.chunks(8) {
        add_works(&app, chunk, ada).await;
    }
    let filter = json!({ "search": "omega" });
    for order in [
        json!({ "field": "RELEVANCE", "direction": "DESC" }),
        json!({ "field": "TITLE", "direction": "ASC" }),
        json!({ "field": "YEAR", "direction": "DESC" }),
    ] {
        let (all, total) = work_titles(&app, filter.clone(), order.clone()).await;
        assert_eq!(all.len() as u64, total);
        assert_eq!(total, 23, "every work has omega in its title or abstract");
        for size in [1, 4, 7] {
            let (forward, backward) = page_both_ways(&app, &filter, &order, size).await;
            assert_eq!(forward, all, "forward by {size} in {order}");
            assert_eq!(backward, all, "backward by {size} in {order}");
        }
    }
}

/// A relevance list stops at its depth, however it is paged; a total above
/// the exact-count limit is that limit (a lower bound). Other orders list
/// every hit.
#[tokio::test]
async fn relevance_lists_stop_at_their_depth_and_totals_at_their_count_limit() {
    let (app, ada) = empty_catalogue_with(|config| {
        config.search_relevance_depth = 5;
        config.search_exact_count_limit = 9;
    })
    .await;
    let titles: Vec<String> = (0..12).map(|i| format!("omega{}", " w".repeat(i + 1))).collect();
    let works: Vec<(&str, Option<&str>)> = titles.iter().map(|t| (t.as_str(), None)).collect();
    add_works(&app, &works, ada).await;
    let filter = json!({ "search": "omega" });
    let relevance = json!({ "field": "RELEVANCE", "direction": "DESC" });
    let (ranked, total) = work_titles(&app, filter.clone(), relevance.clone()).await;
    // Shorter titles score higher (BM25's length normalisation).
    assert_eq!(ranked, titles[..5]);
    assert_eq!(total, 9, "12 match; the count stops at its limit");
    for size in [1, 2, 3, 5, 7] {
        let (forward, backward) = page_both_ways(&app, &filter, &relevance, size).await;
        assert_eq!(forward, ranked, "forward by {size}");
        assert_eq!(backward, ranked, "backward by {size}");
    }
    let (by_title, total) = work_titles(&app, filter, json!({ "field": "TITLE", "direction": "ASC" })).await;
    assert_eq!(by_title.len(), 12);
    assert_eq!(total, 9);
}

#[tokio::test]
async fn a_write_by_another_process_is_found_by_search() {
    let app = spawn_with(|config| config.seed_demo_when_empty = false).await;
    assert!(researcher_slugs(&app, json!({ "search": "mezard" })).await.is_empty());
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_scholargraph"))
        .args(["seed", "demo"])
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .status()
        .await
        .expect("run scholargraph seed demo");
    assert!(status.success());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (titles, _) = work_titles(&app, json!({ "search": "gaussian" }), Value::Null).await;
        if !titles.is_empty() && !researcher_slugs(&app, json!({ "search": "mezard" })).await.is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the other process's writes were not found in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(address: &str, query: &str, variables: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("send");
    response.json().await.expect("json")
}

#[tokio::test]
async fn a_claim_made_through_one_instance_is_found_through_another() {
    let app = spawn_app().await;
    let other = app.another_instance(|_| {}).await;
    let marc = app.researcher_id("marc-mezard").await;
    let pending = json!({ "filter": { "search": "mezard", "claimStatus": "PENDING" } });
    claim(&app, &marc).await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let answer = post(&other.address, SEARCH_RESEARCHERS, pending.clone()).await;
        if answer["data"]["researchers"]["totalCount"] == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the other instance did not see the claim: {answer:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_rebuild_command_reproduces_the_live_index() {
    let live_dir = tempdir("live");
    let app = spawn_with(|config| config.search_index = live_dir.clone()).await;
    scholargraph::ingest::demo::seed(&app.db).await.expect("seed the demo");
    let marc = app.researcher_id("marc-mezard").await;
    let (_, marc_id) = scholargraph::graphql::ids::decode(&marc).expect("a researcher id");
    add_works(&app, &scored_corpus(), marc_id).await;

    let rebuilt_dir = tempdir("rebuilt");
    rebuild_with_the_command(&app.database_url, &rebuilt_dir).await;
    let rebuilt = app.another_instance(|config| config.search_index = rebuilt_dir.clone()).await;
    let search = rebuilt.search.clone();
    let built = search.position().expect("read the rebuilt index");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while search.status() != scholargraph::search::IndexStatus::Ready {
        assert!(tokio::time::Instant::now() < deadline, "the rebuilt index was not served within {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(search.position().expect("read the index"), built, "opened the rebuilt index as it is");

    for (filter, order) in [
        (json!({ "search": "alpha" }), json!({ "field": "RELEVANCE", "direction": "DESC" })),
        (json!({ "search": "learning" }), json!({ "field": "RELEVANCE", "direction": "DESC" })),
        (json!({ "search": "gaussian models" }), json!({ "field": "RELEVANCE", "direction": "DESC" })),
        (json!({ "search": "alpha" }), json!({ "field": "CITED_BY_COUNT", "direction": "DESC" })),
    ] {
        let vars = json!({ "filter": filter, "orderBy": order, "first": 100 });
        let live = app.data(SEARCH_WORKS, vars.clone()).await;
        let again = post(&rebuilt.address, SEARCH_WORKS, vars).await;
        assert_eq!(again["data"], live, "{filter} by {order}");
    }
    for search in ["m", "marc", "zdeborova"] {
        let vars = json!({ "filter": { "search": search } });
        let live = app.data(SEARCH_RESEARCHERS, vars.clone()).await;
        assert_eq!(post(&rebuilt.address, SEARCH_RESEARCHERS, vars).await["data"], live, "{search}");
    }
    for dir in [live_dir, rebuilt_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// An index on disk built from one database, opened by a service over
/// another (deleted and created again at the same place, say), is rebuilt:
/// the two change logs can be at the same position, so only the database's
/// identity tells them apart.
#[tokio::test]
async fn an_index_built_from_another_database_is_rebuilt() {
    let first = spawn_app().await;
    first
        .db
        .execute_unprepared(
            "INSERT INTO researchers (slug, display_name, sort_name, open_to_collaborate, works_count, \
             followers_count, collaborators_count, close_collaborators_count, linked_works_count, topic_norm2, \
             topics_count, created_at) VALUES ('zed', 'Zed Aardvark', 'aardvark zed', false, 0, 0, 0, 0, 0, 0, 0, \
             CURRENT_TIMESTAMP)",
        )
        .await
        .expect("add a researcher the other database lacks");
    let dir = tempdir("elsewhere");
    rebuild_with_the_command(&first.database_url, &dir).await;

    let second = spawn_app_with(|config| config.search_index = dir.clone()).await;
    let found = second.data(SEARCH_RESEARCHERS, json!({ "filter": { "search": "aardvark" } })).await;
    assert_eq!(found["researchers"], json!({ "totalCount": 0, "nodes": [] }), "no trace of the other database");
    assert_eq!(researcher_slugs(&second, json!({ "search": "mezard" })).await, ["marc-mezard"]);
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs `scholargraph search-index rebuild` as a child process.
async fn rebuild_with_the_command(database_url: &str, search_index: &str) {
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_scholargraph"))
        .args(["search-index", "rebuild"])
        .env("DATABASE_URL", database_url)
        .env("SEARCH_INDEX", search_index)
        .env("RUST_LOG", "warn")
        .status()
        .await
        .expect("run scholargraph search-index rebuild");
    assert!(status.success());
}

fn tempdir(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("scholargraph-index-{name}-{}", uuid::Uuid::new_v4().simple()));
    dir.display().to_string()
}
