//! Works, topics, search and the other catalogue queries of the contract.
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app};

fn titles(nodes: &Value) -> Vec<String> {
    nodes.as_array().expect("nodes").iter().map(|n| n["title"].as_str().expect("title").to_owned()).collect()
}

#[tokio::test]
async fn a_work_is_found_by_arxiv_id_with_its_full_byline_and_topics() {
    let app = spawn_app().await;
    app.affiliate(&["florent-krzakala"], "Institute A", "CH").await;
    let data = app.operation_data("works.graphql", "Work", json!({ "arxivId": "1906.08479" })).await;
    let work = &data["work"];
    assert_eq!(work["title"], "High-temperature Expansions and Message Passing Algorithms");
    assert_eq!(work["year"], 2020);
    assert_eq!(work["kind"], "PREPRINT");
    assert_eq!(work["venue"], "arXiv");
    let byline: Vec<(i64, &str)> = work["authorships"]
        .as_array()
        .expect("authorships")
        .iter()
        .map(|a| (a["position"].as_i64().expect("position"), a["researcher"]["displayName"].as_str().expect("name")))
        .collect();
    assert_eq!(
        byline,
        vec![
            (1, "Antoine Maillard"),
            (2, "Laura Foini"),
            (3, "Alejandro Lage Castellanos"),
            (4, "Florent Krzakala"),
            (5, "Marc Mézard"),
            (6, "Lenka Zdeborová"),
        ]
    );
    let krzakala = &work["authorships"][3]["researcher"];
    assert_eq!(krzakala["affiliation"]["name"], "Institute A");
    let topics: Vec<&str> =
        work["topics"].as_array().expect("topics").iter().map(|t| t["name"].as_str().expect("n")).collect();
    assert_eq!(topics, vec!["Message passing algorithms", "Random matrix theory", "Statistical physics"]);

    // The id round-trips through work(id:) and node(id:).
    let id = work["id"].as_str().expect("id");
    let by_id = app.operation_data("works.graphql", "Work", json!({ "id": id })).await;
    assert_eq!(by_id["work"]["title"], work["title"]);
    let node = app.data("query($id: ID!) { node(id: $id) { id ... on Work { arxivId } } }", json!({ "id": id })).await;
    assert_eq!(node["node"], json!({ "id": id, "arxivId": "1906.08479" }));
}

#[tokio::test]
async fn unknown_works_are_null() {
    let app = spawn_app().await;
    let data = app.operation_data("works.graphql", "Work", json!({ "doi": "10.0000/none" })).await;
    assert_eq!(data["work"], json!(null));
    let data = app.operation_data("works.graphql", "Work", json!({ "arxivId": "0000.00000" })).await;
    assert_eq!(data["work"], json!(null));
}

#[tokio::test]
async fn researcher_works_filter_by_year_kind_and_topic() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let run = |filter: Value| {
        let app = &app;
        let id = id.clone();
        async move {
            let data = app
                .operation_data("works.graphql", "ResearcherWorks", json!({ "id": id, "first": 10, "filter": filter }))
                .await;
            data["node"]["works"].clone()
        }
    };
    let years = run(json!({ "yearFrom": 2020, "yearTo": 2021 })).await;
    assert_eq!(years["totalCount"], 3);
    let listed: Vec<i64> =
        years["edges"].as_array().expect("e").iter().map(|e| e["node"]["year"].as_i64().expect("y")).collect();
    assert_eq!(listed, vec![2021, 2020, 2020]);

    assert_eq!(run(json!({ "kind": "PREPRINT" })).await["totalCount"], 6);
    assert_eq!(run(json!({ "kind": "ARTICLE" })).await["totalCount"], 0);

    let topics = app.data("{ topics(first: 20, search: \"matrix\") { nodes { id name } } }", json!({})).await;
    let random_matrix = topics["topics"]["nodes"]
        .as_array()
        .expect("topics")
        .iter()
        .find(|t| t["name"] == "Random matrix theory")
        .expect("topic")["id"]
        .clone();
    let on_topic = run(json!({ "topicId": random_matrix })).await;
    assert_eq!(on_topic["totalCount"], 2);
    let edges = on_topic["edges"].as_array().expect("edges");
    assert!(edges.iter().all(|e| e["node"]["topics"].as_array().expect("t").iter().any(|t| t["id"] == random_matrix)));

    let inverted = app
        .operation(
            "works.graphql",
            "ResearcherWorks",
            json!({ "id": id, "first": 5, "filter": { "yearFrom": 2022, "yearTo": 2020 } }),
        )
        .await;
    assert_eq!(error_code(&inverted), "BAD_USER_INPUT");
}

#[tokio::test]
async fn researcher_works_order_by_title_and_citations() {
    let app = spawn_app().await;
    let id = app.researcher_id("marc-mezard").await;
    let data = app
        .operation_data(
            "works.graphql",
            "ResearcherWorks",
            json!({ "id": id, "first": 10, "orderBy": { "field": "TITLE", "direction": "ASC" } }),
        )
        .await;
    let listed: Vec<String> = data["node"]["works"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["title"].as_str().expect("t").to_owned())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
    assert_eq!(listed.len(), 6);

    let cited = app
        .operation(
            "works.graphql",
            "ResearcherWorks",
            json!({ "id": id, "first": 10, "orderBy": { "field": "CITED_BY_COUNT", "direction": "DESC" } }),
        )
        .await;
    assert!(cited.get("errors").is_none(), "{cited:#}");
    let relevance = app
        .operation(
            "works.graphql",
            "ResearcherWorks",
            json!({ "id": id, "first": 10, "orderBy": { "field": "RELEVANCE", "direction": "DESC" } }),
        )
        .await;
    assert_eq!(error_code(&relevance), "BAD_USER_INPUT");
}

#[tokio::test]
async fn work_search_ranks_by_relevance_and_combines_with_filters() {
    let app = spawn_app().await;
    let data = app
        .operation_data(
            "works.graphql",
            "SearchWorks",
            json!({ "filter": { "search": "message passing" }, "orderBy": { "field": "RELEVANCE", "direction": "DESC" } }),
        )
        .await;
    let found = &data["works"];
    let listed = titles(&found["nodes"]);
    assert_eq!(found["totalCount"].as_i64(), Some(listed.len() as i64));
    assert!(!listed.is_empty());
    // Both words are in this title; it must rank first.
    assert_eq!(listed[0], "High-temperature Expansions and Message Passing Algorithms");
    assert!(
        listed.contains(&"Multi-Layer Generalized Linear Estimation".to_owned()),
        "abstract mentions message passing"
    );

    // Whole words match (any case), and the year filter applies on top of the search.
    let data = app
        .operation_data("works.graphql", "SearchWorks", json!({ "filter": { "search": "GAUSSIAN", "yearFrom": 2021 } }))
        .await;
    assert_eq!(
        titles(&data["works"]["nodes"]),
        vec!["The Gaussian equivalence of generative models for learning with shallow neural networks"]
    );
    // The total counts the search and the filter together, not the search alone.
    assert_eq!(data["works"]["totalCount"], 1);
    let unfiltered =
        app.operation_data("works.graphql", "SearchWorks", json!({ "filter": { "search": "gaussian" } })).await;
    let all_gauss = titles(&unfiltered["works"]["nodes"]).len() as i64;
    assert!(all_gauss > 1, "more than one work matches `gaussian` in any year");
    assert_eq!(unfiltered["works"]["totalCount"].as_i64(), Some(all_gauss));

    let none = app.operation_data("works.graphql", "SearchWorks", json!({ "filter": { "search": "zzzzqqq" } })).await;
    assert_eq!(none["works"]["totalCount"], 0);

    // No words at all: nothing matches (see a_search_of_punctuation_alone_answers_an_empty_list).
    let punctuation =
        app.operation_data("works.graphql", "SearchWorks", json!({ "filter": { "search": "!!!" } })).await;
    assert_eq!(punctuation["works"]["totalCount"], 0);
}

#[tokio::test]
async fn all_works_list_newest_first_and_filter_by_researcher() {
    let app = spawn_app().await;
    let data = app.operation_data("works.graphql", "SearchWorks", json!({})).await;
    assert_eq!(data["works"]["totalCount"], 6);
    assert_eq!(data["works"]["nodes"][0]["year"], 2025);
    let authors: Vec<&str> = data["works"]["nodes"][0]["authorships"]
        .as_array()
        .expect("a")
        .iter()
        .map(|a| a["researcher"]["displayName"].as_str().expect("n"))
        .collect();
    assert_eq!(
        authors,
        vec!["Davide Badalotti", "Carlo Baldassi", "Marc Mézard", "Mattia Scardecchia", "Riccardo Zecchina"]
    );

    let maillard = app.researcher_id("antoine-maillard").await;
    let data =
        app.operation_data("works.graphql", "SearchWorks", json!({ "filter": { "researcherId": maillard } })).await;
    assert_eq!(data["works"]["totalCount"], 2);
    assert_eq!(
        titles(&data["works"]["nodes"]),
        vec![
            "Perturbative construction of mean-field equations in extensive-rank matrix factorization and denoising",
            "High-temperature Expansions and Message Passing Algorithms"
        ]
    );
}

#[tokio::test]
async fn researcher_search_and_directory_filters() {
    let app = spawn_app().await;
    app.affiliate(&["florent-krzakala", "lenka-zdeborova"], "Institute A", "CH").await;
    let data =
        app.operation_data("works.graphql", "SearchResearchers", json!({ "filter": { "search": "krzak" } })).await;
    let found = &data["researchers"];
    assert_eq!(found["totalCount"], 1);
    assert_eq!(found["nodes"][0]["displayName"], "Florent Krzakala");
    assert_eq!(found["nodes"][0]["affiliation"]["name"], "Institute A");
    assert_eq!(found["nodes"][0]["counts"], json!({ "works": 5, "followers": 0 }));

    let data =
        app.operation_data("works.graphql", "SearchResearchers", json!({ "filter": { "search": "Mézard" } })).await;
    assert_eq!(data["researchers"]["nodes"][0]["displayName"], "Marc Mézard");

    let all = app.operation_data("works.graphql", "SearchResearchers", json!({})).await;
    assert_eq!(all["researchers"]["totalCount"], 15);
    let names: Vec<&str> = all["researchers"]["nodes"]
        .as_array()
        .expect("n")
        .iter()
        .map(|n| n["displayName"].as_str().expect("d"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "the directory is alphabetical by default");

    let open = app
        .operation_data("works.graphql", "SearchResearchers", json!({ "filter": { "openToCollaborate": true } }))
        .await;
    assert_eq!(open["researchers"]["totalCount"], 1);
    let unclaimed = app
        .operation_data("works.graphql", "SearchResearchers", json!({ "filter": { "claimStatus": "UNCLAIMED" } }))
        .await;
    assert_eq!(unclaimed["researchers"]["totalCount"], 15);
    let claimed = app
        .operation_data("works.graphql", "SearchResearchers", json!({ "filter": { "claimStatus": "CLAIMED" } }))
        .await;
    assert_eq!(claimed["researchers"]["totalCount"], 0);

    let by_works = app
        .operation_data(
            "works.graphql",
            "SearchResearchers",
            json!({ "orderBy": { "field": "WORKS_COUNT", "direction": "DESC" }, "first": 3 }),
        )
        .await;
    let counts: Vec<i64> = by_works["researchers"]["nodes"]
        .as_array()
        .expect("n")
        .iter()
        .map(|n| n["counts"]["works"].as_i64().expect("w"))
        .collect();
    assert_eq!(counts, vec![6, 5, 5]);
    assert_eq!(by_works["researchers"]["nodes"][0]["slug"], "marc-mezard");
}

#[tokio::test]
async fn institutions_list_their_researchers() {
    let app = spawn_app().await;
    app.affiliate(&["carlo-baldassi", "riccardo-zecchina"], "Institute B", "IT").await;
    let data =
        app.operation_data("works.graphql", "SearchResearchers", json!({ "filter": { "search": "zecchina" } })).await;
    let slug = data["researchers"]["nodes"][0]["slug"].as_str().expect("slug").to_owned();
    let researcher = app
        .data(
            "query($s: String!) { researcher(slug: $s) { affiliation { id name country ror } } }",
            json!({ "s": slug }),
        )
        .await;
    let institution = &researcher["researcher"]["affiliation"];
    assert_eq!(institution["name"], "Institute B");
    assert_eq!(institution["country"], "IT");
    let id = institution["id"].clone();
    let data = app
        .data(
            "query($id: ID!) { institution(id: $id) { name researchers(first: 10) { totalCount nodes { displayName } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["institution"]["researchers"]["totalCount"], 2);
    assert_eq!(
        data["institution"]["researchers"]["nodes"],
        json!([{ "displayName": "Carlo Baldassi" }, { "displayName": "Riccardo Zecchina" }])
    );
    let filtered =
        app.operation_data("works.graphql", "SearchResearchers", json!({ "filter": { "institutionId": id } })).await;
    assert_eq!(filtered["researchers"]["totalCount"], 2);
}

#[tokio::test]
async fn a_topic_lists_its_works_and_researchers() {
    let app = spawn_app().await;
    let topics = app.data("{ topics(first: 100) { totalCount nodes { id name } } }", json!({})).await;
    assert_eq!(topics["topics"]["totalCount"], 9);
    let statistical_physics = topics["topics"]["nodes"]
        .as_array()
        .expect("topics")
        .iter()
        .find(|t| t["name"] == "Statistical physics")
        .expect("topic")["id"]
        .clone();
    let data = app.operation_data("works.graphql", "Topic", json!({ "id": statistical_physics })).await;
    let topic = &data["topic"];
    assert_eq!(topic["name"], "Statistical physics");
    assert_eq!(topic["worksCount"], 4);
    assert_eq!(topic["works"]["totalCount"], 4);
    let years: Vec<i64> =
        topic["works"]["nodes"].as_array().expect("w").iter().map(|w| w["year"].as_i64().expect("y")).collect();
    assert_eq!(years, vec![2025, 2022, 2020, 2017]);
    // The authors of those four works, without repeats.
    assert_eq!(topic["researchers"]["totalCount"], 11);
    assert_eq!(topic["researchers"]["nodes"].as_array().map(Vec::len), Some(10));

    let searched = app.data("{ topics(first: 10, search: \"NEURAL\") { nodes { name } } }", json!({})).await;
    assert_eq!(
        searched["topics"]["nodes"],
        json!([{ "name": "Neural networks" }, { "name": "Recurrent neural networks" }])
    );
    let unknown = app.operation_data("works.graphql", "Topic", json!({ "id": "VG9waWM6OTk5OTk" })).await;
    assert_eq!(unknown["topic"], json!(null));
}

#[tokio::test]
async fn nodes_resolve_many_ids_in_order() {
    let app = spawn_app().await;
    let a = app.researcher_id("marc-mezard").await;
    let b = app.researcher_id("riccardo-zecchina").await;
    let data = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Researcher { slug } } }",
            json!({ "ids": [b, "UmVzZWFyY2hlcjo5OTk5OTk", a] }),
        )
        .await;
    assert_eq!(data["nodes"][0]["slug"], "riccardo-zecchina");
    assert_eq!(data["nodes"][1], json!(null));
    assert_eq!(data["nodes"][2]["slug"], "marc-mezard");
}

#[tokio::test]
async fn a_doi_is_found_whatever_its_case() {
    let app = spawn_app().await;
    let marc = app.researcher_id("marc-mezard").await;
    let marc_id = scholargraph::graphql::ids::decode_as(&marc, scholargraph::graphql::ids::NodeType::Researcher)
        .expect("a researcher id");
    let work = scholargraph::domain::catalogue::NewWork {
        title: "A work with a mixed-case DOI".to_owned(),
        summary: None,
        kind: scholargraph::domain::works::WorkKind::Article,
        year: Some(2024),
        venue: None,
        doi: Some("10.1103/PhysRevE.99.012345".to_owned()),
        arxiv_id: None,
        cited_by_count: 0,
        authors: vec![marc_id],
        topics: vec![],
    };
    scholargraph::domain::catalogue::add_work(&app.db, &work).await.expect("add the work");
    for asked in ["10.1103/PhysRevE.99.012345", "10.1103/physreve.99.012345", " 10.1103/PHYSREVE.99.012345 "] {
        let data = app.data("query($doi: String) { work(doi: $doi) { title doi } }", json!({ "doi": asked })).await;
        assert_eq!(data["work"]["title"], "A work with a mixed-case DOI", "{asked}");
        assert_eq!(data["work"]["doi"], "10.1103/PhysRevE.99.012345", "stored as the source gave it");
    }
}

#[tokio::test]
async fn a_search_of_punctuation_alone_answers_an_empty_list() {
    let app = spawn_app().await;
    for search in ["%_\\", "!!!", "-- ;"] {
        let data = app
            .data(
                "query($s: String) { works(filter: { search: $s }) { totalCount nodes { id } } \
                 researchers(filter: { search: $s }) { totalCount nodes { id } } }",
                json!({ "s": search }),
            )
            .await;
        assert_eq!(data["works"], json!({ "totalCount": 0, "nodes": [] }), "{search}");
        assert_eq!(data["researchers"], json!({ "totalCount": 0, "nodes": [] }), "{search}");
    }
}
