//! The collaborator graph: co-authors with their shared works.
use entity::{collaboration, researcher};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Func, JoinType, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::page::{Listing, Page, PageRequest, SortKind, SortSpec, TotalCount};
use super::researchers::Researcher;
use super::statement::{aliased, columns_of};
use super::topics::Topic;
use crate::error::{AppError, AppResult};
use crate::search::SimilarIndex;

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
    let from_where = Query::select()
        .from_as(collaboration::Entity, "c")
        .join_as(
            JoinType::Join,
            researcher::Entity,
            "r",
            Expr::col(("r", researcher::Column::Id)).equals(("c", collaboration::Column::CoauthorId)),
        )
        .and_where(Expr::col(("c", collaboration::Column::ResearcherId)).eq(researcher_id))
        .and_where(Expr::col(("c", collaboration::Column::SharedWorks)).gte(min_shared_works))
        .to_owned();
    let mut columns = columns_of::<researcher::Entity>("r");
    columns.extend([
        aliased(Func::cast_as(Expr::col(("c", collaboration::Column::SharedWorks)), "BIGINT"), "shared_works"),
        aliased(Expr::col(("c", collaboration::Column::FirstYear)), "first_year"),
        aliased(Expr::col(("c", collaboration::Column::LastYear)), "last_year"),
    ]);
    let listing = Listing {
        columns,
        from_where,
        id_expr: Expr::col(("c", collaboration::Column::CoauthorId)),
        // Ascending on minus the shared works: most shared first, then by name
        // (the `ix_collaborations_order` index, read in order).
        sort: SortSpec {
            keys: vec![
                (Expr::cust("-c.shared_works"), SortKind::Int),
                (Expr::col(("c", collaboration::Column::CoauthorSortName)), SortKind::Text),
            ],
            descending: false,
        },
        count: Some(TotalCount::Count(Box::new(collaborators_total(researcher_id, min_shared_works)))),
    };
    listing.fetch(db, page).await
}

/// The number of co-authors with at least `min_shared_works` shared works.
/// The two thresholds the profile uses are counters on the researcher row
/// (kept by `catalogue::add_work_in`); other thresholds count the pairs
/// alone, since every co-author has a researcher row.
fn collaborators_total(researcher_id: i64, min_shared_works: i32) -> SelectStatement {
    let counter = |column: researcher::Column| {
        Query::select()
            .expr_as(Func::cast_as(Expr::col(column), "BIGINT"), "n")
            .from(researcher::Entity)
            .and_where(Expr::col(researcher::Column::Id).eq(researcher_id))
            .to_owned()
    };
    match min_shared_works {
        1 => counter(researcher::Column::CollaboratorsCount),
        2 => counter(researcher::Column::CloseCollaboratorsCount),
        _ => Query::select()
            .expr_as(Expr::col(Asterisk).count(), "n")
            .from(collaboration::Entity)
            .and_where(Expr::col(collaboration::Column::ResearcherId).eq(researcher_id))
            .and_where(Expr::col(collaboration::Column::SharedWorks).gte(min_shared_works))
            .to_owned(),
    }
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

/// The `limit` researchers most similar to `researcher_id`, best first
/// (see [`SimilarIndex`] for the ranking), with their records and the
/// shared topics' names: two statements.
pub async fn similar_researchers(
    db: &impl ConnectionTrait,
    index: &SimilarIndex,
    researcher_id: i64,
    limit: usize,
) -> AppResult<Vec<Similar>> {
    let hits = index.similar(researcher_id, limit)?;
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = hits.iter().map(|hit| hit.researcher_id).collect();
    let mut topic_ids: Vec<i64> = hits.iter().flat_map(|hit| hit.shared_topic_ids.iter().copied()).collect();
    topic_ids.sort_unstable();
    topic_ids.dedup();
    let mut researchers = super::researchers::by_ids(db, &ids).await?;
    let topics = super::topics::by_ids(db, &topic_ids).await?;
    // A researcher deleted since the profiles were read is left out.
    Ok(hits
        .into_iter()
        .filter_map(|hit| {
            Some(Similar {
                researcher: researchers.remove(&hit.researcher_id)?,
                score: hit.score,
                shared_topics: hit.shared_topic_ids.iter().filter_map(|id| topics.get(id).cloned()).collect(),
            })
        })
        .collect())
}
