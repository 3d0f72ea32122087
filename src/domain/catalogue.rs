//! Adding works to the catalogue, with every counter and summary table that
//! depends on them updated in the same transaction: `researchers.works_count`,
//! `works.authors_count`, `authorships.work_year`, `researcher_topics`,
//! `researcher_facets`, `collaborations` and the researchers' co-author,
//! linked-work and topic-profile counters.
use chrono::Utc;
use entity::{researcher, topic};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use super::begin_write;
use super::sql::Sql;
use super::works::WorkKind;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone)]
pub struct NewWork {
    pub title: String,
    pub summary: Option<String>,
    pub kind: WorkKind,
    pub year: Option<i32>,
    pub venue: Option<String>,
    pub doi: Option<String>,
    pub arxiv_id: Option<String>,
    pub cited_by_count: i32,
    /// Researcher ids in byline order, without repeats.
    pub authors: Vec<i64>,
    pub topics: Vec<i64>,
}

async fn run(db: &impl ConnectionTrait, sql: &Sql) -> AppResult<u64> {
    Ok(db.execute_raw(sql.build(db.get_database_backend())).await?.rows_affected())
}

/// Adds a work and its byline and topics in one transaction; returns its id.
pub async fn add_work(db: &DatabaseConnection, work: &NewWork) -> AppResult<i64> {
    let txn = begin_write(db).await?;
    let id = add_work_in(&txn, work).await?;
    txn.commit().await?;
    Ok(id)
}

/// Adds a work inside the caller's transaction.
pub async fn add_work_in(txn: &impl ConnectionTrait, work: &NewWork) -> AppResult<i64> {
    let mut authors = work.authors.clone();
    authors.sort_unstable();
    authors.dedup();
    if authors.is_empty() || authors.len() != work.authors.len() {
        return Err(AppError::bad_input("a work needs at least one author, each listed once"));
    }
    // A topic listed twice links once.
    let mut topic_ids = work.topics.clone();
    topic_ids.sort_unstable();
    topic_ids.dedup();
    // Unknown ids are the caller's mistake (NOT_FOUND), not a foreign-key failure (INTERNAL).
    let known_authors =
        researcher::Entity::find().filter(researcher::Column::Id.is_in(authors.iter().copied())).count(txn).await?;
    if known_authors != authors.len() as u64 {
        return Err(AppError::not_found("an author of the work (researcher)"));
    }
    let known_topics =
        topic::Entity::find().filter(topic::Column::Id.is_in(topic_ids.iter().copied())).count(txn).await?;
    if known_topics != topic_ids.len() as u64 {
        return Err(AppError::not_found("a topic of the work"));
    }
    let authors = &work.authors;
    let mut insert = Sql::new(
        "INSERT INTO works (title, abstract, kind, year, venue, doi, arxiv_id, cited_by_count, authors_count, created_at) VALUES (",
    );
    insert
        .bind(work.title.clone())
        .push(", ")
        .bind(work.summary.clone())
        .push(", ")
        .bind(work.kind.as_stored())
        .push(", ")
        .bind(work.year)
        .push(", ")
        .bind(work.venue.clone())
        .push(", ")
        .bind(work.doi.clone())
        .push(", ")
        .bind(work.arxiv_id.clone())
        .push(", ")
        .bind(work.cited_by_count)
        .push(", ")
        .bind(authors.len() as i32)
        .push(", ")
        .bind(Utc::now())
        .push(") RETURNING id");
    let row = txn
        .query_one_raw(insert.build(txn.get_database_backend()))
        .await
        .map_err(|e| AppError::conflict_on_unique(e, "a work with this DOI or arXiv id exists"))?;
    let work_id: i64 = row.ok_or(AppError::Internal)?.try_get("", "id")?;
    let year_key = work.year.unwrap_or(0);

    for (position, author) in authors.iter().enumerate() {
        let mut byline = Sql::new("INSERT INTO authorships (work_id, researcher_id, position, work_year) VALUES (");
        byline
            .bind(work_id)
            .push(", ")
            .bind(*author)
            .push(", ")
            .bind(position as i32 + 1)
            .push(", ")
            .bind(year_key)
            .push(")");
        run(txn, &byline).await?;
    }
    for topic in &topic_ids {
        let mut link = Sql::new("INSERT INTO work_topics (work_id, topic_id) VALUES (");
        link.bind(work_id).push(", ").bind(*topic).push(")");
        run(txn, &link).await?;
    }

    let mut counters = Sql::new("UPDATE researchers SET works_count = works_count + 1 WHERE id IN (");
    counters.bind_list(authors).push(")");
    run(txn, &counters).await?;
    let mut topics = Sql::new(
        "INSERT INTO researcher_topics (researcher_id, topic_id, works_count) \
         SELECT a.researcher_id, wt.topic_id, 1 FROM authorships a JOIN work_topics wt ON wt.work_id = a.work_id \
         WHERE a.work_id = ",
    );
    topics
        .bind(work_id)
        .push(" ON CONFLICT (researcher_id, topic_id) DO UPDATE SET works_count = researcher_topics.works_count + 1");
    run(txn, &topics).await?;
    if !work.topics.is_empty() {
        let mut norms = Sql::new(
            "UPDATE researchers SET topic_norm2 = (SELECT COALESCE(SUM(CAST(t.works_count AS BIGINT) * t.works_count), 0) \
             FROM researcher_topics t WHERE t.researcher_id = researchers.id), \
             topics_count = (SELECT COUNT(*) FROM researcher_topics t WHERE t.researcher_id = researchers.id) \
             WHERE id IN (",
        );
        norms.bind_list(authors).push(")");
        run(txn, &norms).await?;
    }
    // The work's year, kind and venue, once per author. SQLite needs the
    // `WHERE` to parse `ON CONFLICT` after a compound `SELECT`.
    let mut facets = Sql::new(
        "INSERT INTO researcher_facets (researcher_id, facet, value, works_count) \
         SELECT f.researcher_id, f.facet, f.value, 1 FROM (\
           SELECT a.researcher_id AS researcher_id, 'year' AS facet, CAST(w.year AS VARCHAR(8)) AS value \
             FROM authorships a JOIN works w ON w.id = a.work_id WHERE a.work_id = ",
    );
    facets
        .bind(work_id)
        .push(
            " AND w.year IS NOT NULL \
           UNION ALL SELECT a.researcher_id, 'kind', w.kind FROM authorships a JOIN works w ON w.id = a.work_id \
             WHERE a.work_id = ",
        )
        .bind(work_id)
        .push(
            " UNION ALL SELECT a.researcher_id, 'venue', w.venue FROM authorships a JOIN works w ON w.id = a.work_id \
             WHERE a.work_id = ",
        )
        .bind(work_id)
        .push(
            " AND w.venue IS NOT NULL) f WHERE 1 = 1 \
         ON CONFLICT (researcher_id, facet, value) DO UPDATE SET works_count = researcher_facets.works_count + 1",
        );
    run(txn, &facets).await?;
    // Both directions of every co-author pair; first and last year ignore
    // works without a year.
    let mut pairs = Sql::new(
        "INSERT INTO collaborations (researcher_id, coauthor_id, shared_works, first_year, last_year, coauthor_sort_name) \
         SELECT a.researcher_id, b.researcher_id, 1, w.year, w.year, r.sort_name FROM authorships a \
         JOIN authorships b ON b.work_id = a.work_id AND b.researcher_id <> a.researcher_id \
         JOIN works w ON w.id = a.work_id JOIN researchers r ON r.id = b.researcher_id WHERE a.work_id = ",
    );
    pairs.bind(work_id).push(
        " ON CONFLICT (researcher_id, coauthor_id) DO UPDATE SET shared_works = collaborations.shared_works + 1, \
         first_year = CASE WHEN excluded.first_year IS NULL THEN collaborations.first_year \
           WHEN collaborations.first_year IS NULL OR excluded.first_year < collaborations.first_year \
           THEN excluded.first_year ELSE collaborations.first_year END, \
         last_year = CASE WHEN excluded.last_year IS NULL THEN collaborations.last_year \
           WHEN collaborations.last_year IS NULL OR excluded.last_year > collaborations.last_year \
           THEN excluded.last_year ELSE collaborations.last_year END",
    );
    run(txn, &pairs).await?;
    let linked = i32::from(work.doi.is_some() || work.arxiv_id.is_some());
    let mut counters = Sql::new(
        "UPDATE researchers SET \
         collaborators_count = (SELECT COUNT(*) FROM collaborations c WHERE c.researcher_id = researchers.id), \
         close_collaborators_count = (SELECT COUNT(*) FROM collaborations c \
           WHERE c.researcher_id = researchers.id AND c.shared_works >= 2), \
         linked_works_count = linked_works_count + ",
    );
    counters.bind(linked).push(" WHERE id IN (").bind_list(authors).push(")");
    run(txn, &counters).await?;
    Ok(work_id)
}
