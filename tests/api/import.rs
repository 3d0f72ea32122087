//! `scholargraph import`, run as an operator runs it (a process of its own,
//! beside the serving instance), then checked through the API.
use std::path::PathBuf;

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{spawn_with, TestApp};
use crate::summaries::{assert_summaries_agree, count};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(name).display().to_string()
}

/// What `scholargraph import` printed and whether it succeeded.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

async fn import(app: &TestApp, args: &[&str]) -> Run {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_scholargraph"))
        .arg("import")
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run scholargraph import");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn import_ok(app: &TestApp, args: &[&str]) -> String {
    let run = import(app, args).await;
    assert!(run.success, "import {args:?} failed:\n{}\n{}", run.stdout, run.stderr);
    run.stdout
}

/// A file of its own in the temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn scratch_file(name: &str) -> Scratch {
    Scratch(std::env::temp_dir().join(format!("scholargraph-import-{}-{name}", uuid::Uuid::new_v4().simple())))
}

async fn empty_app() -> TestApp {
    spawn_with(|c| c.seed_demo_when_empty = false).await
}

async fn mezard(app: &TestApp) -> Value {
    app.data(
        "query { researcher(slug: \"marc-mezard\") { displayName \
         counts { works collaborators closeCollaborators } \
         works(first: 20) { totalCount nodes { title year kind doi arxivId } } } }",
        json!({}),
    )
    .await["researcher"]
        .clone()
}

async fn works_in_all(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) AS n FROM works").await
}

#[tokio::test]
async fn openalex_then_arxiv_make_one_marc_mezard_with_six_works_and_importing_again_changes_nothing() {
    let app = empty_app().await;
    let works = fixture("openalex-works.jsonl");
    let authors = fixture("openalex-authors.json");
    let arxiv = fixture("arxiv.atom");

    let first = import_ok(&app, &["openalex", &works]).await;
    assert!(first.contains("works:       6 inserted, 0 updated, 0 unchanged"), "{first}");
    import_ok(&app, &["openalex", &authors]).await;
    let from_arxiv = import_ok(&app, &["arxiv", &arxiv]).await;
    // The six works are known: arXiv adds nothing but its source ids.
    assert!(from_arxiv.contains("works:       0 inserted"), "{from_arxiv}");
    assert!(from_arxiv.contains("researchers: 0 inserted"), "{from_arxiv}");

    let marc = mezard(&app).await;
    assert_eq!(marc["displayName"], "Marc Mézard");
    assert_eq!(marc["counts"], json!({ "works": 6, "collaborators": 14, "closeCollaborators": 4 }));
    assert_eq!(works_in_all(&app).await, 6);
    for work in marc["works"]["nodes"].as_array().expect("works") {
        let arxiv_id = work["arxivId"].as_str().expect("every work has its arXiv id");
        assert_eq!(work["doi"], format!("10.48550/arxiv.{}", arxiv_id.to_lowercase()), "and its arXiv DOI");
        assert_eq!(work["kind"], "PREPRINT");
    }
    // OpenAlex's publication year wins over arXiv's submission date (2019).
    let expansions = marc["works"]["nodes"]
        .as_array()
        .and_then(|works| works.iter().find(|w| w["arxivId"] == "1906.08479"))
        .expect("the 2020 work");
    assert_eq!(expansions["year"], 2020);
    let both_sources = count(
        &app,
        "SELECT COUNT(*) AS n FROM (SELECT work_id FROM work_sources GROUP BY work_id HAVING COUNT(*) = 2) s",
    )
    .await;
    assert_eq!(both_sources, 6, "each work records its OpenAlex and its arXiv id");
    assert_summaries_agree(&app).await;

    // Again, both sources: nothing changes, not even the change log.
    let changes_before = count(&app, "SELECT COUNT(*) AS n FROM catalogue_changes").await;
    for (source, file) in [("openalex", &works), ("openalex", &authors), ("arxiv", &arxiv)] {
        let again = import_ok(&app, &[source, file]).await;
        assert!(again.contains("0 inserted, 0 updated"), "{again}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM catalogue_changes").await, changes_before);
    assert_eq!(mezard(&app).await, marc);

    // A write from another process reaches the serving instance's search.
    app.search_caught_up().await;
    let found = app.data("query { researchers(filter: { search: \"mezard\" }) { nodes { slug } } }", json!({})).await;
    assert_eq!(found["researchers"]["nodes"], json!([{ "slug": "marc-mezard" }]));
}

#[tokio::test]
async fn a_malformed_line_is_reported_with_its_file_and_line_and_skipped_unless_strict() {
    let app = empty_app().await;
    let lines: Vec<String> = std::fs::read_to_string(fixture("openalex-works.jsonl"))
        .expect("read the fixture")
        .lines()
        .map(str::to_owned)
        .collect();
    let path = scratch_file("works.jsonl");
    let text = format!("{}\n{{\"id\": \"https://openalex.org/W1\", \"title\": \n{}\n", lines[0], lines[1]);
    std::fs::write(&path.0, text).expect("write the file");
    let file = path.0.display().to_string();

    let strict = import(&app, &["openalex", "--strict", &file]).await;
    assert!(!strict.success, "--strict stops at the malformed line");
    assert!(strict.stderr.contains(&format!("{file}:2")), "{}", strict.stderr);
    assert_eq!(works_in_all(&app).await, 0, "the batch holding the malformed line was not written");

    let lenient = import_ok(&app, &["openalex", &file]).await;
    assert!(lenient.contains("skipped:     1"), "{lenient}");
    assert!(lenient.contains(&format!("{file}:2:")), "{lenient}");
    assert_eq!(works_in_all(&app).await, 2);
    assert_summaries_agree(&app).await;
}

/// A trigger that refuses one title, on either database.
async fn refuse_title(app: &TestApp, title: &str) {
    let statements: Vec<String> = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => vec![
            format!(
                "CREATE FUNCTION refuse_title() RETURNS trigger AS $$ BEGIN \
                 IF NEW.title = '{title}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER refuse_title BEFORE INSERT ON works FOR EACH ROW EXECUTE FUNCTION refuse_title()"
                .to_owned(),
        ],
        _ => vec![format!(
            "CREATE TRIGGER refuse_title BEFORE INSERT ON works WHEN NEW.title = '{title}' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )],
    };
    for sql in statements {
        app.db.execute_unprepared(&sql).await.expect("create the trigger");
    }
}

#[tokio::test]
async fn an_interrupted_import_leaves_whole_batches_and_running_it_again_completes_it() {
    let app = empty_app().await;
    let works = fixture("openalex-works.jsonl");
    // The fourth work fails: batches of two keep the first two works only.
    let fourth = std::fs::read_to_string(&works).expect("read the fixture").lines().nth(3).map(str::to_owned);
    let fourth: Value = serde_json::from_str(&fourth.expect("a fourth line")).expect("JSON");
    let title = fourth["display_name"].as_str().expect("a title").to_owned();
    refuse_title(&app, &title).await;

    let interrupted = import(&app, &["openalex", "--batch-size", "2", &works]).await;
    assert!(!interrupted.success, "the failing batch ends the run");
    assert_eq!(works_in_all(&app).await, 2, "whole batches only");
    assert_summaries_agree(&app).await;

    let drop = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "DROP TRIGGER refuse_title ON works",
        _ => "DROP TRIGGER refuse_title",
    };
    app.db.execute_unprepared(drop).await.expect("drop the trigger");
    let rerun = import_ok(&app, &["openalex", "--batch-size", "2", &works]).await;
    assert!(rerun.contains("works:       4 inserted, 0 updated, 2 unchanged"), "{rerun}");
    assert_eq!(mezard(&app).await["counts"]["works"], 6);
    assert_summaries_agree(&app).await;
}

/// An arXiv feed of the given entries (id, title, authors).
fn arxiv_feed(entries: &[(&str, &str, &[&str])]) -> String {
    let mut feed = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" \
         xmlns:arxiv=\"http://arxiv.org/schemas/atom\">\n",
    );
    for (id, title, authors) in entries {
        feed.push_str(&format!(
            "<entry>\n<id>http://arxiv.org/abs/{id}v1</id>\n<published>2021-01-01T00:00:00Z</published>\n\
             <title>{title}</title>\n<summary>A test entry.</summary>\n"
        ));
        for author in *authors {
            feed.push_str(&format!("<author><name>{author}</name></author>\n"));
        }
        feed.push_str("<arxiv:primary_category term=\"cs.LG\"/>\n</entry>\n");
    }
    feed.push_str("</feed>\n");
    feed
}

#[tokio::test]
async fn an_arxiv_author_matches_by_name_on_a_known_byline_and_stays_apart_elsewhere() {
    let app = empty_app().await;
    import_ok(&app, &["openalex", &fixture("openalex-works.jsonl")]).await;
    let researchers_before = count(&app, "SELECT COUNT(*) AS n FROM researchers").await;

    let path = scratch_file("feed.atom");
    let feed = arxiv_feed(&[
        // A known work: "Marc Mezard" (no accent) is the Marc Mézard of its byline.
        ("1701.06981", "Multi-Layer Generalized Linear Estimation", &["MARC  MEZARD"]),
        // An unknown work: a bare name never merges.
        ("2101.00001", "A work nobody knows yet", &["Marc Mézard"]),
    ]);
    std::fs::write(&path.0, feed).expect("write the feed");
    let out = import_ok(&app, &["arxiv", &path.0.display().to_string()]).await;
    assert!(out.contains("works:       1 inserted, 1 updated, 0 unchanged"), "{out}");

    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM researchers").await, researchers_before + 1);
    assert_eq!(mezard(&app).await["counts"]["works"], 6, "the known work kept its author");
    let namesake =
        app.data("query { researcher(slug: \"marc-mezard-2\") { displayName counts { works } } }", json!({})).await;
    assert_eq!(namesake["researcher"], json!({ "displayName": "Marc Mézard", "counts": { "works": 1 } }));
    assert_summaries_agree(&app).await;
}

/// An OpenAlex work line with the given authors (`A<n>`, named `Author <n>`).
fn openalex_work(id: u32, year: u32, authors: &[u32], topics: &[u32]) -> String {
    let authorships: Vec<Value> = authors
        .iter()
        .map(|a| {
            json!({ "author": { "id": format!("https://openalex.org/A{a}"), "display_name": format!("Author {a}") },
                    "institutions": [{ "display_name": format!("Institution {}", a % 3) }] })
        })
        .collect();
    let topics: Vec<Value> = topics.iter().map(|t| json!({ "display_name": format!("Topic {t}") })).collect();
    json!({ "id": format!("https://openalex.org/W{id}"), "doi": format!("https://doi.org/10.5555/t.{id}"),
            "display_name": format!("Work {id}"), "publication_year": year, "type": "article",
            "primary_location": { "source": { "display_name": format!("Journal {}", id % 4) } },
            "authorships": authorships, "topics": topics })
    .to_string()
}

/// The co-author counts a file of works must give, counted here from the
/// bylines themselves: `(distinct co-authors, those sharing two works or more)`.
fn expected_coauthors(bylines: &[Vec<u32>], author: u32) -> (usize, usize) {
    let mut shared: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    for byline in bylines.iter().filter(|byline| byline.len() <= 100 && byline.contains(&author)) {
        for other in byline.iter().filter(|other| **other != author) {
            *shared.entry(*other).or_default() += 1;
        }
    }
    (shared.len(), shared.values().filter(|n| **n >= 2).count())
}

#[tokio::test]
async fn batches_of_any_size_keep_summaries_exact_and_a_consortium_byline_adds_no_collaborators() {
    // 60 works by 12 authors, each byline two to four of them; one work
    // listed twice; one consortium paper of 150 authors, author 1 among them.
    let mut bylines: Vec<Vec<u32>> =
        (0..60u32).map(|n| (0..2 + n % 3).map(|k| (n * 5 + k * 7) % 12 + 1).collect()).collect();
    for byline in &mut bylines {
        byline.dedup();
    }
    let consortium: Vec<u32> = std::iter::once(1).chain(1001..1150).collect();
    bylines.push(consortium.clone());
    let mut lines: Vec<String> = bylines
        .iter()
        .enumerate()
        .map(|(n, byline)| openalex_work(n as u32 + 1, 2000 + n as u32 % 7, byline, &[n as u32 % 5, 9]))
        .collect();
    lines.insert(30, lines[12].clone());
    let file = scratch_file("batches.jsonl");
    std::fs::write(&file.0, lines.join("\n") + "\n").expect("write the works");
    let path = file.0.display().to_string();

    let mut answers = Vec::new();
    for batch_size in ["1", "7", "1000"] {
        let app = empty_app().await;
        let first = import_ok(&app, &["openalex", "--batch-size", batch_size, &path]).await;
        assert!(first.contains("works:       61 inserted, 0 updated, 1 unchanged"), "batch size {batch_size}: {first}");
        assert_summaries_agree(&app).await;
        let counts = |author: u32| {
            let app = &app;
            async move {
                app.data(
                    &format!("query {{ researcher(slug: \"author-{author}\") {{ counts {{ works collaborators closeCollaborators }} }} }}"),
                    json!({}),
                )
                .await["researcher"]["counts"]
                    .clone()
            }
        };
        for author in [1, 2, 7, 12] {
            let works = bylines.iter().filter(|byline| byline.contains(&author)).count();
            let (collaborators, close) = expected_coauthors(&bylines, author);
            assert_eq!(
                counts(author).await,
                json!({ "works": works, "collaborators": collaborators, "closeCollaborators": close }),
                "author {author}, batch size {batch_size}"
            );
        }
        // On the consortium paper only: it counts as a work, and makes no co-authors.
        assert_eq!(counts(1100).await, json!({ "works": 1, "collaborators": 0, "closeCollaborators": 0 }));

        let changes_before = count(&app, "SELECT COUNT(*) AS n FROM catalogue_changes").await;
        let again = import_ok(&app, &["openalex", "--batch-size", batch_size, &path]).await;
        assert!(again.contains("works:       0 inserted, 0 updated, 62 unchanged"), "{again}");
        assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM catalogue_changes").await, changes_before);
        answers.push(
            app.data(
                "query { researchers(first: 100, orderBy: { field: DISPLAY_NAME, direction: ASC }) { totalCount nodes { slug counts { works collaborators closeCollaborators } } } }",
                json!({}),
            )
            .await,
        );
    }
    assert_eq!(answers[0], answers[1], "batch sizes 1 and 7 agree");
    assert_eq!(answers[1], answers[2], "batch sizes 7 and 1000 agree");
}
