//! Topics: lookups, the topic listing with name search, and works counts.
use std::collections::HashMap;

use entity::topic;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter};

use super::page::{Listing, Page, PageRequest, SortKind, SortSpec};
use super::sql::Sql;
use crate::error::AppResult;

pub const LIST_KEY: &str = "topics:NAME:ASC";

/// A research topic that works are classified under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub id: i64,
    pub name: String,
}

impl From<topic::Model> for Topic {
    fn from(row: topic::Model) -> Self {
        Self { id: row.id, name: row.name }
    }
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, Topic>> {
    let rows = topic::Entity::find().filter(topic::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|t| (t.id, t.into())).collect())
}

/// Topics by name; `search` keeps those whose name contains it (any case).
pub async fn list(db: &impl ConnectionTrait, search: Option<&str>, page: &PageRequest) -> AppResult<Page<Topic>> {
    let mut from_where = Sql::new("FROM topics t WHERE 1 = 1");
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let escaped = search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        from_where.push(" AND LOWER(t.name) LIKE ").bind(format!("%{escaped}%")).push(" ESCAPE '\\'");
    }
    let listing = Listing {
        with: None,
        columns: "t.id, t.name".to_owned(),
        from_where,
        id_expr: "t.id".to_owned(),
        sort: SortSpec::by("t.name", SortKind::Text, false),
        count: None,
    };
    Ok(listing.fetch::<topic::Model>(db, page).await?.map(Topic::from))
}

#[derive(Debug, FromQueryResult)]
struct TopicCount {
    topic_id: i64,
    n: i64,
}

pub async fn works_counts(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<HashMap<i64, i64>> {
    let mut sql = Sql::new("SELECT topic_id, COUNT(*) AS n FROM work_topics WHERE topic_id IN (");
    sql.bind_list(ids).push(") GROUP BY topic_id");
    let rows: Vec<TopicCount> = sql.fetch_models(db).await?;
    Ok(rows.into_iter().map(|r| (r.topic_id, r.n)).collect())
}
