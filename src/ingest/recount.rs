//! `scholargraph recount`: every counter and summary that the catalogue's
//! writes keep in step (README, "Scale"), rebuilt from the base tables
//! (`works`, `authorships`, `work_topics`, `follows`) in one transaction.
//! This is the one copy of each rebuild statement: the synthetic bulk load
//! and the tests use it too.
use std::time::{Duration, Instant};

use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, Statement};

use super::Progress;
use crate::domain::catalogue::LARGEST_COLLABORATIVE_BYLINE;
use crate::domain::{begin_write, statement};
use crate::error::AppResult;

/// Counters kept on works, authorships and researchers, and the co-author
/// pairs, from the base tables.
pub fn base_counters() -> Vec<String> {
    let mut statements: Vec<String> = [
        "UPDATE works SET authors_count = 0",
        "UPDATE works SET authors_count = c.n FROM \
         (SELECT work_id, COUNT(*) AS n FROM authorships GROUP BY work_id) AS c WHERE works.id = c.work_id",
        "UPDATE authorships SET work_year = COALESCE(w.year, 0), work_authors_count = w.authors_count \
         FROM works w WHERE w.id = authorships.work_id",
        "UPDATE researchers SET works_count = 0, followers_count = 0",
        "UPDATE researchers SET works_count = c.n FROM \
         (SELECT researcher_id, COUNT(*) AS n FROM authorships GROUP BY researcher_id) AS c \
         WHERE researchers.id = c.researcher_id",
        "UPDATE researchers SET followers_count = c.n FROM \
         (SELECT researcher_id, COUNT(*) AS n FROM follows GROUP BY researcher_id) AS c \
         WHERE researchers.id = c.researcher_id",
        "DELETE FROM collaborations",
    ]
    .map(str::to_owned)
    .to_vec();
    statements.push(format!("{INSERT_PAIRS} {}", pairs_of("true")));
    statements
}

const INSERT_PAIRS: &str =
    "INSERT INTO collaborations (researcher_id, coauthor_id, shared_works, first_year, last_year, coauthor_sort_name)";

/// Both directions of every co-author pair on the works `condition` (on
/// `a`, `b` the two authorships and `w` the work) selects, with shared
/// works, first and last year (ignoring works without a year) and the
/// co-author's sort key. A byline longer than
/// [`LARGEST_COLLABORATIVE_BYLINE`] adds no pairs.
fn pairs_of(condition: &str) -> String {
    format!(
        "SELECT a.researcher_id, b.researcher_id, COUNT(*), MIN(w.year), MAX(w.year), r.sort_name \
         FROM authorships a JOIN authorships b ON b.work_id = a.work_id AND b.researcher_id <> a.researcher_id \
         JOIN works w ON w.id = a.work_id JOIN researchers r ON r.id = b.researcher_id \
         WHERE w.authors_count <= {LARGEST_COLLABORATIVE_BYLINE} AND ({condition}) \
         GROUP BY a.researcher_id, b.researcher_id, r.sort_name"
    )
}

/// The summaries and the counters derived from them, from the base tables
/// and `collaborations`. A bulk load writes `collaborations` itself
/// (`synthetic`) and then runs these.
pub const SUMMARIES: &[&str] = &[
    "DELETE FROM researcher_topics",
    "DELETE FROM researcher_facets",
    "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
     SELECT researcher_id, 'year', CAST(work_year AS VARCHAR(8)), COUNT(*) FROM authorships \
     WHERE work_year <> 0 GROUP BY researcher_id, work_year ORDER BY researcher_id",
    "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
     SELECT a.researcher_id, 'kind', w.kind, COUNT(*) FROM authorships a JOIN works w ON w.id = a.work_id \
     GROUP BY a.researcher_id, w.kind",
    "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
     SELECT a.researcher_id, 'venue', w.venue, COUNT(*) FROM authorships a JOIN works w ON w.id = a.work_id \
     WHERE w.venue IS NOT NULL GROUP BY a.researcher_id, w.venue",
    "INSERT INTO researcher_topics (researcher_id, topic_id, works_count) \
     SELECT a.researcher_id, wt.topic_id, COUNT(*) FROM authorships a \
     JOIN work_topics wt ON wt.work_id = a.work_id GROUP BY a.researcher_id, wt.topic_id \
     ORDER BY a.researcher_id, wt.topic_id",
    "UPDATE researchers SET collaborators_count = 0, close_collaborators_count = 0, linked_works_count = 0, \
     topic_norm2 = 0, topics_count = 0",
    "UPDATE researchers SET topic_norm2 = c.n, topics_count = c.topics FROM \
     (SELECT researcher_id, SUM(CAST(works_count AS BIGINT) * works_count) AS n, COUNT(*) AS topics \
      FROM researcher_topics GROUP BY researcher_id) AS c WHERE researchers.id = c.researcher_id",
    "UPDATE researchers SET collaborators_count = c.n, close_collaborators_count = c.close FROM \
     (SELECT researcher_id, COUNT(*) AS n, SUM(CASE WHEN shared_works >= 2 THEN 1 ELSE 0 END) AS close \
      FROM collaborations GROUP BY researcher_id) AS c WHERE researchers.id = c.researcher_id",
    "UPDATE researchers SET linked_works_count = c.n FROM \
     (SELECT a.researcher_id AS researcher_id, COUNT(*) AS n FROM authorships a JOIN works w ON w.id = a.work_id \
      WHERE w.arxiv_id IS NOT NULL OR w.doi IS NOT NULL GROUP BY a.researcher_id) AS c \
     WHERE researchers.id = c.researcher_id",
];

/// The same rebuild for the researchers in `touched_researchers` and the
/// works in `touched_works` only (temporary tables the caller fills): what an
/// import runs after each batch. The touched researchers must include every
/// author, before and after, of every touched work, so that a co-author pair
/// whose count moved has both ends in the set.
pub fn scoped() -> Vec<String> {
    let mut statements: Vec<String> = [
        "UPDATE works SET authors_count = (SELECT COUNT(*) FROM authorships a WHERE a.work_id = works.id) \
         WHERE id IN (SELECT id FROM touched_works)",
        "UPDATE authorships SET work_year = COALESCE(w.year, 0), work_authors_count = w.authors_count \
         FROM works w WHERE w.id = authorships.work_id AND authorships.work_id IN (SELECT id FROM touched_works)",
        "UPDATE researchers SET works_count = (SELECT COUNT(*) FROM authorships a WHERE a.researcher_id = researchers.id) \
         WHERE id IN (SELECT id FROM touched_researchers)",
        // Pairs are stored both ways: the rows naming a touched researcher
        // second are the mirrors of those naming them first.
        "DELETE FROM collaborations WHERE (coauthor_id, researcher_id) IN \
         (SELECT researcher_id, coauthor_id FROM collaborations WHERE researcher_id IN (SELECT id FROM touched_researchers))",
        "DELETE FROM collaborations WHERE researcher_id IN (SELECT id FROM touched_researchers)",
    ]
    .map(str::to_owned)
    .to_vec();
    statements.push(format!(
        "{INSERT_PAIRS} {}",
        pairs_of(
            "a.researcher_id IN (SELECT id FROM touched_researchers) \
             OR b.researcher_id IN (SELECT id FROM touched_researchers)"
        )
    ));
    statements.extend(
        [
            "DELETE FROM researcher_topics WHERE researcher_id IN (SELECT id FROM touched_researchers)",
            "DELETE FROM researcher_facets WHERE researcher_id IN (SELECT id FROM touched_researchers)",
            "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
             SELECT researcher_id, 'year', CAST(work_year AS VARCHAR(8)), COUNT(*) FROM authorships \
             WHERE work_year <> 0 AND researcher_id IN (SELECT id FROM touched_researchers) GROUP BY researcher_id, work_year",
            "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
             SELECT a.researcher_id, 'kind', w.kind, COUNT(*) FROM authorships a JOIN works w ON w.id = a.work_id \
             WHERE a.researcher_id IN (SELECT id FROM touched_researchers) GROUP BY a.researcher_id, w.kind",
            "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
             SELECT a.researcher_id, 'venue', w.venue, COUNT(*) FROM authorships a JOIN works w ON w.id = a.work_id \
             WHERE w.venue IS NOT NULL AND a.researcher_id IN (SELECT id FROM touched_researchers) \
             GROUP BY a.researcher_id, w.venue",
            "INSERT INTO researcher_topics (researcher_id, topic_id, works_count) \
             SELECT a.researcher_id, wt.topic_id, COUNT(*) FROM authorships a \
             JOIN work_topics wt ON wt.work_id = a.work_id WHERE a.researcher_id IN (SELECT id FROM touched_researchers) \
             GROUP BY a.researcher_id, wt.topic_id",
        ]
        .map(str::to_owned),
    );
    statements
}

/// The counters derived from the summaries, rebuilt for the researchers in
/// `touched_researchers` after [`scoped`].
pub const COUNTERS_OF_TOUCHED: &str = "UPDATE researchers SET \
     topic_norm2 = COALESCE((SELECT SUM(CAST(t.works_count AS BIGINT) * t.works_count) FROM researcher_topics t \
       WHERE t.researcher_id = researchers.id), 0), \
     topics_count = (SELECT COUNT(*) FROM researcher_topics t WHERE t.researcher_id = researchers.id), \
     collaborators_count = (SELECT COUNT(*) FROM collaborations c WHERE c.researcher_id = researchers.id), \
     close_collaborators_count = (SELECT COUNT(*) FROM collaborations c \
       WHERE c.researcher_id = researchers.id AND c.shared_works >= 2), \
     linked_works_count = (SELECT COUNT(*) FROM authorships a JOIN works w ON w.id = a.work_id \
       WHERE a.researcher_id = researchers.id AND (w.arxiv_id IS NOT NULL OR w.doi IS NOT NULL)) \
     WHERE id IN (SELECT id FROM touched_researchers)";

/// The counters and summaries of works new to the catalogue (`added_works`),
/// added to what is there rather than rebuilt: an import batch's cost then
/// grows with its own works, not with everything their authors ever wrote.
/// The works' own counts (`works.authors_count`, `authorships.work_year`
/// and `.work_authors_count`) are the caller's, written with their rows.
/// The counters derived from a summary (co-authors, close co-authors,
/// topics and the topic profile's norm) move by what the batch adds to it,
/// read before it is added. [`scoped`] runs after these, so a researcher it
/// rebuilds is right whatever they added.
pub fn added(backend: DbBackend) -> Vec<String> {
    // PostgreSQL never analyses a temporary table by itself; without
    // statistics it plans the joins below for a table of unknown size.
    let analyze = |table: &str| (backend == DbBackend::Postgres).then(|| format!("ANALYZE {table}"));
    let mut statements: Vec<String> =
        ["UPDATE researchers SET works_count = works_count + d.n, linked_works_count = linked_works_count + d.linked \
         FROM (SELECT a.researcher_id AS researcher_id, COUNT(*) AS n, \
           SUM(CASE WHEN w.doi IS NOT NULL OR w.arxiv_id IS NOT NULL THEN 1 ELSE 0 END) AS linked \
           FROM authorships a JOIN works w ON w.id = a.work_id WHERE a.work_id IN (SELECT id FROM added_works) \
           GROUP BY a.researcher_id) AS d \
         WHERE researchers.id = d.researcher_id"]
        .map(str::to_owned)
        .to_vec();
    statements.push(format!(
        "INSERT INTO added_pairs (researcher_id, coauthor_id, n, first_year, last_year, coauthor_sort_name) {}",
        pairs_of("a.work_id IN (SELECT id FROM added_works)")
    ));
    statements.extend(analyze("added_pairs"));
    statements.extend(
        [
            // A pair new to the summary is a new co-author; one whose shared
            // works reach two is a new close co-author.
            "UPDATE researchers SET collaborators_count = collaborators_count + d.new, \
             close_collaborators_count = close_collaborators_count + d.close \
             FROM (SELECT p.researcher_id AS researcher_id, \
               SUM(CASE WHEN c.researcher_id IS NULL THEN 1 ELSE 0 END) AS new, \
               SUM(CASE WHEN COALESCE(c.shared_works, 0) < 2 AND COALESCE(c.shared_works, 0) + p.n >= 2 \
                 THEN 1 ELSE 0 END) AS close \
               FROM added_pairs p LEFT JOIN collaborations c \
               ON c.researcher_id = p.researcher_id AND c.coauthor_id = p.coauthor_id \
               GROUP BY p.researcher_id) AS d \
             WHERE researchers.id = d.researcher_id",
            "INSERT INTO collaborations (researcher_id, coauthor_id, shared_works, first_year, last_year, coauthor_sort_name) \
             SELECT researcher_id, coauthor_id, n, first_year, last_year, coauthor_sort_name FROM added_pairs WHERE true \
             ORDER BY researcher_id, coauthor_id \
             ON CONFLICT (researcher_id, coauthor_id) DO UPDATE SET \
             shared_works = collaborations.shared_works + excluded.shared_works, \
             first_year = CASE WHEN excluded.first_year IS NULL THEN collaborations.first_year \
               WHEN collaborations.first_year IS NULL OR excluded.first_year < collaborations.first_year \
               THEN excluded.first_year ELSE collaborations.first_year END, \
             last_year = CASE WHEN excluded.last_year IS NULL THEN collaborations.last_year \
               WHEN collaborations.last_year IS NULL OR excluded.last_year > collaborations.last_year \
               THEN excluded.last_year ELSE collaborations.last_year END",
            "INSERT INTO added_topics (researcher_id, topic_id, n) \
             SELECT a.researcher_id, wt.topic_id, COUNT(*) FROM authorships a JOIN work_topics wt ON wt.work_id = a.work_id \
             WHERE a.work_id IN (SELECT id FROM added_works) GROUP BY a.researcher_id, wt.topic_id",
        ]
        .map(str::to_owned),
    );
    statements.extend(analyze("added_topics"));
    statements.extend(
        [
            // The norm is the sum of squared counts: (old + n)² − old².
            "UPDATE researchers SET topics_count = topics_count + d.new, topic_norm2 = topic_norm2 + d.growth \
             FROM (SELECT t.researcher_id AS researcher_id, \
               SUM(CASE WHEN rt.researcher_id IS NULL THEN 1 ELSE 0 END) AS new, \
               SUM(2 * CAST(COALESCE(rt.works_count, 0) AS BIGINT) * t.n + CAST(t.n AS BIGINT) * t.n) AS growth \
               FROM added_topics t LEFT JOIN researcher_topics rt \
               ON rt.researcher_id = t.researcher_id AND rt.topic_id = t.topic_id \
               GROUP BY t.researcher_id) AS d \
             WHERE researchers.id = d.researcher_id",
            "INSERT INTO researcher_topics (researcher_id, topic_id, works_count) \
             SELECT researcher_id, topic_id, n FROM added_topics WHERE true ORDER BY researcher_id, topic_id \
             ON CONFLICT (researcher_id, topic_id) DO UPDATE SET works_count = researcher_topics.works_count + excluded.works_count",
            "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
             SELECT a.researcher_id, 'year', CAST(a.work_year AS VARCHAR(8)), COUNT(*) FROM authorships a \
             WHERE a.work_year <> 0 AND a.work_id IN (SELECT id FROM added_works) GROUP BY a.researcher_id, a.work_year \
             ON CONFLICT (researcher_id, facet, value) DO UPDATE SET works_count = researcher_facets.works_count + excluded.works_count",
            "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
             SELECT a.researcher_id, 'kind', w.kind, COUNT(*) FROM authorships a JOIN works w ON w.id = a.work_id \
             WHERE a.work_id IN (SELECT id FROM added_works) GROUP BY a.researcher_id, w.kind \
             ON CONFLICT (researcher_id, facet, value) DO UPDATE SET works_count = researcher_facets.works_count + excluded.works_count",
            "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
             SELECT a.researcher_id, 'venue', w.venue, COUNT(*) FROM authorships a JOIN works w ON w.id = a.work_id \
             WHERE w.venue IS NOT NULL AND a.work_id IN (SELECT id FROM added_works) GROUP BY a.researcher_id, w.venue \
             ON CONFLICT (researcher_id, facet, value) DO UPDATE SET works_count = researcher_facets.works_count + excluded.works_count",
        ]
        .map(str::to_owned),
    );
    statements
}

const SCRATCH_TABLE_NAMES: [&str; 5] =
    ["added_works", "touched_researchers", "touched_works", "added_pairs", "added_topics"];

/// The scratch tables of [`run_scoped`], one set per connection.
const SCRATCH_TABLES: &[&str] = &[
    "CREATE TEMPORARY TABLE IF NOT EXISTS added_works (id BIGINT PRIMARY KEY)",
    "CREATE TEMPORARY TABLE IF NOT EXISTS touched_researchers (id BIGINT PRIMARY KEY)",
    "CREATE TEMPORARY TABLE IF NOT EXISTS touched_works (id BIGINT PRIMARY KEY)",
    "CREATE TEMPORARY TABLE IF NOT EXISTS added_pairs (researcher_id BIGINT NOT NULL, coauthor_id BIGINT NOT NULL, \
     n INTEGER NOT NULL, first_year INTEGER, last_year INTEGER, coauthor_sort_name TEXT NOT NULL, \
     PRIMARY KEY (researcher_id, coauthor_id))",
    "CREATE TEMPORARY TABLE IF NOT EXISTS added_topics (researcher_id BIGINT NOT NULL, topic_id BIGINT NOT NULL, \
     n INTEGER NOT NULL, PRIMARY KEY (researcher_id, topic_id))",
];

/// Runs [`added`] for `added_works`, [`scoped`] for `researchers` and `works`,
/// then [`COUNTERS_OF_TOUCHED`], inside the caller's transaction.
pub async fn run_scoped(
    txn: &DatabaseTransaction,
    added_works: &[i64],
    researchers: &[i64],
    works: &[i64],
) -> AppResult<()> {
    let backend = txn.get_database_backend();
    for create in SCRATCH_TABLES {
        txn.execute_raw(Statement::from_string(backend, *create)).await?;
    }
    // Emptied, not deleted from: no autovacuum visits a temporary table, so
    // on PostgreSQL each batch's deleted rows would stay in it, and every
    // later batch would scan them.
    let empty: Vec<String> = match backend {
        DbBackend::Postgres => vec![format!("TRUNCATE {}", SCRATCH_TABLE_NAMES.join(", "))],
        _ => SCRATCH_TABLE_NAMES.iter().map(|table| format!("DELETE FROM {table}")).collect(),
    };
    for sql in empty {
        txn.execute_raw(Statement::from_string(backend, sql)).await?;
    }
    let tables = [("added_works", added_works), ("touched_researchers", researchers), ("touched_works", works)];
    for (table, ids) in tables {
        for chunk in ids.chunks(TOUCHED_CHUNK) {
            let mut insert = Query::insert().into_table(Alias::new(table)).columns([Alias::new("id")]).to_owned();
            for id in chunk {
                insert.values_panic([(*id).into()]);
            }
            statement::execute(txn, &insert).await?;
        }
        if backend == DbBackend::Postgres && !ids.is_empty() {
            txn.execute_raw(Statement::from_string(backend, format!("ANALYZE {table}"))).await?;
        }
    }
    let mut statements = Vec::new();
    if !added_works.is_empty() {
        statements.extend(added(backend));
    }
    if !researchers.is_empty() || !works.is_empty() {
        statements.extend(scoped());
        statements.push(COUNTERS_OF_TOUCHED.to_owned());
    }
    for sql in statements {
        txn.execute_raw(Statement::from_string(backend, sql)).await?;
    }
    Ok(())
}

/// Ids per insert into the touched tables (well under both databases'
/// limits on bound parameters).
const TOUCHED_CHUNK: usize = 1_000;

/// Rebuilds every counter and summary in one transaction, so that readers
/// see the old values or the new ones, never a half-rebuilt catalogue.
pub async fn run(db: &DatabaseConnection, show_progress: bool) -> AppResult<Duration> {
    let started = Instant::now();
    let mut statements = base_counters();
    statements.extend(SUMMARIES.iter().map(|sql| (*sql).to_owned()));
    let progress = Progress::new(show_progress, statements.len() as u64, "recount");
    let txn = begin_write(db).await?;
    // Keys first: the co-author pairs copy them.
    super::sort_keys::refresh(&txn, super::sort_keys::Scope::All).await?;
    for sql in statements {
        txn.execute_raw(Statement::from_string(txn.get_database_backend(), sql)).await?;
        progress.0.inc(1);
    }
    txn.commit().await?;
    progress.0.finish();
    Ok(started.elapsed())
}
