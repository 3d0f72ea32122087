//! No N+1: a request runs a small, fixed number of SQL statements whatever
//! its page size, counted by the service's own statement counter.
//!
//! The service runs with the shipped DataLoader window (200 µs). When
//! resolving a page's items takes longer than the window (a debug build, a
//! busy machine: CI runs the debug build on two cores), a loader's keys can
//! split into several batches; so a page of 100 may run up to
//! `SPLIT_BATCHES` statements more than a page of 10. One statement per item
//! would be 100 more, which every bound here refuses.
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

/// Extra statements a 100-item page may run over a 10-item one when batches
/// split (up to 13 statements in all were seen on a loaded 2-core machine).
const SPLIT_BATCHES: u64 = 10;

/// Runs one request alone and returns its data and the statements it ran.
async fn counted(app: &TestApp, file: &str, name: &str, variables: Value) -> (Value, u64) {
    // Let any batch of an earlier request finish before counting.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let before = app.sql_statements();
    let data = app.operation_data(file, name, variables).await;
    (data, app.sql_statements() - before)
}

/// Gives Marc Mézard 150 more works, each with two co-authors and a topic,
/// so that pages of 10 and 100 are full.
async fn add_works(app: &TestApp) {
    let db = &app.db;
    let statements = [
        "INSERT INTO works (title, kind, year, venue, cited_by_count, created_at) \
         SELECT 'Extra work ' || n.i, 'ARTICLE', 2000 + (n.i % 20), 'Journal ' || (n.i % 7), n.i, CURRENT_TIMESTAMP \
         FROM (WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 150) SELECT i FROM seq) n",
        "INSERT INTO authorships (work_id, researcher_id, position) \
         SELECT w.id, r.id, 1 FROM works w, researchers r WHERE w.title LIKE 'Extra work %' AND r.slug = 'marc-mezard'",
        "INSERT INTO authorships (work_id, researcher_id, position) \
         SELECT w.id, r.id, 2 FROM works w, researchers r WHERE w.title LIKE 'Extra work %' AND r.slug = 'florent-krzakala'",
        "INSERT INTO authorships (work_id, researcher_id, position) \
         SELECT w.id, r.id, 3 FROM works w, researchers r WHERE w.title LIKE 'Extra work %' AND r.slug = 'carlo-baldassi'",
        "INSERT INTO work_topics (work_id, topic_id) \
         SELECT w.id, t.id FROM works w, topics t WHERE w.title LIKE 'Extra work %' AND t.name = 'Neural networks'",
    ];
    for sql in statements {
        db.execute_unprepared(sql).await.expect("add works");
    }
    // The rows went in behind the catalogue's back: recount what it keeps.
    scholargraph::ingest::recount::run(db, false).await.expect("recount");
}

#[tokio::test]
async fn the_profile_runs_a_fixed_small_number_of_statements() {
    let app = spawn_app().await;
    let (data, statements) =
        counted(&app, "profile.graphql", "ResearcherProfile", json!({ "slug": "marc-mezard" })).await;
    assert_eq!(data["researcher"]["counts"]["works"], 6);
    // The record by slug with its external ids, institution, standing (claim
    // status, trust) and topics in one statement; then the works page.
    assert_eq!(statements, 2, "the profile ran {statements} statements");

    add_works(&app).await;
    let (data, statements_big) =
        counted(&app, "profile.graphql", "ResearcherProfile", json!({ "slug": "marc-mezard", "worksFirst": 100 }))
            .await;
    assert_eq!(data["researcher"]["works"]["edges"].as_array().map(Vec::len), Some(100));
    assert!(
        statements_big <= statements + SPLIT_BATCHES,
        "page size does not change the statement count: {statements} then {statements_big}"
    );
}

#[tokio::test]
async fn works_pages_of_10_and_100_run_the_same_statements() {
    let app = spawn_app().await;
    add_works(&app).await;
    let id = app.researcher_id("marc-mezard").await;
    let (small, small_count) =
        counted(&app, "works.graphql", "ResearcherWorks", json!({ "id": id, "first": 10 })).await;
    let (big, big_count) = counted(&app, "works.graphql", "ResearcherWorks", json!({ "id": id, "first": 100 })).await;
    assert_eq!(small["node"]["works"]["edges"].as_array().map(Vec::len), Some(10));
    assert_eq!(big["node"]["works"]["edges"].as_array().map(Vec::len), Some(100));
    let authors = big["node"]["works"]["edges"][99]["node"]["authorships"].as_array().map(Vec::len);
    assert_eq!(authors, Some(3));
    assert!(big_count <= small_count + SPLIT_BATCHES, "10 items: {small_count} statements, 100 items: {big_count}");
    // node, page, count, authorships, topics.
    assert!(small_count <= 6, "a works page ran {small_count} statements");

    let (search, search_count) = counted(&app, "works.graphql", "SearchWorks", json!({ "first": 100 })).await;
    assert_eq!(search["works"]["nodes"].as_array().map(Vec::len), Some(100));
    // page, count, authorships, topics; batches may split as above.
    assert!(search_count <= 4 + SPLIT_BATCHES, "a site-wide works page ran {search_count} statements");
}

#[tokio::test]
async fn the_graph_operations_run_a_fixed_small_number_of_statements() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let (_, small) = counted(&app, "graph.graphql", "Collaborators", json!({ "id": id, "first": 3 })).await;
    add_works(&app).await;
    let (data, big) = counted(&app, "graph.graphql", "Collaborators", json!({ "id": id, "first": 100 })).await;
    assert_eq!(data["node"]["collaborators"]["totalCount"], 14);
    assert!(big <= small + SPLIT_BATCHES, "collaborators: {small} vs {big} statements");
    assert!(big <= 5, "collaborators ran {big} statements");

    let (data, graph) =
        counted(&app, "graph.graphql", "ResearchGraph", json!({ "id": id, "depth": 2, "limit": 500 })).await;
    assert!(data["node"]["researchGraph"]["nodes"].as_array().is_some_and(|n| n.len() > 100));
    assert!(graph <= 10, "researchGraph ran {graph} statements");

    let (_, academic) = counted(&app, "academic.graphql", "AcademicProfile", json!({ "slug": "marc-mezard" })).await;
    // researcher, statistics, and the similar researchers' records and
    // topic names (the ranking itself runs in memory).
    assert!(academic <= 4, "the academic profile ran {academic} statements");
}
