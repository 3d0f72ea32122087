//! The collaborator graph: co-authors with their shared works.
use entity::{collaboration, researcher, researcher_topic};
use sea_orm::sea_query::{
    Asterisk, CaseStatement, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement, UnionType,
};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::page::{Listing, Page, PageRequest, SortKind, SortSpec, TotalCount};
use super::researchers::Researcher;
use super::statement::{self, aliased, columns_of, literal};
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
        with: None,
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

/// How many of a researcher's topics (most works first) describe them for
/// similarity, and how many researchers of each topic are candidates.
const MAIN_TOPICS: usize = 25;
const CANDIDATES_PER_TOPIC: usize = 30;

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
    // The profile's own main topics, cut to the ones that describe them.
    let mut main =
        super::researchers::main_topics(db, &[researcher_id]).await?.remove(&researcher_id).unwrap_or_default();
    main.truncate(MAIN_TOPICS);
    if main.is_empty() {
        return Ok(Vec::new());
    }
    let main_ids: Vec<i64> = main.iter().map(|t| t.topic_id).collect();

    // Each branch reads one topic's index range from its most prolific end.
    let candidates_sql = statement::union_each(&main_ids, UnionType::Distinct, "top", |topic_id| {
        Query::select()
            .column(researcher_topic::Column::ResearcherId)
            .from(researcher_topic::Entity)
            .and_where(Expr::col(researcher_topic::Column::TopicId).eq(*topic_id))
            .order_by(researcher_topic::Column::WorksCount, Order::Desc)
            .order_by(researcher_topic::Column::ResearcherId, Order::Desc)
            .limit(CANDIDATES_PER_TOPIC as u64)
            .to_owned()
    });
    let Some(candidates_sql) = candidates_sql else {
        return Ok(Vec::new());
    };
    let candidates: Vec<i64> = statement::rows(db, &candidates_sql)
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
    // The researcher's works in each main topic, 0 in any other.
    let weights = main
        .iter()
        .fold(CaseStatement::new(), |weights, t| {
            weights.case(Expr::col(("p", researcher_topic::Column::TopicId)).eq(t.topic_id), t.works_count)
        })
        .finally(literal(0));
    let dot = Func::sum(Expr::col(("p", researcher_topic::Column::WorksCount)).mul(weights));
    let dots = Query::select()
        .expr_as(Expr::col(("p", researcher_topic::Column::ResearcherId)), "researcher_id")
        .expr_as(Func::cast_as(dot, "DOUBLE PRECISION"), "dot")
        .from_as(researcher_topic::Entity, "p")
        .and_where(Expr::col(("p", researcher_topic::Column::ResearcherId)).is_in(candidates.iter().copied()))
        .and_where(Expr::col(("p", researcher_topic::Column::TopicId)).is_in(main_ids.iter().copied()))
        .add_group_by([Expr::col(("p", researcher_topic::Column::ResearcherId))])
        .to_owned();
    let sql = Query::select()
        .exprs(columns_of::<researcher::Entity>("r"))
        .expr_as(Expr::col(("s", "dot")), "dot")
        .from_subquery(dots, "s")
        .join_as(
            JoinType::Join,
            researcher::Entity,
            "r",
            Expr::col(("r", researcher::Column::Id)).equals(("s", "researcher_id")),
        )
        .and_where(Expr::col(("r", researcher::Column::TopicNorm2)).gt(literal(0)))
        .order_by_expr(
            Expr::col(("s", "dot")).mul(Expr::col(("s", "dot"))).div(Expr::col(("r", researcher::Column::TopicNorm2))),
            Order::Desc,
        )
        .order_by(("r", researcher::Column::Id), Order::Asc)
        .limit(limit)
        .to_owned();
    let rows = statement::rows(db, &sql).await?;
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
    let shared_sql = Query::select()
        .columns([researcher_topic::Column::ResearcherId, researcher_topic::Column::TopicId])
        .from(researcher_topic::Entity)
        .and_where(Expr::col(researcher_topic::Column::ResearcherId).is_in(chosen))
        .and_where(Expr::col(researcher_topic::Column::TopicId).is_in(main_ids.iter().copied()))
        .to_owned();
    let links: Vec<TopicLink> = statement::models(db, &shared_sql).await?;
    for s in &mut similar {
        s.shared_topics = main
            .iter()
            .filter(|t| links.iter().any(|l| l.researcher_id == s.researcher.id && l.topic_id == t.topic_id))
            .map(|t| Topic { id: t.topic_id, name: t.topic_name.clone() })
            .collect();
    }
    Ok(similar)
}
