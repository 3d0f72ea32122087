//! Works: lookups, the site-wide and per-researcher listings, and the
//! authorships and topics of a batch of works.
use std::collections::HashMap;

use entity::{authorship, researcher, topic, work, work_topic};
use sea_orm::sea_query::{Expr, ExprTrait, Func, JoinType, Order, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter};

use super::group_by;
use super::page::{Listing, Page, PageRequest, SortKind, SortSpec, TotalCount};
use super::researchers::Researcher;
use super::statement::{self, columns_of, literal};
use super::topics::Topic;
use crate::error::{AppError, AppResult};
use crate::search::{Search, Words, WorkQuery};

/// What a work is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkKind {
    Preprint,
    Article,
    Book,
    Chapter,
    Proceedings,
    Dataset,
    Thesis,
    Other,
}

impl WorkKind {
    pub const ALL: [Self; 8] = [
        Self::Preprint,
        Self::Article,
        Self::Book,
        Self::Chapter,
        Self::Proceedings,
        Self::Dataset,
        Self::Thesis,
        Self::Other,
    ];

    /// The form stored in `works.kind`.
    pub const fn as_stored(self) -> &'static str {
        match self {
            Self::Preprint => "PREPRINT",
            Self::Article => "ARTICLE",
            Self::Book => "BOOK",
            Self::Chapter => "CHAPTER",
            Self::Proceedings => "PROCEEDINGS",
            Self::Dataset => "DATASET",
            Self::Thesis => "THESIS",
            Self::Other => "OTHER",
        }
    }

    /// Reads `works.kind`.
    pub fn from_stored(kind: &str) -> AppResult<Self> {
        super::from_stored(&Self::ALL, Self::as_stored, "work kind", kind)
    }
}

/// A paper, preprint, book or other scholarly work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub id: i64,
    pub title: String,
    pub r#abstract: Option<String>,
    pub kind: WorkKind,
    pub year: Option<i32>,
    pub venue: Option<String>,
    pub doi: Option<String>,
    pub arxiv_id: Option<String>,
    /// Citations counted by the source the work was imported from.
    pub cited_by_count: i32,
}

impl TryFrom<work::Model> for Work {
    type Error = AppError;

    fn try_from(row: work::Model) -> AppResult<Self> {
        Ok(Self {
            id: row.id,
            title: row.title,
            r#abstract: row.r#abstract,
            kind: WorkKind::from_stored(&row.kind)?,
            year: row.year,
            venue: row.venue,
            doi: row.doi,
            arxiv_id: row.arxiv_id,
            cited_by_count: row.cited_by_count,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkFilter {
    pub search: Option<String>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub kind: Option<WorkKind>,
    pub topic_id: Option<i64>,
    pub researcher_id: Option<i64>,
}

impl WorkFilter {
    /// Every work of one researcher.
    pub fn by_researcher(researcher_id: i64) -> Self {
        Self { researcher_id: Some(researcher_id), ..Self::default() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkOrderField {
    Year,
    Title,
    CitedByCount,
    Relevance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkOrder {
    pub field: WorkOrderField,
    pub descending: bool,
}

impl WorkOrder {
    /// Relevance first when searching, otherwise newest first.
    pub fn default_for(filter: &WorkFilter) -> Self {
        match filter.search.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => Self { field: WorkOrderField::Relevance, descending: true },
            _ => Self { field: WorkOrderField::Year, descending: true },
        }
    }

    pub fn list_key(&self) -> String {
        format!("works:{:?}:{}", self.field, if self.descending { "DESC" } else { "ASC" })
    }
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Work>> {
    let rows = work::Entity::find().filter(work::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    rows.into_iter().map(|w| Ok((w.id, w.try_into()?))).collect()
}

pub async fn by_doi(db: &impl ConnectionTrait, doi: &str) -> AppResult<Option<Work>> {
    // DOIs compare without case (`ix_works_doi_lower`); they are stored as the source gave them.
    let lower_doi = Expr::expr(Func::lower(Expr::col(work::Column::Doi)));
    work::Entity::find().filter(lower_doi.eq(doi.trim().to_lowercase())).one(db).await?.map(Work::try_from).transpose()
}

pub async fn by_arxiv_id(db: &impl ConnectionTrait, arxiv_id: &str) -> AppResult<Option<Work>> {
    work::Entity::find()
        .filter(work::Column::ArxivId.eq(arxiv_id.trim()))
        .one(db)
        .await?
        .map(Work::try_from)
        .transpose()
}

/// One page of works matching `filter` (its search included), in `order`:
/// the search index picks a search's page, the database reads the works.
#[tracing::instrument(skip(db, engine))]
pub async fn find(
    db: &impl ConnectionTrait,
    engine: &dyn Search,
    filter: &WorkFilter,
    order: WorkOrder,
    page: &PageRequest,
) -> AppResult<Page<Work>> {
    check_years(filter)?;
    let Some(words) = Words::parse(filter.search.as_deref()) else {
        return list(db, filter, order, page, None).await;
    };
    let query = WorkQuery {
        words,
        year_from: filter.year_from,
        year_to: filter.year_to,
        kind: filter.kind,
        topic_id: filter.topic_id,
        researcher_id: filter.researcher_id,
    };
    let hits = engine.works(query, order, page.clone()).await?;
    let ids: Vec<i64> = hits.items.iter().map(|(id, _)| *id).collect();
    let mut works = by_ids(db, &ids).await?;
    // A hit deleted from the database since the index saw it is left out.
    Ok(hits.filter_map(|id| works.remove(&id)))
}

fn check_years(filter: &WorkFilter) -> AppResult<()> {
    if let (Some(from), Some(to)) = (filter.year_from, filter.year_to) {
        if from > to {
            return Err(AppError::bad_input("`yearFrom` must not be after `yearTo`"));
        }
    }
    Ok(())
}

/// One page of works matching `filter`, in `order`. `researcher_works_count`
/// is the filtered researcher's `works_count` when the caller has their row
/// already: the total of all their works, without a statement.
#[tracing::instrument(skip(db))]
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &WorkFilter,
    order: WorkOrder,
    page: &PageRequest,
    researcher_works_count: Option<i32>,
) -> AppResult<Page<Work>> {
    check_years(filter)?;
    if filter.search.is_some() {
        return Err(AppError::internal("a work search must go through the search index"));
    }
    // A researcher's works are read from their authorships first: the
    // (researcher, year, work) index serves the year order and its keyset.
    let mut from_where = Query::select();
    match filter.researcher_id {
        Some(_) => from_where.from_as(authorship::Entity, "fa").join_as(
            JoinType::Join,
            work::Entity,
            "w",
            Expr::col(("w", work::Column::Id)).equals(("fa", authorship::Column::WorkId)),
        ),
        None => from_where.from_as(work::Entity, "w"),
    };
    if let Some(topic_id) = filter.topic_id {
        from_where.join_as(
            JoinType::Join,
            work_topic::Entity,
            "ft",
            Expr::col(("ft", work_topic::Column::WorkId))
                .equals(("w", work::Column::Id))
                .and(Expr::col(("ft", work_topic::Column::TopicId)).eq(topic_id)),
        );
    }
    if let Some(researcher_id) = filter.researcher_id {
        from_where.and_where(Expr::col(("fa", authorship::Column::ResearcherId)).eq(researcher_id));
    }
    if let Some(from) = filter.year_from {
        from_where.and_where(Expr::col(("w", work::Column::Year)).gte(from));
    }
    if let Some(to) = filter.year_to {
        from_where.and_where(Expr::col(("w", work::Column::Year)).lte(to));
    }
    if let Some(kind) = filter.kind {
        from_where.and_where(Expr::col(("w", work::Column::Kind)).eq(kind.as_stored()));
    }
    let by_researcher = filter.researcher_id.is_some();
    let (expr, kind) = match order.field {
        WorkOrderField::Year if by_researcher => (Expr::col(("fa", authorship::Column::WorkYear)), SortKind::Int),
        // Works without a year sort as year 0 (first when ascending); the
        // expression is `ix_works_year`'s, 0 written out.
        WorkOrderField::Year => {
            (Func::coalesce([Expr::col(("w", work::Column::Year)), literal(0)]).into(), SortKind::Int)
        }
        // Byte order on both databases (`ix_works_title_bytes` on PostgreSQL; see `domain::names`).
        WorkOrderField::Title => match db.get_database_backend() {
            DbBackend::Postgres => (Expr::cust(r#"w.title COLLATE "C""#), SortKind::Text),
            _ => (Expr::col(("w", work::Column::Title)), SortKind::Text),
        },
        WorkOrderField::CitedByCount => (Expr::col(("w", work::Column::CitedByCount)), SortKind::Int),
        WorkOrderField::Relevance => return Err(AppError::bad_input("order by RELEVANCE needs a `search` filter")),
    };
    let listing = Listing {
        columns: columns_of::<work::Entity>("w"),
        from_where,
        id_expr: if by_researcher {
            Expr::col(("fa", authorship::Column::WorkId))
        } else {
            Expr::col(("w", work::Column::Id))
        },
        sort: SortSpec::by(expr, kind, order.descending),
        // All of a researcher's works: the counter kept beside the researcher.
        count: match filter.researcher_id {
            Some(id) if *filter == WorkFilter::by_researcher(id) => Some(match researcher_works_count {
                Some(n) => TotalCount::Known(i64::from(n)),
                None => TotalCount::Count(Box::new(
                    Query::select()
                        .expr_as(Func::cast_as(Expr::col(researcher::Column::WorksCount), "BIGINT"), "n")
                        .from(researcher::Entity)
                        .and_where(Expr::col(researcher::Column::Id).eq(id))
                        .to_owned(),
                )),
            }),
            _ => None,
        },
    };
    listing.fetch::<work::Model>(db, page).await?.try_map(Work::try_from)
}

/// An author of a work, in byline order.
#[derive(Debug, Clone)]
pub struct Authorship {
    /// 1 for the first author.
    pub position: i32,
    pub researcher: Researcher,
}

/// The bylines of a batch of works, researchers included: one statement.
pub async fn authorships_by_works(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Vec<Authorship>>> {
    let select = Query::select()
        .expr_as(Expr::col(("a", authorship::Column::WorkId)), "work_id")
        .expr_as(Expr::col(("a", authorship::Column::Position)), "position")
        .exprs(columns_of::<researcher::Entity>("r"))
        .from_as(authorship::Entity, "a")
        .join_as(
            JoinType::Join,
            researcher::Entity,
            "r",
            Expr::col(("r", researcher::Column::Id)).equals(("a", authorship::Column::ResearcherId)),
        )
        .and_where(Expr::col(("a", authorship::Column::WorkId)).is_in(ids.iter().copied()))
        .order_by(("a", authorship::Column::WorkId), Order::Asc)
        .order_by(("a", authorship::Column::Position), Order::Asc)
        .to_owned();
    let rows = statement::rows(db, &select).await?;
    let pairs = rows
        .iter()
        .map(|row| {
            let work_id: i64 = row.try_get("", "work_id")?;
            let position: i32 = row.try_get("", "position")?;
            let researcher = researcher::Model::from_query_result(row, "")?.into();
            Ok((work_id, Authorship { position, researcher }))
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(group_by(pairs))
}

/// The topics of a batch of works, by name.
pub async fn topics_by_works(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Vec<Topic>>> {
    let select = Query::select()
        .expr_as(Expr::col(("wt", work_topic::Column::WorkId)), "work_id")
        .exprs(columns_of::<topic::Entity>("t"))
        .from_as(work_topic::Entity, "wt")
        .join_as(
            JoinType::Join,
            topic::Entity,
            "t",
            Expr::col(("t", topic::Column::Id)).equals(("wt", work_topic::Column::TopicId)),
        )
        .and_where(Expr::col(("wt", work_topic::Column::WorkId)).is_in(ids.iter().copied()))
        .order_by(("wt", work_topic::Column::WorkId), Order::Asc)
        .order_by(("t", topic::Column::Name), Order::Asc)
        .order_by(("t", topic::Column::Id), Order::Asc)
        .to_owned();
    let rows = statement::rows(db, &select).await?;
    let pairs = rows
        .iter()
        .map(|row| Ok((row.try_get::<i64>("", "work_id")?, topic::Model::from_query_result(row, "")?.into())))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(group_by(pairs))
}

#[cfg(test)]
mod tests {
    use super::WorkKind;

    #[test]
    fn every_kind_reads_back_as_itself_and_unknown_kinds_are_errors() {
        for kind in WorkKind::ALL {
            assert_eq!(WorkKind::from_stored(kind.as_stored()), Ok(kind));
        }
        assert!(WorkKind::from_stored("POSTER").is_err());
    }
}
