//! The GraphiQL playground, served whole by the service under a strict
//! Content-Security-Policy; `GRAPHIQL=false`; introspection on and off.
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp};

/// What a browser sends for a page.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn get_page(app: &TestApp) -> reqwest::Response {
    app.client.get(format!("{}/graphql", app.address)).header("accept", BROWSER_ACCEPT).send().await.expect("send")
}

/// The values of every `attribute="…"` in `html`.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// The value of one directive of a Content-Security-Policy.
fn directive<'a>(policy: &'a str, name: &str) -> Option<&'a str> {
    policy.split(';').map(str::trim).find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
}

#[tokio::test]
async fn the_playground_and_every_file_it_loads_come_from_the_service_under_a_strict_csp() {
    let app = spawn_app().await;
    let response = get_page(&app).await;
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    assert!(headers["content-type"].to_str().expect("text").starts_with("text/html"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let policy = headers["content-security-policy"].to_str().expect("text").to_owned();
    assert_eq!(directive(&policy, "default-src"), Some(" 'none'"), "{policy}");
    assert_eq!(directive(&policy, "script-src"), Some(" 'self'"), "no inline script, no eval: {policy}");
    // Styles from here, and the one element GraphiQL's dialogs add with the page's nonce.
    let styles = directive(&policy, "style-src").expect("style-src");
    assert!(styles.starts_with(" 'self' 'nonce-") && !styles.contains("unsafe"), "{policy}");
    assert!(!policy.contains("unsafe-"), "{policy}");
    assert!(directive(&policy, "connect-src").is_some_and(|d| d.contains("'self'")), "{policy}");
    assert_eq!(directive(&policy, "frame-ancestors"), Some(" 'none'"), "{policy}");

    let html = response.text().await.expect("body");
    let nonce = styles.trim().trim_start_matches("'self' 'nonce-").trim_end_matches('\'');
    assert!(html.contains(&format!("<meta name=\"style-nonce\" content=\"{nonce}\">")), "{html}");
    let again = get_page(&app).await;
    assert!(!again.headers()["content-security-policy"].to_str().expect("text").contains(nonce), "a fresh nonce");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"), "{html}");
    let scripts = attribute_values(&html, "src");
    assert_eq!(html.matches("<script").count(), scripts.len(), "every script is a file: {html}");
    assert!(!html.contains("<style") && !html.contains(" style="), "no inline style: {html}");
    let links = attribute_values(&html, "href");
    assert!(scripts.len() >= 4, "React, ReactDOM, GraphiQL and the start-up script: {scripts:?}");

    for path in scripts.iter().chain(&links) {
        if *path == "data:," {
            continue; // the empty favicon, which spares a request
        }
        assert!(path.starts_with('/') && !path.starts_with("//"), "{path} is not on this service");
        let response = app.client.get(format!("{}{path}", app.address)).send().await.expect("send");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let content_type = response.headers()["content-type"].to_str().expect("text").to_owned();
        let expected = if path.ends_with(".js") { "text/javascript" } else { "text/css" };
        assert!(content_type.starts_with(expected), "{path}: {content_type}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
        let cache = response.headers()["cache-control"].to_str().expect("text").to_owned();
        assert!(cache.contains("immutable") && cache.contains("max-age=31536000"), "{path}: {cache}");
        let body = response.text().await.expect("body");
        assert!(body.len() > 100, "{path} has content");
        if expected == "text/css" {
            // A style sheet loads nothing from elsewhere: its fonts and icons are inline.
            for (at, _) in body.match_indices("url(") {
                let target = body[at + 4..].trim_start_matches(['"', '\'']);
                assert!(target.starts_with("data:"), "{path} loads {}", &target[..target.len().min(60)]);
            }
            assert!(!body.contains("@import"), "{path} imports another sheet");
        }
    }
    let unknown = app.client.get(format!("{}/graphiql/0000/graphiql.min.js", app.address)).send().await.expect("send");
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn graphiql_false_turns_the_playground_and_its_files_off() {
    let on = spawn_app().await;
    let html = get_page(&on).await.text().await.expect("body");
    let script = attribute_values(&html, "src").into_iter().find(|s| s.ends_with("graphiql.min.js")).expect("GraphiQL");

    let off = spawn_app_with(|config| config.web.graphiql = false).await;
    // A browser gets what any client without a query gets.
    let response = get_page(&off).await;
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.headers().get("content-security-policy").is_none());
    let body: Value = response.json().await.expect("json");
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let response = off.client.get(format!("{}{script}", off.address)).send().await.expect("send");
    assert_eq!(response.status().as_u16(), 404);
    // GraphQL itself is untouched.
    assert_eq!(off.data("{ __typename }", json!({})).await, json!({ "__typename": "Query" }));
}

#[tokio::test]
async fn introspection_answers_by_default_and_can_be_turned_off() {
    let schema_query = "{ __schema { queryType { name } } }";
    let on = spawn_app().await;
    assert_eq!(on.data(schema_query, json!({})).await, json!({ "__schema": { "queryType": { "name": "Query" } } }));

    let off = spawn_app_with(|config| config.web.introspection = false).await;
    for query in [
        schema_query,
        "{ __type(name: \"Researcher\") { name } }",
        "{ ...F } fragment F on Query { __schema { types { name } } }",
    ] {
        let response = off.graphql(query, json!({})).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{query}: {response}");
        let message = response["errors"][0]["message"].as_str().expect("a message");
        assert!(message.contains("introspection"), "{message}");
        assert!(response.get("data").is_none_or(Value::is_null), "{response}");
    }
    // `__typename` is not introspection of the schema.
    let data = off.data("{ __typename researcher(slug: \"marc-mezard\") { __typename } }", json!({})).await;
    assert_eq!(data, json!({ "__typename": "Query", "researcher": { "__typename": "Researcher" } }));
}
