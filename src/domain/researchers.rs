//! Researchers: lookups, the directory listing with its filters and orders,
//! external identifiers, topic profiles and co-author counts.
use std::collections::HashMap;

use entity::{external_id, researcher};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::claims::ClaimMethod;
use super::page::{Listing, Page, PageRequest, SortKind, SortSpec, TotalCount};
use super::search::{count_matches, matches_cte, SearchIndex, SearchTerms};
use super::sql::Sql;
use super::{group_by, statement};
use crate::error::{AppError, AppResult};

/// The columns of `researchers` as the entity reads them, for joins.
pub const COLUMNS: &str = "r.id, r.slug, r.display_name, r.orcid, r.open_to_collaborate, r.affiliation_id, \
                           r.works_count, r.followers_count, r.collaborators_count, r.close_collaborators_count, \
                           r.linked_works_count, r.topic_norm2, r.topics_count, \
                           r.created_at";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    Unclaimed,
    Pending,
    Claimed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResearcherFilter {
    pub search: Option<String>,
    pub topic_id: Option<i64>,
    pub institution_id: Option<i64>,
    pub claim_status: Option<ClaimStatus>,
    pub open_to_collaborate: Option<bool>,
    /// Researchers this user follows.
    pub followed_by: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResearcherOrderField {
    DisplayName,
    WorksCount,
    FollowersCount,
    Relevance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResearcherOrder {
    pub field: ResearcherOrderField,
    pub descending: bool,
}

impl ResearcherOrder {
    /// Relevance first when searching, otherwise alphabetical.
    pub fn default_for(filter: &ResearcherFilter) -> Self {
        match filter.search.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => Self { field: ResearcherOrderField::Relevance, descending: true },
            _ => Self { field: ResearcherOrderField::DisplayName, descending: false },
        }
    }

    /// Names the list and order in cursors.
    pub fn list_key(&self) -> String {
        format!("researchers:{:?}:{}", self.field, if self.descending { "DESC" } else { "ASC" })
    }
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, researcher::Model>> {
    let rows = researcher::Entity::find().filter(researcher::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// `NOT_FOUND` unless the researcher exists.
pub async fn ensure_exists(db: &impl ConnectionTrait, researcher_id: i64) -> AppResult<()> {
    let select = Query::select()
        .expr_as(Expr::col(Asterisk).count(), "n")
        .from(researcher::Entity)
        .and_where(Expr::col(researcher::Column::Id).eq(researcher_id))
        .to_owned();
    if statement::count(db, &select).await? == 0 {
        return Err(AppError::not_found("researcher"));
    }
    Ok(())
}

/// Locks the record's row until the transaction ends, so that writes which
/// read its claims and then act on them (claiming, deciding, owner checks)
/// run one at a time per record under PostgreSQL's READ COMMITTED. On SQLite
/// the write transaction (`BEGIN IMMEDIATE`) already runs alone, and the
/// lock clause is left out. A record that does not exist is `NOT_FOUND`.
pub async fn lock_record(txn: &DatabaseTransaction, researcher_id: i64) -> AppResult<()> {
    let locked: Option<i64> = researcher::Entity::find_by_id(researcher_id)
        .select_only()
        .column(researcher::Column::Id)
        .lock_exclusive()
        .into_tuple()
        .one(txn)
        .await?;
    locked.map(|_| ()).ok_or_else(|| AppError::not_found("researcher"))
}

pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<researcher::Model>> {
    Ok(researcher::Entity::find().filter(researcher::Column::Slug.eq(slug)).one(db).await?)
}

pub async fn by_orcid(db: &impl ConnectionTrait, orcid: &str) -> AppResult<Option<researcher::Model>> {
    Ok(researcher::Entity::find().filter(researcher::Column::Orcid.eq(orcid)).one(db).await?)
}

pub async fn external_ids_by_researchers(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<external_id::Model>>> {
    let rows = external_id::Entity::find()
        .filter(external_id::Column::ResearcherId.is_in(ids.iter().copied()))
        .order_by_asc(external_id::Column::Id)
        .all(db)
        .await?;
    Ok(group_by(rows.into_iter().map(|e| (e.researcher_id, e))))
}

/// One page of the researcher directory.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ResearcherFilter,
    order: ResearcherOrder,
    page: &PageRequest,
) -> AppResult<Page<researcher::Model>> {
    let terms = SearchTerms::parse(filter.search.as_deref());
    if terms.as_ref().is_some_and(SearchTerms::is_empty) {
        return Ok(Page::empty());
    }
    let with = terms.as_ref().map(|t| matches_cte(db.get_database_backend(), SearchIndex::Researchers, t));
    let mut from_where = Sql::new("FROM researchers r ");
    if with.is_some() {
        from_where.push("JOIN matches m ON m.id = r.id ");
    }
    from_where.push("WHERE 1 = 1");
    if let Some(topic_id) = filter.topic_id {
        from_where
            .push(" AND EXISTS (SELECT 1 FROM researcher_topics rt WHERE rt.researcher_id = r.id AND rt.topic_id = ")
            .bind(topic_id)
            .push(")");
    }
    if let Some(user_id) = filter.followed_by {
        from_where
            .push(" AND EXISTS (SELECT 1 FROM follows f WHERE f.researcher_id = r.id AND f.user_id = ")
            .bind(user_id)
            .push(")");
    }
    if let Some(institution_id) = filter.institution_id {
        from_where.push(" AND r.affiliation_id = ").bind(institution_id);
    }
    if let Some(open) = filter.open_to_collaborate {
        from_where.push(" AND r.open_to_collaborate = ").bind(open);
    }
    if let Some(status) = filter.claim_status {
        const APPROVED: &str = "EXISTS (SELECT 1 FROM claims c WHERE c.researcher_id = r.id AND c.status = 'APPROVED')";
        const PENDING: &str = "EXISTS (SELECT 1 FROM claims c WHERE c.researcher_id = r.id AND c.status = 'PENDING')";
        from_where.push(&match status {
            ClaimStatus::Claimed => format!(" AND {APPROVED}"),
            ClaimStatus::Pending => format!(" AND NOT {APPROVED} AND {PENDING}"),
            ClaimStatus::Unclaimed => format!(" AND NOT {APPROVED} AND NOT {PENDING}"),
        });
    }
    let (expr, kind) = match order.field {
        ResearcherOrderField::DisplayName => ("r.display_name", SortKind::Text),
        ResearcherOrderField::WorksCount => ("r.works_count", SortKind::Int),
        ResearcherOrderField::FollowersCount => ("r.followers_count", SortKind::Int),
        ResearcherOrderField::Relevance if with.is_some() => ("m.rank", SortKind::Float),
        ResearcherOrderField::Relevance => {
            return Err(AppError::bad_input("order by RELEVANCE needs a `search` filter"));
        }
    };
    let listing = Listing {
        with,
        columns: COLUMNS.to_owned(),
        from_where,
        id_expr: "r.id".to_owned(),
        sort: SortSpec::by(expr, kind, order.descending),
        count: match &terms {
            Some(t) if *filter == (ResearcherFilter { search: filter.search.clone(), ..Default::default() }) => {
                Some(TotalCount::Count(count_matches(db.get_database_backend(), SearchIndex::Researchers, t)))
            }
            _ => None,
        },
    };
    listing.fetch(db, page).await
}

/// A topic in a researcher's profile: how many of their works carry it.
#[derive(Debug, Clone, FromQueryResult)]
pub struct TopicShare {
    pub researcher_id: i64,
    pub topic_id: i64,
    pub topic_name: String,
    pub works_count: i64,
}

/// The most a client can ask of a researcher's topics at once.
pub const MAX_TOPICS: usize = 100;

/// The main topics of each researcher: at most [`MAX_TOPICS`], most works
/// first, ties by topic id (highest first). One `UNION ALL` branch per
/// researcher reads the end of `ix_researcher_topics_rank` backwards, however
/// many topics they have, and only then looks up the topics' names.
pub async fn main_topics(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Vec<TopicShare>>> {
    let mut sql = Sql::new(
        "SELECT rt.researcher_id AS researcher_id, t.id AS topic_id, t.name AS topic_name, \
         CAST(rt.works_count AS BIGINT) AS works_count FROM (",
    );
    sql.push_each(ids, " UNION ALL ", |branch, i, id| {
        branch
            .push("SELECT * FROM (SELECT researcher_id, topic_id, works_count FROM researcher_topics WHERE researcher_id = ")
            .bind(*id)
            .push(&format!(" ORDER BY works_count DESC, topic_id DESC LIMIT {MAX_TOPICS}) main_{i}"));
    });
    sql.push(") rt JOIN topics t ON t.id = rt.topic_id");
    let mut rows: Vec<TopicShare> = sql.fetch_models(db).await?;
    rows.sort_by_key(|t| (t.researcher_id, std::cmp::Reverse((t.works_count, t.topic_id))));
    Ok(group_by(rows.into_iter().map(|t| (t.researcher_id, t))))
}

/// What the trust snapshot and claim status of a record are computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordStanding {
    pub researcher_id: i64,
    /// An external identifier (ORCID, OpenAlex, arXiv, …) is on record.
    pub has_external_id: bool,
    /// One of the researcher's works has an arXiv id or a DOI.
    pub has_linked_work: bool,
    /// How the approved claim was verified, if the record is claimed.
    pub approved_method: Option<ClaimMethod>,
    pub has_pending_claim: bool,
}

#[derive(FromQueryResult)]
struct StandingRow {
    researcher_id: i64,
    has_external_id: bool,
    has_linked_work: bool,
    approved_method: Option<String>,
    has_pending_claim: bool,
}

impl TryFrom<StandingRow> for RecordStanding {
    type Error = AppError;

    fn try_from(row: StandingRow) -> AppResult<Self> {
        Ok(Self {
            researcher_id: row.researcher_id,
            has_external_id: row.has_external_id,
            has_linked_work: row.has_linked_work,
            approved_method: row.approved_method.as_deref().map(ClaimMethod::from_stored).transpose()?,
            has_pending_claim: row.has_pending_claim,
        })
    }
}

impl RecordStanding {
    pub fn claim_status(&self) -> ClaimStatus {
        if self.approved_method.is_some() {
            ClaimStatus::Claimed
        } else if self.has_pending_claim {
            ClaimStatus::Pending
        } else {
            ClaimStatus::Unclaimed
        }
    }
}

pub async fn standings(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, RecordStanding>> {
    let mut sql = Sql::new(
        "SELECT r.id AS researcher_id, \
         EXISTS (SELECT 1 FROM external_ids e WHERE e.researcher_id = r.id) AS has_external_id, \
         r.linked_works_count > 0 AS has_linked_work, \
         (SELECT c.method FROM claims c WHERE c.researcher_id = r.id AND c.status = 'APPROVED') AS approved_method, \
         EXISTS (SELECT 1 FROM claims c WHERE c.researcher_id = r.id AND c.status = 'PENDING') AS has_pending_claim \
         FROM researchers r WHERE r.id IN (",
    );
    sql.bind_list(ids).push(")");
    let rows: Vec<StandingRow> = sql.fetch_models(db).await?;
    rows.into_iter().map(|row| RecordStanding::try_from(row).map(|s| (s.researcher_id, s))).collect()
}

/// Changes the profile settings of a record; only its approved owner may.
pub async fn update_profile(
    db: &sea_orm::DatabaseConnection,
    user_id: i64,
    researcher_id: i64,
    open_to_collaborate: Option<bool>,
) -> AppResult<researcher::Model> {
    let txn = super::begin_write(db).await?;
    lock_record(&txn, researcher_id).await?;
    if super::claims::owner_of(&txn, researcher_id).await? != Some(user_id) {
        return Err(AppError::Forbidden("only the record's approved owner may edit its profile".to_owned()));
    }
    if let Some(open) = open_to_collaborate {
        let update = Query::update()
            .table(researcher::Entity)
            .value(researcher::Column::OpenToCollaborate, open)
            .and_where(Expr::col(researcher::Column::Id).eq(researcher_id))
            .to_owned();
        statement::execute(&txn, &update).await?;
    }
    let updated = by_ids(&txn, &[researcher_id])
        .await?
        .remove(&researcher_id)
        .ok_or_else(|| AppError::not_found("researcher"))?;
    txn.commit().await?;
    Ok(updated)
}
