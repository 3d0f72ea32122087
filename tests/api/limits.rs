//! Hostile documents are refused before validation, with a code, while the
//! service goes on answering everyone else.
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{error_code, operation, spawn_app, TestApp};

/// A document whose 16 fragments each spread the next 16 times: about 1 KB
/// that expands to 16^15 selections.
fn fan_out_bomb() -> String {
    let mut doc = String::from("query { ...F0 }\n");
    for level in 0..15 {
        let spreads = format!("...F{} ", level + 1).repeat(16);
        doc.push_str(&format!("fragment F{level} on Query {{ {spreads}}}\n"));
    }
    doc.push_str("fragment F15 on Query { __typename }\n");
    doc
}

/// 26 fragments, each spreading the next twice.
fn two_way_chain() -> String {
    let mut doc = String::from("query { ...C0 }\n");
    for level in 0..25 {
        doc.push_str(&format!("fragment C{level} on Query {{ ...C{next} ...C{next} }}\n", next = level + 1));
    }
    doc.push_str("fragment C25 on Query { __typename }\n");
    doc
}

/// Fields nested `levels` deep: researcher → works → nodes → authorships → researcher …
fn deep_fields(levels: usize) -> String {
    let steps = ["works(first: 1)", "nodes", "authorships", "researcher"];
    let mut open = String::from("{ researcher(slug: \"marc-mezard\") ");
    for step in steps.iter().cycle().take(levels - 1) {
        open.push_str(&format!("{{ {step} "));
    }
    format!("{open}{{ __typename {}}}", "} ".repeat(levels))
}

/// Fields nested past 30 levels through a chain of fragments.
fn deep_through_fragments() -> String {
    let mut doc = String::from("{ researcher(slug: \"marc-mezard\") { ...R0 } }\n");
    for level in 0..7 {
        doc.push_str(&format!(
            "fragment R{level} on Researcher {{ works(first: 1) {{ nodes {{ authorships {{ researcher {{ ...R{} }} }} }} }} }}\n",
            level + 1
        ));
    }
    doc.push_str("fragment R7 on Researcher { works(first: 1) { nodes { authorships { researcher { slug } } } } }\n");
    doc
}

/// Sends `query` while `{ __typename }` probes run beside it, and returns
/// the response; the probes must all answer.
async fn send_beside_probe(app: &TestApp, query: &str) -> Value {
    let probe = async {
        for _ in 0..3 {
            let answer = tokio::time::timeout(Duration::from_secs(10), app.graphql("{ __typename }", json!({})))
                .await
                .expect("the service answers a probe while a hostile document is handled");
            assert_eq!(answer["data"]["__typename"], "Query");
        }
    };
    let (response, ()) = tokio::join!(app.graphql(query, json!({})), probe);
    response
}

fn message(response: &Value) -> &str {
    response["errors"][0]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn hostile_documents_get_their_code_while_the_service_keeps_answering() {
    let app = spawn_app().await;
    let aliases: String = (0..200).map(|i| format!("a{i}: __typename ")).collect();
    let directives = "@include(if: true) ".repeat(60);
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("fan-out bomb", fan_out_bomb(), "QUERY_TOO_COMPLEX", ""),
        ("26-level two-way chain", two_way_chain(), "QUERY_TOO_COMPLEX", "fragments"),
        (
            "fragment cycle",
            "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }".into(),
            "BAD_USER_INPUT",
            "cycle",
        ),
        ("depth 30", deep_fields(30), "QUERY_TOO_COMPLEX", "levels deep"),
        ("depth 33 through fragments", deep_through_fragments(), "QUERY_TOO_COMPLEX", "levels deep"),
        ("200 aliases", format!("{{ {aliases}}}"), "QUERY_TOO_COMPLEX", "aliases"),
        ("60 directives on one field", format!("{{ __typename {directives}}}"), "QUERY_TOO_COMPLEX", "directives"),
        (
            "research graphs under a 100-item list",
            "{ researchers(first: 100) { nodes { researchGraph(depth: 2, limit: 500) { nodes { id } edges { source } } } } }"
                .into(),
            "QUERY_TOO_COMPLEX",
            "objects",
        ),
        (
            "a document over the size cap",
            format!("{{ __typename }} # {}", "x".repeat(20_000)),
            "QUERY_TOO_COMPLEX",
            "bytes",
        ),
        ("brackets nested 5 000 deep", "{a".repeat(5_000), "QUERY_TOO_COMPLEX", "nests brackets"),
        ("too many tokens", format!("{{ {} }}", "a ".repeat(4_000)), "QUERY_TOO_COMPLEX", "tokens"),
    ];
    for (name, query, code, words) in cases {
        let response = send_beside_probe(&app, &query).await;
        assert_eq!(error_code(&response), code, "{name}: {response}");
        assert!(message(&response).contains(words), "{name}: the message names the limit: {response}");
        assert!(response.get("data").is_none() || response["data"].is_null(), "{name}: nothing ran");
    }

    // A page size out of range deep inside a document stays the resolver's
    // BAD_USER_INPUT, as the contract says.
    let response =
        send_beside_probe(&app, "{ researchers(first: 5) { nodes { works(first: -1) { totalCount } } } }").await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");

    // Afterwards the service is whole: the profile answers as before.
    let profile = app.operation_data("profile.graphql", "ResearcherProfile", json!({ "slug": "marc-mezard" })).await;
    assert_eq!(profile["researcher"]["displayName"], "Marc Mézard");
    assert_eq!(profile["researcher"]["counts"]["works"], 6);
}

#[tokio::test]
async fn the_standard_introspection_query_answers() {
    let app = spawn_app().await;
    let query = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/introspection.graphql"))
        .expect("read the introspection query");
    let response = app.post(&json!({ "query": query, "operationName": "IntrospectionQuery" })).await.1;
    assert!(response.get("errors").is_none(), "{response:#}");
    let types = response["data"]["__schema"]["types"].as_array().expect("types");
    assert!(types.iter().any(|t| t["name"] == "Researcher"));
}

#[tokio::test]
async fn every_contract_operation_passes_the_caps_at_its_largest_page_sizes() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let largest = [
        ("profile.graphql", "ResearcherProfile", json!({ "slug": "marc-mezard", "worksFirst": 100 })),
        ("works.graphql", "ResearcherWorks", json!({ "id": id, "first": 100 })),
        ("works.graphql", "SearchWorks", json!({ "first": 100 })),
        ("works.graphql", "SearchResearchers", json!({ "first": 100 })),
        ("graph.graphql", "ResearchGraph", json!({ "id": id, "depth": 2, "limit": 500 })),
        ("graph.graphql", "Collaborators", json!({ "id": id, "first": 100 })),
        ("academic.graphql", "AcademicProfile", json!({ "slug": "marc-mezard" })),
    ];
    for (file, name, variables) in largest {
        let response = app.operation(file, name, variables).await;
        assert!(response.get("errors").is_none(), "{name}: {response:#}");
        let cost = response["extensions"]["cost"]["requestedQueryCost"].as_u64().expect("cost reported");
        // A wide margin under the default cost limit.
        assert!(cost * 2 <= 50_000, "{name} costs {cost}");
    }
    // The documents themselves are small beside the caps.
    for file in ["profile.graphql", "works.graphql", "graph.graphql", "academic.graphql", "mutations.graphql"] {
        assert!(operation(file).len() * 4 < 16 * 1024, "{file}");
    }
}
