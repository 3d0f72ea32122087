//! The collaborator graph: co-authors with their shared works.
use entity::researcher;
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::page::{Listing, Page, PageRequest, SortKind, SortSpec, TotalCount};
use super::researchers::Researcher;
use super::sql::Sql;
use super::topics::Topic;
use crate::error::{AppError, AppResult};

pub const COLLABORATORS_LIST: &str = "collaborators:SHARED_WORKS:DESC";

/// A co-author and what they share with the researcher.
#[derive(Debug, Clone)]
pub struct Collaborator {
    pub researcher: Researcher,
    pub shared_works: i64,
    pub first_year: Option<i32>,
    pub last_year: Option<i32>,
}

impl FromQueryResult for Collaborator {
    fn from_query_result(row: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            researcher: researcher::Model::from_query_result(row, pre)?.into(),
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
            keys: vec![
                ("-c.shared_works".to_owned(), SortKind::Int),
                ("c.coauthor_sort_name".to_owned(), SortKind::Text),
            ],
            descending: false,
        },
        count: Some(TotalCount::Count(collaborators_total(researcher_id, min_shared_works))),
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
    pub researcher: Researcher,
    /// Cosine similarity of the two topic profiles (works per topic), 0..1.
    pub score: f64,
    /// The researcher's main topics that the similar one shares, in the
    /// order of the researcher's profile.
    pub shared_topics: Vec<Topic>,
}

/// How many of a researcher's topics (most works first) describe them for
/// similarity, and how many researchers of each topic are candidates.
const MAIN_TOPICS: usize = 25;
const CANDIDATES_PER_TOPIC: usize = 30;

#[derive(Debug, FromQueryResult)]
struct MainTopic {
    topic_id: i64,
    name: String,
    works_count: i64,
}

#[derive(Debug, FromQueryResult)]
struct TopicLink {
    researcher_id: i64,
    topic_id: i64,
}

/// The `limit` researchers most similar to `researcher_id`, best first, ties
/// by id. The score is the cosine between the researcher's main topics
/// (their 25 topics with the most works, ties by topic id, highest first) and the other's
/// whole topic profile, whose length is the `topic_norm2` counter.
///
/// Every step is bounded, whatever the researchers' output: the main topics
/// (25 rows), the candidates (the 30 researchers with the most works in
/// each main topic, read in index order), the dot products (the candidates'
/// rows for the main topics) and the shared topics of the chosen few.
pub async fn similar_researchers(db: &impl ConnectionTrait, researcher_id: i64, limit: u64) -> AppResult<Vec<Similar>> {
    let mut main_sql = Sql::new(
        "SELECT rt.topic_id AS topic_id, t.name AS name, CAST(rt.works_count AS BIGINT) AS works_count \
         FROM (SELECT topic_id, works_count FROM researcher_topics WHERE researcher_id = ",
    );
    main_sql.bind(researcher_id).push(&format!(
        " ORDER BY works_count DESC, topic_id DESC LIMIT {MAIN_TOPICS}) rt JOIN topics t ON t.id = rt.topic_id"
    ));
    let mut main: Vec<MainTopic> = main_sql.fetch_models(db).await?;
    main.sort_by_key(|t| std::cmp::Reverse((t.works_count, t.topic_id)));
    if main.is_empty() {
        return Ok(Vec::new());
    }
    let main_ids: Vec<i64> = main.iter().map(|t| t.topic_id).collect();

    // Each branch reads one topic's index range from its most prolific end.
    let mut candidates_sql = Sql::default();
    candidates_sql.push_each(&main_ids, " UNION ", |branch, i, topic_id| {
        branch
            .push("SELECT * FROM (SELECT researcher_id FROM researcher_topics WHERE topic_id = ")
            .bind(*topic_id)
            .push(&format!(" ORDER BY works_count DESC, researcher_id DESC LIMIT {CANDIDATES_PER_TOPIC}) top_{i}"));
    });
    let candidates: Vec<i64> = candidates_sql
        .fetch_all(db)
        .await?
        .iter()
        .map(|row| row.try_get::<i64>("", "researcher_id"))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|id| *id != researcher_id)
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }

    let my_norm2: f64 = main.iter().map(|t| (t.works_count * t.works_count) as f64).sum();
    let mut weights = Sql::new("CASE p.topic_id");
    for t in &main {
        weights.push(" WHEN ").bind(t.topic_id).push(" THEN ").bind(t.works_count);
    }
    weights.push(" ELSE 0 END");
    let mut sql = Sql::new(&format!(
        "SELECT {}, s.dot AS dot FROM (SELECT p.researcher_id AS researcher_id, CAST(SUM(p.works_count * ",
        super::researchers::COLUMNS
    ));
    sql.append(&weights)
        .push(") AS DOUBLE PRECISION) AS dot FROM researcher_topics p WHERE p.researcher_id IN (")
        .bind_list(&candidates)
        .push(") AND p.topic_id IN (")
        .bind_list(&main_ids)
        .push(") GROUP BY p.researcher_id) s JOIN researchers r ON r.id = s.researcher_id WHERE r.topic_norm2 > 0 ")
        .push(&format!("ORDER BY s.dot * s.dot / r.topic_norm2 DESC, r.id ASC LIMIT {limit}"));
    let rows = sql.fetch_all(db).await?;
    let mut similar = rows
        .iter()
        .map(|row| {
            let researcher = researcher::Model::from_query_result(row, "")?;
            let dot: f64 = row.try_get("", "dot")?;
            let denominator = (researcher.topic_norm2 as f64 * my_norm2).sqrt();
            let score = if denominator > 0.0 { (dot / denominator).clamp(0.0, 1.0) } else { 0.0 };
            Ok(Similar { researcher: researcher.into(), score, shared_topics: Vec::new() })
        })
        .collect::<AppResult<Vec<_>>>()?;
    if similar.is_empty() {
        return Ok(similar);
    }

    let chosen: Vec<i64> = similar.iter().map(|s| s.researcher.id).collect();
    let mut shared_sql = Sql::new("SELECT researcher_id, topic_id FROM researcher_topics WHERE researcher_id IN (");
    shared_sql.bind_list(&chosen).push(") AND topic_id IN (").bind_list(&main_ids).push(")");
    let links: Vec<TopicLink> = shared_sql.fetch_models(db).await?;
    for s in &mut similar {
        s.shared_topics = main
            .iter()
            .filter(|t| links.iter().any(|l| l.researcher_id == s.researcher.id && l.topic_id == t.topic_id))
            .map(|t| Topic { id: t.topic_id, name: t.name.clone() })
            .collect();
    }
    Ok(similar)
}
