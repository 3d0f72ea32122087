//! The operations the benchmark drives, built from the contract operations in
//! `tests/operations/`.
use serde_json::{json, Value};

use crate::dataset::{Dataset, Researcher};
use crate::load::{Endpoint, Workload};

const PROFILE: &str = include_str!("../../tests/operations/profile.graphql");
const WORKS: &str = include_str!("../../tests/operations/works.graphql");
const GRAPH: &str = include_str!("../../tests/operations/graph.graphql");
const ACADEMIC: &str = include_str!("../../tests/operations/academic.graphql");

/// Only the cursors, to reach a deep page cheaply.
const WORKS_CURSOR: &str = "query WorksCursor($id: ID!, $after: String) { node(id: $id) { ... on Researcher { \
                            works(first: 100, after: $after) { pageInfo { hasNextPage endCursor } } } } }";

/// The deep page starts after this many works.
const DEEP_OFFSET: i64 = 10_000;

/// Every GraphQL operation, in the order they run.
pub const OPERATIONS: &[&str] = &[
    "profile",
    "profile_heavy",
    "works_page1",
    "works_deep",
    "works_heavy_page1",
    "collaborators_heavy",
    "graph_depth1",
    "graph_depth2",
    "similar",
    "search_works_common",
    "search_works_median",
    "search_works_two_words",
    "search_researchers",
];

pub enum Plan {
    Run(Workload<String>),
    Skip(String),
}

fn body(query: &str, operation: &str, variables: Value) -> String {
    json!({ "query": query, "operationName": operation, "variables": variables }).to_string()
}

/// `SearchWorks` for `search`, most relevant first.
fn search_works(search: &str) -> String {
    let variables = json!({
        "filter": { "search": search },
        "orderBy": { "field": "RELEVANCE", "direction": "DESC" },
    });
    body(WORKS, "SearchWorks", variables)
}

/// Bodies for the typical mix: `POPULAR_SHARE` popular researchers, the rest long tail.
fn mix(data: &Dataset, make: impl Fn(&Researcher) -> String) -> Workload<String> {
    Workload::mix(data.popular.iter().map(&make).collect(), data.tail.iter().map(&make).collect())
}

pub async fn plan(name: &str, data: &Dataset, endpoint: &Endpoint) -> Plan {
    let profile = |r: &Researcher| body(PROFILE, "ResearcherProfile", json!({ "slug": r.slug }));
    let works_page1 = |r: &Researcher| body(WORKS, "ResearcherWorks", json!({ "id": r.global_id(), "first": 10 }));
    let workload = match name {
        "profile" => mix(data, profile),
        "profile_heavy" => Workload::single(profile(&data.heaviest)),
        "works_page1" => mix(data, works_page1),
        "works_heavy_page1" => Workload::single(works_page1(&data.heaviest)),
        "works_deep" => match deep_cursor(endpoint, &data.heaviest).await {
            Ok(cursor) => Workload::single(body(
                WORKS,
                "ResearcherWorks",
                json!({ "id": data.heaviest.global_id(), "first": 10, "after": cursor }),
            )),
            Err(reason) => return Plan::Skip(reason),
        },
        "collaborators_heavy" => {
            Workload::single(body(GRAPH, "Collaborators", json!({ "id": data.heaviest.global_id(), "first": 10 })))
        }
        // The explorer's first view: the operation's default `limit` (50).
        "graph_depth1" => mix(data, |r| body(GRAPH, "ResearchGraph", json!({ "id": r.global_id(), "depth": 1 }))),
        "graph_depth2" => {
            mix(data, |r| body(GRAPH, "ResearchGraph", json!({ "id": r.global_id(), "depth": 2, "limit": 500 })))
        }
        "similar" => mix(data, |r| body(ACADEMIC, "AcademicProfile", json!({ "slug": r.slug }))),
        "search_works_common" => Workload::uniform(data.common_words.iter().map(|w| search_works(w)).collect()),
        "search_works_median" => Workload::uniform(data.median_words.iter().map(|w| search_works(w)).collect()),
        // A common word with a median one: pairs cycling through the common words.
        "search_works_two_words" => Workload::uniform(
            data.common_words
                .iter()
                .cycle()
                .zip(&data.median_words)
                .map(|(common, median)| search_works(&format!("{common} {median}")))
                .collect(),
        ),
        "search_researchers" => Workload::uniform(
            data.prefixes
                .iter()
                .map(|prefix| {
                    let variables = json!({
                        "filter": { "search": prefix },
                        "orderBy": { "field": "RELEVANCE", "direction": "DESC" },
                    });
                    body(WORKS, "SearchResearchers", variables)
                })
                .collect(),
        ),
        other => return Plan::Skip(format!("skipped: unknown operation {other}")),
    };
    if workload.is_empty() {
        return Plan::Skip("skipped: nothing to ask for in this dataset".to_owned());
    }
    Plan::Run(workload)
}

/// The cursor after the heaviest researcher's 10 000th work (default order),
/// found by paging 100 at a time.
async fn deep_cursor(endpoint: &Endpoint, heaviest: &Researcher) -> Result<String, String> {
    let too_few = || "skipped: fewer than 10 010 works".to_owned();
    if heaviest.works_count < DEEP_OFFSET + 10 {
        return Err(too_few());
    }
    let mut after: Option<String> = None;
    for _ in 0..DEEP_OFFSET / 100 {
        let request = body(WORKS_CURSOR, "WorksCursor", json!({ "id": heaviest.global_id(), "after": after }));
        let data = endpoint
            .post_for_data(request, true)
            .await
            .map_err(|err| format!("skipped: could not page to the deep cursor: {err}"))?;
        let page_info = data.as_ref().and_then(|data| data.pointer("/node/works/pageInfo"));
        let cursor = page_info.and_then(|info| info.get("endCursor")).and_then(Value::as_str);
        let has_next = page_info.and_then(|info| info.get("hasNextPage")).and_then(Value::as_bool);
        match (cursor, has_next) {
            (Some(cursor), Some(true)) => after = Some(cursor.to_owned()),
            _ => return Err(too_few()),
        }
    }
    after.ok_or_else(too_few)
}
