//! The profile page and the academic profile of the demo researcher.
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{error_code, spawn_app};

#[tokio::test]
async fn the_profile_of_marc_mezard_matches_the_reference_page() {
    let app = spawn_app().await;
    let data = app.operation_data("profile.graphql", "ResearcherProfile", json!({ "slug": "marc-mezard" })).await;
    let r = &data["researcher"];

    assert_eq!(r["slug"], "marc-mezard");
    assert_eq!(r["displayName"], "Marc Mézard");
    assert_eq!(r["orcid"], json!(null));
    assert_eq!(r["externalIds"], json!([]));
    assert_eq!(r["affiliation"], json!(null));
    assert_eq!(r["openToCollaborate"], true);
    assert_eq!(r["claimStatus"], "UNCLAIMED");
    assert_eq!(r["viewerIsFollowing"], false);

    assert_eq!(
        r["trust"],
        json!({
            "score": 21,
            "level": "EMERGING",
            "verificationLevel": 1,
            "signals": [
                { "key": "external_source", "label": "Linked to an external scholarly source", "points": 15 },
                { "key": "works", "label": "Published works (1 point each, up to 20)", "points": 6 }
            ]
        })
    );
    assert_eq!(
        r["counts"],
        json!({ "works": 6, "followers": 0, "topics": 9, "collaborators": 14, "closeCollaborators": 4 })
    );

    let topics = r["topics"].as_array().expect("topics");
    assert_eq!(topics.len(), 9);
    assert_eq!(topics[0]["topic"]["name"], "Statistical physics");
    assert_eq!(topics[0]["worksCount"], 4);
    assert!((topics[0]["share"].as_f64().expect("share") - 4.0 / 6.0).abs() < 1e-9);
    assert_eq!(topics[1]["topic"]["name"], "Neural networks");
    assert_eq!(topics[1]["worksCount"], 3);
    let shares: Vec<i64> = topics.iter().map(|t| t["worksCount"].as_i64().expect("count")).collect();
    assert_eq!(shares, vec![4, 3, 2, 2, 2, 2, 1, 1, 1]);

    let works = &r["works"];
    assert_eq!(works["totalCount"], 6);
    assert_eq!(works["pageInfo"]["hasNextPage"], false);
    let nodes: Vec<&serde_json::Value> = works["edges"].as_array().expect("edges").iter().map(|e| &e["node"]).collect();
    let listed: Vec<(i64, &str, &str)> = nodes
        .iter()
        .map(|w| {
            (
                w["year"].as_i64().expect("year"),
                w["arxivId"].as_str().expect("arxiv"),
                w["kind"].as_str().expect("kind"),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (2025, "2509.05041", "PREPRINT"),
            (2022, "2110.08775", "PREPRINT"),
            (2021, "2006.14709", "PREPRINT"),
            (2020, "2002.09339", "PREPRINT"),
            (2020, "1906.08479", "PREPRINT"),
            (2017, "1701.06981", "PREPRINT"),
        ]
    );
    assert_eq!(nodes[0]["title"], "Dynamical Learning in Deep Asymmetric Recurrent Neural Networks");
    assert!(nodes[0]["abstract"].as_str().expect("abstract").starts_with("We investigate recurrent neural networks"));
    assert_eq!(nodes[5]["title"], "Multi-Layer Generalized Linear Estimation");
    for w in &nodes {
        assert_eq!(w["venue"], "arXiv");
        assert_eq!(w["doi"], json!(null));
        assert_eq!(w["citedByCount"], 0);
    }
}

#[tokio::test]
async fn a_smaller_works_page_reports_that_more_follow() {
    let app = spawn_app().await;
    let data = app
        .operation_data("profile.graphql", "ResearcherProfile", json!({ "slug": "marc-mezard", "worksFirst": 2 }))
        .await;
    let works = &data["researcher"]["works"];
    assert_eq!(works["totalCount"], 6);
    assert_eq!(works["edges"].as_array().map(Vec::len), Some(2));
    assert_eq!(works["pageInfo"]["hasNextPage"], true);
}

#[tokio::test]
async fn an_unknown_slug_is_null_not_an_error() {
    let app = spawn_app().await;
    let response = app.operation("profile.graphql", "ResearcherProfile", json!({ "slug": "nobody" })).await;
    assert!(response.get("errors").is_none(), "{response:#}");
    assert_eq!(response["data"]["researcher"], json!(null));
}

#[tokio::test]
async fn a_researcher_is_found_by_id_and_the_lookup_takes_exactly_one_key() {
    let app = spawn_app().await;
    let id = app.researcher_id("lenka-zdeborova").await;
    let data = app.data("query($id: ID!) { researcher(id: $id) { slug displayName } }", json!({ "id": id })).await;
    assert_eq!(data["researcher"], json!({ "slug": "lenka-zdeborova", "displayName": "Lenka Zdeborová" }));

    let both = app.graphql("query($id: ID!) { researcher(id: $id, slug: \"x\") { slug } }", json!({ "id": id })).await;
    assert_eq!(error_code(&both), "BAD_USER_INPUT");
    let none = app.graphql("{ researcher { slug } }", json!({})).await;
    assert_eq!(error_code(&none), "BAD_USER_INPUT");
}

#[tokio::test]
async fn the_academic_profile_has_statistics_and_similar_authors() {
    let app = spawn_app().await;
    let data = app.operation_data("academic.graphql", "AcademicProfile", json!({ "slug": "marc-mezard" })).await;
    let r = &data["researcher"];
    assert_eq!(r["displayName"], "Marc Mézard");
    assert_eq!(
        r["stats"],
        json!({
            "firstYear": 2017,
            "lastYear": 2025,
            "worksByYear": [
                { "year": 2017, "count": 1 }, { "year": 2020, "count": 2 }, { "year": 2021, "count": 1 },
                { "year": 2022, "count": 1 }, { "year": 2025, "count": 1 }
            ],
            "worksByKind": [{ "kind": "PREPRINT", "count": 6 }],
            "venues": [{ "venue": "arXiv", "count": 6 }]
        })
    );
    let similar = r["similarResearchers"].as_array().expect("similar");
    assert_eq!(similar.len(), 5);
    let scores: Vec<f64> = similar.iter().map(|s| s["score"].as_f64().expect("score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "scores descend: {scores:?}");
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    assert!(similar.iter().all(|s| s["researcher"]["slug"] != "marc-mezard"));
    // Krzakala and Zdeborová co-wrote five of his six works: their profiles are
    // his minus one work, the closest of all, and tie (broken by id).
    let top: Vec<&str> = similar[..2].iter().map(|s| s["researcher"]["slug"].as_str().expect("slug")).collect();
    assert_eq!(top, vec!["florent-krzakala", "lenka-zdeborova"]);
    assert!(similar.iter().all(|s| !s["sharedTopics"].as_array().expect("shared").is_empty()));
}

/// `researcher(slug:)` reads a profile's parts with the record in one
/// statement; a list reads them through the batch loaders. Both must give
/// the same answer, for records with and without identifiers, an
/// institution, a pending claim and topics.
#[tokio::test]
async fn a_profile_read_in_one_statement_equals_the_same_record_read_in_a_list() {
    let app = spawn_app().await;
    app.affiliate(&["marc-mezard", "lenka-zdeborova"], "École normale supérieure", "FR").await;
    let mezard = app.researcher_id("marc-mezard").await;
    let (_, mezard_key) = scholargraph::graphql::ids::decode(&mezard).expect("a researcher id");
    // Identifiers inserted out of their schemes' alphabetical order: they read back in id order.
    for (scheme, value) in [("orcid", "0000-0002-1825-0097"), ("arxiv", "mezard_m_1"), ("dblp", "m/MarcMezard")] {
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO external_ids (researcher_id, scheme, value) VALUES ({mezard_key}, '{scheme}', '{value}')"
            ))
            .await
            .expect("add an external id");
    }
    let lenka = app.researcher_id("lenka-zdeborova").await;
    let claimed = app
        .operation_as(
            &crate::helpers::token("alice", None, &[]),
            "mutations.graphql",
            "Claim",
            json!({ "researcherId": lenka, "message": "It is me" }),
        )
        .await;
    assert!(claimed.get("errors").is_none(), "{claimed:#}");

    let parts = "slug externalIds { scheme value url } affiliation { id name country } claimStatus \
                 trust { score level verificationLevel signals { key label points } } \
                 topics(first: 50) { topic { id name } worksCount share }";
    let listed = app.data(&format!("{{ researchers(first: 20) {{ nodes {{ {parts} }} }} }}"), json!({})).await;
    let listed = listed["researchers"]["nodes"].as_array().expect("nodes").clone();
    assert_eq!(listed.len(), 15, "every demo researcher");
    for from_list in &listed {
        let slug = from_list["slug"].as_str().expect("slug");
        let single = app
            .data(&format!("query($s: String!) {{ researcher(slug: $s) {{ {parts} }} }}"), json!({ "s": slug }))
            .await;
        assert_eq!(&single["researcher"], from_list, "{slug}");
    }
    let single = app.data(&format!("{{ researcher(slug: \"marc-mezard\") {{ {parts} }} }}"), json!({})).await;
    let schemes: Vec<&str> = single["researcher"]["externalIds"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|e| e["scheme"].as_str())
        .collect();
    assert_eq!(schemes, ["ORCID", "ARXIV", "DBLP"]);
    assert_eq!(single["researcher"]["affiliation"]["country"], "FR");
    let lenka = app.data(&format!("{{ researcher(slug: \"lenka-zdeborova\") {{ {parts} }} }}"), json!({})).await;
    assert_eq!(lenka["researcher"]["claimStatus"], "PENDING");
}
