//! What the search index holds of each work and researcher, read from the
//! database: the text to match and every value a search can filter or sort
//! by. The index is derived from these documents only, so a rebuild and
//! the live index (kept current from the change log) see the same data.
use std::collections::HashMap;

use entity::{authorship, researcher, researcher_name, researcher_topic, work, work_topic};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::group_by;
use super::researchers::{has_claim, ClaimStatus};
use super::statement;
use super::works::WorkKind;
use crate::error::AppResult;

/// A work as the index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkDocument {
    pub id: i64,
    pub title: String,
    pub r#abstract: Option<String>,
    pub year: Option<i32>,
    pub kind: WorkKind,
    pub cited_by_count: i32,
    pub topic_ids: Vec<i64>,
    pub researcher_ids: Vec<i64>,
}

/// A researcher as the index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResearcherDocument {
    pub id: i64,
    /// The display name, then any other names the record is known by.
    pub names: Vec<String>,
    /// `researchers.sort_name`: the alphabetical order's key.
    pub sort_name: String,
    pub works_count: i32,
    pub followers_count: i32,
    pub topic_ids: Vec<i64>,
    pub institution_id: Option<i64>,
    pub claim_status: ClaimStatus,
    pub open_to_collaborate: bool,
}

/// Which rows to read: some ids, or the next batch in id order (a rebuild).
#[derive(Debug, Clone, Copy)]
pub enum Batch<'a> {
    Ids(&'a [i64]),
    After { id: i64, limit: u64 },
}

impl Batch<'_> {
    /// Narrows `select` to the batch's rows of a table whose key is `id`.
    fn restrict(&self, select: &mut SelectStatement, id: Expr) {
        match *self {
            Self::Ids(ids) => {
                select.and_where(id.is_in(ids.iter().copied()));
            }
            Self::After { id: after, limit } => {
                select.and_where(id.clone().gt(after)).order_by_expr(id, Order::Asc).limit(limit);
            }
        }
    }
}

/// `column IN (ids)` for the rows hanging off a batch: a range when the ids
/// are a run read in order (the primary keys serve it), a list otherwise.
fn of_parents(column: Expr, batch: Batch<'_>, ids: &[i64]) -> Expr {
    match (batch, ids.first(), ids.last()) {
        (Batch::After { .. }, Some(first), Some(last)) => column.between(*first, *last),
        _ => column.is_in(ids.iter().copied()),
    }
}

#[derive(FromQueryResult)]
struct WorkRow {
    id: i64,
    title: String,
    r#abstract: Option<String>,
    year: Option<i32>,
    kind: String,
    cited_by_count: i32,
}

#[derive(FromQueryResult)]
struct Pair {
    parent: i64,
    child: i64,
}

#[derive(FromQueryResult)]
struct OtherName {
    researcher_id: i64,
    name: String,
}

/// The works of `batch`, in id order, with their topics and authors: three
/// statements whatever the batch's size.
pub async fn works(db: &impl ConnectionTrait, batch: Batch<'_>) -> AppResult<Vec<WorkDocument>> {
    let mut select = Query::select()
        .columns([
            work::Column::Id,
            work::Column::Title,
            work::Column::Abstract,
            work::Column::Year,
            work::Column::Kind,
            work::Column::CitedByCount,
        ])
        .from(work::Entity)
        .to_owned();
    batch.restrict(&mut select, Expr::col(work::Column::Id));
    let mut rows: Vec<WorkRow> = statement::models(db, &select).await?;
    rows.sort_by_key(|row| row.id);
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut topics =
        pairs(db, work_topic::Entity, work_topic::Column::WorkId, work_topic::Column::TopicId, batch, &ids).await?;
    let mut authors =
        pairs(db, authorship::Entity, authorship::Column::WorkId, authorship::Column::ResearcherId, batch, &ids)
            .await?;
    rows.into_iter()
        .map(|row| {
            Ok(WorkDocument {
                id: row.id,
                title: row.title,
                r#abstract: row.r#abstract,
                year: row.year,
                kind: WorkKind::from_stored(&row.kind)?,
                cited_by_count: row.cited_by_count,
                topic_ids: topics.remove(&row.id).unwrap_or_default(),
                researcher_ids: authors.remove(&row.id).unwrap_or_default(),
            })
        })
        .collect()
}

#[derive(FromQueryResult)]
struct ResearcherRow {
    id: i64,
    display_name: String,
    sort_name: String,
    works_count: i32,
    followers_count: i32,
    affiliation_id: Option<i64>,
    open_to_collaborate: bool,
    approved: bool,
    pending: bool,
}

/// The researchers of `batch`, in id order, with their topics, other names
/// and claim status: three statements whatever the batch's size.
pub async fn researchers(db: &impl ConnectionTrait, batch: Batch<'_>) -> AppResult<Vec<ResearcherDocument>> {
    let mut select = Query::select()
        .columns(
            [
                researcher::Column::Id,
                researcher::Column::DisplayName,
                researcher::Column::SortName,
                researcher::Column::WorksCount,
                researcher::Column::FollowersCount,
                researcher::Column::AffiliationId,
                researcher::Column::OpenToCollaborate,
            ]
            .map(|column| ("r", column)),
        )
        .expr_as(has_claim("APPROVED"), "approved")
        .expr_as(has_claim("PENDING"), "pending")
        .from_as(researcher::Entity, "r")
        .to_owned();
    batch.restrict(&mut select, Expr::col(("r", researcher::Column::Id)));
    let mut rows: Vec<ResearcherRow> = statement::models(db, &select).await?;
    rows.sort_by_key(|row| row.id);
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut topics = pairs(
        db,
        researcher_topic::Entity,
        researcher_topic::Column::ResearcherId,
        researcher_topic::Column::TopicId,
        batch,
        &ids,
    )
    .await?;
    // Other names the record is known by (OpenAlex's alternatives).
    let select = Query::select()
        .expr_as(Expr::col(researcher_name::Column::ResearcherId), "researcher_id")
        .expr_as(Expr::col(researcher_name::Column::Name), "name")
        .from(researcher_name::Entity)
        .and_where(of_parents(Expr::col(researcher_name::Column::ResearcherId), batch, &ids))
        .order_by(researcher_name::Column::Name, Order::Asc)
        .to_owned();
    let other_names: Vec<OtherName> = statement::models(db, &select).await?;
    let mut other_names = group_by(other_names.into_iter().map(|row| (row.researcher_id, row.name)));
    Ok(rows
        .into_iter()
        .map(|row| ResearcherDocument {
            id: row.id,
            names: std::iter::once(row.display_name).chain(other_names.remove(&row.id).unwrap_or_default()).collect(),
            sort_name: row.sort_name,
            works_count: row.works_count,
            followers_count: row.followers_count,
            topic_ids: topics.remove(&row.id).unwrap_or_default(),
            institution_id: row.affiliation_id,
            claim_status: match (row.approved, row.pending) {
                (true, _) => ClaimStatus::Claimed,
                (false, true) => ClaimStatus::Pending,
                (false, false) => ClaimStatus::Unclaimed,
            },
            open_to_collaborate: row.open_to_collaborate,
        })
        .collect())
}

/// `(parent, child)` rows of a link table for the parents `ids`, grouped by parent.
async fn pairs<E: sea_orm::EntityTrait>(
    db: &impl ConnectionTrait,
    table: E,
    parent: E::Column,
    child: E::Column,
    batch: Batch<'_>,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<i64>>> {
    let select = Query::select()
        .expr_as(Expr::col(parent), "parent")
        .expr_as(Expr::col(child), "child")
        .from(table)
        .and_where(of_parents(Expr::col(parent), batch, ids))
        .to_owned();
    let rows: Vec<Pair> = statement::models(db, &select).await?;
    Ok(group_by(rows.into_iter().map(|pair| (pair.parent, pair.child))))
}

/// A researcher's topic profile: works per topic, by topic id.
pub type TopicProfile = Vec<(i64, i64)>;

#[derive(FromQueryResult)]
struct TopicCount {
    researcher_id: i64,
    topic_id: i64,
    works_count: i64,
}

/// The topic profiles (`researcher_topics`) of the researchers of `batch`;
/// a researcher without topics has an empty profile. Two statements.
pub async fn topic_profiles(db: &impl ConnectionTrait, batch: Batch<'_>) -> AppResult<Vec<(i64, TopicProfile)>> {
    let mut select = Query::select().column(researcher::Column::Id).from(researcher::Entity).to_owned();
    batch.restrict(&mut select, Expr::col(researcher::Column::Id));
    let mut ids: Vec<i64> =
        statement::rows(db, &select).await?.iter().map(|row| row.try_get::<i64>("", "id")).collect::<Result<_, _>>()?;
    ids.sort_unstable();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let select = Query::select()
        .columns([researcher_topic::Column::ResearcherId, researcher_topic::Column::TopicId])
        .expr_as(
            sea_orm::sea_query::Func::cast_as(Expr::col(researcher_topic::Column::WorksCount), "BIGINT"),
            "works_count",
        )
        .from(researcher_topic::Entity)
        .and_where(of_parents(Expr::col(researcher_topic::Column::ResearcherId), batch, &ids))
        .to_owned();
    let rows: Vec<TopicCount> = statement::models(db, &select).await?;
    let mut profiles = group_by(rows.into_iter().map(|row| (row.researcher_id, (row.topic_id, row.works_count))));
    Ok(ids
        .into_iter()
        .map(|id| {
            let mut profile = profiles.remove(&id).unwrap_or_default();
            profile.sort_unstable();
            (id, profile)
        })
        .collect())
}
