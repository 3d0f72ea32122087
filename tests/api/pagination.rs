//! Relay pagination: every list, walked forward and backward, visits each
//! item exactly once; sizes and cursors are validated.
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, TestApp};

const DIRECTORY: &str = "query($first: Int, $after: String, $last: Int, $before: String, $orderBy: ResearcherOrder) {
  researchers(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { slug } }
  }
}";

fn slugs(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["slug"].as_str().expect("slug").to_owned())
        .collect()
}

async fn page(app: &TestApp, variables: Value) -> Value {
    app.data(DIRECTORY, variables).await["researchers"].clone()
}

/// Walks the whole directory in `order` forward by `size` and backward by
/// `size`, checking page flags, and returns both walks.
async fn walk(app: &TestApp, order: Value, size: i64) -> (Vec<String>, Vec<String>) {
    let mut forward = Vec::new();
    let mut after = Value::Null;
    let mut first_page = true;
    loop {
        let p = page(app, json!({ "first": size, "after": after, "orderBy": order })).await;
        assert_eq!(p["pageInfo"]["hasPreviousPage"], !first_page, "hasPreviousPage going forward");
        assert_eq!(p["pageInfo"]["startCursor"], p["edges"][0]["cursor"]);
        forward.extend(slugs(&p));
        first_page = false;
        if p["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    let mut backward = Vec::new();
    let mut before = Value::Null;
    let mut last_page = true;
    loop {
        let p = page(app, json!({ "last": size, "before": before, "orderBy": order })).await;
        assert_eq!(p["pageInfo"]["hasNextPage"], !last_page, "hasNextPage going backward");
        let mut chunk = slugs(&p);
        chunk.extend(backward);
        backward = chunk;
        last_page = false;
        if p["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = p["pageInfo"]["startCursor"].clone();
    }
    (forward, backward)
}

#[tokio::test]
async fn walking_the_directory_in_every_order_visits_each_researcher_once() {
    let app = spawn_app().await;
    for (field, direction) in [
        ("DISPLAY_NAME", "ASC"),
        ("DISPLAY_NAME", "DESC"),
        ("WORKS_COUNT", "DESC"),
        ("WORKS_COUNT", "ASC"),
        ("FOLLOWERS_COUNT", "DESC"),
    ] {
        let order = json!({ "field": field, "direction": direction });
        let full = page(&app, json!({ "first": 100, "orderBy": order })).await;
        assert_eq!(full["totalCount"], 15);
        let everyone = slugs(&full);
        assert_eq!(everyone.len(), 15);
        for size in [1, 4, 7] {
            let (forward, backward) = walk(&app, order.clone(), size).await;
            assert_eq!(forward, everyone, "forward by {size} in {field} {direction}");
            assert_eq!(backward, everyone, "backward by {size} in {field} {direction}");
        }
    }
}

#[tokio::test]
async fn researcher_works_page_forward_and_back_through_the_contract_operation() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let all = app.operation_data("works.graphql", "ResearcherWorks", json!({ "id": id, "first": 100 })).await;
    let everything: Vec<Value> =
        all["node"]["works"]["edges"].as_array().expect("edges").iter().map(|e| e["node"]["id"].clone()).collect();
    assert_eq!(everything.len(), 6);

    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .operation_data("works.graphql", "ResearcherWorks", json!({ "id": id, "first": 4, "after": after }))
            .await;
        let works = &data["node"]["works"];
        assert_eq!(works["totalCount"], 6);
        seen.extend(works["edges"].as_array().expect("edges").iter().map(|e| e["node"]["id"].clone()));
        if works["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = works["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, everything);

    let tail = app.operation_data("works.graphql", "ResearcherWorks", json!({ "id": id, "last": 4 })).await;
    let works = &tail["node"]["works"];
    assert_eq!(works["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(works["pageInfo"]["hasNextPage"], false);
    let ids: Vec<Value> = works["edges"].as_array().expect("edges").iter().map(|e| e["node"]["id"].clone()).collect();
    assert_eq!(ids, everything[2..]);
    let head = app
        .operation_data(
            "works.graphql",
            "ResearcherWorks",
            json!({ "id": id, "last": 4, "before": works["pageInfo"]["startCursor"] }),
        )
        .await;
    let ids: Vec<Value> =
        head["node"]["works"]["edges"].as_array().expect("edges").iter().map(|e| e["node"]["id"].clone()).collect();
    assert_eq!(ids, everything[..2]);
    assert_eq!(head["node"]["works"]["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(head["node"]["works"]["pageInfo"]["hasNextPage"], true);
}

#[tokio::test]
async fn rows_added_while_paging_are_neither_repeated_nor_cause_skips() {
    let app = spawn_app().await;
    let order = json!({ "field": "DISPLAY_NAME", "direction": "ASC" });
    let original = slugs(&page(&app, json!({ "first": 100, "orderBy": order })).await);
    let first = page(&app, json!({ "first": 5, "orderBy": order })).await;
    let mut seen = slugs(&first);

    // Insert one researcher that sorts before the cursor and one after it.
    use sea_orm::ConnectionTrait;
    for (slug, name) in [("aaron-early", "Aaron Early"), ("zora-late", "Zora Late")] {
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO researchers (slug, display_name, sort_name, open_to_collaborate, works_count, \
                 followers_count, created_at) VALUES ('{slug}', '{name}', '{}', false, 0, 0, CURRENT_TIMESTAMP)",
                name.to_lowercase()
            ))
            .await
            .expect("insert researcher");
    }
    let mut after = first["pageInfo"]["endCursor"].clone();
    loop {
        let p = page(&app, json!({ "first": 5, "after": after, "orderBy": order })).await;
        seen.extend(slugs(&p));
        if p["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    let without_new: Vec<String> =
        seen.iter().filter(|s| !s.ends_with("-early") && !s.ends_with("-late")).cloned().collect();
    assert_eq!(without_new, original, "every original researcher exactly once, in order");
    assert!(seen.contains(&"zora-late".to_owned()), "a row added ahead of the cursor is reached");
    assert!(!seen.contains(&"aaron-early".to_owned()), "a row added behind the cursor is not");
}

#[tokio::test]
async fn page_sizes_outside_1_to_100_are_rejected_not_clamped() {
    let app = spawn_app().await;
    for variables in [
        json!({ "first": 0 }),
        json!({ "first": 101 }),
        json!({ "first": -1 }),
        json!({ "last": 0 }),
        json!({ "last": 1000 }),
        json!({ "first": 2, "last": 2 }),
    ] {
        let response = app.graphql(DIRECTORY, variables.clone()).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{variables}");
        assert_eq!(response["data"], json!(null), "{variables}");
    }
    let id = app.researcher_id("marc-mezard").await;
    let response = app.operation("works.graphql", "ResearcherWorks", json!({ "id": id, "first": 101 })).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert!(response["errors"][0]["message"].as_str().expect("message").contains("between 1 and 100"));
}

#[tokio::test]
async fn forged_and_foreign_cursors_are_rejected() {
    let app = spawn_app().await;
    let by_name = page(&app, json!({ "first": 2 })).await;
    let cursor = by_name["pageInfo"]["endCursor"].as_str().expect("cursor").to_owned();

    let mut forged = cursor.clone();
    forged.insert(3, 'x');
    for bad in [forged.as_str(), "not-a-cursor", "", "WyJ4Il0"] {
        let response = app.graphql(DIRECTORY, json!({ "first": 2, "after": bad })).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "cursor {bad:?}");
    }
    // A cursor from one order is not accepted in another…
    let other_order = app
        .graphql(
            DIRECTORY,
            json!({ "first": 2, "after": cursor, "orderBy": { "field": "WORKS_COUNT", "direction": "DESC" } }),
        )
        .await;
    assert_eq!(error_code(&other_order), "BAD_USER_INPUT");
    // …nor in another list.
    let id = app.researcher_id("marc-mezard").await;
    let other_list =
        app.operation("works.graphql", "ResearcherWorks", json!({ "id": id, "first": 2, "after": cursor })).await;
    assert_eq!(error_code(&other_list), "BAD_USER_INPUT");
}

#[tokio::test]
async fn names_sort_alike_on_both_databases_whatever_their_accents_and_case() {
    let app = spawn_app().await;
    // Added as a bulk load or an old database would hold them: no sort key
    // yet. The pass that runs after migrations computes the keys.
    use sea_orm::ConnectionTrait;
    for (slug, name) in [
        ("t-emile", "Émile Borel"),
        ("t-de-gennes", "de Gennes"),
        ("t-dirac", "DIRAC"),
        ("t-eve", "eve Ames"),
        ("t-edgar", "Edgar Zed"),
    ] {
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO researchers (slug, display_name, open_to_collaborate, works_count, followers_count, \
                 created_at) VALUES ('{slug}', '{name}', false, 0, 0, CURRENT_TIMESTAMP)"
            ))
            .await
            .expect("insert researcher");
    }
    let filled = scholargraph::ingest::sort_keys::refresh(&app.db, scholargraph::ingest::sort_keys::Scope::Missing)
        .await
        .expect("fill sort keys");
    assert_eq!(filled, 5);

    let order = json!({ "field": "DISPLAY_NAME", "direction": "ASC" });
    let everyone = slugs(&page(&app, json!({ "first": 100, "orderBy": order })).await);
    let added: Vec<&str> = everyone.iter().map(String::as_str).filter(|s| s.starts_with("t-")).collect();
    // Case and accents do not count: "de Gennes" < "DIRAC" < "Edgar" <
    // "Émile" < "eve"; byte order would put every capital first, and a
    // database collation would differ between SQLite and PostgreSQL.
    assert_eq!(added, ["t-de-gennes", "t-dirac", "t-edgar", "t-emile", "t-eve"]);
    let (forward, backward) = walk(&app, order, 3).await;
    assert_eq!(forward, everyone);
    assert_eq!(backward, everyone);
}

/// Directory orders on a counter are best effort while the counter moves:
/// the keyset cursor holds the count the last row had when it was read. A
/// researcher whose count changes between two pages can be skipped (it
/// moved behind the cursor) or seen twice (it moved ahead of it again);
/// every researcher whose count did not change is seen exactly once, in
/// order. (The schema's descriptions of `WORKS_COUNT` and `FOLLOWERS_COUNT`
/// say so.)
#[tokio::test]
async fn a_counter_that_moves_while_paging_moves_only_its_own_researcher() {
    let app = spawn_app().await;
    let fan = crate::helpers::token("fan", None, &[]);
    let order = json!({ "field": "FOLLOWERS_COUNT", "direction": "DESC" });
    let before = slugs(&page(&app, json!({ "first": 100, "orderBy": order })).await);
    assert_eq!(before.len(), 15);
    // Nobody has followers yet: the order is the tie-break alone. Follow
    // the last researcher so that they lead the list.
    let mover = before[14].clone();
    let jumper = before[10].clone();
    let follow = |slug: String, op: &'static str| {
        let (app, fan) = (&app, &fan);
        async move {
            let id = app.researcher_id(&slug).await;
            app.operation_data_as(fan, "mutations.graphql", op, json!({ "researcherId": id })).await;
        }
    };
    follow(mover.clone(), "Follow").await;
    let first = page(&app, json!({ "first": 5, "orderBy": order })).await;
    let mut seen = slugs(&first);
    assert_eq!(seen[0], mover);

    // Between pages: the leader loses its follower and falls back to the
    // end, ahead of the cursor; an unseen researcher gains one and jumps
    // behind it.
    follow(mover.clone(), "Unfollow").await;
    follow(jumper.clone(), "Follow").await;
    let mut after = first["pageInfo"]["endCursor"].clone();
    loop {
        let p = page(&app, json!({ "first": 5, "after": after, "orderBy": order })).await;
        seen.extend(slugs(&p));
        if p["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    let mut expected: Vec<String> = vec![mover.clone()];
    expected.extend(before[..14].iter().filter(|s| **s != jumper).cloned());
    expected.push(mover.clone());
    assert_eq!(seen, expected, "the mover twice, the jumper never, everyone else once in order");
}
