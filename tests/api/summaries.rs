//! Counters and summary tables agree with a recount from the base tables
//! after a mix of follows, unfollows, claims and newly added works.
use futures_util::future::join_all;
use scholargraph::domain::catalogue::{self, NewWork};
use scholargraph::domain::works::WorkKind;
use scholargraph::error::AppError;
use scholargraph::ingest::synthetic::{self, SyntheticSize};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{spawn_app, token, TestApp};

/// Each pair is a summary and its recount; they must hold the same rows.
const CHECKS: &[(&str, &str, &str)] = &[
    (
        "works_count",
        "SELECT id, works_count FROM researchers",
        "SELECT r.id, (SELECT COUNT(*) FROM authorships a WHERE a.researcher_id = r.id) FROM researchers r",
    ),
    (
        "followers_count",
        "SELECT id, followers_count FROM researchers",
        "SELECT r.id, (SELECT COUNT(*) FROM follows f WHERE f.researcher_id = r.id) FROM researchers r",
    ),
    (
        "co-author counters",
        "SELECT id, collaborators_count, close_collaborators_count FROM researchers",
        "SELECT r.id, (SELECT COUNT(*) FROM collaborations c WHERE c.researcher_id = r.id), \
         (SELECT COUNT(*) FROM collaborations c WHERE c.researcher_id = r.id AND c.shared_works >= 2) FROM researchers r",
    ),
    (
        "linked_works_count",
        "SELECT id, linked_works_count FROM researchers",
        "SELECT r.id, (SELECT COUNT(*) FROM authorships a JOIN works w ON w.id = a.work_id \
         WHERE a.researcher_id = r.id AND (w.arxiv_id IS NOT NULL OR w.doi IS NOT NULL)) FROM researchers r",
    ),
    (
        "authors_count",
        "SELECT id, authors_count FROM works",
        "SELECT w.id, (SELECT COUNT(*) FROM authorships a WHERE a.work_id = w.id) FROM works w",
    ),
    (
        "work_year",
        "SELECT work_id, researcher_id, work_year FROM authorships",
        "SELECT a.work_id, a.researcher_id, COALESCE(w.year, 0) FROM authorships a JOIN works w ON w.id = a.work_id",
    ),
    (
        "work_authors_count",
        "SELECT work_id, researcher_id, work_authors_count FROM authorships",
        "SELECT a.work_id, a.researcher_id, (SELECT COUNT(*) FROM authorships b WHERE b.work_id = a.work_id) \
         FROM authorships a",
    ),
    // A byline of more than 100 authors adds no co-author pairs (README,
    // "Consortium bylines").
    (
        "collaborations",
        "SELECT researcher_id, coauthor_id, shared_works, first_year, last_year FROM collaborations",
        "SELECT a.researcher_id, b.researcher_id, COUNT(*), MIN(w.year), MAX(w.year) FROM authorships a \
         JOIN authorships b ON b.work_id = a.work_id AND b.researcher_id <> a.researcher_id \
         JOIN works w ON w.id = a.work_id \
         WHERE (SELECT COUNT(*) FROM authorships n WHERE n.work_id = a.work_id) <= 100 \
         GROUP BY a.researcher_id, b.researcher_id",
    ),
    (
        "collaboration names",
        "SELECT researcher_id, coauthor_id, coauthor_sort_name FROM collaborations",
        "SELECT c.researcher_id, c.coauthor_id, r.sort_name FROM collaborations c JOIN researchers r ON r.id = c.coauthor_id",
    ),
    (
        "researcher_topics",
        "SELECT researcher_id, topic_id, works_count FROM researcher_topics",
        "SELECT a.researcher_id, wt.topic_id, COUNT(*) FROM authorships a \
         JOIN work_topics wt ON wt.work_id = a.work_id GROUP BY a.researcher_id, wt.topic_id",
    ),
    (
        "topics_count",
        "SELECT id, topics_count FROM researchers",
        "SELECT r.id, (SELECT COUNT(*) FROM researcher_topics t WHERE t.researcher_id = r.id) FROM researchers r",
    ),
    (
        "topic_norm2",
        "SELECT id, topic_norm2 FROM researchers",
        "SELECT r.id, (SELECT COALESCE(SUM(CAST(t.works_count AS BIGINT) * t.works_count), 0) \
         FROM researcher_topics t WHERE t.researcher_id = r.id) FROM researchers r",
    ),
    (
        "researcher_facets",
        "SELECT researcher_id, facet, value, works_count FROM researcher_facets",
        "SELECT a.researcher_id, 'year', CAST(w.year AS VARCHAR(8)), COUNT(*) FROM authorships a \
         JOIN works w ON w.id = a.work_id WHERE w.year IS NOT NULL GROUP BY a.researcher_id, w.year \
         UNION ALL SELECT a.researcher_id, 'kind', w.kind, COUNT(*) FROM authorships a \
         JOIN works w ON w.id = a.work_id GROUP BY a.researcher_id, w.kind \
         UNION ALL SELECT a.researcher_id, 'venue', w.venue, COUNT(*) FROM authorships a \
         JOIN works w ON w.id = a.work_id WHERE w.venue IS NOT NULL GROUP BY a.researcher_id, w.venue",
    ),
];

pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    let statement = Statement::from_string(app.db.get_database_backend(), sql.to_owned());
    let row = app.db.query_one_raw(statement).await.expect("query").expect("one row");
    row.try_get::<i64>("", "n").expect("n")
}

pub(crate) async fn assert_summaries_agree(app: &TestApp) {
    for (name, summary, recount) in CHECKS {
        let (summary, recount) = (format!("SELECT * FROM ({summary}) s"), format!("SELECT * FROM ({recount}) r"));
        let missing = count(app, &format!("SELECT COUNT(*) AS n FROM ({recount} EXCEPT {summary}) diff")).await;
        let extra = count(app, &format!("SELECT COUNT(*) AS n FROM ({summary} EXCEPT {recount}) diff")).await;
        assert_eq!((missing, extra), (0, 0), "{name}: rows missing from / extra in the summary");
    }
}

async fn id_of(app: &TestApp, table: &str, column: &str, value: &str) -> i64 {
    count(app, &format!("SELECT id AS n FROM {table} WHERE {column} = '{value}'")).await
}

fn work(title: &str, year: Option<i32>, authors: Vec<i64>, topics: Vec<i64>) -> NewWork {
    NewWork {
        title: title.to_owned(),
        summary: Some("A new work.".to_owned()),
        kind: WorkKind::Article,
        year,
        venue: Some("Journal".to_owned()),
        doi: None,
        arxiv_id: None,
        cited_by_count: 3,
        authors,
        topics,
    }
}

#[tokio::test]
async fn summaries_match_a_recount_after_follows_claims_and_new_works() {
    let app = spawn_app().await;
    assert_summaries_agree(&app).await;

    let marc = id_of(&app, "researchers", "slug", "marc-mezard").await;
    let lenka = id_of(&app, "researchers", "slug", "lenka-zdeborova").await;
    let riccardo = id_of(&app, "researchers", "slug", "riccardo-zecchina").await;
    let bruno = id_of(&app, "researchers", "slug", "bruno-loureiro").await;
    let physics = id_of(&app, "topics", "name", "Statistical physics").await;
    let matrices = id_of(&app, "topics", "name", "Matrix factorization").await;

    // Follows and unfollows by several users, some of them concurrent.
    let global = |id: i64| scholargraph::graphql::ids::encode(scholargraph::graphql::ids::NodeType::Researcher, id).0;
    let users: Vec<String> = (0..6).map(|i| token(&format!("reader-{i}"), None, &[])).collect();
    join_all(
        users
            .iter()
            .map(|t| app.operation_as(t, "mutations.graphql", "Follow", json!({ "researcherId": global(marc) }))),
    )
    .await;
    join_all(
        users[..3]
            .iter()
            .map(|t| app.operation_as(t, "mutations.graphql", "Unfollow", json!({ "researcherId": global(marc) }))),
    )
    .await;
    app.operation_as(&users[0], "mutations.graphql", "Follow", json!({ "researcherId": global(lenka) })).await;
    app.operation_as(&users[1], "mutations.graphql", "Claim", json!({ "researcherId": global(bruno) })).await;

    // New works: a new pair (Riccardo–Lenka), a repeated pair, a work with no year.
    catalogue::add_work(
        &app.db,
        &work("Replicas revisited", Some(2026), vec![riccardo, lenka, marc], vec![physics, matrices]),
    )
    .await
    .expect("add work");
    catalogue::add_work(&app.db, &work("Older notes", Some(2001), vec![marc, bruno], vec![matrices]))
        .await
        .expect("add work");
    catalogue::add_work(&app.db, &work("Undated", None, vec![bruno, lenka], vec![])).await.expect("add work");
    assert_summaries_agree(&app).await;

    let profile = app.operation_data("profile.graphql", "ResearcherProfile", json!({ "slug": "marc-mezard" })).await;
    let counts = &profile["researcher"]["counts"];
    assert_eq!(counts["works"], 8);
    assert_eq!(counts["followers"], 3);
    assert_eq!(counts["collaborators"], 14, "Riccardo and Bruno were co-authors already");
    assert_eq!(counts["closeCollaborators"], 5, "Riccardo now shares two works, and joins the four");
    assert_eq!(profile["researcher"]["works"]["edges"][0]["node"]["title"], "Replicas revisited");
}

#[tokio::test]
async fn a_failed_write_leaves_no_trace() {
    let app = spawn_app().await;
    let marc = id_of(&app, "researchers", "slug", "marc-mezard").await;
    let before = count(&app, "SELECT COUNT(*) AS n FROM works").await;
    // An unknown author fails after the work and its byline were written:
    // the whole transaction must roll back.
    let result = catalogue::add_work(&app.db, &work("Ghost", Some(2020), vec![marc, 999_999], vec![])).await;
    assert!(result.is_err());
    let mut duplicate = work("Copy", Some(2020), vec![marc], vec![]);
    duplicate.arxiv_id = Some("1701.06981".to_owned());
    assert!(matches!(catalogue::add_work(&app.db, &duplicate).await, Err(AppError::Conflict(_))));
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM works").await, before);
    assert_summaries_agree(&app).await;
}

#[tokio::test]
async fn a_small_synthetic_load_builds_summaries_that_match_a_recount() {
    let app = crate::helpers::spawn_with(|c| c.seed_demo_when_empty = false).await;
    let size = SyntheticSize {
        researchers: 300,
        works: 2_000,
        topics: 60,
        institutions: 20,
        follows: 500,
        prolific_works: 400,
        largest_byline: 40,
        seed: 7,
    };
    let report = synthetic::seed(&app.db, &size, false).await.expect("bulk load");
    assert_eq!(report.works, 2_000);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM works").await, 2_000);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM authorships").await, report.authorships as i64);
    let prolific = count(&app, "SELECT CAST(works_count AS BIGINT) AS n FROM researchers WHERE id = 1").await;
    assert!(prolific >= 400, "the prolific author has {prolific} works");
    let largest = count(&app, "SELECT CAST(MAX(authors_count) AS BIGINT) AS n FROM works").await;
    assert!((40..=41).contains(&largest), "the largest byline has {largest} authors (41 with the prolific author)");
    assert_summaries_agree(&app).await;

    // Search finds the loaded works (the load tells the index to rebuild),
    // and the sequences work after the load.
    app.search_caught_up().await;
    let found = app.data("{ works(first: 1, filter: { search: \"learning\" }) { totalCount } }", json!({})).await;
    assert!(found["works"]["totalCount"].as_i64().is_some_and(|n| n > 0));
    let first = count(&app, "SELECT MIN(id) AS n FROM researchers").await;
    let added = catalogue::add_work(&app.db, &work("After the load", Some(2026), vec![first, first + 1], vec![1]))
        .await
        .expect("add a work after the bulk load");
    assert_eq!(added, 2_001);
    let reader = token("reader", None, &[]);
    let id = scholargraph::graphql::ids::encode(scholargraph::graphql::ids::NodeType::Researcher, first).0;
    app.operation_data_as(&reader, "mutations.graphql", "Follow", json!({ "researcherId": id })).await;
    assert_summaries_agree(&app).await;
}

#[tokio::test]
async fn a_work_by_an_unknown_author_or_topic_is_not_found_and_writes_nothing() {
    let app = spawn_app().await;
    let before = count(&app, "SELECT COUNT(*) AS n FROM works").await;
    let marc = id_of(&app, "researchers", "slug", "marc-mezard").await;
    for (authors, topics) in [(vec![marc, 999_999], vec![]), (vec![marc], vec![999_999])] {
        let err = catalogue::add_work(&app.db, &work("Orphan", Some(2024), authors, topics))
            .await
            .expect_err("an unknown id is refused");
        assert_eq!(err.code(), "NOT_FOUND", "{err:?}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM works").await, before);
}

#[tokio::test]
async fn recount_restores_counters_and_summaries_that_were_corrupted() {
    let app = spawn_app().await;
    let follower = token("fan", None, &[]);
    let marc = app.researcher_id("marc-mezard").await;
    app.operation_data_as(&follower, "mutations.graphql", "Follow", json!({ "researcherId": marc })).await;
    let profile = || app.operation_data("profile.graphql", "ResearcherProfile", json!({ "slug": "marc-mezard" }));
    let before = profile().await["researcher"]["counts"].clone();
    let directory = || app.data("{ researchers(first: 100) { edges { node { slug } } } }", json!({}));
    let names_before = directory().await;
    assert_eq!(
        before,
        json!({ "works": 6, "followers": 1, "topics": 9, "collaborators": 14, "closeCollaborators": 4 })
    );

    for corruption in [
        "UPDATE researchers SET works_count = 99, followers_count = 7, collaborators_count = 0, \
         close_collaborators_count = 3, topics_count = 1, topic_norm2 = 5, linked_works_count = 0",
        "UPDATE works SET authors_count = 1",
        "UPDATE authorships SET work_year = 1900",
        "DELETE FROM collaborations WHERE shared_works >= 2",
        "DELETE FROM researcher_topics",
        "UPDATE researcher_facets SET works_count = 42",
        "UPDATE researchers SET sort_name = slug",
        "UPDATE collaborations SET coauthor_sort_name = ''",
    ] {
        app.db.execute_unprepared(corruption).await.expect("corrupt a counter");
    }
    assert_ne!(profile().await["researcher"]["counts"], before, "the corruption shows");

    // The command an operator runs, as a process of its own.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_scholargraph"))
        .arg("recount")
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run scholargraph recount");
    assert!(output.status.success(), "recount failed: {}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("recounted"));
    assert_eq!(profile().await["researcher"]["counts"], before);
    assert_eq!(directory().await, names_before, "sort keys rebuilt");
    assert_summaries_agree(&app).await;
}
