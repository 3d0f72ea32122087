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
    let mut with = Sql::new(
        "WITH pairs AS (SELECT b.researcher_id AS coauthor_id, COUNT(*) AS shared_works, \
         MIN(w.year) AS first_year, MAX(w.year) AS last_year \
         FROM authorships a JOIN authorships b ON b.work_id = a.work_id AND b.researcher_id <> a.researcher_id \
         JOIN works w ON w.id = a.work_id WHERE a.researcher_id = ",
    );
    with.bind(researcher_id).push(" GROUP BY b.researcher_id)");
    let mut from_where = Sql::new("FROM pairs p JOIN researchers r ON r.id = p.coauthor_id WHERE p.shared_works >= ");
    from_where.bind(min_shared_works as i64);
    let listing = Listing {
        with: Some(with),
        columns: format!(
            "{}, p.shared_works AS shared_works, p.first_year AS first_year, p.last_year AS last_year",
            super::researchers::COLUMNS
        ),
        from_where,
        id_expr: "r.id".to_owned(),
        // Ascending on minus the shared works: most shared first, then by name.
        sort: SortSpec {
            keys: vec![("-p.shared_works".to_owned(), SortKind::Int), ("r.display_name".to_owned(), SortKind::Text)],
            descending: false,
        },
    };
    listing.fetch(db, page).await
}
