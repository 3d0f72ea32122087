//! The collaborator list, the research-graph explorer and similar researchers.
use std::collections::{HashMap, HashSet};

use scholargraph::domain::catalogue::{self, NewWork};
use scholargraph::domain::works::WorkKind;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, spawn_with, TestApp};

const G: &str = "graph.graphql";

async fn collaborators(app: &TestApp, id: &str, vars: Value) -> Value {
    let mut variables = json!({ "id": id });
    variables.as_object_mut().expect("object").extend(vars.as_object().expect("object").clone());
    app.operation_data(G, "Collaborators", variables).await["node"]["collaborators"].clone()
}

#[tokio::test]
async fn close_collaborators_come_in_order_with_their_years() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let all = collaborators(&app, &id, json!({ "first": 100 })).await;
    assert_eq!(all["totalCount"], 14);
    let close = collaborators(&app, &id, json!({ "minSharedWorks": 2 })).await;
    assert_eq!(close["totalCount"], 4);
    let rows: Vec<(String, i64, i64, i64, i64)> = close["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            (
                e["node"]["displayName"].as_str().expect("name").to_owned(),
                e["sharedWorks"].as_i64().expect("shared"),
                e["firstYear"].as_i64().expect("first"),
                e["lastYear"].as_i64().expect("last"),
                e["node"]["counts"]["works"].as_i64().expect("works"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("Florent Krzakala".to_owned(), 5, 2017, 2022, 5),
            ("Lenka Zdeborová".to_owned(), 5, 2017, 2022, 5),
            ("Antoine Maillard".to_owned(), 2, 2020, 2022, 2),
            ("Bruno Loureiro".to_owned(), 2, 2020, 2021, 2),
        ]
    );
    // The profile's counts agree with the list.
    let counts = app
        .data("{ researcher(slug: \"marc-mezard\") { counts { collaborators closeCollaborators } } }", json!({}))
        .await;
    assert_eq!(counts["researcher"]["counts"], json!({ "collaborators": 14, "closeCollaborators": 4 }));
}

#[tokio::test]
async fn paging_collaborators_three_at_a_time_visits_all_fourteen_once() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let everyone: Vec<Value> = collaborators(&app, &id, json!({ "first": 100 })).await["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].clone())
        .collect();
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = collaborators(&app, &id, json!({ "first": 3, "after": after })).await;
        assert_eq!(page["totalCount"], 14);
        seen.extend(page["edges"].as_array().expect("edges").iter().map(|e| e["node"]["id"].clone()));
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 14);
    assert_eq!(seen, everyone);

    for bad in
        [json!({ "minSharedWorks": 0 }), json!({ "first": 0 }), json!({ "first": 101 }), json!({ "after": "bogus" })]
    {
        let mut variables = json!({ "id": id });
        variables.as_object_mut().expect("o").extend(bad.as_object().expect("o").clone());
        assert_eq!(error_code(&app.operation(G, "Collaborators", variables).await), "BAD_USER_INPUT", "{bad}");
    }
}

fn kinds(graph: &Value) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for n in graph["nodes"].as_array().expect("nodes") {
        *out.entry(n["kind"].as_str().expect("kind").to_owned()).or_default() += 1;
    }
    out
}

fn edge_kinds(graph: &Value) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for e in graph["edges"].as_array().expect("edges") {
        *out.entry(e["kind"].as_str().expect("kind").to_owned()).or_default() += 1;
    }
    out
}

fn assert_consistent(graph: &Value) {
    let ids: HashSet<&str> =
        graph["nodes"].as_array().expect("nodes").iter().map(|n| n["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), graph["nodes"].as_array().map(Vec::len).unwrap_or_default(), "node ids are unique");
    for e in graph["edges"].as_array().expect("edges") {
        assert!(ids.contains(e["source"].as_str().expect("s")), "edge source is a node: {e}");
        assert!(ids.contains(e["target"].as_str().expect("t")), "edge target is a node: {e}");
    }
}

async fn research_graph(app: &TestApp, id: &str, depth: i64, limit: i64) -> Value {
    app.operation_data(G, "ResearchGraph", json!({ "id": id, "depth": depth, "limit": limit })).await["node"]
        ["researchGraph"]
        .clone()
}

#[tokio::test]
async fn the_depth_one_graph_holds_works_coauthors_topics_and_institutions() {
    let app = spawn_app().await;
    app.affiliate(&["florent-krzakala", "lenka-zdeborova"], "Institute A", "CH").await;
    app.affiliate(&["carlo-baldassi", "riccardo-zecchina"], "Institute B", "IT").await;
    let id = app.researcher_id("marc-mezard").await;
    let graph = research_graph(&app, &id, 1, 50).await;
    assert_consistent(&graph);
    let counts = kinds(&graph);
    assert_eq!(counts.get("RESEARCHER"), Some(&15), "him and his 14 co-authors");
    assert_eq!(counts.get("WORK"), Some(&6));
    assert_eq!(counts.get("TOPIC"), Some(&9));
    assert_eq!(counts.get("INSTITUTION"), Some(&2), "the co-authors' institutions");
    let edges = edge_kinds(&graph);
    assert_eq!(edges.get("COAUTHOR"), Some(&14));
    assert_eq!(edges.get("AUTHORED"), Some(&30), "every byline of his six works");
    assert_eq!(edges.get("HAS_TOPIC"), Some(&18));
    assert_eq!(edges.get("AFFILIATED"), Some(&4));
    assert_eq!(graph["nodes"][0]["id"], id, "the researcher comes first");
    assert_eq!(graph["nodes"][0]["label"], "Marc Mézard");

    let krzakala = app.researcher_id("florent-krzakala").await;
    let link = graph["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|e| e["kind"] == "COAUTHOR" && e["target"] == krzakala)
        .expect("link to Krzakala");
    assert_eq!(link["weight"], 5);

    // Every node id resolves through node(id:).
    let ids: Vec<Value> = graph["nodes"].as_array().expect("n").iter().map(|n| n["id"].clone()).collect();
    let resolved = app.data("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": ids })).await;
    let resolved: Vec<Value> = resolved["nodes"].as_array().expect("n").iter().map(|n| n["id"].clone()).collect();
    assert_eq!(resolved, ids);

    assert_eq!(research_graph(&app, &id, 1, 50).await, graph, "the same data gives the same graph");
}

#[tokio::test]
async fn a_graph_over_its_limit_keeps_the_heaviest_nodes_and_stays_consistent() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let full = research_graph(&app, &id, 1, 500).await;
    for limit in [1, 5, 10, 20] {
        let graph = research_graph(&app, &id, 1, limit).await;
        assert_consistent(&graph);
        let nodes = graph["nodes"].as_array().expect("nodes");
        assert_eq!(nodes.len(), limit as usize);
        assert_eq!(nodes[0]["id"], id);
        // A cut graph is part of the full one, heaviest nodes first.
        let all: HashSet<&Value> = full["nodes"].as_array().expect("n").iter().map(|n| &n["id"]).collect();
        assert!(nodes.iter().all(|n| all.contains(&n["id"])));
        let weights: Vec<f64> = nodes[1..].iter().map(|n| n["weight"].as_f64().expect("w")).collect();
        assert!(weights.windows(2).all(|w| w[0] >= w[1]), "heaviest first: {weights:?}");
    }
    let weights: Vec<f64> =
        full["nodes"].as_array().expect("n")[1..].iter().map(|n| n["weight"].as_f64().expect("w")).collect();
    assert!(weights.windows(2).all(|w| w[0] >= w[1]), "heaviest first: {weights:?}");
}

#[tokio::test]
async fn depth_two_adds_links_among_coauthors_and_arguments_are_checked() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let graph = research_graph(&app, &id, 2, 500).await;
    assert_consistent(&graph);
    let krzakala = app.researcher_id("florent-krzakala").await;
    let zdeborova = app.researcher_id("lenka-zdeborova").await;
    let pair = graph["edges"].as_array().expect("edges").iter().find(|e| {
        e["kind"] == "COAUTHOR"
            && ((e["source"] == krzakala && e["target"] == zdeborova)
                || (e["source"] == zdeborova && e["target"] == krzakala))
    });
    assert_eq!(pair.expect("Krzakala–Zdeborová link")["weight"], 5);
    let coauthor_links = edge_kinds(&graph)["COAUTHOR"];
    assert!(coauthor_links > 14, "links among co-authors too: {coauthor_links}");

    for (depth, limit) in [(0, 50), (3, 50), (1, 0), (1, 501)] {
        let response = app.operation(G, "ResearchGraph", json!({ "id": id, "depth": depth, "limit": limit })).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "depth {depth}, limit {limit}");
    }
}

/// A hand-built catalogue whose topic profiles give known cosine scores:
/// A = {X: 2, Y: 1}, B = {X: 1, Y: 2}, C = {Z: 1}, D = {X: 1}.
async fn similarity_fixture() -> TestApp {
    let app = spawn_with(|c| c.seed_demo_when_empty = false).await;
    let statements = [
        "INSERT INTO researchers (id, slug, display_name, open_to_collaborate, works_count, followers_count, created_at) VALUES \
         (1, 'a', 'A', false, 0, 0, CURRENT_TIMESTAMP), (2, 'b', 'B', false, 0, 0, CURRENT_TIMESTAMP), \
         (3, 'c', 'C', false, 0, 0, CURRENT_TIMESTAMP), (4, 'd', 'D', false, 0, 0, CURRENT_TIMESTAMP)",
        "INSERT INTO topics (id, name) VALUES (1, 'X'), (2, 'Y'), (3, 'Z')",
    ];
    for sql in statements {
        app.db.execute_unprepared(sql).await.expect("build the fixture");
    }
    // Works go in through the catalogue, which keeps the summaries in step.
    let works: [(i64, i64); 8] = [(1, 1), (1, 1), (1, 2), (2, 1), (2, 2), (2, 2), (3, 3), (4, 1)];
    for (i, (author, topic)) in works.into_iter().enumerate() {
        let work = NewWork {
            title: format!("w{}", i + 1),
            summary: None,
            kind: WorkKind::Article,
            year: Some(2020),
            venue: None,
            doi: None,
            arxiv_id: None,
            cited_by_count: 0,
            authors: vec![author],
            topics: vec![topic],
        };
        catalogue::add_work(&app.db, &work).await.expect("add a work");
    }
    // The profiles similar researchers come from follow the change log.
    app.search_caught_up().await;
    app
}

#[tokio::test]
async fn similar_researchers_rank_by_the_cosine_of_topic_profiles() {
    let app = similarity_fixture().await;
    let data = app.operation_data("academic.graphql", "AcademicProfile", json!({ "slug": "a" })).await;
    let similar = data["researcher"]["similarResearchers"].as_array().expect("similar").clone();
    // cos(A, D) = 2 / (√5 · 1); cos(A, B) = (2·1 + 1·2) / (√5 · √5) = 0.8; C shares no topic.
    let expected = [("d", 2.0 / 5f64.sqrt(), vec!["X"]), ("b", 0.8, vec!["X", "Y"])];
    assert_eq!(similar.len(), expected.len(), "{similar:#?}");
    for (got, (slug, score, topics)) in similar.iter().zip(expected) {
        assert_eq!(got["researcher"]["slug"], slug);
        assert!((got["score"].as_f64().expect("score") - score).abs() < 1e-9, "{got}");
        let names: Vec<&str> =
            got["sharedTopics"].as_array().expect("t").iter().map(|t| t["name"].as_str().expect("n")).collect();
        assert_eq!(names, topics);
    }
    let one = app
        .data("{ researcher(slug: \"a\") { similarResearchers(first: 1) { researcher { slug } } } }", json!({}))
        .await;
    assert_eq!(one["researcher"]["similarResearchers"], json!([{ "researcher": { "slug": "d" } }]));
    let bad = app.graphql("{ researcher(slug: \"a\") { similarResearchers(first: 0) { score } } }", json!({})).await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
}

/// Similar researchers and research graphs of every demo researcher, as the
/// implementation before the in-memory similarity answered them (recorded
/// with `ab8b2a6`'s release build on the demo): the answers must not change.
#[tokio::test]
async fn the_demo_answers_what_the_previous_implementation_answered() {
    let app = spawn_app().await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo_graph_answers.json");
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    let recorded = recorded.as_object().expect("by slug");
    assert_eq!(recorded.len(), 15, "every demo researcher");
    for (slug, expected) in recorded {
        let data = app
            .data(
                "query($s: String!) { researcher(slug: $s) { id similarResearchers(first: 100) { \
                 score sharedTopics { id name } researcher { slug } } } }",
                json!({ "s": slug }),
            )
            .await;
        assert_eq!(data["researcher"]["similarResearchers"], expected["similarResearchers"], "{slug}");
        let id = data["researcher"]["id"].clone();
        for (depth, limit) in [(1, 50), (2, 500), (2, 10)] {
            let graph =
                app.operation_data(G, "ResearchGraph", json!({ "id": id, "depth": depth, "limit": limit })).await;
            let key = format!("researchGraph(depth: {depth}, limit: {limit})");
            assert_eq!(graph["node"]["researchGraph"], expected[&key], "{slug} {key}");
        }
    }
}

/// The graph's nodes and edges are written without the executor's per-field
/// futures; aliases, repeated fields, fragments, `__typename` and `@skip` /
/// `@include` must still answer as the executor would.
#[tokio::test]
async fn graph_lists_answer_aliases_fragments_typename_and_directives_like_any_object() {
    let app = spawn_app().await;
    let id = app.data(r#"{ researcher(slug: "lenka-zdeborova") { id } }"#, json!({})).await["researcher"]["id"].clone();
    let plain = research_graph(&app, id.as_str().expect("id"), 1, 50).await;
    let data = app
        .data(
            "query($id: ID!, $no: Boolean!) { node(id: $id) { ... on Researcher { researchGraph { \
             nodes { __typename key: id ...N kind @skip(if: $no) weight @include(if: $no) id } \
             edges { ... on GraphEdge { from: source source } to: target kind @include(if: true) } } } } } \
             fragment N on GraphNode { label kind }",
            json!({ "id": id, "no": false }),
        )
        .await;
    let graph = &data["node"]["researchGraph"];
    let nodes = graph["nodes"].as_array().expect("nodes");
    let plain_nodes = plain["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), plain_nodes.len());
    for (node, plain) in nodes.iter().zip(plain_nodes) {
        let keys: HashSet<&str> = node.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, HashSet::from(["__typename", "key", "label", "kind", "id"]), "no skipped field");
        assert_eq!(node["__typename"], "GraphNode");
        assert_eq!((&node["key"], &node["id"]), (&plain["id"], &plain["id"]));
        assert_eq!((&node["label"], &node["kind"]), (&plain["label"], &plain["kind"]));
    }
    let edges = graph["edges"].as_array().expect("edges");
    assert!(!edges.is_empty());
    for (edge, plain) in edges.iter().zip(plain["edges"].as_array().expect("edges")) {
        let expected =
            json!({ "from": plain["source"], "source": plain["source"], "to": plain["target"], "kind": plain["kind"] });
        assert_eq!(edge, &expected);
    }
}
