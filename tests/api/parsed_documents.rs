//! The service keeps each document it admitted, parsed and measured, for the
//! next request that sends the same text. The same text with other variables
//! must answer for those variables, and a refused document must stay refused.
use serde_json::json;

use crate::helpers::{error_code, spawn_app, spawn_app_with};

fn works_on_page(data: &serde_json::Value) -> Option<usize> {
    data["researcher"]["works"]["edges"].as_array().map(Vec::len)
}

#[tokio::test]
async fn the_same_document_sent_again_with_other_variables_answers_for_them() {
    let app = spawn_app().await;
    let profile = |variables| app.operation_data("profile.graphql", "ResearcherProfile", variables);

    let first = profile(json!({ "slug": "marc-mezard", "worksFirst": 2 })).await;
    assert_eq!(first["researcher"]["slug"], "marc-mezard");
    assert_eq!(works_on_page(&first), Some(2));

    let second = profile(json!({ "slug": "florent-krzakala", "worksFirst": 1 })).await;
    assert_eq!(second["researcher"]["slug"], "florent-krzakala");
    assert_eq!(works_on_page(&second), Some(1));

    // The variable's default applies again when it is left out.
    let third = profile(json!({ "slug": "marc-mezard" })).await;
    assert_eq!(works_on_page(&third), Some(6));

    // Variables are checked on every request, not once per document.
    let query = "query($s: String!) { researcher(slug: $s) { slug } }";
    assert_eq!(error_code(&app.graphql(query, json!({})).await), "BAD_USER_INPUT");
    let data = app.data(query, json!({ "s": "marc-mezard" })).await;
    assert_eq!(data["researcher"]["slug"], "marc-mezard");
    assert_eq!(error_code(&app.graphql(query, json!({})).await), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_kept_document_is_measured_again_for_the_page_sizes_each_request_asks_for() {
    // The profile with 5 works holds 17 objects (12 topics, 5 works); with 100, 112.
    let app = spawn_app_with(|c| c.limits.max_nodes = 50).await;
    let profile = |works_first: i64| {
        app.operation(
            "profile.graphql",
            "ResearcherProfile",
            json!({ "slug": "marc-mezard", "worksFirst": works_first }),
        )
    };
    for _ in 0..2 {
        let small = profile(5).await;
        assert!(small.get("errors").is_none(), "{small:#}");
        assert_eq!(works_on_page(&small["data"]), Some(5));

        let large = profile(100).await;
        assert_eq!(error_code(&large), "QUERY_TOO_COMPLEX", "{large:#}");
        assert!(large["errors"][0]["message"].as_str().is_some_and(|m| m.contains("objects")), "{large}");
    }
}

#[tokio::test]
async fn a_refused_document_stays_refused_with_the_same_error_each_time() {
    let app = spawn_app().await;
    let aliases = (0..=30).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" ");
    let cases = [
        ("does not parse", "{ researcher(slug: \"marc-mezard\") { slug ".to_owned(), "BAD_USER_INPUT"),
        ("fails validation", "{ researcher(slug: \"marc-mezard\") { noSuchField } }".to_owned(), "BAD_USER_INPUT"),
        ("over the alias cap", format!("{{ {aliases} }}"), "QUERY_TOO_COMPLEX"),
        (
            "over the cost limit",
            "{ works(first: 100) { nodes { authorships { researcher { topics(first: 50) { topic { id } } } } } } }"
                .to_owned(),
            "QUERY_TOO_COMPLEX",
        ),
    ];
    for (name, query, code) in cases {
        let first = app.graphql(&query, json!({})).await;
        assert_eq!(error_code(&first), code, "{name}: {first:#}");
        for attempt in 2..=3 {
            let again = app.graphql(&query, json!({})).await;
            assert_eq!(again["errors"], first["errors"], "{name}, attempt {attempt}");
            assert!(again["data"].is_null(), "{name}, attempt {attempt}: nothing ran: {again:#}");
        }
    }
}
