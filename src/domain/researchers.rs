//! Researchers: lookups, the directory listing with its filters and orders,
//! external identifiers, topic profiles and co-author counts.
use std::collections::HashMap;

use entity::{claim, external_id, follow, researcher, researcher_topic, topic};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Func, JoinType, Order, Query, SelectExpr, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QueryResult, QuerySelect,
};

use super::claims::ClaimMethod;
use super::page::{Listing, Page, PageRequest, SortKind, SortSpec};
use super::statement::{aliased, columns_of, literal};
use super::{group_by, statement};
use crate::error::{AppError, AppResult};
use crate::search::{ResearcherQuery, Search, Words};

/// A public author record as the domain speaks of it: its profile and the
/// counters kept beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Researcher {
    pub id: i64,
    /// The record's URL name, unique.
    pub slug: String,
    pub display_name: String,
    pub orcid: Option<String>,
    pub open_to_collaborate: bool,
    pub affiliation_id: Option<i64>,
    pub counts: ResearcherCounts,
}

/// Counters kept beside each record; `scholargraph recount` rebuilds them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResearcherCounts {
    pub works: i32,
    pub followers: i32,
    pub topics: i32,
    pub collaborators: i32,
    pub close_collaborators: i32,
}

impl From<researcher::Model> for Researcher {
    fn from(row: researcher::Model) -> Self {
        Self {
            id: row.id,
            slug: row.slug,
            display_name: row.display_name,
            orcid: row.orcid,
            open_to_collaborate: row.open_to_collaborate,
            affiliation_id: row.affiliation_id,
            counts: ResearcherCounts {
                works: row.works_count,
                followers: row.followers_count,
                topics: row.topics_count,
                collaborators: row.collaborators_count,
                close_collaborators: row.close_collaborators_count,
            },
        }
    }
}

/// A scholarly source that identifies researchers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalIdScheme {
    Orcid,
    Openalex,
    Arxiv,
    Dblp,
    Scopus,
    Other,
}

impl ExternalIdScheme {
    pub const ALL: [Self; 6] = [Self::Orcid, Self::Openalex, Self::Arxiv, Self::Dblp, Self::Scopus, Self::Other];

    /// The form stored in `external_ids.scheme`.
    pub const fn as_stored(self) -> &'static str {
        match self {
            Self::Orcid => "orcid",
            Self::Openalex => "openalex",
            Self::Arxiv => "arxiv",
            Self::Dblp => "dblp",
            Self::Scopus => "scopus",
            Self::Other => "other",
        }
    }

    pub fn from_stored(scheme: &str) -> AppResult<Self> {
        super::from_stored(&Self::ALL, Self::as_stored, "external id scheme", scheme)
    }

    /// Where the identifier can be looked up, when the scheme has a resolver.
    pub fn url(self, value: &str) -> Option<String> {
        match self {
            Self::Orcid => Some(format!("https://orcid.org/{value}")),
            Self::Openalex => Some(format!("https://openalex.org/{value}")),
            Self::Arxiv => Some(format!("https://arxiv.org/a/{value}")),
            Self::Dblp => Some(format!("https://dblp.org/pid/{value}")),
            Self::Scopus | Self::Other => None,
        }
    }
}

/// An identifier of a researcher in another scholarly source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalId {
    pub scheme: ExternalIdScheme,
    pub value: String,
}

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

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Researcher>> {
    let rows = researcher::Entity::find().filter(researcher::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.into())).collect())
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

pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<Researcher>> {
    Ok(researcher::Entity::find().filter(researcher::Column::Slug.eq(slug)).one(db).await?.map(Into::into))
}

pub async fn by_orcid(db: &impl ConnectionTrait, orcid: &str) -> AppResult<Option<Researcher>> {
    Ok(researcher::Entity::find().filter(researcher::Column::Orcid.eq(orcid)).one(db).await?.map(Into::into))
}

pub async fn external_ids_by_researchers(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<ExternalId>>> {
    let rows = external_id::Entity::find()
        .filter(external_id::Column::ResearcherId.is_in(ids.iter().copied()))
        .order_by_asc(external_id::Column::Id)
        .all(db)
        .await?;
    let ids = rows
        .into_iter()
        .map(|e| {
            Ok((e.researcher_id, ExternalId { scheme: ExternalIdScheme::from_stored(&e.scheme)?, value: e.value }))
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(group_by(ids))
}

/// One page of the researcher directory (its search included): the search
/// index picks a search's page, the database reads the records.
#[tracing::instrument(skip(db, engine))]
pub async fn find(
    db: &impl ConnectionTrait,
    engine: &dyn Search,
    filter: &ResearcherFilter,
    order: ResearcherOrder,
    page: &PageRequest,
) -> AppResult<Page<Researcher>> {
    let Some(words) = Words::parse(filter.search.as_deref()) else {
        return list(db, filter, order, page).await;
    };
    if filter.followed_by.is_some() {
        return Err(AppError::bad_input("a search of the researchers one follows is not supported"));
    }
    let query = ResearcherQuery {
        words,
        topic_id: filter.topic_id,
        institution_id: filter.institution_id,
        claim_status: filter.claim_status,
        open_to_collaborate: filter.open_to_collaborate,
    };
    let hits = engine.researchers(query, order, page.clone()).await?;
    let ids: Vec<i64> = hits.items.iter().map(|(id, _)| *id).collect();
    let mut researchers = by_ids(db, &ids).await?;
    // A hit deleted from the database since the index saw it is left out.
    Ok(hits.filter_map(|id| researchers.remove(&id)))
}

/// The claims in `state` on the researcher aliased `r`, as `c`, nothing
/// selected yet. The states are written out, as in the claims indexes'
/// conditions.
fn claims_in(state: &'static str) -> SelectStatement {
    Query::select()
        .from_as(claim::Entity, "c")
        .and_where(Expr::col(("c", claim::Column::ResearcherId)).equals(("r", researcher::Column::Id)))
        .and_where(Expr::col(("c", claim::Column::Status)).eq(literal(state)))
        .to_owned()
}

/// `EXISTS` a claim in `state` on the researcher aliased `r`.
pub(super) fn has_claim(state: &'static str) -> Expr {
    Expr::exists(claims_in(state).expr(literal(1)).to_owned())
}

/// One page of the researcher directory, without a search.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ResearcherFilter,
    order: ResearcherOrder,
    page: &PageRequest,
) -> AppResult<Page<Researcher>> {
    if filter.search.is_some() {
        return Err(AppError::internal("a researcher search must go through the search index"));
    }
    let mut from_where = Query::select().from_as(researcher::Entity, "r").to_owned();
    if let Some(topic_id) = filter.topic_id {
        from_where.and_where(Expr::exists(
            Query::select()
                .expr(literal(1))
                .from_as(researcher_topic::Entity, "rt")
                .and_where(
                    Expr::col(("rt", researcher_topic::Column::ResearcherId)).equals(("r", researcher::Column::Id)),
                )
                .and_where(Expr::col(("rt", researcher_topic::Column::TopicId)).eq(topic_id))
                .to_owned(),
        ));
    }
    if let Some(user_id) = filter.followed_by {
        from_where.and_where(Expr::exists(
            Query::select()
                .expr(literal(1))
                .from_as(follow::Entity, "f")
                .and_where(Expr::col(("f", follow::Column::ResearcherId)).equals(("r", researcher::Column::Id)))
                .and_where(Expr::col(("f", follow::Column::UserId)).eq(user_id))
                .to_owned(),
        ));
    }
    if let Some(institution_id) = filter.institution_id {
        from_where.and_where(Expr::col(("r", researcher::Column::AffiliationId)).eq(institution_id));
    }
    if let Some(open) = filter.open_to_collaborate {
        from_where.and_where(Expr::col(("r", researcher::Column::OpenToCollaborate)).eq(open));
    }
    if let Some(status) = filter.claim_status {
        let (approved, pending) = (has_claim("APPROVED"), has_claim("PENDING"));
        match status {
            ClaimStatus::Claimed => from_where.and_where(approved),
            ClaimStatus::Pending => from_where.and_where(approved.not()).and_where(pending),
            ClaimStatus::Unclaimed => from_where.and_where(approved.not()).and_where(pending.not()),
        };
    }
    let (expr, kind) = match order.field {
        ResearcherOrderField::DisplayName => (Expr::col(("r", researcher::Column::SortName)), SortKind::Text),
        ResearcherOrderField::WorksCount => (Expr::col(("r", researcher::Column::WorksCount)), SortKind::Int),
        ResearcherOrderField::FollowersCount => (Expr::col(("r", researcher::Column::FollowersCount)), SortKind::Int),
        ResearcherOrderField::Relevance => {
            return Err(AppError::bad_input("order by RELEVANCE needs a `search` filter"));
        }
    };
    let listing = Listing {
        columns: columns_of::<researcher::Entity>("r"),
        from_where,
        id_expr: Expr::col(("r", researcher::Column::Id)),
        sort: SortSpec::by(expr, kind, order.descending),
        count: None,
    };
    Ok(listing.fetch::<researcher::Model>(db, page).await?.map(Researcher::from))
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
/// first, ties by topic id (highest first). Each researcher's read takes the
/// end of `ix_researcher_topics_rank` backwards, however many topics they
/// have, and only then are the topics' names looked up.
pub async fn main_topics(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Vec<TopicShare>>> {
    let Some(ranked) = statement::top_rows_per_key(db.get_database_backend(), ids, "main", main_topic_rows) else {
        return Ok(HashMap::new());
    };
    let select = with_topic_names(ranked);
    let mut rows: Vec<TopicShare> = statement::models(db, &select).await?;
    rows.sort_by_key(|t| (t.researcher_id, std::cmp::Reverse((t.works_count, t.topic_id))));
    Ok(group_by(rows.into_iter().map(|t| (t.researcher_id, t))))
}

/// One researcher's main topics (`researcher_id`, `topic_id`, `works_count`),
/// read from the end of `ix_researcher_topics_rank`.
pub(super) fn main_topic_rows(researcher_id: Expr) -> SelectStatement {
    Query::select()
        .columns([
            researcher_topic::Column::ResearcherId,
            researcher_topic::Column::TopicId,
            researcher_topic::Column::WorksCount,
        ])
        .from(researcher_topic::Entity)
        .and_where(Expr::col((researcher_topic::Entity, researcher_topic::Column::ResearcherId)).eq(researcher_id))
        .order_by(researcher_topic::Column::WorksCount, Order::Desc)
        .order_by(researcher_topic::Column::TopicId, Order::Desc)
        .limit(MAX_TOPICS as u64)
        .to_owned()
}

/// Rows of [`main_topic_rows`] with their topics' names: `researcher_id`,
/// `topic_id`, `topic_name` and `works_count`.
pub(super) fn with_topic_names(ranked: SelectStatement) -> SelectStatement {
    Query::select()
        .expr_as(Expr::col(("rt", researcher_topic::Column::ResearcherId)), "researcher_id")
        .expr_as(Expr::col(("t", topic::Column::Id)), "topic_id")
        .expr_as(Expr::col(("t", topic::Column::Name)), "topic_name")
        .expr_as(Func::cast_as(Expr::col(("rt", researcher_topic::Column::WorksCount)), "BIGINT"), "works_count")
        .from_subquery(ranked, "rt")
        .join_as(
            JoinType::Join,
            topic::Entity,
            "t",
            Expr::col(("t", topic::Column::Id)).equals(("rt", researcher_topic::Column::TopicId)),
        )
        .to_owned()
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

/// The standing of the researcher aliased `r`, as the columns `researcher_id`,
/// `has_external_id`, `has_linked_work`, `approved_method` and
/// `has_pending_claim`: what [`read_standing`] reads back.
pub(super) fn standing_columns() -> Vec<SelectExpr> {
    let external_ids = Query::select()
        .expr(literal(1))
        .from_as(external_id::Entity, "e")
        .and_where(Expr::col(("e", external_id::Column::ResearcherId)).equals(("r", researcher::Column::Id)))
        .to_owned();
    let approved_method = claims_in("APPROVED").column(("c", claim::Column::Method)).to_owned();
    vec![
        aliased(Expr::col(("r", researcher::Column::Id)), "researcher_id"),
        aliased(Expr::exists(external_ids), "has_external_id"),
        aliased(Expr::col(("r", researcher::Column::LinkedWorksCount)).gt(literal(0)), "has_linked_work"),
        aliased(statement::subquery(approved_method), "approved_method"),
        aliased(has_claim("PENDING"), "has_pending_claim"),
    ]
}

/// Reads the columns of [`standing_columns`].
pub(super) fn read_standing(row: &QueryResult) -> AppResult<RecordStanding> {
    StandingRow::from_query_result(row, "")?.try_into()
}

pub async fn standings(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, RecordStanding>> {
    let select = Query::select()
        .exprs(standing_columns())
        .from_as(researcher::Entity, "r")
        .and_where(Expr::col(("r", researcher::Column::Id)).is_in(ids.iter().copied()))
        .to_owned();
    let rows = statement::rows(db, &select).await?;
    rows.iter().map(|row| read_standing(row).map(|s| (s.researcher_id, s))).collect()
}

/// Changes the profile settings of a record; only its approved owner may.
#[tracing::instrument(skip(db))]
pub async fn update_profile(
    db: &sea_orm::DatabaseConnection,
    user_id: i64,
    researcher_id: i64,
    open_to_collaborate: Option<bool>,
) -> AppResult<Researcher> {
    let txn = super::begin_write(db).await?;
    lock_record(&txn, researcher_id).await?;
    if super::claims::owner_of(&txn, researcher_id).await? != Some(user_id) {
        return Err(AppError::Forbidden("only the record's approved owner may edit its profile".to_owned()));
    }
    if let Some(open) = open_to_collaborate {
        // Only a real edit is a change: setting the value it has records nothing.
        let update = Query::update()
            .table(researcher::Entity)
            .value(researcher::Column::OpenToCollaborate, open)
            .and_where(Expr::col(researcher::Column::Id).eq(researcher_id))
            .and_where(Expr::col(researcher::Column::OpenToCollaborate).ne(open))
            .to_owned();
        if statement::execute(&txn, &update).await? == 1 {
            let change =
                super::changes::NewChange::of_researcher(super::changes::ChangeKind::ProfileUpdated, researcher_id);
            super::changes::record(&txn, &[change]).await?;
        }
    }
    let updated = by_ids(&txn, &[researcher_id])
        .await?
        .remove(&researcher_id)
        .ok_or_else(|| AppError::not_found("researcher"))?;
    txn.commit().await?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::ExternalIdScheme;

    #[test]
    fn every_scheme_reads_back_as_itself_and_unknown_schemes_are_errors() {
        for scheme in ExternalIdScheme::ALL {
            assert_eq!(ExternalIdScheme::from_stored(scheme.as_stored()), Ok(scheme));
        }
        assert!(ExternalIdScheme::from_stored("ORCID").is_err());
        assert!(ExternalIdScheme::from_stored("researchgate").is_err());
    }
}
