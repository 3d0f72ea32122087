//! The collaborator graph: co-authors with their shared works.
use entity::researcher;
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::page::{Listing, Page, PageRequest, SortKind, SortSpec};
use super::sql::Sql;
use crate::error::{AppError, AppResult};

pub const COLLABORATORS_LIST: &str = "collaborators:SHARED_WORKS:DESC";

/// A co-author and what they share with the researcher.
#[derive(Debug, Clone)]
pub struct Collaborator {
    pub researcher: researcher::Model,
    pub shared_works: i64,
    pub first_year: Option<i32>,
    pub last_year: Option<i32>,
}

impl FromQueryResult for Collaborator {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            researcher: researcher::Model::from_query_result(row, pre)?,
            shared_works: row.try_get(pre, "shared_works")?,
            first_year: row.try_get(pre, "first_year")?,
            last_year: row.try_get(pre, "last_year")?,
        })
    }
}

/// Co-authors of `researcher_id` with at least `min_shared_works` shared
/// works, by shared works (most first), then display name, then id.
pub async fn collaborators(
    db: &impl ConnectionTrait,
    researcher_id: i64,
    min_shared_works: i32,
    page: &PageRequest,
) -> AppResult<Page<Collaborator>> {
    if min_shared_works < 1 {
        return Err(AppError::bad_input(format!("`minSharedWorks` must be at least 1, got {min_shared_works}")));
    }
    let mut from_where =
        Sql::new("FROM collaborations c JOIN researchers r ON r.id = c.coauthor_id WHERE c.researcher_id = ");
    from_where.bind(researcher_id).push(" AND c.shared_works >= ").bind(min_shared_works);
    let listing = Listing {
        with: None,
        columns: format!(
            "{}, CAST(c.shared_works AS BIGINT) AS shared_works, c.first_year AS first_year, c.last_year AS last_year",
            super::researchers::COLUMNS
        ),
        from_where,
        id_expr: "c.coauthor_id".to_owned(),
        // Ascending on minus the shared works: most shared first, then by name
        // (the `ix_collaborations_order` index, read in order).
        sort: SortSpec {
            keys: vec![("-c.shared_works".to_owned(), SortKind::Int), ("c.coauthor_name".to_owned(), SortKind::Text)],
            descending: false,
        },
        count: Some(collaborators_total(researcher_id, min_shared_works)),
    };
    listing.fetch(db, page).await
}

/// The number of co-authors with at least `min_shared_works` shared works.
/// The two thresholds the profile uses are counters on the researcher row
/// (kept by `catalogue::add_work_in`); other thresholds count the pairs
/// alone, since every co-author has a researcher row.
fn collaborators_total(researcher_id: i64, min_shared_works: i32) -> Sql {
    let mut count = match min_shared_works {
        1 => Sql::new("SELECT CAST(collaborators_count AS BIGINT) AS n FROM researchers WHERE id = "),
        2 => Sql::new("SELECT CAST(close_collaborators_count AS BIGINT) AS n FROM researchers WHERE id = "),
        _ => Sql::new("SELECT COUNT(*) AS n FROM collaborations WHERE researcher_id = "),
    };
    count.bind(researcher_id);
    if min_shared_works > 2 {
        count.push(" AND shared_works >= ").bind(min_shared_works);
    }
    count
}

/// A researcher whose topic profile resembles another's.
#[derive(Debug, Clone)]
pub struct Similar {
    pub researcher: researcher::Model,
    /// Cosine similarity of the two topic profiles (works per topic), 0..1.
    pub score: f64,
}

/// The `limit` researchers most similar to `researcher_id` by the cosine of
/// their topic profiles (topic → works), best first, ties by id.
///
/// Candidates are generated through shared topics in SQL from the
/// `researcher_topics` summary, never by scanning every researcher: the top
/// 100 researchers of each of the researcher's 25 main topics. Ranking is by
/// `dot² / |b|²`, which orders like the cosine without `sqrt` in SQL; the
/// cosine itself is finished here.
pub async fn similar_researchers(db: &impl ConnectionTrait, researcher_id: i64, limit: u64) -> AppResult<Vec<Similar>> {
    // Candidates first: for each of the researcher's (at most 25) main
    // topics, the 100 researchers with the most works on it. Fetching them
    // apart keeps the scoring below an index lookup per candidate (a planner
    // cannot know how few candidates there will be).
    let mut candidates_sql = Sql::new("WITH main AS (SELECT topic_id FROM researcher_topics WHERE researcher_id = ");
    candidates_sql
        .bind(researcher_id)
        .push(
            " ORDER BY works_count DESC, topic_id LIMIT 25), \
         ranked AS (SELECT rt.researcher_id AS researcher_id, ROW_NUMBER() OVER (PARTITION BY rt.topic_id \
           ORDER BY rt.works_count DESC, rt.researcher_id) AS place \
           FROM main m JOIN researcher_topics rt ON rt.topic_id = m.topic_id) \
         SELECT DISTINCT researcher_id FROM ranked WHERE place <= 100 AND researcher_id <> ",
        )
        .bind(researcher_id);
    let candidates: Vec<i64> = candidates_sql
        .fetch_all(db)
        .await?
        .iter()
        .map(|row| row.try_get::<i64>("", "researcher_id"))
        .collect::<Result<_, _>>()?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql =
        Sql::new("WITH mine AS (SELECT topic_id, works_count AS c FROM researcher_topics WHERE researcher_id = ");
    sql.bind(researcher_id)
        .push(
            "), \
         scores AS (SELECT p.researcher_id AS researcher_id, \
           CAST(SUM(CASE WHEN m.c IS NULL THEN 0 ELSE p.works_count * m.c END) AS DOUBLE PRECISION) AS dot, \
           CAST(SUM(p.works_count * p.works_count) AS DOUBLE PRECISION) AS norm2 \
           FROM researcher_topics p LEFT JOIN mine m ON m.topic_id = p.topic_id \
           WHERE p.researcher_id IN (",
        )
        .bind_list(&candidates)
        .push(") GROUP BY p.researcher_id) ")
        .push(&format!(
            "SELECT {}, s.dot AS dot, s.norm2 AS norm2, \
             (SELECT CAST(SUM(c * c) AS DOUBLE PRECISION) FROM mine) AS my_norm2 \
             FROM scores s JOIN researchers r ON r.id = s.researcher_id WHERE s.dot > 0 \
             ORDER BY s.dot * s.dot / s.norm2 DESC, r.id ASC LIMIT {limit}",
            super::researchers::COLUMNS
        ));
    let rows = sql.fetch_all(db).await?;
    rows.iter()
        .map(|row| {
            let dot: f64 = row.try_get("", "dot")?;
            let norm2: f64 = row.try_get("", "norm2")?;
            let my_norm2: f64 = row.try_get("", "my_norm2")?;
            let denominator = (norm2 * my_norm2).sqrt();
            let score = if denominator > 0.0 { (dot / denominator).clamp(0.0, 1.0) } else { 0.0 };
            Ok(Similar { researcher: researcher::Model::from_query_result(row, "")?, score })
        })
        .collect()
}
