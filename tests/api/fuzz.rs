//! Property-based fuzzing of the GraphQL endpoint (proptest): arbitrary
//! documents, built from the schema's own words and from noise, with
//! arbitrary variables and operation names, sent to a running service. Every
//! answer must be JSON with no server failure: each error carries a code the
//! contract documents, and none is `INTERNAL` (bad input is never an internal
//! error). The case count is small so that it runs in CI; raise
//! `PROPTEST_CASES` to fuzz longer.
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};

use crate::helpers::{spawn_app_with, TestApp};

/// Cases per run unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 300;

/// The codes the API contract documents for errors, and
/// `SERVICE_UNAVAILABLE` while the search index is built (README.md).
const DOCUMENTED: [&str; 9] = [
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "QUERY_TOO_COMPLEX",
    "RATE_LIMITED",
    "PERSISTED_QUERY_NOT_FOUND",
    "SERVICE_UNAVAILABLE",
];

/// Words of GraphQL documents: punctuation, keywords, this schema's fields,
/// arguments and values, and some that are never right.
const WORDS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "...",
    "$",
    "!",
    "=",
    "@",
    "|",
    "&",
    ",",
    "query",
    "mutation",
    "subscription",
    "fragment",
    "on",
    "true",
    "false",
    "null",
    "Researcher",
    "Work",
    "Query",
    "F",
    "researcher",
    "researchers",
    "works",
    "work",
    "topic",
    "topics",
    "node",
    "nodes",
    "edges",
    "cursor",
    "pageInfo",
    "hasNextPage",
    "endCursor",
    "totalCount",
    "id",
    "slug",
    "displayName",
    "title",
    "counts",
    "followers",
    "collaborators",
    "claimStatus",
    "trust",
    "score",
    "researchGraph",
    "similarResearchers",
    "collaboratorGraph",
    "viewer",
    "stats",
    "__typename",
    "__schema",
    "__type",
    "types",
    "name",
    "fields",
    "followResearcher",
    "claimResearcher",
    "input",
    "researcherId",
    "researcherEvents",
    "first",
    "last",
    "after",
    "before",
    "depth",
    "limit",
    "filter",
    "search",
    "orderBy",
    "field",
    "direction",
    "DESC",
    "RELEVANCE",
    "\"marc-mezard\"",
    "\"\"",
    "\"\\u0000\"",
    "\"\\uD800\"",
    "0",
    "-1",
    "100",
    "101",
    "2147483648",
    "99999999999999999999",
    "1e309",
    "0.5",
    "$id",
    "$first",
    "ID!",
    "Int",
    "String",
    "@include(if: true)",
    "@skip(if: $x)",
    "@deprecated",
    "@nope",
    "# comment\n",
    "\"\"\"block\"\"\"",
    "é",
    "\u{1F600}",
    "\u{0}",
];

/// A document: a sequence of words and noise, or text of any kind.
fn document() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        8 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => any::<String>().prop_map(|noise| noise.chars().take(8).collect()),
    ];
    prop_oneof![
        6 => proptest::collection::vec(word, 0..60).prop_map(|words| words.join(" ")),
        1 => any::<String>(),
    ]
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|x| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
        proptest::sample::select(&["UmVzZWFyY2hlcjox", "marc-mezard", "V29yazox", ""][..]).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z$]{0,6}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A request body: the document, variables (an object, or anything), and
/// sometimes an operation name.
fn body() -> impl Strategy<Value = Value> {
    let variables = prop_oneof![
        3 => proptest::collection::btree_map(
            proptest::sample::select(&["id", "first", "x", "slug", "input", ""][..]).prop_map(str::to_owned),
            json_value(),
            0..4
        )
        .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ];
    let operation_name = prop_oneof![Just(None), any::<String>().prop_map(Some), Just(Some("F".to_owned()))];
    (document(), variables, operation_name).prop_map(|(query, variables, operation_name)| {
        let mut body = json!({ "query": query, "variables": variables });
        if let Some(name) = operation_name {
            body["operationName"] = Value::from(name);
        }
        body
    })
}

fn check(runtime: &tokio::runtime::Runtime, app: &TestApp, body: &Value) -> Result<(), TestCaseError> {
    let (status, answer) = runtime.block_on(app.post(body));
    prop_assert!([200, 400, 405, 413, 415].contains(&status), "status {status} for {body}: {answer}");
    let errors = answer.get("errors").and_then(Value::as_array).cloned().unwrap_or_default();
    prop_assert!(answer.get("data").is_some() || !errors.is_empty(), "neither data nor errors: {answer}");
    for error in errors {
        let code = error["extensions"]["code"].as_str().unwrap_or("(none)");
        prop_assert!(DOCUMENTED.contains(&code), "undocumented code {code} for {body}: {error}");
    }
    Ok(())
}

#[test]
fn arbitrary_documents_and_variables_get_documented_errors_and_never_fail_the_server() {
    // proptest's cases are synchronous: the service runs on a runtime of its own.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    // One client sends every case: its rate limit is lifted.
    let app = runtime.block_on(spawn_app_with(|config| config.limits.rate_limit_cost_per_minute = 0));
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(CASES);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    runner.run(&body(), |body| check(&runtime, &app, &body)).expect("every case passes");
    // The service still answers afterwards.
    let answer = runtime.block_on(app.graphql("{ __typename }", json!({})));
    assert_eq!(answer["data"]["__typename"], "Query");
    let _inside_the_runtime = runtime.enter();
    drop(app);
}
