//! Works: lookups, the site-wide and per-researcher listings, and the
//! authorships and topics of a batch of works.
use std::collections::HashMap;

use entity::{researcher, topic, work};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter};

use super::group_by;
use super::page::{Listing, Page, PageRequest, SortKind, SortSpec, TotalCount};
use super::researchers::Researcher;
use super::search::{count_matches, matches_cte, SearchIndex, SearchTerms};
use super::sql::Sql;
use super::topics::Topic;
use crate::error::{AppError, AppResult};

const COLUMNS: &str =
    "w.id, w.title, w.abstract, w.kind, w.year, w.venue, w.doi, w.arxiv_id, w.cited_by_count, w.authors_count, w.created_at";

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

/// One page of works matching `filter`, in `order`. `researcher_works_count`
/// is the filtered researcher's `works_count` when the caller has their row
/// already: the total of all their works, without a statement.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &WorkFilter,
    order: WorkOrder,
    page: &PageRequest,
    researcher_works_count: Option<i32>,
) -> AppResult<Page<Work>> {
    if let (Some(from), Some(to)) = (filter.year_from, filter.year_to) {
        if from > to {
            return Err(AppError::bad_input("`yearFrom` must not be after `yearTo`"));
        }
    }
    let terms = SearchTerms::parse(filter.search.as_deref());
    if terms.as_ref().is_some_and(SearchTerms::is_empty) {
        return Ok(Page::empty());
    }
    let with = terms.as_ref().map(|t| matches_cte(db.get_database_backend(), SearchIndex::Works, t));
    // A researcher's works are read from their authorships first: the
    // (researcher, year, work) index serves the year order and its keyset.
    let mut from_where = match filter.researcher_id {
        Some(_) => Sql::new("FROM authorships fa JOIN works w ON w.id = fa.work_id "),
        None => Sql::new("FROM works w "),
    };
    if with.is_some() {
        from_where.push("JOIN matches m ON m.id = w.id ");
    }
    if let Some(topic_id) = filter.topic_id {
        from_where.push("JOIN work_topics ft ON ft.work_id = w.id AND ft.topic_id = ").bind(topic_id).push(" ");
    }
    from_where.push("WHERE 1 = 1");
    if let Some(researcher_id) = filter.researcher_id {
        from_where.push(" AND fa.researcher_id = ").bind(researcher_id);
    }
    if let Some(from) = filter.year_from {
        from_where.push(" AND w.year >= ").bind(from);
    }
    if let Some(to) = filter.year_to {
        from_where.push(" AND w.year <= ").bind(to);
    }
    if let Some(kind) = filter.kind {
        from_where.push(" AND w.kind = ").bind(kind.as_stored());
    }
    let by_researcher = filter.researcher_id.is_some();
    let (expr, kind) = match order.field {
        // Works without a year sort as year 0 (first when ascending).
        WorkOrderField::Year if by_researcher => ("fa.work_year", SortKind::Int),
        WorkOrderField::Year => ("COALESCE(w.year, 0)", SortKind::Int),
        // Byte order on both databases (`ix_works_title_bytes` on PostgreSQL; see `domain::names`).
        WorkOrderField::Title => match db.get_database_backend() {
            DbBackend::Postgres => ("w.title COLLATE \"C\"", SortKind::Text),
            _ => ("w.title", SortKind::Text),
        },
        WorkOrderField::CitedByCount => ("w.cited_by_count", SortKind::Int),
        WorkOrderField::Relevance if with.is_some() => ("m.rank", SortKind::Float),
        WorkOrderField::Relevance => return Err(AppError::bad_input("order by RELEVANCE needs a `search` filter")),
    };
    let listing = Listing {
        with,
        columns: COLUMNS.to_owned(),
        from_where,
        id_expr: if by_researcher { "fa.work_id" } else { "w.id" }.to_owned(),
        sort: SortSpec::by(expr, kind, order.descending),
        // All of a researcher's works: the counter kept beside the researcher.
        count: match (filter.researcher_id, &terms) {
            (Some(id), _) if *filter == WorkFilter::by_researcher(id) => Some(match researcher_works_count {
                Some(n) => TotalCount::Known(i64::from(n)),
                None => {
                    let mut count = Sql::new("SELECT CAST(works_count AS BIGINT) AS n FROM researchers WHERE id = ");
                    count.bind(id);
                    TotalCount::Count(count)
                }
            }),
            // The search alone: count the full-text matches.
            (None, Some(t)) if *filter == (WorkFilter { search: filter.search.clone(), ..WorkFilter::default() }) => {
                Some(TotalCount::Count(count_matches(db.get_database_backend(), SearchIndex::Works, t)))
            }
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
    let mut sql = Sql::new(&format!(
        "SELECT a.work_id AS work_id, a.position AS position, {} \
         FROM authorships a JOIN researchers r ON r.id = a.researcher_id WHERE a.work_id IN (",
        super::researchers::COLUMNS
    ));
    sql.bind_list(ids).push(") ORDER BY a.work_id, a.position");
    let rows = sql.fetch_all(db).await?;
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
    let mut sql = Sql::new(
        "SELECT wt.work_id AS work_id, t.id, t.name FROM work_topics wt JOIN topics t ON t.id = wt.topic_id \
         WHERE wt.work_id IN (",
    );
    sql.bind_list(ids).push(") ORDER BY wt.work_id, t.name, t.id");
    let rows = sql.fetch_all(db).await?;
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
