//! Topics: lookups, the topic listing with name search, and works counts.
use std::collections::HashMap;

use entity::{topic, work_topic};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter};

use super::page::{Listing, Page, PageRequest, SortKind, SortSpec};
use super::statement::{self, columns_of};
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
    let mut from_where = Query::select().from_as(topic::Entity, "t").to_owned();
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let escaped = search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let name = Expr::expr(Func::lower(Expr::col(("t", topic::Column::Name))));
        from_where.and_where(name.like(LikeExpr::new(format!("%{escaped}%")).escape('\\')));
    }
    let listing = Listing {
        columns: columns_of::<topic::Entity>("t"),
        from_where,
        id_expr: Expr::col(("t", topic::Column::Id)),
        sort: SortSpec::by(Expr::col(("t", topic::Column::Name)), SortKind::Text, false),
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
    let select = Query::select()
        .column(work_topic::Column::TopicId)
        .expr_as(Expr::col(Asterisk).count(), "n")
        .from(work_topic::Entity)
        .and_where(Expr::col(work_topic::Column::TopicId).is_in(ids.iter().copied()))
        .group_by_col(work_topic::Column::TopicId)
        .to_owned();
    let rows: Vec<TopicCount> = statement::models(db, &select).await?;
    Ok(rows.into_iter().map(|r| (r.topic_id, r.n)).collect())
}
